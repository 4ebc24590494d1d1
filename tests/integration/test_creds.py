"""The default credential chain of common/creds.c, through tests/tools/awscall --whoami,
with moto (STS) behind the fault proxy (to count calls), the IMDSv2 emulator and a
container credentials endpoint on loopback."""
import json
import os
import tempfile
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import bed
from faultproxy import FaultProxy
from imds import Imds
from motobed import Moto

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def whoami(*args, **env):
    p = bed.run("awscall", "--whoami", *args, env=bed.base_env(**env))
    out = dict(line.split("=", 1) for line in p.stdout.split("\n") if "=" in line)
    return p, out


class ContainerEndpoint(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        ContainerEndpoint.seen.append((self.path, self.headers.get("Authorization")))
        body = json.dumps({"AccessKeyId": "ASIACONTAINER", "SecretAccessKey": SECRET,
                           "Token": "container-token", "Expiration": "2099-01-01T00:00:00Z"})
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())


class ChainTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = Moto()
        cls.addClassCleanup(cls.moto.stop)
        cls.proxy = FaultProxy(cls.moto.url)
        cls.addClassCleanup(cls.proxy.stop)
        cls.dir = tempfile.TemporaryDirectory()
        cls.addClassCleanup(cls.dir.cleanup)
        cls.creds_file = os.path.join(cls.dir.name, "credentials")
        cls.config_file = os.path.join(cls.dir.name, "config")
        with open(cls.creds_file, "w", newline="") as f:
            f.write("# comment\r\n[dev]\r\naws_access_key_id = AKIDDEV\r\n"
                    "aws_secret_access_key=" + SECRET + "\r\n\r\n"
                    "[base]\naws_access_key_id=AKIDBASE\naws_secret_access_key=" + SECRET + "\n"
                    "[half]\naws_access_key_id=AKIDHALF\n")
        with open(cls.config_file, "w") as f:
            f.write("[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/deploy\n"
                    "source_profile = base\nrole_session_name = ci\n"
                    "[profile sso]\nsso_start_url = https://example.awsapps.com/start\n"
                    "sso_region = us-east-1\n"
                    "[profile proc]\ncredential_process = /bin/echo {}\n")
        cls.files = dict(AWS_SHARED_CREDENTIALS_FILE=cls.creds_file,
                         AWS_CONFIG_FILE=cls.config_file, AWS_ENDPOINT_URL=cls.proxy.url)

    def setUp(self):
        self.proxy.clear()

    def no_env_keys(self, **env):
        return dict(self.files, AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, **env)

    def assertNoSecret(self, p):
        for s in (SECRET, "container-token", "testbed-secret"):
            self.assertNotIn(s, p.stdout + p.stderr)

    def test_environment(self):
        p, out = whoami(**self.files)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(out, {"source": "environment", "access_key_id": "AKIDTESTBED",
                               "session": "no"})
        p, out = whoami(**self.files, AWS_SESSION_TOKEN="t")
        self.assertEqual(out["session"], "yes")

    def test_partial_environment_is_an_error(self):
        p, _ = whoami(**dict(self.files, AWS_SECRET_ACCESS_KEY=None))
        self.assertEqual(p.returncode, 2)
        self.assertIn("partial credentials in the environment: AWS_ACCESS_KEY_ID is set but "
                      "AWS_SECRET_ACCESS_KEY is not",
                      p.stderr)

    def test_profile_from_shared_credentials_file(self):
        p, out = whoami(**self.no_env_keys(AWS_PROFILE="dev"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual((out["source"], out["access_key_id"]), ("profile", "AKIDDEV"))
        self.assertNoSecret(p)

    def test_explicit_profile_outranks_environment(self):
        p, out = whoami("--profile", "dev", **self.files)
        self.assertEqual(out["access_key_id"], "AKIDDEV", p.stderr)
        # AWS_PROFILE is not explicit: keys in the environment still win (botocore).
        p, out = whoami(**self.files, AWS_PROFILE="dev")
        self.assertEqual(out["access_key_id"], "AKIDTESTBED", p.stderr)

    def test_partial_profile_is_an_error(self):
        p, _ = whoami(**self.no_env_keys(AWS_PROFILE="half"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("partial credentials in profile 'half' of the credentials file",
                      p.stderr)

    def test_assume_role_with_source_profile(self):
        p = bed.run("awscall", "--whoami", "--repeat", "3", "autoscaling",
                    "DescribeAutoScalingGroups", env=bed.base_env(**self.no_env_keys(
                        AWS_PROFILE="deploy")))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("source=assume-role", p.stdout)
        self.assertIn("session=yes", p.stdout)
        self.assertRegex(p.stdout, r"access_key_id=ASIA")
        # Resolved once, reused for every call.
        self.assertEqual(self.proxy.calls(), {"AssumeRole": 1, "DescribeAutoScalingGroups": 3})
        self.assertNoSecret(p)

    def test_web_identity_from_environment(self):
        token = os.path.join(self.dir.name, "token")
        with open(token, "w") as f:
            f.write("eyJhbGciOiJSUzI1NiJ9.e30.sig\n")
        p, out = whoami(**self.no_env_keys(AWS_WEB_IDENTITY_TOKEN_FILE=token,
                                           AWS_ROLE_ARN="arn:aws:iam::123456789012:role/web",
                                           AWS_ROLE_SESSION_NAME="pod"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(out["source"], "web-identity")
        self.assertEqual(self.proxy.calls(), {"AssumeRoleWithWebIdentity": 1})
        self.assertNotIn("eyJhbGciOiJSUzI1NiJ9", p.stdout + p.stderr)

    def test_sso_and_credential_process_are_refused(self):
        with Imds(role="instance-role") as imds:
            for profile, what in (("sso", "uses SSO, which asgswap does not support"),
                                  ("proc", "uses credential_process, which asgswap does not "
                                   "support")):
                p, _ = whoami(**self.no_env_keys(
                    AWS_PROFILE=profile, AWS_EC2_METADATA_DISABLED=None,
                    AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url))
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn(f"profile '{profile}' {what}", p.stderr)
            # Never a silent fall-through to the instance role.
            self.assertEqual(imds.requests(), [])

    def test_container_credentials(self):
        srv = ThreadingHTTPServer(("127.0.0.1", 0), ContainerEndpoint)
        threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
        try:
            url = f"http://127.0.0.1:{srv.server_address[1]}/creds"
            p, out = whoami(**self.no_env_keys(AWS_CONTAINER_CREDENTIALS_FULL_URI=url,
                                               AWS_CONTAINER_AUTHORIZATION_TOKEN="Bearer xyz"))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual((out["source"], out["access_key_id"]), ("container", "ASIACONTAINER"))
            self.assertEqual(ContainerEndpoint.seen[-1], ("/creds", "Bearer xyz"))
            tok = os.path.join(self.dir.name, "ctok")
            with open(tok, "w") as f:
                f.write("from-file\n")
            p, out = whoami(**self.no_env_keys(AWS_CONTAINER_CREDENTIALS_FULL_URI=url,
                                               AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=tok))
            self.assertEqual(ContainerEndpoint.seen[-1], ("/creds", "from-file"))
            self.assertNoSecret(p)
        finally:
            srv.shutdown()
            srv.server_close()
        p, _ = whoami(**self.no_env_keys(AWS_CONTAINER_CREDENTIALS_FULL_URI="http://10.9.9.9/x"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("must be https or a loopback or container host", p.stderr)

    def test_instance_role_from_imds(self):
        with Imds(role="web-instance") as imds:
            env = self.no_env_keys(AWS_EC2_METADATA_DISABLED=None,
                                   AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url)
            p = bed.run("awscall", "--whoami", "--repeat", "3", "autoscaling",
                        "DescribeAutoScalingGroups", env=bed.base_env(**env))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("source=imds", p.stdout)
            fetches = [r for r in imds.requests() if r["path"].endswith("/web-instance")]
            self.assertEqual(len(fetches), 1)
            # Credentials that expire within the refresh window are fetched again.
            imds.configure(credentials_expire_in=300)
            imds.clear_requests()
            p = bed.run("awscall", "--repeat", "3", "autoscaling", "DescribeAutoScalingGroups",
                        env=bed.base_env(**env))
            self.assertEqual(p.returncode, 0, p.stderr)
            fetches = [r for r in imds.requests() if r["path"].endswith("/web-instance")]
            self.assertEqual(len(fetches), 3)
            self.assertTrue(all(r["had_token"] for r in imds.requests()
                                if r["method"] == "GET"))
            self.assertNoSecret(p)

    def test_no_credentials_anywhere(self):
        p, _ = whoami(**self.no_env_keys())
        # a configuration error: it names what was looked at and how to fix it
        self.assertEqual(p.returncode, 2)
        self.assertIn("no credentials: looked at AWS_ACCESS_KEY_ID, profile 'default' in ",
                      p.stderr)
        self.assertIn("instance metadata (disabled by AWS_EC2_METADATA_DISABLED); set "
                      "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", p.stderr)
        self.assertEqual(p.stderr.count("\n"), 1)


class ImdsClientTest(unittest.TestCase):
    """common/imds.c through tests/tools/imdsget."""

    @classmethod
    def setUpClass(cls):
        cls.imds = Imds(instance_id="i-0abc", region="eu-west-3")
        cls.addClassCleanup(cls.imds.stop)


    def setUp(self):
        self.imds.configure(delay_ms=0, token_ttl_cap=None, disabled=False)
        self.imds.clear_requests()

    def imdsget(self, *paths, **env):
        env = dict(dict(AWS_EC2_METADATA_DISABLED=None,
                        AWS_EC2_METADATA_SERVICE_ENDPOINT=self.imds.url), **env)
        return bed.run("imdsget", *paths, env=bed.base_env(**env))

    def test_token_reused(self):
        p = self.imdsget("/latest/meta-data/instance-id", "/latest/meta-data/placement/region",
                         "/latest/meta-data/instance-id")
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertEqual(p.stdout.splitlines(), [
            "/latest/meta-data/instance-id: i-0abc",
            "/latest/meta-data/placement/region: eu-west-3",
            "/latest/meta-data/instance-id: i-0abc"])
        reqs = self.imds.requests()
        self.assertEqual([r["method"] for r in reqs], ["PUT", "GET", "GET", "GET"])
        self.assertTrue(all(r["had_token"] for r in reqs[1:]))

    def test_expired_token_renewed_on_401(self):
        # Tokens live 2 s and every answer takes 1.1 s: the first GET arrives 1.1 s after
        # the token was made, the second 2.2 s after, when it has expired; the client gets
        # 401, fetches a new token and succeeds.
        self.imds.configure(token_ttl_cap=2, delay_ms=1100)
        p = self.imdsget("/latest/meta-data/instance-id", "/latest/meta-data/instance-id")
        self.assertEqual(p.returncode, 0, p.stdout)
        statuses = [(r["method"], r["status"]) for r in self.imds.requests()]
        self.assertIn(("GET", 401), statuses)
        self.assertGreaterEqual(statuses.count(("PUT", 200)), 2)

    def test_errors(self):
        p = self.imdsget("/latest/meta-data/nothing-here")
        self.assertEqual(p.stdout, "/latest/meta-data/nothing-here: error: No such file or "
                                   "directory\n")
        p = self.imdsget("/latest/meta-data/instance-id", AWS_EC2_METADATA_DISABLED="true")
        self.assertIn("error: No such device", p.stdout)
        self.imds.configure(disabled=True)
        p = self.imdsget("/latest/meta-data/instance-id")
        self.assertIn("error: Permission denied", p.stdout)

    def test_unreachable_fails_fast(self):
        p = bed.run("imdsget", "/latest/meta-data/instance-id", timeout=10, env=bed.base_env(
            AWS_EC2_METADATA_DISABLED=None,
            AWS_EC2_METADATA_SERVICE_ENDPOINT=f"http://127.0.0.1:{bed.free_port()}"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("error: Connection refused", p.stdout)

    def test_region_from_imds(self):
        from test_aws import Capture
        srv = ThreadingHTTPServer(("127.0.0.1", 0), Capture)
        threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
        try:
            p = bed.run("awscall", "autoscaling", "DescribeAutoScalingGroups", env=bed.base_env(
                AWS_REGION=None, AWS_EC2_METADATA_DISABLED=None,
                AWS_EC2_METADATA_SERVICE_ENDPOINT=self.imds.url,
                AWS_ENDPOINT_URL=f"http://127.0.0.1:{srv.server_address[1]}"))
            self.assertEqual(p.returncode, 0, p.stderr)
        finally:
            srv.shutdown()
            srv.server_close()
        self.assertIn("/eu-west-3/autoscaling/aws4_request", Capture.seen[-1][0]["Authorization"])


if __name__ == "__main__":
    unittest.main()

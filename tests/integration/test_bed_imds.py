"""The IMDSv2 emulator (tests/fixtures/imds.py): tokens, paths, tags, role credentials, and
that botocore's own IMDS client accepts it."""
import datetime
import http.client
import json
import time
import unittest

import botocore.utils

import bed
from imds import Imds

TTL = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN = "X-aws-ec2-metadata-token"


def parse_iso(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


class ImdsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.imds = Imds(instance_id="i-0aaaabbbbccccdddd", region="eu-west-1", az="eu-west-1b",
                        account="210987654321", tags={"Name": "web-blue", "asgswap:set": "blue"},
                        role="asgswap-agent")

    @classmethod
    def tearDownClass(cls):
        cls.imds.stop()

    def setUp(self):
        # back to the constructor's settings
        self.imds.configure(instance_id="i-0aaaabbbbccccdddd", region="eu-west-1", az="eu-west-1b",
                            account="210987654321", tags={"Name": "web-blue", "asgswap:set": "blue"},
                            tags_enabled=True, tags_after=0, role="asgswap-agent", credentials=None,
                            target_lifecycle_state="InService", delay_ms=0, token_ttl_cap=None,
                            disabled=False, rotate_credentials=True)
        self.imds.clear_requests()

    def put_token(self, ttl="21600", headers=None):
        h = {} if ttl is None else {TTL: str(ttl)}
        h.update(headers or {})
        return bed.http_get(self.imds.url + "/latest/api/token", method="PUT", headers=h)

    def get(self, path, token):
        status, body, headers = bed.http_get(self.imds.url + path,
                                             headers={TOKEN: token} if token else {})
        return status, body.decode(), headers

    # ---- tokens ------------------------------------------------------------------
    def test_imdsv1_without_token_is_401(self):
        status, _, _ = self.get("/latest/meta-data/instance-id", None)
        self.assertEqual(status, 401)
        status, _, _ = self.get("/latest/meta-data/instance-id", "not-a-token")
        self.assertEqual(status, 401)

    def test_token_put_needs_a_valid_ttl(self):
        for ttl in (None, "0", "21601", "-5", "abc", ""):
            status, _, _ = self.put_token(ttl)
            self.assertEqual(status, 400, f"ttl {ttl!r}")
        for ttl in ("1", "21600", " 60 "):
            status, body, headers = self.put_token(ttl)
            self.assertEqual(status, 200, f"ttl {ttl!r}")
            self.assertGreater(len(body), 20)
            self.assertEqual(headers[TTL], ttl.strip())
            self.assertTrue(headers["Content-Type"].startswith("text/plain"))
        status, _, _ = bed.http_get(self.imds.url + "/latest/api/token", headers={TTL: "60"})
        self.assertEqual(status, 405)  # GET of the token path

    def test_token_put_through_a_proxy_is_403(self):
        status, _, _ = self.put_token(60, {"X-Forwarded-For": "10.0.0.9"})
        self.assertEqual(status, 403)

    def test_token_expires_in_real_time(self):
        token = self.put_token(1)[1].decode()
        self.assertEqual(self.get("/latest/meta-data/instance-id", token)[0], 200)
        t0 = time.monotonic()
        bed.wait_until(lambda: self.get("/latest/meta-data/instance-id", token)[0] == 401,
                       timeout=5, interval=0.05, what="token expiry")
        self.assertLess(time.monotonic() - t0, 3.0)
        # a fresh token works again
        self.assertEqual(self.get("/latest/meta-data/instance-id", self.put_token(60)[1].decode())[0],
                         200)

    def test_token_ttl_cap(self):
        self.imds.configure(token_ttl_cap=1)
        status, body, headers = self.put_token(21600)
        self.assertEqual((status, headers[TTL]), (200, "1"))
        token = body.decode()
        bed.wait_until(lambda: self.get("/latest/meta-data/instance-id", token)[0] == 401,
                       timeout=5, interval=0.05, what="capped token expiry")

    def test_expire_tokens(self):
        a, b = self.imds.token(), self.imds.token()
        self.assertEqual(self.get("/latest/meta-data/instance-id", a)[0], 200)
        self.imds.expire_tokens()
        self.assertEqual(self.get("/latest/meta-data/instance-id", a)[0], 401)
        self.assertEqual(self.get("/latest/meta-data/instance-id", b)[0], 401)
        self.assertEqual(self.get("/latest/meta-data/instance-id", self.imds.token())[0], 200)
        self.imds.configure(expire_tokens=True)
        self.assertEqual(self.imds.config()["live_tokens"], 0)

    def test_keep_alive(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.imds.port, timeout=5)
        conn.request("PUT", "/latest/api/token", headers={TTL: "60"})
        token = conn.getresponse().read().decode()
        sock = conn.sock
        for path in ("/latest/meta-data/instance-id", "/latest/meta-data/placement/region"):
            conn.request("GET", path, headers={TOKEN: token})
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            r.read()
        conn.request("GET", "/latest/meta-data/instance-id")  # a 401 keeps the connection too
        r = conn.getresponse()
        self.assertEqual(r.status, 401)
        r.read()
        self.assertIs(conn.sock, sock)
        conn.close()

    # ---- paths -------------------------------------------------------------------
    def test_identity_paths(self):
        tok = self.imds.token()
        for path, want in (("/latest/meta-data/instance-id", "i-0aaaabbbbccccdddd"),
                           ("/latest/meta-data/placement/region", "eu-west-1"),
                           ("/latest/meta-data/placement/availability-zone", "eu-west-1b"),
                           ("/latest/meta-data/autoscaling/target-lifecycle-state", "InService")):
            status, body, headers = self.get(path, tok)
            self.assertEqual((status, body), (200, want), path)
            self.assertTrue(headers["Content-Type"].startswith("text/plain"))
        status, body, _ = self.get("/latest/dynamic/instance-identity/document", tok)
        self.assertEqual(status, 200)
        doc = json.loads(body)
        self.assertEqual({k: doc[k] for k in ("instanceId", "region", "accountId",
                                              "availabilityZone", "version")},
                         {"instanceId": "i-0aaaabbbbccccdddd", "region": "eu-west-1",
                          "accountId": "210987654321", "availabilityZone": "eu-west-1b",
                          "version": "2017-09-30"})
        for k in ("imageId", "instanceType", "privateIp", "pendingTime", "architecture"):
            self.assertTrue(doc[k], k)
        parse_iso(doc["pendingTime"])
        # changes at run time
        self.imds.configure(target_lifecycle_state="Terminated", instance_id="i-0ffff")
        self.assertEqual(self.get("/latest/meta-data/autoscaling/target-lifecycle-state", tok)[1],
                         "Terminated")
        self.assertEqual(self.get("/latest/meta-data/instance-id", tok)[1], "i-0ffff")
        self.imds.configure(target_lifecycle_state=None)
        self.assertEqual(self.get("/latest/meta-data/autoscaling/target-lifecycle-state", tok)[0],
                         404)

    def test_unknown_paths_404_and_listings(self):
        tok = self.imds.token()
        for path in ("/latest/meta-data/nope", "/", "/latest/user-data", "/2009-04-04/meta-data/x",
                     "/latest/meta-data/placement/nope"):
            self.assertEqual(self.get(path, tok)[0], 404, path)
        status, body, _ = self.get("/latest/meta-data/", tok)
        self.assertEqual(status, 200)
        self.assertIn("instance-id", body.split("\n"))
        self.assertIn("placement/", body.split("\n"))
        self.assertEqual(self.get("/latest/meta-data/placement/", tok)[1],
                         "availability-zone\nregion")
        # the token check comes before the 404
        self.assertEqual(self.get("/latest/meta-data/nope", None)[0], 401)

    def test_disabled_is_403(self):
        self.imds.configure(disabled=True)
        self.assertEqual(self.put_token(60)[0], 403)
        self.imds.configure(disabled=False)
        self.assertEqual(self.put_token(60)[0], 200)

    # ---- tags --------------------------------------------------------------------
    def test_tags(self):
        tok = self.imds.token()
        status, body, _ = self.get("/latest/meta-data/tags/instance", tok)
        self.assertEqual((status, sorted(body.split("\n"))), (200, ["Name", "asgswap:set"]))
        self.assertEqual(self.get("/latest/meta-data/tags/instance/Name", tok)[1:2], ("web-blue",))
        self.assertEqual(self.get("/latest/meta-data/tags/instance/asgswap:set", tok)[1], "blue")
        self.assertEqual(self.get("/latest/meta-data/tags/instance/Missing", tok)[0], 404)
        self.imds.configure(tags={"Only": "one"})
        self.assertEqual(self.get("/latest/meta-data/tags/instance", tok)[1], "Only")

    def test_tags_disabled_is_404(self):
        self.imds.configure(tags_enabled=False)
        tok = self.imds.token()
        self.assertEqual(self.get("/latest/meta-data/tags/instance", tok)[0], 404)
        self.assertEqual(self.get("/latest/meta-data/tags/instance/Name", tok)[0], 404)
        self.assertNotIn("tags/", self.get("/latest/meta-data/", tok)[1].split("\n"))
        with Imds(tags={"A": "b"}, tags_enabled=False) as other:
            self.assertEqual(other.get("/latest/meta-data/tags/instance")[0], 404)

    def test_tags_after_a_delay(self):
        self.imds.configure(tags_after=0.5)
        tok = self.imds.token()
        t0 = time.monotonic()
        self.assertEqual(self.get("/latest/meta-data/tags/instance/Name", tok)[0], 404)
        bed.wait_until(lambda: self.get("/latest/meta-data/tags/instance/Name", tok)[0] == 200,
                       timeout=5, what="tags appearing")
        self.assertGreaterEqual(time.monotonic() - t0, 0.4)
        self.assertEqual(self.get("/latest/meta-data/tags/instance/Name", tok)[1], "web-blue")

    # ---- role credentials ----------------------------------------------------------
    def test_role_credentials(self):
        tok = self.imds.token()
        status, body, _ = self.get("/latest/meta-data/iam/security-credentials/", tok)
        self.assertEqual((status, body), (200, "asgswap-agent"))
        status, body, _ = self.get("/latest/meta-data/iam/security-credentials/asgswap-agent", tok)
        self.assertEqual(status, 200)
        c = json.loads(body)
        self.assertEqual((c["Code"], c["Type"]), ("Success", "AWS-HMAC"))
        self.assertTrue(c["AccessKeyId"].startswith("ASIA"))
        self.assertEqual(len(c["SecretAccessKey"]), 40)
        self.assertTrue(c["Token"])
        self.assertRegex(c["Expiration"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertGreater(parse_iso(c["Expiration"]), now + datetime.timedelta(hours=1))
        parse_iso(c["LastUpdated"])
        self.assertEqual(self.get("/latest/meta-data/iam/security-credentials/other", tok)[0], 404)
        self.assertEqual(json.loads(self.get("/latest/meta-data/iam/info", tok)[1])["Code"],
                         "Success")
        # expiry and rotation
        self.imds.configure(credentials_expire_in=-60)
        c2 = json.loads(self.get("/latest/meta-data/iam/security-credentials/asgswap-agent", tok)[1])
        self.assertLess(parse_iso(c2["Expiration"]), now)
        self.assertEqual(c2["AccessKeyId"], c["AccessKeyId"])
        self.imds.configure(rotate_credentials=True)
        c3 = json.loads(self.get("/latest/meta-data/iam/security-credentials/asgswap-agent", tok)[1])
        self.assertNotEqual(c3["AccessKeyId"], c["AccessKeyId"])
        # explicit credentials
        self.imds.configure(credentials={"AccessKeyId": "ASIAFIXED", "SecretAccessKey": "s" * 40,
                                         "Token": "tok", "Expiration": "2030-01-01T00:00:00Z"})
        c4 = json.loads(self.get("/latest/meta-data/iam/security-credentials/asgswap-agent", tok)[1])
        self.assertEqual((c4["AccessKeyId"], c4["Token"], c4["Expiration"]),
                         ("ASIAFIXED", "tok", "2030-01-01T00:00:00Z"))

    def test_no_role_is_404(self):
        self.imds.configure(role=None)
        tok = self.imds.token()
        self.assertEqual(self.get("/latest/meta-data/iam/security-credentials/", tok)[0], 404)
        self.assertEqual(self.get("/latest/meta-data/iam/security-credentials/asgswap-agent",
                                  tok)[0], 404)

    def test_botocore_reads_credentials_and_region(self):
        base = self.imds.url + "/"
        creds = botocore.utils.InstanceMetadataFetcher(timeout=2, num_attempts=1,
                                                       base_url=base).retrieve_iam_role_credentials()
        self.assertEqual(creds["role_name"], "asgswap-agent")
        self.assertTrue(creds["access_key"].startswith("ASIA"))
        self.assertTrue(creds["token"])
        region = botocore.utils.InstanceMetadataRegionFetcher(timeout=2, num_attempts=1,
                                                              base_url=base).retrieve_region()
        self.assertEqual(region, "eu-west-1")
        reqs = self.imds.requests()
        self.assertEqual(reqs[0]["method"], "PUT")
        self.assertTrue(all(r["had_token"] for r in reqs if r["method"] == "GET"), reqs)

    # ---- emulator features ---------------------------------------------------------
    def test_delay_ms(self):
        tok = self.imds.token()
        self.imds.configure(delay_ms=300)
        t0 = time.monotonic()
        self.assertEqual(self.get("/latest/meta-data/instance-id", tok)[0], 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)

    def test_request_log(self):
        self.get("/latest/meta-data/instance-id", None)
        tok = self.imds.token()
        self.get("/latest/meta-data/instance-id", tok)
        self.get("/latest/meta-data/nope", tok)
        log = [(r["method"], r["path"], r["had_token"], r["status"]) for r in self.imds.requests()]
        self.assertEqual(log, [("GET", "/latest/meta-data/instance-id", False, 401),
                               ("PUT", "/latest/api/token", False, 200),
                               ("GET", "/latest/meta-data/instance-id", True, 200),
                               ("GET", "/latest/meta-data/nope", True, 404)])
        with self.assertRaises(RuntimeError):
            self.imds.configure(no_such_setting=1)


if __name__ == "__main__":
    unittest.main()

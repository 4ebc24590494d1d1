"""The AWS layer of common/ (config, SigV4, Query protocol, retries, pagination, tracing)
end to end through tests/tools/awscall, against patched moto and the fault proxy."""
import json
import os
import re
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import bed
from faultproxy import FaultProxy
from motobed import Moto

POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["autoscaling:Describe*", "sts:AssumeRole"],
     "Resource": "*"}]}
ROLE_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/deployer"},
     "Action": "sts:AssumeRole"}]}


def make_groups(moto, names):
    asg = moto.client("autoscaling")
    asg.create_launch_configuration(LaunchConfigurationName="lc", ImageId="ami-12345678",
                                    InstanceType="t3.micro")
    for n in names:
        asg.create_auto_scaling_group(AutoScalingGroupName=n, LaunchConfigurationName="lc",
                                      MinSize=0, MaxSize=2, DesiredCapacity=0,
                                      AvailabilityZones=["us-east-1a"])


class SignatureTest(unittest.TestCase):
    """moto itself checks our signatures once auth is on (INITIAL_NO_AUTH_ACTION_COUNT)."""

    @classmethod
    def setUpClass(cls):
        cls.moto = Moto(auth_count=10**6)
        cls.addClassCleanup(cls.moto.stop)
        iam = cls.moto.client("iam")
        iam.create_user(UserName="deployer")
        iam.put_user_policy(UserName="deployer", PolicyName="p", PolicyDocument=json.dumps(POLICY))
        key = iam.create_access_key(UserName="deployer")["AccessKey"]
        cls.key_id, cls.secret = key["AccessKeyId"], key["SecretAccessKey"]
        iam.create_role(RoleName="deploy", AssumeRolePolicyDocument=json.dumps(ROLE_TRUST))
        iam.put_role_policy(RoleName="deploy", PolicyName="p", PolicyDocument=json.dumps(POLICY))
        make_groups(cls.moto, ["web-blue", "web-green"])
        cls.moto.reset_auth(0)  # from now on moto verifies every call


    def awscall(self, *args, **env):
        env.setdefault("AWS_ACCESS_KEY_ID", self.key_id)
        env.setdefault("AWS_SECRET_ACCESS_KEY", self.secret)
        return bed.run("awscall", *args, env=bed.base_env(AWS_ENDPOINT_URL=self.moto.url, **env))

    def test_long_term_keys_accepted(self):
        p = self.awscall("--print", "AutoScalingGroupName", "autoscaling",
                         "DescribeAutoScalingGroups")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.split(), ["AutoScalingGroupName=web-blue",
                                            "AutoScalingGroupName=web-green"])

    def test_values_with_spaces_and_symbols_verify(self):
        # moto re-encodes the parsed form before checking: only botocore's own encoding
        # (a space as '+') verifies there, so this is the encoding we send.
        p = self.awscall("autoscaling", "DescribeAutoScalingGroups",
                         "Filters.member.1.Name=tag:docker:image:name",
                         "Filters.member.1.Values.member.1=0 2 * * */ü~+")
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_wrong_secret_is_signature_does_not_match(self):
        p = self.awscall("autoscaling", "DescribeAutoScalingGroups",
                         AWS_SECRET_ACCESS_KEY="not-the-secret")
        self.assertEqual(p.returncode, 4)
        self.assertRegex(p.stderr, r"^awscall: error: DescribeAutoScalingGroups: "
                                   r"SignatureDoesNotMatch: .+ \(HTTP 403, 1 attempts, ")
        self.assertEqual(p.stderr.count("\n"), 1)
        self.assertNotIn("not-the-secret", p.stderr + p.stdout)

    def test_session_credentials_from_assume_role(self):
        import boto3
        sts = boto3.client("sts", region_name="us-east-1", endpoint_url=self.moto.url,
                           aws_access_key_id=self.key_id, aws_secret_access_key=self.secret)
        c = sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/deploy",
                            RoleSessionName="test")["Credentials"]
        p = self.awscall("--print", "AutoScalingGroupName", "autoscaling",
                         "DescribeAutoScalingGroups", AWS_ACCESS_KEY_ID=c["AccessKeyId"],
                         AWS_SECRET_ACCESS_KEY=c["SecretAccessKey"],
                         AWS_SESSION_TOKEN=c["SessionToken"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("AutoScalingGroupName=web-blue", p.stdout)
        # The token is signed: a different one fails.
        p = self.awscall("autoscaling", "DescribeAutoScalingGroups",
                         AWS_ACCESS_KEY_ID=c["AccessKeyId"],
                         AWS_SECRET_ACCESS_KEY=c["SecretAccessKey"],
                         AWS_SESSION_TOKEN=c["SessionToken"][:-4] + "AAAA")
        self.assertEqual(p.returncode, 4)

    def test_our_assume_role_through_a_profile(self):
        # Both our AssumeRole call (signed with the user's keys) and the call made with the
        # session credentials it returned pass moto's signature and policy checks.
        with tempfile.TemporaryDirectory() as d:
            cfg = os.path.join(d, "config")
            with open(cfg, "w") as f:
                f.write(f"[profile user]\naws_access_key_id = {self.key_id}\n"
                        f"aws_secret_access_key = {self.secret}\n"
                        "[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/deploy\n"
                        "source_profile = user\n")
            p = self.awscall("--whoami", "--profile", "deploy", "--print",
                             "AutoScalingGroupName", "autoscaling", "DescribeAutoScalingGroups",
                             AWS_CONFIG_FILE=cfg)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("source=assume-role", p.stdout)
        self.assertIn("AutoScalingGroupName=web-blue", p.stdout)
        self.assertNotIn(self.secret, p.stdout + p.stderr)

    def test_action_not_allowed_is_access_denied(self):
        p = self.awscall("autoscaling", "SetDesiredCapacity", "AutoScalingGroupName=web-blue",
                         "DesiredCapacity=1")
        self.assertEqual(p.returncode, 4)
        self.assertIn("AccessDenied", p.stderr)


class QueryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = Moto()
        cls.addClassCleanup(cls.moto.stop)
        make_groups(cls.moto, [f"svc-{i:02d}" for i in range(25)])
        cls.proxy = FaultProxy(cls.moto.url)
        cls.addClassCleanup(cls.proxy.stop)


    def setUp(self):
        self.proxy.clear()

    def awscall(self, *args, **env):
        return bed.run("awscall", *args, env=bed.base_env(AWS_ENDPOINT_URL=self.proxy.url, **env))

    def test_pagination_follows_next_token(self):
        p = self.awscall("--paginate", "NextToken:NextToken", "--print", "AutoScalingGroupName",
                         "autoscaling", "DescribeAutoScalingGroups", "MaxRecords=10")
        self.assertEqual(p.returncode, 0, p.stderr)
        names = re.findall(r"AutoScalingGroupName=(\S+)", p.stdout)
        self.assertEqual(names, [f"svc-{i:02d}" for i in range(25)])
        self.assertEqual(self.proxy.calls(), {"DescribeAutoScalingGroups": 3})

    def test_list_parameters_and_filters(self):
        p = self.awscall("--print", "AutoScalingGroupName", "autoscaling",
                         "DescribeAutoScalingGroups", "AutoScalingGroupNames.member.1=svc-03",
                         "AutoScalingGroupNames.member.2=svc-07")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.split(), ["AutoScalingGroupName=svc-03",
                                            "AutoScalingGroupName=svc-07"])

    def test_verbose_traces_each_call(self):
        p = self.awscall("--verbose", "autoscaling", "DescribeAutoScalingGroups")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stderr, r"awscall: debug: autoscaling DescribeAutoScalingGroups: "
                                   r"HTTP 200, \d+ ms, attempt 1, request id \S+")
        self.assertNotIn("testbed-secret", p.stderr + p.stdout)


    def test_region_and_endpoint_errors(self):
        p = bed.run("awscall", "autoscaling", "DescribeAutoScalingGroups",
                    env=bed.base_env(AWS_REGION=None, AWS_ENDPOINT_URL=self.proxy.url))
        self.assertEqual(p.returncode, 2)
        self.assertIn("no region", p.stderr)
        p = bed.run("awscall", "autoscaling", "DescribeAutoScalingGroups",
                    env=bed.base_env(AWS_ENDPOINT_URL="ftp://x"))
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr.count("\n"), 1, p.stderr)


class Capture(BaseHTTPRequestHandler):
    """Answers every POST with an empty Query response and keeps what it received."""
    protocol_version = "HTTP/1.1"
    seen = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Capture.seen.append((dict(self.headers), body.decode()))
        out = b"<DescribeAutoScalingGroupsResponse><DescribeAutoScalingGroupsResult>" \
              b"<AutoScalingGroups/></DescribeAutoScalingGroupsResult>" \
              b"</DescribeAutoScalingGroupsResponse>"
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


class WireTest(unittest.TestCase):
    """What goes on the wire: headers, form encoding, signature shape."""

    def test_request_shape(self):
        srv = ThreadingHTTPServer(("127.0.0.1", 0), Capture)
        threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
        try:
            url = f"http://127.0.0.1:{srv.server_address[1]}"
            p = bed.run("awscall", "autoscaling", "DescribeAutoScalingGroups",
                        "Filters.member.1.Name=tag:docker:image:name",
                        "Filters.member.1.Values.member.1=web app/ü",
                        env=bed.base_env(AWS_ENDPOINT_URL=url, AWS_SESSION_TOKEN="tok"))
            self.assertEqual(p.returncode, 0, p.stderr)
        finally:
            srv.shutdown()
            srv.server_close()
        headers, body = Capture.seen[-1]
        self.assertRegex(headers["User-Agent"], r"^asgswap/\d+\.\d+\.\d+$")
        self.assertEqual(headers["Content-Type"],
                         "application/x-www-form-urlencoded; charset=utf-8")
        self.assertEqual(body, "Action=DescribeAutoScalingGroups&Version=2011-01-01"
                               "&Filters.member.1.Name=tag%3Adocker%3Aimage%3Aname"
                               "&Filters.member.1.Values.member.1=web+app%2F%C3%BC")
        self.assertRegex(headers["Authorization"],
                         r"^AWS4-HMAC-SHA256 Credential=AKIDTESTBED/\d{8}/us-east-1/"
                         r"autoscaling/aws4_request, SignedHeaders=content-type;host;"
                         r"x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$")
        self.assertEqual(headers["X-Amz-Security-Token"], "tok")
        self.assertNotIn("Expect", headers)


class RetryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = Moto()
        cls.addClassCleanup(cls.moto.stop)
        make_groups(cls.moto, ["web-blue"])
        cls.proxy = FaultProxy(cls.moto.url)
        cls.addClassCleanup(cls.proxy.stop)


    def setUp(self):
        self.proxy.clear()

    def awscall(self, *args, **env):
        return bed.run("awscall", "--verbose", *args,
                       env=bed.base_env(AWS_ENDPOINT_URL=self.proxy.url, **env))

    def describe(self, **env):
        return self.awscall("--print", "AutoScalingGroupName", "autoscaling",
                            "DescribeAutoScalingGroups", **env)

    def test_throttled_twice_then_succeeds(self):
        self.proxy.add_rule(type="error", action="DescribeAutoScalingGroups", status=400,
                            code="Throttling", message="Rate exceeded", count=2)
        p = self.describe()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("AutoScalingGroupName=web-blue", p.stdout)
        self.assertEqual(self.proxy.calls(), {"DescribeAutoScalingGroups": 3})
        self.assertEqual(len(re.findall(r"Throttling, .* retry in \d+ ms", p.stderr)), 2)

    def test_throttled_past_the_attempts_fails_with_the_code(self):
        self.proxy.add_rule(type="error", action="DescribeAutoScalingGroups", status=400,
                            code="Throttling", message="Rate exceeded")
        p = self.describe()
        self.assertEqual(p.returncode, 4)
        self.assertIn("awscall: error: DescribeAutoScalingGroups: Throttling: Rate exceeded "
                      "(HTTP 400, 3 attempts", p.stderr)
        self.assertEqual(self.proxy.calls(), {"DescribeAutoScalingGroups": 3})

    def test_max_attempts_from_environment(self):
        self.proxy.add_rule(type="error", status=503, code="ServiceUnavailable", count=4)
        p = self.describe(AWS_MAX_ATTEMPTS="5")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.proxy.calls(), {"DescribeAutoScalingGroups": 5})
        self.proxy.clear()
        self.proxy.add_rule(type="error", status=503, code="ServiceUnavailable", count=1)
        p = self.describe(AWS_MAX_ATTEMPTS="1")
        self.assertEqual(p.returncode, 4)
        self.assertEqual(self.proxy.calls(), {"DescribeAutoScalingGroups": 1})

    def test_no_retry_on_validation_error(self):
        p = self.awscall("autoscaling", "SetDesiredCapacity", "AutoScalingGroupName=web-blue",
                         "DesiredCapacity=9")
        self.assertEqual(p.returncode, 4)
        self.assertIn("ValidationError", p.stderr)
        self.assertEqual(self.proxy.calls(), {"SetDesiredCapacity": 1})

    def test_transient_failures_retried(self):
        self.proxy.add_rule([
            {"type": "drop", "count": 1},
            {"type": "error", "status": 500, "code": "InternalFailure", "count": 1},
        ])
        p = self.describe()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.proxy.calls(), {"DescribeAutoScalingGroups": 3})

    def test_ec2_error_shape(self):
        self.proxy.add_rule(type="error", status=400, code="InvalidInstanceID.Malformed",
                            message="bad id", shape="ec2", count=1)
        p = self.awscall("ec2", "DescribeInstances", "InstanceId.1=i-bad")
        self.assertEqual(p.returncode, 4)
        self.assertIn("DescribeInstances: InvalidInstanceID.Malformed: bad id (HTTP 400",
                      p.stderr)

    def test_scaling_activity_in_progress_waits(self):
        self.proxy.add_rule(type="error", action="SetDesiredCapacity", status=400,
                            code="ScalingActivityInProgress", message="busy", count=1)
        p = self.awscall("autoscaling", "SetDesiredCapacity", "AutoScalingGroupName=web-blue",
                         "DesiredCapacity=1", AWS_MAX_ATTEMPTS="1")
        self.assertEqual(p.returncode, 0, p.stderr)
        # Outside the standard attempts (1 here) and the quota: a pause, then success.
        self.assertEqual(self.proxy.calls(), {"SetDesiredCapacity": 2})
        waits = [int(x) for x in re.findall(r"ScalingActivityInProgress, .* retry in (\d+) ms",
                                            p.stderr)]
        self.assertEqual(len(waits), 1)
        self.assertTrue(all(w >= 1000 for w in waits), waits)

    def test_resource_contention_retried(self):
        self.proxy.add_rule(type="error", status=500, code="ResourceContention", count=1)
        p = self.describe(AWS_MAX_ATTEMPTS="1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stderr, r"ResourceContention, .* retry in ([5-9]\d\d|1\d\d\d) ms")

    def test_deadline_bounds_a_call_that_never_answers(self):
        self.proxy.add_rule(type="hang", max_s=30)
        start = time.monotonic()
        p = bed.run("awscall", "--deadline-ms", "1500", "autoscaling",
                    "DescribeAutoScalingGroups", env=bed.base_env(AWS_ENDPOINT_URL=self.proxy.url))
        elapsed = time.monotonic() - start
        self.assertEqual(p.returncode, 4)
        self.assertIn("DescribeAutoScalingGroups: Connection timed out", p.stderr)
        self.assertLess(elapsed, 10 if os.environ.get("ASGSWAP_WRAP") else 5)
        self.assertEqual(self.proxy.calls(), {"DescribeAutoScalingGroups": 1})

    def test_truncated_answers_fail_after_the_attempts(self):
        self.proxy.add_rule(type="truncate")
        p = bed.run("awscall", "autoscaling", "DescribeAutoScalingGroups",
                    env=bed.base_env(AWS_ENDPOINT_URL=self.proxy.url))
        self.assertEqual(p.returncode, 4)
        self.assertRegex(p.stderr, r"^awscall: error: DescribeAutoScalingGroups: Connection "
                                   r"reset by peer: .*\n$")
        self.assertEqual(self.proxy.calls(), {"DescribeAutoScalingGroups": 3})


if __name__ == "__main__":
    unittest.main()

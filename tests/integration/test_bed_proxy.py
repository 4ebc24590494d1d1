"""The fault proxy (tests/fixtures/faultproxy.py) in front of a plain moto_server: every
rule, the counting by Action, keep-alive, the control API."""
import http.client
import json
import socket
import subprocess
import sys
import time
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

import boto3
import botocore.config
import botocore.exceptions

import bed
from faultproxy import FaultProxy

NO_RETRY = botocore.config.Config(retries={"total_max_attempts": 1}, connect_timeout=5,
                                  read_timeout=10)
CREDS = dict(aws_access_key_id="AKIDTESTBED", aws_secret_access_key="testbed-secret",
             region_name="us-east-1")


def start_moto():
    try:
        import motobed  # a colleague's fixture; used when it is there and works
        m = motobed.Moto()
        if getattr(m, "url", None) and hasattr(m, "stop"):
            return m
        getattr(m, "stop", lambda: None)()
    except Exception:
        pass
    port = bed.free_port()
    return bed.Server("moto", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                               str(port)], port, ready_url=f"http://127.0.0.1:{port}/moto-api/",
                      env=bed.base_env())


def local_name(tag):
    return tag.rsplit("}", 1)[-1]


def find(root, name):
    for el in root.iter():
        if local_name(el.tag) == name:
            return el.text
    return None


class FaultProxyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = start_moto()
        try:
            cls.proxy = FaultProxy(cls.moto.url, seed=7)
        except BaseException:
            cls.moto.stop()
            raise
        cls.asg = boto3.client("autoscaling", endpoint_url=cls.proxy.url, config=NO_RETRY, **CREDS)
        cls.ec2 = boto3.client("ec2", endpoint_url=cls.proxy.url, config=NO_RETRY, **CREDS)
        cls.direct = boto3.client("autoscaling", endpoint_url=cls.moto.url, config=NO_RETRY,
                                  **CREDS)
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.moto.stop()

    def setUp(self):
        self.proxy.clear()

    def new_lc(self, client=None):
        type(self).n += 1
        name = f"lc-{self.n}"
        (client or self.asg).create_launch_configuration(
            LaunchConfigurationName=name, ImageId="ami-12345678", InstanceType="t3.micro")
        return name

    def lc_exists(self, name):
        r = self.direct.describe_launch_configurations(LaunchConfigurationNames=[name])
        return len(r["LaunchConfigurations"]) == 1

    def raw(self, method="POST", path="/", body=b"Action=DescribeAutoScalingGroups&Version=2011-01-01",
            headers=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.proxy.port, timeout=timeout)
        h = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        return conn, conn.getresponse()

    # ---- forwarding and counting ---------------------------------------------------
    def test_forwards_and_counts_by_action(self):
        lc = self.new_lc()
        self.asg.create_auto_scaling_group(AutoScalingGroupName="g-count", LaunchConfigurationName=lc,
                                           MinSize=0, MaxSize=2, DesiredCapacity=0,
                                           AvailabilityZones=["us-east-1a"])
        for _ in range(3):
            r = self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=["g-count"])
            self.assertEqual(r["AutoScalingGroups"][0]["AutoScalingGroupName"], "g-count")
        self.ec2.describe_regions()
        self.assertEqual(self.proxy.calls(), {"CreateLaunchConfiguration": 1,
                                              "CreateAutoScalingGroup": 1,
                                              "DescribeAutoScalingGroups": 3,
                                              "DescribeRegions": 1})
        # the group really is in moto, seen without the proxy
        r = self.direct.describe_auto_scaling_groups(AutoScalingGroupNames=["g-count"])
        self.assertEqual(len(r["AutoScalingGroups"]), 1)
        log = self.proxy.log()
        self.assertEqual([e["action"] for e in log],
                         ["CreateLaunchConfiguration", "CreateAutoScalingGroup"]
                         + ["DescribeAutoScalingGroups"] * 3 + ["DescribeRegions"])
        self.assertTrue(all(e["status"] == 200 and e["fault"] is None and e["ms"] >= 0
                            for e in log), log)
        self.proxy.clear()
        self.assertEqual(self.proxy.calls(), {})
        self.assertEqual(self.proxy.log(), [])

    def test_action_from_json_target_and_query_string(self):
        ecr = boto3.client("ecr", endpoint_url=self.proxy.url, config=NO_RETRY, **CREDS)
        ecr.describe_repositories()
        conn, r = self.raw("GET", "/?Action=DescribeRegions&Version=2016-11-15", body=None)
        r.read()
        conn.close()
        conn, r = self.raw("GET", "/moto-api/", body=None)
        r.read()
        conn.close()
        self.assertEqual(self.proxy.calls(), {"DescribeRepositories": 1, "DescribeRegions": 1,
                                              "(none)": 1})

    def test_keep_alive_on_client_side(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.proxy.port, timeout=10)
        sockets = []
        for _ in range(3):
            conn.request("GET", "/moto-api/")
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            r.read()
            sockets.append(conn.sock)
        self.assertIsNotNone(sockets[0])
        self.assertTrue(all(s is sockets[0] for s in sockets), "connection was not reused")
        # a body and a control call on the same connection too
        conn.request("POST", "/", body=b"Action=DescribeAutoScalingGroups&Version=2011-01-01",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        conn.getresponse().read()
        conn.request("GET", "/__fault/calls")
        calls = json.loads(conn.getresponse().read())
        self.assertIs(conn.sock, sockets[0])
        self.assertEqual(calls, {"(none)": 3, "DescribeAutoScalingGroups": 1})
        conn.close()

    def test_upstream_down_is_502(self):
        with FaultProxy(f"http://127.0.0.1:{bed.free_port()}") as p:
            status, body, _ = bed.http_get(p.url + "/", method="POST", data=b"Action=X")
            self.assertEqual(status, 502)
            self.assertEqual(p.calls(), {"X": 1})

    # ---- error -------------------------------------------------------------------
    def test_throttle_next_two_calls_then_success(self):
        self.proxy.add_rule(type="error", action="DescribeAutoScalingGroups", count=2,
                            status=400, code="Throttling", message="Rate exceeded")
        for _ in range(2):
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                self.asg.describe_auto_scaling_groups()
            err = cm.exception.response
            self.assertEqual(err["Error"]["Code"], "Throttling")
            self.assertEqual(err["Error"]["Message"], "Rate exceeded")
            self.assertEqual(err["Error"]["Type"], "Sender")
            self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 400)
            # other actions are not affected
            self.asg.describe_launch_configurations()
        self.asg.describe_auto_scaling_groups()
        self.assertEqual(self.proxy.calls(), {"DescribeAutoScalingGroups": 3,
                                              "DescribeLaunchConfigurations": 2})
        faults = [(e["action"], e["status"], e["fault"]) for e in self.proxy.log()]
        self.assertEqual(faults, [("DescribeAutoScalingGroups", 400, "error"),
                                  ("DescribeLaunchConfigurations", 200, None),
                                  ("DescribeAutoScalingGroups", 400, "error"),
                                  ("DescribeLaunchConfigurations", 200, None),
                                  ("DescribeAutoScalingGroups", 200, None)])
        rule = self.proxy.rules()[0]
        self.assertEqual((rule["fired"], rule["remaining"]), (2, 0))

    def test_error_shapes_5xx_raw(self):
        self.proxy.add_rule(type="error", status=503, code="ServiceUnavailable",
                            message="Service is unavailable", count=1)
        self.proxy.add_rule(type="error", status=500, code="InternalFailure",
                            message="An internal error <&> occurred", count=1)
        for status, code, etype, msg in ((503, "ServiceUnavailable", "Receiver",
                                          "Service is unavailable"),
                                         (500, "InternalFailure", "Receiver",
                                          "An internal error <&> occurred")):
            conn, r = self.raw()
            body = r.read()
            self.assertEqual(r.status, status)
            self.assertTrue(r.getheader("Content-Type").startswith("text/xml"))
            self.assertEqual(int(r.getheader("Content-Length")), len(body))
            root = ET.fromstring(body)
            self.assertEqual(root.tag, "{https://autoscaling.amazonaws.com/doc/2011-01-01/}ErrorResponse")
            self.assertEqual((find(root, "Type"), find(root, "Code"), find(root, "Message")),
                             (etype, code, msg))
            self.assertRegex(find(root, "RequestId"), r"^[0-9a-f-]{36}$")
            conn.close()
        # boto3 parses the 503 too
        self.proxy.add_rule(type="error", status=503, code="ServiceUnavailable", count=1)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.asg.describe_auto_scaling_groups()
        self.assertEqual(cm.exception.response["Error"]["Code"], "ServiceUnavailable")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 503)

    def test_error_ec2_shape(self):
        self.proxy.add_rule(type="error", action="DescribeInstances", shape="ec2", status=503,
                            code="RequestLimitExceeded", message="Request limit exceeded.", count=1)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.ec2.describe_instances()
        e = cm.exception.response
        self.assertEqual((e["Error"]["Code"], e["Error"]["Message"]),
                         ("RequestLimitExceeded", "Request limit exceeded."))
        self.assertEqual(e["ResponseMetadata"]["HTTPStatusCode"], 503)
        self.ec2.describe_instances()

    def test_error_json_shape(self):
        ecr = boto3.client("ecr", endpoint_url=self.proxy.url, config=NO_RETRY, **CREDS)
        self.proxy.add_rule(type="error", action="DescribeRepositories", shape="json",
                            status=400, code="ThrottlingException", message="slow down", count=1)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            ecr.describe_repositories()
        self.assertEqual(cm.exception.response["Error"]["Code"], "ThrottlingException")
        ecr.describe_repositories()

    def test_probability_is_seeded_and_reproducible(self):
        def pattern():
            self.proxy.clear()
            self.proxy.add_rule(type="error", probability=0.5, seed=1234, code="Throttling")
            out = []
            for _ in range(20):
                conn, r = self.raw()
                r.read()
                conn.close()
                out.append(r.status == 400)
            self.assertEqual([e["fault"] == "error" for e in self.proxy.log()], out)
            return out
        first = pattern()
        self.assertEqual(pattern(), first)
        self.assertTrue(3 <= sum(first) <= 17, first)

    def test_skip_and_mutating_filter(self):
        self.proxy.add_rule(type="error", mutating=True, skip=1, count=1,
                            code="ScalingActivityInProgress", message="busy")
        self.new_lc()                      # mutating call 1: skipped
        self.asg.describe_auto_scaling_groups()  # not mutating
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.new_lc()                  # mutating call 2: error
        self.assertEqual(cm.exception.response["Error"]["Code"], "ScalingActivityInProgress")
        self.new_lc()                      # count used up
        self.assertEqual([e["fault"] for e in self.proxy.log()], [None, None, "error", None])

    # ---- latency -----------------------------------------------------------------
    def test_latency_adds_at_least_ms(self):
        self.proxy.latency(300, action="DescribeAutoScalingGroups")
        t0 = time.monotonic()
        self.asg.describe_auto_scaling_groups()
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)
        self.asg.describe_launch_configurations()
        log = self.proxy.log()
        self.assertEqual(log[0]["fault"], "latency")
        self.assertGreaterEqual(log[0]["ms"], 300)
        self.assertIsNone(log[1]["fault"])
        # a global latency rule combines with an answering rule
        self.proxy.clear()
        self.proxy.latency(200)
        self.proxy.add_rule(type="error", count=1)
        t0 = time.monotonic()
        with self.assertRaises(botocore.exceptions.ClientError):
            self.asg.describe_launch_configurations()
        self.assertGreaterEqual(time.monotonic() - t0, 0.2)
        self.assertEqual(self.proxy.log()[0]["fault"], "latency+error")

    # ---- drop --------------------------------------------------------------------
    def test_drop_is_a_connection_error(self):
        self.proxy.add_rule(type="drop", action="DescribeAutoScalingGroups", count=1)
        with self.assertRaises((botocore.exceptions.ConnectionClosedError,
                                botocore.exceptions.EndpointConnectionError)):
            self.asg.describe_auto_scaling_groups()
        self.asg.describe_auto_scaling_groups()
        self.assertEqual([(e["status"], e["fault"]) for e in self.proxy.log()],
                         [(None, "drop"), (200, None)])

    def test_drop_raw_reads_request_then_closes(self):
        self.proxy.add_rule(type="drop", count=1)
        conn, _ = None, None
        conn = http.client.HTTPConnection("127.0.0.1", self.proxy.port, timeout=5)
        conn.request("POST", "/", body=b"Action=DescribeAutoScalingGroups&" + b"x=y&" * 10000)
        with self.assertRaises(http.client.RemoteDisconnected):
            conn.getresponse()
        conn.close()
        self.proxy.add_rule(type="drop", count=1, reset=True)
        conn = http.client.HTTPConnection("127.0.0.1", self.proxy.port, timeout=5)
        conn.request("POST", "/", body=b"Action=DescribeAutoScalingGroups")
        with self.assertRaises((ConnectionResetError, http.client.RemoteDisconnected)):
            conn.getresponse()
        conn.close()
        self.assertEqual(self.proxy.calls(), {"DescribeAutoScalingGroups": 2})

    def test_drop_after_forwarding_takes_effect(self):
        self.proxy.add_rule(type="drop", action="CreateLaunchConfiguration", forward=True,
                            count=1)
        name = f"lc-{self.n + 1}"
        with self.assertRaises(botocore.exceptions.ConnectionClosedError):
            self.new_lc()
        self.assertTrue(self.lc_exists(name))

    # ---- hostile bodies ----------------------------------------------------------
    def test_truncated_body(self):
        self.proxy.add_rule(type="truncate", count=1)
        conn, r = self.raw()
        self.assertEqual(r.status, 200)
        declared = int(r.getheader("Content-Length"))
        with self.assertRaises(http.client.IncompleteRead) as cm:
            r.read()
        self.assertLess(len(cm.exception.partial), declared)
        conn.close()
        # truncating moto's real answer; boto3 sees a broken response
        self.proxy.add_rule(type="truncate", forward=True, count=1)
        with self.assertRaises((botocore.exceptions.IncompleteReadError,
                                botocore.exceptions.ResponseStreamingError,
                                botocore.exceptions.ConnectionClosedError,
                                botocore.exceptions.HTTPClientError)):
            self.asg.describe_auto_scaling_groups()
        self.assertEqual([e["fault"] for e in self.proxy.log()], ["truncate", "truncate"])

    def test_big_body_100_mib_streamed(self):
        self.proxy.add_rule(type="big", mib=100, count=1)
        conn, r = self.raw()
        self.assertEqual(r.status, 200)
        self.assertEqual(int(r.getheader("Content-Length")), 100 << 20)
        total, first = 0, b""
        while True:
            b = r.read(1 << 20)
            if not b:
                break
            if not first:
                first = b[:64]
            total += len(b)
        conn.close()
        self.assertEqual(total, 100 << 20)
        self.assertTrue(first.startswith(b"<?xml"))
        # the proxy never held it: its peak resident size stays far below 100 MiB
        with open(f"/proc/{self.proxy.pid}/status") as f:
            hwm = int(next(l for l in f if l.startswith("VmHWM:")).split()[1])  # kB
        self.assertLess(hwm, 60 * 1024, f"proxy peak RSS {hwm} kB")
        # the chunked variant
        self.proxy.add_rule(type="big", mib=2, chunked=True, count=1)
        conn, r = self.raw()
        self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
        self.assertEqual(len(r.read()), 2 << 20)
        conn.close()

    def test_slow_body_one_byte_per_interval(self):
        self.proxy.add_rule(type="slow", interval_ms=200, count=1)
        t0 = time.monotonic()
        conn, r = self.raw()
        self.assertEqual(r.status, 200)
        self.assertLess(time.monotonic() - t0, 1.0)  # headers come at once
        got = r.read(4)
        self.assertEqual(got, b"<?xm")
        self.assertGreaterEqual(time.monotonic() - t0, 0.6)  # 3 intervals between 4 bytes
        conn.sock.settimeout(0.05)  # a client that gives up
        with self.assertRaises((socket.timeout, TimeoutError)):
            r.read(10)
        conn.close()
        bed.wait_until(lambda: self.proxy.log()[0]["ms"] is not None, timeout=5,
                       what="the proxy noticing the client left")
        self.assertEqual(self.proxy.log()[0]["fault"], "slow")
        # default interval is one second a byte
        self.proxy.add_rule(type="slow", count=1)
        conn, r = self.raw()
        t0 = time.monotonic()
        r.read(2)
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        conn.close()

    def test_hang_until_client_gives_up(self):
        self.proxy.add_rule(type="hang", count=1)
        with self.assertRaises(botocore.exceptions.ReadTimeoutError):
            boto3.client("autoscaling", endpoint_url=self.proxy.url, **CREDS,
                         config=botocore.config.Config(retries={"total_max_attempts": 1},
                                                       read_timeout=0.5)
                         ).describe_auto_scaling_groups()
        # the proxy releases the connection once the client has closed it
        bed.wait_until(lambda: self.proxy.log()[0]["ms"] is not None, timeout=5,
                       what="hang released")
        e = self.proxy.log()[0]
        self.assertEqual((e["status"], e["fault"]), (None, "hang"))
        self.assertGreaterEqual(e["ms"], 400)  # client read_timeout 0.5 s, clocks differ a bit

    def test_redirect(self):
        self.proxy.add_rule(type="redirect", location="http://127.0.0.2:1/elsewhere", count=1)
        conn, r = self.raw()
        self.assertEqual(r.status, 302)
        self.assertEqual(r.getheader("Location"), "http://127.0.0.2:1/elsewhere")
        self.assertEqual(r.read(), b"")
        conn.close()
        self.proxy.add_rule(type="redirect", status=307, count=1)
        conn, r = self.raw()
        self.assertEqual(r.status, 307)
        conn.close()

    # ---- kill --------------------------------------------------------------------
    def sleeper(self):
        p = subprocess.Popen(["sleep", "60"])
        self.addCleanup(lambda: (p.poll() is None and p.kill(), p.wait()))
        return p

    def test_kill_after_second_mutating_call_before_relay(self):
        child = self.sleeper()
        self.proxy.add_rule(type="kill", pid=child.pid, nth=2)
        self.new_lc()                               # mutating call 1
        self.asg.describe_launch_configurations()   # not counted
        self.assertIsNone(child.poll())
        name = f"lc-{self.n + 1}"
        with self.assertRaises(botocore.exceptions.ConnectionClosedError):
            self.new_lc()                           # mutating call 2: forwarded, answer withheld
        bed.wait_until(lambda: child.poll() is not None, timeout=5, what="child killed")
        self.assertEqual(child.returncode, -9)
        self.assertTrue(self.lc_exists(name), "the call reached moto before the kill")
        self.new_lc()  # fires once only
        self.assertEqual([e["fault"] for e in self.proxy.log()], [None, None, "kill", None])

    def test_kill_after_relay(self):
        child = self.sleeper()
        self.proxy.add_rule(type="kill", pid=child.pid, nth=1, when="after_relay",
                            action="CreateLaunchConfiguration")
        self.asg.describe_auto_scaling_groups()
        self.new_lc()   # the answer arrives
        bed.wait_until(lambda: child.poll() is not None, timeout=5, what="child killed")
        self.assertEqual(child.returncode, -9)

    def test_kill_not_counting_faulted_calls(self):
        child = self.sleeper()
        self.proxy.add_rule(type="error", action="CreateLaunchConfiguration", count=1)
        self.proxy.add_rule(type="kill", pid=child.pid, nth=1, when="after_relay")
        with self.assertRaises(botocore.exceptions.ClientError):
            self.new_lc()  # answered by the error rule: never forwarded, not counted
        self.assertIsNone(child.poll())
        self.new_lc()
        bed.wait_until(lambda: child.poll() is not None, timeout=5, what="child killed")

    # ---- control API ---------------------------------------------------------------
    def test_control_api(self):
        url = self.proxy.url
        st, body, _ = bed.http_get(url + "/__fault/rules", method="POST",
                                   data=json.dumps([{"type": "latency", "ms": 1},
                                                    {"type": "error", "count": 1}]).encode())
        self.assertEqual(st, 200)
        ids = json.loads(body)["ids"]
        self.assertEqual(len(ids), 2)
        st, body, _ = bed.http_get(url + "/__fault/rules")
        self.assertEqual([r["id"] for r in json.loads(body)], ids)
        st, _, _ = bed.http_get(url + f"/__fault/rules/{ids[0]}", method="DELETE")
        self.assertEqual(st, 200)
        self.assertEqual([r["id"] for r in self.proxy.rules()], ids[1:])
        st, _, _ = bed.http_get(url + "/__fault/rules", method="DELETE")
        self.assertEqual((st, self.proxy.rules()), (200, []))
        st, body, _ = bed.http_get(url + "/__fault/rules", method="POST",
                                   data=b'{"type": "explode"}')
        self.assertEqual(st, 400)
        self.assertIn("explode", json.loads(body)["error"])
        st, _, _ = bed.http_get(url + "/__fault/nothing")
        self.assertEqual(st, 404)
        self.assertEqual(self.proxy.calls(), {})  # control calls are not counted


if __name__ == "__main__":
    unittest.main()

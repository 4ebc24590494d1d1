"""Misbehaving peers against the real programs: AWS through the fault proxy in front
of moto (`asgswap status`), IMDS through the fault proxy in front of the IMDSv2 emulator
(`asgswap-agent --once` for the instance id, `asgswap status` for role credentials).
Answers truncated, not XML or JSON, 100 MiB long, one byte a second, never; redirects to
another host; XML with entity expansion and external entities in UTF-8, UTF-16 and UTF-7.

Each must end within a bound derived from the program's own timeouts (common/aws.h
AWS_ATTEMPT_TIMEOUT_MS with AWS_MAX_ATTEMPTS=1, common/imds.h and imds.c for IMDS), with a
capped peak RSS (tests/tools/maxrss), one clear error line on stderr, a non-zero exit
code, and neither a signal nor a sanitizer report. The cases of a class run side by side
(each with its own proxy), so the slow ones cost their timeout once, not once each."""
import base64
import concurrent.futures
import os
import re
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import bed
from faultproxy import FaultProxy
from imds import Imds
from motobed import Moto

IMAGE = "registry.example/web"
A = "DescribeAutoScalingGroups"
XMLNS = "https://autoscaling.amazonaws.com/doc/2011-01-01/"
MIB = 1 << 20

# common/aws.h, common/imds.h, common/imds.c: the programs' own deadlines.
AWS_ATTEMPT_TIMEOUT_S = 30.0
IMDS_ATTEMPTS, IMDS_TIMEOUT_S = 3, 2.0
SLACK_S = 5.0  # process start, loopback, a loaded 2-core machine


def rss_cap_mib():
    """Peak RSS allowed: a 100 MiB answer must never be held. The plain programs peak near
    15 MiB (30 MiB with a 16 MiB response cap filled); ASan's shadow and quarantine add a
    fixed share."""
    return 200 if bed.sanitized() else 64


class Recorder:
    """An HTTP server on loopback that only records who came: the "other host" of the
    redirects and external entities, which nobody may ever contact."""

    def __init__(self):
        hits = self.hits = []

        class H(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            do_POST = do_PUT = do_GET
        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def asg_doc(dtd="", name="web-blue", enc="UTF-8"):
    return (f'<?xml version="1.0" encoding="{enc}"?>\n{dtd}<{A}Response xmlns="{XMLNS}">'
            f"<{A}Result><AutoScalingGroups><member><AutoScalingGroupName>{name}"
            f"</AutoScalingGroupName></member></AutoScalingGroups></{A}Result>"
            f"<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></{A}Response>")


def encoded(text, codec):
    """The document in another encoding; UTF-7 keeps the XML declaration in ASCII."""
    if codec == "utf-7":
        decl, rest = text.split("\n", 1)
        return decl.encode() + b"\n" + rest.encode("utf-7")
    return text.encode(codec)


def respond(data, ctype="text/xml", status=200):
    return {"type": "respond", "status": status, "content_type": ctype,
            "body_b64": base64.b64encode(data).decode()}


def lol_dtd(levels=9):
    ents = "".join(f'<!ENTITY l{i} "' + f"&l{i - 1};" * 10 + '">' for i in range(1, levels + 1))
    return f'<!DOCTYPE r [<!ENTITY l0 "lol">{ents}]>', f"&l{levels};"


def quadratic_dtd():
    return f'<!DOCTYPE r [<!ENTITY a "{"a" * 50000}">]>', "&a;" * 50000


class HostileCase(unittest.TestCase):
    def assertContained(self, r, code, program, reason=None, bound_s=None, floor_s=None):
        """The common verdict: exit code, no signal, no sanitizer, one clear error line,
        time and memory bounds."""
        self.assertGreaterEqual(r.returncode, 0, f"killed by signal {-r.returncode}: {r!r}")
        if isinstance(code, tuple):
            self.assertIn(r.returncode, code, repr(r))
        else:
            self.assertEqual(r.returncode, code, repr(r))
        for marker in ("Sanitizer", "runtime error:", "LeakSanitizer", "Segmentation"):
            self.assertNotIn(marker, r.stderr)
        errors = [line for line in r.stderr.splitlines() if line.startswith(f"{program}: error:")]
        self.assertEqual(len(errors), 1, r.stderr)
        self.assertLess(len(errors[0]), 400, errors[0])
        self.assertIsNone(re.search(r"[\x00-\x08\x0b-\x1f\x7f]", r.stderr), repr(r.stderr))
        if reason:
            self.assertRegex(errors[0], reason)
        if bed.WRAPPED:
            return  # under valgrind, time and memory are the tool's, not ours
        if bound_s is not None:
            self.assertLess(r.elapsed, bound_s, repr(r))
        if floor_s is not None:
            self.assertGreater(r.elapsed, floor_s, f"ended before its timeout: {r!r}")
        self.assertLess(r.maxrss_mib, rss_cap_mib(), repr(r))


def side_by_side(jobs):
    """{name: callable} -> {name: result}, all at once."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(jobs)) as ex:
        futures = {name: ex.submit(fn) for name, fn in jobs.items()}
        return {name: f.result() for name, f in futures.items()}


class HostileAwsTest(HostileCase):
    """`asgswap status` with AWS answering through the fault proxy, one attempt per call
    (AWS_MAX_ATTEMPTS=1, the documented knob): a peer that never answers costs one
    AWS_ATTEMPT_TIMEOUT_MS, not three plus backoff."""

    @classmethod
    def setUpClass(cls):
        cls.moto = Moto()
        cls.addClassCleanup(cls.moto.stop)
        cls.other = Recorder()
        cls.addClassCleanup(cls.other.stop)

    def run_cases(self, cases):
        """cases: {name: rule(s)} -> {name: (Measured, proxy calls)}."""
        proxies = {}
        try:
            for name, rule in cases.items():
                proxies[name] = FaultProxy(self.moto.url, rules=rule)

            def one(name):
                r = bed.run_measured("asgswap", "--verbose", "status", IMAGE, timeout=120,
                                     env=bed.base_env(AWS_ENDPOINT_URL=proxies[name].url,
                                                      AWS_MAX_ATTEMPTS="1"))
                return r, proxies[name].calls()
            return side_by_side({n: (lambda n=n: one(n)) for n in cases})
        finally:
            for p in proxies.values():
                p.stop()

    def test_broken_answers(self):
        other = self.other.url
        cases = {
            "truncated": {"type": "truncate"},
            "truncated_forwarded": {"type": "truncate", "forward": True, "bytes": 100},
            "not_xml": respond(b"this is <<< not & xml at all", "text/plain"),
            "json": respond(b'{"AutoScalingGroups": []}', "application/json"),
            "html_200": respond(b"<html><body><h1>Welcome to nginx!</h1></body></html>",
                                "text/html"),
            "empty_200": respond(b""),
            "binary": respond(bytes(range(256)) * 64, "application/octet-stream"),
            "big_100mib": {"type": "big", "mib": 100},
            "big_100mib_chunked": {"type": "big", "mib": 100, "chunked": True},
            "slow_1_byte_a_second": {"type": "slow", "interval_ms": 1000},
            "never_answers": {"type": "hang", "max_s": 120},
            "redirect_302": {"type": "redirect", "location": other + "/stolen"},
            "redirect_307": {"type": "redirect", "status": 307, "location": other + "/307"},
            "redirect_301_https": {"type": "redirect", "status": 301,
                                   "location": "https://169.254.169.254/latest/"},
        }
        results = self.run_cases(cases)
        timeout_bound = AWS_ATTEMPT_TIMEOUT_S + SLACK_S
        for name, (r, calls) in sorted(results.items()):
            with self.subTest(case=name, elapsed=round(r.elapsed, 2), rss_mib=round(r.maxrss_mib, 1)):
                print(f"\n    {name}: rc {r.returncode}, {r.elapsed:.2f} s, {r.maxrss_mib:.1f} MiB",
                      end="")
                if name in ("slow_1_byte_a_second", "never_answers"):
                    # 4: an AWS call failed (5 is the command's own wait running out).
                    self.assertContained(r, 4, "asgswap", r"timed out", timeout_bound,
                                         floor_s=AWS_ATTEMPT_TIMEOUT_S - 1)
                elif name.startswith("big"):
                    self.assertContained(r, 4, "asgswap", r"response larger than 16777216 "
                                         r"bytes", SLACK_S)
                elif name.startswith("truncated"):
                    self.assertContained(r, 4, "asgswap", r"Connection reset", SLACK_S)
                elif name.startswith("redirect"):
                    self.assertContained(r, 4, "asgswap", r"HTTP 30[127]", SLACK_S)
                else:
                    self.assertContained(r, 4, "asgswap", r"not XML", SLACK_S)
                # One call, never followed elsewhere, never retried with AWS_MAX_ATTEMPTS=1.
                self.assertEqual(calls, {A: 1})
        self.assertEqual(self.other.hits, [], "a redirect was followed")

    def test_entities_and_dtds(self):
        other = self.other.url
        lol, lol_ref = lol_dtd()
        quad, quad_ref = quadratic_dtd()
        dtds = {
            "billion_laughs": (lol, lol_ref),
            "quadratic_blowup": (quad, quad_ref),
            "xxe_file": ('<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "&x;"),
            "xxe_http": (f'<!DOCTYPE r [<!ENTITY x SYSTEM "{other}/xxe">]>', "&x;"),
            "parameter_entity": (f'<!DOCTYPE r [<!ENTITY % p SYSTEM "{other}/pe"> %p;]>',
                                 "web"),
            "external_dtd": (f'<!DOCTYPE r SYSTEM "{other}/dtd">', "web"),
            "recursive": ('<!DOCTYPE r [<!ENTITY a "&b;"><!ENTITY b "&a;">]>', "&a;"),
        }
        cases = {}
        for name, (dtd, ref) in dtds.items():
            for enc, codec in (("UTF-8", "utf-8"), ("UTF-16", "utf-16"), ("UTF-7", "utf-7")):
                if name == "quadratic_blowup" and enc != "UTF-8":
                    continue  # 2.5 GB expanded either way; one is enough
                cases[f"{name}_{enc}"] = respond(encoded(asg_doc(dtd, ref, enc), codec))
        results = self.run_cases(cases)
        for name, (r, calls) in sorted(results.items()):
            with self.subTest(case=name):
                print(f"\n    {name}: rc {r.returncode}, {r.elapsed:.2f} s, {r.maxrss_mib:.1f} MiB",
                      end="")
                self.assertContained(r, 4, "asgswap", r"not XML", SLACK_S)
                self.assertNotIn("root:", r.stdout + r.stderr)
                self.assertEqual(calls, {A: 1})
        self.assertEqual(self.other.hits, [], "an external entity or DTD was fetched")

    def test_utf16_answer_is_refused(self):
        # AWS answers UTF-8 only. A document in another encoding would hide "<!DOCTYPE"
        # from the up-front refusal in common/xml.c, so it is not parsed at all.
        with FaultProxy(self.moto.url, rules=respond(
                encoded(asg_doc(enc="UTF-16"), "utf-16"))) as proxy:
            r = bed.run_measured("asgswap", "status", IMAGE,
                                 env=bed.base_env(AWS_ENDPOINT_URL=proxy.url))
        self.assertContained(r, 4, "asgswap", r"not XML", SLACK_S)


class HostileImdsTest(HostileCase):
    """IMDS through the fault proxy (rules matched by path, IMDS has no Action)."""

    @classmethod
    def setUpClass(cls):
        cls.moto = Moto()
        cls.addClassCleanup(cls.moto.stop)
        cls.imds = Imds(role="app-role")
        cls.addClassCleanup(cls.imds.stop)
        cls.other = Recorder()
        cls.addClassCleanup(cls.other.stop)

    def run_cases(self, cases, program):
        proxies = {}
        try:
            for name, rule in cases.items():
                proxies[name] = FaultProxy(self.imds.url, rules=rule)

            def one(name):
                env = bed.base_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=proxies[name].url,
                                   AWS_EC2_METADATA_DISABLED=None,
                                   AWS_ENDPOINT_URL=self.moto.url, AWS_MAX_ATTEMPTS="1")
                if program == "asgswap":
                    env = dict(env)
                    env.pop("AWS_ACCESS_KEY_ID")
                    env.pop("AWS_SECRET_ACCESS_KEY")
                    return bed.run_measured("asgswap", "status", IMAGE, env=env, timeout=60)
                return bed.run_measured("asgswap-agent", "--config", "/dev/null", "--once",
                                        env=env, timeout=60)
            return side_by_side({n: (lambda n=n: one(n)) for n in cases})
        finally:
            for p in proxies.values():
                p.stop()

    def imds_cases(self, path):
        other = self.other.url
        return {
            "truncated": {"type": "truncate", "forward": True, "path": path},
            "big_100mib": {"type": "big", "mib": 100, "path": path},
            "big_100mib_chunked": {"type": "big", "mib": 100, "chunked": True, "path": path},
            "slow_1_byte_a_second": {"type": "slow", "forward": True, "path": path},
            "never_answers": {"type": "hang", "max_s": 60, "path": path},
            "redirect": {"type": "redirect", "location": other + "/imds", "path": path},
            "token_never_answers": {"type": "hang", "max_s": 60, "path": "/latest/api/token"},
            "token_with_newline": respond(b"AQAE\r\nX-Injected: 1", "text/plain") | {
                "path": "/latest/api/token"},
        }

    def test_agent_instance_id(self):
        # One request may take IMDS_TIMEOUT_S, IMDS_ATTEMPTS times; the agent asks for a
        # token and then the instance id before it gives up.
        bound = 2 * IMDS_ATTEMPTS * IMDS_TIMEOUT_S + SLACK_S
        cases = self.imds_cases("/latest/meta-data/instance-id")
        cases["binary"] = respond(bytes(range(256)) * 4, "text/plain") | {
            "path": "/latest/meta-data/instance-id"}
        results = self.run_cases(cases, "asgswap-agent")
        for name, r in sorted(results.items()):
            with self.subTest(case=name):
                print(f"\n    {name}: rc {r.returncode}, {r.elapsed:.2f} s, {r.maxrss_mib:.1f} MiB",
                      end="")
                if name == "binary":
                    self.assertContained(r, 1, "asgswap-agent", r"not one", bound)
                    continue
                self.assertContained(r, 1, "asgswap-agent", r"IMDS", bound)
                if name in ("slow_1_byte_a_second", "never_answers", "token_never_answers"):
                    self.assertRegex(r.stderr, "timed out")
                    self.assertGreater(r.elapsed, IMDS_ATTEMPTS * IMDS_TIMEOUT_S - 1)
        self.assertEqual(self.other.hits, [])

    def test_controller_role_credentials(self):
        path = "/latest/meta-data/iam/security-credentials/app-role"
        bound = 3 * IMDS_ATTEMPTS * IMDS_TIMEOUT_S + SLACK_S
        cases = self.imds_cases(path)
        creds = ('{"Code": "Success", "AccessKeyId": "ASIAX", "SecretAccessKey": "s", '
                 '"Token": "t", "Expiration": "2099-01-01T00:00:00Z"}')
        for name, body in {
            "not_json": b"<?xml version='1.0'?><Credentials/>",
            "truncated_json": creds[:60].encode(),
            "json_wrong_types": b'{"Code": "Success", "AccessKeyId": 1, "SecretAccessKey": [],'
                                b' "Token": {}, "Expiration": false}',
            "json_nested_deep": b"[" * 200000 + b"]" * 200000,
            "json_code_failure": b'{"Code": "AssumeRoleUnauthorizedAccess", "Message": "no"}',
            "json_bad_expiration": creds.replace("2099-01-01T00:00:00Z", "soon").encode(),
            "json_crlf_in_token": creds.replace('"t"', '"t\\r\\nX-Injected: 1"').encode(),
        }.items():
            cases[name] = respond(body, "text/plain") | {"path": path}
        results = self.run_cases(cases, "asgswap")
        for name, r in sorted(results.items()):
            with self.subTest(case=name):
                print(f"\n    {name}: rc {r.returncode}, {r.elapsed:.2f} s, {r.maxrss_mib:.1f} MiB",
                      end="")
                # 4: an AWS call failed (5 is the command's own wait running out).
                self.assertContained(r, 4, "asgswap",
                                     r"credentials|instance metadata|role", bound)
                self.assertNotIn("IQoJb3JpZ2luX2VjE", r.stdout + r.stderr)
        self.assertEqual(self.other.hits, [])


if __name__ == "__main__":
    unittest.main()

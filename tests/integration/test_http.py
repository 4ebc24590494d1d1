"""common/http.c against a real HTTP peer on loopback (through tests/tools/httpcli)."""
import json
import os
import socket
import socketserver
import ssl
import subprocess
import tempfile
import threading
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import bed


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", ctype="text/plain", extra=()):
        bed.send_body(self, status, body, ctype, extra)

    def handle_any(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        self.server.seen.append({"method": self.command, "path": self.path,
                                 "headers": dict(self.headers), "body": body.decode()})
        if u.path == "/ok":
            self.reply(200, b"hello", extra=[("X-Test", "a"), ("x-test", "b")])
        elif u.path == "/big":
            self.reply(200, b"x" * int(q["n"]))
        elif u.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(int(q["chunks"])):
                self.wfile.write(b"400\r\n" + b"y" * 1024 + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif u.path == "/slow":
            self.server.release.wait(10)
            self.reply(200, b"late")
        elif u.path == "/barrier":
            try:
                self.server.barrier.wait(5)
                self.reply(200, b"together")
            except threading.BrokenBarrierError:
                self.reply(500, b"not concurrent")
        elif u.path == "/lines":
            data = b'{"status":"a"}\n{"status":"b"}\r\n\n{"status":"c"}'
            self.reply(200, data)
        elif u.path == "/redirect":
            self.reply(302, b"", extra=[("Location", "http://127.0.0.2:1/elsewhere")])
        elif u.path == "/truncated":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"short")
            self.close_connection = True
        else:
            self.reply(404, b"no")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any


class Quiet:
    def handle_error(self, request, client_address):
        pass  # clients that give up early are what several tests are about


class CountingServer(Quiet, ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.connections = 0
        self.seen = []
        self.release = threading.Event()
        self.barrier = threading.Barrier(4)

    def get_request(self):
        conn = super().get_request()
        self.connections += 1
        return conn


class UnixServer(Quiet, socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path):
        super().__init__(path, Handler)
        self.seen = []
        self.release = threading.Event()
        self.barrier = threading.Barrier(1)

    def get_request(self):
        conn, _ = super().get_request()
        return conn, ("unix", 0)


def serve(server):
    t = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    t.start()
    return server


def httpcli(*args, env=None, timeout=30):
    return bed.run("httpcli", *args, env=env if env is not None else bed.base_env(),
                   timeout=timeout)


class HttpTest(unittest.TestCase):
    def setUp(self):
        self.srv = serve(CountingServer(("127.0.0.1", 0), Handler))
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}"

    def tearDown(self):
        self.srv.release.set()
        self.srv.shutdown()
        self.srv.server_close()

    def test_get_status_body_and_headers(self):
        p = httpcli("--body", self.url + "/ok")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("status=200 len=5", p.stdout)
        self.assertIn("content-type=text/plain", p.stdout)
        self.assertTrue(p.stdout.endswith("hello"))

    def test_post_sends_body_and_headers_without_expect(self):
        body = "Action=DescribeAutoScalingGroups&" + "x" * 4000
        p = httpcli("-X", "POST", "-H", "Content-Type: application/x-www-form-urlencoded",
                    "-d", body, self.url + "/ok")
        self.assertEqual(p.returncode, 0, p.stderr + p.stdout)
        seen = self.srv.seen[-1]
        self.assertEqual(seen["method"], "POST")
        self.assertEqual(seen["body"], body)
        self.assertEqual(seen["headers"]["Content-Type"], "application/x-www-form-urlencoded")
        self.assertNotIn("Expect", seen["headers"])

    def test_put_without_body(self):
        p = httpcli("-X", "PUT", "-H", "X-aws-ec2-metadata-token-ttl-seconds: 60", self.url + "/ok")
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertEqual(self.srv.seen[-1]["method"], "PUT")
        self.assertEqual(self.srv.seen[-1]["headers"]["Content-Length"], "0")

    def test_response_cap_with_length(self):
        ok = httpcli("--max", "1000", self.url + "/big?n=1000")
        self.assertEqual(ok.returncode, 0, ok.stdout)
        p = httpcli("--max", "1000", self.url + "/big?n=1001")
        self.assertEqual(p.returncode, 1)
        self.assertIn("error: Argument list too long: response larger than 1000 bytes", p.stdout)

    def test_response_cap_chunked(self):
        p = httpcli("--max", "65536", self.url + "/chunked?chunks=200")
        self.assertEqual(p.returncode, 1)
        self.assertIn("response larger than 65536 bytes", p.stdout)

    def test_total_timeout(self):
        p = httpcli("--timeout", "300", self.url + "/slow")
        self.assertEqual(p.returncode, 1)
        self.assertIn("error: Connection timed out", p.stdout)

    def test_connection_reused(self):
        p = httpcli("--repeat", "5", self.url + "/ok")
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertEqual(p.stdout.count("status=200"), 5)
        self.assertEqual(self.srv.connections, 1)

    def test_many_run_concurrently(self):
        # The server answers only once four requests wait together at its barrier.
        p = httpcli("--many", *[self.url + "/barrier"] * 4)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertEqual(p.stdout.count("status=200"), 4)

    def test_many_reports_each_failure(self):
        dead = f"http://127.0.0.1:{bed.free_port()}/"
        p = httpcli("--many", self.url + "/ok", dead)
        self.assertEqual(p.returncode, 1)
        self.assertIn("0 status=200 len=5 result=0", p.stdout)
        self.assertIn("1 status=0 len=0 result=-111", p.stdout)

    def test_redirect_not_followed(self):
        p = httpcli(self.url + "/redirect")
        self.assertEqual(p.returncode, 0)
        self.assertIn("status=302", p.stdout)
        self.assertEqual(len(self.srv.seen), 1)

    def test_streamed_lines(self):
        p = httpcli("--lines", self.url + "/lines")
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertIn('line: {"status":"a"}\nline: {"status":"b"}\nline: \nline: {"status":"c"}\n',
                      p.stdout)

    def test_streamed_line_cap(self):
        p = httpcli("--lines", "--max", "100", self.url + "/big?n=1000")
        self.assertEqual(p.returncode, 1)
        self.assertIn("response larger than 100 bytes", p.stdout)

    def test_truncated_response(self):
        p = httpcli(self.url + "/truncated")
        self.assertEqual(p.returncode, 1)
        self.assertIn("error: Connection reset by peer", p.stdout)

    def test_connection_refused(self):
        p = httpcli(f"http://127.0.0.1:{bed.free_port()}/")
        self.assertEqual(p.returncode, 1)
        self.assertIn("error: Connection refused", p.stdout)

    def test_only_http_and_https(self):
        p = httpcli("file:///etc/passwd")
        self.assertEqual(p.returncode, 1)
        self.assertIn("error: Invalid argument", p.stdout)

    def test_proxy_from_environment(self):
        env = bed.base_env(http_proxy=self.url)
        p = httpcli("http://service.invalid/ok", env=env)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertEqual(self.srv.seen[-1]["path"], "http://service.invalid/ok")
        p = httpcli("--no-proxy", "http://127.0.0.1:1/ok", env=env)
        self.assertIn("error: Connection refused", p.stdout)


class UnixSocketTest(unittest.TestCase):
    def test_unix_socket(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "docker.sock")
            srv = serve(UnixServer(path))
            try:
                p = httpcli("--unix-socket", path, "http://localhost/ok")
                self.assertEqual(p.returncode, 0, p.stdout)
                self.assertIn("status=200 len=5", p.stdout)
                self.assertEqual(srv.seen[-1]["path"], "/ok")
            finally:
                srv.shutdown()
                srv.server_close()


class TlsTest(unittest.TestCase):
    """TLS verification is always on; AWS_CA_BUNDLE names the CA to trust."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.cert = os.path.join(cls.dir.name, "cert.pem")
        key = os.path.join(cls.dir.name, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cls.cert], check=True, capture_output=True)
        cls.srv = CountingServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cls.cert, key)
        cls.srv.socket = ctx.wrap_socket(cls.srv.socket, server_side=True)
        serve(cls.srv)
        cls.url = f"https://127.0.0.1:{cls.srv.server_address[1]}/ok"

    @classmethod
    def tearDownClass(cls):
        cls.srv.shutdown()
        cls.srv.server_close()
        cls.dir.cleanup()

    def test_untrusted_certificate_refused(self):
        p = httpcli(self.url)
        self.assertEqual(p.returncode, 1)
        self.assertIn("error: Protocol error", p.stdout)
        self.assertIn("certificate", p.stdout)

    def test_aws_ca_bundle_trusted(self):
        p = httpcli(self.url, env=bed.base_env(AWS_CA_BUNDLE=self.cert))
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertIn("status=200", p.stdout)


if __name__ == "__main__":
    unittest.main()

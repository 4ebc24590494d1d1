"""common/log.c: one line per event on stderr, or structured journal entries when systemd
connected stderr to the journal (JOURNAL_STREAM names that stream)."""
import os
import socket
import tempfile
import unittest

import bed
from motobed import Moto

JOURNAL_SOCKET = "/run/systemd/journal/socket"


def parse_native(datagram):
    """The journal's native protocol: KEY=value lines, or KEY\\n<le64 size><value>\\n."""
    fields, data = {}, datagram
    while data:
        nl = data.index(b"\n")
        line = data[:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            data = data[nl + 1:]
        else:
            size = int.from_bytes(data[nl + 1:nl + 9], "little")
            k, v = line, data[nl + 9:nl + 9 + size]
            data = data[nl + 10 + size:]
        fields.setdefault(k.decode(), []).append(v.decode(errors="replace"))
    return fields


@unittest.skipIf(os.path.exists(JOURNAL_SOCKET), "a real journald owns the socket")
@unittest.skipIf(os.geteuid() != 0, "needs root to create the journal socket")
class JournalTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = Moto()
        cls.addClassCleanup(cls.moto.stop)

    def setUp(self):
        os.makedirs(os.path.dirname(JOURNAL_SOCKET), exist_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(JOURNAL_SOCKET)
        self.sock.settimeout(5)
        self.addCleanup(os.unlink, JOURNAL_SOCKET)
        self.addCleanup(self.sock.close)

    def run_logged(self, *args, journal=True, **env):
        with tempfile.TemporaryFile() as err:
            st = os.fstat(err.fileno())
            if journal:
                env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
            wrap = os.environ.get("ASGSWAP_WRAP", "").split()
            import subprocess
            p = subprocess.run(wrap + [bed.binary("awscall"), *args], stdout=subprocess.PIPE,
                               stderr=err, env=bed.base_env(AWS_ENDPOINT_URL=self.moto.url,
                                                            **env), timeout=60)
            err.seek(0)
            return p.returncode, err.read().decode()

    def entries(self):
        out = []
        self.sock.settimeout(0.5)
        try:
            while True:
                out.append(parse_native(self.sock.recv(65536)))
        except socket.timeout:
            pass
        return out

    def test_structured_entries_when_stderr_is_the_journal(self):
        rc, err = self.run_logged("--verbose", "autoscaling", "SetDesiredCapacity",
                                  "AutoScalingGroupName=nope", "DesiredCapacity=1")
        self.assertEqual(rc, 4)
        self.assertEqual(err, "")  # everything went to the journal
        entries = self.entries()
        calls = [e for e in entries if "AWS_ACTION" in e]
        self.assertEqual(len(calls), 1, entries)
        call = calls[0]
        self.assertEqual(call["AWS_SERVICE"], ["autoscaling"])
        self.assertEqual(call["AWS_ACTION"], ["SetDesiredCapacity"])
        self.assertEqual(call["AWS_STATUS"], ["400"])
        self.assertEqual(call["AWS_ERROR_CODE"], ["ValidationError"])
        self.assertEqual(call["PRIORITY"], ["7"])
        self.assertEqual(call["SYSLOG_IDENTIFIER"], ["awscall"])
        errors = [e for e in entries if e.get("PRIORITY") == ["3"]]
        self.assertEqual(len(errors), 1)
        self.assertIn("SetDesiredCapacity: ValidationError", errors[0]["MESSAGE"][0])
        self.assertIn("CODE_FILE", errors[0])
        for e in entries:
            self.assertNotIn("testbed-secret", repr(e))

    def test_stderr_when_journal_stream_is_another_stream(self):
        rc, err = self.run_logged("autoscaling", "DescribeAutoScalingGroups", journal=False,
                                  JOURNAL_STREAM="1:1")
        self.assertEqual(rc, 0, err)
        rc, err = self.run_logged("autoscaling", "SetDesiredCapacity",
                                  "AutoScalingGroupName=nope", "DesiredCapacity=1",
                                  journal=False, JOURNAL_STREAM="1:1")
        self.assertEqual(rc, 4)
        self.assertRegex(err, r"^awscall: error: SetDesiredCapacity: ValidationError: .*\n$")
        self.assertEqual(self.entries(), [])


if __name__ == "__main__":
    unittest.main()

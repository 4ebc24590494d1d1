"""The lock keeps AWS's time, not ours: its expiry is written, and another run's expiry
judged, on the clock of the AWS `Date` headers. The fault proxy shifts the Date header of
every answer by a day, so AWS's clock and the local clock of asgswap differ by a day; each
test here would fail if asgswap used its local clock."""
import email.utils
import subprocess
import time

import bed
from faultproxy import FaultProxy
from test_ctl_support import IMAGE, CtlCase

FAST = ("--poll", "0.05")
DAY = 86400
LOCK_TTL = 300  # ctl_lock.c's default (the tests' environment sets no ASGSWAP_LOCK_TTL)


class LockClockTest(CtlCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.proxy = FaultProxy(cls.moto.url)
        cls.addClassCleanup(cls.proxy.stop)

    def setUp(self):
        super().setUp()
        self.proxy.clear()

    def aws_clock_off_by(self, seconds):
        """Every answer through the proxy carries a Date `seconds` away from ours."""
        self.proxy.add_rule(type="header", date_offset_s=seconds)
        return self.env(AWS_ENDPOINT_URL=self.proxy.url)

    def set_lock(self, value):
        self.asg.create_or_update_tags(Tags=[{
            "ResourceId": "web-blue", "ResourceType": "auto-scaling-group",
            "Key": "asgswap:lock", "Value": value, "PropagateAtLaunch": False}])

    def test_proxy_shifts_the_date_header(self):
        """The premise of the other tests: the answers asgswap reads carry the shifted Date."""
        self.aws_clock_off_by(-DAY)
        _, _, headers = bed.http_get(self.proxy.url + "/?Action=DescribeAutoScalingGroups")
        date = headers.get("Date")
        self.assertIsNotNone(date, headers)
        shifted = email.utils.parsedate_to_datetime(date).timestamp()
        self.assertAlmostEqual(shifted, time.time() - DAY, delta=30)

    def expiry_written(self, offset):
        """Runs a deploy that waits on a launch hook and reads the expiry of its lock."""
        self.pair("web", live=2, lb="none", hook=True)
        env = self.aws_clock_off_by(offset)
        proc = subprocess.Popen([bed.binary("asgswap"), "deploy", IMAGE, "2.0", *FAST], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        self.addCleanup(proc.wait)
        bed.wait_until(lambda: self.states("web-green") == ["Pending:Wait"] * 2, timeout=20,
                       what="the new set waiting on its launch hook")
        # The lock is written before any change, so it is there by now.
        nonce, expiry, holder = self.tags("web-blue")["asgswap:lock"].split(":", 2)
        self.assertRegex(holder, rf"^\S+@\S+ {proc.pid} deploy$")
        written_at = time.time()
        self.complete_hooks("web-green")
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        self.assertNotIn("asgswap:lock", self.tags("web-blue"))
        self.assertEqual(self.status()["live"], "green")
        return int(expiry), written_at

    def test_lock_expiry_is_in_aws_time_when_aws_is_ahead(self):
        expiry, now = self.expiry_written(DAY)
        # AWS's now + TTL; our clock's now + TTL would be a day short.
        self.assertAlmostEqual(expiry, now + DAY + LOCK_TTL, delta=60)

    def test_lock_expiry_is_in_aws_time_when_aws_is_behind(self):
        expiry, now = self.expiry_written(-DAY)
        self.assertAlmostEqual(expiry, now - DAY + LOCK_TTL, delta=60)

    def test_lock_held_in_aws_time_is_respected(self):
        """Expired an hour ago by our clock, but AWS's clock is a day behind ours: the
        other run still holds it for 23 hours, and deploy must not take it over."""
        self.pair("web", live=1)
        held = f"0123456789abcdef:{int(time.time()) - 3600}:ci@runner-7 4242 deploy"
        self.set_lock(held)
        p = self.run_ctl("deploy", IMAGE, "2.0", *FAST, env=self.aws_clock_off_by(-DAY))
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertRegex(p.stderr, r"is locked by ci@runner-7 4242 deploy until "
                         r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")
        self.assertEqual(self.tags("web-blue")["asgswap:lock"], held)
        self.assertEqual(self.sizes("web-green"), (0, 4, 0))
        self.assertNotIn("docker:image:version", self.tags("web-green"))
        self.assertFalse([e for e in self.proxy.log() if not e["action"].startswith("Describe")])

    def test_lock_expired_in_aws_time_is_taken_over(self):
        """Held for another hour by our clock, but AWS's clock is a day ahead: it expired
        23 hours ago, and deploy takes it over."""
        self.pair("web", live=1)
        self.set_lock(f"0123456789abcdef:{int(time.time()) + 3600}")
        p = self.run_ctl("deploy", IMAGE, "2.0", *FAST, env=self.aws_clock_off_by(DAY))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("asgswap:lock", self.tags("web-blue"))
        self.assertEqual(self.status()["live"], "green")

    def test_standby_since_is_in_aws_time(self):
        """The time the old set went to Standby is written on AWS's clock too, so that
        status on any machine says how long it has been kept."""
        self.pair("web", live=1)
        env = self.aws_clock_off_by(DAY)
        p = self.run_ctl("deploy", IMAGE, "2.0", *FAST, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        since = int(self.tags("web-blue")["asgswap:standby-since"])
        self.assertAlmostEqual(since, time.time() + DAY, delta=60)
        p = self.run_ctl("status", IMAGE, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        # Seconds, not the day between the clocks (nor a negative age).
        self.assertRegex(p.stdout, r"\(standby for \d{1,2} s, billed\)")

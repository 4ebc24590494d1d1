"""A release does not fail because an observation during a wait was throttled past its
retries: the wait treats it as "not yet" and observes again at the next poll, until its own
deadline. The fault proxy throttles DescribeAutoScalingGroups; AWS state is checked with
boto3."""
from faultproxy import FaultProxy
from test_ctl_support import IMAGE, CtlCase

FAST = ("--poll", "0.05")
# Before the first wait a deploy reads the groups three times: the observation, and the
# lock's read and re-read.
BEFORE_WAIT = 3


class WaitObservationTest(CtlCase):
    def throttled_deploy(self, *extra, timeout="60"):
        self.pair("web", live=2, mn=1, mx=4)
        with FaultProxy(self.moto.url) as proxy:
            # Two observations in a row fail all of their 3 attempts.
            rule = proxy.throttle(action="DescribeAutoScalingGroups", skip=BEFORE_WAIT, count=6)
            p = self.run_ctl("deploy", IMAGE, "2.0", *FAST, "--timeout", timeout, *extra,
                             # the standard budget: 3 attempts an observation
                             env=self.env(AWS_ENDPOINT_URL=proxy.url, AWS_MAX_ATTEMPTS="3"))
            fired = next(r for r in proxy.rules() if r["id"] == rule)["fired"]
        return p, fired

    def test_throttled_observation_in_a_wait_is_not_yet(self):
        p, fired = self.throttled_deploy()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(fired, 6)
        self.assertNotIn("error", p.stderr)
        self.assertEqual(self.tags("web-green")["docker:image:version"], "2.0")
        self.assertEqual(self.states("web-green"), ["InService", "InService"])
        self.assertEqual(self.states("web-blue"), ["Standby", "Standby"])

    def test_failed_observation_is_shown_with_verbose(self):
        p, _ = self.throttled_deploy("--verbose")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("trying again at the next poll", p.stderr)
        self.assertIn("Throttling", p.stderr)

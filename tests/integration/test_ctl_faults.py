"""A release survives an API that throttles 30 % of the calls, answers 5 % with 500/503 and
resets 2 % of the connections after the call took effect: deploy, rollback, deploy, finalize
all succeed with the controller's default retry settings (adaptive mode, 10 attempts), and
the same faults break the release with botocore's standard mode and 3 attempts. The faults
come from the fault proxy with seeded randomness, so a failing seed reproduces the draws
(the calls' order still depends on timing); AWS state is checked with boto3 after each
command."""
import os
import sys

from faultproxy import FaultProxy
from test_ctl_support import IMAGE, CtlCase

FAST = ("--poll", "0.05")
THROTTLED, ERR500, ERR503, RESET = 0.30, 0.025, 0.025, 0.02
SEEDS = [int(s) for s in os.environ.get("ASGSWAP_FAULT_SEEDS", "1").split(",")]


def fault_rules(seed):
    """The mix as the proxy's rules. A call meets the first rule that fires, so each rule's
    probability is conditional on the ones before it not firing."""
    left, rules = 1.0, []
    for i, (share, rule) in enumerate([
            (THROTTLED, dict(type="error", status=400, code="Throttling",
                             message="Rate exceeded")),
            (ERR500, dict(type="error", status=500, code="InternalFailure",
                          message="internal error")),
            (ERR503, dict(type="error", status=503, code="ServiceUnavailable",
                          message="unavailable")),
            # The upstream applies the call, the answer is lost: a mutating call retried
            # after it must not do harm.
            (RESET, dict(type="drop", reset=True, forward=True))]):
        rules.append(dict(rule, probability=share / left, seed=seed * 100 + i))
        left -= share
    return rules


class FaultMixTest(CtlCase):
    def release(self, seed, **env):
        """Runs the four commands through the proxy; returns their exit codes ("bad state"
        for an exit 0 that left AWS otherwise than it should), their errors and the proxy's
        view (calls, faults fired). Stops at the first failure."""
        self.pair("web", live=2, mn=1, mx=4)
        codes, errors = [], []
        with FaultProxy(self.moto.url, seed=seed) as proxy:
            proxy.add_rule(fault_rules(seed))
            e = self.env(AWS_ENDPOINT_URL=proxy.url, **env)
            for args, check in ((("deploy", IMAGE, "2.0"), lambda: self.live("web-green", "2.0")),
                                (("rollback", IMAGE), self.rolled_back),
                                (("deploy", IMAGE, "3.0"), lambda: self.live("web-green", "3.0")),
                                (("finalize", IMAGE), self.finalized)):
                p = self.run_ctl(*args, *FAST, env=e, timeout=240)
                codes.append(p.returncode)
                if p.returncode != 0:
                    errors.append(f"{args[0]}: {p.stderr.strip()}")
                    break
                try:
                    check()
                except AssertionError as e:  # exit 0, but AWS is not as it should be
                    codes[-1] = "bad state"
                    errors.append(f"{args[0]}: {e}\n{p.stderr.strip()}")
                    break
            fired = sum(r["fired"] for r in proxy.rules())
            calls = sum(proxy.calls().values())
        print(f"seed {seed} {env or 'defaults'}: exit codes {codes}, {calls} calls, "
              f"{fired} faults", file=sys.stderr)
        return codes, errors, calls, fired

    # -- AWS state after each command (boto3, straight to moto) -------------------------
    def live(self, name, version):
        other = "web-blue" if name == "web-green" else "web-green"
        self.assertEqual(self.tags(name)["docker:image:version"], version)
        self.assertEqual(self.states(name), ["InService", "InService"])
        self.assertEqual(self.states(other), ["Standby", "Standby"])
        self.assertNotIn("asgswap:lock", self.tags("web-blue"))

    def rolled_back(self):
        self.assertEqual(self.states("web-blue"), ["InService", "InService"])
        self.assertEqual(self.sizes("web-blue"), (1, 4, 2))
        self.assertEqual(self.sizes("web-green")[0::2], (0, 0))
        self.assertEqual(self.tags("web-green")["asgswap:rolled-back"], "2.0")
        self.assertNotIn("asgswap:lock", self.tags("web-blue"))

    def finalized(self):
        self.assertEqual(self.describe("web-blue")["Instances"], [])
        self.assertEqual(self.sizes("web-blue")[2], 0)
        self.assertEqual(self.describe("web-blue")["SuspendedProcesses"], [])
        self.assertEqual(self.states("web-green"), ["InService", "InService"])
        for k in ("asgswap:saved", "asgswap:suspended", "asgswap:standby-since"):
            self.assertNotIn(k, self.tags("web-blue"))

    # -- tests ----------------------------------------------------------------------------
    def test_release_survives_the_fault_mix_with_defaults(self):
        for seed in SEEDS:
            with self.subTest(seed=seed):
                self.setUp()
                codes, errors, calls, fired = self.release(seed)
                self.assertEqual(codes, [0, 0, 0, 0], f"seed {seed}: {errors}")
                # The mix was really there: about 37 % of the calls met a fault.
                self.assertGreater(fired, calls * 0.2, (calls, fired))

    def test_standard_mode_with_3_attempts_does_not(self):
        failed = 0
        for seed in SEEDS:
            codes, _, _, _ = self.release(seed, AWS_RETRY_MODE="standard", AWS_MAX_ATTEMPTS="3")
            failed += codes != [0, 0, 0, 0]
            self.setUp()
        self.assertGreater(failed, 0)


class LostAnswerTest(CtlCase):
    """A mutating call that took effect but whose answer was lost is retried: the retry
    must not turn the release into a failure."""

    def lost(self, action, cmd, check, before=None):
        self.pair("web", live=2, mn=1, mx=4)
        if before:
            self.ok(*before, *FAST)
        with FaultProxy(self.moto.url) as proxy:
            rule = proxy.add_rule(type="drop", reset=True, forward=True, action=action,
                                  count=1)
            p = self.run_ctl(*cmd, *FAST, env=self.env(AWS_ENDPOINT_URL=proxy.url))
            fired = next(r for r in proxy.rules() if r["id"] == rule)["fired"]
            calls = proxy.calls()
        self.assertEqual(fired, 1, calls)
        self.assertEqual(p.returncode, 0, p.stderr)
        check()

    def test_enter_standby_answer_lost(self):
        self.lost("EnterStandby", ("deploy", IMAGE, "2.0"),
                  lambda: FaultMixTest.live(self, "web-green", "2.0"))

    def test_exit_standby_answer_lost(self):
        self.lost("ExitStandby", ("rollback", IMAGE), lambda: FaultMixTest.rolled_back(self),
                  before=("deploy", IMAGE, "2.0"))

    def test_lock_write_answer_lost(self):
        self.lost("CreateOrUpdateTags", ("deploy", IMAGE, "2.0"),
                  lambda: FaultMixTest.live(self, "web-green", "2.0"))

    def test_terminate_answer_lost(self):
        self.lost("TerminateInstanceInAutoScalingGroup", ("finalize", IMAGE),
                  lambda: FaultMixTest.finalized(self), before=("deploy", IMAGE, "2.0"))


if __name__ == "__main__":
    import unittest
    unittest.main()

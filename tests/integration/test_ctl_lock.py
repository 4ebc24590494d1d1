"""The lock as a timed protocol (read, write our nonce, settle, re-read): two deploys of one
service started 0-50 ms apart, each through its own fault proxy so that every process's
calls are counted apart, must end with exactly one making release calls; the other exits 3
having sent no mutating call but its own write of the lock tag (that write is the
protocol: a run can only learn it lost by writing and reading back, and the winner's
re-read after it is what makes the last writer the winner). Also: the refusal says who
holds the lock and until when, and `unlock` says what it removed and refuses an unexpired
lock without --force. AWS state is checked with boto3."""
import os
import shlex
import subprocess
import time

import bed
from faultproxy import FaultProxy, is_mutating
from test_ctl_support import IMAGE, CtlCase

FAST = ("--poll", "0.05")
LOCK = "asgswap:lock"


class LockRaceTest(CtlCase):
    def start(self, proxy, version, settle):
        wrap = shlex.split(os.environ.get("ASGSWAP_WRAP", ""))
        env = self.env(AWS_ENDPOINT_URL=proxy.url, ASGSWAP_LOCK_SETTLE=settle)
        proc = subprocess.Popen(wrap + [bed.binary("asgswap"), "deploy", IMAGE, version, *FAST],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        return proc

    def race(self, gap_ms, settle=None):
        """Deploys 2.0 and, gap_ms later, 3.0 of a fresh service; returns per run
        (returncode, stderr, mutating log entries, version) and the final green tags."""
        self.moto.reset()
        self.setUp()
        self.pair("web", live=2, mn=1, mx=4)
        runs = []
        with FaultProxy(self.moto.url) as pa, FaultProxy(self.moto.url) as pb:
            t0 = time.monotonic()
            a = self.start(pa, "2.0", settle)
            # The gap is the stimulus, not a synchronisation: sleep to an absolute offset.
            time.sleep(max(0.0, t0 + gap_ms / 1000.0 - time.monotonic()))
            b = self.start(pb, "3.0", settle)
            for proc, proxy, version in ((a, pa, "2.0"), (b, pb, "3.0")):
                _, err = proc.communicate(timeout=120)
                runs.append((proc.returncode, err,
                             [e for e in proxy.log() if is_mutating(e["action"])], version))
        return runs

    def check_one_winner(self, runs, where):
        codes = sorted(r[0] for r in runs)
        self.assertEqual(codes, [0, 3], f"{where}: {[(r[0], r[1][-600:]) for r in runs]}")
        win = next(r for r in runs if r[0] == 0)
        lose = next(r for r in runs if r[0] == 3)
        # The loser's only mutating calls are writes of the lock tag (one; two when the
        # first answer's Date moved its idea of AWS's clock).
        self.assertLessEqual(len(lose[2]), 2, f"{where}: {lose[2]}")
        for e in lose[2]:
            self.assertEqual((e["action"], e["tag_keys"]), ("CreateOrUpdateTags", [LOCK]),
                             f"{where}: the loser sent {e}")
        self.assertRegex(lose[1], r"is locked by .*deploy until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d "
                                  r"UTC|was locked at the same moment by .*deploy", where)
        # The winner made the release: its version is live on green, blue is in Standby,
        # no lock is left and no group tag names the loser's version.
        self.assertIn("EnterStandby", [e["action"] for e in win[2]], where)
        green, blue = self.tags("web-green"), self.tags("web-blue")
        self.assertEqual(green["docker:image:version"], win[3], where)
        self.assertEqual(blue["docker:image:version"], "1.0", where)
        self.assertNotIn(LOCK, blue, where)
        self.assertEqual(self.states("web-green"), ["InService", "InService"], where)
        self.assertEqual(self.states("web-blue"), ["Standby", "Standby"], where)

    def test_two_deploys_started_close_together_one_wins(self):
        for gap_ms in (0, 10, 25, 50):
            for rnd in range(2):
                where = f"gap {gap_ms} ms, round {rnd}"
                with self.subTest(where):
                    # The default settle time (2 s), as a release would run.
                    self.check_one_winner(self.race(gap_ms), where)


class LockMessagesTest(CtlCase):
    def set_lock(self, value):
        self.asg.create_or_update_tags(Tags=[{
            "ResourceId": "web-blue", "ResourceType": "auto-scaling-group", "Key": LOCK,
            "Value": value, "PropagateAtLaunch": False}])

    def test_refusal_names_holder_and_time_and_sends_nothing(self):
        self.pair("web", live=1)
        expiry = int(time.time()) + 250
        held = f"0123456789abcdef:{expiry}:alice@build-7 4242 deploy"
        self.set_lock(held)
        with FaultProxy(self.moto.url) as proxy:
            p = self.run_ctl("deploy", IMAGE, "2.0", *FAST,
                             env=self.env(AWS_ENDPOINT_URL=proxy.url))
            mutating = [e for e in proxy.log() if is_mutating(e["action"])]
        self.assertEqual(p.returncode, 3, p.stderr)
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(expiry))
        self.assertIn(f"is locked by alice@build-7 4242 deploy until {when} (AWS's clock, in 4 min",
                      p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertEqual(mutating, [])
        self.assertEqual(self.tags("web-blue")[LOCK], held)

    def test_unlock_refuses_an_unexpired_lock_without_force(self):
        self.pair("web", live=1)
        expiry = int(time.time()) + 200
        held = f"0123456789abcdef:{expiry}:bob@ci-3 77 rollback"
        self.set_lock(held)
        p = self.run_ctl("unlock", IMAGE)
        self.assertEqual(p.returncode, 3, p.stderr)
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(expiry))
        self.assertIn(f"is locked by bob@ci-3 77 rollback until {when}", p.stderr)
        self.assertIn("--force", p.stderr)
        self.assertEqual(self.tags("web-blue")[LOCK], held)
        p = self.ok("unlock", IMAGE, "--force")
        # Written TTL (300 s) - 200 s left = about 100 s ago.
        self.assertRegex(p.stderr + p.stdout,
                         r"removed the lock of bob@ci-3 77 rollback, written 1 min \d+ s ago "
                         r"\(unexpired, 3 min \d+ s left\)")
        self.assertNotIn(LOCK, self.tags("web-blue"))

    def test_unlock_removes_an_expired_lock_and_says_whose(self):
        self.pair("web", live=1)
        self.set_lock(f"0123456789abcdef:{int(time.time()) - 3600}:carol@laptop 9 finalize")
        p = self.ok("unlock", IMAGE)
        self.assertRegex(p.stderr + p.stdout,
                         r"removed the lock of carol@laptop 9 finalize, written 1 h 5 min ago")
        self.assertNotIn(LOCK, self.tags("web-blue"))
        p = self.ok("unlock", IMAGE)
        self.assertIn("is not locked", p.stderr + p.stdout)


class CallCountTest(CtlCase):
    def test_deploy_asks_each_target_group_once_per_observation(self):
        """2 pairs, blue and green of a pair sharing a target group: every observation asks
        DescribeTargetHealth once per target group (2), not per group (4), and the target
        groups' names are asked once a command."""
        for base in ("api", "web"):
            self.pair(base, live=2, mn=1, mx=4)
        with FaultProxy(self.moto.url) as proxy:
            self.ok("deploy", IMAGE, "2.0", *FAST, env=self.env(AWS_ENDPOINT_URL=proxy.url))
            calls = proxy.calls()
        self.assertEqual(self.tags("web-green")["docker:image:version"], "2.0")
        self.assertEqual(calls.get("DescribeTargetGroups"), 1, calls)
        # DescribeAutoScalingGroups: one per observation, plus the lock's read and re-read.
        observations = calls["DescribeAutoScalingGroups"] - 2
        self.assertGreaterEqual(observations, 3, calls)  # the first, the two waits
        self.assertEqual(calls["DescribeTargetHealth"], 2 * observations, calls)

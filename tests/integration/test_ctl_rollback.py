"""asgswap rollback, finalize and unlock, the lock between runs, and SIGINT/SIGTERM, against
the patched moto; state set up and checked with boto3."""
import signal
import subprocess
import time

import bed
from faultproxy import FaultProxy
from test_ctl_support import IMAGE, CtlCase

FAST = ("--poll", "0.05")


class RollbackTest(CtlCase):
    def deployed(self, live=2, mn=1, mx=4):
        tgs, _ = self.pair("web", live=live, mn=mn, mx=mx)
        self.asg.put_scaling_policy(AutoScalingGroupName="web-blue", PolicyName="simple",
                                    PolicyType="SimpleScaling",
                                    AdjustmentType="ChangeInCapacity", ScalingAdjustment=1)
        self.blue_ids = sorted(i["InstanceId"] for i in self.describe("web-blue")["Instances"])
        self.ok("deploy", IMAGE, "2.0", *FAST)
        self.assertEqual(self.status()["live"], "green")
        return tgs

    def test_rollback_brings_the_standby_set_back(self):
        self.deployed(live=3, mn=2, mx=5)
        p = self.ok("--verbose", "rollback", IMAGE, *FAST)
        self.assertIn("ExitStandby web-blue (3 instances)", p.stdout)
        self.assertIn("[1/3] bringing blue 1.0 back (3 instances)", p.stdout)
        self.assertEqual(sorted(i["InstanceId"] for i in self.describe("web-blue")["Instances"]),
                         self.blue_ids)
        self.assertEqual(self.states("web-blue"), ["InService"] * 3)
        self.assertEqual(self.sizes("web-blue"), (2, 5, 3))
        self.assertEqual(self.sizes("web-green")[0::2], (0, 0))
        self.assertEqual(self.policies("web-blue"), ["simple"])
        self.assertEqual(self.policies("web-green"), [])
        blue, green = self.tags("web-blue"), self.tags("web-green")
        self.assertEqual(green["asgswap:rolled-back"], "2.0")
        for k in ("asgswap:saved", "asgswap:release", "asgswap:lock", "asgswap:suspended",
                  "asgswap:standby-since"):
            self.assertNotIn(k, blue)
        self.assertEqual(self.describe("web-blue")["SuspendedProcesses"], [])
        bed.wait_until(lambda: self.status()["sets"]["green"]["state"] == "idle", timeout=10)
        self.assertEqual(self.status()["live"], "blue")
        p = self.ok("rollback", IMAGE, *FAST)
        self.assertIn("rolled back to blue already", p.stderr)

    def test_deploy_right_after_rollback_waits_for_the_emptied_set(self):
        self.deployed()
        self.moto.set_delays(terminating=3.0)
        self.ok("rollback", IMAGE, *FAST)
        # The rolled-back set's instances are still leaving when rollback returns.
        self.assertEqual(self.status()["sets"]["green"]["state"], "moving")
        p = self.ok("deploy", IMAGE, "2.0", *FAST)
        self.assertIn("waiting for green to settle", p.stdout.splitlines())
        self.assertEqual(self.status()["live"], "green")
        self.assertEqual(self.states("web-blue"), ["Standby"] * 2)

    def test_finalize_then_rollback_refused(self):
        self.deployed()
        p = self.ok("--verbose", "finalize", IMAGE, *FAST)
        self.assertEqual(p.stdout.count("TerminateInstanceInAutoScalingGroup web-blue"), 2)
        self.assertIn("[1/2] terminating the 2 Standby instances of blue", p.stdout)
        self.assertRegex(p.stdout, r"done in \d+ s; green is the only set of '.*' now")
        self.assertIn("ShouldDecrementDesiredCapacity=false", p.stdout)
        self.assertEqual(self.describe("web-blue")["Instances"], [])
        self.assertEqual(self.sizes("web-blue")[2], 0)
        self.assertEqual(self.describe("web-blue")["SuspendedProcesses"], [])
        tags = self.tags("web-blue")
        for k in ("asgswap:saved", "asgswap:suspended", "asgswap:standby-since"):
            self.assertNotIn(k, tags)
        states = {r["Instances"][0]["InstanceId"]: r["Instances"][0]["State"]["Name"]
                  for r in self.ec2.describe_instances(InstanceIds=self.blue_ids)["Reservations"]}
        self.assertEqual(set(states.values()), {"terminated"})
        p = self.run_ctl("rollback", IMAGE, *FAST)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertRegex(p.stderr, r"no standby set to roll back to .*finalized")
        p = self.ok("finalize", IMAGE)
        self.assertIn("nothing to finalize", p.stderr)

    def test_operator_suspension_is_kept(self):
        self.pair("web", live=1)
        self.asg.suspend_processes(AutoScalingGroupName="web-blue",
                                   ScalingProcesses=["AZRebalance"])
        self.ok("deploy", IMAGE, "2.0", *FAST)
        self.assertNotIn("asgswap:suspended", self.tags("web-blue"))
        self.ok("finalize", IMAGE, *FAST)
        self.assertEqual([p["ProcessName"] for p in
                          self.describe("web-blue")["SuspendedProcesses"]], ["AZRebalance"])

    def test_rollback_refused_when_standby_instance_is_gone_in_ec2(self):
        self.deployed()
        self.ec2.terminate_instances(InstanceIds=self.blue_ids[:1])
        before = self.describe("web-green")
        p = self.run_ctl("rollback", IMAGE, *FAST)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertRegex(p.stderr, rf"Standby instance {self.blue_ids[0]} .* is terminated "
                                   r"in EC2")
        self.assertEqual(self.describe("web-green"), before)

    def test_rollback_refused_when_launch_suspended(self):
        self.deployed()
        self.asg.suspend_processes(AutoScalingGroupName="web-blue", ScalingProcesses=["Launch"])
        p = self.run_ctl("rollback", IMAGE, *FAST)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("Launch process of 'web-blue' is suspended", p.stderr)

    def test_rollback_raises_max_size_when_needed(self):
        self.deployed(live=3, mn=1, mx=3)
        self.asg.update_auto_scaling_group(AutoScalingGroupName="web-blue", MaxSize=1)
        self.ok("rollback", IMAGE, *FAST)
        self.assertEqual(self.states("web-blue"), ["InService"] * 3)
        self.assertEqual(self.sizes("web-blue"), (1, 3, 3))

    def test_dry_run_rollback_changes_nothing(self):
        self.deployed()
        before = (self.describe("web-blue"), self.describe("web-green"))
        p = self.ok("--dry-run", "rollback", IMAGE)
        self.assertIn("ExitStandby web-blue (2 instances)", p.stdout)
        self.assertIn("UpdateAutoScalingGroup web-blue MinSize=1 MaxSize=4 DesiredCapacity=2",
                      p.stdout)
        self.assertEqual((self.describe("web-blue"), self.describe("web-green")), before)


class LockAndSignalTest(CtlCase):
    def background(self, *args, env=None):
        proc = subprocess.Popen([bed.binary("asgswap"), *args], env=env or self.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        self.addCleanup(proc.wait)
        return proc

    def hook_pair(self):
        self.pair("web", live=2, lb="none", hook=True)

    def test_second_deploy_exits_3_while_one_runs_and_unlock(self):
        self.hook_pair()
        proc = self.background("deploy", IMAGE, "2.0", *FAST)
        bed.wait_until(lambda: self.states("web-green") == ["Pending:Wait"] * 2, timeout=20)
        self.assertIn("asgswap:lock", self.tags("web-blue"))
        p = self.run_ctl("deploy", IMAGE, "2.0", *FAST)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertRegex(p.stderr, rf"is locked by \S+@\S+ {proc.pid} deploy until "
                         r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")
        self.complete_hooks("web-green")
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        self.assertNotIn("asgswap:lock", self.tags("web-blue"))
        # A stale lock (a crashed run) is cleared by unlock.
        self.asg.create_or_update_tags(Tags=[{
            "ResourceId": "web-blue", "ResourceType": "auto-scaling-group",
            "Key": "asgswap:lock", "Value": "deadbeef:9999999999", "PropagateAtLaunch": False}])
        p = self.run_ctl("finalize", IMAGE)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.ok("unlock", IMAGE, "--force")  # unexpired: unlock alone refuses it
        self.assertNotIn("asgswap:lock", self.tags("web-blue"))
        self.ok("finalize", IMAGE, *FAST)

    def test_expired_lock_is_taken_over(self):
        self.pair("web", live=1)
        self.asg.create_or_update_tags(Tags=[{
            "ResourceId": "web-blue", "ResourceType": "auto-scaling-group",
            "Key": "asgswap:lock", "Value": "deadbeef:1000", "PropagateAtLaunch": False}])
        self.ok("deploy", IMAGE, "2.0", *FAST)
        self.assertNotIn("asgswap:lock", self.tags("web-blue"))

    def test_sigterm_stops_with_5_and_rollback_aborts_the_launch(self):
        self.hook_pair()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(sig=sig):
                proc = self.background("deploy", IMAGE, "2.0", *FAST)
                bed.wait_until(lambda: self.states("web-green") == ["Pending:Wait"] * 2,
                               timeout=20)
                proc.send_signal(sig)
                out, err = proc.communicate(timeout=20)
                self.assertEqual(proc.returncode, 5, err)
                self.assertRegex(err, r"interrupted waiting for the new set; 'asgswap status")
                self.assertEqual(self.tags("web-blue")["asgswap:release"],
                                 "blue>green:2.0:launching")
                self.assertNotIn("asgswap:lock", self.tags("web-blue"))
                st = self.status()
                self.assertEqual(st["release"], {"from": "blue", "to": "green",
                                                 "version": "2.0", "phase": "launching"})
                p = self.ok("--verbose", "rollback", IMAGE, *FAST)
                self.assertIn("[1/1] aborting the release of 2.0 to green", p.stdout)
                self.assertIn("UpdateAutoScalingGroup web-green MinSize=0 DesiredCapacity=0",
                              p.stdout)
                self.assertNotIn("asgswap:release", self.tags("web-blue"))
                self.assertNotIn("asgswap:saved", self.tags("web-blue"))
                self.assertEqual(self.sizes("web-blue"), (1, 4, 2))
                bed.wait_until(lambda: self.describe("web-green")["Instances"] == [],
                               timeout=20)

    def test_signal_ends_a_call_that_never_answers(self):
        """Ctrl-C does not wait out a peer that never answers (30 s an attempt, retried):
        the call in flight ends, the lock is still released, exit 5."""
        self.pair("web", live=1)
        with FaultProxy(self.moto.url) as proxy:
            proxy.add_rule(type="hang", action="UpdateAutoScalingGroup", max_s=120)
            env = self.env(AWS_ENDPOINT_URL=proxy.url)
            for sig in (signal.SIGTERM, signal.SIGINT):
                with self.subTest(sig=sig):
                    def hanging():
                        return sum(e["action"] == "UpdateAutoScalingGroup" for e in proxy.log())
                    before = hanging()
                    proc = self.background("deploy", IMAGE, "2.0", *FAST, env=env)
                    bed.wait_until(lambda: hanging() > before, timeout=20,
                                   what="the hanging UpdateAutoScalingGroup")
                    proc.send_signal(sig)
                    start = time.monotonic()
                    out, err = proc.communicate(timeout=20)
                    # The transfer checks for a stop about once a second.
                    self.assertLess(time.monotonic() - start, 5, err)
                    self.assertEqual(proc.returncode, 5, err)
                    self.assertRegex(err, r"interrupted launching the new set; 'asgswap status")
                    self.assertNotIn("asgswap:lock", self.tags("web-blue"))

    def test_other_release_in_flight_is_refused(self):
        self.hook_pair()
        proc = self.background("deploy", IMAGE, "2.0", *FAST)
        bed.wait_until(lambda: self.states("web-green") == ["Pending:Wait"] * 2, timeout=20)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
        p = self.run_ctl("deploy", IMAGE, "3.0", *FAST)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("release of version '2.0' to green is in flight", p.stderr)
        # The same command continues it.
        proc = self.background("deploy", IMAGE, "2.0", *FAST)
        bed.wait_until(lambda: "asgswap:lock" in self.tags("web-blue"), timeout=20)
        self.complete_hooks("web-green")
        proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(self.status()["live"], "green")

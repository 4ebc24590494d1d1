"""Crash resume: the fault proxy SIGKILLs asgswap right after each mutating call of a
deploy, a rollback and a finalize (the answer never reaches it); the same command run again
(after `asgswap unlock`, which clears the dead run's lock) must reach the end state of an
uninterrupted run. ASGSWAP_CRASH_PAIRS=3 runs the matrix on a three-pair service
(`make check-long`)."""
import os
import subprocess
import sys

import bed
from faultproxy import FaultProxy
from test_ctl_support import IMAGE, CtlCase

FAST = ("--poll", "0.05")
PAIRS = int(os.environ.get("ASGSWAP_CRASH_PAIRS", "1"))
# Waits for one byte on stdin, then becomes asgswap (same pid): the kill rule can name the
# pid before the first call.
TRAMPOLINE = "import os, sys; sys.stdin.buffer.read(1); os.execv(sys.argv[1], sys.argv[1:])"


def is_mutating(action):
    return not action.startswith(("Describe", "List", "Get"))


class CrashTest(CtlCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.proxy = FaultProxy(cls.moto.url)
        cls.addClassCleanup(cls.proxy.stop)

    def service(self):
        names = [f"p{k}" for k in range(PAIRS)]
        for k, base in enumerate(names):
            self.pair(base, live=2, lb="tg" if k % 2 == 0 else "clb")
            step = self.asg.put_scaling_policy(
                AutoScalingGroupName=base + "-blue", PolicyName="step",
                PolicyType="StepScaling", AdjustmentType="ChangeInCapacity",
                StepAdjustments=[{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}])
            self.asg.put_scaling_policy(
                AutoScalingGroupName=base + "-blue", PolicyName="simple",
                PolicyType="SimpleScaling", AdjustmentType="ChangeInCapacity",
                ScalingAdjustment=1)
            self.asg.put_scheduled_update_group_action(
                AutoScalingGroupName=base + "-blue", ScheduledActionName="nightly",
                Recurrence="0 2 * * *", MinSize=1)
            self.cw.put_metric_alarm(
                AlarmName=base + "-cpu", MetricName="CPUUtilization", Namespace="AWS/EC2",
                Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=70,
                ComparisonOperator="GreaterThanThreshold", AlarmActions=[step["PolicyARN"]],
                Dimensions=[{"Name": "AutoScalingGroupName", "Value": base + "-blue"}])
        self.names = [n + c for n in names for c in ("-blue", "-green")]

    def snapshot(self):
        """What must match: sizes, instance states, records, processes, scaling and alarms
        (alarm actions by the group and name of the policy they point at)."""
        arns = {}
        out = {}
        for name in self.names:
            g = self.describe(name)
            tags = {k: v for k, v in self.tags(name).items() if k != "asgswap:standby-since"}
            pols = self.asg.describe_policies(AutoScalingGroupName=name)["ScalingPolicies"]
            arns.update({p["PolicyARN"]: f"{name}:{p['PolicyName']}" for p in pols})
            out[name] = dict(
                sizes=(g["MinSize"], g["MaxSize"], g["DesiredCapacity"]),
                states=sorted(i["LifecycleState"] for i in g["Instances"]),
                tags=tags, suspended=sorted(p["ProcessName"] for p in g["SuspendedProcesses"]),
                policies=sorted(p["PolicyName"] for p in pols),
                actions=sorted(a["ScheduledActionName"] for a in
                               self.asg.describe_scheduled_actions(
                                   AutoScalingGroupName=name)["ScheduledUpdateGroupActions"]))
        out["alarms"] = {a["AlarmName"]: ([arns.get(x, "STALE " + x) for x in a["AlarmActions"]],
                                          a["Dimensions"])
                         for a in self.cw.describe_alarms()["MetricAlarms"]}
        return out

    def run_via_proxy(self, *args):
        return self.run_ctl(*args, *FAST, env=self.env(AWS_ENDPOINT_URL=self.proxy.url))

    def killed_run(self, nth, *args):
        proc = subprocess.Popen([sys.executable, "-c", TRAMPOLINE, bed.binary("asgswap"), *args,
                                 *FAST], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL,
                                env=self.env(AWS_ENDPOINT_URL=self.proxy.url))
        try:
            self.proxy.add_rule(type="kill", pid=proc.pid, nth=nth)
            proc.stdin.write(b"x")
            proc.stdin.close()
            return proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def matrix(self, prepare, command):
        """prepare() sets the service up; command is the argv run, killed and re-run."""
        self.proxy.clear()
        prepare()
        p = self.run_via_proxy(*command)
        self.assertEqual(p.returncode, 0, p.stderr)
        want = self.snapshot()
        n_mutating = sum(1 for e in self.proxy.log() if is_mutating(e["action"]))
        self.assertGreater(n_mutating, 3)
        for nth in range(1, n_mutating + 1):
            with self.subTest(nth=nth, command=command[0]):
                self.moto.reset()
                self.setUp()
                prepare()
                self.proxy.clear()
                rc = self.killed_run(nth, *command)
                self.assertEqual(rc, -9, f"not killed at mutating call {nth}")
                self.proxy.clear_rules()
                self.ok("unlock", IMAGE, "--force")  # the dead run's lock is unexpired
                # The re-run goes straight to moto: only the killed run needs the proxy.
                p = self.run_ctl(*command, *FAST)
                self.assertEqual(p.returncode, 0, f"re-run after kill at {nth}: {p.stderr}")
                self.assertEqual(self.snapshot(), want, f"after a kill at mutating call {nth}")

    def deployed(self):
        self.service()
        p = self.run_ctl("deploy", IMAGE, "2.0", *FAST)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_deploy(self):
        self.matrix(self.service, ("deploy", IMAGE, "2.0"))

    def test_rollback(self):
        self.matrix(self.deployed, ("rollback", IMAGE))

    def test_finalize(self):
        self.matrix(self.deployed, ("finalize", IMAGE))

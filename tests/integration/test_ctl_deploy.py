"""asgswap deploy against the patched moto: the steps of docs/DESIGN.md, the refusals, the undo
on timeout, scaling policies, scheduled actions and alarms moving, and faults on the way.
Everything is set up and checked with boto3."""
import re
import subprocess
import time
from datetime import datetime, timedelta, timezone

import bed
from faultproxy import FaultProxy
from test_ctl_support import IMAGE, LOCK_SETTLE_S, CtlCase

FAST = ("--poll", "0.05")


class DeployTest(CtlCase):
    def scaling_setup(self, group="web-blue"):
        """A simple, a step and a target-tracking policy, an alarm on the step policy with the
        group dimension (and one with metric math), and scheduled actions."""
        a = self.asg
        a.put_scaling_policy(AutoScalingGroupName=group, PolicyName="simple",
                             PolicyType="SimpleScaling", AdjustmentType="ChangeInCapacity",
                             ScalingAdjustment=1, Cooldown=120)
        step = a.put_scaling_policy(
            AutoScalingGroupName=group, PolicyName="step", PolicyType="StepScaling",
            AdjustmentType="ChangeInCapacity", MetricAggregationType="Average",
            StepAdjustments=[{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 20,
                              "ScalingAdjustment": 1},
                             {"MetricIntervalLowerBound": 20, "ScalingAdjustment": 2}])
        a.put_scaling_policy(
            AutoScalingGroupName=group, PolicyName="track", PolicyType="TargetTrackingScaling",
            TargetTrackingConfiguration={"PredefinedMetricSpecification": {
                "PredefinedMetricType": "ASGAverageCPUUtilization"}, "TargetValue": 50.0})
        self.cw.put_metric_alarm(
            AlarmName="cpu-high", MetricName="CPUUtilization", Namespace="AWS/EC2",
            Statistic="Average", Period=60, EvaluationPeriods=2, Threshold=70,
            ComparisonOperator="GreaterThanThreshold", AlarmActions=[step["PolicyARN"]],
            OKActions=[step["PolicyARN"]],
            Dimensions=[{"Name": "AutoScalingGroupName", "Value": group}])
        self.cw.put_metric_alarm(
            AlarmName="math", EvaluationPeriods=1, Threshold=1,
            ComparisonOperator="GreaterThanThreshold", AlarmActions=[step["PolicyARN"]],
            Metrics=[{"Id": "m1", "ReturnData": False, "MetricStat": {
                "Metric": {"Namespace": "AWS/EC2", "MetricName": "CPUUtilization",
                           "Dimensions": [{"Name": "AutoScalingGroupName", "Value": group}]},
                "Period": 60, "Stat": "Average"}},
                {"Id": "e1", "Expression": "m1 / 10", "ReturnData": True}])
        future = datetime.now(timezone.utc) + timedelta(days=2)
        a.put_scheduled_update_group_action(AutoScalingGroupName=group,
                                            ScheduledActionName="nightly",
                                            Recurrence="0 2 * * *", MinSize=1, MaxSize=4)
        a.put_scheduled_update_group_action(AutoScalingGroupName=group,
                                            ScheduledActionName="launch-day", StartTime=future,
                                            DesiredCapacity=3)
        return step["PolicyARN"]

    def test_deploy_one_pair(self):
        self.pair("web", live=2, mn=1, mx=4)
        old_arn = self.scaling_setup()
        blue_ids = {i["InstanceId"] for i in self.describe("web-blue")["Instances"]}
        with FaultProxy(self.moto.url) as proxy:
            p = self.ok("--verbose", "deploy", IMAGE, "2.0", *FAST,
                        env=self.env(AWS_ENDPOINT_URL=proxy.url))
            log = [e["action"] for e in proxy.log()]
        # The new set is live, sized from the saved record; the old one is in Standby.
        self.assertEqual(self.sizes("web-green"), (1, 4, 2))
        self.assertEqual(self.states("web-green"), ["InService", "InService"])
        self.assertEqual(self.sizes("web-blue"), (0, 4, 0))
        self.assertEqual(self.states("web-blue"), ["Standby", "Standby"])
        self.assertEqual({i["InstanceId"] for i in self.describe("web-blue")["Instances"]},
                         blue_ids)
        blue, green = self.tags("web-blue"), self.tags("web-green")
        self.assertEqual(green["docker:image:version"], "2.0")
        self.assertEqual(blue["docker:image:version"], "1.0")
        self.assertEqual(blue["asgswap:saved"], "1,4,2")
        self.assertNotIn("asgswap:release", blue)
        self.assertNotIn("asgswap:lock", blue)
        self.assertIn("AZRebalance", [p["ProcessName"] for p in
                                      self.describe("web-blue")["SuspendedProcesses"]])
        # Policies, scheduled actions and alarms moved.
        self.assertEqual(self.policies("web-green"), ["simple", "step", "track"])
        self.assertEqual(self.policies("web-blue"), [])
        new_arn = [p for p in self.asg.describe_policies(AutoScalingGroupName="web-green")[
            "ScalingPolicies"] if p["PolicyName"] == "step"][0]
        self.assertEqual(new_arn["StepAdjustments"][1]["ScalingAdjustment"], 2)
        alarms = {a["AlarmName"]: a for a in self.cw.describe_alarms()["MetricAlarms"]}
        self.assertEqual(alarms["cpu-high"]["AlarmActions"], [new_arn["PolicyARN"]])
        self.assertEqual(alarms["cpu-high"]["OKActions"], [new_arn["PolicyARN"]])
        self.assertNotEqual(new_arn["PolicyARN"], old_arn)
        self.assertEqual(alarms["cpu-high"]["Dimensions"],
                         [{"Name": "AutoScalingGroupName", "Value": "web-green"}])
        self.assertEqual(alarms["cpu-high"]["EvaluationPeriods"], 2)
        m1 = alarms["math"]["Metrics"][0]["MetricStat"]["Metric"]["Dimensions"]
        self.assertEqual(m1, [{"Name": "AutoScalingGroupName", "Value": "web-green"}])
        sched = {s["ScheduledActionName"]: s for s in self.asg.describe_scheduled_actions(
            AutoScalingGroupName="web-green")["ScheduledUpdateGroupActions"]}
        self.assertEqual(set(sched), {"nightly", "launch-day"})
        self.assertEqual(sched["nightly"]["Recurrence"], "0 2 * * *")
        self.assertEqual(self.asg.describe_scheduled_actions(
            AutoScalingGroupName="web-blue")["ScheduledUpdateGroupActions"], [])
        # Order: nothing leaves the old set before the new one has its policies.
        self.assertLess(log.index("PutScalingPolicy"), log.index("DeletePolicy"))
        self.assertLess(max(i for i, a in enumerate(log) if a == "DeletePolicy"),
                        log.index("EnterStandby"))
        first_blue_update = [i for i, a in enumerate(log) if a == "UpdateAutoScalingGroup"][2]
        self.assertLess(log.index("PutMetricAlarm"), first_blue_update)
        self.assertIn("UpdateAutoScalingGroup web-green MinSize=2 MaxSize=2 DesiredCapacity=2",
                      p.stdout)
        self.assertEqual([line for line in p.stdout.splitlines() if line[:1] == "["],
                         ["[1/4] recording the release of 2.0 (blue -> green)",
                          "[2/4] launching green 2.0 (2 instances)",
                          "[3/4] moving scaling to green", "[4/4] blue to Standby"])
        self.assertRegex(p.stdout.splitlines()[-1],
                         r"^done in \d+ s; .* roll back with 'asgswap rollback "
                         r"registry.example/web', finalize with 'asgswap finalize "
                         r"registry.example/web'$")
        st = self.status()
        self.assertEqual((st["live"], st["sets"]["blue"]["state"]), ("green", "standby"))
        self.assertIsNotNone(st["sets"]["blue"]["standby_since"])

    def test_dry_run_changes_nothing(self):
        self.pair("web", live=3, mn=2, mx=6)
        self.scaling_setup()
        before = (self.describe("web-blue"), self.describe("web-green"))
        with FaultProxy(self.moto.url) as proxy:
            p = self.ok("--dry-run", "deploy", IMAGE, "2.0",
                        env=self.env(AWS_ENDPOINT_URL=proxy.url))
            actions = set(proxy.calls())
        self.assertTrue(all(a.startswith("Describe") for a in actions), actions)
        self.assertEqual((self.describe("web-blue"), self.describe("web-green")), before)
        lines = [line.strip() for line in p.stdout.splitlines()]
        self.assertEqual(lines[0], "deploy registry.example/web: blue (1.0, 3 instances) -> "
                                   "green (2.0, 3 instances)")
        for want in ("[1/4] recording the release of 2.0 (blue -> green)",
                     # One call carries the tags of both groups.
                     "CreateOrUpdateTags web-blue asgswap:saved=2,6,3 "
                     "asgswap:release=blue>green:2.0:launching; web-green "
                     "docker:image:version=2.0 PropagateAtLaunch=true",
                     "[2/4] launching green 2.0 (3 instances)",
                     "UpdateAutoScalingGroup web-green MinSize=3 MaxSize=3 DesiredCapacity=3",
                     "wait live green (ALB web-tg)",
                     "UpdateAutoScalingGroup web-green MinSize=2 MaxSize=6",
                     "[4/4] blue to Standby",
                     "UpdateAutoScalingGroup web-blue MinSize=0",
                     "EnterStandby web-blue ShouldDecrementDesiredCapacity=true (3 instances)",
                     "wait standby blue",
                     "DeleteTags web-blue asgswap:release",
                     "Plan: 10 calls, 2 waits, 0 instances to terminate (and 1 scaling move: "
                     "a call for each policy, scheduled action and alarm found then)"):
            self.assertIn(want, lines)
        move = [i for i, line in enumerate(lines) if line.startswith("move scaling policies")]
        self.assertEqual(len(move), 1, lines)
        self.assertLess(lines.index("wait live green (ALB web-tg)"), move[0])
        self.assertLess(move[0], lines.index("EnterStandby web-blue "
                                             "ShouldDecrementDesiredCapacity=true (3 instances)"))

    def test_same_version_is_a_no_op_unless_forced(self):
        self.pair("web", live=1, version="1.0")
        with FaultProxy(self.moto.url) as proxy:
            p = self.ok("deploy", IMAGE, "1.0", env=self.env(AWS_ENDPOINT_URL=proxy.url))
            self.assertTrue(all(a.startswith("Describe") for a in proxy.calls()))
        self.assertIn("already runs 1.0", p.stderr)
        self.ok("deploy", IMAGE, "1.0", "--force", *FAST)
        self.assertEqual(self.status()["live"], "green")
        self.assertEqual(self.tags("web-green")["docker:image:version"], "1.0")

    def test_standby_set_refused_then_finalize_first(self):
        self.pair("web", live=2)
        self.ok("deploy", IMAGE, "2.0", *FAST)
        standby_ids = [i["InstanceId"] for i in self.describe("web-blue")["Instances"]]
        p = self.run_ctl("deploy", IMAGE, "3.0", *FAST)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertRegex(p.stderr, r"blue set .* holds Standby instances")
        self.assertEqual(self.states("web-blue"), ["Standby", "Standby"])
        self.ok("deploy", IMAGE, "3.0", "--finalize-first", *FAST)
        st = self.status()
        self.assertEqual((st["live"], st["sets"]["blue"]["version"]), ("blue", "3.0"))
        self.assertEqual(self.states("web-green"), ["Standby", "Standby"])
        now_ids = {i["InstanceId"] for i in self.describe("web-blue")["Instances"]}
        self.assertFalse(now_ids & set(standby_ids))

    def refused(self, pattern, *args):
        before = (self.describe("web-blue"), self.describe("web-green"))
        p = self.run_ctl("deploy", IMAGE, "2.0", *FAST, *args)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertRegex(p.stderr, pattern)
        self.assertEqual((self.describe("web-blue"), self.describe("web-green")), before)

    def test_refusals(self):
        self.pair("web", live=1, lb="none")
        self.refused(r"'web-green' has neither a load balancer nor a launch lifecycle hook")

    def test_refuses_warm_pool(self):
        self.pair("web", live=1)
        self.asg.put_warm_pool(AutoScalingGroupName="web-green", MinSize=0)
        self.refused(r"'web-green' has a warm pool")

    def test_refuses_suspended_launch(self):
        self.pair("web", live=1)
        self.asg.suspend_processes(AutoScalingGroupName="web-green", ScalingProcesses=["Launch"])
        self.refused(r"Launch process of 'web-green' is suspended")

    def test_no_live_set(self):
        self.pair("web", live=0)
        self.refused(r"has no live set")

    def test_timeout_undoes_the_release(self):
        tgs, _ = self.pair("web", live=2)
        self.scaling_setup()
        self.moto.set_delays(healthy=None)  # new targets stay `initial`: never healthy
        for i in self.describe("web-blue")["Instances"]:
            self.moto.set_target_health(tgs[0], i["InstanceId"], "healthy")
        self.assertEqual(self.status()["live"], "blue")
        p = self.run_ctl("deploy", IMAGE, "2.0", "--timeout", "1", *FAST)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("did not become live within 1 s: undoing", p.stderr)
        # The closing line counts the whole command, the second it waited included.
        done = re.search(r"^done in (\d+) s; blue stays live with 1\.0; green is back to 0$",
                         p.stdout, re.M)
        self.assertIsNotNone(done, p.stdout)
        self.assertGreaterEqual(int(done.group(1)), 1, p.stdout)
        # The timeout names what was missing: each new instance, its state and health.
        self.assertRegex(p.stderr, r"timed out after \d+ s waiting for green to be live; "
                                   r"still waiting for: web-green 0/2 healthy \(i-\w+ "
                                   r"InService initial \(Elb\.RegistrationInProgress\), "
                                   r"i-\w+ InService initial \(Elb\.RegistrationInProgress\)\)")
        self.assertEqual(self.sizes("web-green")[0::2], (0, 0))
        self.assertEqual(self.sizes("web-blue"), (1, 4, 2))
        self.assertEqual(self.states("web-blue"), ["InService", "InService"])
        self.assertEqual(self.policies("web-blue"), ["simple", "step", "track"])
        self.assertEqual(self.policies("web-green"), [])
        tags = self.tags("web-blue")
        for k in ("asgswap:saved", "asgswap:release", "asgswap:lock"):
            self.assertNotIn(k, tags)
        self.assertEqual(self.status()["live"], "blue")

    def test_scale_in_protection_and_min_size(self):
        self.pair("web", live=3, mn=3, mx=5)
        ids = [i["InstanceId"] for i in self.describe("web-blue")["Instances"]]
        self.asg.set_instance_protection(AutoScalingGroupName="web-blue", InstanceIds=ids,
                                         ProtectedFromScaleIn=True)
        self.ok("deploy", IMAGE, "2.0", *FAST)
        g = self.describe("web-blue")
        self.assertEqual({(i["LifecycleState"], i["ProtectedFromScaleIn"]) for i in
                          g["Instances"]}, {("Standby", False)})
        self.assertEqual(self.sizes("web-green"), (3, 5, 3))

    def test_many_instances_enter_standby_in_batches(self):
        self.pair("web", live=25, mn=1, mx=30)
        with FaultProxy(self.moto.url) as proxy:
            self.ok("deploy", IMAGE, "2.0", *FAST, env=self.env(AWS_ENDPOINT_URL=proxy.url))
            self.assertEqual(proxy.calls()["EnterStandby"], 2)
        self.assertEqual(self.states("web-blue"), ["Standby"] * 25)

    def test_throttling_and_server_errors_on_the_way(self):
        self.pair("web", live=2)
        with FaultProxy(self.moto.url) as proxy:
            proxy.throttle(action="UpdateAutoScalingGroup", count=2)
            proxy.add_rule(type="error", action="DescribeAutoScalingGroups", status=500,
                           code="InternalFailure", message="oops", count=1)
            proxy.add_rule(type="error", action="EnterStandby", status=500,
                           code="ResourceContention", message="busy", count=1)
            self.ok("deploy", IMAGE, "2.0", *FAST, env=self.env(AWS_ENDPOINT_URL=proxy.url))
            fired = [r["fired"] for r in proxy.rules()]
        self.assertEqual(fired, [2, 1, 1])
        self.assertEqual(self.status()["live"], "green")

    def test_aws_failure_is_exit_4_with_one_line(self):
        self.pair("web", live=1)
        with FaultProxy(self.moto.url) as proxy:
            proxy.add_rule(type="error", action="CreateOrUpdateTags", status=400,
                           code="AccessDenied", message="not allowed")
            p = self.run_ctl("deploy", IMAGE, "2.0", *FAST,
                             env=self.env(AWS_ENDPOINT_URL=proxy.url))
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertRegex(p.stderr.splitlines()[-1],
                         r"^asgswap: error: CreateOrUpdateTags 'web-blue' .*AccessDenied: "
                         r"not allowed \(HTTP 400")
        self.assertNotIn("testbed-secret", p.stderr + p.stdout)


class MixedServiceTest(CtlCase):
    """Several group pairs: an ALB target group, a classic ELB, a launch hook only."""

    def background(self, *args):
        proc = subprocess.Popen([bed.binary("asgswap"), *args], env=self.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        self.addCleanup(proc.wait)
        return proc

    def test_three_pairs_with_a_hook_group_and_resync(self):
        self.pair("api", live=1, lb="clb")
        self.pair("web", live=2, lb="tg")
        self.pair("worker", live=2, lb="none", hook=True)
        proc = self.background("--verbose", "deploy", IMAGE, "2.0", *FAST)
        # The hook group waits in Pending:Wait until the "agent" completes it; meanwhile
        # the old worker set scales out, and the new one must follow.
        bed.wait_until(lambda: self.states("worker-green") == ["Pending:Wait"] * 2,
                       timeout=20, what="worker-green pinned at 2")
        self.asg.update_auto_scaling_group(AutoScalingGroupName="worker-blue", DesiredCapacity=3)
        self.complete_hooks("worker-blue")
        bed.wait_until(lambda: self.sizes("worker-green") == (3, 3, 3), timeout=20,
                       what="worker-green re-synced to 3")
        bed.wait_until(lambda: len(self.states("worker-green")) == 3, timeout=20)
        self.complete_hooks("worker-green")
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        st = self.status()
        self.assertEqual(st["live"], "green")
        self.assertEqual(st["sets"]["blue"]["state"], "standby")
        self.assertEqual(self.states("worker-blue"), ["Standby"] * 3)
        self.assertEqual(self.tags("worker-blue")["asgswap:saved"], "1,4,2")
        self.assertEqual(self.sizes("api-green"), (1, 4, 1))
        self.assertIn("wait live green (CLB api-clb, ALB web-tg, hook worker-green)",
                      [line.strip() for line in out.splitlines()])


class SideBySideTest(CtlCase):
    """The calls for the groups of a set run side by side: with 400 ms added to each call
    of an action, four groups cost about 400 ms, not 1600."""

    def test_health_and_updates_of_a_set_run_concurrently(self):
        for k in range(4):
            self.pair(f"s{k}", live=1)
        with FaultProxy(self.moto.url) as proxy:
            env = self.env(AWS_ENDPOINT_URL=proxy.url)
            proxy.latency(400, action="DescribeTargetHealth")
            t0 = time.monotonic()
            self.ok("status", IMAGE, env=env)
            status_s = time.monotonic() - t0
            # Blue and green of a pair share its target group: one call for each of the 4.
            self.assertEqual(proxy.calls()["DescribeTargetHealth"], 4)
            proxy.clear()
            proxy.latency(400, action=["UpdateAutoScalingGroup", "CreateOrUpdateTags"])
            t0 = time.monotonic()
            self.ok("--dry-run", "deploy", IMAGE, "2.0", env=env)
            dry_s = time.monotonic() - t0
            proxy.clear()
            proxy.latency(400, action=["UpdateAutoScalingGroup", "CreateOrUpdateTags"])
            t0 = time.monotonic()
            self.ok("deploy", IMAGE, "2.0", *FAST, env=env)
            # The lock's settle is a wait of its own, not a call.
            deploy_s = time.monotonic() - t0 - dry_s - LOCK_SETTLE_S
            calls = proxy.calls()
            n = sum(calls.get(a, 0) for a in ("UpdateAutoScalingGroup", "CreateOrUpdateTags"))
        # One call carries the tags of all four groups: saved, the release record and the
        # version; the release record; the release record and suspended; standby-since;
        # and the
        # lock (taken, maybe renewed). One call per group and tag would be 20 and more.
        self.assertLessEqual(calls["CreateOrUpdateTags"], 6, calls)
        self.assertLessEqual(calls["DeleteTags"], 2, calls)
        # 4 groups x (pin, sizes, min 0) updates, the tag calls (each carries the tags of
        # every group of its round) and the lock: one after another would be n x 0.4 s.
        self.assertGreaterEqual(n, 16)
        self.assertEqual(self.status()["live"], "green")
        if not bed.WRAPPED:  # under valgrind the times are the tool's
            self.assertLess(status_s, 1.4, "8 target groups asked one after another")
            self.assertLess(deploy_s, n * 0.4 * 0.6,
                            f"{n} calls of 400 ms took {deploy_s:.1f} s")


    MOVE = ["DescribePolicies", "DescribeScheduledActions", "DescribeAlarms", "PutScalingPolicy",
            "PutScheduledUpdateGroupAction", "PutMetricAlarm", "DeletePolicy",
            "DeleteScheduledAction"]

    def scaled_pairs(self, n):
        for k in range(n):
            self.pair(f"s{k}", live=1)
            step = self.asg.put_scaling_policy(
                AutoScalingGroupName=f"s{k}-blue", PolicyName="step", PolicyType="StepScaling",
                AdjustmentType="ChangeInCapacity",
                StepAdjustments=[{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}])
            self.asg.put_scaling_policy(
                AutoScalingGroupName=f"s{k}-blue", PolicyName="simple",
                PolicyType="SimpleScaling", AdjustmentType="ChangeInCapacity",
                ScalingAdjustment=1)
            self.asg.put_scheduled_update_group_action(
                AutoScalingGroupName=f"s{k}-blue", ScheduledActionName="nightly",
                Recurrence="0 2 * * *", MinSize=1)
            self.cw.put_metric_alarm(
                AlarmName=f"s{k}-cpu", MetricName="CPUUtilization", Namespace="AWS/EC2",
                Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=70,
                ComparisonOperator="GreaterThanThreshold", AlarmActions=[step["PolicyARN"]],
                Dimensions=[{"Name": "AutoScalingGroupName", "Value": f"s{k}-blue"}])

    def scaling_on(self, colour, n):
        """Each group's policies and actions, and where each alarm points (group, policy)."""
        arns = {}
        out = {}
        for k in range(n):
            g = f"s{k}-{colour}"
            pols = self.asg.describe_policies(AutoScalingGroupName=g)["ScalingPolicies"]
            arns.update({p["PolicyARN"]: (p["AutoScalingGroupName"], p["PolicyName"])
                         for p in pols})
            acts = self.asg.describe_scheduled_actions(
                AutoScalingGroupName=g)["ScheduledUpdateGroupActions"]
            out[g] = (sorted(p["PolicyName"] for p in pols),
                      sorted(a["ScheduledActionName"] for a in acts))
        alarms = {a["AlarmName"]: ([arns.get(x, "stale") for x in a["AlarmActions"]],
                                   a["Dimensions"][0]["Value"])
                  for a in self.cw.describe_alarms()["MetricAlarms"]}
        return out, alarms

    def test_standby_and_scaling_moves_run_concurrently(self):
        """EnterStandby, ExitStandby, the moves of policies, scheduled actions and alarms, and
        rollback's size updates: 400 ms each, four groups cost a few rounds of 400 ms, not
        one call after another."""
        n = 4
        self.scaled_pairs(n)
        slow = self.MOVE + ["EnterStandby", "ExitStandby", "SuspendProcesses",
                            "ResumeProcesses", "UpdateAutoScalingGroup"]
        with FaultProxy(self.moto.url) as proxy:
            env = self.env(AWS_ENDPOINT_URL=proxy.url)
            timings = {}
            for cmd in (("deploy", IMAGE, "2.0"), ("rollback", IMAGE)):
                proxy.clear()
                proxy.latency(400, action=slow)
                t0 = time.monotonic()
                self.ok(*cmd, *FAST, env=env)
                calls = proxy.calls()
                timings[cmd[0]] = (time.monotonic() - t0, sum(calls.get(a, 0) for a in slow))
                for a in ("EnterStandby" if cmd[0] == "deploy" else "ExitStandby",
                          "PutScalingPolicy", "PutMetricAlarm", "DeletePolicy",
                          "DeleteScheduledAction"):
                    self.assertEqual(calls.get(a), n * (2 if "Policy" in a else 1),
                                     f"{cmd[0]}: {a}")
                if cmd[0] == "deploy":
                    self.assertEqual(self.states("s3-blue"), ["Standby"])
                    scaling, alarms = self.scaling_on("green", n)
                    self.assertEqual(scaling, {f"s{k}-green": (["simple", "step"], ["nightly"])
                                               for k in range(n)})
                    self.assertEqual(alarms, {f"s{k}-cpu": ([(f"s{k}-green", "step")],
                                                            f"s{k}-green") for k in range(n)})
        for cmd, (wall, slow_calls) in timings.items():
            # One after another would be slow_calls x 0.4 s.
            self.assertGreaterEqual(slow_calls, 40, cmd)
            self.assertLess(wall, slow_calls * 0.4 / 3,
                            f"{cmd}: {slow_calls} calls of 400 ms took {wall:.1f} s")
        self.assertEqual(self.states("s3-blue"), ["InService"])
        self.assertEqual(self.sizes("s3-blue"), (1, 4, 1))
        self.assertEqual(self.sizes("s3-green"), (0, 4, 0))
        scaling, alarms = self.scaling_on("blue", n)
        self.assertEqual(scaling, {f"s{k}-blue": (["simple", "step"], ["nightly"])
                                   for k in range(n)})
        self.assertEqual(alarms, {f"s{k}-cpu": ([(f"s{k}-blue", "step")], f"s{k}-blue")
                                  for k in range(n)})
        self.assertEqual(self.status()["live"], "blue")


    def test_a_failure_in_a_side_by_side_round_stops_before_any_delete(self):
        """One call of a round fails: one clear line, exit 4, nothing deleted from the old set
        (the other calls of the round may have run), and the same command finishes it."""
        n = 3
        for action, what in (("PutScalingPolicy", r"PutScalingPolicy '\w+' on 's\d-green'"),
                             ("PutMetricAlarm", r"PutMetricAlarm 's\d-cpu'")):
            with self.subTest(action=action):
                self.moto.reset()
                self.setUp()
                self.scaled_pairs(n)
                with FaultProxy(self.moto.url) as proxy:
                    proxy.add_rule(type="error", action=action, status=400, count=1,
                                   code="AccessDenied", message="not allowed")
                    p = self.run_ctl("deploy", IMAGE, "2.0", *FAST,
                                     env=self.env(AWS_ENDPOINT_URL=proxy.url))
                    log = [e["action"] for e in proxy.log()]
                self.assertEqual(p.returncode, 4, p.stderr)
                self.assertRegex(p.stderr.splitlines()[-1],
                                 rf"^asgswap: error: {what}: AccessDenied: not allowed "
                                 r"\(HTTP 400")
                self.assertEqual(log.count(action), n * (2 if action == "PutScalingPolicy"
                                                         else 1))
                for a in ("DeletePolicy", "DeleteScheduledAction", "EnterStandby"):
                    self.assertNotIn(a, log)
                for k in range(n):
                    self.assertEqual(self.policies(f"s{k}-blue"), ["simple", "step"])
                    self.assertEqual(self.states(f"s{k}-blue"), ["InService"])
                self.assertEqual(self.tags("s0-blue")["asgswap:release"],
                                 "blue>green:2.0:moving")
                self.ok("deploy", IMAGE, "2.0", *FAST)
                scaling, alarms = self.scaling_on("green", n)
                self.assertEqual(scaling, {f"s{k}-green": (["simple", "step"], ["nightly"])
                                           for k in range(n)})
                self.assertEqual(alarms, {f"s{k}-cpu": ([(f"s{k}-green", "step")],
                                                        f"s{k}-green") for k in range(n)})
                self.assertEqual(self.scaling_on("blue", n)[0],
                                 {f"s{k}-blue": ([], []) for k in range(n)})
                self.assertEqual(self.status()["live"], "green")


class PollBackoffTest(CtlCase):
    def test_poll_backs_off_on_throttling_and_recovers(self):
        tgs, _ = self.pair("web", live=1)
        self.moto.set_delays(healthy=1.0)  # a new target reads `initial` for a second
        for i in self.describe("web-blue")["Instances"]:
            self.moto.set_target_health(tgs[0], i["InstanceId"], "healthy")
        with FaultProxy(self.moto.url) as proxy:
            # The first calls are the initial observation and the lock's read and re-read;
            # the waits' calls come after.
            proxy.throttle(action="DescribeAutoScalingGroups", skip=3, count=2)
            p = self.ok("--verbose", "deploy", IMAGE, "2.0", *FAST,
                        env=self.env(AWS_ENDPOINT_URL=proxy.url))
        self.assertIn("throttled: polling every 0.1 s", p.stderr)
        self.assertEqual(self.status()["live"], "green")


class RobustWaitTest(CtlCase):
    def background(self, *args, env=None):
        proc = subprocess.Popen([bed.binary("asgswap"), *args], env=env or self.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        self.addCleanup(proc.wait)
        return proc

    def test_a_waiting_line_gives_the_load_balancers_reason(self):
        """An unhealthy new instance is named with the reason its target group gives
        (TargetHealth.Reason), in the progress and in the timeout's stragglers."""
        tgs, _ = self.pair("web", live=1)
        self.moto.set_delays(healthy=None)  # new targets stay `initial` unless set
        for i in self.describe("web-blue")["Instances"]:
            self.moto.set_target_health(tgs[0], i["InstanceId"], "healthy")
        proc = self.background("deploy", IMAGE, "2.0", "--poll", "0.2", "--timeout", "6")

        def mark_unhealthy():
            ids = [i["InstanceId"] for i in self.describe("web-green")["Instances"]]
            return ids and all(self.moto.set_target_health(
                tgs[0], i, "unhealthy", reason="Target.FailedHealthChecks",
                if_registered=True)["applied"] for i in ids)
        bed.wait_until(mark_unhealthy, timeout=20, what="the new instance registered")
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 1, err)
        self.assertRegex(err, r"still waiting for: web-green 0/1 healthy \(i-\w+ InService "
                              r"unhealthy \(Target\.FailedHealthChecks\)\)")

    def test_live_set_grows_just_before_the_switch(self):
        """An operator scales the live set out while the old set is about to enter Standby
        (its EnterStandby computed already): the release ends with the new set at the
        grown size and every old instance in Standby."""
        self.pair("web", live=2, mn=1, mx=4)
        with FaultProxy(self.moto.url) as proxy:
            proxy.latency(1500, action="SuspendProcesses")
            proc = self.background("deploy", IMAGE, "2.0", "--timeout", "30", *FAST,
                                   env=self.env(AWS_ENDPOINT_URL=proxy.url))
            bed.wait_until(lambda: "SuspendProcesses" in [e["action"] for e in proxy.log()],
                           timeout=30, what="the switch to begin")
            self.asg.update_auto_scaling_group(AutoScalingGroupName="web-blue",
                                               DesiredCapacity=3)
            out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(self.states("web-blue"), ["Standby"] * 3)
        self.assertEqual(self.sizes("web-blue")[2], 0)
        self.assertEqual(self.sizes("web-green")[2], 3)
        self.assertEqual(self.states("web-green"), ["InService"] * 3)
        st = self.status()
        self.assertEqual((st["live"], st["sets"]["blue"]["state"]), ("green", "standby"))

    def test_a_failed_observation_in_a_wait_is_tried_again(self):
        """The observation of a wait fails after its retries (one attempt here): the wait
        tries again at its next poll instead of failing the release."""
        tgs, _ = self.pair("web", live=1)
        self.moto.set_delays(healthy=1.0)  # a new target reads `initial` for a second
        for i in self.describe("web-blue")["Instances"]:
            self.moto.set_target_health(tgs[0], i["InstanceId"], "healthy")
        with FaultProxy(self.moto.url) as proxy:
            # The first three calls are the initial observation and the lock's read and
            # re-read; the wait's come after.
            proxy.add_rule(type="error", action="DescribeAutoScalingGroups", status=500,
                           code="InternalFailure", message="down", skip=3, count=2)
            p = self.run_ctl("deploy", IMAGE, "2.0", *FAST,
                             env=self.env(AWS_ENDPOINT_URL=proxy.url, AWS_MAX_ATTEMPTS="1"))
            fired = [r["fired"] for r in proxy.rules()]
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(fired, [2])
        self.assertIn("trying again at the next poll", p.stderr)
        self.assertEqual(self.status()["live"], "green")
        self.assertEqual(self.states("web-blue"), ["Standby"])

    def test_phases_and_progress_keep_their_order_in_one_log(self):
        """stdout (phases) and stderr (progress) into one pipe, as in a CI log: each phase
        line comes before the waiting it announces."""
        self.pair("web", live=2)
        self.moto.set_delays(pending=0.5, entering_standby=0.5)
        p = subprocess.run([bed.binary("asgswap"), "deploy", IMAGE, "2.0", *FAST],
                           env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout)
        lines = p.stdout.splitlines()

        def first(needle):
            return next(i for i, ln in enumerate(lines) if needle in ln)
        self.assertLess(first("[2/4] launching green"), first("waiting for green:"), lines)
        self.assertLess(first("waiting for green:"), first("[3/4] moving scaling"), lines)
        self.assertLess(first("[4/4] blue to Standby"), first("waiting for blue:"), lines)
        self.assertLess(first("waiting for blue:"), first("done in"), lines)

    def test_waiting_off_a_terminal_says_it_is_alive(self):
        """Off a terminal, a timestamped line per change and at least every 15 s: per group
        have/want, each missing instance with its state, the time spent and left."""
        self.pair("web", live=1, lb="none", hook=True)
        proc = self.background("deploy", IMAGE, "2.0", *FAST)
        bed.wait_until(lambda: self.states("web-green") == ["Pending:Wait"], timeout=20)
        # 17 s of the wait with nothing changing: the run must not end meanwhile.
        with self.assertRaises(subprocess.TimeoutExpired):
            proc.wait(timeout=17)
        self.complete_hooks("web-green")
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        lines = [ln for ln in err.splitlines() if "waiting for green:" in ln]
        pattern = (r"^\d\d:\d\d:\d\d waiting for green: web-green 0/1 healthy "
                   r"\(i-\w+ Pending:Wait\); (\d+) s, (\d+) s left$")
        waiting = [re.match(pattern, ln) for ln in lines]
        same = [m for m in waiting if m]
        self.assertGreaterEqual(len(same), 2, lines)
        self.assertGreaterEqual(int(same[-1].group(1)) - int(same[0].group(1)), 15, lines)
        for a, b in zip(same, same[1:]):
            self.assertLessEqual(int(b.group(1)) - int(a.group(1)), 16, lines)

"""The patched moto server (tests/fixtures/motobed.py): each patch bites. boto3 only."""
import unittest
from datetime import datetime, timedelta, timezone

from botocore.exceptions import ClientError

import bed
import motobed

AZ = "us-east-1a"
_AMI = []  # moto's stock AMI ids are fixed; listing all 1177 takes a second or two


def stock_ami(ec2):
    if not _AMI:
        _AMI.append(ec2.describe_images()["Images"][0]["ImageId"])
    return _AMI[0]


class BedCase(unittest.TestCase):
    """One patched moto per class; reset (moto and our own state) before every test."""
    zero_delays = True
    auth_count = None

    @classmethod
    def setUpClass(cls):
        cls.moto = motobed.Moto(zero_delays=cls.zero_delays, auth_count=cls.auth_count)
        for name in ("autoscaling", "ec2", "elb", "elbv2"):
            setattr(cls, name.replace("autoscaling", "asg"), cls.moto.client(name))

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()

    def setUp(self):
        self.moto.reset()
        if self.auth_count is not None:
            return
        self.ami = stock_ami(self.ec2)
        self.vpc = self.ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        self.ec2.create_launch_template(LaunchTemplateName="web-lt", LaunchTemplateData={
            "ImageId": self.ami, "InstanceType": "t3.micro"})

    # -- helpers ------------------------------------------------------------------------
    def group(self, name, mn=0, mx=4, desired=None, **kw):
        args = dict(AutoScalingGroupName=name, MinSize=mn, MaxSize=mx,
                    LaunchTemplate={"LaunchTemplateName": "web-lt"}, AvailabilityZones=[AZ], **kw)
        if desired is not None:
            args["DesiredCapacity"] = desired
        self.asg.create_auto_scaling_group(**args)

    def describe(self, name):
        return self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]

    def states(self, name):
        """{instance id: lifecycle state} of the group."""
        return {i["InstanceId"]: i["LifecycleState"] for i in self.describe(name)["Instances"]}

    def desired(self, name):
        return self.describe(name)["DesiredCapacity"]

    def classic_lb(self, name="shared"):
        self.elb.create_load_balancer(LoadBalancerName=name, AvailabilityZones=[AZ], Listeners=[
            {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 8080}])
        return name

    def lb_instances(self, name="shared"):
        d = self.elb.describe_load_balancers(LoadBalancerNames=[name])["LoadBalancerDescriptions"][0]
        return {i["InstanceId"] for i in d["Instances"]}

    def target_group(self, name="tg"):
        return self.elbv2.create_target_group(Name=name, Protocol="HTTP", Port=8080,
                                              VpcId=self.vpc, TargetType="instance"
                                              )["TargetGroups"][0]["TargetGroupArn"]

    def target_states(self, arn):
        return {d["Target"]["Id"]: d["TargetHealth"]["State"] for d in
                self.elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]}

    def assertAwsError(self, code, fn, *args, message=None, **kw):
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kw)
        err = cm.exception.response
        self.assertEqual(err["Error"]["Code"], code, err)
        if code == "ValidationError":
            self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 400)
        if message:
            self.assertRegex(err["Error"]["Message"], message)
        return err


class Rule1PerGroupNames:
    def test_rule1_two_groups_each_get_policy_scale_out(self):
        self.group("app-blue")
        self.group("app-green")
        arns = {}
        for g in ("app-blue", "app-green"):
            arns[g] = self.asg.put_scaling_policy(AutoScalingGroupName=g, PolicyName="scale-out",
                                                  AdjustmentType="ChangeInCapacity",
                                                  ScalingAdjustment=1)["PolicyARN"]
        self.assertNotEqual(arns["app-blue"], arns["app-green"])
        for g, arn in arns.items():
            self.assertRegex(arn, r"^arn:aws:autoscaling:us-east-1:\d{12}:scalingPolicy:"
                             r"[0-9a-f-]{36}:autoScalingGroupName/" + g + ":policyName/scale-out$")
        policies = self.asg.describe_policies()["ScalingPolicies"]
        self.assertEqual(sorted((p["AutoScalingGroupName"], p["PolicyARN"]) for p in policies),
                         sorted(arns.items()))
        only_green = self.asg.describe_policies(AutoScalingGroupName="app-green")["ScalingPolicies"]
        self.assertEqual([p["PolicyARN"] for p in only_green], [arns["app-green"]])
        # updating green's keeps its ARN and leaves blue's alone
        again = self.asg.put_scaling_policy(AutoScalingGroupName="app-green", PolicyName="scale-out",
                                            AdjustmentType="ChangeInCapacity",
                                            ScalingAdjustment=2)["PolicyARN"]
        self.assertEqual(again, arns["app-green"])
        blue = self.asg.describe_policies(AutoScalingGroupName="app-blue")["ScalingPolicies"][0]
        self.assertEqual(blue["ScalingAdjustment"], 1)
        # delete by group + name, then by ARN
        self.asg.delete_policy(AutoScalingGroupName="app-blue", PolicyName="scale-out")
        left = self.asg.describe_policies()["ScalingPolicies"]
        self.assertEqual([p["AutoScalingGroupName"] for p in left], ["app-green"])
        self.asg.delete_policy(PolicyName=arns["app-green"])
        self.assertEqual(self.asg.describe_policies()["ScalingPolicies"], [])

    def test_rule1_execute_policy_by_group_clamps_to_max(self):
        self.group("a", mx=2)
        self.group("b", mx=2)
        for g, adj in (("a", 1), ("b", 5)):
            self.asg.put_scaling_policy(AutoScalingGroupName=g, PolicyName="up",
                                        AdjustmentType="ChangeInCapacity", ScalingAdjustment=adj)
        self.asg.execute_policy(AutoScalingGroupName="b", PolicyName="up")
        self.assertEqual((self.desired("a"), self.desired("b")), (0, 2))

    def test_rule1_scheduled_actions_per_group(self):
        self.group("app-blue")
        self.group("app-green")
        for g, size in (("app-blue", 1), ("app-green", 2)):
            self.asg.put_scheduled_update_group_action(
                AutoScalingGroupName=g, ScheduledActionName="nightly", Recurrence="0 2 * * *",
                DesiredCapacity=size)
        for g, size in (("app-blue", 1), ("app-green", 2)):
            acts = self.asg.describe_scheduled_actions(AutoScalingGroupName=g)["ScheduledUpdateGroupActions"]
            self.assertEqual([(a["ScheduledActionName"], a["DesiredCapacity"]) for a in acts],
                             [("nightly", size)])
        self.assertEqual(len(self.asg.describe_scheduled_actions()["ScheduledUpdateGroupActions"]), 2)
        self.asg.delete_scheduled_action(AutoScalingGroupName="app-blue", ScheduledActionName="nightly")
        left = self.asg.describe_scheduled_actions()["ScheduledUpdateGroupActions"]
        self.assertEqual([a["AutoScalingGroupName"] for a in left], ["app-green"])
        self.assertAwsError("ValidationError", self.asg.delete_scheduled_action,
                            AutoScalingGroupName="app-blue", ScheduledActionName="nightly")

    def test_rule1_scheduled_action_start_time_in_past_refused(self):
        self.group("g")
        self.assertAwsError("ValidationError", self.asg.put_scheduled_update_group_action,
                            AutoScalingGroupName="g", ScheduledActionName="once",
                            StartTime=datetime.now(timezone.utc) - timedelta(hours=1),
                            DesiredCapacity=1, message="in the past")
        self.asg.put_scheduled_update_group_action(
            AutoScalingGroupName="g", ScheduledActionName="once",
            StartTime=datetime.now(timezone.utc) + timedelta(hours=1), DesiredCapacity=1)

    def test_rule1_deleted_group_takes_its_policies_and_hooks(self):
        self.group("g")
        self.asg.put_scaling_policy(AutoScalingGroupName="g", PolicyName="p",
                                    AdjustmentType="ChangeInCapacity", ScalingAdjustment=1)
        self.asg.put_lifecycle_hook(AutoScalingGroupName="g", LifecycleHookName="h",
                                    LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING")
        self.asg.delete_auto_scaling_group(AutoScalingGroupName="g")
        self.group("g")
        self.assertEqual(self.asg.describe_policies(AutoScalingGroupName="g")["ScalingPolicies"], [])
        self.assertEqual(self.asg.describe_lifecycle_hooks(AutoScalingGroupName="g")["LifecycleHooks"], [])


class Rule2DesiredWithinRange:
    def test_rule2_set_desired_capacity_outside_range(self):
        self.group("g", mn=1, mx=3, desired=1)
        self.assertAwsError("ValidationError", self.asg.set_desired_capacity,
                            AutoScalingGroupName="g", DesiredCapacity=4, message="above max value 3")
        self.assertAwsError("ValidationError", self.asg.set_desired_capacity,
                            AutoScalingGroupName="g", DesiredCapacity=0, message="below min value 1")
        self.assertEqual(self.desired("g"), 1)
        self.asg.set_desired_capacity(AutoScalingGroupName="g", DesiredCapacity=3)
        self.assertEqual(len(self.states("g")), 3)

    def test_rule2_update_with_desired_outside_range(self):
        self.group("g", mn=1, mx=3, desired=2)
        self.assertAwsError("ValidationError", self.asg.update_auto_scaling_group,
                            AutoScalingGroupName="g", DesiredCapacity=5)
        self.assertAwsError("ValidationError", self.asg.update_auto_scaling_group,
                            AutoScalingGroupName="g", MaxSize=1, DesiredCapacity=2)
        self.assertAwsError("ValidationError", self.asg.update_auto_scaling_group,
                            AutoScalingGroupName="g", MinSize=4)  # above MaxSize 3
        self.assertAwsError("ValidationError", self.asg.create_auto_scaling_group,
                            AutoScalingGroupName="h", MinSize=0, MaxSize=1, DesiredCapacity=2,
                            LaunchTemplate={"LaunchTemplateName": "web-lt"}, AvailabilityZones=[AZ])
        self.assertEqual(self.desired("g"), 2)

    def test_rule2_update_moving_min_max_drags_desired(self):
        self.group("g", mn=1, mx=4, desired=2)
        self.asg.update_auto_scaling_group(AutoScalingGroupName="g", MinSize=3)
        self.assertEqual(self.desired("g"), 3)
        self.assertEqual(len(self.states("g")), 3)
        self.asg.update_auto_scaling_group(AutoScalingGroupName="g", MinSize=0, MaxSize=1)
        self.assertEqual(self.desired("g"), 1)
        self.assertEqual(len(self.states("g")), 1)
        self.asg.update_auto_scaling_group(AutoScalingGroupName="g", MaxSize=5)  # in range: stays
        self.assertEqual(self.desired("g"), 1)
        # desired, not the instance count, is dragged (moto compares the count of instances)
        (a,) = self.states("g")
        self.asg.enter_standby(AutoScalingGroupName="g", InstanceIds=[a],
                               ShouldDecrementDesiredCapacity=False)  # 2 instances, desired 1
        self.asg.update_auto_scaling_group(AutoScalingGroupName="g", MinSize=2)
        self.assertEqual(self.desired("g"), 2)
        self.assertEqual(sorted(self.states("g").values()), ["InService", "InService", "Standby"])


class Rule3Standby:
    def test_rule3_enter_standby_decrement_below_min_refused(self):
        self.group("g", mn=2, mx=4, desired=2)
        iid = next(iter(self.states("g")))
        self.assertAwsError("ValidationError", self.asg.enter_standby, AutoScalingGroupName="g",
                            InstanceIds=[iid], ShouldDecrementDesiredCapacity=True,
                            message="min-size=2")
        self.assertEqual(set(self.states("g").values()), {"InService"})
        self.asg.update_auto_scaling_group(AutoScalingGroupName="g", MinSize=0)
        self.asg.enter_standby(AutoScalingGroupName="g", InstanceIds=[iid],
                               ShouldDecrementDesiredCapacity=True)
        self.assertEqual(self.states("g")[iid], "Standby")
        self.assertEqual(self.desired("g"), 1)
        self.assertEqual(len(self.states("g")), 2)  # no replacement

    def test_rule3_enter_standby_without_decrement_launches_replacement(self):
        self.group("g", mn=1, mx=4, desired=1)
        iid = next(iter(self.states("g")))
        self.asg.enter_standby(AutoScalingGroupName="g", InstanceIds=[iid],
                               ShouldDecrementDesiredCapacity=False)
        st = self.states("g")
        self.assertEqual(st.pop(iid), "Standby")
        self.assertEqual(list(st.values()), ["InService"])
        self.assertEqual(self.desired("g"), 1)

    def test_rule3_at_most_20_ids(self):
        self.group("g", mn=0, mx=25, desired=21)
        ids = sorted(self.states("g"))
        self.assertAwsError("ValidationError", self.asg.enter_standby, AutoScalingGroupName="g",
                            InstanceIds=ids, ShouldDecrementDesiredCapacity=True,
                            message="less than or equal to 20")
        self.asg.enter_standby(AutoScalingGroupName="g", InstanceIds=ids[:20],
                               ShouldDecrementDesiredCapacity=True)
        self.asg.enter_standby(AutoScalingGroupName="g", InstanceIds=ids[20:],
                               ShouldDecrementDesiredCapacity=True)
        self.assertEqual(self.desired("g"), 0)
        self.assertAwsError("ValidationError", self.asg.exit_standby, AutoScalingGroupName="g",
                            InstanceIds=ids, message="less than or equal to 20")
        self.asg.exit_standby(AutoScalingGroupName="g", InstanceIds=ids[:20])
        self.assertEqual(self.desired("g"), 20)

    def test_rule3_exit_standby_raises_desired_and_checks_max_and_launch(self):
        self.group("g", mn=0, mx=2, desired=2)
        a, b = sorted(self.states("g"))
        self.asg.enter_standby(AutoScalingGroupName="g", InstanceIds=[a],
                               ShouldDecrementDesiredCapacity=True)
        self.assertEqual(self.desired("g"), 1)
        self.asg.suspend_processes(AutoScalingGroupName="g", ScalingProcesses=["Launch"])
        self.assertAwsError("ValidationError", self.asg.exit_standby, AutoScalingGroupName="g",
                            InstanceIds=[a], message="Launch")
        self.asg.resume_processes(AutoScalingGroupName="g", ScalingProcesses=["Launch"])
        self.assertAwsError("ValidationError", self.asg.exit_standby, AutoScalingGroupName="g",
                            InstanceIds=[b], message="not in Standby")
        self.asg.exit_standby(AutoScalingGroupName="g", InstanceIds=[a])
        self.assertEqual(self.desired("g"), 2)
        self.assertEqual(self.states("g"), {a: "InService", b: "InService"})
        # above MaxSize
        self.asg.enter_standby(AutoScalingGroupName="g", InstanceIds=[a],
                               ShouldDecrementDesiredCapacity=False)  # replacement: 2 active again
        self.assertAwsError("ValidationError", self.asg.exit_standby, AutoScalingGroupName="g",
                            InstanceIds=[a], message="max-size=2")

    def test_rule3_only_inservice_instances_enter_standby(self):
        self.group("g", mn=0, mx=2, desired=1)
        (a,) = self.states("g")
        self.asg.enter_standby(AutoScalingGroupName="g", InstanceIds=[a],
                               ShouldDecrementDesiredCapacity=True)
        self.assertAwsError("ValidationError", self.asg.enter_standby, AutoScalingGroupName="g",
                            InstanceIds=[a], ShouldDecrementDesiredCapacity=True,
                            message="not in InService")




class Rule4LifecycleActions:
    HOOK = "autoscaling:EC2_INSTANCE_LAUNCHING"

    def hooked_group(self, name="g", timeout=3600, default="ABANDON"):
        self.group(name, mn=0, mx=3, desired=0)
        self.asg.put_lifecycle_hook(AutoScalingGroupName=name, LifecycleHookName="launch",
                                    LifecycleTransition=self.HOOK, HeartbeatTimeout=timeout,
                                    DefaultResult=default)
        self.asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=1)
        (iid,) = self.states(name)
        return iid

    def test_rule4_pending_wait_until_complete_and_call_recorded(self):
        iid = self.hooked_group()
        for _ in range(3):  # it stays there, however often we look
            self.assertEqual(self.states("g"), {iid: "Pending:Wait"})
        self.asg.record_lifecycle_action_heartbeat(AutoScalingGroupName="g",
                                                   LifecycleHookName="launch", InstanceId=iid)
        r = self.asg.complete_lifecycle_action(AutoScalingGroupName="g", LifecycleHookName="launch",
                                               InstanceId=iid, LifecycleActionResult="CONTINUE")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(self.states("g"), {iid: "InService"})
        calls = self.moto.lifecycle_calls()
        self.assertEqual([(c["action"], c["InstanceId"], c["LifecycleActionResult"], c["error"])
                          for c in calls],
                         [("RecordLifecycleActionHeartbeat", iid, None, None),
                          ("CompleteLifecycleAction", iid, "CONTINUE", None)])
        self.assertEqual(calls[1]["AutoScalingGroupName"], "g")
        self.assertEqual(calls[1]["LifecycleHookName"], "launch")
        # completing again: nothing pending (as after a reboot)
        self.assertAwsError("ValidationError", self.asg.complete_lifecycle_action,
                            AutoScalingGroupName="g", LifecycleHookName="launch", InstanceId=iid,
                            LifecycleActionResult="CONTINUE",
                            message=f"No active Lifecycle Action found with instance ID {iid}")
        self.assertEqual(self.moto.lifecycle_calls()[-1]["error"], "ValidationError")

    def test_rule4_abandon_terminates_and_replaces(self):
        iid = self.hooked_group()
        self.asg.complete_lifecycle_action(AutoScalingGroupName="g", LifecycleHookName="launch",
                                           InstanceId=iid, LifecycleActionResult="ABANDON")
        st = self.states("g")
        self.assertNotIn(iid, st)
        self.assertEqual(list(st.values()), ["Pending:Wait"])  # the replacement waits too
        inst = self.ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
        self.assertIn(inst["State"]["Name"], ("shutting-down", "terminated"))

    def test_rule4_heartbeat_timeout_applies_default_result(self):
        iid = self.hooked_group(timeout=1, default="CONTINUE")
        self.assertEqual(self.states("g"), {iid: "Pending:Wait"})
        bed.wait_until(lambda: self.states("g") == {iid: "InService"}, timeout=5,
                       what="DefaultResult CONTINUE after the heartbeat timeout")
        self.assertAwsError("ValidationError", self.asg.record_lifecycle_action_heartbeat,
                            AutoScalingGroupName="g", LifecycleHookName="launch", InstanceId=iid)

    def test_rule4_hook_in_create_applies_to_first_instances(self):
        self.group("g", mn=1, mx=2, desired=1, LifecycleHookSpecificationList=[
            {"LifecycleHookName": "launch", "LifecycleTransition": self.HOOK}])
        self.assertEqual(list(self.states("g").values()), ["Pending:Wait"])
        hooks = self.asg.describe_lifecycle_hooks(AutoScalingGroupName="g")["LifecycleHooks"]
        self.assertEqual([(h["LifecycleHookName"], h["HeartbeatTimeout"]) for h in hooks],
                         [("launch", 3600)])

    def test_rule4_terminating_hook(self):
        self.group("g", mn=0, mx=2, desired=1)
        (iid,) = self.states("g")
        self.asg.put_lifecycle_hook(AutoScalingGroupName="g", LifecycleHookName="drain",
                                    LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING")
        self.asg.set_desired_capacity(AutoScalingGroupName="g", DesiredCapacity=0)
        self.assertEqual(self.states("g"), {iid: "Terminating:Wait"})
        self.asg.complete_lifecycle_action(AutoScalingGroupName="g", LifecycleHookName="drain",
                                           InstanceId=iid, LifecycleActionResult="CONTINUE")
        self.assertEqual(self.states("g"), {})


class Rule5StandbyLeavesLoadBalancers:
    def test_rule5_standby_instance_deregistered_and_back(self):
        tg = self.target_group()
        lb = self.classic_lb()
        self.group("g", mn=0, mx=3, desired=2, TargetGroupARNs=[tg], LoadBalancerNames=[lb])
        a, b = sorted(self.states("g"))
        self.assertEqual(self.lb_instances(), {a, b})
        self.assertEqual(self.target_states(tg), {a: "healthy", b: "healthy"})
        self.asg.enter_standby(AutoScalingGroupName="g", InstanceIds=[a],
                               ShouldDecrementDesiredCapacity=True)
        self.assertEqual(self.lb_instances(), {b})
        self.assertEqual(self.target_states(tg), {b: "healthy"})
        h = self.elbv2.describe_target_health(TargetGroupArn=tg, Targets=[{"Id": a}])
        self.assertEqual(h["TargetHealthDescriptions"][0]["TargetHealth"]["State"], "unused")
        self.asg.exit_standby(AutoScalingGroupName="g", InstanceIds=[a])
        self.assertEqual(self.lb_instances(), {a, b})
        self.assertEqual(self.target_states(tg), {a: "healthy", b: "healthy"})

    def test_rule5_blue_green_share_classic_elb(self):
        lb = self.classic_lb()
        self.group("app-blue", mn=0, mx=4, desired=2, LoadBalancerNames=[lb])
        blue = set(self.states("app-blue"))
        self.assertEqual(self.lb_instances(), blue)  # first instances registered at creation
        self.group("app-green", mn=0, mx=4, desired=2, LoadBalancerNames=[lb])
        green = set(self.states("app-green"))
        self.assertEqual(self.lb_instances(), blue | green)
        self.asg.set_desired_capacity(AutoScalingGroupName="app-green", DesiredCapacity=3)
        green = set(self.states("app-green"))
        self.assertEqual(self.lb_instances(), blue | green)
        self.asg.update_auto_scaling_group(AutoScalingGroupName="app-blue", MinSize=0, MaxSize=0)
        self.assertEqual(self.states("app-blue"), {})
        self.assertEqual(self.lb_instances(), green)
        states = self.elb.describe_instance_health(LoadBalancerName=lb)["InstanceStates"]
        self.assertEqual({s["InstanceId"]: s["State"] for s in states},
                         {i: "InService" for i in green})

    def test_rule5_blue_green_share_target_group(self):
        tg = self.target_group()
        self.group("app-blue", mn=0, mx=4, desired=2, TargetGroupARNs=[tg])
        self.group("app-green", mn=0, mx=4, desired=1, TargetGroupARNs=[tg])
        blue, green = set(self.states("app-blue")), set(self.states("app-green"))
        self.assertEqual(set(self.target_states(tg)), blue | green)
        self.asg.set_desired_capacity(AutoScalingGroupName="app-blue", DesiredCapacity=0)
        self.assertEqual(set(self.target_states(tg)), green)

    def test_rule5_manually_registered_instance_stays(self):
        lb = self.classic_lb()
        inst = self.ec2.run_instances(ImageId=self.ami, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
        self.elb.register_instances_with_load_balancer(LoadBalancerName=lb, Instances=[{"InstanceId": inst}])
        self.group("g", mn=0, mx=2, desired=1, LoadBalancerNames=[lb])
        self.asg.set_desired_capacity(AutoScalingGroupName="g", DesiredCapacity=0)
        self.assertEqual(self.lb_instances(), {inst})


class Rule6HealthEndpoints:
    def test_rule6_target_health_endpoint(self):
        tg = self.target_group()
        self.group("g", mn=0, mx=2, desired=1, TargetGroupARNs=[tg])
        (iid,) = self.states("g")
        self.assertEqual(self.target_states(tg), {iid: "healthy"})
        for state, reason in (("unhealthy", "Target.FailedHealthChecks"),
                              ("initial", "Elb.RegistrationInProgress"),
                              ("draining", "Target.DeregistrationInProgress"),
                              ("unused", "Target.NotRegistered"), ("healthy", None)):
            self.moto.set_target_health(tg, iid, state)
            d = self.elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
            self.assertEqual(d[0]["TargetHealth"]["State"], state)
            self.assertEqual(d[0]["TargetHealth"].get("Reason"), reason)
        self.moto.set_target_health(tg, iid, "unhealthy", reason="Target.Timeout")
        d = self.elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
        self.assertEqual(d[0]["TargetHealth"]["Reason"], "Target.Timeout")
        with self.assertRaises(RuntimeError):
            self.moto.set_target_health(tg, iid, "bogus")

    def test_rule6_classic_elb_state_endpoint(self):
        lb = self.classic_lb()
        self.group("g", mn=0, mx=2, desired=1, LoadBalancerNames=[lb])
        (iid,) = self.states("g")
        health = lambda: self.elb.describe_instance_health(LoadBalancerName=lb)["InstanceStates"][0]["State"]
        self.assertEqual(health(), "InService")
        self.moto.set_elb_instance_state(lb, iid, "OutOfService")
        self.assertEqual(health(), "OutOfService")
        self.moto.set_elb_instance_state(lb, iid, "InService")
        self.assertEqual(health(), "InService")

    def test_rule6_new_target_initial_until_passing_check(self):
        self.moto.set_delays(healthy=None)  # never passes by itself
        tg = self.target_group()
        lb = self.classic_lb()
        self.group("g", mn=0, mx=2, desired=1, TargetGroupARNs=[tg], LoadBalancerNames=[lb])
        (iid,) = self.states("g")
        self.assertEqual(self.target_states(tg), {iid: "initial"})
        h = self.elb.describe_instance_health(LoadBalancerName=lb)["InstanceStates"][0]
        self.assertEqual((h["State"], h["ReasonCode"]), ("OutOfService", "ELB"))
        self.moto.set_target_health(tg, iid, "healthy")
        self.assertEqual(self.target_states(tg), {iid: "healthy"})
        self.moto.set_delays(healthy=0.5)
        bed.wait_until(lambda: self.elb.describe_instance_health(LoadBalancerName=lb)
                       ["InstanceStates"][0]["State"] == "InService", timeout=5)

    def test_rule6_target_health_only_if_registered(self):
        self.moto.set_delays(healthy=None, draining=30)
        tg = self.target_group()
        self.group("g", mn=0, mx=2, desired=1, TargetGroupARNs=[tg])
        (iid,) = self.states("g")
        self.assertEqual(self.moto.set_target_health(tg, iid, "healthy", if_registered=True),
                         {"ok": True, "applied": True})
        self.assertEqual(self.target_states(tg), {iid: "healthy"})
        self.asg.enter_standby(AutoScalingGroupName="g", InstanceIds=[iid],
                               ShouldDecrementDesiredCapacity=True)
        # Deregistered (draining): a late check sets nothing, the target keeps draining.
        self.assertEqual(self.moto.set_target_health(tg, iid, "healthy", if_registered=True),
                         {"ok": True, "applied": False})
        self.assertEqual(self.target_states(tg), {iid: "draining"})

    def test_rule6_deregistered_target_drains(self):
        self.moto.set_delays(draining=30)
        tg = self.target_group()
        self.group("g", mn=0, mx=2, desired=1, TargetGroupARNs=[tg])
        (iid,) = self.states("g")
        self.asg.enter_standby(AutoScalingGroupName="g", InstanceIds=[iid],
                               ShouldDecrementDesiredCapacity=True)
        self.assertEqual(self.target_states(tg), {iid: "draining"})
        self.moto.set_delays(draining=0)
        self.assertEqual(self.target_states(tg), {})


class Rule7Terminate:
    def test_rule7_terminate_standby_never_below_zero(self):
        self.group("g", mn=0, mx=2, desired=2)
        a, b = sorted(self.states("g"))
        self.asg.enter_standby(AutoScalingGroupName="g", InstanceIds=[a],
                               ShouldDecrementDesiredCapacity=True)
        self.asg.update_auto_scaling_group(AutoScalingGroupName="g", MinSize=0, MaxSize=2,
                                           DesiredCapacity=0)
        self.assertEqual(self.states("g"), {a: "Standby"})
        self.asg.terminate_instance_in_auto_scaling_group(InstanceId=a,
                                                          ShouldDecrementDesiredCapacity=True)
        self.assertEqual(self.desired("g"), 0)
        self.assertEqual(self.states("g"), {})

    def test_rule7_terminate_standby_takes_no_other_instance(self):
        self.group("g", mn=0, mx=2, desired=2)
        a, b = sorted(self.states("g"))
        self.asg.enter_standby(AutoScalingGroupName="g", InstanceIds=[a],
                               ShouldDecrementDesiredCapacity=True)
        for decrement in (True, False):
            with self.subTest(decrement=decrement):
                if not decrement:
                    self.asg.set_desired_capacity(AutoScalingGroupName="g", DesiredCapacity=2)
                    a = next(i for i, s in self.states("g").items() if i != b)
                    self.asg.enter_standby(AutoScalingGroupName="g", InstanceIds=[a],
                                           ShouldDecrementDesiredCapacity=True)
                self.asg.terminate_instance_in_auto_scaling_group(
                    InstanceId=a, ShouldDecrementDesiredCapacity=decrement)
                self.assertEqual(self.desired("g"), 1)
                self.assertEqual(self.states("g"), {b: "InService"})  # no replacement either

    def test_rule7_standby_terminated_outside_auto_scaling_still_listed(self):
        self.group("g", mn=0, mx=2, desired=1)
        (a,) = self.states("g")
        self.asg.enter_standby(AutoScalingGroupName="g", InstanceIds=[a],
                               ShouldDecrementDesiredCapacity=True)
        self.ec2.terminate_instances(InstanceIds=[a])
        inst = self.asg.describe_auto_scaling_instances(InstanceIds=[a])["AutoScalingInstances"]
        self.assertEqual([(i["LifecycleState"], i["HealthStatus"]) for i in inst],
                         [("Standby", "HEALTHY")])
        self.asg.terminate_instance_in_auto_scaling_group(InstanceId=a,
                                                          ShouldDecrementDesiredCapacity=False)
        self.assertEqual(self.states("g"), {})

    def test_rule7_terminate_inservice(self):
        self.group("g", mn=1, mx=2, desired=1)
        (a,) = self.states("g")
        self.assertAwsError("ValidationError", self.asg.terminate_instance_in_auto_scaling_group,
                            InstanceId=a, ShouldDecrementDesiredCapacity=True, message="min size")
        self.asg.terminate_instance_in_auto_scaling_group(InstanceId=a,
                                                          ShouldDecrementDesiredCapacity=False)
        st = self.states("g")
        self.assertNotIn(a, st)
        self.assertEqual(list(st.values()), ["InService"])  # replaced
        self.assertEqual(self.desired("g"), 1)


class Delays:
    def test_delays_pending_then_inservice(self):
        self.moto.set_delays(pending=0.5)
        self.group("g", mn=0, mx=2, desired=1)
        (iid,) = self.states("g")
        self.assertEqual(self.states("g")[iid], "Pending")
        bed.wait_until(lambda: self.states("g")[iid] == "InService", timeout=5, what="InService")

    def test_delays_pending_instance_registered_only_when_inservice(self):
        self.moto.set_delays(pending=0.5)
        tg = self.target_group()
        self.group("g", mn=0, mx=2, desired=1, TargetGroupARNs=[tg])
        (iid,) = self.states("g")
        self.assertEqual(self.target_states(tg), {})
        bed.wait_until(lambda: self.target_states(tg) == {iid: "healthy"}, timeout=5)

    def test_delays_launch_hook_with_pending_delay(self):
        self.moto.set_delays(pending=0.5)
        self.group("g", mn=0, mx=2, desired=0)
        self.asg.put_lifecycle_hook(AutoScalingGroupName="g", LifecycleHookName="launch",
                                    LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING")
        self.asg.set_desired_capacity(AutoScalingGroupName="g", DesiredCapacity=1)
        (iid,) = self.states("g")
        self.assertEqual(self.states("g")[iid], "Pending:Wait")
        self.asg.complete_lifecycle_action(AutoScalingGroupName="g", LifecycleHookName="launch",
                                           InstanceId=iid, LifecycleActionResult="CONTINUE")
        bed.wait_until(lambda: self.states("g")[iid] == "InService", timeout=5)

    def test_delays_entering_standby_then_standby(self):
        self.moto.set_delays(entering_standby=0.5)
        lb = self.classic_lb()
        self.group("g", mn=0, mx=2, desired=1, LoadBalancerNames=[lb])
        (iid,) = self.states("g")
        self.asg.enter_standby(AutoScalingGroupName="g", InstanceIds=[iid],
                               ShouldDecrementDesiredCapacity=True)
        self.assertEqual(self.states("g"), {iid: "EnteringStandby"})
        self.assertEqual(self.lb_instances(), set())
        self.assertAwsError("ValidationError", self.asg.exit_standby, AutoScalingGroupName="g",
                            InstanceIds=[iid])
        bed.wait_until(lambda: self.states("g") == {iid: "Standby"}, timeout=5)

    def test_delays_terminating_then_gone(self):
        self.moto.set_delays(terminating=0.5)
        self.group("g", mn=0, mx=2, desired=1)
        (iid,) = self.states("g")
        self.asg.set_desired_capacity(AutoScalingGroupName="g", DesiredCapacity=0)
        self.assertEqual(self.states("g"), {iid: "Terminating"})
        self.assertAwsError("ScalingActivityInProgress", self.asg.delete_auto_scaling_group,
                            AutoScalingGroupName="g")
        bed.wait_until(lambda: self.states("g") == {}, timeout=5)
        inst = self.ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
        self.assertIn(inst["State"]["Name"], ("shutting-down", "terminated"))
        self.asg.delete_auto_scaling_group(AutoScalingGroupName="g")

    def test_delays_delete_group_with_instances_needs_force(self):
        self.group("g", mn=0, mx=2, desired=1)
        (iid,) = self.states("g")
        self.assertAwsError("ResourceInUse", self.asg.delete_auto_scaling_group,
                            AutoScalingGroupName="g")
        self.asg.delete_auto_scaling_group(AutoScalingGroupName="g", ForceDelete=True)
        self.assertEqual(self.asg.describe_auto_scaling_groups()["AutoScalingGroups"], [])
        inst = self.ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
        self.assertIn(inst["State"]["Name"], ("shutting-down", "terminated"))

    def test_delays_zero_delays_all_immediate(self):
        self.assertEqual(set(self.moto.delays().values()), {0.0})
        tg = self.target_group()
        lb = self.classic_lb()
        self.group("g", mn=0, mx=3, desired=2, TargetGroupARNs=[tg], LoadBalancerNames=[lb])
        a, b = sorted(self.states("g"))
        self.assertEqual(self.states("g"), {a: "InService", b: "InService"})
        self.assertEqual(self.target_states(tg), {a: "healthy", b: "healthy"})
        health = self.elb.describe_instance_health(LoadBalancerName=lb)["InstanceStates"]
        self.assertEqual({h["State"] for h in health}, {"InService"})
        self.asg.enter_standby(AutoScalingGroupName="g", InstanceIds=[a],
                               ShouldDecrementDesiredCapacity=True)
        self.assertEqual(self.states("g"), {a: "Standby", b: "InService"})
        self.asg.set_desired_capacity(AutoScalingGroupName="g", DesiredCapacity=0)
        self.assertEqual(self.states("g"), {a: "Standby"})


class TestDefaultDelays(BedCase):
    """Without --zero-delays the same code paths take time."""
    zero_delays = False

    def test_defaults_are_not_zero(self):
        delays = self.moto.delays()
        self.assertTrue(all(v > 0 for v in delays.values()), delays)
        tg = self.target_group()
        self.group("g", mn=0, mx=2, desired=1, TargetGroupARNs=[tg])
        (iid,) = self.states("g")
        self.assertEqual(self.states("g"), {iid: "Pending"})
        self.moto.set_delays(pending=0)
        self.assertEqual(self.states("g"), {iid: "InService"})
        self.assertEqual(self.target_states(tg), {iid: "initial"})
        self.moto.reset()
        self.assertEqual(self.moto.delays(), delays)


class Rule8EverythingElse:
    def test_rule8_other_apis(self):
        self.group("g", mn=0, mx=2, desired=1, Tags=[
            {"Key": "docker:image:name", "Value": "web", "PropagateAtLaunch": True}])
        # tags
        self.asg.create_or_update_tags(Tags=[{"ResourceId": "g", "ResourceType": "auto-scaling-group",
                                              "Key": "color", "Value": "blue", "PropagateAtLaunch": False}])
        tags = self.asg.describe_tags(Filters=[{"Name": "auto-scaling-group", "Values": ["g"]}])["Tags"]
        self.assertEqual({t["Key"]: t["Value"] for t in tags}, {"docker:image:name": "web", "color": "blue"})
        self.asg.delete_tags(Tags=[{"ResourceId": "g", "ResourceType": "auto-scaling-group", "Key": "color"}])
        tags = self.asg.describe_tags(Filters=[{"Name": "auto-scaling-group", "Values": ["g"]}])["Tags"]
        self.assertEqual([t["Key"] for t in tags], ["docker:image:name"])
        (iid,) = self.states("g")
        inst = self.ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
        itags = {t["Key"]: t["Value"] for t in inst["Tags"]}
        self.assertEqual(itags["docker:image:name"], "web")
        self.assertEqual(itags["aws:autoscaling:groupName"], "g")
        # processes
        self.asg.suspend_processes(AutoScalingGroupName="g", ScalingProcesses=["AZRebalance"])
        self.assertEqual([p["ProcessName"] for p in self.describe("g")["SuspendedProcesses"]],
                         ["AZRebalance"])
        self.asg.resume_processes(AutoScalingGroupName="g", ScalingProcesses=["AZRebalance"])
        self.assertEqual(self.describe("g")["SuspendedProcesses"], [])
        # describe instances
        inst = self.asg.describe_auto_scaling_instances(InstanceIds=[iid])["AutoScalingInstances"][0]
        self.assertEqual((inst["AutoScalingGroupName"], inst["LifecycleState"]), ("g", "InService"))
        # CloudWatch alarm pointing at a policy
        arn = self.asg.put_scaling_policy(AutoScalingGroupName="g", PolicyName="up",
                                          AdjustmentType="ChangeInCapacity",
                                          ScalingAdjustment=1)["PolicyARN"]
        cw = self.moto.client("cloudwatch")
        cw.put_metric_alarm(AlarmName="cpu-high", MetricName="CPUUtilization", Namespace="AWS/EC2",
                            Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=80,
                            ComparisonOperator="GreaterThanThreshold", AlarmActions=[arn])
        alarm = cw.describe_alarms(AlarmNames=["cpu-high"])["MetricAlarms"][0]
        self.assertEqual(alarm["AlarmActions"], [arn])
        # STS, IAM, ECR
        ident = self.moto.client("sts").get_caller_identity()
        self.assertRegex(ident["Account"], r"^\d{12}$")
        self.moto.client("iam").create_user(UserName="deployer")
        ecr = self.moto.client("ecr")
        ecr.create_repository(repositoryName="web")
        auth = ecr.get_authorization_token()["authorizationData"][0]
        self.assertTrue(auth["authorizationToken"])
        # warm pool / instance protection still answer
        self.asg.set_instance_protection(AutoScalingGroupName="g", InstanceIds=[iid],
                                         ProtectedFromScaleIn=True)
        self.asg.set_desired_capacity(AutoScalingGroupName="g", DesiredCapacity=0)
        self.assertEqual(self.states("g"), {iid: "InService"})  # protected from scale-in

    def test_rule8_suspended_launch_holds_scale_out_until_resumed(self):
        self.group("g", mn=0, mx=3, desired=0)
        self.asg.suspend_processes(AutoScalingGroupName="g", ScalingProcesses=["Launch"])
        self.asg.set_desired_capacity(AutoScalingGroupName="g", DesiredCapacity=2)
        self.assertEqual(self.states("g"), {})
        self.asg.resume_processes(AutoScalingGroupName="g", ScalingProcesses=["Launch"])
        self.assertEqual(len(self.states("g")), 2)

    def test_rule8_external_terminate_replaced(self):
        self.group("g", mn=1, mx=2, desired=1)
        (iid,) = self.states("g")
        self.ec2.terminate_instances(InstanceIds=[iid])
        st = self.states("g")
        self.assertNotIn(iid, st)
        self.assertEqual(len(st), 1)


class Rule9AlarmPages:
    def alarms(self, cw, n, prefix="a-"):
        for i in range(n):
            cw.put_metric_alarm(AlarmName=f"{prefix}{i:03d}", MetricName="m", Namespace="n",
                                Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanThreshold")

    def test_rule9_describe_alarms_pages_names_and_types(self):
        cw = self.moto.client("cloudwatch")
        self.alarms(cw, 121)  # moto 5.2.1 has no PutCompositeAlarm
        # 50 a page by default, MaxRecords up to 100, NextToken for the rest.
        page = cw.describe_alarms(AlarmNamePrefix="a-")
        self.assertEqual(len(page["MetricAlarms"]), 50)
        seen, token = [], None
        while True:
            kw = {"NextToken": token} if token else {}
            page = cw.describe_alarms(AlarmNamePrefix="a-", MaxRecords=100,
                                      AlarmTypes=["CompositeAlarm", "MetricAlarm"], **kw)
            seen += [a["AlarmName"] for a in page["MetricAlarms"] + page["CompositeAlarms"]]
            token = page.get("NextToken")
            if not token:
                break
        self.assertEqual(sorted(seen), [f"a-{i:03d}" for i in range(121)])
        self.assertAwsError("ValidationError", cw.describe_alarms,
                            AlarmNames=[f"a-{i:03d}" for i in range(101)], message="100")
        got = cw.describe_alarms(AlarmNames=[f"a-{i:03d}" for i in range(100)], MaxRecords=100)
        self.assertEqual(len(got["MetricAlarms"]), 100)


class TestPatchedMoto(BedCase, Rule1PerGroupNames, Rule2DesiredWithinRange, Rule3Standby,
                      Rule4LifecycleActions, Rule5StandbyLeavesLoadBalancers,
                      Rule6HealthEndpoints, Rule7Terminate, Rule8EverythingElse, Delays,
                      Rule9AlarmPages):
    """Every rule against one zero-delay server (tests that need delays set them)."""


class TestAuthCount(BedCase):
    """--auth-count K: the first K calls pass unchecked, then SigV4 and IAM are checked."""
    auth_count = 2

    def test_auth_checked_after_count(self):
        iam = self.moto.client("iam")
        iam.create_user(UserName="deployer")
        key = iam.create_access_key(UserName="deployer")["AccessKey"]
        with self.assertRaises(ClientError) as cm:
            self.moto.client("sts").get_caller_identity()
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidClientTokenId")
        import boto3
        sts = boto3.session.Session().client(
            "sts", region_name="us-east-1", endpoint_url=self.moto.url,
            aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
        self.assertIn("deployer", sts.get_caller_identity()["Arn"])


class TestEventsAuth(BedCase):
    """moto_events.py: PutEvents is authorised against its bus (rule 1), and a denied call
    is answered in the JSON protocol (rule 2)."""
    auth_count = 10**6

    def test_put_events_is_authorised_per_bus(self):
        import json
        import boto3
        from botocore.config import Config
        iam, events = self.moto.client("iam"), self.moto.client("events")
        events.create_event_bus(Name="other")
        iam.create_user(UserName="publisher")
        iam.put_user_policy(UserName="publisher", PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "events:PutEvents",
                "Resource": "arn:aws:events:*:*:event-bus/default"}]}))
        key = iam.create_access_key(UserName="publisher")["AccessKey"]
        self.moto.reset_auth(0)
        mine = boto3.session.Session().client(
            "events", region_name="us-east-1", endpoint_url=self.moto.url,
            aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
            config=Config(retries={"mode": "standard", "max_attempts": 1}, proxies={}))
        entry = {"Source": "asgswap", "DetailType": "t", "Detail": "{}"}
        for bus in (None, "default", "arn:aws:events:us-east-1:123456789012:event-bus/default"):
            e = dict(entry, EventBusName=bus) if bus else entry
            self.assertEqual(mine.put_events(Entries=[e])["FailedEntryCount"], 0, bus)
        for bus in ("other", "arn:aws:events:us-east-1:123456789012:event-bus/other"):
            with self.assertRaises(ClientError) as cm:
                mine.put_events(Entries=[dict(entry, EventBusName=bus)])
            err = cm.exception.response
            self.assertEqual(err["Error"]["Code"], "AccessDeniedException", bus)
            self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 403)
            self.assertIn("not authorized to perform: events:PutEvents", err["Error"]["Message"])
        # Entries for two buses: only a policy that allows every resource passes.
        with self.assertRaises(ClientError):
            mine.put_events(Entries=[entry, dict(entry, EventBusName="other")])


if __name__ == "__main__":
    unittest.main()

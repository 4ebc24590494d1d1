#!/usr/bin/env python3
"""Captures, once, the observations the plan unit tests start from (tests/unit/test_ctl_plan.c):
for each state of the state table and each resume point of deploy, rollback and finalize,
the DescribeAutoScalingGroups and DescribeTargetHealth answers moto gives for a blue/green
pair behind one target group. A resume point is made the way a crash makes it: the command
stopped by a call that fails. Writes tests/data/plans/NAME.groups.xml and NAME.tg.xml.

    python3 tests/tools/capture_plans.py [NAME...]   (only these, when named)
"""
import os
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "fixtures"))
os.environ.setdefault("ASGSWAP_TOP", TOP)

import bed  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402
from motobed import Moto  # noqa: E402

IMAGE = "registry.example/web"
OUT = os.path.join(TOP, "tests", "data", "plans")
FAST = ("--poll", "0.05")
ONLY = set(sys.argv[1:])


class Bed:
    def __init__(self, moto):
        self.moto = moto
        self.asg, self.ec2 = moto.client("autoscaling"), moto.client("ec2")
        self.elbv2 = moto.client("elbv2")
        self.cw = moto.client("cloudwatch")
        self.raw = {}
        for c, op in ((self.asg, "DescribeAutoScalingGroups"),
                      (self.elbv2, "DescribeTargetHealth")):
            c.meta.events.register(f"before-parse.*.{op}", self.keep(op))

    def keep(self, op):
        def hook(response_dict=None, **kw):
            self.raw[op] = response_dict["body"]
        return hook

    def setup(self, live=2):
        self.moto.reset()
        ami = self.ec2.describe_images()["Images"][0]["ImageId"]
        vpc = self.ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        self.ec2.create_launch_template(LaunchTemplateName="web-lt", LaunchTemplateData={
            "ImageId": ami, "InstanceType": "t3.micro"})
        self.tg = self.elbv2.create_target_group(
            Name="web-tg", Protocol="HTTP", Port=8080, VpcId=vpc,
            TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
        for colour, n, version in (("blue", live, "1.0"), ("green", 0, None)):
            tags = [{"Key": "docker:image:name", "Value": IMAGE, "PropagateAtLaunch": True}]
            if version:
                tags.append({"Key": "docker:image:version", "Value": version,
                             "PropagateAtLaunch": True})
            for t in tags:
                t.update(ResourceId=f"web-{colour}", ResourceType="auto-scaling-group")
            self.asg.create_auto_scaling_group(
                AutoScalingGroupName=f"web-{colour}", MinSize=min(1, n), MaxSize=4,
                DesiredCapacity=n, LaunchTemplate={"LaunchTemplateName": "web-lt"},
                AvailabilityZones=["us-east-1a"], Tags=tags, TargetGroupARNs=[self.tg])

    def ctl(self, *args, fail=None, ok=True):
        env = bed.base_env(AWS_ENDPOINT_URL=self.moto.url)
        if fail is None:
            p = bed.run("asgswap", *args, *FAST, env=env)
        else:
            with FaultProxy(self.moto.url) as proxy:
                action, nth = fail
                proxy.add_rule(type="error", action=action, status=400, nth=nth,
                               code="AccessDenied", message="stopped here")
                p = bed.run("asgswap", *args, *FAST,
                            env=bed.base_env(AWS_ENDPOINT_URL=proxy.url))
        if ok and fail is None and p.returncode != 0:
            raise SystemExit(f"asgswap {args}: {p.stderr}")
        return p

    def killed_in(self, phase, *args):
        """Runs asgswap until the release record says phase, then SIGKILLs it (and clears
        the dead run's lock, as an operator would with unlock)."""
        env = bed.base_env(AWS_ENDPOINT_URL=self.moto.url)
        proc = subprocess.Popen([bed.binary("asgswap"), *args, *FAST], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            bed.wait_until(lambda: self.release().endswith(":" + phase), timeout=30,
                           what=f"release phase {phase}")
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        self.ctl("unlock", IMAGE, "--force")

    def release(self):
        g = self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=["web-blue"])[
            "AutoScalingGroups"][0]
        return {t["Key"]: t["Value"] for t in g["Tags"]}.get("asgswap:release", "")

    def alarm(self, name):
        self.cw.put_metric_alarm(
            AlarmName=name, MetricName="HTTPCode_Target_5XX_Count",
            Namespace="AWS/ApplicationELB", Statistic="Sum", Period=10, EvaluationPeriods=1,
            Threshold=5, ComparisonOperator="GreaterThanThreshold")
        self.cw.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="capture")

    def capture(self, name):
        if ONLY and name not in ONLY:
            return
        self.asg.describe_auto_scaling_groups(Filters=[
            {"Name": "tag:docker:image:name", "Values": [IMAGE]}])
        self.elbv2.describe_target_health(TargetGroupArn=self.tg)
        for op, suffix in (("DescribeAutoScalingGroups", "groups"),
                           ("DescribeTargetHealth", "tg")):
            with open(os.path.join(OUT, f"{name}.{suffix}.xml"), "wb") as f:
                f.write(self.raw[op])
        print("captured", name)


def main():
    moto = Moto(zero_delays=True)
    try:
        b = Bed(moto)
        # The states of the table: blue live, green idle.
        b.setup()
        b.capture("live-idle")
        # launching: green pinned, its targets never healthy.
        b.setup()
        moto.set_delays(healthy=None)
        for i in b.asg.describe_auto_scaling_groups(AutoScalingGroupNames=["web-blue"])[
                "AutoScalingGroups"][0]["Instances"]:
            moto.set_target_health(b.tg, i["InstanceId"], "healthy")
        b.ctl("deploy", IMAGE, "2.0", "--timeout", "0.5", ok=False)
        b.asg.update_auto_scaling_group(AutoScalingGroupName="web-green", MinSize=2,
                                        MaxSize=2, DesiredCapacity=2)
        b.capture("launching")
        moto.set_delays(healthy=0)
        # live and standby: a deploy done.
        b.setup()
        b.ctl("deploy", IMAGE, "2.0")
        b.capture("standby-live")
        # moving: a rolled-back set whose instances are still terminating.
        moto.set_delays(terminating=30.0)
        b.ctl("rollback", IMAGE)
        b.capture("live-moving")
        moto.set_delays(terminating=0)
        # mixed: one instance of the live set put in Standby by hand.
        b.setup()
        ids = [i["InstanceId"] for i in b.asg.describe_auto_scaling_groups(
            AutoScalingGroupNames=["web-blue"])["AutoScalingGroups"][0]["Instances"]]
        b.asg.enter_standby(AutoScalingGroupName="web-blue", InstanceIds=ids[:1],
                            ShouldDecrementDesiredCapacity=False)
        b.capture("mixed-idle")
        # mixed: beside the Standby one, an instance in service that its target group
        # holds unhealthy, so the set has fewer serving than desired.
        moto.set_target_health(b.tg, ids[1], "unhealthy", reason="Target.FailedHealthChecks")
        b.capture("mixed")
        # Resume points of deploy: stopped by a failing call.
        for name, fail in (("deploy-stopped-launching", ("UpdateAutoScalingGroup", 1)),
                           ("deploy-stopped-moving", ("DescribePolicies", 1)),
                           ("deploy-stopped-standby", ("EnterStandby", 1))):
            b.setup()
            b.ctl("deploy", IMAGE, "2.0", fail=fail)
            b.capture(name)
        # Resume points of a canary release (--steps 50,100 with bakes and an alarm):
        # stopped at its first pin, paused after step 1, killed during the bake of step 1
        # and during the bake after the switch.
        canary = ("deploy", IMAGE, "2.0", "--steps", "50,100", "--bake", "3600",
                  "--bake-after", "3600", "--alarm", "web-5xx")
        b.setup(live=4)
        b.alarm("web-5xx")
        b.ctl(*canary, fail=("UpdateAutoScalingGroup", 1))
        b.capture("canary-stopped-launching")
        b.setup(live=4)
        b.ctl("deploy", IMAGE, "2.0", "--steps", "50,100", "--pause")
        b.capture("canary-paused")
        b.setup(live=4)
        b.alarm("web-5xx")
        b.killed_in("baking", *canary)
        b.capture("canary-baking")
        b.setup(live=4)
        b.alarm("web-5xx")
        b.killed_in("baking", "deploy", IMAGE, "2.0", "--steps", "100", "--bake-after", "3600",
                    "--alarm", "web-5xx")
        b.capture("canary-baking-after")
        # Resume points of rollback and finalize.
        b.setup()
        b.ctl("deploy", IMAGE, "2.0")
        b.ctl("rollback", IMAGE, fail=("ExitStandby", 1))
        b.capture("rollback-stopped-exit-standby")
        b.ctl("rollback", IMAGE, fail=("UpdateAutoScalingGroup", 2))
        b.capture("rollback-stopped-emptying")
        b.setup()
        b.ctl("deploy", IMAGE, "2.0")
        b.ctl("finalize", IMAGE, fail=("DeleteTags", 1))
        b.capture("finalize-stopped-records")
    finally:
        moto.stop()


if __name__ == "__main__":
    main()

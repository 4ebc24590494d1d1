"""What the controller suites share (no tests here): a moto per class, a service of group
pairs set up with boto3, and running `asgswap` against it."""
import json
import unittest

import bed
import motobed

AZ = "us-east-1a"
IMAGE = "registry.example/web"
# The lock's settle time in these suites: short, so that many runs do not each wait 2 s.
LOCK_SETTLE_S = 1
_AMI = []


class CtlCase(unittest.TestCase):
    """One patched moto per class, reset before every test; boto3 clients as attributes."""
    zero_delays = True

    @classmethod
    def setUpClass(cls):
        cls.moto = motobed.Moto(zero_delays=cls.zero_delays)
        cls.addClassCleanup(cls.moto.stop)
        cls.asg = cls.moto.client("autoscaling")
        cls.ec2 = cls.moto.client("ec2")
        cls.elb = cls.moto.client("elb")
        cls.elbv2 = cls.moto.client("elbv2")
        cls.cw = cls.moto.client("cloudwatch")

    def setUp(self):
        self.moto.reset()
        if not _AMI:
            _AMI.append(self.ec2.describe_images()["Images"][0]["ImageId"])
        self.vpc = self.ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        self.ec2.create_launch_template(LaunchTemplateName="web-lt", LaunchTemplateData={
            "ImageId": _AMI[0], "InstanceType": "t3.micro"})
        self.endpoint = self.moto.url

    # -- service set-up (boto3) ---------------------------------------------------------
    def target_group(self, name):
        return self.elbv2.create_target_group(Name=name, Protocol="HTTP", Port=8080,
                                              VpcId=self.vpc, TargetType="instance"
                                              )["TargetGroups"][0]["TargetGroupArn"]

    def classic_lb(self, name):
        self.elb.create_load_balancer(LoadBalancerName=name, AvailabilityZones=[AZ], Listeners=[
            {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 8080}])
        return name

    def group(self, name, mn=0, mx=4, desired=0, version=None, image=IMAGE, tgs=None, clbs=None,
              hook=False, extra_tags=()):
        tags = [{"Key": "docker:image:name", "Value": image, "PropagateAtLaunch": True}]
        if version:
            tags.append({"Key": "docker:image:version", "Value": version,
                         "PropagateAtLaunch": True})
        tags += [dict(t, PropagateAtLaunch=False) for t in extra_tags]
        for t in tags:
            t.update(ResourceId=name, ResourceType="auto-scaling-group")
        kw = dict(AutoScalingGroupName=name, MinSize=mn, MaxSize=mx, DesiredCapacity=desired,
                  LaunchTemplate={"LaunchTemplateName": "web-lt"}, AvailabilityZones=[AZ], Tags=tags)
        if tgs:
            kw["TargetGroupARNs"] = tgs
        if clbs:
            kw["LoadBalancerNames"] = clbs
        if hook:
            kw["LifecycleHookSpecificationList"] = [{
                "LifecycleHookName": "launch", "HeartbeatTimeout": 600, "DefaultResult": "ABANDON",
                "LifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING"}]
        self.asg.create_auto_scaling_group(**kw)
        return name

    def pair(self, base, live=2, mn=1, mx=4, version="1.0", lb="tg", hook=False):
        """A blue group live at `live` instances and an idle green one. lb: tg, clb, none."""
        tgs = clbs = None
        if lb == "tg":
            tgs = [self.target_group(base + "-tg")]
        elif lb == "clb":
            clbs = [self.classic_lb(base + "-clb")]
        self.group(base + "-blue", mn=min(mn, live), mx=mx, desired=live, version=version, tgs=tgs,
                   clbs=clbs, hook=hook)
        self.group(base + "-green", mn=0, mx=mx, desired=0, tgs=tgs, clbs=clbs, hook=hook)
        if hook:
            self.complete_hooks(base + "-blue")
        return tgs, clbs

    def complete_hooks(self, name):
        """Complete the launch hook of every instance waiting in Pending:Wait (as the agent)."""
        for i in self.describe(name)["Instances"]:
            if i["LifecycleState"] == "Pending:Wait":
                self.asg.complete_lifecycle_action(
                    AutoScalingGroupName=name, LifecycleHookName="launch",
                    InstanceId=i["InstanceId"], LifecycleActionResult="CONTINUE")

    # -- observing (boto3) --------------------------------------------------------------
    def describe(self, name):
        return self.asg.describe_auto_scaling_groups(
            AutoScalingGroupNames=[name])["AutoScalingGroups"][0]

    def sizes(self, name):
        g = self.describe(name)
        return g["MinSize"], g["MaxSize"], g["DesiredCapacity"]

    def states(self, name):
        return sorted(i["LifecycleState"] for i in self.describe(name)["Instances"])

    def tags(self, name):
        return {t["Key"]: t["Value"] for t in self.describe(name).get("Tags", [])}

    def policies(self, name):
        return sorted(p["PolicyName"] for p in
                      self.asg.describe_policies(AutoScalingGroupName=name)["ScalingPolicies"])

    # -- running asgswap ----------------------------------------------------------------
    def alarm(self, name, period=10, evaluations=1, state=None):
        """A CloudWatch metric alarm (boto3), in `state` when given."""
        self.cw.put_metric_alarm(
            AlarmName=name, MetricName="HTTPCode_Target_5XX_Count", Namespace="AWS/ApplicationELB",
            Statistic="Sum", Period=period, EvaluationPeriods=evaluations, Threshold=5,
            ComparisonOperator="GreaterThanThreshold")
        if state:
            self.fire(name, state)

    def fire(self, name, state="ALARM"):
        self.cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")

    def env(self, **extra):
        # The lock's settle time is 2 s by default: 1 s keeps the many runs of these suites
        # short and is still far above a tag write on moto (test_ctl_lock races at 2 s).
        return bed.base_env(**dict({"AWS_ENDPOINT_URL": self.endpoint,
                                    "ASGSWAP_LOCK_SETTLE": str(LOCK_SETTLE_S)}, **extra))

    def run_ctl(self, *args, env=None, timeout=60):
        return bed.run("asgswap", *args, env=env or self.env(), timeout=timeout)

    def ok(self, *args, **kw):
        p = self.run_ctl(*args, **kw)
        self.assertEqual(p.returncode, 0, f"asgswap {' '.join(args)}:\n{p.stdout}\n{p.stderr}")
        return p

    def status(self, image=IMAGE, *extra):
        """The document of one service (`status --output json` lists the services)."""
        p = self.ok("--output", "json", "status", image, *extra)
        services = json.loads(p.stdout)["services"]
        self.assertEqual(len(services), 1, services)
        return services[0]

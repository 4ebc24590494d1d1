"""common/lifecycle.c (the Auto Scaling calls the agent and the controller share), through
tests/tools/asglifecycle against the patched moto; state is checked with boto3 and the
moto patch's record of lifecycle calls."""
import unittest

import bed
from motobed import Moto

AZ = "us-east-1a"
LAUNCHING = "autoscaling:EC2_INSTANCE_LAUNCHING"


class LifecycleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = Moto()
        cls.addClassCleanup(cls.moto.stop)
        cls.asg = cls.moto.client("autoscaling")
        ec2 = cls.moto.client("ec2")
        ami = ec2.describe_images()["Images"][0]["ImageId"]
        ec2.create_launch_template(LaunchTemplateName="web-lt", LaunchTemplateData={
            "ImageId": ami, "InstanceType": "t3.micro"})
        cls.asg.create_auto_scaling_group(
            AutoScalingGroupName="web-blue", MinSize=0, MaxSize=2, DesiredCapacity=1,
            LaunchTemplate={"LaunchTemplateName": "web-lt"}, AvailabilityZones=[AZ],
            LifecycleHookSpecificationList=[
                {"LifecycleHookName": "launch", "LifecycleTransition": LAUNCHING,
                 "HeartbeatTimeout": 900, "DefaultResult": "CONTINUE"},
                {"LifecycleHookName": "drain",
                 "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING"}])
        cls.asg.create_or_update_tags(Tags=[
            {"ResourceId": "web-blue", "ResourceType": "auto-scaling-group", "Key": k,
             "Value": v, "PropagateAtLaunch": p}
            for k, v, p in (("docker:image:name", "web", True),
                            ("docker:image:version", "1.2.3", True),
                            ("asgswap:saved", "1,2,1", False))])
        group = cls.asg.describe_auto_scaling_groups(AutoScalingGroupNames=["web-blue"])
        cls.instance = group["AutoScalingGroups"][0]["Instances"][0]["InstanceId"]

    def call(self, *args):
        return bed.run("asglifecycle", *args,
                       env=bed.base_env(AWS_ENDPOINT_URL=self.moto.url))

    def test_group_of_instance(self):
        p = self.call("group", self.instance)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = dict(line.split("=", 1) for line in p.stdout.splitlines())
        self.assertEqual(out["group"], "web-blue")
        # Pending:Wait until test_heartbeat_complete_then_not_active completes the hook.
        self.assertIn(out["state"], ("Pending:Wait", "Pending:Proceed", "InService"))
        p = self.call("group", "i-0000000000000000f")
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("in no Auto Scaling group", p.stderr)

    def test_tags(self):
        p = self.call("tags", "web-blue")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(p.stdout.splitlines()), [
            "asgswap:saved=1,2,1 (group only)", "docker:image:name=web (propagate)",
            "docker:image:version=1.2.3 (propagate)"])
        p = self.call("tags", "web-blue", "docker:image:version", "docker:image:name")
        self.assertEqual(sorted(p.stdout.splitlines()), [
            "docker:image:name=web (propagate)", "docker:image:version=1.2.3 (propagate)"])
        p = self.call("tags", "no-such-group")
        self.assertEqual((p.returncode, p.stdout), (0, ""))

    def test_hooks(self):
        p = self.call("hooks", "web-blue")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(p.stdout.splitlines()), [
            "drain autoscaling:EC2_INSTANCE_TERMINATING 3600 ABANDON web-blue",
            f"launch {LAUNCHING} 900 CONTINUE web-blue"])

    def test_heartbeat_complete_then_not_active(self):
        calls = lambda: [(c["action"], c.get("LifecycleActionResult"), c["error"])  # noqa: E731
                         for c in self.moto.lifecycle_calls() if c["InstanceId"] == self.instance]
        p = self.call("heartbeat", "web-blue", "launch", self.instance)
        self.assertEqual((p.returncode, p.stdout), (0, "done\n"), p.stderr)
        p = self.call("complete", "web-blue", "launch", self.instance, "CONTINUE")
        self.assertEqual((p.returncode, p.stdout), (0, "done\n"), p.stderr)
        # A second completion (a reboot) finds no pending action: a distinct result.
        p = self.call("complete", "web-blue", "launch", self.instance, "CONTINUE")
        self.assertEqual((p.returncode, p.stdout), (0, "not-active\n"), p.stderr)
        self.assertEqual(calls(), [
            ("RecordLifecycleActionHeartbeat", None, None),
            ("CompleteLifecycleAction", "CONTINUE", None),
            ("CompleteLifecycleAction", "CONTINUE", "ValidationError")])
        p = self.call("complete", "web-blue", "launch", self.instance, "MAYBE")
        self.assertEqual(p.returncode, 4)
        self.assertEqual(len(calls()), 3, "an invalid result is refused before any call")

    def test_set_instance_health(self):
        p = self.call("health", self.instance, "Unhealthy")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = self.asg.describe_auto_scaling_instances(InstanceIds=[self.instance])
        self.assertEqual(out["AutoScalingInstances"][0]["HealthStatus"], "UNHEALTHY")


if __name__ == "__main__":
    unittest.main()

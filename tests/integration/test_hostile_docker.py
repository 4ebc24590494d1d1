"""A Docker daemon that misbehaves, against the real `asgswap-agent --once`: a
Python stand-in for dockerd on a unix socket (tests/fixtures/fakedocker.py) that answers
garbage, closes the connection with or without a partial answer, sends bodies that are
not JSON or 100 MiB long, or a pull stream that breaks or never ends a line. Moto and the
IMDSv2 emulator play AWS and the instance. Each case ends with exit 1, one clear error
line, no signal, no sanitizer report, bounded time and peak RSS. The cases run side by
side: the agent retries a failed pull with backoff (agent/agent_boot.c), which is what
bounds those cases."""
import concurrent.futures
import os
import tempfile
import unittest

import bed
from fakedocker import FakeDocker
from imds import Imds
from motobed import Moto
from test_hostile_peers import HostileCase

AZ = "us-east-1a"
REGISTRY = "registry.example:5000"
IMAGE = f"{REGISTRY}/app:1"

# agent/agent_boot.c: PULL_ATTEMPTS pulls, the waits between them drawn below
# min(PULL_BACKOFF_CAP_MS, 1000 * 2^attempt); each ping or failed pull is immediate here.
PULL_ATTEMPTS, PULL_BACKOFF_CAP_S = 6, 10.0
PULL_BOUND_S = sum(min(PULL_BACKOFF_CAP_S, 2 ** a) for a in range(1, PULL_ATTEMPTS)) + 5.0
FAST_S = 5.0


class HostileDockerTest(HostileCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="asgswap-hostile-docker-")
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.moto = Moto()
        cls.addClassCleanup(cls.moto.stop)
        asg, ec2 = cls.moto.client("autoscaling"), cls.moto.client("ec2")
        ami = ec2.describe_images()["Images"][0]["ImageId"]
        ec2.create_launch_template(LaunchTemplateName="web-lt", LaunchTemplateData={
            "ImageId": ami, "InstanceType": "t3.micro"})
        asg.create_auto_scaling_group(
            AutoScalingGroupName="web", MinSize=0, MaxSize=1, DesiredCapacity=1,
            LaunchTemplate={"LaunchTemplateName": "web-lt"}, AvailabilityZones=[AZ],
            Tags=[{"ResourceId": "web", "ResourceType": "auto-scaling-group", "Key": k,
                   "Value": v, "PropagateAtLaunch": True}
                  for k, v in (("docker:image:name", "app"), ("docker:image:version", "1"))])
        (instance,) = [i["InstanceId"] for i in asg.describe_auto_scaling_groups(
            AutoScalingGroupNames=["web"])["AutoScalingGroups"][0]["Instances"]]
        cls.imds = Imds(instance_id=instance, tags={"aws:autoscaling:groupName": "web"})
        cls.addClassCleanup(cls.imds.stop)

    def agent(self, docker):
        env = bed.base_env(AWS_ENDPOINT_URL=self.moto.url, AWS_EC2_METADATA_DISABLED=None,
                           AWS_EC2_METADATA_SERVICE_ENDPOINT=self.imds.url,
                           DOCKER_HOST="unix://" + docker.path, ASGSWAP_REGISTRY=REGISTRY,
                           ASGSWAP_REGISTRY_AUTH="none", ASGSWAP_LIFECYCLE_HOOK="none",
                           ASGSWAP_HEALTH_TIMEOUT="5", ASGSWAP_TAG_TIMEOUT="5")
        return bed.run_measured("asgswap-agent", "--config", "/dev/null", "--once", env=env,
                                timeout=120)

    def test_the_stand_in_boots_a_well_behaved_agent(self):
        # The control case: without faults the stand-in is daemon enough for a whole boot,
        # so that every failure below is the fault's doing.
        with FakeDocker(self.tmp.name) as d:
            r = self.agent(d)
        self.assertEqual(r.returncode, 0, repr(r))
        self.assertIn("/images/create?fromImage=registry.example%3A5000%2Fapp&tag=1",
                      "\n".join(d.paths()))

    def test_garbage_and_broken_streams(self):
        present = {IMAGE}
        cases = {
            # name: (faults, images already present, bound, what the error says)
            "ping_garbage": ({"/_ping": "garbage"}, set(), PULL_BOUND_S, r"could not pull"),
            "ping_closed": ({"/_ping": "close"}, set(), PULL_BOUND_S, r"could not pull"),
            "pull_closed_mid_stream": ({"/images/create": "chunk_mid"}, set(), PULL_BOUND_S,
                                       r"could not pull"),
            "pull_endless_line": ({"/images/create": "endless_line"}, set(), PULL_BOUND_S,
                                  r"could not pull"),
            "image_inspect_not_json": ({"/images/": "bad_json", "/images/create": None},
                                       set(), FAST_S, r"not JSON"),
            "image_inspect_100mib": ({"/images/": "big", "/images/create": None}, set(),
                                     FAST_S, r"larger than"),
            "container_inspect_closed_mid_body": ({"/containers/": "close_mid"}, present,
                                                  FAST_S, r"inspecting"),
            "container_inspect_garbage": ({"/containers/": "garbage"}, present, FAST_S,
                                          r"inspecting"),
            "container_inspect_100mib_chunked": ({"/containers/": "big_chunked"}, present,
                                                 FAST_S, r"larger than"),
            "container_create_not_json": ({"/containers/create": "bad_json"}, present,
                                          FAST_S, r"creating the container"),
        }
        daemons = {}
        try:
            for name, (faults, images, _, _) in cases.items():
                daemons[name] = FakeDocker(self.tmp.name, faults=faults)
                daemons[name].images |= images
            with concurrent.futures.ThreadPoolExecutor(max_workers=len(cases)) as ex:
                futures = {n: ex.submit(self.agent, daemons[n]) for n in cases}
                results = {n: f.result() for n, f in futures.items()}
        finally:
            for d in daemons.values():
                d.stop()
        for name, r in sorted(results.items()):
            _, _, bound, reason = cases[name]
            with self.subTest(case=name):
                print(f"\n    {name}: {r.elapsed:.2f} s, {r.maxrss_mib:.1f} MiB", end="")
                self.assertContained(r, 1, "asgswap-agent", reason, bound)
                self.assertIsNone(next((c for c in daemons[name].containers.values()
                                        if c["State"].get("Running")), None))


if __name__ == "__main__":
    unittest.main()

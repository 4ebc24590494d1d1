"""A pinned version (docker:image:version = TAG@sha256:HEX) against a Docker daemon that
does not keep its word (tests/fixtures/fakedocker.py): the agent pulls by digest, then
refuses to run an image whose RepoDigests lack that digest; with the digest there it boots.
Moto and the IMDSv2 emulator play AWS and the instance."""
import unittest

import test_hostile_docker
from fakedocker import FakeDocker

DIGEST = "sha256:" + "ab" * 32
NAME = f"{test_hostile_docker.REGISTRY}/app"


class DigestCheckTest(test_hostile_docker.HostileDockerTest):
    def setUp(self):
        self.asg = self.moto.client("autoscaling")
        self.set_version("1@" + DIGEST)
        self.addCleanup(self.set_version, "1")

    def set_version(self, version):
        self.asg.create_or_update_tags(Tags=[{
            "ResourceId": "web", "ResourceType": "auto-scaling-group",
            "Key": "docker:image:version", "Value": version, "PropagateAtLaunch": True}])

    def test_pulled_by_digest_and_run_by_digest(self):
        with FakeDocker(self.tmp.name) as d:
            r = self.agent(d)
            created = [c["Config"]["Image"] for c in d.containers.values()]
        self.assertEqual(r.returncode, 0, repr(r))
        self.assertIn(f"/images/create?fromImage=registry.example%3A5000%2Fapp&tag="
                      f"{DIGEST.replace(':', '%3A')}", "\n".join(d.paths()))
        self.assertEqual(created, [f"{NAME}@{DIGEST}"])

    def test_image_without_the_digest_is_refused(self):
        other = "sha256:" + "cd" * 32
        for digests in ([], [f"{NAME}@{other}"], [DIGEST], [f"{NAME}@{DIGEST}x"]):
            with self.subTest(digests=digests), FakeDocker(self.tmp.name) as d:
                d.repo_digests[f"{NAME}@{DIGEST}"] = digests
                r = self.agent(d)
                self.assertEqual(r.returncode, 1, repr(r))
                self.assertIn(f"error: the image '{NAME}@{DIGEST}' does not carry the digest "
                              f"'{DIGEST}'", r.stderr)
                self.assertEqual(d.containers, {}, "nothing was created")


# Only the cases above: the inherited ones run in test_hostile_docker.
for _n in dir(test_hostile_docker.HostileDockerTest):
    if _n.startswith("test_"):
        setattr(DigestCheckTest, _n, None)

if __name__ == "__main__":
    unittest.main()

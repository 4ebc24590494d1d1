"""asgswap with a pinned version (sha256:HEX or TAG@sha256:HEX): deploy writes it to the
group's version tag exactly, and status shows it, also inside a release record in flight.
Everything is set up and checked with boto3."""
import unittest

from test_ctl_support import IMAGE, CtlCase

DIGEST = "sha256:" + "5e" * 32


class DigestTest(CtlCase):
    def deploy_shows(self, version):
        self.pair("web", live=1, mn=1, mx=2)
        self.ok("deploy", IMAGE, version, "--poll", "0.05")
        self.assertEqual(self.tags("web-green")["docker:image:version"], version)
        st = self.status()
        self.assertEqual(st["live"], "green")
        self.assertEqual(st["sets"]["green"]["version"], version)
        self.assertIn(version, self.ok("status", IMAGE).stdout)

    def test_deploy_a_digest(self):
        self.deploy_shows(DIGEST)

    def test_deploy_a_tag_at_a_digest(self):
        self.deploy_shows("2.0@" + DIGEST)

    def test_release_record_with_a_digest_is_read(self):
        self.pair("web", live=1, mn=1, mx=2)
        self.asg.create_or_update_tags(Tags=[{
            "ResourceId": "web-blue", "ResourceType": "auto-scaling-group",
            "Key": "asgswap:release", "Value": f"blue>green:1.1@{DIGEST}:paused",
            "PropagateAtLaunch": False}])
        st = self.status()
        self.assertEqual(st["release"], {"from": "blue", "to": "green",
                                         "version": "1.1@" + DIGEST, "phase": "paused"})


if __name__ == "__main__":
    unittest.main()

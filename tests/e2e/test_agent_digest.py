"""asgswap-agent with a pinned version on the real dockerd and registry: the version tag
`sha256:HEX` or `TAG@sha256:HEX` (digests read from the registry itself) is pulled by
digest and run as NAME@DIGEST; a digest the registry does not hold fails the boot."""
import base64
import unittest
import urllib.request

import test_agent

MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json"])


class DigestTest(test_agent.AgentTest):
    def registry_digest(self, name, tag):
        """Docker-Content-Digest of NAME:TAG, asked of the registry (not of dockerd)."""
        auth = base64.b64encode(f"{self.docker.user}:{self.docker.password}".encode()).decode()
        req = urllib.request.Request(
            f"http://{self.docker.registry.host}/v2/{name}/manifests/{tag}", method="HEAD",
            headers={"Accept": MANIFEST_TYPES, "Authorization": "Basic " + auth})
        with urllib.request.urlopen(req, timeout=10) as r:
            digest = r.headers["Docker-Content-Digest"]
        self.assertRegex(digest, r"^sha256:[0-9a-f]{64}$")
        return digest

    def forget_images(self, name):
        """So that the agent pulls: by tag and by digest, dockerd keeps no image of NAME."""
        for version in ("1", "2"):
            self.docker.remove_image(self.docker.image_ref(name, version))
            digest = self.registry_digest(name, version)
            self.docker.remove_image(f"{self.docker.registry.host}/{name}@{digest}")
            self.assertFalse(self.docker.has_image(
                f"{self.docker.registry.host}/{name}@{digest}"))

    def runs_pinned(self, version, digest):
        name = f"{self.docker.registry.host}/app"
        self.forget_images("app")
        self.group("app", version)
        p = self.agent()
        self.assertRan(p)
        c = self.docker.container(self.name)
        self.assertEqual(c["Config"]["Image"], f"{name}@{digest}")
        self.assertEqual(self.labels()[:2], (name, version))
        image = self.docker.api("GET", f"/images/{c['Image']}/json")[1]
        self.assertIn(f"{name}@{digest}", image["RepoDigests"])
        self.assertEqual(self.results(), [("CONTINUE", None)])
        self.assertIn(f"STATUS=pulling {name}@{digest}", self.notify.fields())
        return c

    def test_digest_alone(self):
        self.runs_pinned(self.registry_digest("app", "1"), self.registry_digest("app", "1"))

    def test_tag_at_digest_runs_the_digest(self):
        # As `docker pull NAME:TAG@DIGEST`: the digest decides, the tag only names it.
        d1 = self.registry_digest("app", "1")
        self.assertNotEqual(d1, self.registry_digest("app", "2"))
        self.runs_pinned("2@" + d1, d1)

    def test_digest_the_registry_lacks_is_refused(self):
        other = "sha256:" + "0f" * 32
        self.assertNotIn(other, (self.registry_digest("app", "1"),
                                 self.registry_digest("app", "2")))
        self.forget_images("app")
        self.group("app", "1@" + other)
        p = self.agent()
        self.assertRan(p, 1)
        self.assertIn(f"could not pull '{self.docker.registry.host}/app@{other}'", p.stderr)
        self.assertIsNone(self.docker.container(self.name))
        self.assertEqual(self.results(), [("ABANDON", None)])

    def test_malformed_digest_is_refused_before_docker(self):
        for version in ("sha256:" + "0F" * 32, "sha256:" + "0f" * 31, "1@md5:" + "0f" * 16):
            with self.subTest(version=version):
                self.setUp()  # a group of its own: ABANDON terminates the instance
                self.group("app", version)
                p = self.agent()
                self.assertRan(p, 1)
                self.assertIn("refusing the image reference", p.stderr)
                self.assertIn("sha256:<64 hex>", p.stderr)
                self.assertNotIn(version, p.stderr)
                self.assertIsNone(self.docker.container(self.name))
                self.assertEqual(self.results(), [("ABANDON", None)])


# Only the cases above: the inherited ones run in test_agent.
for _n in dir(test_agent.AgentTest):
    if _n.startswith("test_"):
        setattr(DigestTest, _n, None)

if __name__ == "__main__":
    unittest.main()

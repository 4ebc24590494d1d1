"""The world of `make demo` (tests/demo/demoworld.py) in a shorter form: demo-web live on 1.0
in blue behind the simulated load balancer, traffic the whole time, one deploy of 2.0 and
one rollback with the real asgswap and asgswap-agents; not one request may fail, and the
versions served before, between and after are checked."""
import os
import sys
import unittest

import bed
import dockerbed

sys.path.insert(0, os.path.join(bed.TOP, "tests", "demo"))
import demoworld  # noqa: E402
from demoworld import BLUE, GREEN, SERVICE, DemoFailure  # noqa: E402

MISSING = dockerbed.missing_tools()


@unittest.skipIf(MISSING, f"the Docker test bed needs {', '.join(MISSING)}")
@unittest.skipIf(os.environ.get("ASGSWAP_WRAP"), "the demo's agents do not run under a wrapper")
class DemoWorldTest(unittest.TestCase):
    def setUp(self):
        self.lines = []
        self.world = demoworld.World(build=os.path.dirname(bed.binary("asgswap")),
                                     out=self.lines.append, workers=2, rate=10.0)
        self.addCleanup(self.stop_world)

    def stop_world(self):
        problems = self.world.stop()
        self.assertEqual(problems, [], "the demo's world left something behind")

    def step(self, *args):
        r = self.world.command(*args, "--poll", "0.5", timeout=120)
        self.assertEqual(r.rc, 0, f"asgswap {' '.join(args)}:\n{r.output}\n{self.log()}")
        return r

    def log(self):
        return "the world's log, last lines:\n" + "\n".join(self.lines[-60:])

    def test_deploy_and_rollback_without_a_failed_request(self):
        w = self.world
        try:
            w.start()
            self.assertEqual(set(w.expect_only("1.0")), {"1.0"})
            deploy = self.step("deploy", SERVICE, "2.0")
            self.assertEqual(set(w.expect_only("2.0", since=deploy.end + 0.5)), {"2.0"})
            self.assertEqual(set(w.group_instances(BLUE).values()), {"Standby"})
            self.assertEqual(set(w.group_instances(GREEN).values()), {"InService"})
            rollback = self.step("rollback", SERVICE)
            self.assertEqual(set(w.expect_only("1.0", since=rollback.end + 0.5)), {"1.0"})
            self.assertEqual(set(w.group_instances(BLUE).values()), {"InService"})
            w.traffic.stop()
            w.check()
        except DemoFailure as e:
            self.fail(f"{e}\n{self.log()}")
        # Before the deploy only 1.0 answered; both while it switched; 2.0 only between the
        # two commands once blue was in Standby; 1.0 only after the rollback.
        t = w.traffic
        self.assertEqual(set(t.versions(until=deploy.start)), {"1.0"})
        self.assertEqual(set(t.versions(since=deploy.start, until=rollback.end)), {"1.0", "2.0"})
        self.assertEqual(set(t.versions(since=deploy.end + 0.5, until=rollback.start)), {"2.0"})
        self.assertEqual(set(t.versions(since=rollback.end + 0.5)), {"1.0"})
        self.assertGreater(len(t.snapshot()), 100)
        self.assertEqual(t.failures(), [], self.log())


if __name__ == "__main__":
    unittest.main()

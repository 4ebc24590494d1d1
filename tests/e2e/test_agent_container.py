"""asgswap-agent's container settings and stops, end to end: each agent.conf key inspected on
the container the real dockerd created, the graceful stop seen in dockerd's own events (the
signal it sent, the SIGKILL after stop_timeout), a scale-in and a finalize under a
termination lifecycle hook on the moto bed, and SIGTERM during an AWS call or a pull."""
import contextlib
import os
import signal
import socket
import tempfile
import threading
import time
import unittest
import uuid

import bed
import dockerbed
from fakedocker import FakeDocker
from faultproxy import FaultProxy
from test_agent import LAUNCHING, AgentTest

TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"
SIGUSR1 = "10"
SIGKILL = "9"
# PID 1 ignores a signal it has no handler for: these commands decide what a stop does.
GRACEFUL = '["/bin/sh", "-c", "trap \'sleep 1; exit 42\' USR1; while :; do sleep 1; done"]'
STUBBORN = '["/bin/sh", "-c", "trap \'\' USR1 TERM; while :; do sleep 1; done"]'


def load_tests(loader, tests, pattern):
    """Only this file's cases: AgentTest's own run from test_agent.py."""
    suite = unittest.TestSuite()
    for cls in (AgentContainerTest, AgentConfigErrorTest):
        suite.addTests(cls(n) for n in sorted(vars(cls)) if n.startswith("test"))
    return suite


class AgentContainerTest(AgentTest):
    def group_with_hooks(self, image, terminate_hook="drain", heartbeat=300):
        """A group whose instance waits under a launch hook and, leaving, a termination hook."""
        hooks = [{"LifecycleHookName": "launch", "LifecycleTransition": LAUNCHING}]
        if terminate_hook:
            hooks.append({"LifecycleHookName": terminate_hook,
                          "LifecycleTransition": TERMINATING, "HeartbeatTimeout": heartbeat,
                          "DefaultResult": "ABANDON"})
        self.asg.create_auto_scaling_group(
            AutoScalingGroupName=self.name, MinSize=0, MaxSize=2, DesiredCapacity=1,
            LaunchTemplate={"LaunchTemplateName": "agent-lt"}, AvailabilityZones=["us-east-1a"],
            LifecycleHookSpecificationList=hooks)
        self.set_tags({"docker:image:name": image, "docker:image:version": "1"})
        (self.instance,) = [i["InstanceId"] for i in self.describe()["Instances"]]
        self.imds.configure(instance_id=self.instance, tags_enabled=False, tags={},
                            target_lifecycle_state="InService")

    def lifecycle_state(self):
        out = self.asg.describe_auto_scaling_instances(InstanceIds=[self.instance])
        return out["AutoScalingInstances"][0]["LifecycleState"] if out["AutoScalingInstances"] \
            else None

    def calls(self, action):
        return [c for c in self.moto.lifecycle_calls()
                if c["action"] == action and c["InstanceId"] == self.instance]

    def supervising(self, *args, **cfg):
        p = self.start_agent(*args, once=False, **cfg)
        bed.wait_until(lambda: "READY=1" in self.notify.fields() or p.poll() is not None,
                       timeout=60, what="READY=1")
        self.assertIsNone(p.poll(), self.log_of(p))
        return p

    # -- container settings ---------------------------------------------------------------
    def test_every_key_reaches_the_container(self):
        data, conf = tempfile.mkdtemp(dir=self.tmp.name), tempfile.mkdtemp(dir=self.tmp.name)
        self.group("app", "1")
        p = self.agent(
            log_driver="json-file", log_opts="max-size=1m, max-file=2",
            mounts=f"{data}:/data,{conf}:/conf:ro", memory="64m", cpus="0.5",
            pids_limit="50", user="1000:1000", read_only="true", init="true",
            cap_drop="ALL", cap_add="NET_BIND_SERVICE", extra_hosts="db:10.0.0.5,v6:::1",
            labels="team=web,tier=front end",
            command='["/bin/sh", "-c", "while :; do sleep 1; done", "$0; rm -rf /"]',
            stop_timeout="7", stop_signal="SIGUSR1")
        self.assertRan(p)
        c = self.docker.container(self.name)
        h, cfg = c["HostConfig"], c["Config"]
        self.assertEqual(h["LogConfig"], {"Type": "json-file",
                                          "Config": {"max-size": "1m", "max-file": "2"}})
        self.assertEqual(h["Binds"], [f"{data}:/data", f"{conf}:/conf:ro"])
        self.assertEqual(h["Memory"], 64 << 20)
        self.assertEqual(h["NanoCpus"], 500000000)
        self.assertEqual(h["PidsLimit"], 50)
        self.assertEqual(cfg["User"], "1000:1000")
        self.assertIs(h["ReadonlyRootfs"], True)
        self.assertIs(h["Init"], True)
        self.assertEqual(h["CapDrop"], ["ALL"])
        self.assertIn(h["CapAdd"], (["NET_BIND_SERVICE"], ["CAP_NET_BIND_SERVICE"]))
        self.assertEqual(h["ExtraHosts"], ["db:10.0.0.5", "v6:::1"])
        self.assertEqual(cfg["Labels"]["team"], "web")
        self.assertEqual(cfg["Labels"]["tier"], "front end")
        self.assertEqual(cfg["Labels"]["asgswap.version"], "1")
        # The argv as it is: no shell of ours in between.
        self.assertEqual(cfg["Cmd"], ["/bin/sh", "-c", "while :; do sleep 1; done",
                                      "$0; rm -rf /"])
        self.assertEqual(cfg["StopTimeout"], 7)
        self.assertEqual(cfg["StopSignal"], "SIGUSR1")
        self.assertTrue(c["State"]["Running"])
        self.assertEqual(self.results(), [("CONTINUE", None)])

    def test_defaults_leave_dockerd_defaults_and_log_to_journald(self):
        self.group("app", "1")
        p = self.agent(log_driver="journald")
        c = self.docker.container(self.name)
        self.assertIsNotNone(c, p.stderr)
        h, cfg = c["HostConfig"], c["Config"]
        self.assertEqual(h["LogConfig"]["Type"], "journald")
        self.assertEqual(cfg["StopSignal"], "SIGTERM")
        self.assertEqual(cfg["StopTimeout"], 10)
        self.assertEqual(h["Memory"], 0)
        self.assertEqual(h["NanoCpus"], 0)
        self.assertFalse(h["ReadonlyRootfs"])
        self.assertIsNone(h["Binds"])
        self.assertEqual(cfg["Cmd"], dockerbed.SHELL_LOOP)
        if os.path.exists("/run/systemd/journal/socket"):
            self.assertRan(p)
        else:
            # dockerd's journald driver needs journald to start the container.
            self.assertRan(p, 1)
            self.assertIn("journald", p.stderr)

    # -- graceful stop ----------------------------------------------------------------------
    def test_systemd_stop_stops_the_container_with_its_signal(self):
        self.group("plain", "1", hook=False)
        p = self.supervising(command=GRACEFUL, stop_signal="SIGUSR1", stop_timeout="20")
        since = time.time() - 1
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=30), 0, self.log_of(p))
        c = self.docker.container(self.name)
        self.assertFalse(c["State"]["Running"])
        self.assertEqual(c["State"]["ExitCode"], 42, "the trap on SIGUSR1 ran")
        kills = self.docker.events(c["Id"], since)
        self.assertEqual([k["attributes"]["signal"] for k in kills], [SIGUSR1])
        fields = self.notify.fields()
        self.assertIn("STOPPING=1", fields)
        extend = [f for f in fields if f.startswith("EXTEND_TIMEOUT_USEC=")]
        self.assertEqual(extend, [f"EXTEND_TIMEOUT_USEC={(20 + 30) * 1000000}"])
        self.assertIn("container '%s' stopped" % self.name, self.log_of(p))

    def test_systemd_stop_kills_after_stop_timeout(self):
        self.group("plain", "1", hook=False)
        p = self.supervising(command=STUBBORN, stop_signal="SIGUSR1", stop_timeout="2")
        since = time.time() - 1
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=30), 0, self.log_of(p))
        c = self.docker.container(self.name)
        self.assertEqual(c["State"]["ExitCode"], 137)
        kills = self.docker.events(c["Id"], since)
        self.assertEqual([k["attributes"]["signal"] for k in kills], [SIGUSR1, SIGKILL])
        gap = kills[1]["time"] - kills[0]["time"]
        self.assertGreaterEqual(gap, 1.9)
        self.assertLess(gap, 10)

    def test_scale_in_under_a_termination_hook(self):
        self.group_with_hooks("plain")
        p = self.supervising(command=GRACEFUL, stop_signal="SIGUSR1", stop_timeout="20",
                             extra_env={"ASGSWAP_TEST_KEEPALIVE_MS": "300"})
        cid = self.labels()[2]
        self.asg.set_desired_capacity(AutoScalingGroupName=self.name, DesiredCapacity=0)
        bed.wait_until(lambda: self.lifecycle_state() == "Terminating:Wait", timeout=20,
                       what="Terminating:Wait")
        # What AWS shows the instance once the scale-in chose it.
        since = time.time() - 1
        self.imds.configure(target_lifecycle_state="Terminated")
        self.assertEqual(p.wait(timeout=60), 0, self.log_of(p))
        c = self.docker.container(cid)
        self.assertEqual(c["State"]["ExitCode"], 42)
        kills = self.docker.events(cid, since)
        self.assertEqual([k["attributes"]["signal"] for k in kills], [SIGUSR1])
        beats = self.calls("RecordLifecycleActionHeartbeat")
        self.assertGreaterEqual(len(beats), 1, "heartbeats while the container stops")
        self.assertEqual({(b["LifecycleHookName"], b["error"]) for b in beats}, {("drain", None)})
        done = [(x["LifecycleHookName"], x["LifecycleActionResult"], x["error"])
                for x in self.calls("CompleteLifecycleAction")]
        self.assertEqual(done, [("launch", "CONTINUE", None), ("drain", "CONTINUE", None)])
        log = self.log_of(p)
        self.assertLess(log.index(f"container '{self.name}' stopped"),
                        log.index("completed termination hook 'drain' with CONTINUE"))
        bed.wait_until(lambda: self.lifecycle_state() is None, timeout=30,
                       what="the instance gone from the group")
        state = self.ec2.describe_instances(InstanceIds=[self.instance])
        self.assertEqual(state["Reservations"][0]["Instances"][0]["State"]["Name"], "terminated")

    def test_finalize_under_a_named_hook_kills_a_stubborn_container(self):
        # finalize terminates the standby set with TerminateInstanceInAutoScalingGroup.
        self.group_with_hooks("plain", terminate_hook="finalize-drain")
        p = self.supervising("--verbose", command=STUBBORN, stop_signal="SIGUSR1",
                             stop_timeout="2", terminate_hook="finalize-drain",
                             lifecycle_hook="launch")
        cid = self.labels()[2]
        self.asg.terminate_instance_in_auto_scaling_group(
            InstanceId=self.instance, ShouldDecrementDesiredCapacity=True)
        bed.wait_until(lambda: self.lifecycle_state() == "Terminating:Wait", timeout=20,
                       what="Terminating:Wait")
        since = time.time() - 1
        self.imds.configure(target_lifecycle_state="Terminated")
        self.assertEqual(p.wait(timeout=60), 0, self.log_of(p))
        c = self.docker.container(cid)
        self.assertEqual(c["State"]["ExitCode"], 137)
        kills = self.docker.events(cid, since)
        self.assertEqual([k["attributes"]["signal"] for k in kills], [SIGUSR1, SIGKILL])
        self.assertGreaterEqual(kills[1]["time"] - kills[0]["time"], 1.9)
        self.assertNotIn("DescribeLifecycleHooks", self.log_of(p))
        done = [(x["LifecycleHookName"], x["LifecycleActionResult"])
                for x in self.calls("CompleteLifecycleAction")]
        self.assertEqual(done[-1], ("finalize-drain", "CONTINUE"))
        bed.wait_until(lambda: self.lifecycle_state() is None, timeout=30,
                       what="the instance gone from the group")

    def test_terminate_hook_none_still_stops_gracefully(self):
        self.group_with_hooks("plain")
        p = self.supervising(command=GRACEFUL, stop_signal="SIGUSR1", terminate_hook="none")
        cid = self.labels()[2]
        self.imds.configure(target_lifecycle_state="Terminated")
        self.assertEqual(p.wait(timeout=60), 0, self.log_of(p))
        self.assertEqual(self.docker.container(cid)["State"]["ExitCode"], 42)
        self.assertEqual([x["LifecycleHookName"] for x in self.calls("CompleteLifecycleAction")],
                         ["launch"])

    # -- SIGTERM while booting ----------------------------------------------------------------
    def test_sigterm_during_an_aws_call_stops_within_2_s(self):
        proxy = FaultProxy(self.moto.url)
        self.addCleanup(proxy.stop)
        proxy.add_rule(type="hang", action="DescribeTags")
        self.group("plain", "1")
        p = self.start_agent(extra_env={"AWS_ENDPOINT_URL": proxy.url})
        bed.wait_until(lambda: any(e["action"] == "DescribeTags" for e in proxy.log()),
                       timeout=30, what="DescribeTags in flight")
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=10), 0, self.log_of(p))
        self.assertLess(time.monotonic() - t0, 2.0, self.log_of(p))
        self.assertEqual(self.results(), [], "a stop is no failure to report")

    def test_sigterm_during_a_pull_stops_within_2_s(self):
        proxy = FaultProxy(f"http://{self.docker.registry.host}")
        self.addCleanup(proxy.stop)
        proxy.latency(60000, path="/v2/plain/manifests/")
        registry = proxy.url.split("//", 1)[1]
        self.group("plain", "1")
        p = self.start_agent(registry=registry)
        bed.wait_until(lambda: any(e["path"].startswith("/v2/plain/manifests/")
                                   for e in proxy.log()), timeout=30, what="the pull in flight")
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=10), 0, self.log_of(p))
        self.assertLess(time.monotonic() - t0, 2.0, self.log_of(p))
        self.assertIsNone(self.docker.container(self.name))

    def test_sigterm_while_dockerd_does_not_answer_stops_within_2_s(self):
        # A real dockerd always answers: the fixture's stand-in is one that never does.
        with FakeDocker(self.tmp.name, faults={"/containers/": "hang"}) as d:
            self.group("plain", "1")
            p = self.start_agent(docker_socket=d.path)
            bed.wait_until(lambda: any("/containers/" in x for x in d.paths())
                           or p.poll() is not None, timeout=30, what="a Docker call in flight")
            self.assertIsNone(p.poll(), self.log_of(p))
            t0 = time.monotonic()
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(timeout=10), 0, self.log_of(p))
            self.assertLess(time.monotonic() - t0, 2.0, self.log_of(p))

    def test_sigterm_during_a_health_check_stops_within_2_s(self):
        silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        self.addCleanup(silent.close)
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        accepted = []

        def accept():
            with contextlib.suppress(OSError):
                while True:
                    accepted.append(silent.accept()[0])  # and never answer
        threading.Thread(target=accept, daemon=True).start()
        self.addCleanup(lambda: [c.close() for c in accepted])
        self.group("plain", "1")
        p = self.start_agent(health_url=f"http://127.0.0.1:{silent.getsockname()[1]}/health")
        bed.wait_until(lambda: accepted or p.poll() is not None, timeout=60,
                       what="the health check in flight")
        self.assertIsNone(p.poll(), self.log_of(p))
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=10), 0, self.log_of(p))
        self.assertLess(time.monotonic() - t0, 2.0, self.log_of(p))


class AgentConfigErrorTest(unittest.TestCase):
    """Bad values of the container keys: exit 2, FILE:LINE: and what is wrong; no peer."""

    def test_bad_values_name_the_line(self):
        cases = [("mounts = /srv/../etc:/etc", "expected HOST:CONTAINER[:ro] binds"),
                 ("command = /bin/sh -c 'reboot'", "expected a JSON array of strings"),
                 ("memory = lots", "expected a size such as 64m or 1g"),
                 ("stop_signal = 9", "expected a signal name"),
                 ("labels = asgswap.version=evil", "expected KEY=VALUE labels"),
                 ("extra_hosts = db:not-an-ip", "expected HOST:IP entries")]
        for line, why in cases:
            with self.subTest(line=line), tempfile.NamedTemporaryFile(
                    "w", suffix=".conf") as f:
                key = line.split(" ", 1)[0]
                f.write(f"# ok\nnetwork = none\n{line}\n")
                f.flush()
                p = bed.run("asgswap-agent", "--config", f.name, env=bed.base_env(),
                            timeout=30)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn(f"{f.name}:3: bad value for '{key}': {why}", p.stderr)
                self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
                if key == "command":
                    self.assertNotIn("reboot", p.stderr)
        p = bed.run("asgswap-agent", "--config", "/dev/null",
                    env=bed.base_env(ASGSWAP_CPUS="half"), timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn("ASGSWAP_CPUS: bad value: expected a number of CPUs", p.stderr)


if __name__ == "__main__":
    unittest.main()

"""asgswap-agent end to end: a real dockerd and docker-registry (tests/fixtures/dockerbed.py)
with images the tests build, moto for Auto Scaling and ECR, our IMDSv2 emulator, and a
datagram socket standing in for systemd's NOTIFY_SOCKET."""
import base64
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import unittest
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import bed
import dockerbed
from faultproxy import FaultProxy
from imds import Imds
from motobed import Moto

AZ = "us-east-1a"
LAUNCHING = "autoscaling:EC2_INSTANCE_LAUNCHING"
MISSING = dockerbed.missing_tools()


class Notify:
    """A datagram socket standing in for systemd's notify socket."""

    def __init__(self, directory):
        self.path = os.path.join(directory, f"notify-{uuid.uuid4().hex[:8]}")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.sock.bind(self.path)
        self.sock.setblocking(False)
        self.messages = []

    def read(self):
        while True:
            try:
                self.messages.append(self.sock.recv(65536).decode())
            except BlockingIOError:
                return self.messages

    def fields(self):
        """Every KEY=value line received, in order."""
        return [line for m in self.read() for line in m.split("\n") if line]

    def close(self):
        self.sock.close()
        os.unlink(self.path)


@unittest.skipIf(MISSING, f"the Docker test bed needs {', '.join(MISSING)}")
class AgentTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="asgswap-agent-")
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.moto = Moto()
        cls.addClassCleanup(cls.moto.stop)
        cls.asg = cls.moto.client("autoscaling")
        cls.ec2 = cls.moto.client("ec2")
        # The registry's password is the one moto's ECR hands out, so `registry_auth = ecr`
        # is what lets the agent pull.
        token = cls.moto.client("ecr").get_authorization_token()["authorizationData"][0]
        user, cls.password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
        cls.docker = dockerbed.DockerBed(user=user, password=cls.password)
        cls.addClassCleanup(cls.docker.stop)
        cls.imds = Imds()
        cls.addClassCleanup(cls.imds.stop)
        ami = cls.ec2.describe_images()["Images"][0]["ImageId"]
        cls.ec2.create_launch_template(LaunchTemplateName="agent-lt", LaunchTemplateData={
            "ImageId": ami, "InstanceType": "t3.micro"})
        cls.config = os.path.join(cls.tmp.name, "agent.conf")
        with open(cls.config, "w") as f:
            f.write("# written by the tests; the environment overrides per test\n"
                    "network = none\nregistry_auth = ecr\nhealth_timeout = 30\n"
                    # journald (the default) needs a journal on the test host
                    "log_driver = json-file\n")

    def setUp(self):
        self.name = "t" + uuid.uuid4().hex[:10]  # group and container name
        self.notify = Notify(self.tmp.name)
        self.addCleanup(self.notify.close)
        self.addCleanup(self.docker.remove_container, self.name)
        self.addCleanup(self.docker.remove_container, self.name + "-asgswap-next")

    # -- helpers ------------------------------------------------------------------------
    def group(self, image="app", version="1", hook=True, tags=None, imds_tags=False,
              target_state="InService"):
        """A group with one instance (Pending:Wait under a launch hook) that IMDS serves."""
        kw = {}
        if hook:
            kw["LifecycleHookSpecificationList"] = [
                {"LifecycleHookName": "launch", "LifecycleTransition": LAUNCHING}]
        self.asg.create_auto_scaling_group(
            AutoScalingGroupName=self.name, MinSize=0, MaxSize=2, DesiredCapacity=1,
            LaunchTemplate={"LaunchTemplateName": "agent-lt"}, AvailabilityZones=[AZ], **kw)
        if tags is None:
            tags = {"docker:image:name": image, "docker:image:version": version}
        self.set_tags(tags)
        group = self.describe()
        (self.instance,) = [i["InstanceId"] for i in group["Instances"]]
        self.imds.configure(instance_id=self.instance, tags_enabled=imds_tags,
                            tags={"aws:autoscaling:groupName": self.name} if imds_tags else {},
                            target_lifecycle_state=target_state)
        return self.instance

    def set_tags(self, tags):
        if tags:
            self.asg.create_or_update_tags(Tags=[
                {"ResourceId": self.name, "ResourceType": "auto-scaling-group", "Key": k,
                 "Value": v, "PropagateAtLaunch": True} for k, v in tags.items()])

    def describe(self):
        return self.asg.describe_auto_scaling_groups(
            AutoScalingGroupNames=[self.name])["AutoScalingGroups"][0]

    def env(self, extra=None, **cfg):
        e = {"AWS_ENDPOINT_URL": self.moto.url,
             "AWS_EC2_METADATA_SERVICE_ENDPOINT": self.imds.url,
             "AWS_EC2_METADATA_DISABLED": None,
             "NOTIFY_SOCKET": self.notify.path,
             "ASGSWAP_REGISTRY": self.docker.registry.host,
             "ASGSWAP_CONTAINER_NAME": self.name,
             "ASGSWAP_DOCKER_SOCKET": self.docker.socket,
             "ASGSWAP_DOCKER_CONFIG": os.path.join(self.tmp.name, "no-docker-config.json"),
             "ASGSWAP_TAG_TIMEOUT": "20"}
        e.update({"ASGSWAP_" + k.upper(): str(v) for k, v in cfg.items()})
        e.update(extra or {})
        return bed.base_env(**e)

    def agent(self, *args, timeout=90, **cfg):
        return bed.run("asgswap-agent", "--config", self.config, "--once", *args,
                       env=self.env(**cfg), timeout=timeout)

    def start_agent(self, *args, once=True, extra_env=None, **cfg):
        """The agent in the background; its stderr goes to a file that tests can poll."""
        log = open(os.path.join(self.tmp.name, f"{self.name}.log"), "w+")
        self.addCleanup(log.close)
        argv = [bed.binary("asgswap-agent"), "--config", self.config] + \
            (["--once"] if once else []) + list(args)
        p = subprocess.Popen(argv, env=self.env(extra_env, **cfg), stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)

        def reap():
            if p.poll() is None:
                p.kill()
            p.wait()
        self.addCleanup(reap)
        p.logfile = log
        return p

    @staticmethod
    def log_of(p):
        with open(p.logfile.name) as f:
            return f.read()

    def results(self):
        """LifecycleActionResult of each CompleteLifecycleAction for our instance, in order."""
        return [(c["LifecycleActionResult"], c["error"]) for c in self.moto.lifecycle_calls()
                if c["action"] == "CompleteLifecycleAction" and c["InstanceId"] == self.instance]

    def health(self):
        out = self.asg.describe_auto_scaling_instances(InstanceIds=[self.instance])
        return out["AutoScalingInstances"][0]["HealthStatus"] if out["AutoScalingInstances"] else None

    def labels(self):
        c = self.docker.container(self.name)
        return c and (c["Config"]["Labels"].get("asgswap.image"),
                      c["Config"]["Labels"].get("asgswap.version"), c["Id"])

    def assertRan(self, p, code=0):
        self.assertEqual(p.returncode, code, p.stderr)

    # -- the cases ------------------------------------------------------------------------
    def test_tags_present_at_boot_with_healthcheck(self):
        self.group("app", "1")
        self.docker.remove_image(self.docker.image_ref("app", "1"))
        p = self.agent()
        self.assertRan(p)
        self.assertEqual(self.labels()[:2], (f"{self.docker.registry.host}/app", "1"))
        c = self.docker.container(self.name)
        self.assertEqual(c["State"]["Health"]["Status"], "healthy")
        self.assertEqual(c["HostConfig"]["RestartPolicy"]["Name"], "always")
        self.assertEqual(self.results(), [("CONTINUE", None)])
        self.assertEqual(self.describe()["Instances"][0]["LifecycleState"], "InService")
        self.assertNotIn(self.password, p.stderr)
        # sd_notify messages, in order: statuses along the way, READY=1 last.
        fields = self.notify.fields()
        self.assertEqual(fields[0], "STATUS=finding the instance")
        self.assertIn("READY=1", fields)
        ready = fields.index("READY=1")
        self.assertEqual(fields[ready + 1], f"STATUS=running {self.docker.registry.host}/app:1")
        self.assertLess(fields.index(f"STATUS=pulling {self.docker.registry.host}/app:1"), ready)

    def test_group_from_imds_tags_and_image_without_healthcheck(self):
        self.group("plain", "1", imds_tags=True)
        p = self.agent("--verbose")
        self.assertRan(p)
        self.assertIn("instance metadata tag", p.stderr)
        self.assertNotIn("DescribeAutoScalingInstances", p.stderr)
        self.assertIn("5 s running without a restart", p.stderr)
        self.assertTrue(self.docker.container(self.name)["State"]["Running"])
        self.assertEqual(self.results(), [("CONTINUE", None)])

    def test_version_tag_appears_late(self):
        self.group(tags={"docker:image:name": "plain"})
        p = self.start_agent()
        bed.wait_until(lambda: "waiting for the tags" in self.log_of(p), timeout=20,
                       what="the agent waiting for tags")
        timer = threading.Timer(5, self.set_tags, [{"docker:image:version": "1"}])
        timer.start()
        self.addCleanup(timer.cancel)
        self.assertEqual(p.wait(timeout=60), 0, self.log_of(p))
        self.assertEqual(self.labels()[1], "1")
        self.assertEqual(self.results(), [("CONTINUE", None)])

    def test_tags_never_appear(self):
        self.group(tags={"docker:image:name": "plain"})
        p = self.agent(tag_timeout=3)
        self.assertRan(p, 3)
        self.assertIn("did not appear", p.stderr)
        self.assertIsNone(self.docker.container(self.name))
        self.assertEqual(self.results(), [("ABANDON", None)])

    def test_hostile_tag_values_refused(self):
        cases = [("name", "app;touch /tmp/pwned"), ("version", "1$(reboot)"),
                 ("name", "app\nrm -rf /"), ("name", "App"), ("version", "v" * 300),
                 ("name", "a" * 300), ("name", "../../etc"), ("version", ""),
                 ("name", ""), ("version", "ünïcode"), ("version", "1 2"),
                 ("name", "app@sha256:" + "a" * 64)]
        for which, value in cases:
            with self.subTest(which=which, value=value[:40]):
                self.name = "t" + uuid.uuid4().hex[:10]
                tags = {"docker:image:name": "app", "docker:image:version": "1"}
                tags["docker:image:" + which] = value
                self.group(tags=tags)
                p = self.agent()
                self.notify.read()  # systemd drains its socket too
                self.assertRan(p, 1)
                self.assertIn("refusing the image reference", p.stderr)
                if value:
                    self.assertNotIn(value, p.stderr)
                self.assertIsNone(self.docker.container(self.name))
                self.assertEqual(self.results(), [("ABANDON", None)])
        self.assertFalse(os.path.exists("/tmp/pwned"))

    def test_registry_down_then_up(self):
        port = bed.free_port()
        self.group("plain", "2")
        p = self.start_agent(registry=f"127.0.0.1:{port}")
        bed.wait_until(lambda: "retrying the pull" in self.log_of(p), timeout=30,
                       what="a failed first pull")
        reg = self.docker.start_registry(port)
        self.addCleanup(reg.stop)
        self.assertEqual(p.wait(timeout=60), 0, self.log_of(p))
        self.assertEqual(self.labels()[:2], (f"127.0.0.1:{port}/plain", "2"))
        self.assertEqual(self.results(), [("CONTINUE", None)])

    def test_long_pull_extends_the_start_timeout_and_heartbeats_the_hook(self):
        # A registry that holds the manifest for 8 s: dockerd streams nothing meanwhile, so
        # only a keep-alive that does not wait for progress lines reaches systemd and the hook.
        proxy = FaultProxy(f"http://{self.docker.registry.host}")
        self.addCleanup(proxy.stop)
        proxy.latency(8000, path="/v2/app/manifests/", count=1)
        registry = proxy.url.split("//", 1)[1]
        self.group("app", "1")
        p = self.start_agent(registry=registry, extra_env={"ASGSWAP_TEST_KEEPALIVE_MS": "500"})

        def manifest():
            return next((e for e in proxy.log() if e["path"].startswith("/v2/app/manifests/")),
                        None)
        bed.wait_until(lambda: manifest() is not None or p.poll() is not None, timeout=30,
                       what="the pull reaching the registry")
        self.assertIsNone(p.poll(), self.log_of(p))
        extends, beats = [], []

        def kept_alive():
            extends[:] = [f for f in self.notify.fields() if f.startswith("EXTEND_TIMEOUT_USEC=")]
            beats[:] = [c for c in self.moto.lifecycle_calls()
                        if c["action"] == "RecordLifecycleActionHeartbeat"
                        and c["InstanceId"] == self.instance]
            return len(extends) >= 2 and len(beats) >= 2
        bed.wait_until(kept_alive, timeout=6, what="keep-alives while the registry is silent")
        self.assertIsNone(manifest()["status"], "the registry answered before the keep-alives")
        self.assertEqual(p.wait(timeout=60), 0, self.log_of(p))
        self.assertEqual({(c["LifecycleHookName"], c["error"]) for c in beats}, {("launch", None)})
        self.assertEqual(self.results(), [("CONTINUE", None)])
        fields = self.notify.fields()
        first = fields.index(extends[0])
        self.assertLess(fields.index(f"STATUS=pulling {registry}/app:1"), first)
        self.assertLess(first, fields.index("READY=1"))
        self.assertTrue(all(int(f.split("=", 1)[1]) > 0 for f in extends), extends)
        self.assertEqual(self.labels()[:2], (f"{registry}/app", "1"))

    def test_image_that_does_not_exist(self):
        self.group("app", "404")
        p = self.agent()
        self.assertRan(p, 1)
        self.assertIn("could not pull", p.stderr)
        self.assertNotIn("retrying the pull", p.stderr, "a missing image is not retried")
        self.assertIsNone(self.docker.container(self.name))
        self.assertEqual(self.results(), [("ABANDON", None)])
        self.assertIn("ERRNO=", "\n".join(self.notify.fields()))

    def test_failure_without_hook_marks_instance_unhealthy(self):
        self.group("app", "404", hook=False)
        self.assertEqual(self.health(), "HEALTHY")
        p = self.agent()
        self.assertRan(p, 1)
        self.assertEqual(self.results(), [])
        self.assertEqual(self.health(), "UNHEALTHY")

    def test_never_healthy(self):
        self.group("sick", "1")
        p = self.agent(health_timeout=4)
        self.assertRan(p, 1)
        self.assertIn("not healthy within 4 s", p.stderr)
        self.assertEqual(self.results(), [("ABANDON", None)])

    def test_reboot_same_version_then_new_version(self):
        self.group("app", "1")
        self.assertRan(self.agent())
        first = self.labels()
        self.assertEqual(first[1], "1")
        # Reboot, same version: the container is kept, the hook reads as done.
        p = self.agent()
        self.assertRan(p)
        self.assertIn("already runs", p.stderr)
        self.assertIn("already present: not pulled", p.stderr)
        self.assertEqual(self.labels(), first)
        self.assertIn("no action pending", p.stderr)
        # Reboot after the group moved to version 2: replaced.
        self.set_tags({"docker:image:version": "2"})
        p = self.agent()
        self.assertRan(p)
        second = self.labels()
        self.assertEqual(second[1], "2")
        self.assertNotEqual(second[2], first[2])
        self.assertIsNone(self.docker.container(self.name + "-asgswap-next"))
        self.assertEqual(len([c for c in self.docker.containers()
                              if c["Names"] == ["/" + self.name]]), 1)

    def test_ports_env_file_and_health_url(self):
        hits = []

        class Health(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                hits.append(self.path)
                code = 200 if len(hits) >= 3 else 503
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()
        srv = ThreadingHTTPServer(("127.0.0.1", 0), Health)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        env_file = os.path.join(self.tmp.name, "app.env")
        with open(env_file, "w") as f:
            f.write("# app settings\nDB_PASSWORD=hunter2\nMODE=prod\n")
        self.group("plain", "1")
        p = self.agent(network="host", ports="18080:80,5353:53/udp", env_file=env_file,
                       health_url=f"http://127.0.0.1:{srv.server_address[1]}/healthz")
        self.assertRan(p)
        self.assertEqual(hits, ["/healthz"] * 3)
        c = self.docker.container(self.name)
        self.assertIn("DB_PASSWORD=hunter2", c["Config"]["Env"])
        self.assertIn("MODE=prod", c["Config"]["Env"])
        self.assertNotIn("hunter2", p.stderr)
        self.assertEqual(c["HostConfig"]["NetworkMode"], "host")
        self.assertEqual(c["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"], "18080")
        self.assertEqual(c["HostConfig"]["PortBindings"]["53/udp"][0]["HostPort"], "5353")
        self.assertEqual(self.results(), [("CONTINUE", None)])

    def test_registry_password_required(self):
        self.group("plain", "1")
        self.docker.remove_image(self.docker.image_ref("plain", "1"))
        p = self.agent(registry_auth="none")
        self.assertRan(p, 1)
        self.assertEqual(self.results(), [("ABANDON", None)])

    def test_docker_config_credentials(self):
        self.group("plain", "1")
        cfg = os.path.join(self.tmp.name, "config.json")
        auth = base64.b64encode(f"AWS:{self.password}".encode()).decode()
        with open(cfg, "w") as f:
            json.dump({"auths": {self.docker.registry.host: {"auth": auth}}}, f)
        p = self.agent("--verbose", registry_auth="auto", docker_config=cfg)
        self.assertRan(p)
        self.assertIn("from '" + cfg, p.stderr)
        self.assertNotIn(self.password, p.stderr)
        self.assertNotIn(auth, p.stderr)

    def test_warm_pool_pulls_without_starting(self):
        self.group("plain", "2", target_state="Warmed:Stopped")
        ref = self.docker.image_ref("plain", "2")
        self.docker.remove_image(ref)
        p = self.agent()
        self.assertRan(p)
        self.assertTrue(self.docker.has_image(ref))
        self.assertIsNone(self.docker.container(self.name))
        self.assertEqual(self.results(), [("CONTINUE", None)])

    def test_supervise_marks_unhealthy_and_stops_on_sigterm(self):
        self.group("plain", "1", hook=False)
        p = self.start_agent(once=False, unhealthy_grace=1, restart="no")
        bed.wait_until(lambda: "READY=1" in self.notify.fields(), timeout=60,
                       what="READY=1")
        self.assertIsNone(p.poll())
        cid = self.labels()[2]
        self.docker.api("POST", f"/containers/{cid}/stop?t=1")
        bed.wait_until(lambda: self.health() == "UNHEALTHY", timeout=30,
                       what="SetInstanceHealth Unhealthy")
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=10), 0, self.log_of(p))
        self.assertIn("STOPPING=1", self.notify.fields())
        self.assertIsNotNone(self.docker.container(self.name), "the container stays")

    def test_sigterm_stops_container_watchdog_pings(self):
        self.group("app", "1", hook=False)
        p = self.start_agent(once=False, extra_env={"WATCHDOG_USEC": "400000"})
        bed.wait_until(lambda: "READY=1" in self.notify.fields(), timeout=60,
                       what="READY=1")
        bed.wait_until(lambda: self.notify.fields()[self.notify.fields().index("READY=1"):]
                       .count("WATCHDOG=1") >= 2, timeout=10, what="watchdog pings")
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=30), 0, self.log_of(p))
        # The image's TERM trap exits 0: the container was stopped, not killed.
        state = self.docker.container(self.name)["State"]
        self.assertFalse(state["Running"])
        self.assertEqual(state["ExitCode"], 0)
        self.assertEqual(self.health(), "HEALTHY")


class AgentUsageTest(unittest.TestCase):
    """What needs no peer: usage and configuration errors (exit 2)."""

    def run_agent(self, *args, env=None):
        return bed.run("asgswap-agent", *args, env=bed.base_env(**(env or {})), timeout=30)

    def test_help_and_version(self):
        p = self.run_agent("--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn("--once", p.stdout)
        self.assertEqual(self.run_agent("--version").returncode, 0)
        self.assertEqual(self.run_agent("--bogus").returncode, 2)
        self.assertEqual(self.run_agent("extra").returncode, 2)

    def test_config_errors_name_the_line(self):
        with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
            f.write("# ok\nports = 80:8080\ncolour = blue\n")
            f.flush()
            p = self.run_agent("--config", f.name)
            self.assertEqual(p.returncode, 2)
            self.assertIn(f"{f.name}:3: unknown key 'colour'", p.stderr)
        p = self.run_agent("--config", "/nonexistent/agent.conf")
        self.assertEqual(p.returncode, 2)
        p = self.run_agent("--config", "/dev/null", env={"ASGSWAP_HEALTH_TIMEOUT": "soon"})
        self.assertEqual(p.returncode, 2)
        self.assertIn("ASGSWAP_HEALTH_TIMEOUT", p.stderr)
        p = self.run_agent("--config", "/dev/null", env={"DOCKER_HOST": "tcp://127.0.0.1:2375"})
        self.assertEqual(p.returncode, 2)


if __name__ == "__main__":
    unittest.main()

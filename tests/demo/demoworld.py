"""The world of `make demo`: a whole blue/green release of a tiny web service on one machine,
with the real `asgswap` and real `asgswap-agent`s, real containers and simulated EC2.

    world = World(build="build", out=print)
    try:
        world.start()                       # moto, dockerd, registry, images, groups, LB, traffic
        r = world.command("deploy", "demo-web", "2.0")
        world.expect_only("2.0")
    finally:
        world.stop()                        # everything started here is stopped and removed

What it starts (loopback only; files under one temporary directory):
  - the moto test bed (tests/fixtures/motobed.py) with delays that stand in for AWS's: an
    instance stays Pending 1 s after its launch hook completed, EnteringStandby for the
    deregistration delay, Terminating 2 s; a registered target reads `initial` until the
    load balancer below has seen its container pass two health checks (the bed's
    target-health control, if_registered), so the health asgswap waits for is real;
  - dockerd with its own data root and no bridge network, and docker-registry; the image
    demo-web in versions 1.0 and 2.0 (busybox httpd answering /version and /health);
  - the service demo-web through boto3: a launch template, the target group demo-web-tg,
    groups demo-web-blue (2 instances on 1.0) and demo-web-green (0), each with a launch
    lifecycle hook;
  - an instance simulator: for every instance moto launches into the groups, its own IMDSv2
    emulator (instance id, zone, an instance role), an agent configuration (container name
    web-<id>, host network, PORT=<its own port> through env_file) and a real asgswap-agent;
    when the instance is gone from its group, once the load balancer drained it, the agent
    gets SIGTERM and the container is removed, as the instance's shutdown would;
  - a load balancer: an HTTP proxy sending each request to the container of an instance
    that is InService in its group, registered in the target group and passing the
    balancer's own health checks (round robin); an instance that leaves gets no new
    request and keeps its container until the requests it has in flight are answered;
  - a traffic generator sending GET /version through the balancer the whole time, recording
    every answer (version) and every failure (error, or a status other than 200).
"""
import base64
import contextlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "fixtures"))

import bed  # noqa: E402
import dockerbed  # noqa: E402
import imds  # noqa: E402
import motobed  # noqa: E402

SERVICE = "demo-web"                    # the image name, and the groups' prefix
BLUE, GREEN = SERVICE + "-blue", SERVICE + "-green"
TG_NAME = SERVICE + "-tg"
HOOK = "launch"
VERSIONS = ("1.0", "2.0", "2.1")
# 2.1 is the bad release of act 2: healthy (its /health answers, so the agent and the load
# balancer's checks pass it) but every GET /version is a 404, the kind of regression that
# only the service's own error rate shows.
BAD_VERSION = "2.1"
# The alarm of act 2, on the load balancer's count of target errors: CloudWatch would
# evaluate HTTPCode_Target_4XX_Count of the target group; the demo's evaluator does the
# same sum over the same period from the simulated balancer's own count.
ALARM = SERVICE + "-target-errors"
ALARM_PERIOD, ALARM_THRESHOLD = 10, 5
REGION, AZ, ACCOUNT = "us-east-1", "us-east-1a", "123456789012"
ROLE = "demo-web-instance"
# moto's ECR answers GetAuthorizationToken with AWS:<account>-auth-token: the registry takes
# that password, so the agents authenticate the way they do on EC2 (registry_auth = ecr).
ECR_USER, ECR_PASSWORD = "AWS", ACCOUNT + "-auth-token"
# Seconds standing in for AWS's delays (see the module's docstring).
DELAYS = {"pending": 1.0, "entering_standby": 3.0, "terminating": 2.0, "draining": 3.0,
          "healthy": None}
POLL = 0.2                # the simulator's and the balancer's view of moto, refreshed
HEALTH_INTERVAL = 0.5     # the balancer's health checks
HEALTHY_THRESHOLD = 2     # passing checks in a row before a target gets traffic
UNHEALTHY_THRESHOLD = 3   # failing ones before it gets none (a busy machine is slow)
REGISTERED = ("initial", "healthy", "unhealthy")


class DemoFailure(Exception):
    """A step of the demo did not work; the message says why."""


class DemoDocker(dockerbed.DockerBed):
    """dockerd + registry (dockerbed), with the demo's own image instead of the tests'."""

    def _build_images(self):
        self.cli("login", "-u", self.user, "--password-stdin", self.registry.host,
                 input=self.password.encode())
        for version in VERSIONS:
            tree = os.path.join(self.dir, "web-" + version)
            os.makedirs(os.path.join(tree, "bin"))
            os.makedirs(os.path.join(tree, "www"))
            shutil.copy(dockerbed.BUSYBOX, os.path.join(tree, "bin", "busybox"))
            for applet in ("sh", "httpd"):
                os.symlink("busybox", os.path.join(tree, "bin", applet))
            for name, text in (("version", version), ("health", "ok")):
                if name == "version" and version == BAD_VERSION:
                    continue
                with open(os.path.join(tree, "www", name), "w") as f:
                    f.write(text + "\n")
            tar = tree + ".tar"
            subprocess.run(["tar", "-C", tree, "-cf", tar, "."], check=True)
            ref = self.image_ref(SERVICE, version)
            # PORT comes from the instance's env_file: every container shares the host's
            # network here (dockerd has no bridge), so each listens on its own port.
            self.cli("import", "-c", "ENV PORT=8080", "-c", 'CMD ["/bin/sh", "-c", '
                     '"exec httpd -f -p 127.0.0.1:$PORT -h /www"]', tar, ref)
            self.cli("push", ref)
            self.cli("rmi", ref)


class InstanceImds:
    """An IMDSv2 emulator (tests/fixtures/imds.py) of one instance, served from a thread."""

    def __init__(self, **cfg):
        state = imds.State()
        state.configure(cfg)
        self.srv = imds.ImdsServer(("127.0.0.1", 0), imds.Handler)
        self.srv.state = state
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}"
        self.thread = threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.2},
                                       name="imds", daemon=True)
        self.thread.start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()
        self.thread.join(5)


class Instance:
    """A simulated EC2 instance: its identity, port, IMDS, agent process and container."""

    def __init__(self, iid, group, port, directory):
        self.id, self.group, self.port, self.dir = iid, group, port, directory
        self.container = "web-" + iid
        self.imds = None
        self.agent = None
        self.agent_rc = None
        self.state = None          # lifecycle state, as last seen
        self.version = None        # its group's version tag when it launched
        self.leaving = False       # gone from its group: being shut down
        self.log = os.path.join(directory, "agent.log")
        self.lock = threading.Lock()  # stop_instance: the simulator's and stop()'s

    def log_tail(self, lines=15):
        with contextlib.suppress(OSError), open(self.log, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
        return ""


# ======================================================================================
# The load balancer
# ======================================================================================
class Target:
    def __init__(self, iid, group, port):
        self.id, self.group, self.port = iid, group, port
        self.in_service = False    # InService in its group
        self.registered = False    # in the target group (initial/healthy/unhealthy)
        self.gone = False          # the instance is going away: never routed again
        self.healthy = False       # the balancer's own checks
        self.passes = self.fails = 0
        self.inflight = 0
        self.served = 0

    @property
    def routable(self):
        return self.in_service and self.registered and self.healthy and not self.gone


class LoadBalancer:
    """The HTTP proxy in front of the containers (see the module's docstring)."""

    def __init__(self, event):
        self.event = event
        self.lock = threading.Condition()
        self.targets = {}
        self.rr = 0
        self.errors = []  # (monotonic, group): answers of a target other than 200
        self.stopping = threading.Event()
        lb = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args):
                pass

            def do_GET(self):
                lb.forward(self)
        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.srv.daemon_threads = True
        self.port = self.srv.server_address[1]
        self.threads = [threading.Thread(target=self.srv.serve_forever, name="lb", daemon=True,
                                         kwargs={"poll_interval": 0.2}),
                        threading.Thread(target=self.health_loop, name="lb-health", daemon=True)]
        for t in self.threads:
            t.start()

    # -- routing ------------------------------------------------------------------------
    def pick(self):
        with self.lock:
            ready = sorted((t for t in self.targets.values() if t.routable), key=lambda t: t.id)
            if not ready:
                return None
            t = ready[self.rr % len(ready)]
            self.rr += 1
            t.inflight += 1
            return t

    def done(self, t):
        with self.lock:
            t.inflight -= 1
            t.served += 1
            self.lock.notify_all()

    def forward(self, h):
        t = self.pick()
        if t is None:
            return self.answer(h, 503, b"no healthy target\n")
        try:
            c = http.client.HTTPConnection("127.0.0.1", t.port, timeout=10)
            try:
                c.request("GET", h.path)
                r = c.getresponse()
                status, body = r.status, r.read()
            finally:
                c.close()
        except (OSError, http.client.HTTPException) as e:
            status, body = 502, f"{t.id}: {e}\n".encode()
        finally:
            self.done(t)
        if status != 200:
            with self.lock:
                self.errors.append((time.monotonic(), t.group))
        self.answer(h, status, body, t.id)

    @staticmethod
    def answer(h, status, body, backend=None):
        with contextlib.suppress(OSError):
            h.send_response(status)
            h.send_header("Content-Length", str(len(body)))
            if backend:
                h.send_header("X-Backend", backend)
            h.end_headers()
            h.wfile.write(body)

    # -- the view of moto, from the simulator -------------------------------------------
    def update(self, iid, group, port, in_service, registered):
        with self.lock:
            t = self.targets.get(iid)
            if t is None:
                t = self.targets[iid] = Target(iid, group, port)
            if registered and not t.registered:  # a new registration starts from `initial`
                t.healthy, t.passes, t.fails = False, 0, 0
            was = t.routable
            t.in_service, t.registered = in_service, registered
            if was and not t.routable:
                self.event(f"{iid} ({group}) leaves the load balancer: draining")

    def drain(self, iid, timeout=30.0):
        """Stops routing to iid and waits until its requests in flight are answered."""
        with self.lock:
            t = self.targets.get(iid)
            if t is None:
                return True
            if t.routable:
                self.event(f"{iid} ({t.group}) leaves the load balancer: draining")
            t.gone = True
            ok = self.lock.wait_for(lambda: t.inflight == 0, timeout)
            del self.targets[iid]
            return ok

    def target_errors(self, since):
        """Answers of targets other than 200 since `since` (monotonic), as the balancer's
        HTTPCode_Target_4XX_Count and 5XX metrics count them."""
        with self.lock:
            return sum(1 for t, _ in self.errors if t >= since)

    def snapshot(self):
        with self.lock:
            return {iid: (t.registered, t.healthy, t.fails, t.routable)
                    for iid, t in self.targets.items()}

    def routable(self, group=None):
        with self.lock:
            return sorted(t.id for t in self.targets.values()
                          if t.routable and (group is None or t.group == group))

    # -- health checks ------------------------------------------------------------------
    def check(self, port):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2.0)
            try:
                c.request("GET", "/health")
                return c.getresponse().status == 200
            finally:
                c.close()
        except (OSError, http.client.HTTPException):
            return False

    def health_loop(self):
        while not self.stopping.wait(HEALTH_INTERVAL):
            with self.lock:
                todo = [(t, t.port) for t in self.targets.values() if t.registered and not t.gone]
            for t, port in todo:
                ok = self.check(port)
                with self.lock:
                    if not t.registered or t.gone:
                        continue
                    if ok:
                        t.passes, t.fails = t.passes + 1, 0
                        if not t.healthy and t.passes >= HEALTHY_THRESHOLD:
                            t.healthy = True
                            self.event(f"{t.id} ({t.group}) passes the load balancer's "
                                       "health checks")
                    else:
                        t.passes, t.fails = 0, t.fails + 1
                        if t.healthy and t.fails >= UNHEALTHY_THRESHOLD:
                            t.healthy = False
                            self.event(f"{t.id} ({t.group}) fails the load balancer's "
                                       "health checks")

    def stop(self):
        self.stopping.set()
        self.srv.shutdown()
        self.srv.server_close()
        for t in self.threads:
            t.join(5)


# ======================================================================================
# The traffic generator
# ======================================================================================
class Traffic:
    """`workers` threads, each sending up to `rate` GET /version a second through the
    balancer. records: (start, end, version or None, error or None, backend instance or
    None), times monotonic."""

    def __init__(self, port, workers=4, rate=10.0):
        self.port, self.workers, self.period = port, workers, 1.0 / rate
        self.records = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = []
        self.started = self.stopped = None

    def start(self):
        self.started = time.monotonic()
        for n in range(self.workers):
            t = threading.Thread(target=self.worker, name=f"traffic-{n}", daemon=True)
            t.start()
            self.threads.append(t)

    def one(self):
        t0 = time.monotonic()
        version = error = backend = None
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                c.request("GET", "/version")
                r = c.getresponse()
                body = r.read().decode(errors="replace").strip()
                backend = r.getheader("X-Backend")
            finally:
                c.close()
            if r.status == 200:
                version = body
            else:
                error = f"HTTP {r.status}: {body[:80]}"
        except (OSError, http.client.HTTPException) as e:
            error = f"{type(e).__name__}: {e}"
        with self.lock:
            self.records.append((t0, time.monotonic(), version, error, backend))
        return t0

    def worker(self):
        while not self.stopping.is_set():
            t0 = self.one()
            self.stopping.wait(max(0.0, t0 + self.period - time.monotonic()))

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(15)
        self.threads = []
        if self.started is not None and self.stopped is None:
            self.stopped = time.monotonic()

    def snapshot(self):
        with self.lock:
            return list(self.records)

    def failures(self):
        return [r for r in self.snapshot() if r[3] is not None]

    def versions(self, since=None, until=None):
        """{version: count} of the answers to requests sent in [since, until)."""
        out = {}
        for t0, _, v, _, _ in self.snapshot():
            if v is not None and (since is None or t0 >= since) and (until is None or t0 < until):
                out[v] = out.get(v, 0) + 1
        return out


# ======================================================================================
# The world
# ======================================================================================
class CommandResult:
    def __init__(self, args, rc, output, start, end):
        self.args, self.rc, self.output, self.start, self.end = args, rc, output, start, end

    @property
    def seconds(self):
        return self.end - self.start


class World:
    """Everything of the demo; start() builds it, stop() takes it all down again (always
    call it, also when start() failed half way)."""

    def __init__(self, build=None, out=print, workers=4, rate=10.0, verbose_events=True):
        build = build or os.environ.get("ASGSWAP_BUILD") or os.path.join(TOP, "build")
        self.asgswap = os.path.join(os.path.abspath(build), "asgswap")
        self.agent = os.path.join(os.path.abspath(build), "asgswap-agent")
        for p in (self.asgswap, self.agent):
            if not os.access(p, os.X_OK):
                raise DemoFailure(f"{p} is not built (make BUILD={build} all)")
        self.out = out
        self.verbose_events = verbose_events
        self.workers, self.rate = workers, rate
        self.t0 = time.monotonic()
        self.dir = None
        self.moto = self.docker = self.lb = self.traffic = None
        self.instances = {}
        self.alarm = None
        self.lock = threading.Lock()
        self.error = None
        self.stopping = threading.Event()
        self.poller = None
        self.shutdowns = []
        self.events = []  # (t, text): what happened in the world
        self.marks = []   # (t, text): the commands, for the timeline
        self.tg_arn = None
        self.clients = threading.local()

    # -- output -------------------------------------------------------------------------
    def now(self):
        return time.monotonic() - self.t0

    def event(self, text):
        t = self.now()
        self.events.append((t, text))
        if self.verbose_events:
            self.out(f"  [{t:6.1f} s] {text}")

    def fail(self, why):
        """A background part of the world broke: the next check() raises it."""
        with self.lock:
            if self.error is None:
                self.error = why

    def check(self):
        if self.error:
            raise DemoFailure(self.error)

    # -- start --------------------------------------------------------------------------
    def start(self):
        self.dir = tempfile.mkdtemp(prefix="asgswap-demo-")
        missing = dockerbed.missing_tools()
        if missing:
            raise DemoFailure(f"the demo needs {', '.join(missing)} (make deps)")
        # moto starts while dockerd does (both take a few seconds).
        moto_box = []

        def start_moto():
            try:
                moto_box.append(motobed.Moto(zero_delays=False))
            except BaseException as e:  # noqa: B902 - handed to the main thread
                moto_box.append(e)
        th = threading.Thread(target=start_moto, name="moto-start", daemon=True)
        th.start()
        try:
            self.event("starting dockerd and docker-registry; building demo-web 1.0 and 2.0")
            self.docker = DemoDocker(user=ECR_USER, password=ECR_PASSWORD)
        finally:
            th.join(120)
            if moto_box and isinstance(moto_box[0], motobed.Moto):
                self.moto = moto_box[0]
        if not moto_box or not isinstance(moto_box[0], motobed.Moto):
            raise DemoFailure(f"moto did not start: {moto_box[0] if moto_box else 'timed out'}")
        self.moto.set_delays(**DELAYS)
        self.event(f"moto test bed on {self.moto.url}; registry on {self.docker.registry.host}")
        self.setup_service()
        self.lb = LoadBalancer(self.event)
        self.event(f"load balancer on 127.0.0.1:{self.lb.port}")
        self.poller = threading.Thread(target=self.poll_loop, name="simulator", daemon=True)
        self.poller.start()
        self.alarm = AlarmEvaluator(self)
        self.wait(lambda: len(self.lb.routable(BLUE)) == 2 and self.target_health(BLUE) ==
                  ["healthy", "healthy"], 90,
                  "the 2 instances of demo-web-blue healthy behind the load balancer")
        self.traffic = Traffic(self.lb.port, self.workers, self.rate)
        self.traffic.start()
        self.event(f"traffic: {self.workers} clients, up to {self.workers * self.rate:.0f} "
                   "requests/s through the load balancer")

    def client(self, service):
        """A boto3 client of moto, one per thread and service (making one costs ~0.1 s of
        CPU, which the traffic's threads would feel)."""
        cache = self.clients.__dict__
        if service not in cache:
            cache[service] = self.moto.client(service, retries={"mode": "standard",
                                                                "max_attempts": 5})
        return cache[service]

    def setup_service(self):
        token = self.client("ecr").get_authorization_token()["authorizationData"][0]
        if base64.b64decode(token["authorizationToken"]).decode() != f"{ECR_USER}:{ECR_PASSWORD}":
            raise DemoFailure("moto's ECR token is not the registry's password")
        ec2, asg, elbv2 = self.client("ec2"), self.client("autoscaling"), self.client("elbv2")
        ami = ec2.describe_images()["Images"][0]["ImageId"]
        vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        ec2.create_launch_template(LaunchTemplateName=SERVICE, LaunchTemplateData={
            "ImageId": ami, "InstanceType": "t3.micro"})
        self.tg_arn = elbv2.create_target_group(
            Name=TG_NAME, Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="instance",
            HealthCheckPath="/health")["TargetGroups"][0]["TargetGroupArn"]
        hook = [{"LifecycleHookName": HOOK, "HeartbeatTimeout": 300, "DefaultResult": "ABANDON",
                 "LifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING"}]
        for name, desired, version in ((BLUE, 2, "1.0"), (GREEN, 0, None)):
            tags = [{"Key": "docker:image:name", "Value": SERVICE}]
            if version:
                tags.append({"Key": "docker:image:version", "Value": version})
            asg.create_auto_scaling_group(
                AutoScalingGroupName=name, MinSize=desired, MaxSize=4, DesiredCapacity=desired,
                LaunchTemplate={"LaunchTemplateName": SERVICE}, AvailabilityZones=[AZ],
                TargetGroupARNs=[self.tg_arn], LifecycleHookSpecificationList=hook,
                Tags=[dict(t, ResourceId=name, ResourceType="auto-scaling-group",
                           PropagateAtLaunch=True) for t in tags])
        self.event(f"service {SERVICE}: target group {TG_NAME}, {BLUE} (2 x 1.0) and {GREEN} "
                   f"(0), each with the launch lifecycle hook '{HOOK}'")
        cw = self.client("cloudwatch")
        cw.put_metric_alarm(
            AlarmName=ALARM, Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_4XX_Count",
            Dimensions=[{"Name": "TargetGroup", "Value": self.tg_arn.split(":")[-1]}],
            Statistic="Sum", Period=ALARM_PERIOD, EvaluationPeriods=1, Threshold=ALARM_THRESHOLD,
            ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching")
        cw.set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="no target errors")
        self.event(f"alarm {ALARM}: {ALARM_THRESHOLD} or more target errors in "
                   f"{ALARM_PERIOD} s")

    def wait(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        while not pred():
            self.check()
            if time.monotonic() > deadline:
                raise DemoFailure(f"{what}: not within {timeout:.0f} s")
            time.sleep(0.1)

    # -- the instance simulator ---------------------------------------------------------
    def poll_loop(self):
        asg, elbv2, ec2 = self.client("autoscaling"), self.client("elbv2"), self.client("ec2")
        errors = 0
        while not self.stopping.wait(POLL):
            try:
                self.poll_once(asg, elbv2, ec2)
                errors = 0
            except Exception as e:  # moto busy: a few misses are fine, many are not
                errors += 1
                if errors >= 25:
                    self.fail(f"the instance simulator cannot read moto: {e}")
                    return

    def poll_once(self, asg, elbv2, ec2):
        groups = asg.describe_auto_scaling_groups(
            AutoScalingGroupNames=[BLUE, GREEN])["AutoScalingGroups"]
        seen = {i["InstanceId"]: (g["AutoScalingGroupName"], i["LifecycleState"])
                for g in groups for i in g["Instances"]}
        found = elbv2.describe_target_health(TargetGroupArn=self.tg_arn)
        health = {d["Target"]["Id"]: d["TargetHealth"]["State"]
                  for d in found["TargetHealthDescriptions"]}
        for iid, (group, state) in sorted(seen.items()):
            inst = self.instances.get(iid)
            if inst is None:
                try:
                    inst = self.launch(iid, group, ec2)
                except Exception as e:  # not moto's fault: no retry
                    self.fail(f"the instance simulator could not boot {iid}: {e}")
                    raise
            if inst.state != state:
                if inst.state is not None:
                    self.event(f"{iid} ({group}) {inst.state} -> {state}")
                inst.state = state
            self.lb.update(iid, group, inst.port, state == "InService",
                           health.get(iid) in REGISTERED)
        for iid, inst in list(self.instances.items()):
            if iid not in seen and not inst.leaving:
                inst.leaving = True
                self.event(f"{iid} ({inst.group}) terminated")
                th = threading.Thread(target=self.shut_down, args=(inst,), name="shutdown",
                                      daemon=True)
                self.shutdowns.append(th)
                th.start()
        # moto's target health follows the balancer's checks.
        for iid, (registered, healthy, fails, _) in self.lb.snapshot().items():
            state = health.get(iid)
            if not registered or state not in REGISTERED:
                continue
            want = "healthy" if healthy else ("unhealthy" if fails >= UNHEALTHY_THRESHOLD else None)
            if want and want != state:
                self.moto.set_target_health(self.tg_arn, iid, want, if_registered=True)
        for iid, inst in list(self.instances.items()):
            if not inst.leaving and inst.agent and inst.agent.poll() is not None:
                inst.agent_rc = inst.agent.returncode
                self.fail(f"the agent of {iid} ({inst.group}) exited with {inst.agent_rc}:\n"
                          + inst.log_tail())

    def launch(self, iid, group, ec2):
        """A new instance boots: IMDS, configuration, the agent."""
        d = os.path.join(self.dir, iid)
        os.makedirs(d)
        inst = Instance(iid, group, host_port(), d)
        tags = self.client("autoscaling").describe_tags(Filters=[
            {"Name": "auto-scaling-group", "Values": [group]},
            {"Name": "key", "Values": ["docker:image:version"]}])["Tags"]
        inst.version = tags[0]["Value"] if tags else None
        self.instances[iid] = inst
        try:
            desc = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
            private_ip = desc.get("PrivateIpAddress") or "10.0.0.10"
        except Exception:
            private_ip = "10.0.0.10"
        inst.imds = InstanceImds(instance_id=iid, region=REGION, az=AZ, account=ACCOUNT,
                                 private_ip=private_ip, role=ROLE, tags_enabled=False)
        env_file = os.path.join(d, "app.env")
        with open(env_file, "w") as f:
            f.write(f"PORT={inst.port}\n")
        conf = os.path.join(d, "agent.conf")
        with open(conf, "w") as f:
            f.write(f"# {iid} in {group}, written by the demo's instance simulator\n"
                    f"registry = {self.docker.registry.host}\n"
                    f"registry_auth = ecr\n"
                    f"container_name = {inst.container}\n"
                    f"network = host\n"
                    f"env_file = {env_file}\n"
                    f"health_url = http://127.0.0.1:{inst.port}/health\n"
                    f"health_timeout = 60\n"
                    f"tag_timeout = 60\n"
                    f"docker_socket = {self.docker.socket}\n"
                    # journald, the default, needs a journal on the demo's host
                    f"log_driver = json-file\n")
        # The agent's credentials come from the instance role, as on EC2.
        env = bed.base_env(AWS_ENDPOINT_URL=self.moto.url,
                           AWS_EC2_METADATA_SERVICE_ENDPOINT=inst.imds.url,
                           AWS_EC2_METADATA_DISABLED=None, AWS_ACCESS_KEY_ID=None,
                           AWS_SECRET_ACCESS_KEY=None, AWS_REGION=None,
                           ASGSWAP_DOCKER_CONFIG=os.path.join(d, "no-docker-config.json"))
        with open(inst.log, "w") as log:
            inst.agent = subprocess.Popen([self.agent, "--config", conf], stdin=subprocess.DEVNULL,
                                          stdout=log, stderr=subprocess.STDOUT, env=env,
                                          start_new_session=True)
        self.event(f"{iid} launched in {group}: asgswap-agent started "
                   f"(container {inst.container}, port {inst.port})")
        return inst

    def shut_down(self, inst):
        """The instance is gone from its group: drain it, then stop what ran on it."""
        if not self.lb.drain(inst.id):
            self.fail(f"{inst.id}: requests still in flight 30 s after it left")
        self.stop_instance(inst)
        self.event(f"{inst.id} ({inst.group}) shut down: agent stopped, container removed")
        if inst.agent_rc not in (0, None):
            self.fail(f"the agent of {inst.id} exited with {inst.agent_rc} on SIGTERM:\n"
                      + inst.log_tail())

    def stop_instance(self, inst):
        with inst.lock:
            self._stop_instance(inst)

    def _stop_instance(self, inst):
        if inst.agent and not bed.stop_process_group(inst.agent, 15):
            inst.agent_rc = "killed (no exit 15 s after SIGTERM)"
        if inst.agent and inst.agent_rc is None:
            inst.agent_rc = inst.agent.returncode
        if self.docker:
            with contextlib.suppress(Exception):
                self.docker.remove_container(inst.container)
                self.docker.remove_container(inst.container + "-asgswap-next")
        if inst.imds:
            inst.imds.stop()
            inst.imds = None

    # -- running asgswap ----------------------------------------------------------------
    def command(self, *args, timeout=180, echo=None):
        """Runs `asgswap ARGS` against moto, echoing its output (stdout and stderr, in
        order) line by line. A CommandResult; raises DemoFailure if the world broke."""
        echo = echo or self.out
        self.check()
        env = bed.base_env(AWS_ENDPOINT_URL=self.moto.url, NO_COLOR="1")
        start = time.monotonic()
        self.marks.append((start - self.t0, "$ asgswap " + " ".join(args)))
        p = subprocess.Popen([self.asgswap, *args], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True,
                             errors="replace")
        lines = []
        expired = []

        def expire():  # SIGTERM first: asgswap then stops where `status` can tell
            expired.append(True)
            with contextlib.suppress(OSError):
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        timer.start()
        try:
            for line in p.stdout:
                lines.append(line.rstrip("\n"))
                echo("    " + line.rstrip("\n"))
            rc = p.wait()
        finally:
            timer.cancel()
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
        end = time.monotonic()
        self.marks.append((end - self.t0, f"asgswap {args[0]} exited {rc} ({end - start:.1f} s)"))
        self.check()
        if expired:
            raise DemoFailure(f"`asgswap {' '.join(args)}` did not finish within {timeout:.0f} s "
                              f"(exit {rc})")
        return CommandResult(args, rc, "\n".join(lines), start, end)

    def expect_only(self, version, since=None, count=20, timeout=15.0):
        """Waits until `count` requests sent after `since` (default: now) were all answered,
        and by `version` only; raises DemoFailure if another version answers meanwhile."""
        since = time.monotonic() if since is None else since
        deadline = time.monotonic() + timeout
        while True:
            self.check()
            served = self.traffic.versions(since=since)
            other = {v: n for v, n in served.items() if v != version}
            if other:
                raise DemoFailure(f"expected only {version} to answer, got {served}")
            if served.get(version, 0) >= count:
                return served
            if time.monotonic() > deadline:
                raise DemoFailure(f"expected {count} answers from {version} within "
                                  f"{timeout:.0f} s, got {served}")
            time.sleep(0.1)

    def target_health(self, group):
        """The target group's states of the group's instances, as moto reports them."""
        ids = set(self.group_instances(group))
        found = self.client("elbv2").describe_target_health(TargetGroupArn=self.tg_arn)
        return sorted(d["TargetHealth"]["State"] for d in found["TargetHealthDescriptions"]
                      if d["Target"]["Id"] in ids)

    def group_instances(self, name):
        g = self.client("autoscaling").describe_auto_scaling_groups(
            AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
        return {i["InstanceId"]: i["LifecycleState"] for i in g["Instances"]}

    # -- stop ---------------------------------------------------------------------------
    def stop(self):
        """Stops everything start() started, in reverse order; returns a list of problems
        (empty when nothing was left behind)."""
        problems = []

        def attempt(what, fn):
            try:
                fn()
            except Exception as e:
                problems.append(f"{what}: {e}")
        if self.traffic:
            attempt("traffic", self.traffic.stop)
        self.stopping.set()
        if self.alarm:
            attempt("alarm evaluator", self.alarm.stop)
        self.verbose_events = False
        if self.poller:
            self.poller.join(15)
            if self.poller.is_alive():
                problems.append("the instance simulator did not stop")
        if self.lb:
            attempt("load balancer", self.lb.stop)
        for th in self.shutdowns:
            th.join(60)
        for inst in list(self.instances.values()):
            attempt(f"instance {inst.id}", lambda inst=inst: self.stop_instance(inst))
        if self.docker:
            def containers_left():
                left = [c["Names"][0].lstrip("/") for c in self.docker.containers()]
                if left:
                    problems.append("containers left by the simulated instances: "
                                    + ", ".join(left))
            attempt("docker", containers_left)
            attempt("docker", self.docker.stop)  # removes any container left, then dockerd
            self.docker = None
        if self.moto:
            attempt("moto", self.moto.stop)
            self.moto = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            if os.path.exists(self.dir):
                problems.append(f"{self.dir} still exists")
            self.dir = None
        left = bed.leftover_children()
        if left:
            problems.append("processes left: " + "; ".join(left))
        return problems


class AlarmEvaluator:
    """CloudWatch's part in act 2: every half second, the balancer's target errors of the
    last ALARM_PERIOD seconds against the threshold; a change of state is set in moto with
    SetAlarmState, as CloudWatch sets it after its evaluation. changes: (monotonic, state)."""

    def __init__(self, world):
        self.world = world
        self.state = "OK"
        self.changes = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.loop, name="alarm", daemon=True)
        self.thread.start()

    def loop(self):
        cw = self.world.client("cloudwatch")
        while not self.stopping.wait(0.5):
            now = time.monotonic()
            errors = self.world.lb.target_errors(now - ALARM_PERIOD)
            state = "ALARM" if errors >= ALARM_THRESHOLD else "OK"
            if state == self.state:
                continue
            reason = f"{errors} target errors in the last {ALARM_PERIOD} s"
            try:
                cw.set_alarm_state(AlarmName=ALARM, StateValue=state, StateReason=reason)
            except Exception as e:  # moto busy: evaluated again at the next tick
                self.world.event(f"alarm {ALARM}: setting {state} failed ({e})")
                continue
            self.state = state
            self.changes.append((now, state))
            self.world.marks.append((now - self.world.t0, f"alarm {ALARM} -> {state}"))
            self.world.event(f"alarm {ALARM} -> {state} ({reason})")

    def first(self, state, since):
        return next((t for t, s in self.changes if s == state and t >= since), None)

    def stop(self):
        self.stopping.set()
        self.thread.join(5)


def host_port():
    """A free loopback port for a container, below the kernel's ephemeral range so that no
    outgoing connection takes it before the container's httpd binds it."""
    import random
    import socket
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    low = low if low > 12000 else 65536
    for _ in range(200):
        port = random.randrange(10000, low - 1)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    return bed.free_port()


def timeline(traffic, events, t0, since=None, until=None):
    """Per second (of the world's clock t0): requests sent, failures, versions answering;
    events (commands) noted on the second they happened. A list of (second, text) rows."""
    recs = traffic.snapshot()
    if not recs:
        return []
    first = int(min(r[0] for r in recs) - t0)
    last = int(max(r[0] for r in recs) - t0)
    per = {}
    for t0_, _, v, err, _ in recs:
        s = int(t0_ - t0)
        row = per.setdefault(s, {"n": 0, "fail": 0, "v": {}})
        row["n"] += 1
        if err:
            row["fail"] += 1
        else:
            row["v"][v] = row["v"].get(v, 0) + 1
    notes = {}
    for t, text in events:
        notes.setdefault(int(t), []).append(text)
    rows = []
    for s in range(first, last + 1):
        row = per.get(s, {"n": 0, "fail": 0, "v": {}})
        versions = " ".join(f"{v}:{n}" for v, n in sorted(row["v"].items()))
        rows.append((s, row["n"], row["fail"], versions, notes.get(s, [])))
    return rows


def json_dumps(obj):
    return json.dumps(obj, indent=2, sort_keys=True)

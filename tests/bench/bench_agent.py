#!/usr/bin/env python3
"""Agent benchmark (`make bench`; not a timed test), the agent's budgets:
  - start to container create: from exec to the Docker create request, every peer on loopback
    (moto, our IMDSv2 emulator, dockerd, the registry) and the image already present;
    budget 50 ms. Read from the agent's --verbose line "creating container", which it logs
    right before the request.
  - peak RSS of a --once boot (ru_maxrss of the child, as /usr/bin/time reports it); 16 MiB.
  - private memory while it supervises (Private_Dirty + Private_Clean of smaps_rollup), the
    largest of samples over several supervisor polls after READY=1; 4 MiB.
Prints one table; exits 1 when a budget is exceeded."""
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fixtures"))
import bed  # noqa: E402
import dockerbed  # noqa: E402
from imds import Imds  # noqa: E402
from motobed import Moto  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "7"))
BUDGET_CREATE_MS = 50
BUDGET_RSS_KIB = 16 * 1024
BUDGET_PRIVATE_KIB = 4 * 1024
SUPERVISE_WINDOW_S = 6.5
SAMPLE_EVERY_S = 0.25


def main():
    missing = dockerbed.missing_tools()
    if missing:
        print(f"bench_agent: skipped, the Docker test bed needs {', '.join(missing)}")
        return 0
    tmp = tempfile.TemporaryDirectory(prefix="asgswap-bench-")
    moto = imds = docker = None
    try:
        moto = Moto()
        asg, ec2 = moto.client("autoscaling"), moto.client("ec2")
        import base64
        tok = moto.client("ecr").get_authorization_token()["authorizationData"][0]
        user, password = base64.b64decode(tok["authorizationToken"]).decode().split(":", 1)
        docker = dockerbed.DockerBed(user=user, password=password)
        imds = Imds()
        ami = ec2.describe_images()["Images"][0]["ImageId"]
        ec2.create_launch_template(LaunchTemplateName="bench-lt", LaunchTemplateData={
            "ImageId": ami, "InstanceType": "t3.micro"})
        group = "bench-" + uuid.uuid4().hex[:6]
        asg.create_auto_scaling_group(
            AutoScalingGroupName=group, MinSize=0, MaxSize=1, DesiredCapacity=1,
            LaunchTemplate={"LaunchTemplateName": "bench-lt"}, AvailabilityZones=["us-east-1a"],
            LifecycleHookSpecificationList=[{"LifecycleHookName": "launch", "LifecycleTransition":
                                             "autoscaling:EC2_INSTANCE_LAUNCHING"}])
        asg.create_or_update_tags(Tags=[
            {"ResourceId": group, "ResourceType": "auto-scaling-group", "Key": k, "Value": v,
             "PropagateAtLaunch": True}
            for k, v in (("docker:image:name", "app"), ("docker:image:version", "1"))])
        instance = asg.describe_auto_scaling_groups(
            AutoScalingGroupNames=[group])["AutoScalingGroups"][0]["Instances"][0]["InstanceId"]
        imds.configure(instance_id=instance, tags_enabled=True,
                       tags={"aws:autoscaling:groupName": group})
        notify_path = os.path.join(tmp.name, "notify")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        notify.bind(notify_path)
        env = bed.base_env(AWS_ENDPOINT_URL=moto.url,
                           AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url,
                           AWS_EC2_METADATA_DISABLED=None, NOTIFY_SOCKET=notify_path,
                           ASGSWAP_REGISTRY=docker.registry.host, ASGSWAP_CONTAINER_NAME=group,
                           ASGSWAP_DOCKER_SOCKET=docker.socket, ASGSWAP_NETWORK="none",
                           ASGSWAP_REGISTRY_AUTH="ecr", ASGSWAP_LOG_DRIVER="json-file",
                           ASGSWAP_DOCKER_CONFIG="/nonexistent/config.json")
        agent = [bed.binary("asgswap-agent"), "--config", "/dev/null", "--verbose"]
        # BENCH_WRAP="valgrind --tool=massif ..." profiles one boot instead of measuring.
        wrap = os.environ.get("BENCH_WRAP", "").split()
        if wrap:
            subprocess.run(wrap + agent + ["--once"], env=env, timeout=300)
            return 0

        def drain():
            notify.setblocking(False)
            out = []
            while True:
                try:
                    out.append(notify.recv(65536).decode())
                except BlockingIOError:
                    return "\n".join(out)

        # The first boot pulls the image; the measured ones find it present.
        subprocess.run(agent + ["--once"], env=env, capture_output=True, timeout=120, check=True)
        creates, rss = [], []
        for _ in range(RUNS):
            docker.remove_container(group)
            drain()
            # /usr/bin/time measures the agent alone: ru_maxrss of a child forked from
            # Python would count Python's own pages from before the exec.
            timing = os.path.join(tmp.name, "time")
            t0 = time.monotonic()
            p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", timing] + agent + ["--once"],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 text=True)
            t_create = None
            for line in p.stderr:
                if t_create is None and "creating container" in line:
                    t_create = time.monotonic()
            if p.wait() != 0 or t_create is None:
                raise RuntimeError(f"agent run failed ({p.returncode})")
            creates.append((t_create - t0) * 1000)
            with open(timing) as f:
                rss.append(int(f.read().split()[-1]))

        # Supervising: private memory once READY=1 has been sent.
        drain()
        notify.setblocking(True)
        p = subprocess.Popen(agent[:-1], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            notify.settimeout(60)
            seen = ""
            while "READY=1" not in seen:
                seen += notify.recv(65536).decode()
            # Steady state: the largest of samples over SUPERVISE_WINDOW_S, which spans
            # several of the supervisor's polls (every 2 s), not just the moment of READY=1.
            fields, end = {}, time.monotonic() + SUPERVISE_WINDOW_S
            while True:
                sample = {}
                with open(f"/proc/{p.pid}/smaps_rollup") as f:
                    for line in f:
                        k, _, rest = line.partition(":")
                        if rest.strip().endswith("kB"):
                            sample[k] = int(rest.split()[0])
                if (sample["Private_Dirty"] + sample["Private_Clean"] >
                        fields.get("Private_Dirty", 0) + fields.get("Private_Clean", 0)):
                    fields = sample
                if time.monotonic() >= end:
                    break
                time.sleep(SAMPLE_EVERY_S)
            private = fields["Private_Dirty"] + fields["Private_Clean"]
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=15)
        notify.close()

        med_create = statistics.median(creates)
        rows = [
            ("start to container create (median ms)", f"{med_create:.1f}",
             f"min {min(creates):.1f}, max {max(creates):.1f}", BUDGET_CREATE_MS,
             med_create <= BUDGET_CREATE_MS),
            ("peak RSS (KiB)", str(max(rss)), f"median {statistics.median(rss):.0f}",
             BUDGET_RSS_KIB, max(rss) <= BUDGET_RSS_KIB),
            ("private memory supervising (KiB)", str(private),
             f"dirty {fields['Private_Dirty']}, clean {fields['Private_Clean']}, "
             f"Rss {fields['Rss']}", BUDGET_PRIVATE_KIB, private <= BUDGET_PRIVATE_KIB),
        ]
        print(f"asgswap-agent, {RUNS} boots with the image present, every peer on loopback")
        print(f"{'measure':40} {'value':>8} {'budget':>7}  detail")
        ok = True
        for name, value, detail, budget, within in rows:
            print(f"{name:40} {value:>8} {budget:>7}  {detail}{'' if within else '  OVER BUDGET'}")
            ok = ok and within
        return 0 if ok else 1
    finally:
        for f in (imds, docker, moto):
            if f:
                f.stop()
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Agent benchmark (`make bench`; not a timed test), with its budgets:
  - start to container create: from exec to the Docker create request, every peer on loopback
    (moto, our IMDSv2 emulator, dockerd, the registry) and the image already present;
    budget 50 ms. Read from the agent's --verbose line "creating container", which it logs
    right before the request.
  - peak RSS of a --once boot (ru_maxrss of the child, as /usr/bin/time reports it); 16 MiB.
  - while it supervises, from smaps_rollup, the largest of samples over several supervisor
    polls after READY=1: Rss (and its peak, VmHWM), Pss and Private_Dirty; Private_Dirty
    2 MiB. Nothing drops clean pages to flatter these: they are the kernel's to reclaim.
  - a soak: SOAK_CYCLES (10,000) supervision cycles with a fast health interval (the
    watchdog's: WATCHDOG_USEC = 2 ms makes the supervisor poll every millisecond, each poll
    a container inspect and a WATCHDOG=1, counted on the notify socket). Rss and the [heap]
    mapping, from cycle SOAK_WARMUP on to the end, each grow by less than 64 KiB; and the
    same soak under valgrind ends (SIGTERM) without an error or a definite leak
    (BENCH_NO_VALGRIND=1 skips it).
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
BUDGET_DIRTY_KIB = 2 * 1024
BUDGET_GROWTH_KIB = 64
SUPERVISE_WINDOW_S = 6.5
SAMPLE_EVERY_S = 0.25
SOAK_CYCLES = int(os.environ.get("BENCH_SOAK_CYCLES", "10000"))
SOAK_WARMUP = SOAK_CYCLES // 20
SOAK_DEADLINE_S = 600


def rollup(pid):
    """smaps_rollup's kB fields, VmHWM from status, and the [heap] mapping's Rss."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            k, _, rest = line.partition(":")
            if rest.strip().endswith("kB"):
                out[k] = int(rest.split()[0])
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                out["VmHWM"] = int(line.split()[1])
    out["heap"], in_heap = 0, False
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if head and "-" in head[0] and not head[0].endswith(":"):
                in_heap = line.rstrip().endswith("[heap]")
            elif in_heap and line.startswith("Rss:"):
                out["heap"] += int(head[1])
    return out


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

        # Supervising: memory once READY=1 has been sent.
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
                sample = rollup(p.pid)
                fields = {k: max(v, fields.get(k, 0)) for k, v in sample.items()}
                if time.monotonic() >= end:
                    break
                time.sleep(SAMPLE_EVERY_S)
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=15)

        # The soak: the supervisor as fast as the watchdog makes it; then the same under
        # valgrind (errors and definite leaks; its own memory is not measured).
        def soak(wrap):
            drain()
            soak_env = dict(env, WATCHDOG_USEC="2000")
            soak_env.pop("WATCHDOG_PID", None)
            p = subprocess.Popen(wrap + agent[:-1], env=soak_env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
            try:
                cycles, start, warm, t_soak = 0, None, None, time.monotonic()
                notify.settimeout(120 if wrap else 30)
                while cycles < SOAK_CYCLES:
                    if time.monotonic() - t_soak > SOAK_DEADLINE_S:
                        raise RuntimeError(f"soak: {cycles} cycles in {SOAK_DEADLINE_S} s")
                    msg = notify.recv(65536).decode()
                    if start is None and "READY=1" in msg:
                        start = time.monotonic()
                    if start is not None:
                        cycles += msg.count("WATCHDOG=1")
                    if warm is None and cycles >= SOAK_WARMUP:
                        warm = rollup(p.pid)
                last = rollup(p.pid)
                soak_s = time.monotonic() - start
                alive = p.poll() is None
            finally:
                p.send_signal(signal.SIGTERM)
                _, err = p.communicate(timeout=120)
            return warm, last, soak_s, alive, p.returncode, err

        warm, last, soak_s, alive, _, _ = soak([])
        vg = ["valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full",
              "--errors-for-leak-kinds=definite,indirect"]
        vg_rc, vg_s, vg_err = None, 0.0, ""
        if os.access("/usr/bin/valgrind", os.X_OK) and not os.environ.get("BENCH_NO_VALGRIND"):
            _, _, vg_s, _, vg_rc, vg_err = soak(vg)
        notify.close()
        rss_growth = last["Rss"] - warm["Rss"]
        heap_growth = last["heap"] - warm["heap"]

        med_create = statistics.median(creates)
        rows = [
            ("start to container create (median ms)", f"{med_create:.1f}",
             f"min {min(creates):.1f}, max {max(creates):.1f}", BUDGET_CREATE_MS,
             med_create <= BUDGET_CREATE_MS),
            ("peak RSS (KiB)", str(max(rss)), f"median {statistics.median(rss):.0f}",
             BUDGET_RSS_KIB, max(rss) <= BUDGET_RSS_KIB),
            ("supervising: Rss (KiB)", str(fields["Rss"]),
             f"peak VmHWM {fields['VmHWM']}", BUDGET_RSS_KIB, fields["VmHWM"] <= BUDGET_RSS_KIB),
            ("supervising: Pss (KiB)", str(fields["Pss"]),
             f"Pss_Anon {fields.get('Pss_Anon', '?')}, Pss_File {fields.get('Pss_File', '?')}",
             "-", True),
            ("supervising: Private_Dirty (KiB)", str(fields["Private_Dirty"]),
             f"Private_Clean {fields['Private_Clean']}, [heap] {fields['heap']}",
             BUDGET_DIRTY_KIB, fields["Private_Dirty"] <= BUDGET_DIRTY_KIB),
            (f"soak: Rss growth, {SOAK_CYCLES} cycles (KiB)", str(rss_growth),
             f"{warm['Rss']} at cycle {SOAK_WARMUP}, {last['Rss']} at the end, "
             f"{soak_s:.1f} s{'' if alive else ', AGENT DIED'}",
             BUDGET_GROWTH_KIB, rss_growth < BUDGET_GROWTH_KIB and alive),
            ("soak: [heap] growth (KiB)", str(heap_growth),
             f"{warm['heap']} -> {last['heap']}", BUDGET_GROWTH_KIB,
             heap_growth < BUDGET_GROWTH_KIB),
        ]
        if vg_rc is not None:
            rows.append((f"soak under valgrind, {SOAK_CYCLES} cycles: exit", str(vg_rc),
                         f"{vg_s:.1f} s; 99 is a valgrind error or leak"
                         + (f": {vg_err.strip()[-300:]}" if vg_rc else ""), "0", vg_rc == 0))
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

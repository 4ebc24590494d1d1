#!/usr/bin/env python3
"""Controller benchmark (`make bench`; not a timed test): API calls by action and wall time
(and sequential rounds: calls side by side count once) of deploy, rollback and finalize
through the fault proxy with 20 ms added to every call and
the test bed's delays off, for 2 group pairs x 4 instances and 20 pairs x 50 instances.

    python3 tests/bench/bench_ctl.py [--sizes 2x4,20x50] [--latency-ms 20]
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fixtures"))
os.environ.setdefault("ASGSWAP_TOP", os.path.dirname(os.path.dirname(HERE)))

import bed  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402
from motobed import Moto  # noqa: E402

IMAGE = "registry.example/bench"


def setup(moto, pairs, instances):
    asg, ec2, elbv2 = moto.client("autoscaling"), moto.client("ec2"), moto.client("elbv2")
    ami = ec2.describe_images()["Images"][0]["ImageId"]
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    ec2.create_launch_template(LaunchTemplateName="bench-lt", LaunchTemplateData={
        "ImageId": ami, "InstanceType": "t3.micro"})
    for k in range(pairs):
        tg = elbv2.create_target_group(Name=f"b{k}-tg", Protocol="HTTP", Port=8080, VpcId=vpc,
                                       TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
        for colour, desired in (("blue", instances), ("green", 0)):
            name = f"b{k}-{colour}"
            tags = [{"Key": "docker:image:name", "Value": IMAGE, "PropagateAtLaunch": True}]
            if desired:
                tags.append({"Key": "docker:image:version", "Value": "1.0",
                             "PropagateAtLaunch": True})
            for t in tags:
                t.update(ResourceId=name, ResourceType="auto-scaling-group")
            asg.create_auto_scaling_group(
                AutoScalingGroupName=name, MinSize=min(1, desired), MaxSize=instances,
                DesiredCapacity=desired, LaunchTemplate={"LaunchTemplateName": "bench-lt"},
                AvailabilityZones=["us-east-1a"], Tags=tags, TargetGroupARNs=[tg])
        asg.put_scaling_policy(AutoScalingGroupName=f"b{k}-blue", PolicyName="out",
                               PolicyType="SimpleScaling", AdjustmentType="ChangeInCapacity",
                               ScalingAdjustment=1)


def run(proxy, *args):
    proxy.clear()
    proxy.latency(LATENCY_MS)
    t0 = time.monotonic()
    p = bed.run("asgswap", *args, "--poll", "0.2", env=bed.base_env(AWS_ENDPOINT_URL=proxy.url),
                timeout=1800)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit(f"asgswap {' '.join(args)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    return wall, proxy.calls(), rounds(proxy.log())


def rounds(log):
    """Sequential rounds: a round begins with a call that starts after every call before it
    has ended (the calls of one round overlap, going out side by side)."""
    n, end = 0, None
    for e in sorted(log, key=lambda e: e["start"]):
        if end is None or e["start"] >= end:
            n += 1
        stop = e["start"] + (e["ms"] or 0) / 1000.0
        end = stop if end is None else max(end, stop)
    return n


def main():
    global LATENCY_MS
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="2x4,20x50")
    ap.add_argument("--latency-ms", type=int, default=20)
    args = ap.parse_args()
    LATENCY_MS = args.latency_ms
    results = []
    for size in args.sizes.split(","):
        pairs, instances = (int(x) for x in size.split("x"))
        with Moto(zero_delays=True) as moto, FaultProxy(moto.url) as proxy:
            setup(moto, pairs, instances)
            for cmd in (("deploy", IMAGE, "2.0"), ("rollback", IMAGE),
                        ("deploy", IMAGE, "3.0"), ("finalize", IMAGE)):
                wall, calls, seq = run(proxy, *cmd)
                if cmd[:2] != ("deploy", IMAGE) or cmd[2] == "2.0":
                    results.append((f"{pairs}x{instances}", cmd[0], wall, calls, seq))
    print(f"controller benchmark: fault proxy +{LATENCY_MS} ms a call, test bed delays off")
    actions = sorted({a for r in results for a in r[3]})
    head = (f"{'service':<8} {'command':<9} {'wall s':>7} {'calls':>6} {'rounds':>6}  "
            "calls by action")
    print(head)
    print("-" * len(head))
    for service, cmd, wall, calls, seq in results:
        by = ", ".join(f"{a} {calls[a]}" for a in actions if calls.get(a))
        print(f"{service:<8} {cmd:<9} {wall:>7.2f} {sum(calls.values()):>6} {seq:>6}  {by}")


if __name__ == "__main__":
    main()

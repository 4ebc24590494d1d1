#!/usr/bin/env python3
"""Alarm-to-rollback benchmark (`make bench`; not a timed test): how long after a CloudWatch
alarm enters ALARM the service is back on its old version, for a rollback after the switch
(a `--bake-after` bake: from SetAlarmState to every old instance InService and healthy in
its target group again) and for a canary undone mid-bake (a `--bake` bake: from
SetAlarmState to no canary instance healthy in a target group, so none gets traffic).

Through the fault proxy with 20 ms added to every call, the test bed's delays off except the
load balancer's: a target reads `initial` for --health-floor seconds after it registers
(AWS: HealthCheckIntervalSeconds x HealthyThresholdCount, 10 s at the least). The goal is
one poll interval plus that floor.

    python3 tests/bench/bench_alarm.py [--pairs 2] [--instances 4] [--latency-ms 20]
                                       [--poll 1] [--health-floor 2] [--runs 3]
"""
import argparse
import math
import os
import random
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fixtures"))
sys.path.insert(0, HERE)
os.environ.setdefault("ASGSWAP_TOP", os.path.dirname(os.path.dirname(HERE)))

import bed  # noqa: E402
from bench_ctl import IMAGE, setup  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402
from motobed import Moto  # noqa: E402

ALARM = "bench-errors"


def poll(pred, timeout, what, proc=None):
    """pred() polled until true; proc (a running asgswap) must not end meanwhile."""
    def check():
        if proc is not None and proc.poll() is not None:
            sys.exit(f"bench_alarm: asgswap exited {proc.returncode} before {what}:\n"
                     + proc.stdout.read()[-3000:])
        return pred()
    return bed.wait_until(check, timeout=timeout, interval=0.02, what=what)


class Service:
    def __init__(self, moto, pairs):
        self.asg, self.elbv2 = moto.client("autoscaling"), moto.client("elbv2")
        self.cw = moto.client("cloudwatch")
        self.pairs = pairs
        self.tgs = {k: self.elbv2.describe_target_groups(Names=[f"b{k}-tg"])["TargetGroups"][0]
                    ["TargetGroupArn"] for k in range(pairs)}

    def instances(self, colour):
        names = [f"b{k}-{colour}" for k in range(self.pairs)]
        out = {}
        for g in self.asg.describe_auto_scaling_groups(
                AutoScalingGroupNames=names)["AutoScalingGroups"]:
            k = int(g["AutoScalingGroupName"][1:].split("-")[0])
            for i in g["Instances"]:
                out[i["InstanceId"]] = (k, i["LifecycleState"])
        return out

    def health(self):
        out = {}
        for arn in self.tgs.values():
            for d in self.elbv2.describe_target_health(TargetGroupArn=arn)[
                    "TargetHealthDescriptions"]:
                out[d["Target"]["Id"]] = d["TargetHealth"]["State"]
        return out

    def serving(self, colour, want):
        """True when `want` instances of colour are InService and healthy."""
        inst, health = self.instances(colour), self.health()
        n = sum(1 for i, (_, st) in inst.items() if st == "InService"
                and health.get(i) == "healthy")
        return n >= want

    def none_healthy(self, colour):
        inst, health = self.instances(colour), self.health()
        return not any(health.get(i) == "healthy" for i in inst)

    def alarm(self, state):
        self.cw.set_alarm_state(AlarmName=ALARM, StateValue=state, StateReason="bench")


def start(proxy, poll_s, *args):
    env = bed.base_env(AWS_ENDPOINT_URL=proxy.url)
    return subprocess.Popen([bed.binary("asgswap"), *args, "--poll", str(poll_s),
                             "--alarm", ALARM], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def finish(p, want_rc, what):
    out, _ = p.communicate(timeout=300)
    if p.returncode != want_rc:
        sys.exit(f"bench_alarm: {what} exited {p.returncode}, not {want_rc}:\n{out[-3000:]}")


def one_round(svc, proxy, args, per_group):
    """A post-switch rollback and a mid-canary undo; the seconds of each."""
    blue_all = per_group * svc.pairs
    poll(lambda: svc.serving("blue", blue_all), 120, "blue live")
    # After the switch: green live, blue in Standby; the alarm fires during --bake-after.
    p = start(proxy, args.poll, "deploy", IMAGE, "2.0", "--bake-after", "300")
    poll(lambda: set(st for _, st in svc.instances("blue").values()) == {"Standby"}
         and svc.serving("green", blue_all), 120, "green live, blue in Standby", p)
    # The alarm fires at a random moment of the bake's poll interval, not right after the
    # observation that showed the release baking.
    time.sleep(random.uniform(0, args.poll))
    t0 = time.monotonic()
    svc.alarm("ALARM")
    poll(lambda: svc.serving("blue", blue_all), 120, "blue InService and healthy again")
    post = time.monotonic() - t0
    finish(p, 1, "the deploy rolled back by its alarm")
    svc.alarm("OK")
    poll(lambda: not svc.instances("green"), 120, "green emptied")
    # A canary: green at ceil(25 % of 4) = 1 per group, blue untouched; the alarm fires
    # during its --bake.
    canary = math.ceil(0.25 * per_group) * svc.pairs
    p = start(proxy, args.poll, "deploy", IMAGE, "3.0", "--steps", "25,100", "--bake", "300")
    poll(lambda: svc.serving("green", canary), 120, "the canary healthy", p)
    time.sleep(random.uniform(0, args.poll))
    t0 = time.monotonic()
    svc.alarm("ALARM")
    poll(lambda: svc.none_healthy("green"), 120, "no canary instance healthy")
    mid = time.monotonic() - t0
    finish(p, 1, "the canary undone by its alarm")
    svc.alarm("OK")
    poll(lambda: not svc.instances("green"), 120, "green emptied")
    return post, mid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--instances", type=int, default=4)
    ap.add_argument("--latency-ms", type=int, default=20)
    ap.add_argument("--poll", type=float, default=1.0)
    ap.add_argument("--health-floor", type=float, default=2.0)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    posts, mids = [], []
    with Moto(zero_delays=True) as moto, FaultProxy(moto.url) as proxy:
        setup(moto, args.pairs, args.instances)
        moto.set_delays(healthy=args.health_floor)
        moto.client("cloudwatch").put_metric_alarm(
            AlarmName=ALARM, Namespace="AWS/ApplicationELB",
            MetricName="HTTPCode_Target_5XX_Count", Statistic="Sum", Period=10,
            EvaluationPeriods=1, Threshold=5, ComparisonOperator="GreaterThanOrEqualToThreshold")
        svc = Service(moto, args.pairs)
        svc.alarm("OK")
        proxy.latency(args.latency_ms)
        for _ in range(args.runs):
            post, mid = one_round(svc, proxy, args, args.instances)
            posts.append(post)
            mids.append(mid)
    print(f"alarm to rollback: fault proxy +{args.latency_ms} ms a call, --poll {args.poll:g} s, "
          f"target health floor {args.health_floor:g} s, {args.pairs} pairs x "
          f"{args.instances} instances, {args.runs} runs (goal: poll + floor = "
          f"{args.poll + args.health_floor:.1f} s)")
    head = f"{'rollback':<34} {'median s':>9} {'max s':>7}"
    print(head)
    print("-" * len(head))
    for label, v in (("after the switch (old set healthy)", posts),
                     ("mid-canary (canary out of the LB)", mids)):
        print(f"{label:<34} {statistics.median(v):>9.2f} {max(v):>7.2f}")


if __name__ == "__main__":
    main()

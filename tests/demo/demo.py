#!/usr/bin/env python3
"""`make demo`: a whole blue/green release of demo-web, simulated on this machine, with the
real `asgswap`, real `asgswap-agent`s and real containers (the world: demoworld.py).

    python3 tests/demo/demo.py [--build DIR] [--full-timeline] [--quiet]

Act 1 runs `asgswap status`, `deploy demo-web 2.0`, `status`, `rollback demo-web`, `deploy
demo-web 2.0` again, `finalize demo-web` and `status` while traffic flows through a
simulated load balancer. Act 2 releases a bad version, 2.1 (its answers are 404s), as a
canary on half the live set baked under a CloudWatch alarm on the balancer's target
errors (the demo's evaluator sets the alarm's state, as CloudWatch would): asgswap sees
the alarm and undoes the canary on its own (exit 1). Then the traffic's timeline and a
one-line verdict. Exit 0 only when every step worked, no request failed but those 2.1
answered, and nothing was left behind.
The build directory: --build, else $ASGSWAP_BUILD, else build/.
"""
import argparse
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import demoworld  # noqa: E402
from demoworld import ALARM, BAD_VERSION, BLUE, GREEN, SERVICE, DemoFailure  # noqa: E402


def say(text=""):
    print(text, flush=True)


def heading(text):
    say()
    say(f"== {text}")


class Demo:
    def __init__(self, world, deadline):
        self.world = world
        self.deadline = deadline  # monotonic: the demo stays under 5 minutes
        self.switches = []   # (label, seconds, overlap seconds or None)

    def run(self, label, *args, new=None, old=None, rc=0):
        """One asgswap command: it must exit rc; with `new`, the load balancer must serve
        `new` only once it is done."""
        heading(label)
        say("$ asgswap " + " ".join(args))
        left = self.deadline - time.monotonic()
        if left < 10:
            raise DemoFailure("the demo ran out of time (it has 5 minutes in all)")
        r = self.world.command(*args, timeout=min(180, left))
        if r.rc != rc:
            raise DemoFailure(f"`asgswap {' '.join(args)}` exited with {r.rc}, not {rc}")
        if new:
            served = self.world.expect_only(new, since=time.monotonic() + 0.5)
            overlap = self.overlap(r, new, old)
            self.switches.append((" ".join(args[:1] + args[2:]), r.seconds, overlap))
            say(f"   -> done in {r.seconds:.1f} s; traffic now served by {new} only "
                f"({served[new]} answers checked)"
                + (f"; both versions answered for {overlap:.1f} s" if overlap is not None else ""))
        else:
            if args[0] != "status" and rc == 0:
                self.switches.append((args[0], r.seconds, None))
            say(f"   -> done in {r.seconds:.1f} s")
        return r

    def overlap(self, r, new, old):
        """Seconds during which both versions answered around command r (None: no overlap)."""
        recs = [x for x in self.world.traffic.snapshot()
                if r.start - 1 <= x[0] <= r.end + 1 and x[2] is not None]
        first_new = min((x[0] for x in recs if x[2] == new), default=None)
        last_old = max((x[0] for x in recs if x[2] == old), default=None)
        if first_new is None or last_old is None or last_old < first_new:
            return None
        return last_old - first_new

    def scenario(self):
        w = self.world
        self.run("1. the service before the release", "status")
        self.run("2. deploy 2.0 to the idle (green) set", "deploy", SERVICE, "2.0",
                 new="2.0", old="1.0")
        states = set(w.group_instances(BLUE).values())
        if states != {"Standby"}:
            raise DemoFailure(f"after the deploy, {BLUE}'s instances are {states}, not Standby")
        self.run("3. blue is in Standby, kept for an instant rollback", "status")
        self.run("4. roll back: blue out of Standby, green to 0", "rollback", SERVICE,
                 new="1.0", old="2.0")
        # green's instances may still be terminating: deploy waits until the set settles.
        self.run("5. deploy 2.0 again", "deploy", SERVICE, "2.0", new="2.0", old="1.0")
        self.run("6. finalize: terminate the Standby set", "finalize", SERVICE)
        if w.group_instances(BLUE):
            raise DemoFailure(f"after finalize, {BLUE} still has instances")
        w.wait(lambda: not [i for i in w.instances.values() if i.group == BLUE and
                            not (i.leaving and i.agent_rc is not None)], 30,
               "blue's agents and containers stopped")
        self.run("7. the service after the release", "status")
        self.canary()

    def canary(self):
        """Act 2: a canary of the bad version, watched by its alarm and undone on its own."""
        w = self.world
        say()
        say(f"== act 2: a canary of {BAD_VERSION}, which answers 404 to every request; the "
            f"alarm {ALARM} counts the load balancer's target errors")
        r = self.run(f"8. canary {BAD_VERSION} on 50 % of the live set, baked 60 s under "
                     f"{ALARM}", "deploy", SERVICE, BAD_VERSION, "--steps", "50,100",
                     "--bake", "60", "--alarm", ALARM, rc=1)
        served = w.expect_only("2.0")
        if w.group_instances(BLUE) and set(w.group_instances(BLUE).values()) - {
                "Terminating", "Terminating:Wait", "Terminating:Proceed", "Terminated"}:
            raise DemoFailure(f"after the canary, {BLUE} still has instances in service: "
                              f"{w.group_instances(BLUE)}")
        states = set(w.group_instances(GREEN).values())
        if states != {"InService"}:
            raise DemoFailure(f"after the canary, {GREEN}'s instances are {states}")
        alarm = w.alarm.first("ALARM", r.start)
        bad = {i.id for i in w.instances.values() if i.version == BAD_VERSION}
        recs = [x for x in w.traffic.snapshot() if r.start <= x[0] <= r.end + 5]
        to_bad = [x for x in recs if x[4] in bad]
        if alarm is None or not to_bad:
            raise DemoFailure(f"the canary of {BAD_VERSION} got {len(to_bad)} requests and the "
                              f"alarm {'did not fire' if alarm is None else 'fired'}")
        first, last = min(x[0] for x in to_bad), max(x[0] for x in to_bad)
        during = [x for x in recs if first <= x[0] <= last]
        failed = [x for x in to_bad if x[3] is not None]
        self.canary_result = (f"{BAD_VERSION} got {100 * len(to_bad) / len(during):.0f} % of "
                              f"the requests for {last - first:.1f} s ({len(failed)} failed); "
                              f"2.0 alone {last - alarm:.1f} s after the alarm")
        self.switches.append((f"canary undone ({self.canary_result})", r.seconds, None))
        say(f"   -> {self.canary_result}; {served['2.0']} answers of 2.0 checked since")
        self.run("9. the service after the canary", "status")


def print_timeline(world, full):
    heading("traffic through the load balancer, per second "
            "(requests sent, failed, answers by version)")
    rows = demoworld.timeline(world.traffic, world.marks, world.t0)
    say("     t   req  fail  versions")

    def show(row):
        s, n, fail, versions, notes = row
        note = ("   <- " + "; ".join(notes)) if notes else ""
        say(f"  {s:4d} s {n:4d} {fail:5d}  {versions:<16}{note}")
    i = 0
    while i < len(rows):
        j = i
        # A steady run: no failure, no event, the same versions answering.
        while (not full and j + 1 < len(rows) and not rows[j + 1][2] and not rows[j + 1][4]
               and not rows[i][2] and not rows[i][4]
               and set(v.split(":")[0] for v in rows[j + 1][3].split())
               == set(v.split(":")[0] for v in rows[i][3].split())):
            j += 1
        if j - i >= 4:
            show(rows[i])
            n = sum(r[1] for r in rows[i + 1:j])
            say(f"     ...  {j - i - 1} s more like this ({n} requests, none failed)")
            show(rows[j])
        else:
            for r in rows[i:j + 1]:
                show(r)
        i = j + 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.environ.get("ASGSWAP_BUILD") or "build")
    ap.add_argument("--full-timeline", action="store_true", help="every second, no folding")
    ap.add_argument("--quiet", action="store_true", help="no world events (launches, health)")
    args = ap.parse_args()

    def interrupted(signum, _frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)

    started = time.monotonic()
    say("asgswap demo: a blue/green release of demo-web on simulated EC2, with the real "
        "asgswap and asgswap-agent, real containers and traffic the whole time")
    failure = None
    world = demo = None
    try:
        world = demoworld.World(build=args.build, out=say, verbose_events=not args.quiet)
        demo = Demo(world, started + 270)
        heading("setting up the world")
        world.start()
        demo.scenario()
        world.traffic.stop()
        world.check()
    except DemoFailure as e:
        failure = str(e)
    except KeyboardInterrupt as e:
        failure = f"interrupted ({e or 'SIGINT'})"
    except Exception as e:  # a bug of the demo itself: still clean up
        import traceback
        traceback.print_exc()
        failure = f"{type(e).__name__}: {e}"
    if failure:
        heading("FAILED")
        say(failure)
    failed_requests = []
    expected_failures = 0
    total = 0
    if world and world.traffic:
        world.traffic.stop()
        recs = world.traffic.snapshot()
        total = len(recs)
        # Act 2's bad version fails its requests by design: those are counted, not faults.
        bad = {i.id for i in world.instances.values() if i.version == BAD_VERSION}
        failed_requests = [x for x in world.traffic.failures() if x[4] not in bad]
        expected_failures = len(world.traffic.failures()) - len(failed_requests)
        print_timeline(world, args.full_timeline)
        if failed_requests:
            heading(f"failed requests ({len(failed_requests)})")
            for t0, _, _, err, _ in failed_requests[:20]:
                say(f"  {t0 - world.t0:6.1f} s  {err}")
    heading("cleaning up")
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)  # cleanup runs to its end
    problems = world.stop() if world else []
    say("  nothing left behind: processes, containers and temporary files are gone"
        if not problems else "  " + "\n  ".join(problems))
    switches = ", ".join(f"{label} {secs:.1f} s"
                         for label, secs, _ in (demo.switches if demo else []))
    ok = not failure and not failed_requests and not problems and total > 0
    verdict = (f"{'PASS' if ok else 'FAIL'}: {total} requests, {len(failed_requests)} failed"
               + (f" (and {expected_failures} answered by {BAD_VERSION}'s canary)"
                  if expected_failures else "")
               + (f"; {switches}" if switches else "")
               + (f"; stopped: {failure.splitlines()[0]}" if failure else "")
               + ("; cleanup: " + "; ".join(problems) if problems else "")
               + f"; {time.monotonic() - started:.0f} s in all")
    heading("verdict")
    say(verdict)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

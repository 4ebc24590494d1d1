"""Release strategies against the patched moto: canary steps pinned at their share, bakes
watched by CloudWatch alarms (set with boto3's put_metric_alarm and set_alarm_state) and by
the new set's health (the bed's target-health control), the undo before and after the
switch, --pause with promote and abort, a SIGKILL mid-bake, and the refusals. Everything is
checked with boto3; waits poll with deadlines."""
import json
import os
import signal
import subprocess
import time

import bed
from test_ctl_support import IMAGE, CtlCase

FAST = ("--poll", "0.05")
RECORDS = ("asgswap:release", "asgswap:strategy", "asgswap:step", "asgswap:alarms",
           "asgswap:failed", "asgswap:lock")


class StrategyCase(CtlCase):
    def background(self, *args, env=None):
        proc = subprocess.Popen([bed.binary("asgswap"), *args], env=env or self.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Cleanups run last in, first out: killed (if still running), then reaped.
        self.addCleanup(proc.wait)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        return proc

    def finish(self, proc, timeout=60):
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err

    def release(self):
        return self.tags("web-blue").get("asgswap:release")

    def wait_release(self, phase, timeout=30):
        return bed.wait_until(lambda: (self.release() or "").endswith(":" + phase),
                              timeout=timeout, what=f"release phase {phase}")

    def assert_no_records(self):
        tags = self.tags("web-blue")
        for k in RECORDS:
            self.assertNotIn(k, tags)
        self.assertFalse([k for k in tags if k.startswith("asgswap:alarms")], tags)

    def serving(self, name, tg):
        """Instances of group `name` InService and healthy in target group tg (boto3)."""
        ids = [i["InstanceId"] for i in self.describe(name)["Instances"]
               if i["LifecycleState"] == "InService" and i["HealthStatus"] == "Healthy"]
        health = {d["Target"]["Id"]: d["TargetHealth"]["State"] for d in
                  self.elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]}
        return [i for i in ids if health.get(i) == "healthy"]


class StepsTest(StrategyCase):
    def test_bad_steps_refused_before_any_call(self):
        for bad in ("", "10,50", "50,10,100", "10,10,100", "0,100", "10,101", "1x,100",
                    "-5,100", "10,,100", "10,50,100,", " 10,100", "+10,100",
                    ",".join(str(i) for i in range(80, 101))):
            with self.subTest(steps=bad):
                p = self.run_ctl("deploy", IMAGE, "2.0", "--steps", bad,
                                 env=self.env(AWS_ENDPOINT_URL="http://127.0.0.1:9"))
                self.assertEqual(p.returncode, 2, p.stderr)
                lines = p.stderr.strip().splitlines()
                self.assertEqual(len(lines), 1, p.stderr)
                self.assertIn("--steps", lines[0])
                self.assertTrue(lines[0].startswith("asgswap: "), lines[0])
        for bad in ("0", "x", "172801", "1.5", "-1"):
            with self.subTest(bake=bad):
                p = self.run_ctl("deploy", IMAGE, "2.0", "--bake", bad)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        p = self.run_ctl("rollback", IMAGE, "--steps", "50,100")
        self.assertEqual(p.returncode, 2, p.stderr)

    def test_steps_pin_shares_pause_then_promote(self):
        tgs, _ = self.pair("web", live=10, mn=2, mx=20)
        p = self.ok("deploy", IMAGE, "2.0", "--steps", "10,50,100", "--pause", *FAST)
        self.assertEqual(p.stdout.splitlines()[-1],
                         "paused at step 1 of 3 (10 %): continue with 'asgswap promote "
                         f"{IMAGE}', undo with 'asgswap abort {IMAGE}'")
        self.assertIn("canary step 1 of 3: green 1 of 11 instances, 9 %", p.stdout)
        # The canary is pinned at its share; the live set keeps its size.
        self.assertEqual(self.sizes("web-green"), (1, 1, 1))
        self.assertEqual(self.states("web-green"), ["InService"])
        self.assertEqual(self.sizes("web-blue"), (2, 20, 10))
        self.assertEqual(self.states("web-blue"), ["InService"] * 10)
        tags = self.tags("web-blue")
        self.assertEqual(tags["asgswap:release"], "blue>green:2.0:paused")
        self.assertEqual(tags["asgswap:step"], "1/3")
        self.assertEqual(tags["asgswap:strategy"], "steps=10,50,100 pause")
        self.assertNotIn("asgswap:lock", tags)
        # A re-run of the deploy says where it is and changes nothing.
        p = self.ok("deploy", IMAGE, "2.0", *FAST)
        self.assertIn("paused at step 1 of 3", p.stderr + p.stdout)
        self.assertEqual(self.sizes("web-green"), (1, 1, 1))
        st = self.status()
        self.assertEqual(st["release"]["phase"], "paused")
        self.assertEqual((st["release"]["step"], st["release"]["steps"]), (1, 3))
        p = self.ok("promote", IMAGE, *FAST)
        self.assertEqual(p.stdout.splitlines()[-1],
                         "paused at step 2 of 3 (50 %): continue with 'asgswap promote "
                         f"{IMAGE}', undo with 'asgswap abort {IMAGE}'")
        self.assertEqual(self.sizes("web-green"), (5, 5, 5))
        self.assertEqual(self.states("web-green"), ["InService"] * 5)
        self.assertEqual(self.sizes("web-blue"), (2, 20, 10))
        self.assertEqual(self.tags("web-blue")["asgswap:step"], "2/3")
        p = self.ok("promote", IMAGE, *FAST)
        self.assertRegex(p.stdout.splitlines()[-1], r"^done in \d+ s; ")
        self.assertEqual(self.sizes("web-green"), (2, 20, 10))
        self.assertEqual(self.states("web-green"), ["InService"] * 10)
        self.assertEqual(self.states("web-blue"), ["Standby"] * 10)
        self.assert_no_records()
        # Nothing paused any more.
        p = self.run_ctl("promote", IMAGE)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("no paused release", p.stderr)
        del tgs

    def test_steps_without_bake_or_pause_run_through(self):
        self.pair("web", live=4, mn=1, mx=8)
        p = self.ok("deploy", IMAGE, "2.0", "--steps", "25,100", *FAST)
        heads = [line for line in p.stdout.splitlines() if line[:1] == "["]
        self.assertEqual(heads, ["[1/5] recording the release of 2.0 (blue -> green)",
                                 "[2/5] canary step 1 of 2: green 1 of 5 instances, 20 %",
                                 "[3/5] step 2 of 2: launching green 2.0 (4 instances)",
                                 "[4/5] moving scaling to green", "[5/5] blue to Standby"])
        self.assertEqual(self.sizes("web-green"), (1, 8, 4))
        self.assertEqual(self.states("web-blue"), ["Standby"] * 4)
        self.assert_no_records()

    def test_pause_then_abort(self):
        self.pair("web", live=4, mn=1, mx=8)
        self.ok("deploy", IMAGE, "2.0", "--steps", "50,100", "--pause", *FAST)
        self.assertEqual(self.sizes("web-green"), (2, 2, 2))
        p = self.ok("abort", IMAGE, *FAST)
        self.assertEqual(self.sizes("web-green")[2], 0)
        bed.wait_until(lambda: self.states("web-green") == [], timeout=20, what="green empty")
        self.assertEqual(self.sizes("web-blue"), (1, 8, 4))
        self.assertEqual(self.states("web-blue"), ["InService"] * 4)
        self.assert_no_records()
        self.assertNotIn("asgswap:saved", self.tags("web-blue"))
        p = self.run_ctl("abort", IMAGE)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("no release", p.stderr)

    def test_dry_run_shows_every_step(self):
        self.pair("web", live=40, mn=2, mx=60)
        p = self.ok("--dry-run", "deploy", IMAGE, "2.0", "--steps", "10,50,100", "--bake", "60",
                    "--bake-after", "120")
        heads = [line for line in p.stdout.splitlines() if line[:1] == "["]
        self.assertEqual(heads, [
            "[1/9] recording the release of 2.0 (blue -> green)",
            "[2/9] canary step 1 of 3: green 4 of 44 instances, 9 %",
            "[3/9] baking 2.0 at step 1 of 3 (10 %)",
            "[4/9] canary step 2 of 3: green 20 of 60 instances, 33 %",
            "[5/9] baking 2.0 at step 2 of 3 (50 %)",
            "[6/9] step 3 of 3: launching green 2.0 (40 instances)",
            "[7/9] moving scaling to green", "[8/9] blue to Standby",
            "[9/9] baking 2.0 after the switch (blue in Standby)"])
        self.assertIn("asgswap:strategy=steps=10,50,100 bake=60 bake-after=120", p.stdout)
        self.assertEqual(self.sizes("web-green"), (0, 60, 0))
        self.assertNotIn("asgswap:release", self.tags("web-blue"))
        doc = json.loads(self.ok("--dry-run", "--output", "json", "deploy", IMAGE, "2.0",
                                 "--steps", "10,100", "--bake", "30").stdout)
        gates = [s for ph in doc["phases"] for s in ph["steps"] if s["kind"] == "gate"]
        self.assertEqual(len(gates), 1, doc)


class BakeTest(StrategyCase):
    def test_alarm_at_step_one_undoes_the_canary(self):
        tgs, _ = self.pair("web", live=4, mn=1, mx=8)
        self.alarm("web-5xx", state="OK")
        blue = {i["InstanceId"] for i in self.describe("web-blue")["Instances"]}
        proc = self.background("deploy", IMAGE, "2.0", "--steps", "25,100", "--bake", "120",
                               "--alarm", "web-5xx", *FAST)
        self.wait_release("baking")
        self.assertEqual(self.sizes("web-green"), (1, 1, 1))
        t0 = time.monotonic()
        self.fire("web-5xx")
        bed.wait_until(lambda: self.sizes("web-green")[2] == 0, timeout=30, what="green to 0")
        undone = time.monotonic() - t0
        rc, out, err = self.finish(proc)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("alarm 'web-5xx' is in ALARM", err)
        self.assertEqual(self.sizes("web-blue"), (1, 8, 4))
        self.assertEqual({i["InstanceId"] for i in self.describe("web-blue")["Instances"]}, blue)
        self.assertEqual(sorted(self.serving("web-blue", tgs[0])), sorted(blue))
        self.assert_no_records()
        print(f"\n  mid-canary: SetAlarmState(ALARM) to the canary at 0: {undone:.2f} s "
              f"(--poll {FAST[1]}; the live set never left service)")

    def test_alarm_after_the_switch_rolls_back(self):
        tgs, _ = self.pair("web", live=3, mn=1, mx=6)
        self.alarm("web-5xx", state="OK")
        proc = self.background("deploy", IMAGE, "2.0", "--bake-after", "120", "--alarm",
                               "web-5xx", *FAST)
        self.wait_release("baking")
        self.assertEqual(self.states("web-blue"), ["Standby"] * 3)
        t0 = time.monotonic()
        self.fire("web-5xx")
        bed.wait_until(lambda: len(self.serving("web-blue", tgs[0])) == 3, timeout=30,
                       what="blue serving again")
        back = time.monotonic() - t0
        rc, out, err = self.finish(proc)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("alarm 'web-5xx' is in ALARM", err)
        self.assertEqual(self.sizes("web-blue"), (1, 6, 3))
        self.assertEqual(self.sizes("web-green")[2], 0)
        self.assert_no_records()
        print(f"\n  post-switch: SetAlarmState(ALARM) to blue InService and healthy: {back:.2f} s"
              f" (--poll {FAST[1]})")

    def test_failed_bake_after_the_switch_with_a_standby_instance_gone(self):
        """The rollback path checks EC2 as rollback does: a Standby instance that EC2 no
        longer runs would never serve again."""
        self.pair("web", live=2, mn=1, mx=4)
        self.alarm("web-5xx", state="OK")
        proc = self.background("deploy", IMAGE, "2.0", "--bake-after", "120", "--alarm",
                               "web-5xx", *FAST)
        self.wait_release("baking")
        gone = self.describe("web-blue")["Instances"][0]["InstanceId"]
        self.ec2.stop_instances(InstanceIds=[gone])
        self.fire("web-5xx")
        rc, out, err = self.finish(proc)
        self.assertEqual(rc, 3, out + err)
        self.assertIn(f"Standby instance {gone} of the blue set is stopped in EC2", err)
        self.assertEqual(self.states("web-green"), ["InService"] * 2)
        self.assertNotIn("asgswap:lock", self.tags("web-blue"))

    def test_instance_unhealthy_during_bake(self):
        tgs, _ = self.pair("web", live=4, mn=1, mx=8)
        proc = self.background("deploy", IMAGE, "2.0", "--steps", "50,100", "--bake", "120",
                               *FAST)
        self.wait_release("baking")
        bad = self.describe("web-green")["Instances"][0]["InstanceId"]
        self.moto.set_target_health(tgs[0], bad, "unhealthy", reason="Target.FailedHealthChecks")
        rc, out, err = self.finish(proc)
        self.assertEqual(rc, 1, out + err)
        self.assertIn(f"instance {bad} of green stopped serving", err)
        self.assertEqual(self.sizes("web-green")[2], 0)
        self.assertEqual(self.states("web-blue"), ["InService"] * 4)
        self.assert_no_records()

    def test_no_auto_rollback_leaves_the_state(self):
        self.pair("web", live=4, mn=1, mx=8)
        self.alarm("web-5xx", state="OK")
        proc = self.background("deploy", IMAGE, "2.0", "--steps", "50,100", "--bake", "120",
                               "--alarm", "web-5xx", "--no-auto-rollback", *FAST)
        self.wait_release("baking")
        self.fire("web-5xx")
        rc, out, err = self.finish(proc)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("--no-auto-rollback", err)
        self.assertIn("asgswap abort", err)
        self.assertEqual(self.sizes("web-green"), (2, 2, 2))
        tags = self.tags("web-blue")
        self.assertEqual(tags["asgswap:release"], "blue>green:2.0:failed")
        self.assertIn("web-5xx", tags["asgswap:failed"])
        self.assertNotIn("asgswap:lock", tags)
        st = self.status()
        self.assertEqual(st["release"]["phase"], "failed")
        self.assertIn("web-5xx", st["release"]["failed"])
        p = self.run_ctl("deploy", IMAGE, "2.0")
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("asgswap abort", p.stderr)
        self.ok("abort", IMAGE, *FAST)
        self.assertEqual(self.sizes("web-green")[2], 0)
        self.assert_no_records()

    def test_sigkill_mid_bake_continues_the_remaining_bake(self):
        self.pair("web", live=2, mn=1, mx=4)
        args = ("deploy", IMAGE, "2.0", "--steps", "50,100", "--bake", "8", *FAST)
        proc = self.background(*args)
        self.wait_release("baking")
        step = self.tags("web-blue")["asgswap:step"]
        self.assertRegex(step, r"^1/2:\d+$")
        end = int(step.split(":")[1])
        # Killed 5 s before the bake's end: a restarted bake would end 3 s or more after it.
        bed.wait_until(lambda: time.time() >= end - 5, timeout=10, what="3 s into the bake")
        self.assertIsNone(proc.poll())
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.ok("unlock", IMAGE, "--force")  # the dead run's lock is unexpired
        proc = self.background(*args)
        seen, left = set(), None
        deadline = time.monotonic() + 40
        while proc.poll() is None and time.monotonic() < deadline:
            value = self.tags("web-blue").get("asgswap:step")
            if value and value.startswith("1/2"):
                seen.add(value)
            elif left is None:
                left = time.time()
        rc, out, err = self.finish(proc)
        self.assertEqual(rc, 0, out + err)
        # The re-run kept the recorded end (never wrote a new one), left the bake when it
        # came (never before it) and not a whole bake later.
        self.assertEqual(seen, {step})
        self.assertIsNotNone(left)
        self.assertGreaterEqual(left, end - 0.5)
        self.assertLess(left, end + 2.5)
        self.assertIn("baking 2.0 at step 1 of 2 (50 %)", err)
        self.assertEqual(self.states("web-blue"), ["Standby"] * 2)
        self.assert_no_records()


class BakeControlTest(StrategyCase):
    def test_signal_during_bake_exits_5_and_the_same_command_continues(self):
        self.pair("web", live=2, mn=1, mx=4)
        args = ("deploy", IMAGE, "2.0", "--steps", "50,100", "--bake", "30", *FAST)
        for sig in (signal.SIGINT, signal.SIGTERM):
            with self.subTest(sig=sig):
                proc = self.background(*args)
                self.wait_release("baking")
                proc.send_signal(sig)
                rc, out, err = self.finish(proc)
                self.assertEqual(rc, 5, out + err)
                self.assertIn("interrupted baking the new version", err)
                tags = self.tags("web-blue")
                self.assertEqual(tags["asgswap:release"], "blue>green:2.0:baking")
                self.assertNotIn("asgswap:lock", tags)
                st = self.status()
                self.assertEqual(st["next"][0], {"action": "continue",
                                                 "command": f"asgswap deploy {IMAGE} 2.0"})
                self.assertEqual(st["next"][1], {"action": "undo",
                                                 "command": f"asgswap abort {IMAGE}"})
                self.assertLessEqual(st["release"]["bake_left_s"], 30)
                self.assertGreater(st["release"]["bake_left_s"], 0)
                text = self.ok("status", IMAGE).stdout
                self.assertRegex(text, r"release in flight: blue>green 2\.0 \(baking at step 1 "
                                       r"of 2 \(50 %\): \d+ s left\)")
                self.assertEqual(self.sizes("web-green"), (1, 1, 1))
                if sig == signal.SIGINT:
                    self.ok("abort", IMAGE, *FAST)
                    self.assert_no_records()
                    continue
                # The same command continues the recorded bake (its end is 30 s after it
                # began: the record is moved to its last second, as time would).
                step = self.tags("web-blue")["asgswap:step"]
                self.asg.create_or_update_tags(Tags=[{
                    "ResourceId": "web-blue", "ResourceType": "auto-scaling-group",
                    "Key": "asgswap:step", "Value": f"1/2:{int(time.time()) + 1}",
                    "PropagateAtLaunch": False}])
                self.assertNotEqual(step, self.tags("web-blue")["asgswap:step"])
                self.ok(*args)
                self.assertEqual(self.states("web-blue"), ["Standby"] * 2)
                self.assert_no_records()

    def test_a_long_bake_keeps_the_lock(self):
        """A bake longer than the lock's TTL renews it: another run stays refused."""
        self.pair("web", live=2, mn=1, mx=4)
        env = self.env(ASGSWAP_LOCK_TTL="4")
        proc = self.background("deploy", IMAGE, "2.0", "--steps", "50,100", "--bake", "7",
                               *FAST, env=env)
        self.wait_release("baking")
        first = self.tags("web-blue")["asgswap:lock"]
        expiry = int(first.split(":")[1])
        # Past the first expiry, the lock is still held, with a later expiry.
        bed.wait_until(lambda: time.time() > expiry + 1, timeout=10, what="past the TTL")
        now = self.tags("web-blue")["asgswap:lock"]
        self.assertEqual(now.split(":")[0], first.split(":")[0])
        self.assertGreater(int(now.split(":")[1]), expiry)
        p = self.run_ctl("rollback", IMAGE, env=env)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("lock", p.stderr)
        rc, out, err = self.finish(proc)
        self.assertEqual(rc, 0, out + err)

    def test_alarms_polled_by_name_a_hundred_a_call(self):
        self.pair("web", live=2, mn=1, mx=4)
        for i in range(120):
            self.alarm(f"web-{i:03d}", state="OK")
        from faultproxy import FaultProxy
        with FaultProxy(self.moto.url) as proxy:
            env = self.env(AWS_ENDPOINT_URL=proxy.url)
            proc = self.background("deploy", IMAGE, "2.0", "--steps", "50,100", "--bake", "60",
                                   "--alarm-prefix", "web-", *FAST, env=env)
            self.wait_release("baking")
            bed.wait_until(lambda: sum(e["action"] == "DescribeAlarms"
                                       for e in proxy.log()) >= 7, timeout=20,
                           what="a few polls")
            self.fire("web-117")
            rc, out, err = self.finish(proc)
            calls = [e for e in proxy.log() if e["action"] == "DescribeAlarms"]
        self.assertEqual(rc, 1, out + err)
        self.assertIn("alarm 'web-117' is in ALARM", err)
        # The bed refuses more than 100 AlarmNames a call and answers 50 alarms a page
        # (rule 9): the prefix was resolved over pages, each poll in two calls.
        self.assertGreaterEqual(len(calls), 7)
        self.assertEqual(self.sizes("web-green")[2], 0)


class AlarmRefusalTest(StrategyCase):
    def test_missing_alarm(self):
        self.pair("web", live=2)
        self.alarm("web-5xx", state="OK")
        p = self.run_ctl("deploy", IMAGE, "2.0", "--steps", "50,100", "--bake", "5",
                         "--alarm", "web-5xx", "--alarm", "nope")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("alarm 'nope' does not exist", p.stderr)
        self.assertEqual(self.sizes("web-green"), (0, 4, 0))
        self.assertNotIn("asgswap:release", self.tags("web-blue"))
        p = self.run_ctl("deploy", IMAGE, "2.0", "--steps", "50,100", "--bake", "5",
                         "--alarm-prefix", "zzz-")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("no alarm's name starts with 'zzz-'", p.stderr)

    def test_alarm_already_firing(self):
        self.pair("web", live=2)
        self.alarm("web-5xx", state="ALARM")
        self.alarm("web-latency-p99", state="OK")
        p = self.run_ctl("deploy", IMAGE, "2.0", "--steps", "50,100", "--bake", "5",
                         "--alarm-prefix", "web-")
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("alarm 'web-5xx' is in ALARM already", p.stderr)
        self.assertNotIn("asgswap:release", self.tags("web-blue"))
        p = self.ok("deploy", IMAGE, "2.0", "--steps", "50,100", "--alarm", "web-latency-p99",
                    "--pause", "--alarm", "web-5xx", "--ignore-alarm-state", *FAST)
        tags = self.tags("web-blue")
        self.assertEqual(tags["asgswap:alarms"], "web-latency-p99 web-5xx")
        self.assertIn("ignore-alarm-state", tags["asgswap:strategy"])

    def test_bake_shorter_than_the_alarm_warns(self):
        self.pair("web", live=2)
        self.alarm("slow", period=60, evaluations=3, state="OK")
        self.alarm("quick", period=10, evaluations=1, state="OK")
        p = self.ok("--dry-run", "deploy", IMAGE, "2.0", "--steps", "50,100", "--bake", "30",
                    "--alarm", "slow", "--alarm", "quick")
        self.assertIn("alarm 'slow' needs 3 x 60 s of data to change state, longer than the "
                      "30 s bake", p.stderr)
        self.assertNotIn("'quick'", p.stderr)

    def test_many_alarm_names_fill_several_tags(self):
        self.pair("web", live=2)
        names = [f"web-alarm-with-a-long-name-{i:03d}-" + "x" * 40 for i in range(12)]
        for n in names:
            self.alarm(n, state="OK")
        self.ok("deploy", IMAGE, "2.0", "--steps", "50,100", "--pause", "--alarm-prefix",
                "web-alarm-", *FAST)
        tags = self.tags("web-blue")
        values = [tags["asgswap:alarms"]] + [tags[f"asgswap:alarms:{i}"] for i in range(2, 5)
                                             if f"asgswap:alarms:{i}" in tags]
        self.assertGreater(len(values), 1)
        self.assertTrue(all(len(v) <= 256 for v in values))
        self.assertEqual(sorted(" ".join(values).split()), sorted(names))
        self.ok("abort", IMAGE, *FAST)
        self.assert_no_records()


    def test_alarm_names_that_do_not_fit_the_record(self):
        self.pair("web", live=2)
        for i in range(9):
            self.alarm(f"big-{i}-" + "x" * 249, state="OK")
        for extra in ((), ("--dry-run",)):
            with self.subTest(extra=extra):
                p = self.run_ctl(*extra, "deploy", IMAGE, "2.0", "--steps", "50,100",
                                 "--bake", "5", "--alarm-prefix", "big-")
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn("do not fit in 8 tags", p.stderr)
        self.assertNotIn("asgswap:release", self.tags("web-blue"))


class RecordTest(StrategyCase):
    def test_a_record_of_the_previous_version_resumes_as_one_step(self):
        """A release recorded without strategy tags (what earlier versions wrote) goes on
        as one step of 100, whatever strategy the re-run asks for."""
        from faultproxy import FaultProxy
        self.pair("web", live=2, mn=1, mx=4)
        with FaultProxy(self.moto.url) as proxy:
            proxy.add_rule(type="error", action="UpdateAutoScalingGroup", status=400, nth=1,
                           code="AccessDenied", message="stopped here")
            p = self.run_ctl("deploy", IMAGE, "2.0", *FAST,
                             env=self.env(AWS_ENDPOINT_URL=proxy.url))
        self.assertNotEqual(p.returncode, 0)
        tags = self.tags("web-blue")
        self.assertEqual(tags["asgswap:release"], "blue>green:2.0:launching")
        self.assertNotIn("asgswap:strategy", tags)
        self.assertNotIn("asgswap:step", tags)
        self.ok("unlock", IMAGE, "--force")
        p = self.ok("deploy", IMAGE, "2.0", "--steps", "50,100", "--bake", "5", *FAST)
        self.assertIn("goes on with its recorded strategy (steps=100)", p.stderr)
        self.assertNotIn("canary", p.stdout)
        self.assertEqual(self.sizes("web-green"), (1, 4, 2))
        self.assertEqual(self.states("web-blue"), ["Standby"] * 2)
        self.assert_no_records()

    def test_malformed_strategy_record_refused(self):
        self.pair("web", live=2)
        for key, value in (("asgswap:strategy", "steps=10,5"), ("asgswap:step", "9/2"),
                           ("asgswap:alarms", "a +zz"), ("asgswap:strategy", "steps=50,100 rm")):
            with self.subTest(key=key, value=value):
                self.asg.create_or_update_tags(Tags=[
                    {"ResourceId": "web-blue", "ResourceType": "auto-scaling-group",
                     "Key": "asgswap:release", "Value": "blue>green:2.0:launching",
                     "PropagateAtLaunch": False},
                    {"ResourceId": "web-blue", "ResourceType": "auto-scaling-group",
                     "Key": key, "Value": value, "PropagateAtLaunch": False}])
                for cmd in (("deploy", IMAGE, "2.0"), ("abort", IMAGE), ("promote", IMAGE)):
                    p = self.run_ctl(*cmd)
                    self.assertEqual(p.returncode, 3, p.stderr)
                    self.assertIn(f"malformed {key}" if key != "asgswap:step" else key,
                                  p.stderr)
                self.asg.delete_tags(Tags=[
                    {"ResourceId": "web-blue", "ResourceType": "auto-scaling-group",
                     "Key": key}])
        self.assertEqual(self.sizes("web-green"), (0, 4, 0))


if __name__ == "__main__":
    import unittest
    unittest.main()

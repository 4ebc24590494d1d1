"""Release events on EventBridge (--events, `events =` in the shared config): what a deploy,
a rollback, a finalize and a timed-out deploy publish, read back with boto3 from the SQS
queue that moto's EventBridge rule {"source": ["asgswap"]} delivers to; failures to publish
(an endpoint that refuses, one that never answers) are one warning and never fail the
release; nothing is sent without the option."""
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time

import bed
from faultproxy import FaultProxy
from test_ctl_support import IMAGE, CtlCase

FAST = ("--poll", "0.05")
WARNING = re.compile(r"publishing a release event to event bus '([^']*)' failed: (.*); "
                     r"this run sends no more events")
# The controller's bound on one PutEvents call, retries included (ctl_events.c).
EVENTS_DEADLINE_S = 5.0


def phase_lines(stdout):
    """The phase titles the executor printed, without their [n/m] numbers."""
    out = []
    for line in stdout.splitlines():
        m = re.fullmatch(r"(?:\[\d+/\d+\] )?(.+)", line)
        if m and not line.startswith(("done in ", "    ")):
            out.append(m.group(1))
    return out


class EventsCase(CtlCase):
    def setUp(self):
        super().setUp()
        self.events = self.moto.client("events")
        self.sqs = self.moto.client("sqs")
        self.queue = self.sqs.create_queue(QueueName="releases")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        self.events.put_rule(Name="asgswap-releases",
                             EventPattern=json.dumps({"source": ["asgswap"]}))
        self.events.put_targets(Rule="asgswap-releases", Targets=[{"Id": "q", "Arn": arn}])

    def received(self, want=None, settle=0.5):
        """The events the rule delivered so far, in order; with want, polled until that many
        arrived (then a short look for more, which must not come)."""
        events, deadline = [], time.monotonic() + 20
        quiet_since = None
        while True:
            msgs = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10,
                                            WaitTimeSeconds=0).get("Messages", [])
            for m in msgs:
                events.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=m["ReceiptHandle"])
            now = time.monotonic()
            if msgs:
                quiet_since = None
                continue
            if want is None or len(events) >= want:
                quiet_since = quiet_since or now
                if now - quiet_since >= (settle if want is not None else 0):
                    break
            if now > deadline:
                break
            time.sleep(0.05)
        for e in events:
            self.assertEqual((e["source"], e["detail-type"]), ("asgswap", "asgswap release"))
        return [e["detail"] for e in events]

    def check_release(self, details, stdout, command, frm, to, version, outcome):
        """One event per printed phase line, in order, then the end with its outcome."""
        phases = phase_lines(stdout)
        self.assertGreaterEqual(len(phases), 1, stdout)
        self.assertEqual([d["phase"] for d in details], phases + [phases[-1]], details)
        for d in details:
            self.assertEqual(set(d), {"image", "command", "from", "to", "version", "step",
                                      "phase", "outcome"})
            self.assertEqual((d["image"], d["command"], d["from"], d["to"], d["version"],
                              d["step"]), (IMAGE, command, frm, to, version, None), d)
        self.assertEqual([d["outcome"] for d in details], [None] * len(phases) + [outcome])


class ReleaseEventsTest(EventsCase):
    def test_deploy_rollback_finalize_publish_their_phases_and_outcome(self):
        self.pair("web", live=2)
        p = self.ok("--events", "deploy", IMAGE, "2.0", *FAST)
        got = self.received(want=5)
        self.assertEqual([d["phase"] for d in got[:4]], [
            "recording the release of 2.0 (blue -> green)", "launching green 2.0 (2 instances)",
            "moving scaling to green", "blue to Standby"])
        self.check_release(got, p.stdout, "deploy", "blue", "green", "2.0", "done")

        # --quiet prints no phase line, and still publishes every phase.
        p = self.ok("--events", "--quiet", "rollback", IMAGE, *FAST)
        self.assertEqual(p.stdout, "")
        got = self.received(want=4)
        self.assertEqual([d["phase"] for d in got], [
            "bringing blue 1.0 back (2 instances)", "moving scaling back to blue",
            "emptying green", "emptying green"])
        self.assertEqual([d["outcome"] for d in got], [None, None, None, "rolled back"])
        for d in got:
            self.assertEqual((d["command"], d["from"], d["to"], d["version"]),
                             ("rollback", "green", "blue", "1.0"))

        bed.wait_until(lambda: self.status()["sets"]["green"]["state"] == "idle", timeout=20)
        self.ok("deploy", IMAGE, "2.0", *FAST)
        self.assertEqual(self.received(), [], "a deploy without --events published")
        p = self.ok("--events=default", "finalize", IMAGE, *FAST)
        got = self.received(want=3)
        self.check_release(got, p.stdout, "finalize", "green", "blue", "1.0", "done")
        self.assertEqual(got[0]["phase"], "terminating the 2 Standby instances of blue")

    def test_a_canary_publishes_its_steps_its_pause_and_the_alarm_that_undid_it(self):
        self.pair("web", live=2)
        self.alarm("web-5xx", state="OK")
        p = self.ok("--events", "deploy", IMAGE, "2.0", "--steps", "50,100", "--bake", "1",
                    "--alarm", "web-5xx", "--pause", *FAST)
        got = self.received(want=4)
        self.assertEqual([(d["phase"], d["step"], d["outcome"]) for d in got], [
            ("recording the release of 2.0 (blue -> green)", 1, None),
            ("canary step 1 of 2: green 1 of 3 instances, 33 %", 1, None),
            ("baking 2.0 at step 1 of 2 (50 %)", 1, None),
            ("baking 2.0 at step 1 of 2 (50 %)", 1, "paused")], p.stdout)
        # Promoted: the last step, step 2, launches, moves scaling and puts blue in Standby.
        p = self.ok("--events", "promote", IMAGE, *FAST)
        got = self.received(want=4)
        self.assertEqual({d["step"] for d in got}, {2}, got)
        self.assertEqual((got[-1]["command"], got[-1]["outcome"]), ("promote", "done"))
        # A canary undone by its alarm says which.
        bed.wait_until(lambda: self.status()["sets"]["blue"]["state"] == "standby", timeout=20)
        self.ok("finalize", IMAGE, *FAST)
        self.received()
        proc = subprocess.Popen(
            [bed.binary("asgswap"), "--events", "deploy", IMAGE, "3.0", "--steps", "50,100",
             "--bake", "60", "--alarm", "web-5xx", *FAST], env=self.env(),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        bed.wait_until(lambda: (self.tags("web-blue").get("asgswap:release") or "").endswith(
            ":baking"), timeout=30, what="the canary of 3.0 baking")
        self.fire("web-5xx")
        _, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 1, err)
        got = self.received(want=5)
        self.assertEqual(got[-1]["outcome"], "undone by alarm web-5xx")
        self.assertEqual([d["outcome"] for d in got[:-1]], [None] * (len(got) - 1))

    def test_timed_out_deploy_publishes_undone(self):
        # The rule of asgswap(1)'s example: only the ends that did not go well.
        man = open(os.path.join(bed.TOP, "packaging", "man", "asgswap.1")).read()
        m = re.search(r"--event-pattern '(\{.*?\})'", man.replace("\\-", "-").replace(
            "\\(aq", "'"), re.S)
        self.assertIsNotNone(m, "no rule example in asgswap(1)")
        bad = self.sqs.create_queue(QueueName="bad-ends")["QueueUrl"]
        self.events.put_rule(Name="bad-ends", EventPattern=m.group(1))
        bad_arn = self.sqs.get_queue_attributes(QueueUrl=bad, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        self.events.put_targets(Rule="bad-ends", Targets=[{"Id": "q", "Arn": bad_arn}])
        every = self.queue
        tgs, _ = self.pair("web", live=2)
        self.moto.set_delays(healthy=None)  # new targets stay `initial`: never healthy
        for i in self.describe("web-blue")["Instances"]:
            self.moto.set_target_health(tgs[0], i["InstanceId"], "healthy")
        p = self.run_ctl("--events", "deploy", IMAGE, "2.0", "--timeout", "1", *FAST)
        self.assertEqual(p.returncode, 1, p.stderr)
        got = self.received(want=4)
        self.assertEqual([d["phase"] for d in got], [
            "recording the release of 2.0 (blue -> green)", "launching green 2.0 (2 instances)",
            "aborting the release of 2.0 to green", "aborting the release of 2.0 to green"])
        self.assertEqual([d["outcome"] for d in got], [None, None, None, "undone: the green set did not become live within 1 s"])
        self.assertEqual({(d["from"], d["to"], d["version"]) for d in got},
                         {("blue", "green", "2.0")})
        self.assertEqual(self.status()["live"], "blue")
        self.queue = bad
        self.assertEqual([d["outcome"] for d in self.received(want=1)], ["undone: the green set did not become live within 1 s"])
        # A deploy that went well passes that rule by.
        self.moto.set_delays(healthy=0)
        self.ok("--events", "deploy", IMAGE, "2.0", *FAST)
        self.assertEqual(self.received(), [])
        self.queue = every
        self.assertEqual(self.received(want=9)[-1]["outcome"], "done")

    def test_an_interrupted_deploy_says_so(self):
        tgs, _ = self.pair("web", live=2)
        self.moto.set_delays(healthy=None)  # the deploy waits for green until stopped
        for i in self.describe("web-blue")["Instances"]:
            self.moto.set_target_health(tgs[0], i["InstanceId"], "healthy")
        proc = subprocess.Popen([bed.binary("asgswap"), "--events", "deploy", IMAGE, "2.0",
                                 *FAST], env=self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        got = self.received(want=2, settle=0)
        self.assertEqual(got[-1]["phase"], "launching green 2.0 (2 instances)")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 5, err)
        got = self.received(want=1)
        self.assertEqual([(d["phase"], d["outcome"]) for d in got],
                         [("launching green 2.0 (2 instances)", "interrupted: waiting for the new set")])

    def test_a_refused_command_publishes_nothing(self):
        self.pair("web", live=2)
        self.ok("deploy", IMAGE, "2.0", *FAST)
        p = self.run_ctl("--events", "rollback", IMAGE, "--dry-run")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.run_ctl("--events", "deploy", IMAGE, "3.0", *FAST)
        self.assertEqual(p.returncode, 3, p.stderr)  # the idle set holds Standby instances
        self.assertEqual(self.received(), [])


class NoEventsTest(EventsCase):
    def calls(self, *args):
        with FaultProxy(self.moto.url) as proxy:
            p = self.ok(*args, env=self.env(AWS_ENDPOINT_URL=proxy.url))
            return p, [e["action"] for e in proxy.log()]

    def test_without_the_option_nothing_is_sent(self):
        self.pair("web", live=2)
        _, actions = self.calls("deploy", IMAGE, "2.0", *FAST)
        self.assertNotIn("PutEvents", actions)
        self.assertIn("EnterStandby", actions)
        self.assertEqual(self.received(), [])
        # The same count with the option: one call per phase and one for the end.
        p, actions = self.calls("--events", "rollback", IMAGE, *FAST)
        self.assertEqual(actions.count("PutEvents"), len(phase_lines(p.stdout)) + 1)
        self.assertEqual(len(self.received(want=4)), 4)


class PublishingFailureTest(EventsCase):
    def deploy_with(self, *, events_endpoint, args=("--events",)):
        self.pair("web", live=2)
        t0 = time.monotonic()
        p = self.run_ctl(*args, "deploy", IMAGE, "2.0", *FAST,
                         env=self.env(AWS_ENDPOINT_URL_EVENTBRIDGE=events_endpoint))
        elapsed = time.monotonic() - t0
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.status()["live"], "green")
        warnings = [line for line in p.stderr.splitlines() if WARNING.search(line)]
        self.assertEqual(len(warnings), 1, p.stderr)
        # Nothing else is said: the progress lines of the waits aside.
        said = [line for line in p.stderr.splitlines() if line.startswith("asgswap:")]
        self.assertEqual(said, warnings, p.stderr)
        return warnings[0], elapsed

    def test_an_endpoint_that_refuses_is_one_warning(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # closed again: connections are refused
        line, elapsed = self.deploy_with(events_endpoint=f"http://127.0.0.1:{port}")
        print(f"\n    deploy {elapsed:.1f} s with a bus that refuses connections", end=" ",
              flush=True)
        self.assertIn("event bus 'default'", line)
        self.assertRegex(line, r"refused|connect", line)
        self.assertEqual(self.received(), [])

    def proxied_deploy(self, rule):
        """A deploy whose PutEvents calls pass a fault proxy with rule; (the warnings, how
        many PutEvents calls reached the proxy)."""
        self.pair("web", live=2)
        with FaultProxy(self.moto.url) as proxy:
            proxy.add_rule(dict(rule, action="PutEvents"))
            p = self.ok("--events", "deploy", IMAGE, "2.0", *FAST,
                        env=self.env(AWS_ENDPOINT_URL_EVENTBRIDGE=proxy.url))
            calls = [e["action"] for e in proxy.log()].count("PutEvents")
        return [line for line in p.stderr.splitlines() if WARNING.search(line)], calls

    def test_a_transient_error_is_retried_once(self):
        warnings, calls = self.proxied_deploy({"type": "error", "status": 500, "shape": "json",
                                               "code": "InternalException", "count": 1})
        self.assertEqual(warnings, [])
        self.assertEqual(calls, 5 + 1)
        self.assertEqual(self.received(want=5)[-1]["outcome"], "done")

    def test_a_bus_that_keeps_failing_gets_two_attempts_then_nothing(self):
        warnings, calls = self.proxied_deploy({"type": "error", "status": 500, "shape": "json",
                                               "code": "InternalException",
                                               "message": "try again"})
        self.assertEqual(len(warnings), 1)
        self.assertIn("failed: InternalException: try again;", warnings[0])
        self.assertEqual(calls, 2)  # the first event's two attempts; then nothing more

    def test_a_failed_entry_in_an_answer_of_200_is_a_failure(self):
        body = json.dumps({"FailedEntryCount": 1, "Entries": [
            {"ErrorCode": "InternalFailure", "ErrorMessage": "Internal failure."}]})
        warnings, calls = self.proxied_deploy({"type": "respond", "status": 200, "body": body,
                                               "content_type": "application/x-amz-json-1.1"})
        self.assertEqual(len(warnings), 1)
        self.assertIn("failed: InternalFailure: entry 1 of 1: Internal failure.;", warnings[0])
        self.assertEqual(calls, 1)

    def test_the_endpoint_variable_is_botocores(self):
        # The variable the test above sets is the one botocore reads for EventBridge.
        from unittest import mock
        import boto3
        url = "http://127.0.0.1:9"
        with mock.patch.dict(os.environ, {"AWS_ENDPOINT_URL_EVENTBRIDGE": url}):
            c = boto3.session.Session().client("events", region_name="us-east-1",
                                               aws_access_key_id="a", aws_secret_access_key="b")
        self.assertEqual(c.meta.endpoint_url, url)

    def test_an_endpoint_that_never_answers_costs_one_call_at_most(self):
        # A baseline with a working bus, then the same deploy with a bus that accepts the
        # connection and never answers: the difference is at most one call's deadline.
        self.pair("web", live=2)
        t0 = time.monotonic()
        self.ok("--events", "deploy", IMAGE, "2.0", *FAST)
        baseline = time.monotonic() - t0
        self.moto.reset()
        self.setUp()
        with socket.create_server(("127.0.0.1", 0)) as hole:  # listens, never reads
            line, elapsed = self.deploy_with(
                events_endpoint=f"http://127.0.0.1:{hole.getsockname()[1]}")
        self.assertRegex(line, r"timed out|timeout", line)
        self.assertGreaterEqual(elapsed, EVENTS_DEADLINE_S)  # the one call waited it out
        self.assertLess(elapsed - baseline, EVENTS_DEADLINE_S + 4.0, (elapsed, baseline))
        print(f"\n    deploy {baseline:.1f} s with a working bus, {elapsed:.1f} s with one "
              "that never answers", end=" ", flush=True)


class SharedConfigTest(EventsCase):
    def config(self, text):
        d = tempfile.mkdtemp(prefix="asgswap-events-")
        self.addCleanup(lambda: (os.unlink(os.path.join(d, "config")), os.rmdir(d)))
        with open(os.path.join(d, "config"), "w") as f:
            f.write(text)
        return os.path.join(d, "config")

    def test_the_profile_key_turns_events_on(self):
        self.pair("web", live=2)
        path = self.config("[default]\nregion = us-east-1\n\n[profile ci]\nevents = default\n")
        self.ok("deploy", IMAGE, "2.0", *FAST, env=self.env(AWS_CONFIG_FILE=path))
        self.assertEqual(self.received(), [], "[default] has no events key")
        self.ok("rollback", IMAGE, *FAST, env=self.env(AWS_CONFIG_FILE=path, AWS_PROFILE="ci"))
        got = self.received(want=4)
        self.assertEqual(got[-1]["outcome"], "rolled back")

    def test_a_bad_value_is_a_usage_error(self):
        self.pair("web", live=2)
        path = self.config("[profile ci]\nevents = no such bus!\n")
        p = self.run_ctl("deploy", IMAGE, "2.0", *FAST,
                         env=self.env(AWS_CONFIG_FILE=path, AWS_PROFILE="ci"))
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual(p.stderr.splitlines(), [
            "asgswap: error: events 'no such bus!' in profile 'ci': expected an event bus "
            "name or ARN, such as 'default'"])
        self.assertEqual(self.status()["live"], "blue")  # nothing was changed
        # --events names the bus itself: the profile's bad value is not read then.
        self.ok("--events=default", "deploy", IMAGE, "2.0", *FAST,
                env=self.env(AWS_CONFIG_FILE=path, AWS_PROFILE="ci"))
        self.assertEqual(self.received(want=5)[-1]["outcome"], "done")
        for bad in ("", "a b", "arn:aws:events:us-east-1:12345:event-bus/x", "x" * 257,
                    "arn:aws:sqs:us-east-1:123456789012:event-bus/x", "bus\n"):
            p = self.run_ctl(f"--events={bad}", "status", IMAGE)
            self.assertEqual(p.returncode, 2, (bad, p.stderr))
            self.assertEqual(len(p.stderr.splitlines()), 1, (bad, p.stderr))
            self.assertIn("expected an event bus name or ARN", p.stderr)

    def test_a_bus_by_arn(self):
        self.pair("web", live=2)
        self.events.create_event_bus(Name="releases")
        arn = "arn:aws:events:us-east-1:123456789012:event-bus/releases"
        self.events.put_rule(Name="on-releases", EventBusName="releases",
                             EventPattern=json.dumps({"source": ["asgswap"]}))
        q = self.sqs.create_queue(QueueName="other")["QueueUrl"]
        qarn = self.sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        self.events.put_targets(Rule="on-releases", EventBusName="releases",
                                Targets=[{"Id": "q", "Arn": qarn}])
        path = self.config(f"[default]\nevents = {arn}\n")
        self.ok("deploy", IMAGE, "2.0", *FAST, env=self.env(AWS_CONFIG_FILE=path))
        self.assertEqual(self.received(), [], "the default bus got the events")
        self.queue = q
        self.assertEqual(self.received(want=5)[-1]["outcome"], "done")

"""asgswap status against the patched moto: one row per service that goes on past one it
cannot read, the lock, the rolled-back marker, the release in flight and the commands that
finish or undo it (run here to show they do), why a set is mixed, one JSON shape with or
without IMAGE, and the guesses when no group carries IMAGE. State is set up with boto3."""
import json
import re
import shlex
import time

import bed
from faultproxy import FaultProxy
from test_ctl_support import IMAGE, CtlCase

FAST = ("--poll", "0.05")
DB = "registry.example/db"
RULE = ("asgswap: a service is a pair of groups NAME-blue and NAME-green that carry "
        "docker:image:name=IMAGE, e.g. web-blue and web-green with "
        "docker:image:name=registry.example/web")


class StatusCase(CtlCase):
    def tag(self, group, key, value):
        self.asg.create_or_update_tags(Tags=[{
            "ResourceId": group, "ResourceType": "auto-scaling-group", "Key": key,
            "Value": value, "PropagateAtLaunch": False}])

    def run_printed(self, command):
        """Runs a command that status printed, as an operator pasting it would."""
        argv = shlex.split(command)
        self.assertEqual(argv[0], "asgswap")
        return self.ok(*argv[1:], *FAST)

    def next_of(self, line):
        return re.findall(r"(\w[\w ]*?) with '([^']+)'", line)


class AllServicesTest(StatusCase):
    def world(self):
        self.pair("web", live=2)
        self.group("db-blue", desired=0, image=DB, version="3")
        self.group("db-green", desired=0, image=DB)
        self.group("bad-purple", image="registry.example/bad", version="1")

    def test_one_row_per_service_past_one_it_cannot_read(self):
        self.world()
        p = self.run_ctl("status")
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertEqual(p.stdout.splitlines(), [
            "IMAGE                LIVE  BLUE     GREEN NOTES",
            "registry.example/bad -     -        -     cannot read it: group 'bad-purple' of "
            "image 'registry.example/bad' has no colour suffix (-blue or -green)",
            "registry.example/db  -     idle 3   idle  -",
            "registry.example/web blue  live 1.0 idle  -",
        ])
        self.assertEqual(p.stderr, "asgswap: error: 1 of 3 services could not be read\n")

    def test_a_tag_that_is_no_image_name_is_a_row_not_a_crash(self):
        self.pair("web", live=1)
        self.group("x-blue", image="Registry.Example/UPPER", version="1")
        self.group("x-green", image="Registry.Example/UPPER")
        p = self.run_ctl("status")
        self.assertEqual(p.returncode, 3, p.stderr)
        rows = sorted(p.stdout.splitlines()[1:])
        self.assertRegex(rows[0], r"^Registry\.Example/UPPER -\s+-\s+-\s+cannot read it: "
                                  r"docker:image:name is not an image name \(.+\)$")
        self.assertRegex(rows[1], r"^registry\.example/web\s+blue\s+live 1\.0\s+idle\s+-$")

    def test_json_is_a_list_of_services_with_one_shape(self):
        self.world()
        p = self.run_ctl("--output", "json", "status")
        self.assertEqual(p.returncode, 3, p.stderr)
        services = json.loads(p.stdout)["services"]
        self.assertEqual([s["image"] for s in services],
                         ["registry.example/bad", DB, IMAGE])
        keys = {"image", "prefix", "error", "live", "lock", "release", "next", "sets"}
        for s in services:
            self.assertEqual(set(s), keys)
        bad, db, web = services
        self.assertEqual(bad, {
            "image": "registry.example/bad", "prefix": "", "live": None, "lock": None,
            "release": None, "next": [], "sets": None,
            "error": "group 'bad-purple' of image 'registry.example/bad' has no colour suffix "
                     "(-blue or -green)"})
        self.assertIsNone(web["error"])
        # The document of one service is the same with or without IMAGE.
        one = json.loads(self.ok("--output", "json", "status", IMAGE).stdout)
        self.assertEqual(one, {"services": [web]})
        one = json.loads(self.ok("--output", "json", "status", DB).stdout)
        self.assertEqual(one, {"services": [db]})

    def test_one_describe_call_for_every_service(self):
        for k in range(3):
            self.pair(f"s{k}", live=0, lb="none")
            self.group(f"t{k}-blue", desired=0, image=f"registry.example/t{k}", version="1")
            self.group(f"t{k}-green", desired=0, image=f"registry.example/t{k}")
        with FaultProxy(self.moto.url) as proxy:
            p = self.run_ctl("status", env=self.env(AWS_ENDPOINT_URL=proxy.url))
            self.assertEqual(p.returncode, 0, p.stderr)
            calls = proxy.calls()
        self.assertEqual(len(p.stdout.splitlines()), 1 + 4)
        self.assertEqual(calls.get("DescribeAutoScalingGroups"), 1, calls)

    def test_error_of_one_image_in_json(self):
        self.pair("web")
        p = self.run_ctl("--output", "json", "status", "registry.example/nope")
        self.assertEqual(p.returncode, 3, p.stderr)
        (s,) = json.loads(p.stdout)["services"]
        self.assertEqual((s["image"], s["sets"], s["error"]), (
            "registry.example/nope", None,
            "no Auto Scaling group carries docker:image:name=registry.example/nope"))
        self.assertEqual(p.stderr.splitlines()[1:], [RULE])


class LockTest(StatusCase):
    def test_lock_holder_and_expiry_in_human_time(self):
        self.pair("web")
        expiry = int(time.time()) + 270  # "4 min left" for 30 s
        self.tag("web-blue", "asgswap:lock", f"n0nce:{expiry}:alice@build-7 4242 deploy")
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(expiry))
        lines = self.ok("status", IMAGE).stdout.splitlines()
        self.assertEqual(lines[1], f"lock: held by alice@build-7 4242 deploy until {when} "
                                   "(4 min left)")
        st = self.status()
        self.assertEqual(st["lock"], {
            "holder": "alice@build-7 4242 deploy", "expired": False,
            "expires": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expiry)),
            "value": f"n0nce:{expiry}:alice@build-7 4242 deploy"})
        row = self.ok("status").stdout.splitlines()[1]
        self.assertTrue(row.endswith(f" lock held by alice@build-7 4242 deploy until {when} "
                                     "(4 min left)"), row)

    def test_expired_lock(self):
        self.pair("web")
        expiry = int(time.time()) - 630  # "10 min ago" for 30 s
        self.tag("web-blue", "asgswap:lock", f"n0nce:{expiry}:bob@ci 7 rollback")
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(expiry))
        lines = self.ok("status", IMAGE).stdout.splitlines()
        self.assertEqual(lines[1], f"lock: taken by bob@ci 7 rollback, expired at {when} "
                                   "(10 min ago); the next command takes it over")
        self.assertTrue(self.status()["lock"]["expired"])

    def test_values_that_are_no_lock(self):
        self.pair("web")
        for value in ("garbage", "n:soon:someone", ":123:x"):
            with self.subTest(value=value):
                self.tag("web-blue", "asgswap:lock", value)
                lines = self.ok("status", IMAGE).stdout.splitlines()
                self.assertEqual(lines[1], f"lock: asgswap:lock holds '{value}', which is no "
                                           "lock (NONCE:EXPIRY:HOLDER)")
                lock = self.status()["lock"]
                self.assertEqual(lock, {"holder": None, "expires": None, "expired": None,
                                        "value": value})


class ReleaseTest(StatusCase):
    def test_after_a_deploy_then_a_rollback(self):
        self.pair("web", live=2)
        self.ok("deploy", IMAGE, "2.0", *FAST)
        lines = self.ok("status", IMAGE).stdout.splitlines()
        self.assertEqual(lines[0], f"image {IMAGE}, live: green")
        self.assertEqual(lines[-1], f"next: roll back with 'asgswap rollback {IMAGE}', "
                                    f"finalize with 'asgswap finalize {IMAGE}'")
        st = self.status()
        self.assertEqual(st["next"], [
            {"action": "roll back", "command": f"asgswap rollback {IMAGE}"},
            {"action": "finalize", "command": f"asgswap finalize {IMAGE}"}])
        self.run_printed(st["next"][0]["command"])
        lines = self.ok("status", IMAGE).stdout.splitlines()
        self.assertEqual(lines[:2], [f"image {IMAGE}, live: blue",
                                     "green: rolled back from 2.0"])
        self.assertEqual(self.status()["sets"]["green"]["rolled_back_from"], "2.0")
        row = self.ok("status").stdout.splitlines()[1]
        self.assertRegex(row, r"^registry\.example/web blue  live 1\.0 +"
                              r"idle \(rolled back from 2\.0\) +-$")

    def test_release_in_flight_and_the_commands_that_finish_or_undo_it(self):
        for prefix in ("", "prod-"):
            with self.subTest(prefix=prefix):
                self.moto.reset()
                self.setUp()
                self.pair(prefix + "web", live=2)
                self.tag(prefix + "web-blue", "asgswap:release", "blue>green:2.0:launching")
                extra = ("--prefix", prefix) if prefix else ()
                tail = f" --prefix {prefix}" if prefix else ""
                lines = self.ok("status", IMAGE, *extra).stdout.splitlines()
                self.assertIn("release in flight: blue>green 2.0 (launching)", lines)
                self.assertEqual(lines[-1], f"next: finish with 'asgswap deploy {IMAGE} 2.0"
                                            f"{tail}', undo with 'asgswap rollback {IMAGE}"
                                            f"{tail}'")
                st = self.status(IMAGE, *extra)
                self.assertEqual(st["release"], {"from": "blue", "to": "green",
                                                 "version": "2.0", "phase": "launching"})
                self.assertEqual([n["action"] for n in st["next"]], ["finish", "undo"])
                # what status prints does finish the release
                self.run_printed(st["next"][0]["command"])
                st = self.status(IMAGE, *extra)
                self.assertEqual((st["live"], st["release"], st["sets"]["green"]["version"]),
                                 ("green", None, "2.0"))

    def test_undo_command_undoes(self):
        self.pair("web", live=2)
        self.tag("web-blue", "asgswap:release", "blue>green:2.0:launching")
        st = self.status()
        self.assertEqual(st["next"][1], {"action": "undo",
                                         "command": f"asgswap rollback {IMAGE}"})
        self.run_printed(st["next"][1]["command"])
        st = self.status()
        self.assertEqual((st["live"], st["release"], st["sets"]["green"]["state"]),
                         ("blue", None, "idle"))

    def test_rollback_in_flight(self):
        self.pair("web", live=2)
        self.tag("web-blue", "asgswap:release", "green>blue:2.0:rollback")
        lines = self.ok("status", IMAGE).stdout.splitlines()
        self.assertEqual(lines[-1], f"next: finish with 'asgswap rollback {IMAGE}'")
        row = self.ok("status").stdout.splitlines()[1]
        self.assertTrue(row.endswith("release green>blue 2.0 in flight (rollback); finish with "
                                     f"'asgswap rollback {IMAGE}'"), row)


class MixedTest(StatusCase):
    def test_mixed_set_names_its_instances_and_how_to_settle_it(self):
        tgs, _ = self.pair("web", live=2)
        a, b = (i["InstanceId"] for i in self.describe("web-blue")["Instances"])
        self.asg.enter_standby(AutoScalingGroupName="web-blue", InstanceIds=[a],
                               ShouldDecrementDesiredCapacity=True)
        self.moto.set_target_health(tgs[0], b, "unhealthy")
        st = self.status()
        self.assertEqual(st["sets"]["blue"]["state"], "mixed")
        want = (f"blue is mixed (it should be live): {a} Standby in web-blue, {b} InService in "
                f"web-blue but unhealthy; settle it with 'aws autoscaling exit-standby "
                f"--auto-scaling-group-name web-blue --instance-ids {a}'; an instance in "
                "service that is not healthy needs its health checks to pass, or replacing "
                "with 'aws autoscaling terminate-instance-in-auto-scaling-group --instance-id "
                "ID --no-should-decrement-desired-capacity'")
        self.assertEqual(st["sets"]["blue"]["explain"], want)
        self.assertIsNone(st["sets"]["green"]["explain"])
        lines = self.ok("status", IMAGE).stdout.splitlines()
        self.assertIn(want, lines)
        row = self.ok("status").stdout.splitlines()[1]
        self.assertRegex(row, r"^registry\.example/web -\s+mixed 1\.0\s+idle\s+blue is mixed: "
                              r"'asgswap status registry\.example/web' says why$")
        # the advice settles it (as the AWS CLI would, with boto3)
        self.asg.exit_standby(AutoScalingGroupName="web-blue", InstanceIds=[a])
        self.moto.set_target_health(tgs[0], b, "healthy")
        bed.wait_until(lambda: self.status()["sets"]["blue"]["state"] == "live", timeout=30)

    def test_mixed_beside_a_live_set_should_be_standby(self):
        tgs, _ = self.pair("web", live=2)
        self.ok("deploy", IMAGE, "2.0", *FAST)
        a, b = (i["InstanceId"] for i in self.describe("web-blue")["Instances"])
        self.asg.exit_standby(AutoScalingGroupName="web-blue", InstanceIds=[a])
        self.moto.set_target_health(tgs[0], a, "unhealthy")
        st = self.status()
        self.assertEqual((st["sets"]["blue"]["state"], st["live"]), ("mixed", "green"))
        self.assertEqual(st["sets"]["blue"]["explain"], (
            f"blue is mixed (it should be in Standby, as the other set is live): {a} InService "
            "in web-blue; settle it with 'aws autoscaling enter-standby "
            "--auto-scaling-group-name web-blue --should-decrement-desired-capacity "
            f"--instance-ids {a}'"))
        self.asg.enter_standby(AutoScalingGroupName="web-blue", InstanceIds=[a],
                               ShouldDecrementDesiredCapacity=True)
        bed.wait_until(lambda: self.status()["sets"]["blue"]["state"] == "standby", timeout=30)


class DidYouMeanTest(StatusCase):
    def bad(self, *args, first):
        p = self.run_ctl(*args)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertEqual(p.stdout, "")
        self.assertEqual(p.stderr.splitlines(), ["asgswap: error: " + first, RULE])

    def test_group_name_typed_for_the_image(self):
        self.group("prod-web-blue", desired=0, image="web", version="1")
        self.group("prod-web-green", desired=0, image="web")
        self.bad("status", "prod-web",
                 first="no Auto Scaling group carries docker:image:name=prod-web: did you mean "
                       "'web'?")
        self.group("stage-web-blue", desired=0, image="web", version="1")
        self.group("stage-web-green", desired=0, image="web")
        self.bad("deploy", "prod-web", "2.0",
                 first="no Auto Scaling group carries docker:image:name=prod-web: did you mean "
                       "'web --prefix prod-web-'?")
        # the guess is right: it shows only the prod groups
        st = self.status("web", "--prefix", "prod-web-")
        self.assertEqual([g["name"] for g in st["sets"]["blue"]["groups"]], ["prod-web-blue"])

    def test_misspelt_and_short_image_names(self):
        self.pair("web")
        self.bad("status", "registry.example/wbe",
                 first="no Auto Scaling group carries docker:image:name=registry.example/wbe: "
                       f"did you mean '{IMAGE}'?")
        self.bad("rollback", "web",
                 first=f"no Auto Scaling group carries docker:image:name=web: did you mean "
                       f"'{IMAGE}'?")

    def test_nothing_close_lists_the_images(self):
        self.pair("web")
        self.group("db-blue", desired=0, image=DB, version="3")
        self.group("db-green", desired=0, image=DB)
        self.bad("status", "frobnicate",
                 first="no Auto Scaling group carries docker:image:name=frobnicate; the images "
                       f"here are '{DB}', '{IMAGE}'")

"""asgswap's command line and `status`: usage errors before any AWS call, hostile inputs,
the JSON document and the table. State is set up with boto3 on the patched moto."""
import json
import re

import bed
from faultproxy import FaultProxy
from test_ctl_support import IMAGE, CtlCase

DEAD = "http://127.0.0.1:9"  # nothing listens: any AWS call would fail with exit 4


class UsageTest(CtlCase):
    """No moto needed for most of these, but the class shares the fixture for brevity."""

    def bad(self, *args, code=2, pattern=None):
        p = bed.run("asgswap", *args, env=bed.base_env(AWS_ENDPOINT_URL=DEAD))
        self.assertEqual(p.returncode, code, p.stderr)
        self.assertEqual(p.stdout, "")
        lines = p.stderr.strip().splitlines()
        self.assertRegex(lines[-1], r"^asgswap: error: " + (pattern or ""))
        return p

    def test_version_and_help(self):
        p = bed.run("asgswap", "--version")
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"^asgswap \d+\.\d+\.\d+\n$")
        for args in (("--help",), ("help",)):
            p = bed.run("asgswap", *args)
            self.assertEqual(p.returncode, 0)
            self.assertIn("deploy   IMAGE VERSION", p.stdout)
        self.assertIn("'asgswap help COMMAND' or 'asgswap COMMAND -h' lists a command's options",
                      p.stdout)

    ROLLBACK_HELP = (
        "usage: asgswap rollback IMAGE [--prefix P] [--timeout S] [--poll S]\n"
        "\n"
        "Brings the standby set back into service and empties the other set.\n"
        "\n"
        "options:\n"
        "  --prefix P         only the groups whose name starts with P\n"
        "  --timeout S        seconds to wait before giving up (900; exit 5)\n"
        "  --poll S           seconds between two observations while waiting (1)\n"
        "\n"
        "and the global options of 'asgswap --help' (--region, --profile, --endpoint-url,\n"
        "--output, --lock-table, --dry-run, --verbose, --quiet, --no-color, --events)\n")

    def test_help_of_each_command(self):
        # help COMMAND, COMMAND -h and COMMAND --help print the same, without any AWS call
        env = bed.base_env(AWS_ENDPOINT_URL=DEAD)
        for args in (("help", "rollback"), ("rollback", "-h"), ("rollback", IMAGE, "--help"),
                     ("-h", "rollback")):
            with self.subTest(args=args):
                p = bed.run("asgswap", *args, env=env)
                self.assertEqual((p.returncode, p.stderr), (0, ""))
                self.assertEqual(p.stdout, self.ROLLBACK_HELP)
        want = {"status": ["--prefix P"], "unlock": ["--prefix P", "--force"],
                "finalize": ["--prefix P", "--timeout S"],
                "deploy": ["--prefix P", "--timeout S", "--poll S", "--finalize-first",
                           "--force", "--steps", "--bake S", "--bake-after S", "--alarm",
                           "--alarm-prefix P", "--pause", "--no-auto-rollback",
                           "--ignore-alarm-state"],
                "promote": ["--prefix P", "--timeout S", "--poll S"],
                "abort": ["--prefix P", "--timeout S", "--poll S"],
                "history": ["--prefix P", "--limit N"], "init-table": ["--timeout S"]}
        for cmd, opts in want.items():
            with self.subTest(cmd=cmd):
                p = bed.run("asgswap", cmd, "-h", env=env)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertTrue(p.stdout.startswith(f"usage: asgswap {cmd} "), p.stdout)
                got = re.findall(r"^  (--\S+(?: [A-Z])?) ", p.stdout, re.M)
                self.assertEqual(got, opts)
        p = bed.run("asgswap", "help", "-h", env=env)
        self.assertEqual(p.stdout, "usage: asgswap help [COMMAND]\n\n"
                                   "Prints the usage of every command, or the options of one.\n")

    def test_did_you_mean(self):
        self.bad("deplyo", IMAGE, "2.0",
                 pattern=r"unknown command 'deplyo': did you mean 'deploy'\? \(see asgswap --help\)$")
        self.bad("help", "rolback",
                 pattern=r"unknown command 'rolback': did you mean 'rollback'\?")
        self.bad("stauts", pattern=r"unknown command 'stauts': did you mean 'status'\?")
        self.bad("status", "--prefx", "web-",
                 pattern=r"unknown option '--prefx': did you mean '--prefix'\? "
                         r"\(see asgswap --help\)$")
        self.bad("deploy", IMAGE, "2.0", "--finalise-first",
                 pattern=r"unknown option '--finalise-first': did you mean '--finalize-first'\?")
        self.bad("status", "--dryrun=x", pattern=r"unknown option '--dryrun': did you mean "
                                                 r"'--dry-run'\?")
        # nothing close: no guess
        self.bad("frobnicate", pattern=r"unknown command 'frobnicate' \(see asgswap --help\)$")
        self.bad("status", "--bogus", pattern=r"unknown option '--bogus' \(see asgswap --help\)$")

    def test_usage_errors(self):
        self.bad(pattern="no command given")
        self.bad("frobnicate", pattern="unknown command 'frobnicate'")
        self.bad("deploy", IMAGE, pattern="usage: asgswap deploy")
        self.bad("deploy", IMAGE, "1", "2", pattern="usage: asgswap deploy")
        self.bad("--output", "yaml", "status", pattern="--output 'yaml'")
        self.bad("status", "--bogus", pattern="unknown option '--bogus'")
        self.bad("deploy", IMAGE, "1.0", "--timeout", "soon", pattern="--timeout 'soon'")
        self.bad("deploy", IMAGE, "1.0", "--poll", "-1", pattern="--poll '-1'")
        self.bad("deploy", IMAGE, "1.0", "--timeout", pattern="option '--timeout' needs a value")

    def test_bad_versions_refused_before_any_aws_call(self):
        self.bad("deploy", IMAGE, "-1.0", pattern="unknown option '-1'")
        for v in ("", "-1.0", ".hidden", "a" * 129, "1.0:latest", "1.0/x", "v1 0", "1.0\n",
                  "ümlaut", "$(reboot)", "a;b", "sha256:" + "a" * 63, "sha256:" + "A" * 64,
                  "sha512:" + "a" * 64, "1@sha256:" + "a" * 65, "@sha256:" + "a" * 64,
                  "1@2@sha256:" + "a" * 64):
            with self.subTest(v=v):
                self.bad("deploy", IMAGE, "--", v, pattern="version .* is not a valid Docker tag")

    def test_good_versions_reach_aws(self):
        for v in ("1.0", "_x", "A" * 128, "v1.2.3-rc.1_b", "sha256:" + "0a" * 32,
                  "1.0@sha256:" + "0a" * 32):
            p = bed.run("asgswap", "deploy", IMAGE, v, env=bed.base_env(AWS_ENDPOINT_URL=DEAD,
                                                                         AWS_MAX_ATTEMPTS="1"))
            self.assertEqual(p.returncode, 4, (v, p.stderr))

    def test_options_after_the_command(self):
        self.pair("web")
        a = self.ok("status", IMAGE, "--output", "json").stdout
        b = self.ok("--output", "json", "status", IMAGE).stdout
        self.assertEqual(json.loads(a)["services"][0]["sets"]["blue"]["state"], "live")
        self.assertEqual(json.loads(a), json.loads(b))


class StatusTest(CtlCase):
    def test_json_document(self):
        tgs, _ = self.pair("web", live=2)
        st = self.status()
        self.assertEqual(set(st), {"image", "prefix", "error", "live", "lock", "release", "next",
                                   "sets"})
        self.assertEqual((st["image"], st["prefix"], st["error"], st["live"], st["lock"],
                          st["release"], st["next"]), (IMAGE, "", None, "blue", None, None, []))
        blue, green = st["sets"]["blue"], st["sets"]["green"]
        self.assertEqual(set(blue), {"state", "version", "standby_since", "rolled_back_from",
                                     "explain", "groups"})
        self.assertEqual((blue["rolled_back_from"], blue["explain"]), (None, None))
        self.assertEqual((blue["state"], blue["version"], blue["standby_since"]),
                         ("live", "1.0", None))
        self.assertEqual((green["state"], green["version"]), ("idle", None))
        g = blue["groups"][0]
        self.assertEqual(set(g), {"name", "min", "max", "desired", "version", "instances",
                                  "load_balancers", "target_groups"})
        self.assertEqual((g["name"], g["min"], g["max"], g["desired"]), ("web-blue", 1, 4, 2))
        self.assertEqual(g["target_groups"], tgs)
        self.assertEqual(g["load_balancers"], [])
        ids = {i["InstanceId"] for i in self.describe("web-blue")["Instances"]}
        self.assertEqual({i["id"] for i in g["instances"]}, ids)
        self.assertEqual({(i["lifecycle"], i["health"]) for i in g["instances"]},
                         {("InService", "healthy")})

    def test_unhealthy_target_makes_set_launching(self):
        tgs, _ = self.pair("web", live=2)
        iid = self.describe("web-blue")["Instances"][0]["InstanceId"]
        self.moto.set_target_health(tgs[0], iid, "unhealthy")
        st = self.status()
        self.assertEqual(st["sets"]["blue"]["state"], "launching")
        self.assertIsNone(st["live"])
        health = {i["id"]: i["health"] for i in st["sets"]["blue"]["groups"][0]["instances"]}
        self.assertEqual(health[iid], "unhealthy")

    def test_classic_elb_health(self):
        _, clbs = self.pair("api", live=1, lb="clb")
        st = self.status()
        self.assertEqual(st["sets"]["blue"]["state"], "live")
        self.assertEqual(st["sets"]["blue"]["groups"][0]["load_balancers"], clbs)

    def test_text_table(self):
        self.pair("web", live=2)
        p = self.ok("status", IMAGE)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0], f"image {IMAGE}, live: blue")
        self.assertRegex(lines[1], r"^SET\s+STATE\s+VERSION\s+GROUP\s+MIN\s+MAX\s+DES\s+INSTANCES$")
        self.assertRegex(lines[2], r"^blue\s+live\s+1\.0\s+web-blue\s+1\s+4\s+2\s+"
                                   r"2 InService/healthy$")
        self.assertRegex(lines[3], r"^green\s+idle\s+-\s+web-green\s+0\s+4\s+0\s+-$")

    def test_status_of_every_service(self):
        self.pair("web", live=1)
        self.group("db-blue", desired=0, image="registry.example/db", version="3")
        self.group("db-green", desired=0, image="registry.example/db")
        p = self.ok("--output", "json", "status")
        doc = json.loads(p.stdout)
        self.assertEqual([s["image"] for s in doc["services"]], ["registry.example/db", IMAGE])
        p = self.ok("status", "--prefix", "web")
        self.assertEqual(p.stdout.splitlines()[1:], [
            "registry.example/web blue  live 1.0 idle  -"])

    def test_prefix_selects_groups(self):
        self.pair("prod-web", live=1)
        self.pair("stage-web", live=2)
        st = self.status(IMAGE, "--prefix", "stage-")
        self.assertEqual(st["prefix"], "stage-")
        self.assertEqual([g["name"] for g in st["sets"]["blue"]["groups"]], ["stage-web-blue"])

    RULE = ("asgswap: a service is a pair of groups NAME-blue and NAME-green that carry "
            "docker:image:name=IMAGE, e.g. web-blue and web-green with "
            "docker:image:name=registry.example/web")

    def hostile(self, *args, pattern, rule=False):
        """One error line (and the naming rule after it when no group matched)."""
        p = self.run_ctl(*args)
        self.assertEqual(p.returncode, 3, p.stderr)
        lines = p.stderr.strip().splitlines()
        self.assertEqual(lines[1:], [self.RULE] if rule else [], p.stderr)
        self.assertRegex(lines[0], r"^asgswap: error: " + pattern)

    def test_unknown_image_and_prefix_matching_nothing(self):
        self.pair("web")
        self.hostile("status", "registry.example/nope", rule=True,
                     pattern="no Auto Scaling group carries docker:image:name="
                             "registry.example/nope; the images here are "
                             "'registry.example/web'$")
        self.hostile("status", IMAGE, "--prefix", "zzz", rule=True,
                     pattern=".*starting with 'zzz'$")
        self.hostile("deploy", "registry.example/nope", "2.0", rule=True,
                     pattern="no Auto Scaling group carries")

    def test_group_without_colour_suffix(self):
        self.pair("web")
        self.group("web-purple", version="1.0")
        self.hostile("status", IMAGE, pattern="group 'web-purple' .* no colour suffix")
        self.hostile("deploy", IMAGE, "2.0", pattern="group 'web-purple' .* no colour suffix")

    def test_three_colours(self):
        self.pair("web")
        self.group("web-red", version="1.0")
        self.hostile("status", IMAGE, pattern="group 'web-red' .* no colour suffix")

    def test_group_without_pair(self):
        self.pair("web")
        self.group("api-blue", version="1.0")
        self.hostile("status", IMAGE, pattern="group 'api-blue' has no green pair 'api-green'")

    def test_describe_is_one_paginated_filtered_call(self):
        for k in range(3):
            self.pair(f"s{k}", live=0, lb="none")
        with FaultProxy(self.moto.url) as proxy:
            p = self.run_ctl("status", IMAGE, env=self.env(AWS_ENDPOINT_URL=proxy.url))
            self.assertEqual(p.returncode, 0, p.stderr)
            calls = proxy.calls()
            log = proxy.log()
        self.assertEqual(calls.get("DescribeAutoScalingGroups"), 1, calls)
        self.assertTrue(all(e["action"].startswith("Describe") for e in log), log)

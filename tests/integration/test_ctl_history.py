"""The release history in the lock table: a record after a deploy, a rollback, an undone
deploy and runs interrupted by SIGINT and SIGKILL; `history --output json` compared field
by field with what boto3 reads from the table; --limit and pagination (counted in the fault
proxy); a failure to write the history is a warning, never a failed release; where the
table's name comes from (option, environment, config file). Also `init-table`: an ACTIVE
on-demand table with TTL on, idempotent, waited for while CREATING, a wrong schema refused."""
import json
import os
import re
import signal
import tempfile
import time

import bed
import ddbtable
from faultproxy import FaultProxy
from test_ctl_lock_table import TABLE, TableCase
from test_ctl_support import IMAGE

FAST = ("--poll", "0.05")
PK = "release#" + IMAGE


class HistoryTest(TableCase):
    def records(self):
        """The service's history items as boto3 reads them, newest first."""
        out = self.ddb.query(TableName=TABLE, KeyConditionExpression="pk = :p",
                             ExpressionAttributeValues={":p": {"S": PK}}, ScanIndexForward=False,
                             ConsistentRead=True)
        return out["Items"]

    def history(self, *args, env=None):
        p = self.ok("--output", "json", "history", IMAGE, *args, **({"env": env} if env else {}))
        return json.loads(p.stdout)["releases"]

    def phases_printed(self, stdout):
        return [re.sub(r"^\[\d+/\d+\] ", "", line) for line in stdout.splitlines()
                if re.match(r"^\[\d+/\d+\] ", line)]

    def test_deploy_and_rollback_are_recorded_as_boto3_reads_them(self):
        self.pair("web", live=2)
        dep = self.ok("deploy", IMAGE, "2.0", *FAST)
        rb = self.ok("rollback", IMAGE, *FAST)
        items = self.records()
        self.assertEqual(len(items), 2)
        arn = self.moto.client("sts").get_caller_identity()["Arn"]
        version = self.ok("--version").stdout.split()[1]
        doc = self.history()
        self.assertEqual([r["command"] for r in doc], ["rollback", "deploy"])  # newest first
        for rec, item, out in zip(doc, items, (rb.stdout, dep.stdout)):
            self.assertEqual(rec["key"], item["sk"]["N"])
            for field in ("command", "from", "to", "from_version", "to_version", "caller",
                          "holder", "asgswap_version", "outcome"):
                self.assertEqual(rec[field], item[field]["S"], field)
            # A deploy's strategy as its release record writes it; a rollback has none.
            self.assertEqual(rec["strategy"], item.get("strategy", {}).get("S"))
            for field in ("started", "ended"):
                self.assertEqual(rec[field], time.strftime(
                    "%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(item[field]["N"]))), field)
            self.assertEqual([p["name"] for p in rec["phases"]],
                             [p["M"]["name"]["S"] for p in item["phases"]["L"]])
            # Each phase the command printed, in order, each with its AWS time.
            self.assertEqual([p["name"] for p in rec["phases"]], self.phases_printed(out))
            for p in rec["phases"]:
                self.assertLessEqual(rec["started"], p["at"])
                self.assertLessEqual(p["at"], rec["ended"])
            self.assertEqual(rec["caller"], arn)
            self.assertEqual(rec["asgswap_version"], version)
            self.assertRegex(rec["holder"], r"^\S+@\S+ \d+ " + rec["command"] + "$")
            self.assertEqual(rec["strategy"], "steps=100" if rec["command"] == "deploy" else None)
        self.assertEqual((doc[1]["from"], doc[1]["to"], doc[1]["from_version"],
                          doc[1]["to_version"], doc[1]["outcome"]),
                         ("blue", "green", "1.0", "2.0", "done"))
        self.assertEqual((doc[0]["from"], doc[0]["to"], doc[0]["from_version"],
                          doc[0]["to_version"], doc[0]["outcome"]),
                         ("green", "blue", "2.0", "1.0", "rolled back"))
        text = self.ok("history", IMAGE).stdout.splitlines()
        self.assertEqual(len(text), 2, text)
        self.assertRegex(text[0], r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC  rollback green>blue "
                                  r"2\.0>1\.0: rolled back in \d+ s; by " + re.escape(arn) + "$")
        self.assertRegex(text[1], r"UTC  deploy blue>green 1\.0>2\.0: done in \d+ s; by ")

    def test_an_undone_deploy_says_why(self):
        self.pair("web", live=1, hook=True)  # nobody completes green's hook
        p = self.run_ctl("deploy", IMAGE, "2.0", *FAST, "--timeout", "1")
        self.assertEqual(p.returncode, 1, p.stderr)
        (rec,) = self.history()
        self.assertEqual(rec["outcome"], "undone: the green set did not become live within 1 s")
        self.assertEqual(self.records()[0]["outcome"]["S"], rec["outcome"])
        self.assertEqual(rec["phases"][-1]["name"], "aborting the release of 2.0 to green")

    def test_an_alarm_driven_undo_names_its_alarm_and_strategy(self):
        self.pair("web", live=2)
        self.alarm("web-5xx", state="OK")
        proc = self.start("deploy", IMAGE, "2.0", "--steps", "50,100", "--bake", "60",
                          "--alarm", "web-5xx", *FAST, env=self.env())
        bed.wait_until(lambda: (self.tags("web-blue").get("asgswap:release") or "").endswith(
            ":baking"), timeout=30, what="the canary baking")
        self.fire("web-5xx")
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 1, err)
        (rec,) = self.history()
        self.assertEqual(rec["outcome"], "undone by alarm web-5xx")
        self.assertEqual(rec["strategy"], "steps=50,100 bake=60")
        item = self.records()[0]
        self.assertEqual((item["outcome"]["S"], item["strategy"]["S"]),
                         (rec["outcome"], rec["strategy"]))
        names = [ph["name"] for ph in rec["phases"]]
        self.assertEqual(names, self.phases_printed(out))
        self.assertIn("baking 2.0 at step 1 of 2 (50 %)", names)
        self.assertEqual(names[-1], "aborting the release of 2.0 to green")

    def waiting_deploy(self):
        self.pair("web", live=1, hook=True)
        proc = self.start("deploy", IMAGE, "2.0", *FAST, env=self.env())
        bed.wait_until(lambda: self.records() and any(
            i["LifecycleState"] == "Pending:Wait" for i in self.describe("web-green")["Instances"]),
            timeout=30, what="the deploy waiting for green")
        return proc

    def test_a_run_interrupted_by_sigint_records_it(self):
        proc = self.waiting_deploy()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 5, err)
        (rec,) = self.history()
        self.assertEqual(rec["outcome"], "interrupted: waiting for the new set")
        self.assertEqual(rec["recorded_outcome"], rec["outcome"])
        self.assertIsNotNone(rec["ended"])
        self.assertIsNone(self.lock_item())

    def test_a_run_killed_outright_reads_as_interrupted_once_its_lock_is_gone(self):
        proc = self.waiting_deploy()
        # While it runs, its record reads as running.
        (rec,) = self.history()
        self.assertEqual(rec["outcome"], "running")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        (item,) = self.records()
        self.assertEqual(item["outcome"]["S"], "running")
        self.assertNotIn("ended", item)
        # The phases it reached are there.
        self.assertIn("launching green 2.0 (1 instances)",
                      [p["M"]["name"]["S"] for p in item["phases"]["L"]])
        # Its lock is still held (unexpired): still running as far as anyone can tell.
        self.assertEqual(self.history()[0]["outcome"], "running")
        self.ok("unlock", IMAGE, "--force")
        (rec,) = self.history()
        self.assertEqual(rec["outcome"], "interrupted: the run ended without recording how")
        self.assertEqual(rec["recorded_outcome"], "running")
        self.assertIsNone(rec["ended"])

    def put_records(self, n):
        for i in range(n):
            self.ddb.put_item(TableName=TABLE, Item={
                "pk": {"S": PK}, "sk": {"N": str(1_700_000_000_000_000 + i)},
                "command": {"S": "deploy"}, "outcome": {"S": "done"},
                "to_version": {"S": f"1.{i}"}, "started": {"N": str(1_700_000_000 + i)}})
        # Another service's records and the lock item are not part of it.
        self.ddb.put_item(TableName=TABLE, Item={"pk": {"S": "release#other"}, "sk": {"N": "1"}})
        self.ddb.put_item(TableName=TABLE, Item={"pk": {"S": "lock#" + IMAGE}, "sk": {"N": "0"}})

    def test_limit_and_pagination(self):
        self.pair("web", live=1)
        self.put_records(60)
        with FaultProxy(self.moto.url) as proxy:
            env = self.env(AWS_ENDPOINT_URL=proxy.url)
            doc = self.history(env=env)  # 20 by default: one page of 25
            self.assertEqual(proxy.calls().get("Query"), 1)
            self.assertEqual([r["to_version"] for r in doc], [f"1.{i}" for i in range(59, 39, -1)])
            proxy.clear()
            doc = self.history("--limit", "55", env=env)  # pages of 25: 25, 25, 5
            self.assertEqual(proxy.calls().get("Query"), 3)
            self.assertEqual([r["to_version"] for r in doc], [f"1.{i}" for i in range(59, 4, -1)])
            proxy.clear()
            doc = self.history("--limit", "1000", env=env)
            self.assertEqual(len(doc), 60)
            self.assertEqual(proxy.calls().get("Query"), 3)
        for bad in ("0", "-1", "x", "10001"):
            p = self.run_ctl("history", IMAGE, "--limit", bad)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertEqual(p.stderr, f"asgswap: error: --limit '{bad}': expected a whole number "
                                       "between 1 and 10000\n")

    def test_failing_to_write_the_history_is_a_warning(self):
        self.pair("web", live=1)
        with FaultProxy(self.moto.url) as proxy:
            # The first PutItem takes the lock; every later one (the history) is refused.
            proxy.add_rule(type="error", action="PutItem", skip=1, status=400, shape="json",
                           code="ValidationException", message="refused by the test")
            p = self.ok("deploy", IMAGE, "2.0", *FAST, env=self.env(AWS_ENDPOINT_URL=proxy.url))
        warnings = [line for line in p.stderr.splitlines() if "warning" in line]
        self.assertEqual(warnings, [
            "asgswap: warning: could not record the release of 'registry.example/web' in table "
            f"'{TABLE}' (ValidationException: refused by the test); the release goes on"],
            p.stderr)
        self.assertEqual(self.tags("web-green")["docker:image:version"], "2.0")
        self.assertEqual(self.states("web-blue"), ["Standby"])
        self.assertEqual(self.records(), [])
        self.assertIsNone(self.lock_item())

    def test_history_without_a_table_is_a_usage_error(self):
        p = self.run_ctl("history", IMAGE, env=self.env(ASGSWAP_LOCK_TABLE=None))
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr, "asgswap: error: 'history' needs a lock table: --lock-table "
                                   "NAME, ASGSWAP_LOCK_TABLE or lock_table in the profile's "
                                   "section of the config file\n")

    def test_where_the_table_name_comes_from(self):
        """--lock-table, then ASGSWAP_LOCK_TABLE, then lock_table in the profile's section;
        an empty ASGSWAP_LOCK_TABLE turns the config's off. The error names the table used."""
        with tempfile.NamedTemporaryFile("w", suffix=".config") as cfg:
            cfg.write("[default]\nlock_table = from-config\n[profile ci]\nlock_table = ci-table\n")
            cfg.flush()
            env = dict(ASGSWAP_LOCK_TABLE=None, AWS_CONFIG_FILE=cfg.name)

            def table_used(*args, **extra):
                p = self.run_ctl(*args, "history", IMAGE, env=self.env(**dict(env, **extra)))
                m = re.search(r"lock table '([^']*)' does not exist|needs a lock table", p.stderr)
                self.assertIsNotNone(m, p.stderr)
                return m.group(1)
            self.assertEqual(table_used(), "from-config")
            self.assertEqual(table_used(AWS_PROFILE="ci"), "ci-table")
            self.assertEqual(table_used(ASGSWAP_LOCK_TABLE="from-env"), "from-env")
            self.assertEqual(table_used("--lock-table", "from-option",
                                        ASGSWAP_LOCK_TABLE="from-env"), "from-option")
            self.assertIsNone(table_used(ASGSWAP_LOCK_TABLE=""))
        for bad, where in (("ab", "--lock-table"), ("a b c", "--lock-table"),
                           ("x" * 256, "--lock-table"), ("t\x1b[31m", "--lock-table")):
            p = self.run_ctl("--lock-table", bad, "status", IMAGE)
            self.assertEqual(p.returncode, 2, p.stderr)
            shown = bad.replace("\x1b", "\\x1b")
            self.assertEqual(p.stderr, f"asgswap: error: {where} '{shown}' is not a DynamoDB "
                                       "table name (3 to 255 of A-Z a-z 0-9 _ . -)\n")
        p = self.run_ctl("status", IMAGE, env=self.env(ASGSWAP_LOCK_TABLE="bad/name"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("ASGSWAP_LOCK_TABLE 'bad/name' is not a DynamoDB table name", p.stderr)


class InitTableTest(TableCase):
    def create_table(self):
        pass  # init-table makes it

    def test_creates_an_active_on_demand_table_with_ttl_and_is_idempotent(self):
        p = self.ok("init-table", "asgswap-new")
        self.assertIn("creating table 'asgswap-new'", p.stderr)
        ddbtable.check(self, self.ddb, "asgswap-new")
        with FaultProxy(self.moto.url) as proxy:
            p = self.ok("init-table", "asgswap-new", env=self.env(AWS_ENDPOINT_URL=proxy.url))
            calls = proxy.calls()
        self.assertIn("(it existed already)", p.stderr)
        # TTL already on: not asked again (AWS refuses enabling it twice).
        self.assertNotIn("UpdateTimeToLive", calls)
        self.assertEqual(calls.get("CreateTable"), 1)

    def test_waits_while_the_table_is_creating(self):
        body = json.dumps({"Table": {
            "TableName": "slow", "TableStatus": "CREATING",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                     {"AttributeName": "sk", "AttributeType": "N"}]}})
        with FaultProxy(self.moto.url) as proxy:
            proxy.add_rule(type="respond", action="DescribeTable", count=3, body=body,
                           content_type="application/x-amz-json-1.0")
            env = self.env(AWS_ENDPOINT_URL=proxy.url)
            self.ok("init-table", "slow", *FAST, env=env)
            self.assertEqual(proxy.calls().get("DescribeTable"), 4)
            proxy.add_rule(type="respond", action="DescribeTable", body=body,
                           content_type="application/x-amz-json-1.0")
            start = time.monotonic()
            p = self.run_ctl("init-table", "slow", *FAST, "--timeout", "1", env=env)
        self.assertEqual(p.returncode, 5, p.stderr)
        self.assertGreaterEqual(time.monotonic() - start, 1.0)
        self.assertIn("table 'slow' was not ACTIVE within 1 s (it is CREATING)", p.stderr)

    def test_a_table_with_another_schema_is_refused(self):
        self.ddb.create_table(
            TableName="other", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}])
        p = self.run_ctl("init-table", "other")
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertEqual(p.stderr, "asgswap: error: table 'other' exists with another key schema "
                                   "(partition LockID S, sort none ); asgswap needs partition key "
                                   "pk (S) and sort key sk (N): choose another name\n")
        ttl = self.ddb.describe_time_to_live(TableName="other")["TimeToLiveDescription"]
        self.assertEqual(ttl["TimeToLiveStatus"], "DISABLED")

    def test_a_table_expiring_by_another_attribute_is_refused(self):
        TableCase.create_table(self)
        self.ddb.update_time_to_live(TableName=TABLE, TimeToLiveSpecification={
            "Enabled": True, "AttributeName": "ttl"})
        p = self.run_ctl("init-table", TABLE)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("expires items by attribute 'ttl'", p.stderr)

    def test_a_bad_name_is_refused_before_any_call(self):
        for bad in ("ab", "no/slash", "x" * 256):
            p = self.run_ctl("init-table", bad, env=self.env(AWS_ENDPOINT_URL="http://127.0.0.1:9"))
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertEqual(p.stderr, f"asgswap: error: '{bad}' is not a DynamoDB table name "
                                       "(3 to 255 of A-Z a-z 0-9 _ . -)\n")

    def test_dry_run_creates_nothing(self):
        p = self.ok("--dry-run", "init-table", "dry-table")
        self.assertIn("CreateTable dry-table", p.stdout)
        self.assertEqual(self.ddb.list_tables()["TableNames"], [])


if __name__ == "__main__":
    import unittest
    unittest.main()

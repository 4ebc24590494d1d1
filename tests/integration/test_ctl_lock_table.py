"""The lock as an item of a DynamoDB table (moto's DynamoDB, through the fault proxy):
20 deploys of one service released at once by one signal (all running within about 0.1 s
on two cores), 10 rounds: exactly one makes Auto Scaling
calls that change anything, the other 19 exit 3 having made none (each run signs with its
own access key id, which the proxy logs, so one proxy tells the runs apart). A holder
SIGKILLed keeps the lock until its expiry, then the next run takes it over; a holder whose
lock is taken over (the taker's clock skewed with the proxy's Date rule) stops before its
next mutating step with exit 3 naming the taker. `status` and `unlock` work on the item.
AWS state is checked with boto3."""
import json
import os
import shlex
import signal
import subprocess
import time

import bed
import ddbtable
from faultproxy import FaultProxy, is_mutating
from test_ctl_support import IMAGE, CtlCase

TABLE = "asgswap-locks"
FAST = ("--poll", "0.05")
DDB_ACTIONS = {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "CreateTable",
               "DescribeTable", "DescribeTimeToLive", "UpdateTimeToLive"}
LOCK_KEY = {"pk": {"S": "lock#" + IMAGE}, "sk": {"N": "0"}}


# Blocks SIGUSR1, says it is ready ("r" on stderr), waits for the signal, says when it came
# (CLOCK_MONOTONIC, the rest of stderr's first line) and becomes the program.
GATE = ("import os, signal, sys, time\n"
        "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})\n"
        "os.write(2, b'r')\nsignal.sigwait({signal.SIGUSR1})\n"
        "os.write(2, b'%.6f\\n' % time.monotonic())\n"
        "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})\n"
        "os.execv(sys.argv[1], sys.argv[1:])\n")


def asg_mutations(entries):
    """The calls of a log that change something outside the lock table."""
    return [e for e in entries if is_mutating(e["action"]) and e["action"] not in DDB_ACTIONS]


class TableCase(CtlCase):
    def setUp(self):
        super().setUp()
        self.ddb = self.moto.client("dynamodb")
        self.create_table()

    def create_table(self):
        ddbtable.create(self.ddb, TABLE)

    def lock_item(self):
        return self.ddb.get_item(TableName=TABLE, Key=LOCK_KEY, ConsistentRead=True).get("Item")

    def env(self, **extra):
        return super().env(**dict({"ASGSWAP_LOCK_TABLE": TABLE}, **extra))

    def start(self, *args, env):
        wrap = shlex.split(os.environ.get("ASGSWAP_WRAP", ""))
        proc = subprocess.Popen(wrap + [bed.binary("asgswap"), *args], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        return proc


class TableRaceTest(TableCase):
    RUNS, ROUNDS = 20, 10

    def round(self, proxy, rnd):
        self.moto.reset()
        self.setUp()
        self.pair("web", live=1, mn=1, mx=2)
        proxy.clear()
        # The winner's last step is held for a while, so that it still holds the lock when
        # the last loser asks: a late loser would otherwise find the lock free again.
        proxy.latency(3000, action="EnterStandby")
        # Each run waits at a gate (SIGUSR1) and then execs asgswap, so that the time Python
        # takes to spawn 20 processes does not spread their starts; they share a process
        # group, and one killpg() opens the gate for all of them at once.
        procs = []
        wrap = shlex.split(os.environ.get("ASGSWAP_WRAP", ""))
        for i in range(self.RUNS):
            env = self.env(AWS_ENDPOINT_URL=proxy.url, AWS_ACCESS_KEY_ID=f"AKIDRACE{i:02d}",
                           ASGSWAP_LOCK_SETTLE=None)
            argv = wrap + [bed.binary("asgswap"), "deploy", IMAGE, f"2.{i}", *FAST]
            procs.append(subprocess.Popen([bed.PYTHON, "-c", GATE, *argv], env=env,
                                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True,
                                          process_group=procs[0].pid if procs else 0))
            self.addCleanup(lambda p=procs[-1]: p.poll() is None and p.kill())
        for p in procs:
            self.assertEqual(p.stderr.read(1), "r")
        opened = time.monotonic()
        os.killpg(procs[0].pid, signal.SIGUSR1)
        results, woke = [], []
        for p in procs:
            code = p.wait(timeout=180)
            t, _, err = p.stderr.read().partition("\n")
            woke.append(float(t))
            results.append((code, p.stdout.read(), err))
        log = proxy.log()
        # From the gate's opening to the last run's wake-up, and first to last wake-up.
        spread = (max(woke) - opened, max(woke) - min(woke))
        return spread, results, log

    def test_twenty_deploys_at_once_one_wins_every_round(self):
        spreads, puts_spread, asked_counts = [], [], []
        with FaultProxy(self.moto.url) as proxy:
            for rnd in range(self.ROUNDS):
                spread, results, log = self.round(proxy, rnd)
                spreads.append(spread)
                where = f"round {rnd}"
                # One signal starts them all; on two busy cores the last one gets to run a
                # little later (about 0.1 s under make check), with a margin here.
                self.assertLess(spread[0], 1.0, f"{where}: the runs started {spread} s apart")
                codes = [r[0] for r in results]
                self.assertEqual(sorted(codes), [0] + [3] * (self.RUNS - 1),
                                 f"{where}: {[(c, e[-300:]) for c, _, e in results]}")
                winner = codes.index(0)
                by_key = {}
                for e in asg_mutations(log):
                    by_key.setdefault(e["key_id"], []).append(e["action"])
                # Every call was signed by one of the runs, and only the winner changed
                # anything in Auto Scaling.
                self.assertEqual(set(by_key), {f"AKIDRACE{winner:02d}"}, where)
                self.assertIn("EnterStandby", by_key[f"AKIDRACE{winner:02d}"], where)
                # A run that starts late may already see the winner's release record and
                # refuse before asking for the lock; most ask.
                puts = {e["key_id"] for e in log if e["action"] == "PutItem"}
                asked_counts.append(len(puts) - 1)
                # Every loser asked while the winner held it (between its PutItem and its
                # DeleteItem): the race was a race.
                me = f"AKIDRACE{winner:02d}"
                held = [e["start"] for e in log if e["key_id"] == me and
                        e["action"] in ("PutItem", "DeleteItem")]
                asked = [e["start"] for e in log if e["key_id"] != me and e["action"] == "PutItem"]
                if asked:
                    self.assertLess(max(asked), held[-1], where)
                    puts_spread.append(max(asked + held[:1]) - min(asked + held[:1]))
                for i, (code, _, err) in enumerate(results):
                    if code == 3:
                        self.assertRegex(err, r"is locked by \S+@\S+ \d+ deploy until "
                                              r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC|"
                                              r"the release of version '2\.\d+' to green is "
                                              r"in flight", where)
                        self.assertNotIn("ASGSWAP", err)
                self.assertEqual(self.tags("web-green")["docker:image:version"], f"2.{winner}",
                                 where)
                self.assertEqual(self.states("web-blue"), ["Standby"], where)
                self.assertNotIn("asgswap:lock", self.tags("web-blue"), where)
                self.assertIsNone(self.lock_item(), f"{where}: the winner released the lock")
        print(f"\n    20 runs released by one signal, all running within "
              f"{max(s[0] for s in spreads) * 1000:.0f} ms of it "
              f"({max(s[1] for s in spreads) * 1000:.0f} ms first to last), their PutItems within "
              f"{max(puts_spread or [0]) * 1000:.0f} ms (worst of {self.ROUNDS} rounds); losers "
              f"refused by the lock: {sum(asked_counts)}/{(self.RUNS - 1) * self.ROUNDS}, the "
              "others by the release record already written", end=" ")


class TableTakeoverTest(TableCase):
    def holder(self, ttl, proxy):
        """A deploy of 2.0 waiting for green, whose launch hook nobody completes."""
        self.pair("web", live=1, mn=1, mx=2, hook=True)
        env = self.env(AWS_ENDPOINT_URL=proxy.url, ASGSWAP_LOCK_TTL=str(ttl))
        proc = self.start("deploy", IMAGE, "2.0", *FAST, env=env)
        bed.wait_until(lambda: self.lock_item() and any(
            i["LifecycleState"] == "Pending:Wait" for i in self.describe("web-green")["Instances"]),
            timeout=30, what="the holder waiting for green with the lock")
        return proc

    def test_a_killed_holder_keeps_the_lock_until_it_expires_then_it_is_taken_over(self):
        with FaultProxy(self.moto.url) as proxy:
            a = self.holder(5, proxy)
            a.send_signal(signal.SIGKILL)
            a.wait(timeout=10)
            left = self.lock_item()
            self.assertIn("deploy", left["holder"]["S"])
            proxy.clear()
            p = self.run_ctl("deploy", IMAGE, "2.0", *FAST, env=self.env(AWS_ENDPOINT_URL=proxy.url))
            if int(left["expires"]["N"]) > time.time() + 1:
                self.assertEqual(p.returncode, 3, p.stderr)
                self.assertRegex(p.stderr, r"is locked by .* deploy until .*\(AWS's clock, in \d+ s\)")
                self.assertEqual(asg_mutations(proxy.log()), [])
            # Its expiry passes (AWS time, to the second): the next run takes it over.
            bed.wait_until(lambda: time.time() > int(left["expires"]["N"]) + 1, timeout=30,
                           interval=0.1, what="the killed holder's lock expiring")
            self.complete_hooks("web-green")
            p = self.ok("deploy", IMAGE, "2.0", *FAST)
        self.assertEqual(self.tags("web-green")["docker:image:version"], "2.0")
        self.assertEqual(self.states("web-blue"), ["Standby"])
        self.assertIsNone(self.lock_item())

    def test_a_holder_whose_lock_is_taken_over_stops_before_its_next_mutating_step(self):
        with FaultProxy(self.moto.url) as pa, FaultProxy(self.moto.url) as pb:
            a = self.holder(300, pa)
            # B's AWS clock is an hour ahead: A's lock reads expired to it.
            pb.add_rule(type="header", date_offset_s=3600)
            b = self.start("deploy", IMAGE, "2.0", *FAST, env=self.env(AWS_ENDPOINT_URL=pb.url))
            bed.wait_until(lambda: a.poll() is not None, timeout=60, what="A stopping")
            _, a_err = a.communicate()
            self.assertEqual(a.returncode, 3, a_err)
            self.assertRegex(a_err, r"the lock on 'registry.example/web' was taken over by "
                                    r"\S+@\S+ \d+ deploy until .*; stopping")
            took = [e["start"] for e in pb.log() if e["action"] == "PutItem"]
            self.assertTrue(took, "B took the lock with a PutItem")
            a_after = [e for e in asg_mutations(pa.log()) if e["start"] > took[0]]
            self.assertEqual(a_after, [], "A changed something after B took its lock")
            # B goes on with the release in flight once green's hook completes.
            self.complete_hooks("web-green")
            _, b_err = b.communicate(timeout=60)
            self.assertEqual(b.returncode, 0, b_err)
        self.assertEqual(self.tags("web-green")["docker:image:version"], "2.0")
        self.assertEqual(self.states("web-blue"), ["Standby"])
        self.assertIsNone(self.lock_item())


class TableLockCommandsTest(TableCase):
    def put_lock(self, expires, holder="alice@build-7 4242 deploy", nonce="0123456789abcdef"):
        self.ddb.put_item(TableName=TABLE, Item=dict(
            LOCK_KEY, nonce={"S": nonce}, holder={"S": holder}, expires={"N": str(expires)}))

    def test_status_shows_the_table_lock(self):
        self.pair("web", live=1)
        expiry = int(time.time()) + 250
        self.put_lock(expiry)
        doc = self.status()
        self.assertEqual(doc["lock"]["holder"], "alice@build-7 4242 deploy")
        self.assertEqual(doc["lock"]["expires"],
                         time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expiry)))
        self.assertFalse(doc["lock"]["expired"])
        p = self.ok("status", IMAGE)
        self.assertIn("lock: held by alice@build-7 4242 deploy until", p.stdout)
        # Without the table, the tag lock is what status reads: there is none.
        p = self.ok("--output", "json", "status", IMAGE, env=self.env(ASGSWAP_LOCK_TABLE=None))
        self.assertIn('"lock":\tnull', p.stdout)

    def test_a_deploy_refuses_a_held_table_lock_and_sends_nothing(self):
        self.pair("web", live=1)
        expiry = int(time.time()) + 250
        self.put_lock(expiry)
        with FaultProxy(self.moto.url) as proxy:
            p = self.run_ctl("deploy", IMAGE, "2.0", *FAST, env=self.env(AWS_ENDPOINT_URL=proxy.url))
            log = proxy.log()
        self.assertEqual(p.returncode, 3, p.stderr)
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(expiry))
        self.assertIn(f"is locked by alice@build-7 4242 deploy until {when}", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertEqual(asg_mutations(log), [])
        self.assertEqual(self.lock_item()["nonce"], {"S": "0123456789abcdef"})

    def test_unlock_dry_run_and_status_of_every_service(self):
        self.pair("web", live=1)
        self.group("api-blue", mn=1, desired=1, version="1.0", image="registry.example/api",
                   tgs=[self.target_group("api-tg")])
        self.group("api-green", image="registry.example/api")
        self.put_lock(int(time.time()) - 10, holder="carol@laptop 9 finalize")
        p = self.ok("--dry-run", "unlock", IMAGE)
        self.assertIn(f"DeleteItem {TABLE}: the lock item of '{IMAGE}'", p.stdout)
        self.assertIsNotNone(self.lock_item())
        # Every service's row reads its own item: web's lock, none for api.
        p = self.ok("--output", "json", "status")
        locks = {sv["image"]: sv["lock"] for sv in json.loads(p.stdout)["services"]}
        self.assertEqual(locks["registry.example/api"], None)
        self.assertEqual(locks[IMAGE]["holder"], "carol@laptop 9 finalize")
        self.assertTrue(locks[IMAGE]["expired"])

    def test_a_hostile_item_prints_as_one_line(self):
        self.pair("web", live=1)
        self.put_lock(int(time.time()) + 100, holder="evil\n\x1b[31mred")
        # A holder that is no text for a terminal, and an expiry that is no whole number
        # of seconds: shown escaped, read as expired (DynamoDB's condition agrees: 1.5 is
        # long past), taken over.
        self.ddb.update_item(TableName=TABLE, Key=LOCK_KEY, UpdateExpression="SET expires = :e",
                             ExpressionAttributeValues={":e": {"N": "1.5"}})
        p = self.ok("status", IMAGE)
        self.assertIn("lock: taken by evil\\x0a\\x1b[31mred, expired at 1970-01-01 00:00:00 UTC",
                      p.stdout)
        self.ok("deploy", IMAGE, "2.0", *FAST)
        self.put_lock(int(time.time()) + 100, holder="evil\n\x1b[31mred")
        p = self.run_ctl("rollback", IMAGE, *FAST)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertIn("is locked by evil\\x0a\\x1b[31mred until", p.stderr)

    def test_unlock_removes_the_item_and_refuses_an_unexpired_one_without_force(self):
        self.pair("web", live=1)
        self.put_lock(int(time.time()) + 200, holder="bob@ci-3 77 rollback")
        p = self.run_ctl("unlock", IMAGE)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("is locked by bob@ci-3 77 rollback until", p.stderr)
        self.assertIsNotNone(self.lock_item())
        p = self.ok("unlock", IMAGE, "--force")
        self.assertRegex(p.stderr, r"removed the lock of bob@ci-3 77 rollback, written 1 min \d+ s "
                                   r"ago \(unexpired, 3 min \d+ s left\)")
        self.assertIsNone(self.lock_item())
        p = self.ok("unlock", IMAGE)
        self.assertIn("is not locked", p.stderr)

    def test_a_release_with_a_table_takes_no_tag_lock_and_no_settle_time(self):
        self.pair("web", live=1)
        with FaultProxy(self.moto.url) as proxy:
            # A settle time of 30 s would show if the table path waited it out.
            start = time.monotonic()
            self.ok("deploy", IMAGE, "2.0", *FAST,
                    env=self.env(AWS_ENDPOINT_URL=proxy.url, ASGSWAP_LOCK_SETTLE="30"))
            took = time.monotonic() - start
            log = proxy.log()
        self.assertLess(took, 25)
        self.assertNotIn("asgswap:lock", [k for e in log for k in e["tag_keys"]])
        actions = [e["action"] for e in log]
        self.assertEqual(actions.count("PutItem") >= 1, True)
        self.assertIn("UpdateItem", actions)  # renewed at the checks
        self.assertEqual(actions.count("DeleteItem"), 1)
        self.assertIsNone(self.lock_item())

    def test_dry_run_neither_locks_nor_records(self):
        self.pair("web", live=1)
        with FaultProxy(self.moto.url) as proxy:
            p = self.ok("--dry-run", "deploy", IMAGE, "2.0",
                        env=self.env(AWS_ENDPOINT_URL=proxy.url))
            actions = {e["action"] for e in proxy.log()}
        self.assertIn("launching green 2.0", p.stdout)
        self.assertEqual(actions & (DDB_ACTIONS | {"GetCallerIdentity"}), set())
        self.assertEqual(self.ddb.scan(TableName=TABLE)["Items"], [])

    def test_a_missing_table_is_one_clear_error(self):
        self.pair("web", live=1)
        p = self.run_ctl("deploy", IMAGE, "2.0", *FAST, env=self.env(ASGSWAP_LOCK_TABLE="nosuch"))
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual(p.stderr, "asgswap: error: lock table 'nosuch' does not exist "
                                   "('asgswap init-table nosuch' creates it)\n")
        self.assertEqual(self.tags("web-green").get("docker:image:version"), None)

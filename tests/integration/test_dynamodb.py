"""common/dynamodb.c end to end through tests/tools/ddbcall against moto's DynamoDB
(AWS_ENDPOINT_URL_DYNAMODB), with boto3 reading the table and items independently:
conditional writes and their distinct failure, the expired-lock condition, a paginated
Query newest first, and CreateTable + ACTIVE + TTL."""
import json
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import bed
import ddbtable
from faultproxy import FaultProxy
from motobed import Moto

TABLE = "asgswap-locks"
TAKE = "attribute_not_exists(pk) OR expires < :now"


class DynamoDBTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = Moto()
        cls.addClassCleanup(cls.moto.stop)
        cls.ddb = cls.moto.client("dynamodb")
        cls.proxy = FaultProxy(cls.moto.url)
        cls.addClassCleanup(cls.proxy.stop)

    def setUp(self):
        self.moto.reset()
        self.proxy.clear()
        ddbtable.create(self.ddb, TABLE)

    def ddbcall(self, *args, url=None):
        return bed.run("ddbcall", *args,
                       env=bed.base_env(AWS_ENDPOINT_URL_DYNAMODB=url or self.moto.url))

    def item(self, pk, sk):
        return self.ddb.get_item(TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"N": str(sk)}},
                                 ConsistentRead=True).get("Item")

    def put_lock(self, expires, holder, now=None, cond="attribute_not_exists(pk)"):
        args = ["--cond", cond]
        if now is not None:
            args += ["--value", f":now=N:{now}"]
        return self.ddbcall("put", *args, TABLE, "pk=S:lock#web", "sk=N:0",
                            f"expires=N:{expires}", f"holder=S:{holder}")

    def test_conditional_put_succeeds_then_fails_with_its_own_code(self):
        p = self.put_lock(1000, "a")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.item("lock#web", 0)["holder"], {"S": "a"})
        p = self.put_lock(2000, "b")
        self.assertEqual(p.returncode, 3, p.stderr)  # -EEXIST, not a generic AWS failure
        self.assertRegex(p.stderr, r"^ddbcall: error: put: ConditionalCheckFailedException: "
                                   r".+ \(HTTP 400, 1 attempts, File exists\)\n$")
        self.assertEqual(self.item("lock#web", 0)["holder"], {"S": "a"})

    def test_expired_lock_is_taken_over_and_an_unexpired_one_is_not(self):
        self.assertEqual(self.put_lock(1000, "a").returncode, 0)
        p = self.put_lock(3000, "b", now=999, cond=TAKE)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertEqual(self.item("lock#web", 0)["holder"], {"S": "a"})
        p = self.put_lock(3000, "b", now=1001, cond=TAKE)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.item("lock#web", 0)["holder"], {"S": "b"})
        self.assertEqual(self.item("lock#web", 0)["expires"], {"N": "3000"})
        # no item at all: attribute_not_exists holds
        self.ddb.delete_item(TableName=TABLE, Key={"pk": {"S": "lock#web"}, "sk": {"N": "0"}})
        self.assertEqual(self.put_lock(3000, "c", now=0, cond=TAKE).returncode, 0)

    def test_conditional_update_renews_only_its_own_lock(self):
        self.assertEqual(self.put_lock(1000, "a").returncode, 0)
        renew = ["--update", "SET expires = :e", "--cond", "holder = :me",
                 "--value", ":e=N:5000"]
        p = self.ddbcall("update", *renew, "--value", ":me=S:b", TABLE, "pk=S:lock#web",
                         "sk=N:0")
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertEqual(self.item("lock#web", 0)["expires"], {"N": "1000"})
        p = self.ddbcall("update", *renew, "--value", ":me=S:a", TABLE, "pk=S:lock#web",
                         "sk=N:0")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.item("lock#web", 0)["expires"], {"N": "5000"})

    def test_conditional_delete_releases_only_its_own_lock(self):
        self.assertEqual(self.put_lock(1000, "a").returncode, 0)
        release = ["--cond", "#h = :me", "--name", "#h=holder"]
        p = self.ddbcall("delete", *release, "--value", ":me=S:b", TABLE, "pk=S:lock#web",
                         "sk=N:0")
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIsNotNone(self.item("lock#web", 0))
        p = self.ddbcall("delete", *release, "--value", ":me=S:a", TABLE, "pk=S:lock#web",
                         "sk=N:0")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIsNone(self.item("lock#web", 0))

    def test_get_item_reads_back_what_boto3_wrote_and_says_when_absent(self):
        self.ddb.put_item(TableName=TABLE, Item={
            "pk": {"S": "web"}, "sk": {"N": "7"}, "to": {"S": "2.0"},
            "phases": {"L": [{"M": {"name": {"S": "pin"}, "at": {"N": "1700000000"}}}]}})
        p = self.ddbcall("get", TABLE, "pk=S:web", "sk=N:7")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["phases"],
                         {"L": [{"M": {"name": {"S": "pin"}, "at": {"N": "1700000000"}}}]})
        p = self.ddbcall("get", TABLE, "pk=S:web", "sk=N:8")
        self.assertEqual(p.returncode, 5, p.stderr)

    def test_an_item_with_other_attribute_types_is_refused_with_one_line(self):
        self.ddb.put_item(TableName=TABLE, Item={"pk": {"S": "web"}, "sk": {"N": "1"},
                                                 "flag": {"BOOL": True}})
        p = self.ddbcall("get", TABLE, "pk=S:web", "sk=N:1")
        self.assertEqual(p.returncode, 4)
        self.assertEqual(p.stderr, "ddbcall: error: get: attribute 'flag' is of a type other "
                                   "than S, N, L or M\n")

    def test_put_writes_lists_of_maps_as_boto3_reads_them(self):
        phases = '{"L":[{"M":{"name":{"S":"pin"},"at":{"N":"1"}}},{"M":{"name":{"S":"switch"}}}]}'
        p = self.ddbcall("put", TABLE, "pk=S:web", "sk=N:1", f"phases=J:{phases}")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.item("web", 1)["phases"], json.loads(phases))

    def test_query_pages_newest_first(self):
        for sk in (3, 1, 5, 2, 4):
            self.ddb.put_item(TableName=TABLE, Item={"pk": {"S": "web"}, "sk": {"N": str(sk)}})
        self.ddb.put_item(TableName=TABLE, Item={"pk": {"S": "other"}, "sk": {"N": "9"}})
        query = ["--cond", "pk = :pk", "--value", ":pk=S:web"]
        p = self.ddbcall("query", *query, "--page-size", "2", TABLE)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual([json.loads(line)["sk"]["N"] for line in lines[:-1]],
                         ["5", "4", "3", "2", "1"])
        self.assertEqual(lines[-1], "pages=3")
        # a limit across pages stops there, oldest first when asked
        p = self.ddbcall("query", *query, "--page-size", "2", "--limit", "3", "--forward",
                         TABLE)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual([json.loads(line)["sk"]["N"] for line in lines[:-1]],
                         ["1", "2", "3"])
        self.assertEqual(lines[-1], "pages=2")

    def test_query_of_a_missing_table_is_enoent(self):
        p = self.ddbcall("query", "--cond", "pk = :pk", "--value", ":pk=S:web", "nosuchtable")
        self.assertEqual(p.returncode, 5, p.stderr)
        self.assertIn("ResourceNotFoundException", p.stderr)

    def test_create_table_waits_active_and_enables_ttl(self):
        p = self.ddbcall("create", "asgswap-history", "pk", "sk")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.ddbcall("wait-active", "asgswap-history", "30")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.ddbcall("describe", "asgswap-history")
        self.assertEqual((p.returncode, p.stdout), (0, "ACTIVE\n"), p.stderr)
        p = self.ddbcall("ttl", "asgswap-history", "expires")
        self.assertEqual(p.returncode, 0, p.stderr)
        ddbtable.check(self, self.ddb, "asgswap-history")
        # a second create: the table exists, its own code
        p = self.ddbcall("create", "asgswap-history", "pk", "sk")
        self.assertEqual(p.returncode, 6, p.stderr)
        self.assertIn("ResourceInUseException", p.stderr)

    def test_bad_table_name_is_refused_before_any_call(self):
        p = self.ddbcall("describe", "a b")
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr, "ddbcall: error: describe: 'a b' is not a DynamoDB table "
                                   "name\n")


    def test_throttling_is_retried_and_the_write_lands_once(self):
        self.proxy.add_rule(type="error", action="PutItem", count=2, shape="json",
                            code="ProvisionedThroughputExceededException",
                            message="The level of configured provisioned throughput for the "
                                    "table was exceeded")
        p = self.ddbcall(
            "put", "--cond", "attribute_not_exists(pk)", TABLE, "pk=S:lock#web", "sk=N:0",
            "holder=S:a", url=self.proxy.url)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.proxy.calls().get("PutItem"), 3)
        self.assertEqual(self.item("lock#web", 0)["holder"], {"S": "a"})

    def test_a_retry_after_a_lost_answer_reads_as_a_false_condition(self):
        # The first attempt lands but its answer is lost; the retry then finds the item it
        # wrote itself. A caller that takes a lock must read the item (GetItem) to tell.
        self.proxy.add_rule(type="drop", action="PutItem", count=1, forward=True)
        p = self.ddbcall("put", "--cond", "attribute_not_exists(pk)", TABLE, "pk=S:lock#web",
                         "sk=N:0", "holder=S:a", url=self.proxy.url)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertEqual(self.proxy.calls().get("PutItem"), 2)
        self.assertEqual(self.item("lock#web", 0)["holder"], {"S": "a"})
        p = self.ddbcall("get", TABLE, "pk=S:lock#web", "sk=N:0", url=self.proxy.url)
        self.assertEqual(json.loads(p.stdout)["holder"], {"S": "a"})

    def test_a_condition_failure_is_not_retried(self):
        self.assertEqual(self.put_lock(1000, "a").returncode, 0)
        p = self.ddbcall("put", "--cond", "attribute_not_exists(pk)", TABLE, "pk=S:lock#web",
                         "sk=N:0", "holder=S:b", url=self.proxy.url)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertEqual(self.proxy.calls().get("PutItem"), 1)

    def test_hostile_answers_are_refused_with_one_line(self):
        cases = [
            ('{"Item": {"n": {"N": "12abc"}}}', "attribute 'n' has no valid N value"),
            ('{"Item": {"s": {"S": 5}}}', "attribute 's' has no valid S value"),
            ('{"Item": {"s": {"S": "a", "N": "1"}}}', "attribute 's' is not one typed"),
            ('{"Item": {"l": {"L": [' + ",".join(['{"S": "x"}'] * 1001) + ']}}}',
             "attribute 'l' is not a list within the limits"),
            ('{"Item": {"m": {"M": {"m": {"M": {"m": {"M": {"m": {"M": {"m": {"M": {}}}}}}}}}}}}}',
             "attribute 'm' nests deeper than 4"),
            ('{"Item": []}', "an item that is not a JSON object"),
            ("[1]", "the answer is not a JSON object"),
        ]
        for body, want in cases:
            with self.subTest(body=body[:60]):
                self.proxy.clear()
                self.proxy.add_rule(type="respond", action="GetItem", body=body,
                                    content_type="application/x-amz-json-1.0")
                p = self.ddbcall("get", TABLE, "pk=S:web", "sk=N:1", url=self.proxy.url)
                self.assertEqual(p.returncode, 4, p.stderr)
                self.assertEqual(p.stderr.count("\n"), 1, p.stderr)
                self.assertIn(want, p.stderr)

    def test_query_stops_at_a_page_ceiling_of_a_peer_that_never_ends(self):
        body = json.dumps({"Items": [], "LastEvaluatedKey": {"pk": {"S": "web"},
                                                             "sk": {"N": "1"}}})
        self.proxy.add_rule(type="respond", action="Query", body=body,
                            content_type="application/x-amz-json-1.0")
        p = self.ddbcall("query", "--cond", "pk = :pk", "--value", ":pk=S:web", TABLE,
                         url=self.proxy.url)
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertIn("Query: more than 1000 pages", p.stderr)
        self.assertEqual(self.proxy.calls().get("Query"), 1000)


class WireTest(unittest.TestCase):
    """What goes on the wire, seen by a loopback server of the test's own."""

    def test_json_1_0_with_the_target_and_the_dynamodb_signature(self):
        seen = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                seen.append((self.path, dict(self.headers), json.loads(body)))
                bed.send_body(self, 200, b"{}", "application/x-amz-json-1.0")

            def log_message(self, *args):
                pass

        srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        p = bed.run("ddbcall", "put", "--cond", "attribute_not_exists(pk)", TABLE, "pk=S:web",
                    env=bed.base_env(AWS_ENDPOINT_URL_DYNAMODB=f"http://127.0.0.1:{srv.server_port}"))
        self.assertEqual(p.returncode, 0, p.stderr)
        (path, headers, body), = seen
        self.assertEqual(path, "/")
        self.assertEqual(headers["Content-Type"], "application/x-amz-json-1.0")
        self.assertEqual(headers["X-Amz-Target"], "DynamoDB_20120810.PutItem")
        self.assertRegex(headers["Authorization"],
                         r"^AWS4-HMAC-SHA256 Credential=AKIDTESTBED/\d{8}/us-east-1/dynamodb/"
                         r"aws4_request, SignedHeaders=[^ ]*x-amz-target")
        self.assertEqual(body, {"TableName": TABLE, "Item": {"pk": {"S": "web"}},
                                "ConditionExpression": "attribute_not_exists(pk)"})


if __name__ == "__main__":
    unittest.main()

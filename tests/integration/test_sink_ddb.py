"""LR_SINK=dynamodb end to end: the bundled bootstrap under the emulator replicates a moto table's
stream into another moto table (real SigV4 calls through libcurl, moto checking the signatures).

Replication of every attribute type over more than one request, one write per key per request,
failures mapped to the records they came from (a missing table, an item the service refuses,
UnprocessedItems on every call and throttling on every attempt through the fault proxy), a
stream view without NewImage failing the invoke with the view it needs, a target ARN in another
region, and the start-up checks of the settings."""

import base64
import json
import os
import re
import unittest
from decimal import Decimal

import awstest
import faultproxy

SRC, DST = "src", "dst"
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/src/stream/2026-01-01T00:00:00.000"


def items(*seqs):
    return {"batchItemFailures": [{"itemIdentifier": s} for s in seqs]}


def record(i, name, keys, new=None, view="NEW_AND_OLD_IMAGES"):
    """A hand-made stream record with SequenceNumber 100+i."""
    ddb = {"Keys": keys, "SequenceNumber": str(100 + i), "SizeBytes": 10, "StreamViewType": view}
    if new is not None:
        ddb["NewImage"] = new
    return {"eventID": "e%d" % i, "eventName": name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1", "dynamodb": ddb, "eventSourceARN": STREAM_ARN}


def create_table(client, name, stream=None):
    kw = {}
    if stream:
        kw["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream}
    client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                   {"AttributeName": "sk", "KeyType": "RANGE"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                              {"AttributeName": "sk", "AttributeType": "N"}], **kw)


def scan(client, name):
    out, kw = [], {}
    while True:
        page = client.scan(TableName=name, **kw)
        out += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return sorted(out, key=lambda it: (it["pk"]["S"], Decimal(it["sk"]["N"])))


def emf_lines(logs, metric):
    return [json.loads(line[line.index("{"):]) for line in logs.splitlines()
            if '"_aws"' in line and '"%s"' % metric in line]


@unittest.skipIf(awstest.moto_missing(), awstest.moto_missing())
class SinkDynamoDBTest(awstest.BatchRunner, unittest.TestCase):

    def setUp(self):
        # IAM authentication on after three actions: every later request, the bootstrap's included,
        # must carry a valid SigV4 signature of the user's key.
        self.moto = awstest.Moto(INITIAL_NO_AUTH_ACTION_COUNT="3")
        self.addCleanup(self.moto.close)
        self.key = self.moto.iam_user("replicator")
        self.ddb = self.moto.client("dynamodb", *self.key)

    def env(self, **extra):
        env = awstest.base_env(LR_SINK="dynamodb", LR_SINK_TARGET=DST, LR_LOG_RECORDS="none",
                               AWS_ENDPOINT_URL_DYNAMODB=self.moto.endpoint,
                               AWS_ACCESS_KEY_ID=self.key[0], AWS_SECRET_ACCESS_KEY=self.key[1])
        env.update(extra)
        # base_env dropped the caller's other AWS_ variables; the emulator must not bring them back.
        env.update({k: None for k in os.environ if k.startswith("AWS_") and k not in env})
        return env

    # -- the stream of a real (moto) table -------------------------------------------------------

    def stream_records(self, table):
        arn = self.ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        replay = awstest.load_replay()
        streams = self.moto.client("dynamodbstreams", *self.key)
        return [replay.lambda_record(r, arn) for r in awstest.stream_records(streams, arn)]

    def test_replicates_every_change_of_a_table(self):
        create_table(self.ddb, SRC, "NEW_AND_OLD_IMAGES")
        create_table(self.ddb, DST)
        every_type = {"s": {"S": "caf\u00e9 \"q\" \\ \u2028"}, "n": {"N": "12345678901234567890.123456789"},
                      "b": {"B": base64.b64decode("AAEC/w==")}, "ss": {"SS": ["a", "b"]},
                      "ns": {"NS": ["1", "-0.5"]}, "bs": {"BS": [b"\x00", b"\xff"]},
                      "m": {"M": {"deep": {"L": [{"NULL": True}, {"BOOL": False}, {"M": {}}]}}},
                      "l": {"L": [{"S": ""}, {"N": "0"}]}, "null": {"NULL": True}, "bool": {"BOOL": True}}
        for i in range(60):  # 60 keys: more than two requests of 25
            item = {"pk": {"S": "k%d" % (i % 30)}, "sk": {"N": str(i // 30)}, "v": {"N": str(i)}}
            if i % 7 == 0:
                item.update(every_type)
            self.ddb.put_item(TableName=SRC, Item=item)
        for i in range(0, 60, 3):  # updates: a key changed again later in the stream
            self.ddb.update_item(TableName=SRC, Key={"pk": {"S": "k%d" % (i % 30)}, "sk": {"N": str(i // 30)}},
                                 UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"N": "-1"}})
        for i in range(0, 60, 5):
            self.ddb.delete_item(TableName=SRC, Key={"pk": {"S": "k%d" % (i % 30)}, "sk": {"N": str(i // 30)}})
        records = self.stream_records(SRC)
        self.assertEqual(len(records), 60 + 20 + 12)
        batches = [records[i:i + 50] for i in range(0, len(records), 50)]
        bodies, _, logs = self.run_batches(batches, self.env())
        self.assertEqual(bodies, [items()] * len(batches), logs)
        self.assertEqual(scan(self.ddb, DST), scan(self.ddb, SRC))
        self.assertEqual(len(scan(self.ddb, DST)), 48)
        metrics = emf_lines(logs, "SinkWritesSent")
        self.assertEqual(len(metrics), len(batches), logs)
        self.assertEqual([m["SinkRecordsFailed"] for m in metrics], [0, 0])
        self.assertEqual(metrics[0]["Sink"], "dynamodb")

    def test_one_write_per_key_and_request_keeps_the_latest(self):
        create_table(self.ddb, DST)
        key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
        batch = [record(0, "INSERT", key, dict(key, v={"N": "1"})),
                 record(1, "MODIFY", {"sk": {"N": "1"}, "pk": {"S": "a"}}, dict(key, v={"N": "2"})),
                 record(2, "INSERT", {"pk": {"S": "b"}, "sk": {"N": "1"}}, {"pk": {"S": "b"}, "sk": {"N": "1"}}),
                 record(3, "MODIFY", key, dict(key, v={"N": "3"})),
                 record(4, "REMOVE", {"pk": {"S": "b"}, "sk": {"N": "1"}})]
        bodies, _, logs = self.run_batches([batch], self.env())
        self.assertEqual(bodies, [items()], logs)
        self.assertEqual(scan(self.ddb, DST), [dict(key, v={"N": "3"})])
        m = emf_lines(logs, "SinkWritesSent")[0]
        # Keys listed in either order are one key: two writes (a's latest put, b's delete), one call.
        self.assertEqual((m["SinkRequests"], m["SinkWritesSent"]), (1, 2), logs)

    def test_failures_map_to_their_records(self):
        # No target table: every record's write fails; ordered reports the first, continue all.
        batch = [record(i, "INSERT", {"pk": {"S": "k%d" % i}, "sk": {"N": "0"}},
                        {"pk": {"S": "k%d" % i}, "sk": {"N": "0"}}) for i in range(3)]
        bodies, _, logs = self.run_batches([batch], self.env())
        self.assertEqual(bodies, [items("100")], logs)
        self.assertIn("ResourceNotFoundException", logs)
        bodies, _, logs = self.run_batches([batch], self.env(LR_BATCH_MODE="continue"))
        self.assertEqual(bodies, [items("100", "101", "102")], logs)

    def test_an_item_the_service_refuses_fails_its_record_only(self):
        create_table(self.ddb, DST)
        big = "x" * (410 * 1024)  # over DynamoDB's 400 KB item limit
        batch = [record(i, "INSERT", {"pk": {"S": "k%d" % i}, "sk": {"N": "0"}},
                        {"pk": {"S": "k%d" % i}, "sk": {"N": "0"}, "v": {"S": big if i == 1 else "ok"}})
                 for i in range(3)]
        bodies, _, logs = self.run_batches([batch], self.env(LR_BATCH_MODE="continue"))
        self.assertEqual(bodies, [items("101")], logs)
        self.assertRegex(logs, r"record failed: .*ValidationException.*[Ii]tem size")
        self.assertEqual([it["pk"]["S"] for it in scan(self.ddb, DST)], ["k0", "k2"])

    def test_an_item_too_large_to_send_fails_alone(self):
        create_table(self.ddb, DST)
        huge = "y" * (4 * 1024 * 1024 + 10)  # past the sink's 4 MiB of JSON per write
        b = {"pk": {"S": "b"}, "sk": {"N": "0"}}
        batch = [record(0, "INSERT", {"pk": {"S": "a"}, "sk": {"N": "0"}},
                        {"pk": {"S": "a"}, "sk": {"N": "0"}, "v": {"S": huge}}),
                 record(1, "INSERT", b, dict(b, v={"N": "1"})),
                 record(2, "MODIFY", b, dict(b, v={"N": "2"}))]
        bodies, _, logs = self.run_batches([batch], self.env(LR_BATCH_MODE="continue"))
        self.assertEqual(bodies, [items("100")], logs)
        self.assertIn("the item is larger than 4194304 bytes of JSON", logs)
        self.assertEqual(scan(self.ddb, DST), [dict(b, v={"N": "2"})])
        m = emf_lines(logs, "SinkWritesSent")[0]
        self.assertEqual((m["SinkRequests"], m["SinkWritesSent"]), (1, 1), logs)  # b's two changes: one write

    def test_unprocessed_items_are_sent_again_and_throttling_fails_the_records(self):
        create_table(self.ddb, DST)
        batch = [record(i, "INSERT", {"pk": {"S": "k%d" % i}, "sk": {"N": "0"}},
                        {"pk": {"S": "k%d" % i}, "sk": {"N": "0"}, "v": {"N": str(i)}}) for i in range(20)]
        # Every call of more than one write gets part of it back as UnprocessedItems.
        with faultproxy.FaultProxy(self.moto.endpoint, seed=3, rates={"partial": 1.0},
                                   credentials=self.key) as proxy:
            bodies, _, logs = self.run_batches([batch], self.env(AWS_ENDPOINT_URL_DYNAMODB=proxy.url))
            counts = dict(proxy.counts)
        self.assertEqual(bodies, [items()], logs)
        self.assertEqual(len(scan(self.ddb, DST)), 20)
        m = emf_lines(logs, "SinkWritesSent")[0]
        self.assertEqual(m["SinkWritesSent"], 20)
        self.assertEqual(m["SinkWritesRetried"], counts["partial_unprocessed"], counts)
        self.assertGreater(m["SinkThrottled"], 0)
        self.assertEqual(m["SinkRequests"], counts["requests"])

        # Every call throttled, also on lr_aws's retries: every record fails, with the reason.
        with faultproxy.FaultProxy(self.moto.endpoint, seed=4, rates={"throttling": 1.0}) as proxy:
            env = self.env(AWS_ENDPOINT_URL_DYNAMODB=proxy.url, AWS_MAX_ATTEMPTS="2", LR_BATCH_MODE="continue",
                           LR_SINK_TARGET="other")
            bodies, _, logs = self.run_batches([batch[:3]], env)
        self.assertEqual(bodies, [items("100", "101", "102")], logs)
        self.assertIn("BatchWriteItem failed after 2 attempt(s): LR_E_AWS_THROTTLED: ThrottlingException", logs)
        m = emf_lines(logs, "SinkWritesSent")[0]
        self.assertEqual((m["SinkRequests"], m["SinkThrottled"], m["SinkRecordsFailed"]), (1, 1, 3), logs)

    def test_a_stream_without_new_image_fails_the_invoke_naming_the_view(self):
        create_table(self.ddb, DST)
        for view in ("KEYS_ONLY", "OLD_IMAGE"):
            batch = [record(0, "REMOVE", {"pk": {"S": "a"}, "sk": {"N": "1"}}, view=view),
                     record(1, "INSERT", {"pk": {"S": "a"}, "sk": {"N": "1"}}, view=view)]
            bodies, errors, logs = self.run_batches([batch], self.env(), expect_errors=True)
            self.assertEqual(errors, ["Unhandled"], logs)
            self.assertEqual(bodies[0]["errorType"], "Function.ConfigInvalid")
            self.assertIn("StreamViewType %s" % view, bodies[0]["errorMessage"])
            self.assertIn("NEW_IMAGE or NEW_AND_OLD_IMAGES", bodies[0]["errorMessage"])
        self.assertEqual(scan(self.ddb, DST), [])  # the REMOVE before it was not sent either

    def test_a_target_arn_in_another_region(self):
        eu = self.moto.client("dynamodb", *self.key, region="eu-west-1")
        create_table(eu, DST)
        create_table(self.ddb, DST)
        key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
        arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/" + DST
        bodies, _, logs = self.run_batches([[record(0, "INSERT", key, key)]], self.env(LR_SINK_TARGET=arn))
        self.assertEqual(bodies, [items()], logs)
        self.assertEqual(scan(eu, DST), [key])
        self.assertEqual(scan(self.ddb, DST), [])

    def test_a_target_arn_of_another_account_is_not_a_table_of_ours(self):
        """The ARN goes out as given: a bare name would be read as the caller's own table of that
        name (here one exists), and the changes would land there, reported written."""
        create_table(self.ddb, DST)
        key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
        arn = "arn:aws:dynamodb:us-east-1:999999999999:table/" + DST
        env = self.env(LR_SINK_TARGET=arn, LR_BATCH_MODE="continue", AWS_MAX_ATTEMPTS="1")
        bodies, _, logs = self.run_batches([[record(0, "INSERT", key, key)]], env)
        self.assertEqual(bodies, [items("100")], logs)
        self.assertIn("ResourceNotFoundException", logs)
        self.assertEqual(scan(self.ddb, DST), [])

    def test_an_answer_without_unprocessed_items_is_not_taken_as_written(self):
        """DynamoDB always answers UnprocessedItems ({} when all was written). A 200 without it (a
        misrouted endpoint, say; moto never gives one, so this suite's own server does) proves
        nothing landed: the writes are sent again, then reported failed."""
        server = awstest.FakeAWS(lambda n: ("send", awstest.reply("200 OK", "{}")))
        self.addCleanup(server.close)
        key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
        env = self.env(AWS_ENDPOINT_URL_DYNAMODB=server.url, LR_BATCH_MODE="continue")
        bodies, _, logs = self.run_batches([[record(0, "INSERT", key, key)]], env)
        self.assertEqual(bodies, [items("100")], logs)
        self.assertRegex(logs, r"record failed: UnprocessedItems after \d+ BatchWriteItem calls")
        self.assertGreater(len(server.requests), 1)

    def test_bad_settings_are_init_errors_naming_them(self):
        cases = [({"LR_SINK": "kafka"}, "LR_SINK"),
                 ({"LR_SINK_TARGET": ""}, "LR_SINK_TARGET"),
                 ({"LR_SINK_TARGET": "a b"}, "LR_SINK_TARGET"),
                 ({"LR_SINK_TARGET": "arn:aws:dynamodb:us-east-1:123:table/dst"}, "LR_SINK_TARGET"),
                 ({"LR_SINK_TARGET": "arn:aws:dynamodb:us-east-1:123456789012:table/dst/stream/x"},
                  "LR_SINK_TARGET"),
                 ({"LR_SINK": "log", "LR_SINK_TARGET": "dst"}, "LR_SINK_TARGET"),
                 ({"LR_SINK_FORMAT": "xml"}, "LR_SINK_FORMAT"),
                 ({"LR_SINK_NUMBERS": "float"}, "LR_SINK_NUMBERS"),
                 ({"AWS_REGION": "", "AWS_DEFAULT_REGION": ""}, "LR_SINK_TARGET")]
        for extra, var in cases:
            with self.subTest(extra=extra):
                env = self.env(**extra)
                bodies, errors, logs = self.run_batches([[]], env, expect_errors=True)
                self.assertEqual(errors, ["Unhandled"], logs)
                self.assertEqual(bodies[0]["errorType"], "Runtime.ConfigInvalid")
                self.assertRegex(bodies[0]["errorMessage"], "invalid %s=" % re.escape(var))


if __name__ == "__main__":
    unittest.main()

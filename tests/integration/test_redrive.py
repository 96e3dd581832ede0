"""tools/replay/replay.py --redrive-queue against moto_server: the event source mapping's on-failure
destination queue holds one message per discarded batch (DDBStreamBatchInfo names the range, not the
records); the redrive reads each range again from the table's stream and delivers it to the bundled
bootstrap under lambda-emu, or writes it as an event file with --write-events.

The destination message is built as the mapping builds it. No fixture of that message is known under
../shared/fixtures (INDEX.md lists events and responses only); when one appears there (a JSON file
holding a DDBStreamBatchInfo object) its shape is used, otherwise the documented one, and the test
says which on stderr."""

import glob
import json
import os
import sys
import tempfile
import time
import unittest

import awstest
import lrtest


# The on-failure destination's invocation record as the Lambda docs show it for DynamoDB streams
# (requestContext, responseContext, version, timestamp, DDBStreamBatchInfo); the values of
# DDBStreamBatchInfo are replaced per message.
DOCUMENTED_MESSAGE = {
    "requestContext": {
        "requestId": "316aa6d0-8154-4a1c-9af7-85d5f4a6bc81",
        "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:myfunction",
        "condition": "RetryAttemptsExhausted",
        "approximateInvokeCount": 1,
    },
    "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
    "version": "1.0",
    "timestamp": "2019-11-14T00:13:49.717Z",
    "DDBStreamBatchInfo": {
        "shardId": "shardId-00000001573689847184-864758bb",
        "startSequenceNumber": "800000000003126276362",
        "endSequenceNumber": "800000000003126276362",
        "approximateArrivalOfFirstRecord": "2019-11-14T00:13:19Z",
        "approximateArrivalOfLastRecord": "2019-11-14T00:13:19Z",
        "batchSize": 1,
        "streamArn": "arn:aws:dynamodb:us-east-1:123456789012:table/mytable/stream/2019-11-14T00:04:06.388",
    },
}


def message_template():
    """(message document, where its shape comes from): a fixture holding DDBStreamBatchInfo when
    ../shared/fixtures has one, else the documented shape."""
    root = lrtest.fixtures_dir()
    if root:
        for path in sorted(glob.glob(os.path.join(root, "**", "*.json"), recursive=True)):
            try:
                with open(path, encoding="utf-8-sig") as f:
                    doc = json.load(f)
            except (OSError, ValueError):
                continue
            if isinstance(doc, dict) and isinstance(doc.get("DDBStreamBatchInfo"), dict):
                return doc, "fixture " + os.path.relpath(path, root)
        return DOCUMENTED_MESSAGE, "documented shape (no on-failure destination message among the fixtures)"
    return DOCUMENTED_MESSAGE, "documented shape (../shared/fixtures is missing)"


def iso(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


@unittest.skipIf(awstest.moto_missing(), awstest.moto_missing())
class RedriveFromTheDestinationQueue(unittest.TestCase):
    VISIBILITY_S = 3

    @classmethod
    def setUpClass(cls):
        cls.template, cls.template_source = message_template()
        sys.stderr.write("\non-failure destination message: %s\n" % cls.template_source)
        cls.moto = awstest.Moto()
        try:
            cls.ddb = cls.moto.client("dynamodb")
            cls.sqs = cls.moto.client("sqs")
            cls.ddb.create_table(TableName="changes", BillingMode="PAY_PER_REQUEST",
                                 KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                                 AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                                 StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
            cls.arn = cls.ddb.describe_table(TableName="changes")["Table"]["LatestStreamArn"]
            for i in range(6):
                cls.ddb.put_item(TableName="changes", Item={"id": {"S": "k%d" % i}, "n": {"N": str(i)}})
            cls.ddb.update_item(TableName="changes", Key={"id": {"S": "k1"}}, UpdateExpression="SET n = :v",
                                ExpressionAttributeValues={":v": {"N": "10"}})
            cls.ddb.delete_item(TableName="changes", Key={"id": {"S": "k2"}})
            cls.records, cls.shard = cls.stream()
            assert len(cls.records) == 8, len(cls.records)
            cls.seqs = [r["dynamodb"]["SequenceNumber"] for r in cls.records]
        except BaseException:
            cls.moto.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.moto.close()

    @classmethod
    def stream(cls):
        streams = cls.moto.client("dynamodbstreams")
        shard = streams.describe_stream(StreamArn=cls.arn)["StreamDescription"]["Shards"][0]["ShardId"]
        return awstest.stream_records(streams, cls.arn), shard

    # -- the queue ------------------------------------------------------------------------------------

    def message(self, first, last):
        """The destination message for the discarded batch records[first..last], as the mapping
        writes it: the template's document with this batch's DDBStreamBatchInfo."""
        doc = json.loads(json.dumps(self.template))
        recs = self.records[first:last + 1]
        info = doc["DDBStreamBatchInfo"]
        info.update(shardId=self.shard, startSequenceNumber=self.seqs[first], endSequenceNumber=self.seqs[last],
                    approximateArrivalOfFirstRecord=iso(recs[0]["dynamodb"]["ApproximateCreationDateTime"]),
                    approximateArrivalOfLastRecord=iso(recs[-1]["dynamodb"]["ApproximateCreationDateTime"]),
                    batchSize=len(recs), streamArn=self.arn)
        self.assertEqual(set(info), set(DOCUMENTED_MESSAGE["DDBStreamBatchInfo"]))
        return json.dumps(doc)

    def queue(self, name, bodies):
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        for body in bodies:
            self.sqs.send_message(QueueUrl=url, MessageBody=body)
        return url

    def queue_bodies(self, url):
        """Every message body visible in the queue now (each received once with a 30 s timeout)."""
        bodies = []
        while True:
            got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30,
                                           WaitTimeSeconds=0).get("Messages", [])
            if not got:
                return sorted(bodies)
            bodies += [m["Body"] for m in got]

    def redrive(self, url, *args):
        proc, lines = awstest.run_replay(
            self.moto.endpoint, "--redrive-queue", url, "--visibility-timeout",
            str(self.VISIBILITY_S * lrtest.slow_factor()), "--idle-polls", "1", *args, timeout_s=300)
        awstest.check_output(self, proc.stdout + proc.stderr)
        return proc, {x["message"]: x for x in lines if "message" in x}, lines

    # -- the tests ------------------------------------------------------------------------------------

    def test_good_range_is_delivered_and_deleted_others_stay(self):
        s = self.seqs
        good = self.message(2, 4)                 # a middle range: three records
        malformed = json.dumps({"requestContext": {"condition": "RetryAttemptsExhausted"},
                                "DDBStreamBatchInfo": {"shardId": self.shard, "startSequenceNumber": "12x"}})
        failing = self.message(5, 6)              # its first record fails in the bootstrap
        beyond = json.loads(self.message(7, 7))   # a range the stream does not hold (past its end)
        beyond["DDBStreamBatchInfo"].update(startSequenceNumber=str(int(s[7]) + 100),
                                            endSequenceNumber=str(int(s[7]) + 101))
        beyond = json.dumps(beyond)
        url = self.queue("destination", [good, malformed, failing, beyond])
        env = {"AWS_LAMBDA_LOG_FORMAT": "JSON", "LR_BATCH_MODE": "ordered", "LR_ALL_FAILED": "error",
               "LR_TEST_FAIL_SEQUENCE_NUMBERS": s[5]}
        with lrtest.Emulator(env=env) as emu:
            proc, per_message, lines = self.redrive(url, "--invoke-url", emu.invoke_url, "--max-retries", "1")
            logs = emu.logs()
        ended = time.monotonic()  # the redrive's last ReceiveMessage was before this
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)

        self.assertEqual(len(per_message), 4, lines)
        by_result = {}
        for x in per_message.values():
            by_result.setdefault(x["result"], []).append(x)
        self.assertEqual(sorted(by_result), ["failed", "invalid", "redriven", "trimmed"], lines)
        ok = by_result["redriven"][0]
        self.assertEqual((ok["startSequenceNumber"], ok["endSequenceNumber"], ok["records"], ok["deleted"],
                          ok["condition"], ok["shard"]),
                         (s[2], s[4], 3, True, "RetryAttemptsExhausted", self.shard))
        bad = by_result["invalid"][0]
        self.assertFalse(bad["deleted"])
        self.assertIn("startSequenceNumber is missing or not 1-40 decimal digits", bad["reason"])
        fail = by_result["failed"][0]
        self.assertEqual((fail["startSequenceNumber"], fail["records"], fail["deleted"]), (s[5], 2, False))
        gone = by_result["trimmed"][0]
        self.assertFalse(gone["deleted"])
        self.assertIn("no longer holds", gone["reason"])

        # Deliveries: the good range once, in one batch; the failing one twice (a retry), then discarded.
        deliveries = [(x["sequenceNumbers"], x["result"]) for x in lines if "delivery" in x]
        self.assertEqual(sorted(deliveries), sorted([(s[2:5], "ok"), (s[5:7], "error"), (s[5:7], "error")]))
        self.assertIn({"discarded": s[5:7], "shard": self.shard, "condition": "RetryAttemptsExhausted"}, lines)
        self.assertEqual(lines[-1]["summary"]["messages"], 4)
        self.assertEqual((lines[-1]["summary"]["deleted"], lines[-1]["summary"]["kept"]), (1, 3))
        self.assertEqual(lines[-1]["summary"]["results"],
                         {"redriven": 1, "invalid": 1, "failed": 1, "trimmed": 1})

        # What the bootstrap saw: the records of the good range, each once and in order, and of the
        # failing range only its first record, once per attempt (ordered mode stops there), failed
        # both times; nothing outside the two ranges.
        seen = [r["sequenceNumber"] for r in lrtest.record_lines(logs)]
        self.assertEqual(sorted(seen), sorted(s[2:5] + [s[5], s[5]]), seen)
        good_lines = [r for r in lrtest.record_lines(logs) if r["sequenceNumber"] in s[2:5]]
        self.assertEqual([r["sequenceNumber"] for r in good_lines], s[2:5])
        self.assertEqual([r["keys"]["id"]["S"] for r in good_lines],
                         [r["dynamodb"]["Keys"]["id"]["S"] for r in self.records[2:5]])
        self.assertEqual([(r["sequenceNumber"], r["reason"]) for r in lrtest.record_lines(logs, "failure")],
                         [(s[5], "listed in LR_TEST_FAIL_SEQUENCE_NUMBERS")] * 2)

        # The queue: the good message is gone; the other three come back after the visibility timeout.
        self.assertEqual(self.queue_bodies(url), [], "kept messages visible before their timeout")
        time.sleep(max(0.0, ended + self.VISIBILITY_S * lrtest.slow_factor() + 0.5 - time.monotonic()))
        self.assertEqual(self.queue_bodies(url), sorted([malformed, failing, beyond]))

    def test_write_events_writes_the_exact_event_files(self):
        s = self.seqs
        url = self.queue("export", [self.message(0, 2), self.message(3, 3), "not json"])
        wire = awstest.load_replay()
        with tempfile.TemporaryDirectory(prefix="redrive-") as out:
            events = os.path.join(out, "events")
            proc, per_message, lines = self.redrive(url, "--write-events", events)
            names = sorted(os.listdir(events))
            files = {}
            for n in names:
                with open(os.path.join(events, n)) as f:
                    files[n] = json.load(f)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)  # "not json" is not written
        self.assertEqual(names, sorted(["event-%s-%s.json" % (self.shard, s[0]),
                                        "event-%s-%s.json" % (self.shard, s[3])]))
        expect = lambda a, b: {"Records": [wire.lambda_record(r, self.arn) for r in self.records[a:b]]}
        self.assertEqual(files["event-%s-%s.json" % (self.shard, s[0])], json.loads(json.dumps(expect(0, 3))))
        self.assertEqual(files["event-%s-%s.json" % (self.shard, s[3])], json.loads(json.dumps(expect(3, 4))))
        self.assertEqual([x["sequenceNumbers"] for x in lines if "delivery" in x], [])
        self.assertEqual(sorted(x["result"] for x in per_message.values()), ["invalid", "written", "written"])
        self.assertFalse(any(x["deleted"] for x in per_message.values()))
        self.assertEqual(lines[-1]["summary"]["results"], {"written": 2, "invalid": 1})

    def test_every_message_redriven_exits_0_and_empties_the_queue(self):
        url = self.queue("clean", [self.message(0, 0), self.message(1, 3)])
        with lrtest.Emulator(env={"AWS_LAMBDA_LOG_FORMAT": "JSON"}) as emu:
            proc, per_message, lines = self.redrive(url, "--invoke-url", emu.invoke_url, "--batch-size", "2")
            logs = emu.logs()
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(sorted((x["startSequenceNumber"], x["records"], x["deleted"]) for x in per_message.values()),
                         sorted([(self.seqs[0], 1, True), (self.seqs[1], 3, True)]))
        # --batch-size 2 cuts the three records of the second range into two invokes.
        self.assertEqual(sorted(x["sequenceNumbers"] for x in lines if "delivery" in x),
                         sorted([self.seqs[0:1], self.seqs[1:3], self.seqs[3:4]]))
        self.assertEqual(sorted(r["sequenceNumber"] for r in lrtest.record_lines(logs)), sorted(self.seqs[0:4]))
        time.sleep(self.VISIBILITY_S * lrtest.slow_factor() + 0.5)
        self.assertEqual(self.queue_bodies(url), [])


class DestinationMessages(unittest.TestCase):
    """What replay.py accepts as an on-failure destination message, without AWS."""

    @classmethod
    def setUpClass(cls):
        cls.r = awstest.load_replay()

    def body(self, **info):
        doc = json.loads(json.dumps(DOCUMENTED_MESSAGE))
        doc["DDBStreamBatchInfo"].update(info)
        return json.dumps(doc)

    def test_the_documented_message(self):
        info, condition, why = self.r.batch_info(self.body())
        self.assertIsNone(why)
        self.assertEqual(condition, "RetryAttemptsExhausted")
        self.assertEqual(info["startSequenceNumber"], "800000000003126276362")

    def test_an_sns_notification_is_unwrapped(self):
        envelope = json.dumps({"Type": "Notification", "MessageId": "m", "Message": self.body()})
        self.assertIsNone(self.r.batch_info(envelope)[2])

    def test_what_is_refused(self):
        bad = ["", "not json", "[]", "{}", json.dumps({"DDBStreamBatchInfo": "x"}),
               self.body(shardId=None), self.body(shardId="../../etc/passwd"),
               self.body(startSequenceNumber=800000000003126276362), self.body(startSequenceNumber=""),
               self.body(startSequenceNumber="1" * 41), self.body(endSequenceNumber="-1"),
               self.body(endSequenceNumber="１２"),  # full-width digits are not decimal digits here
               self.body(startSequenceNumber="1000", endSequenceNumber="999"),
               self.body(streamArn="arn:aws:sqs:us-east-1:123456789012:q"), self.body(batchSize=0),
               self.body(batchSize="3"), self.body(batchSize=True)]
        for body in bad:
            info, _, why = self.r.batch_info(body)
            self.assertIsNone(info, body)
            self.assertTrue(why, body)

    def test_ranges_compare_as_numbers(self):
        # "999" < "1000" as numbers, not as text; 40 digits are still exact.
        self.assertIsNone(self.r.batch_info(self.body(startSequenceNumber="999", endSequenceNumber="1000"))[2])
        self.assertIsNone(self.r.batch_info(self.body(startSequenceNumber="9" * 39,
                                                      endSequenceNumber="1" + "0" * 39))[2])
        self.assertEqual(self.r.seq_int("9" * 40), 10 ** 40 - 1)


if __name__ == "__main__":
    unittest.main()

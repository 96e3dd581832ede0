"""LR_SINK=sqs|sns|eventbridge end to end: the bundled bootstrap under the emulator sends every change of
a batch to a moto queue, topic or event bus (real SigV4 calls through libcurl, moto checking the
signatures), and what arrived is read back with boto3.

Every record arrives once with its attributes and its JSON (compared with boto3's own conversion of the
images), 10 per call and split by size, FIFO group and deduplication ids (a redelivered batch is not
duplicated, one message per key per call), a record over the size limit failing alone with its reason,
a missing target failing the records as the batch mode says, and the start-up checks of the settings.
Per-entry failures under faults are covered by test_sink_msg_invariant."""

import hashlib
import json
import os
import re
import unittest
from decimal import Decimal

import awstest

from boto3.dynamodb.types import TypeDeserializer

STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/src/stream/2026-01-01T00:00:00.000"


def items(*seqs):
    return {"batchItemFailures": [{"itemIdentifier": s} for s in seqs]}


def record(i, key, extra=None, name="INSERT"):
    """A hand-made stream record with SequenceNumber 100+i and eventID e<i>."""
    new = dict(key, **(extra or {}))
    ddb = {"Keys": key, "SequenceNumber": str(100 + i), "SizeBytes": 10,
           "StreamViewType": "NEW_AND_OLD_IMAGES", "ApproximateCreationDateTime": 1767225600 + i}
    if name != "REMOVE":
        ddb["NewImage"] = new
    return {"eventID": "e%d" % i, "eventName": name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1", "dynamodb": ddb, "eventSourceARN": STREAM_ARN}


EVERY_TYPE = {"s": {"S": "caf\u00e9 \"q\" \\ \u2028"}, "n": {"N": "12345678901234567890.5"},
              "b": {"B": "AAEC/w=="}, "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "-0.5"]},
              "bs": {"BS": ["AA==", "/w=="]}, "m": {"M": {"deep": {"L": [{"NULL": True}, {"BOOL": False}]}}},
              "l": {"L": [{"S": ""}, {"N": "0"}]}, "null": {"NULL": True}, "bool": {"BOOL": True}}


def plain(image):
    """boto3's conversion of a DynamoDB JSON image, in the JSON form the sink writes (binary as
    base64, sets as arrays, numbers as Decimal so the digits are compared exactly)."""
    import base64

    def conv(v):
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, (list, set, frozenset)):
            return [conv(x) for x in v]
        if hasattr(v, "value") and isinstance(v.value, bytes):
            return base64.b64encode(v.value).decode()
        return v
    decoded = {k: TypeDeserializer().deserialize(
        {t: (base64.b64decode(x) if t == "B" else [base64.b64decode(y) for y in x] if t == "BS" else x)
         for t, x in v.items()}) for k, v in image.items()}
    return conv(decoded)


def unordered_sets(value):
    """Sets have no order: compare them sorted."""
    if isinstance(value, dict):
        return {k: unordered_sets(v) for k, v in value.items()}
    if isinstance(value, list):
        out = [unordered_sets(v) for v in value]
        return sorted(out, key=repr) if all(not isinstance(v, (dict, list)) for v in out) else out
    return value


def emf(logs):
    return [json.loads(line[line.index("{"):]) for line in logs.splitlines()
            if '"_aws"' in line and '"SinkWritesSent"' in line]


@unittest.skipIf(awstest.moto_missing(), awstest.moto_missing())
class SinkMessagesTest(awstest.BatchRunner, unittest.TestCase):

    def setUp(self):
        self.moto = awstest.Moto(INITIAL_NO_AUTH_ACTION_COUNT="3")
        self.addCleanup(self.moto.close)
        self.key = self.moto.iam_user("sender")
        self.sqs = self.moto.client("sqs", *self.key)

    def env(self, sink, target, **extra):
        e = self.moto.endpoint
        env = awstest.base_env(LR_SINK=sink, LR_SINK_TARGET=target, LR_LOG_RECORDS="none",
                               AWS_ENDPOINT_URL_SQS=e, AWS_ENDPOINT_URL_SNS=e, AWS_ENDPOINT_URL_EVENTBRIDGE=e,
                               AWS_ACCESS_KEY_ID=self.key[0], AWS_SECRET_ACCESS_KEY=self.key[1])
        env.update(extra)
        env.update({k: None for k in os.environ if k.startswith("AWS_") and k not in env})
        return env

    def queue(self, name, fifo=False):
        attrs = {"FifoQueue": "true"} if fifo else {}
        url = self.sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def receive(self, url):
        got = []
        while True:
            r = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                                         AttributeNames=["All"])
            if not r.get("Messages"):
                return got
            got += r["Messages"]
            for m in r["Messages"]:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    def check_messages(self, messages, batch):
        """One message per record, in order, with the record's JSON and attributes."""
        bodies = [json.loads(m["Body"], parse_float=Decimal, parse_int=Decimal) for m in messages]
        self.assertEqual([b["eventID"] for b in bodies], [r["eventID"] for r in batch])
        for body, rec, m in zip(bodies, batch, messages):
            d = rec["dynamodb"]
            self.assertEqual((body["eventName"], body["sequenceNumber"], body["table"]),
                             (rec["eventName"], d["SequenceNumber"], "src"))
            self.assertEqual(unordered_sets(body["keys"]), unordered_sets(plain(d["Keys"])))
            self.assertEqual(unordered_sets(body.get("newImage")),
                             unordered_sets(plain(d["NewImage"])) if "NewImage" in d else None)
            attrs = {k: v["StringValue"] for k, v in m.get("MessageAttributes", {}).items()}
            self.assertEqual(attrs, {"eventName": rec["eventName"], "sequenceNumber": d["SequenceNumber"],
                                     "table": "src"})

    def batch(self, n, keys=7):
        return [record(i, {"pk": {"S": "k%d" % (i % keys)}}, dict(EVERY_TYPE, v={"N": str(i)}) if i % 5 == 0
                       else {"v": {"N": str(i)}}, name="REMOVE" if i % 9 == 8 else "INSERT") for i in range(n)]

    # -- delivery ----------------------------------------------------------------------------------

    def test_sqs_every_record_once_ten_per_call(self):
        url, _ = self.queue("changes")
        batch = self.batch(45)
        bodies, _, logs = self.run_batches([batch], self.env("sqs", url))
        self.assertEqual(bodies, [items()], logs)
        got = sorted(self.receive(url), key=lambda m: int(json.loads(m["Body"])["sequenceNumber"]))
        self.check_messages(got, batch)
        m = emf(logs)[0]
        self.assertEqual((m["Sink"], m["SinkWritesSent"], m["SinkRequests"], m["SinkRecordsFailed"]),
                         ("sqs", 45, 5, 0), logs)

    def test_sqs_ddb_format_keeps_the_types(self):
        url, _ = self.queue("typed")
        batch = self.batch(3)
        bodies, _, logs = self.run_batches([batch], self.env("sqs", url, LR_SINK_FORMAT="ddb"))
        self.assertEqual(bodies, [items()], logs)
        got = sorted((json.loads(m["Body"]) for m in self.receive(url)), key=lambda b: b["eventID"])
        self.assertEqual([b["newImage"] for b in got], [r["dynamodb"]["NewImage"] for r in batch])

    def test_sqs_fifo_groups_by_key_and_a_redelivered_batch_is_not_duplicated(self):
        url, _ = self.queue("changes.fifo", fifo=True)
        batch = self.batch(24, keys=3)
        env = self.env("sqs", url)
        bodies, _, logs = self.run_batches([batch, batch], env)  # the mapping delivering it twice
        self.assertEqual(bodies, [items(), items()], logs)
        got = self.receive(url)
        self.assertEqual(len(got), 24)
        self.check_messages(sorted(got, key=lambda m: int(m["MessageAttributes"]["sequenceNumber"]["StringValue"])),
                            batch)
        for m in got:
            body = json.loads(m["Body"])
            canonical = json.dumps({"pk": {"S": body["keys"]["pk"]}}, separators=(",", ":"))
            self.assertEqual(m["Attributes"]["MessageGroupId"], hashlib.sha256(canonical.encode()).hexdigest())
            self.assertEqual(m["Attributes"]["MessageDeduplicationId"], body["eventID"])
        by_key = {}
        for m in got:
            body = json.loads(m["Body"])
            by_key.setdefault(body["keys"]["pk"], []).append(int(body["sequenceNumber"]))
        for seqs in by_key.values():
            self.assertEqual(seqs, sorted(seqs))
        # 3 keys: a call holds at most one message of each, so 8 calls per invoke.
        self.assertEqual([m["SinkRequests"] for m in emf(logs)], [8, 8], logs)

    def test_calls_are_split_by_size_and_a_record_over_the_limit_fails_alone(self):
        url, _ = self.queue("small")
        batch = [record(i, {"pk": {"S": "k%d" % i}}, {"pad": {"S": "x" * (9000 if i == 2 else 700)}})
                 for i in range(6)]
        env = self.env("sqs", url, LR_SINK_MAX_BYTES="2048", LR_BATCH_MODE="continue")
        bodies, _, logs = self.run_batches([batch], env)
        self.assertEqual(bodies, [items("102")], logs)
        self.assertRegex(logs, r"record failed: .*the record is more than 2048 bytes of JSON")
        got = self.receive(url)
        self.assertEqual(sorted(json.loads(m["Body"])["eventID"] for m in got), ["e0", "e1", "e3", "e4", "e5"])
        for m in got:
            size = len(m["Body"].encode()) + sum(len(k) + 6 + len(v["StringValue"])
                                                 for k, v in m["MessageAttributes"].items())
            self.assertLessEqual(size, 2048)
        m = emf(logs)[0]
        self.assertEqual((m["SinkRequests"], m["SinkWritesSent"]), (3, 5), logs)  # two ~900-byte messages a call

    def test_an_eventbridge_entry_is_less_than_the_limit(self):
        """PutEvents wants each entry (Source, DetailType, Detail) under 256 KB, where SQS and SNS take
        a message of the limit itself: an entry of exactly LR_SINK_MAX_BYTES fails, one byte less is
        sent. The Detail is the message an SQS sink sends, whose length is measured first."""
        def batch(pad):
            return [[record(0, {"pk": {"S": "k"}}, {"pad": {"S": "x" * pad}})]]
        url, _ = self.queue("measure")
        bodies, _, logs = self.run_batches(batch(500), self.env("sqs", url))
        self.assertEqual(bodies, [items()], logs)
        overhead = len(self.receive(url)[0]["Body"].encode()) - 500
        self.moto.client("events", *self.key).create_event_bus(Name="limit")
        env = self.env("eventbridge", "limit", LR_SINK_MAX_BYTES="1024", LR_BATCH_MODE="continue")
        framing = len("lambda-ddb") + len("INSERT")  # the default Source, the eventName as DetailType
        bodies, _, logs = self.run_batches(batch(1024 - framing - overhead), env)  # 1024 bytes
        self.assertEqual(bodies, [items("100")], logs)
        self.assertIn("the message is 1024 bytes with its attributes, over the limit of 1023", logs)
        bodies, _, logs = self.run_batches(batch(1023 - framing - overhead), env)
        self.assertEqual(bodies, [items()], logs)

    def test_fifo_a_key_whose_change_failed_sends_nothing_more(self):
        url, _ = self.queue("order.fifo", fifo=True)
        a, b = {"pk": {"S": "a"}}, {"pk": {"S": "b"}}
        batch = [record(0, a, {"pad": {"S": "x" * 3000}}), record(1, b), record(2, a), record(3, b)]
        env = self.env("sqs", url, LR_SINK_MAX_BYTES="2048", LR_BATCH_MODE="continue")
        bodies, _, logs = self.run_batches([batch], env)
        self.assertEqual(bodies, [items("100", "102")], logs)
        self.assertIn("an earlier change of this key was not delivered (FIFO order)", logs)
        self.assertEqual([json.loads(m["Body"])["eventID"] for m in self.receive(url)], ["e1", "e3"])

    def test_sns_topic_and_fifo_topic(self):
        sns = self.moto.client("sns", *self.key)
        for fifo in (False, True):
            with self.subTest(fifo=fifo):
                suffix = ".fifo" if fifo else ""
                attrs = {"FifoTopic": "true"} if fifo else {}
                topic = sns.create_topic(Name="changes" + suffix, Attributes=attrs)["TopicArn"]
                url, arn = self.queue("subscriber" + suffix, fifo=fifo)
                sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                              Attributes={"RawMessageDelivery": "true"})
                batch = self.batch(23)
                bodies, _, logs = self.run_batches([batch], self.env("sns", topic))
                self.assertEqual(bodies, [items()], logs)
                got = sorted(self.receive(url), key=lambda m: int(json.loads(m["Body"])["sequenceNumber"]))
                self.check_messages(got, batch)
                m = emf(logs)[0]
                self.assertEqual((m["Sink"], m["SinkWritesSent"]), ("sns", 23), logs)
                self.assertEqual(m["SinkRequests"], 4 if fifo else 3)  # FIFO: 7 keys, a key once a call

    def test_eventbridge_bus_by_name_and_arn(self):
        events = self.moto.client("events", *self.key)
        bus_arn = events.create_event_bus(Name="changes")["EventBusArn"]
        url, arn = self.queue("bus-target")
        events.put_rule(Name="all", EventBusName="changes", EventPattern=json.dumps({"source": ["orders.sync"]}))
        events.put_targets(Rule="all", EventBusName="changes", Targets=[{"Id": "q", "Arn": arn}])
        for target in ("changes", bus_arn):
            with self.subTest(target=target):
                batch = self.batch(12)
                for r in batch:  # moto hands "detail" to the queue through Python floats
                    if "n" in r["dynamodb"].get("NewImage", {}):
                        r["dynamodb"]["NewImage"]["n"] = {"N": "12.5"}
                bodies, _, logs = self.run_batches([batch], self.env("eventbridge", target,
                                                                     LR_EVENT_SOURCE="orders.sync"))
                self.assertEqual(bodies, [items()], logs)
                got = [json.loads(m["Body"]) for m in self.receive(url)]
                got.sort(key=lambda e: int(e["detail"]["sequenceNumber"]))
                self.assertEqual([(e["source"], e["detail-type"]) for e in got],
                                 [("orders.sync", r["eventName"]) for r in batch])
                self.check_messages([{"Body": json.dumps(e["detail"]),
                                      "MessageAttributes": {k: {"StringValue": v} for k, v in
                                                            (("eventName", e["detail"]["eventName"]),
                                                             ("sequenceNumber", e["detail"]["sequenceNumber"]),
                                                             ("table", e["detail"]["table"]))}} for e in got],
                                    batch)
                self.assertEqual(emf(logs)[0]["SinkRequests"], 2)

    # -- failures ----------------------------------------------------------------------------------

    def test_a_missing_target_fails_the_records_as_the_mode_says(self):
        batch = self.batch(3)
        missing = self.moto.endpoint + "/123456789012/nowhere"
        bodies, _, logs = self.run_batches([batch], self.env("sqs", missing))
        self.assertEqual(bodies, [items("100")], logs)  # ordered: the checkpoint; all three failed
        self.assertEqual(len(re.findall("record failed: ", logs)), 3, logs)
        self.assertIn("SendMessageBatch failed after 1 attempt(s)", logs)
        self.assertIn("QueueDoesNotExist", logs)
        topic = "arn:aws:sns:us-east-1:123456789012:nowhere"
        bodies, _, logs = self.run_batches([batch], self.env("sns", topic, LR_BATCH_MODE="continue"))
        self.assertEqual(bodies, [items("100", "101", "102")], logs)
        self.assertIn("PublishBatch failed", logs)
        self.assertIn("NotFound", logs)

    def test_bad_settings_are_init_errors_naming_them(self):
        url = self.moto.endpoint + "/123456789012/q"
        cases = [("sqs", "https://sqs.us-east-1.amazonaws.com/123/q", {}, "LR_SINK_TARGET"),
                 ("sqs", "sqs://q", {}, "LR_SINK_TARGET"),
                 ("sqs", "https://sqs.us-east-1.amazonaws.com/123456789012/bad name", {}, "LR_SINK_TARGET"),
                 ("sqs", "", {}, "LR_SINK_TARGET"),
                 ("sns", "arn:aws:sns:us-east-1:123456789012", {}, "LR_SINK_TARGET"),
                 ("sns", "arn:aws:sqs:us-east-1:123456789012:t", {}, "LR_SINK_TARGET"),
                 ("eventbridge", "arn:aws:events:us-east-1:123456789012:rule/x", {}, "LR_SINK_TARGET"),
                 ("eventbridge", "bus name", {}, "LR_SINK_TARGET"),
                 ("sqs", url, {"LR_SINK_MAX_BYTES": "1023"}, "LR_SINK_MAX_BYTES"),
                 ("sqs", url, {"LR_SINK_MAX_BYTES": "1048577"}, "LR_SINK_MAX_BYTES"),
                 ("sqs", url, {"LR_SINK_MAX_BYTES": "12k"}, "LR_SINK_MAX_BYTES"),
                 ("sqs", url, {"LR_EVENT_SOURCE": "x"}, "LR_EVENT_SOURCE"),
                 ("eventbridge", "bus", {"LR_EVENT_SOURCE": "a\tb"}, "LR_EVENT_SOURCE"),
                 ("eventbridge", "bus", {"LR_EVENT_SOURCE": "aws.dynamodb"}, "LR_EVENT_SOURCE"),
                 ("dynamodb", "dst", {"LR_SINK_MAX_BYTES": "2048"}, "LR_SINK_MAX_BYTES"),
                 ("sqs", url, {"AWS_REGION": "", "AWS_DEFAULT_REGION": ""}, "LR_SINK_TARGET")]
        for sink, target, extra, var in cases:
            with self.subTest(sink=sink, target=target, extra=extra):
                bodies, errors, logs = self.run_batches([[]], self.env(sink, target, **extra), expect_errors=True)
                self.assertEqual(errors, ["Unhandled"], logs)
                self.assertEqual(bodies[0]["errorType"], "Runtime.ConfigInvalid")
                self.assertRegex(bodies[0]["errorMessage"], "invalid %s=" % re.escape(var))

    def test_region_comes_from_the_target(self):
        eu = self.moto.client("sqs", *self.key, region="eu-west-1")
        url = eu.create_queue(QueueName="eu")["QueueUrl"]
        # A real queue URL names its region; moto's own URLs do not, so AWS_REGION decides there.
        bodies, _, logs = self.run_batches([self.batch(2)], self.env("sqs", url, AWS_REGION="eu-west-1"))
        self.assertEqual(bodies, [items()], logs)
        self.assertEqual(len(eu.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])), 2)
        sns_eu = self.moto.client("sns", *self.key, region="eu-west-1")
        topic = sns_eu.create_topic(Name="eu")["TopicArn"]
        self.assertIn(":eu-west-1:", topic)
        bodies, _, logs = self.run_batches([self.batch(2)], self.env("sns", topic))  # AWS_REGION us-east-1
        self.assertEqual(bodies, [items()], logs)


if __name__ == "__main__":
    unittest.main()

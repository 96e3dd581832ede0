"""The delivery invariant of the message sinks under faults: after the event source mapping's semantics
have run to completion, every change of the stream (every eventID) reached the target at least once,
and on a FIFO target each key's changes arrived in stream order.

A moto table (IAM authentication on) takes a streamload workload of 800 random puts, updates and
deletes over 120 keys: about 850 stream records, each key changing about seven times, so per-key
order has something to get wrong. tools/replay delivers the stream to the bundled bootstrap under the
emulator exactly as the mapping would: batches of 100, re-delivery from the lowest reported
SequenceNumber, BisectBatchOnFunctionError. The bootstrap's sink sends every change as one message,
through the suite's fault proxy, which throttles, answers 500, resets connections (before and after
moto applied the call) and holds back random parts of SendMessageBatch, PublishBatch and PutEvents
calls, reported as failed entries in each service's terms; meanwhile the bootstrap is killed with
kill -9 in the middle of batches. AWS_MAX_ATTEMPTS=1, so that a call the proxy fails fails its
records (reported to the mapping and delivered again) instead of being retried inside the client;
the failed entries of a partial answer go through the sink's own rounds. Targets, each in both batch
modes:

- sqs: a standard queue, and a FIFO queue;
- sns: a standard topic with a standard queue subscribed, and a FIFO topic with a FIFO queue
  subscribed (RawMessageDelivery, so the queue holds the sink's message as it was sent);
- eventbridge: a bus with a rule whose target is a standard queue.

The queue is read directly from moto while the sink fills it (Consumer). Every eventID of the stream
must be there (a message is matched to its stream record by eventID, and its sequenceNumber and key
must be that record's); on the FIFO targets, for each key, the sequence numbers in receive order,
duplicates (the same eventID again) dropped, must increase. A missing change is reported with the
number of times the target acknowledged it (the fault proxy keeps what moto was sent and answered),
which tells a change the sink never got accepted from one lost after the target took it; and every
change received must have been acknowledged. The test also checks that the faults
happened and reached the records (every kind fired, entries sent again, records reported failed,
crashes delivered again), so it cannot pass by not being tested. About 15 s a run, 10 runs.

moto, and what the test does about it:
- the topics live on a second moto_server with authentication off: moto checks the signature of a
  query-protocol call (SNS) against a body it rebuilds from the parsed form, with '+' for a space,
  while the sink (rightly) writes '%20', so every PublishBatch whose messages hold a space would be
  refused with SignatureDoesNotMatch. The table, the queues and the buses stay on the moto with
  authentication on;
- moto's SendMessage and ReceiveMessage take time in proportion to the messages in the queue (every
  message sent or received counts the queue's messages for its attributes), so a queue read only at
  the end makes a run of a thousand messages take minutes: the queue is read, and emptied, as it
  fills, by two threads;
- moto's DeleteMessage builds the queue's new message list from the old one without a lock, so two
  deletes at once each assign a list of their own, and a message sent in between lands on the list
  that loses: moto acknowledged it, and it is gone (seen here: changes acknowledged once and never
  received, the queue empty). The test's deletes are therefore made one at a time; one delete
  against concurrent sends is safe, since the interpreter does not switch threads between the end
  of its loop and its assignment;
- moto delivers each event to a rule's target through jsonpath_ng.ext.parse, which builds its parser
  anew on every call (about 0.1 s, eight calls per event): the moto that holds the buses is started
  with a sitecustomize that memoises it;
- moto's FIFO queue drops a message whose MessageDeduplicationId (the eventID) it still holds, but
  the test deletes what it read, so a change sent again may show twice on a FIFO target too; the
  order check drops such duplicates.
"""

import collections
import contextlib
import json
import os
import random
import re
import tempfile
import threading
import time
import unittest

import awstest
import faultproxy
import lrtest
import streamload

# Imported by the moto_server that holds the buses (PYTHONPATH): moto delivers every event to a rule's
# target through jsonpath_ng.ext.parse, which builds its parser anew on each call (about 0.1 s, eight
# times per event); the same paths parse to the same expressions, so they are parsed once.
MOTO_SITECUSTOMIZE = """
import functools
try:
    import jsonpath_ng.ext as _ext
except ImportError:
    pass
else:
    _ext.parse = functools.lru_cache(maxsize=None)(_ext.parse)
"""

RATES = {"throttling": 0.04, "internal": 0.04, "reset": 0.04, "reset_mid_body": 0.04, "partial": 0.2}
KILLS = 3
READERS = 2
OPERATIONS = 800
KEYS = 120


# How long a received message stays hidden. A receive that moto carried out but whose answer the
# client did not get (botocore retries a 500 or a dropped connection on its own) leaves its messages
# in flight: with a long timeout they would count as never delivered. finish() waits for them to come
# back. A message the sink never sent is missing however long it waits.
VISIBILITY_S = 5


def acknowledged(answers):
    """eventID -> how many times the target acknowledged a message of that change, from the fault
    proxy's kept answers (what moto was sent, and its own answer before any merge): SQS Successful
    entries, SNS <Successful> members, EventBridge entries with an EventId."""
    acks = collections.Counter()
    for operation, body, status, answer in answers:
        if not status.startswith("200"):
            continue
        if operation == "SendMessageBatch":
            done = {e["Id"] for e in json.loads(answer).get("Successful", [])}
            acks.update(json.loads(e["MessageBody"])["eventID"] for e in json.loads(body)["Entries"]
                        if e["Id"] in done)
        elif operation == "PutEvents":
            sent, got = json.loads(body)["Entries"], json.loads(answer).get("Entries", [])
            acks.update(json.loads(e["Detail"])["eventID"] for e, a in zip(sent, got) if a.get("EventId"))
        elif operation == "PublishBatch":
            members = collections.defaultdict(dict)  # member number -> {field: value}
            for k, v in faultproxy.parse_form(body):
                m = faultproxy.SNS_MEMBER.match(k)
                if m:
                    members[m.group(1)][m.group(2)] = v
            message_of = {f.get("Id"): f.get("Message") for f in members.values()}
            done = re.search(r"<Successful>(.*?)</Successful>", answer.decode(), re.S)
            acks.update(json.loads(message_of[i])["eventID"]
                        for i in re.findall(r"<Id>(.*?)</Id>", done.group(1) if done else ""))
    return acks


class Consumer:
    """Reads the target queue while the sink fills it, straight from moto, with `readers` threads: each
    read of up to ten messages is deleted after it, so that the queue stays short (moto's SendMessage
    and ReceiveMessage take time in proportion to the messages in the queue). records: the sink's
    records of the messages in receive order (an EventBridge event's detail).

    FIFO: a FIFO queue hands out no message of a group while an earlier one is in flight, and a record
    is taken before its message is deleted, so records keep each group's order. That holds only for
    receives one at a time: moto's ReceiveMessage looks up the groups in flight when it starts, and two
    at once can each take a message of the same group. On a FIFO queue the receives (and the taking of
    their records) are therefore serialised.

    The deletes are serialised on every queue: two of moto's DeleteMessage at once can drop a message
    sent meanwhile (see the module's text)."""

    def __init__(self, moto, key, url, readers, fifo):
        self.url = url
        self.records = []
        self.stop = threading.Event()
        self.errors = []
        self.receiving = threading.Lock() if fifo else contextlib.nullcontext()
        self.deleting = threading.Lock()
        self.clients = [moto.client("sqs", *key) for _ in range(readers)]  # a client per thread
        self.threads = [threading.Thread(target=self._run, args=(c,), daemon=True) for c in self.clients]
        for t in self.threads:
            t.start()

    def _read(self, sqs):
        with self.receiving:
            messages = sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10,
                                           VisibilityTimeout=VISIBILITY_S).get("Messages", [])
            for m in messages:
                body = json.loads(m["Body"])
                self.records.append(body["detail"] if "detail-type" in body else body)
        if messages:
            with self.deleting:
                sqs.delete_message_batch(QueueUrl=self.url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
        return len(messages)

    def _run(self, sqs):
        try:
            while not self.stop.is_set():
                if not self._read(sqs):
                    time.sleep(0.03)
        except Exception as e:  # reported by finish()
            self.errors.append(e)

    def finish(self):
        """Stops the threads, reads what is left, including messages still in flight once they are
        visible again, and returns records. It gives up only after VISIBILITY_S + 30 s without a message
        to read, however long the backlog takes (a slow moto), and then fails: a message still on the
        queue is not a message the sink lost."""
        self.stop.set()
        for t in self.threads:
            t.join()
        if self.errors:
            raise self.errors[0]
        sqs, quiet_s = self.clients[0], VISIBILITY_S + 30
        quiet_until = time.monotonic() + quiet_s
        while True:
            if self._read(sqs):
                quiet_until = time.monotonic() + quiet_s
                continue
            attrs = sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            if not any(int(v) for v in attrs.values()):
                return self.records
            if time.monotonic() > quiet_until:
                raise AssertionError("the queue still holds messages after %d s without one to read: %s"
                                     % (quiet_s, attrs))
            time.sleep(0.2)


@unittest.skipIf(awstest.moto_missing(), awstest.moto_missing())
class EveryChangeLandsUnderFaults(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.site = tempfile.TemporaryDirectory(prefix="moto-site-")
        with open(os.path.join(cls.site.name, "sitecustomize.py"), "w") as f:
            f.write(MOTO_SITECUSTOMIZE)
        cls.moto, cls.moto_sns = None, None
        try:
            cls.moto = awstest.Moto(INITIAL_NO_AUTH_ACTION_COUNT="3", PYTHONPATH=cls.site.name)
            cls.moto_sns = awstest.Moto()  # authentication off: see the module's text
            cls.key = cls.moto.iam_user("publisher")
            cls.ddb = cls.moto.client("dynamodb", *cls.key)
            cls.sqs = cls.moto.client("sqs", *cls.key)
            cls.events = cls.moto.client("events", *cls.key)
            cls.sns = cls.moto_sns.client("sns", *cls.key)
            cls.sns_sqs = cls.moto_sns.client("sqs", *cls.key)
            cls.arn = streamload.create_table(cls.ddb, "source")
            streamload.write(cls.ddb, "source", seed=2027, operations=OPERATIONS, keys=KEYS)
            records = awstest.stream_records(cls.moto.client("dynamodbstreams", *cls.key), cls.arn)
            # eventID -> (sequence number, key) of every change in the stream
            cls.stream = {r["eventID"]: (int(r["dynamodb"]["SequenceNumber"]), r["dynamodb"]["Keys"]["id"]["S"])
                          for r in records}
            assert len(cls.stream) == len(records) > OPERATIONS // 2
        except BaseException:
            cls.close_motos()
            raise

    @classmethod
    def close_motos(cls):
        for m in (cls.moto, cls.moto_sns):
            if m is not None:
                m.close()
        cls.site.cleanup()

    @classmethod
    def tearDownClass(cls):
        cls.close_motos()

    # -- targets --------------------------------------------------------------------------------

    @staticmethod
    def queue(sqs, name, fifo=False):
        """A queue: (URL, ARN)."""
        attrs = {"FifoQueue": "true"} if fifo else {}
        url = sqs.create_queue(QueueName=name + (".fifo" if fifo else ""), Attributes=attrs)["QueueUrl"]
        return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def target(self, sink, name, fifo):
        """(LR_SINK_TARGET, the moto the sink's calls go to, the URL of the queue to read there)."""
        if sink == "sqs":
            url, _ = self.queue(self.sqs, name, fifo)
            return url, self.moto, url
        if sink == "sns":
            url, queue_arn = self.queue(self.sns_sqs, name, fifo)
            attrs = {"FifoTopic": "true"} if fifo else {}
            topic = self.sns.create_topic(Name=name + (".fifo" if fifo else ""), Attributes=attrs)["TopicArn"]
            self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                               Attributes={"RawMessageDelivery": "true"})
            return topic, self.moto_sns, url
        url, queue_arn = self.queue(self.sqs, name)
        self.events.create_event_bus(Name=name)
        self.events.put_rule(Name="changes", EventBusName=name, EventPattern=json.dumps({"source": ["lambda-ddb"]}))
        self.events.put_targets(Rule="changes", EventBusName=name, Targets=[{"Id": "queue", "Arn": queue_arn}])
        return name, self.moto, url

    # -- one run --------------------------------------------------------------------------------

    def env(self):
        return awstest.isolated_env(self.key)

    def replay(self, emu):
        return awstest.replay_to_completion(self.moto.endpoint, self.arn, emu.invoke_url, self.key)

    @staticmethod
    def killer(emu, rng, done):
        """kill -9 of the bootstrap KILLS times, a few invokes apart, some way into an invoke."""
        return awstest.start_killer(emu, rng, done, KILLS, apart=(1, 4), delay_s=(0.01, 0.3), poll_s=0.02)

    def deliver(self, sink, mode, fifo, seed):
        name = "%s-%s%s" % (sink, mode, "-fifo" if fifo else "")
        target, upstream, url = self.target(sink, name, fifo)
        rng = random.Random(seed)
        env = self.env()
        env.update(LR_SINK=sink, LR_SINK_TARGET=target, LR_BATCH_MODE=mode, LR_LOG_RECORDS="none",
                   AWS_LAMBDA_LOG_FORMAT="JSON", AWS_MAX_ATTEMPTS="1")
        done = threading.Event()
        started = time.monotonic()
        with faultproxy.FaultProxy(upstream.endpoint, seed=seed, rates=RATES, credentials=self.key,
                                   keep_answers=True) as proxy:
            env["AWS_ENDPOINT_URL_" + sink.upper()] = proxy.url
            consumer = Consumer(upstream, self.key, url, READERS, fifo)
            try:
                with lrtest.Emulator(env=env, timeout_ms=60000) as emu:
                    thread, killed = self.killer(emu, rng, done)
                    proc, lines = self.replay(emu)
                    done.set()
                    thread.join()
                    stats, logs = emu.stats(), emu.logs()
            finally:
                got = consumer.finish()
            counts, answers = dict(proxy.counts), proxy.answers
        delivered_s = time.monotonic() - started
        awstest.check_output(self, logs + proc.stdout + proc.stderr, secrets=(self.key[1],))
        self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
        self.assertEqual(lines[-1]["summary"]["discarded"], [])

        # The invariant: every change landed, as itself.
        ids = [r["eventID"] for r in got]
        missing = set(self.stream) - set(ids)
        acks = acknowledged(answers)
        if missing:  # who lost them: the target acknowledged them (moto or the queue's reading), or not
            acked = sum(1 for m in missing if acks[m])
            self.fail("%d of %d changes never reached the %s target, e.g. %s; of them, acknowledged by the "
                      "target: %d, never acknowledged: %d"
                      % (len(missing), len(self.stream), name, ["%s (acknowledged %d time(s))" % (m, acks[m])
                                                                for m in sorted(missing)[:5]],
                         acked, len(missing) - acked))
        self.assertEqual(set(ids) - set(self.stream), set())
        self.assertEqual(set(ids) - set(acks), set(), "received, but the target never acknowledged them")
        for r in got:
            self.assertEqual((int(r["sequenceNumber"]), r["keys"]["id"]), self.stream[r["eventID"]])
        # FIFO: per key, first arrivals in stream order.
        if fifo:
            seen, per_key = set(), {}
            for r in got:
                if r["eventID"] not in seen:
                    seen.add(r["eventID"])
                    per_key.setdefault(r["keys"]["id"], []).append(int(r["sequenceNumber"]))
            disorder = {k: s for k, s in per_key.items() if s != sorted(s)}
            self.assertEqual(len(disorder), 0, "the changes of %d keys arrived out of order on %s, e.g. (sequence "
                             "numbers in receive order) %s" % (len(disorder), name, sorted(disorder.items())[:3]))
            self.assertTrue(any(len(s) >= 5 for s in per_key.values()))

        print("%s: %d changes, %d messages (%d duplicates), %d deliveries, %d calls, %d partial, %.1f s"
              % (name, len(self.stream), len(got), len(got) - len(set(ids)), sum(1 for x in lines if "delivery" in x),
                 counts["requests"], counts["partial"], delivered_s), flush=True)

        # The faults happened and reached the records: every kind fired, the sink sent failed
        # entries again, records were reported failed and re-delivered from their checkpoint, and
        # killed invokes were delivered again.
        for kind in RATES:
            self.assertGreater(counts[kind], 0, counts)
        metrics = [json.loads(x) for x in logs.splitlines() if x.startswith("{") and '"SinkWritesRetried"' in x]
        self.assertGreater(sum(m["SinkWritesRetried"] for m in metrics), 0)
        deliveries = [x for x in lines if "delivery" in x]
        self.assertTrue(any(d["result"] == "partial" for d in deliveries), "no batch reported a failed record")
        self.assertGreaterEqual(stats["crashes"], 1, stats)
        self.assertEqual(len(killed), KILLS)
        self.assertTrue(any(d.get("errorType") == "Runtime.ExitError" for d in deliveries))
        self.assertIn("record failed: ", logs)

    # The proxy's seeds: each draws every kind of RATES within its first 45 requests (faultproxy's draws
    # go by arrival number), and a run makes at least 84 calls (850 records, 10 a call), so every kind
    # fires in every run whatever the timing.

    def test_sqs_ordered(self):
        self.deliver("sqs", "ordered", fifo=False, seed=21)

    def test_sqs_continue(self):
        self.deliver("sqs", "continue", fifo=False, seed=23)

    def test_sqs_fifo_ordered(self):
        self.deliver("sqs", "ordered", fifo=True, seed=30)

    def test_sqs_fifo_continue(self):
        self.deliver("sqs", "continue", fifo=True, seed=31)

    def test_sns_ordered(self):
        self.deliver("sns", "ordered", fifo=False, seed=32)

    def test_sns_continue(self):
        self.deliver("sns", "continue", fifo=False, seed=33)

    def test_sns_fifo_ordered(self):
        self.deliver("sns", "ordered", fifo=True, seed=35)

    def test_sns_fifo_continue(self):
        self.deliver("sns", "continue", fifo=True, seed=37)

    def test_eventbridge_ordered(self):
        self.deliver("eventbridge", "ordered", fifo=False, seed=38)

    def test_eventbridge_continue(self):
        self.deliver("eventbridge", "continue", fifo=False, seed=39)


if __name__ == "__main__":
    unittest.main()

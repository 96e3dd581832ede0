"""faultproxy.FaultProxy in front of moto_server with IAM authentication on (every request must carry a
valid SigV4 signature of a key moto knows), driven by boto3 with retries off: each fault kind reaches
the client as the service would send it; a partial BatchWriteItem leaves moto with exactly the writes
not reported back as UnprocessedItems (the changed request signed again, or refused by moto when the
proxy has no credentials); with every rate at 0 the proxy is transparent; the same seed gives the same
faults; the program form works and prints its counters.

The message services too (MessageServicesThroughTheProxy): SQS (JSON), SNS (query protocol, XML
answers) and EventBridge (JSON 1.1) get their own error shapes, which boto3 parses to the right code,
status and fault; `throughput` leaves them alone; resets reach them as for DynamoDB; and a partial
SendMessageBatch, PublishBatch or PutEvents leaves moto with exactly the entries the answer reports as
done (read back from an SQS queue: the queue itself, the queue subscribed to the topic, the queue a
rule of the bus targets), the others reported failed in the service's own terms."""

import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import awstest
import lrtest
from faultproxy import FaultProxy

HERE = os.path.dirname(os.path.abspath(__file__))


def key(pk):
    return {"pk": {"S": pk}}


@unittest.skipIf(awstest.moto_missing(), str(awstest.moto_missing()))
class MotoBehindAProxy:
    """For test classes whose setUpClass starts cls.moto and sets cls.creds: proxies in front of it."""

    @classmethod
    def tearDownClass(cls):
        cls.moto.close()

    def proxy(self, **kw):
        kw.setdefault("credentials", self.creds)
        p = FaultProxy(self.moto.endpoint, **kw)
        self.addCleanup(p.close)
        return p


class FaultProxyOnMoto(MotoBehindAProxy, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Three unauthenticated actions: the IAM user's.
        cls.moto = awstest.Moto(INITIAL_NO_AUTH_ACTION_COUNT="3")
        try:
            cls.creds = cls.moto.iam_user("faults")
            cls.direct = cls.moto.client("dynamodb", *cls.creds)
            for table in ("a", "b"):
                cls.direct.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
        except BaseException:
            cls.moto.close()
            raise

    def client(self, proxy, secret=None):
        import boto3
        from botocore.config import Config
        return boto3.client("dynamodb", endpoint_url=proxy.url, region_name="us-east-1",
                            aws_access_key_id=self.creds[0], aws_secret_access_key=secret or self.creds[1],
                            config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30))

    def assertSignatureRefused(self, error):
        # moto answers a DynamoDB call whose signature it rejects with its XML error document.
        self.assertEqual(error.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        self.assertIn("<Code>SignatureDoesNotMatch</Code>", error.response["Error"]["Message"])

    def keys_in(self, table):
        items = self.direct.scan(TableName=table, ConsistentRead=True)["Items"]
        return {i["pk"]["S"] for i in items}

    def clear(self, *tables):
        for t in tables:
            for pk in self.keys_in(t):
                self.direct.delete_item(TableName=t, Key=key(pk))

    # -- transparent ------------------------------------------------------------------------------

    def test_all_rates_zero_is_transparent(self):
        self.clear("a")
        p = self.proxy(seed=1, rates={k: 0.0 for k in ("throughput", "throttling", "internal", "reset",
                                                       "reset_mid_body", "partial")}, credentials=None)
        c = self.client(p)
        c.put_item(TableName="a", Item=dict(key("x"), n={"N": "1.50"}, b={"B": b"\x00\xff"}))
        writes = [{"PutRequest": {"Item": key("w%02d" % i)}} for i in range(25)]
        self.assertEqual(c.batch_write_item(RequestItems={"a": writes})["UnprocessedItems"], {})
        self.assertEqual(c.get_item(TableName="a", Key=key("x"), ConsistentRead=True)["Item"],
                         self.direct.get_item(TableName="a", Key=key("x"), ConsistentRead=True)["Item"])
        self.assertEqual(self.keys_in("a"), {"x"} | {"w%02d" % i for i in range(25)})
        desc = c.describe_table(TableName="a")["Table"]
        self.assertEqual(desc["KeySchema"], [{"AttributeName": "pk", "KeyType": "HASH"}])
        # moto checks every signature: the proxy passed the client's headers on intact. A wrong
        # secret is refused by moto, and its answer reaches the client unchanged.
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            self.client(p, secret=self.creds[1][:-4] + "AAAA").list_tables()
        self.assertSignatureRefused(cm.exception)
        self.assertEqual(p.counts["requests"], 5)
        self.assertEqual(p.counts["forwarded"], 5)
        self.assertEqual([k for k in ("throughput", "throttling", "internal", "reset", "reset_mid_body",
                                      "partial") if p.counts[k]], [])
        self.assertEqual([e[2] for e in p.events], [None] * 5)

    # -- each kind --------------------------------------------------------------------------------

    def test_error_answers_have_the_services_shape(self):
        from botocore.exceptions import ClientError
        for kind, status, code in (("throughput", 400, "ProvisionedThroughputExceededException"),
                                   ("throttling", 400, "ThrottlingException"),
                                   ("internal", 500, "InternalServerError")):
            self.clear("a")
            p = self.proxy(seed=2, rates={kind: 1.0})
            with self.assertRaises(ClientError) as cm:
                self.client(p).put_item(TableName="a", Item=key(kind))
            r = cm.exception.response
            self.assertEqual((r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]), (code, status), kind)
            self.assertEqual(r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"], code)
            self.assertEqual(r["ResponseMetadata"]["HTTPHeaders"]["content-type"], "application/x-amz-json-1.0")
            self.assertEqual(r["ResponseMetadata"]["RetryAttempts"], 0)
            self.assertEqual(self.keys_in("a"), set(), kind)  # never reached moto
            self.assertEqual((p.counts[kind], p.counts["requests"], p.counts["forwarded"]), (1, 1, 0))

    def test_reset_before_the_answer_and_nothing_applied(self):
        from botocore.exceptions import ConnectionClosedError, HTTPClientError
        self.clear("a")
        p = self.proxy(seed=3, rates={"reset": 1.0})
        with self.assertRaises(HTTPClientError) as cm:
            self.client(p).put_item(TableName="a", Item=key("r"))
        self.assertIsInstance(cm.exception, ConnectionClosedError)
        self.assertEqual(self.keys_in("a"), set())
        self.assertEqual((p.counts["reset"], p.counts["forwarded"]), (1, 0))

    def test_reset_mid_body_after_moto_applied_the_request(self):
        from botocore.exceptions import BotoCoreError
        self.clear("a")
        p = self.proxy(seed=4, rates={"reset_mid_body": 1.0})
        # A put whose answer has a body to cut: ReturnValues brings the old item back.
        self.direct.put_item(TableName="a", Item=dict(key("m"), v={"S": "old" * 50}))
        with self.assertRaises(BotoCoreError):
            self.client(p).put_item(TableName="a", Item=dict(key("m"), v={"S": "new"}), ReturnValues="ALL_OLD")
        got = self.direct.get_item(TableName="a", Key=key("m"), ConsistentRead=True)["Item"]
        self.assertEqual(got["v"], {"S": "new"})  # applied, though the client saw a failure
        self.assertEqual((p.counts["reset_mid_body"], p.counts["forwarded"]), (1, 1))
        # botocore reports it as a closed connection; underneath, the status line, the headers and
        # half of the body arrived (here moto's error answer to an unsigned call), then the reset.
        def unsigned_call(port):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            self.addCleanup(conn.close)
            conn.request("POST", "/", body=b"{}", headers={"Content-Type": "application/x-amz-json-1.0",
                                                           "X-Amz-Target": "DynamoDB_20120810.ListTables"})
            return conn.getresponse()
        direct = unsigned_call(self.moto.port)
        direct.read()
        resp = unsigned_call(p.port)
        length, got = int(resp.getheader("Content-Length")), b""
        with self.assertRaises((http.client.IncompleteRead, ConnectionResetError)):
            while len(got) < length:
                chunk = resp.read1(length - len(got))
                if not chunk:
                    raise http.client.IncompleteRead(got, length - len(got))
                got += chunk
        self.assertEqual(resp.status, direct.status)
        self.assertEqual(len(got), length // 2)
        self.assertEqual(p.counts["reset_mid_body"], 2)

    # -- partial BatchWriteItem -------------------------------------------------------------------

    def test_partial_batch_applied_and_unprocessed_are_complementary(self):
        for seed in range(8):
            self.clear("a", "b")
            # Deletes of items that exist, so that an applied delete shows as well as an applied put.
            for pk in ("d%d" % i for i in range(6)):
                self.direct.put_item(TableName="b", Item=key(pk))
            request = {"a": [{"PutRequest": {"Item": dict(key("p%02d" % i), seed={"N": str(seed)})}}
                             for i in range(19)],
                       "b": [{"DeleteRequest": {"Key": key("d%d" % i)}} for i in range(6)]}
            p = self.proxy(seed=seed, rates={"partial": 1.0})
            resp = self.client(p).batch_write_item(RequestItems=request)
            unprocessed = resp["UnprocessedItems"]
            left = {t: [json.dumps(w, sort_keys=True) for w in ws] for t, ws in unprocessed.items()}
            sent = {t: [json.dumps(w, sort_keys=True) for w in ws] for t, ws in request.items()}
            # Every unprocessed write is one of the request's, once.
            for t, ws in left.items():
                self.assertEqual(len(ws), len(set(ws)))
                self.assertTrue(set(ws) <= set(sent[t]), seed)
            n_left = sum(len(ws) for ws in left.values())
            self.assertTrue(1 <= n_left <= 24, (seed, n_left))  # a non-empty proper subset
            # Applied: the puts now in "a", and the deletes whose item is gone from "b".
            put_left = {w["PutRequest"]["Item"]["pk"]["S"] for w in unprocessed.get("a", [])}
            del_left = {w["DeleteRequest"]["Key"]["pk"]["S"] for w in unprocessed.get("b", [])}
            all_puts = {"p%02d" % i for i in range(19)}
            all_dels = {"d%d" % i for i in range(6)}
            self.assertEqual(self.keys_in("a"), all_puts - put_left, seed)
            self.assertEqual(self.keys_in("b"), del_left, seed)  # deleted exactly the applied ones
            self.assertEqual((p.counts["partial"], p.counts["partial_applied"], p.counts["partial_unprocessed"]),
                             (1, 25 - n_left, n_left))
            # Resending the unprocessed writes completes the batch.
            if unprocessed:
                self.assertEqual(self.direct.batch_write_item(RequestItems=unprocessed)["UnprocessedItems"], {})
            self.assertEqual((self.keys_in("a"), self.keys_in("b")), (all_puts, set()))
            self.assertTrue(all_dels)

    def test_kept_answers_are_what_moto_was_sent_and_answered(self):
        from botocore.exceptions import ClientError
        self.clear("a")
        self.assertIsNone(self.proxy(seed=1).answers)  # off unless asked for
        p = self.proxy(seed=2, rates={"internal": 0.5, "partial": 0.5}, keep_answers=True)  # 4 partial, 2 internal
        writes = [{"PutRequest": {"Item": key("k%d" % i)}} for i in range(6)]
        for _ in range(6):
            try:
                self.client(p).batch_write_item(RequestItems={"a": writes})
            except ClientError:  # the internal errors: they never reach moto
                pass
        self.assertEqual((p.counts["internal"] + p.counts["partial"], p.counts["forwarded"]), (6, len(p.answers)))
        self.assertTrue(p.counts["internal"] and p.counts["partial"], p.counts)
        # What moto got (a split call's forwarded part) and its own answer, before the proxy's merge.
        sizes = sorted(len(json.loads(body)["RequestItems"]["a"]) for _, body, _, _ in p.answers)
        self.assertEqual(sum(6 - n for n in sizes), p.counts["partial_unprocessed"])
        for operation, _, status, answer in p.answers:
            self.assertEqual((operation, status, json.loads(answer)["UnprocessedItems"]),
                             ("BatchWriteItem", "200 OK", {}))

    def test_partial_needs_credentials_to_sign_again_when_moto_checks(self):
        from botocore.exceptions import ClientError
        self.clear("a")
        p = self.proxy(seed=5, rates={"partial": 1.0}, credentials=None)
        with self.assertRaises(ClientError) as cm:
            self.client(p).batch_write_item(RequestItems={"a": [{"PutRequest": {"Item": key("s%d" % i)}}
                                                                for i in range(4)]})
        self.assertSignatureRefused(cm.exception)
        self.assertEqual(self.keys_in("a"), set())

    def test_a_single_write_is_not_split(self):
        self.clear("a")
        p = self.proxy(seed=6, rates={"partial": 1.0})
        resp = self.client(p).batch_write_item(RequestItems={"a": [{"PutRequest": {"Item": key("one")}}]})
        self.assertEqual(resp["UnprocessedItems"], {})
        self.assertEqual(self.keys_in("a"), {"one"})
        self.assertEqual((p.counts["partial"], p.counts["forwarded"]), (0, 1))

    # -- rates, seeds, operations -----------------------------------------------------------------

    def run_mix(self, seed, n):
        from botocore.exceptions import BotoCoreError, ClientError
        rates = {"throughput": 0.1, "throttling": 0.1, "internal": 0.1, "reset": 0.1, "reset_mid_body": 0.1}
        p = self.proxy(seed=seed, rates=rates)
        c = self.client(p)
        outcomes = []
        for _ in range(n):
            try:
                c.list_tables()
                outcomes.append("ok")
            except ClientError as e:
                outcomes.append(e.response["Error"]["Code"])
            except BotoCoreError as e:
                outcomes.append(type(e).__name__)
        return p, outcomes

    def test_a_seed_gives_the_same_faults_at_the_rates_asked(self):
        p1, o1 = self.run_mix(11, 200)
        p2, o2 = self.run_mix(11, 200)
        self.assertEqual(p1.events, p2.events)
        self.assertEqual(o1, o2)
        _, o3 = self.run_mix(12, 200)
        self.assertNotEqual(o1, o3)
        # Binomial(200, 0.1) per kind and (200, 0.5) for "ok": far outside these bounds is a bug.
        for kind in ("throughput", "throttling", "internal", "reset", "reset_mid_body"):
            self.assertTrue(5 <= p1.counts[kind] <= 40, (kind, p1.counts))
        self.assertTrue(70 <= o1.count("ok") <= 130, o1.count("ok"))
        self.assertEqual(o1.count("ProvisionedThroughputExceededException"), p1.counts["throughput"])
        self.assertEqual(o1.count("InternalServerError"), p1.counts["internal"])
        self.assertEqual(p1.counts["forwarded"], o1.count("ok") + p1.counts["reset_mid_body"])

    def test_operations_limit_the_faults(self):
        from botocore.exceptions import ClientError
        self.clear("a")
        p = self.proxy(seed=7, rates={"throughput": 1.0}, operations={"BatchWriteItem"})
        c = self.client(p)
        c.put_item(TableName="a", Item=key("kept"))
        with self.assertRaises(ClientError):
            c.batch_write_item(RequestItems={"a": [{"PutRequest": {"Item": key("lost")}}]})
        self.assertEqual(self.keys_in("a"), {"kept"})
        self.assertEqual([(e[1], e[2]) for e in p.events], [("PutItem", None), ("BatchWriteItem", "throughput")])

    def test_program_form_prints_its_counters(self):
        from botocore.exceptions import ClientError
        with tempfile.TemporaryDirectory(prefix="faultproxy-") as tmp:
            port_file = os.path.join(tmp, "port")
            env = awstest.base_env(AWS_ACCESS_KEY_ID=self.creds[0], AWS_SECRET_ACCESS_KEY=self.creds[1])
            proc = subprocess.Popen([sys.executable, os.path.join(HERE, "faultproxy.py"), "--upstream",
                                     self.moto.endpoint, "--seed", "1", "--rate", "throttling=1",
                                     "--port-file", port_file], env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
            try:
                limit = time.monotonic() + 30
                while not os.path.exists(port_file):
                    self.assertIsNone(proc.poll(), proc.stderr.read() if proc.poll() is not None else "")
                    self.assertLess(time.monotonic(), limit)
                    time.sleep(0.05)

                with open(port_file) as f:
                    port = f.read().strip()

                class At:
                    url = "http://127.0.0.1:%s" % port
                with self.assertRaises(ClientError) as cm:
                    self.client(At).list_tables()
                self.assertEqual(cm.exception.response["Error"]["Code"], "ThrottlingException")
                proc.send_signal(signal.SIGTERM)
                out, err = proc.communicate(timeout=30)
            finally:
                lrtest.end_process(proc)
        self.assertEqual(proc.returncode, 0, err)
        counts = json.loads(out)
        self.assertEqual((counts["requests"], counts["throttling"], counts["forwarded"]), (1, 1, 0))
        awstest.check_output(self, (out + err).decode(), secrets=self.creds)


HELD = "faultproxy: this entry was held back (partial)"
# Message texts that the query protocol's form encoding must carry intact through a split.
TEXTS = ["plain", "with space", "a+b=c&d", "caf\u00e9 \u4e2d \U0001f600", "<xml> & 'quotes'", "100%", "~tilde~",
         "line\nbreak", "{\"json\": [1, 2]}", "last one"]


@unittest.skipIf(awstest.moto_missing(), str(awstest.moto_missing()))
class MessageServicesThroughTheProxy(MotoBehindAProxy, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = awstest.Moto(INITIAL_NO_AUTH_ACTION_COUNT="3")
        try:
            cls.creds = cls.moto.iam_user("messages")
            cls.sqs = cls.moto.client("sqs", *cls.creds)
            cls.sns = cls.moto.client("sns", *cls.creds)
            cls.events = cls.moto.client("events", *cls.creds)
            cls.made = 0
        except BaseException:
            cls.moto.close()
            raise

    def client(self, service, proxy):
        import boto3
        from botocore.config import Config
        return boto3.client(service, endpoint_url=proxy.url, region_name="us-east-1",
                            aws_access_key_id=self.creds[0], aws_secret_access_key=self.creds[1],
                            config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30))

    def name(self, prefix):
        type(self).made += 1
        return "%s-%d" % (prefix, self.made)

    def queue(self):
        """A fresh queue: (URL, ARN)."""
        url = self.sqs.create_queue(QueueName=self.name("q"))["QueueUrl"]
        return url, self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def topic(self):
        """A fresh topic with a fresh queue subscribed (raw delivery): (topic ARN, queue URL)."""
        arn = self.sns.create_topic(Name=self.name("t"))["TopicArn"]
        url, queue_arn = self.queue()
        self.sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn,
                           Attributes={"RawMessageDelivery": "true"})
        return arn, url

    def bus(self):
        """A fresh event bus whose rule sends every event of Source "faults" to a fresh queue: (bus, URL)."""
        bus = self.name("bus")
        self.events.create_event_bus(Name=bus)
        url, queue_arn = self.queue()
        self.events.put_rule(Name="all", EventBusName=bus, EventPattern=json.dumps({"source": ["faults"]}))
        self.events.put_targets(Rule="all", EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn}])
        return bus, url

    def received(self, url):
        """Every message in the queue (read directly from moto): [{"Body", "MessageAttributes"?}]."""
        out = []
        while True:
            got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600,
                                           MessageAttributeNames=["All"]).get("Messages", [])
            if not got:
                return out
            out += got

    def calls(self):
        """(service, a call of it through client c that puts one message or event, where it lands)."""
        q, _ = self.queue()
        t, tq = self.topic()
        b, bq = self.bus()
        return (("sqs", lambda c: c.send_message(QueueUrl=q, MessageBody="x"), q),
                ("sns", lambda c: c.publish(TopicArn=t, Message="x"), tq),
                ("events", lambda c: c.put_events(Entries=[{"Source": "faults", "DetailType": "d", "Detail": "{}",
                                                              "EventBusName": b}]), bq))

    # -- error answers ----------------------------------------------------------------------------

    def test_error_answers_have_each_services_shape(self):
        from botocore.exceptions import ClientError
        expected = {  # (service, kind): (status, code, content type, fault type or None)
            ("sqs", "throttling"): (400, "ThrottlingException", "application/x-amz-json-1.0", "Sender"),
            ("sqs", "internal"): (500, "InternalFailure", "application/x-amz-json-1.0", "Receiver"),
            ("sns", "throttling"): (400, "Throttling", "text/xml", "Sender"),
            ("sns", "internal"): (500, "InternalError", "text/xml", "Receiver"),
            ("events", "throttling"): (400, "ThrottlingException", "application/x-amz-json-1.1", None),
            ("events", "internal"): (500, "InternalException", "application/x-amz-json-1.1", None),
        }
        for kind in ("throttling", "internal"):
            p = self.proxy(seed=21, rates={kind: 1.0})
            for service, call, lands_in in self.calls():
                status, code, ctype, fault = expected[(service, kind)]
                with self.assertRaises(ClientError) as cm:
                    call(self.client(service, p))
                r = cm.exception.response
                self.assertEqual((r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]), (code, status),
                                 (service, kind))
                self.assertTrue(r["Error"]["Message"], (service, kind))
                self.assertEqual(r["Error"].get("Type"), fault, (service, kind))
                headers = r["ResponseMetadata"]["HTTPHeaders"]
                self.assertEqual(headers["content-type"], ctype)
                self.assertTrue(r["ResponseMetadata"]["RequestId"])
                if service == "sqs":  # the JSON protocol's answer to a query-compatible client
                    self.assertEqual(headers["x-amzn-query-error"], "%s;%s" % (code, fault))
                    self.assertEqual(r["Error"]["QueryErrorCode"], code)
                self.assertEqual(self.received(lands_in), [], (service, kind))  # never reached moto
            self.assertEqual((p.counts[kind], p.counts["requests"], p.counts["forwarded"]), (3, 3, 0))
            self.assertEqual([e[1] for e in p.events], ["SendMessage", "Publish", "PutEvents"])

    def test_throughput_is_dynamodb_only(self):
        p = self.proxy(seed=22, rates={"throughput": 1.0})
        for service, call, lands_in in self.calls():
            call(self.client(service, p))
            self.assertEqual(len(self.received(lands_in)), 1, service)
        self.assertEqual((p.counts["throughput"], p.counts["forwarded"]), (0, 3))
        self.assertEqual([e[2] for e in p.events], [None] * 3)

    def test_resets(self):
        from botocore.exceptions import BotoCoreError, ConnectionClosedError
        p = self.proxy(seed=23, rates={"reset": 1.0})
        for service, call, lands_in in self.calls():
            with self.assertRaises(ConnectionClosedError):
                call(self.client(service, p))
            self.assertEqual(self.received(lands_in), [], service)
        p = self.proxy(seed=24, rates={"reset_mid_body": 1.0})
        for service, call, lands_in in self.calls():
            with self.assertRaises(BotoCoreError):
                call(self.client(service, p))
            self.assertEqual(len(self.received(lands_in)), 1, service)  # applied, though the client failed
        self.assertEqual((p.counts["reset_mid_body"], p.counts["forwarded"]), (3, 3))

    def test_operations_pick_the_batch_calls_of_every_service(self):
        from botocore.exceptions import ClientError
        p = self.proxy(seed=25, rates={"throttling": 1.0},
                       operations={"SendMessageBatch", "PublishBatch", "PutEvents"})
        (_, send, _), (_, publish, _), (_, put_events, _) = self.calls()
        q, _ = self.queue()
        t, _ = self.topic()
        send(self.client("sqs", p))
        publish(self.client("sns", p))
        with self.assertRaises(ClientError):
            self.client("sqs", p).send_message_batch(QueueUrl=q, Entries=[{"Id": "a", "MessageBody": "x"}])
        with self.assertRaises(ClientError):
            self.client("sns", p).publish_batch(TopicArn=t, PublishBatchRequestEntries=[{"Id": "a", "Message": "x"}])
        with self.assertRaises(ClientError):
            put_events(self.client("events", p))
        self.assertEqual([(e[1], e[2]) for e in p.events],
                         [("SendMessage", None), ("Publish", None), ("SendMessageBatch", "throttling"),
                          ("PublishBatch", "throttling"), ("PutEvents", "throttling")])

    # -- partial batch calls ----------------------------------------------------------------------

    def check_split(self, p, done, failed, n=10):
        """done and failed: the entries' positions; a non-empty proper split of range(n), counted."""
        self.assertEqual(sorted(done + failed), list(range(n)))
        self.assertTrue(1 <= len(failed) <= n - 1, failed)
        self.assertEqual((p.counts["partial"], p.counts["partial_applied"], p.counts["partial_unprocessed"]),
                         (1, len(done), len(failed)))

    def test_partial_send_message_batch(self):
        for seed in range(5):
            url, _ = self.queue()
            p = self.proxy(seed=seed, rates={"partial": 1.0})
            entries = [{"Id": "m%d" % i, "MessageBody": TEXTS[i],
                        "MessageAttributes": {"n": {"DataType": "Number", "StringValue": str(i)}}} for i in range(10)]
            resp = self.client("sqs", p).send_message_batch(QueueUrl=url, Entries=entries)
            done = [int(e["Id"][1:]) for e in resp["Successful"]]
            failed = [int(e["Id"][1:]) for e in resp["Failed"]]
            self.check_split(p, done, failed)
            for f in resp["Failed"]:
                self.assertEqual((f["SenderFault"], f["Code"], f["Message"]), (False, "InternalError", HELD))
            got = self.received(url)
            self.assertEqual(sorted(int(m["MessageAttributes"]["n"]["StringValue"]) for m in got), sorted(done), seed)
            self.assertEqual(sorted(m["Body"] for m in got), sorted(TEXTS[i] for i in done))
            # Sending the failed ones again completes the batch.
            again = self.sqs.send_message_batch(QueueUrl=url, Entries=[entries[i] for i in failed])
            self.assertEqual(again["Failed"], [])
            self.assertEqual(sorted(m["Body"] for m in got + self.received(url)), sorted(TEXTS))

    def test_partial_publish_batch(self):
        for seed in range(5):
            topic, url = self.topic()
            p = self.proxy(seed=seed, rates={"partial": 1.0})
            entries = [{"Id": "m%d" % i, "Message": TEXTS[i],
                        "MessageAttributes": {"n": {"DataType": "String", "StringValue": "n %d" % i},
                                              "text": {"DataType": "String", "StringValue": TEXTS[i]}}}
                       for i in range(10)]
            resp = self.client("sns", p).publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
            done = [int(e["Id"][1:]) for e in resp["Successful"]]
            failed = [int(e["Id"][1:]) for e in resp["Failed"]]
            self.check_split(p, done, failed)
            for f in resp["Failed"]:
                self.assertEqual((f["SenderFault"], f["Code"], f["Message"]), (False, "InternalError", HELD))
            # Each forwarded member kept its own fields through the renumbering.
            got = self.received(url)
            self.assertEqual(sorted(m["MessageAttributes"]["n"]["StringValue"] for m in got),
                             sorted("n %d" % i for i in done), seed)
            for m in got:
                i = int(m["MessageAttributes"]["n"]["StringValue"][2:])
                self.assertEqual((m["Body"], m["MessageAttributes"]["text"]["StringValue"]), (TEXTS[i], TEXTS[i]))

    def test_partial_put_events_keeps_the_positions(self):
        for seed in range(5):
            bus, url = self.bus()
            p = self.proxy(seed=seed, rates={"partial": 1.0})
            entries = [{"Source": "faults", "DetailType": "d", "Detail": json.dumps({"i": i, "text": TEXTS[i]}),
                        "EventBusName": bus} for i in range(10)]
            resp = self.client("events", p).put_events(Entries=entries)
            self.assertEqual(len(resp["Entries"]), 10)
            done = [i for i, e in enumerate(resp["Entries"]) if "EventId" in e]
            failed = [i for i, e in enumerate(resp["Entries"]) if "ErrorCode" in e]
            self.check_split(p, done, failed)
            self.assertEqual(resp["FailedEntryCount"], len(failed))
            for i in failed:
                self.assertEqual(resp["Entries"][i], {"ErrorCode": "ThrottlingException", "ErrorMessage": HELD})
            got = [json.loads(m["Body"]) for m in self.received(url)]
            self.assertEqual(sorted(g["detail"]["i"] for g in got), done, seed)
            for g in got:  # the event at position i is the request's entry i
                self.assertEqual(g["detail"]["text"], TEXTS[g["detail"]["i"]])
                self.assertIn(g["id"], {resp["Entries"][i]["EventId"] for i in done})

    def test_a_batch_of_one_is_not_split(self):
        q, _ = self.queue()
        topic, tq = self.topic()
        bus, bq = self.bus()
        p = self.proxy(seed=26, rates={"partial": 1.0})
        self.assertEqual(self.client("sqs", p).send_message_batch(
            QueueUrl=q, Entries=[{"Id": "a", "MessageBody": "x"}])["Failed"], [])
        self.assertEqual(self.client("sns", p).publish_batch(
            TopicArn=topic, PublishBatchRequestEntries=[{"Id": "a", "Message": "x"}])["Failed"], [])
        self.assertEqual(self.client("events", p).put_events(Entries=[
            {"Source": "faults", "DetailType": "d", "Detail": "{}", "EventBusName": bus}])["FailedEntryCount"], 0)
        self.assertEqual([len(self.received(u)) for u in (q, tq, bq)], [1, 1, 1])
        self.assertEqual((p.counts["partial"], p.counts["forwarded"]), (0, 3))


if __name__ == "__main__":
    unittest.main()

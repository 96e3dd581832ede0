"""faultproxy.FaultProxy in front of moto_server with IAM authentication on (every request must carry a
valid SigV4 signature of a key moto knows), driven by boto3 with retries off: each fault kind reaches
the client as the service would send it; a partial BatchWriteItem leaves moto with exactly the writes
not reported back as UnprocessedItems (the changed request signed again, or refused by moto when the
proxy has no credentials); with every rate at 0 the proxy is transparent; the same seed gives the same
faults; the program form works and prints its counters."""

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
class FaultProxyOnMoto(unittest.TestCase):
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

    @classmethod
    def tearDownClass(cls):
        cls.moto.close()

    def proxy(self, **kw):
        kw.setdefault("credentials", self.creds)
        p = FaultProxy(self.moto.endpoint, **kw)
        self.addCleanup(p.close)
        return p

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


if __name__ == "__main__":
    unittest.main()

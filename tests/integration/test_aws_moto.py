"""lr_aws against moto_server, the real service implementations, with IAM authentication on
(INITIAL_NO_AUTH_ACTION_COUNT: the setup creates a user, its access key and a role first; every later
request must be signed by a known key). DynamoDB, SQS, SNS and EventBridge over plain HTTP through the
endpoint overrides, and over TLS through a local TLS terminator (awstest.TLSProxy) with a test CA given
by SSL_CERT_FILE; boto3 reads back what our calls wrote. The same TLS call fails when the CA is not
given. Every output is checked for the keys, secrets, session token and the signatures sent."""

import json
import tempfile
import unittest

import awstest
from awstest import aws_call

ALLOW_ALL = awstest.ALLOW_ALL
TRUST_ALL = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
_why = awstest.missing_driver() or awstest.moto_missing() or awstest.pki_missing()


@unittest.skipIf(_why, str(_why))
class OnMoto(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="aws-moto-")
        cls.pki = awstest.TestPKI(cls.tmp.name)
        # Four unauthenticated actions: create_user, put_user_policy, create_access_key, create_role.
        cls.moto = awstest.Moto(INITIAL_NO_AUTH_ACTION_COUNT="4")
        cls.proxy = None
        try:
            cls.user = cls.moto.iam_user("lambda-ddb")
            role = cls.moto.client("iam").create_role(RoleName="handler", AssumeRolePolicyDocument=TRUST_ALL)["Role"]
            cls.moto.client("iam", *cls.user).put_role_policy(RoleName="handler", PolicyName="all", PolicyDocument=ALLOW_ALL)
            c = cls.moto.client("sts", *cls.user).assume_role(RoleArn=role["Arn"], RoleSessionName="handler")["Credentials"]
            # What Lambda hands a function: temporary credentials with a session token.
            cls.role = (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
            cls.proxy = awstest.TLSProxy(cls.pki.server_context(cls.pki.good), cls.moto.port)
            cls.https = "https://localhost:%d" % cls.proxy.port
            # A plain forwarder that records the signatures sent, for the output checks.
            cls.plain = awstest.TLSProxy(None, cls.moto.port)
            cls.http = "http://127.0.0.1:%d" % cls.plain.port
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for p in (cls.proxy, getattr(cls, "plain", None)):
            if p:
                p.close()
        cls.moto.close()
        cls.tmp.cleanup()

    def boto(self, service):
        return self.moto.client(service, *self.user)

    def call(self, service, op, body, *options, creds=None, **env):
        ak, sk, token = creds or self.role
        env.setdefault("AWS_ENDPOINT_URL", self.http)
        e = awstest.base_env(AWS_ACCESS_KEY_ID=ak, AWS_SECRET_ACCESS_KEY=sk, AWS_SESSION_TOKEN=token, **env)
        return aws_call(self, service, op, json.dumps(body) if isinstance(body, dict) else body, e, *options,
                        secrets=self.user + self.role)

    def ok(self, service, op, body, *options, **kw):
        res = self.call(service, op, body, *options, **kw)
        self.assertEqual(res.status, "LR_OK", res.out)
        return json.loads(res.body) if service != "sns" else res.body

    # -- authentication ---------------------------------------------------------------------------

    def test_signed_calls_accepted_wrong_secret_refused(self):
        ak, sk = self.user
        self.ok("dynamodb", "ListTables", {}, creds=(ak, sk, None))
        self.ok("dynamodb", "ListTables", {})  # role credentials and session token
        wrong = sk[:-4] + ("AAAA" if not sk.endswith("AAAA") else "BBBB")
        for creds in ((ak, wrong, None), (self.role[0], wrong, self.role[2])):
            res = self.call("dynamodb", "ListTables", {}, creds=creds)
            self.assertEqual((res.status, res.last["http"], res.last["code"]),
                             ("LR_E_AWS_SERVICE", 403, "SignatureDoesNotMatch"))
        res = self.call("sns", "-", "Action=ListTopics&Version=2010-03-31", creds=(ak, wrong, None))
        self.assertEqual((res.status, res.last["code"]), ("LR_E_AWS_SERVICE", "SignatureDoesNotMatch"))
        for token in ("x" + self.role[2][1:], None):  # a changed or missing token
            res = self.call("dynamodb", "ListTables", {}, creds=self.role[:2] + (token,))
            self.assertEqual((res.status, res.last["code"]), ("LR_E_AWS_SERVICE", "InvalidClientTokenId"))
        self.assertGreaterEqual(len(awstest.SIGNATURES), 8)  # what the outputs were checked against

    # -- the services over HTTP -------------------------------------------------------------------

    def test_dynamodb(self):
        # The per-service override wins over a global one that points nowhere.
        env = dict(AWS_ENDPOINT_URL="http://127.0.0.1:%d" % awstest.free_port(),
                   AWS_ENDPOINT_URL_DYNAMODB=self.http)
        self.ok("dynamodb", "CreateTable", {
            "TableName": "items", "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]}, **env)
        self.ok("dynamodb", "PutItem", {"TableName": "items", "Item": {"pk": {"S": "caf\u00e9"}, "n": {"N": "1"}}},
                **env)
        got = self.ok("dynamodb", "GetItem", {"TableName": "items", "Key": {"pk": {"S": "caf\u00e9"}}}, **env)
        self.assertEqual(got["Item"]["n"], {"N": "1"})
        batch = self.ok("dynamodb", "BatchWriteItem", {"RequestItems": {"items": [
            {"PutRequest": {"Item": {"pk": {"S": "b%d" % i}}}} for i in range(3)]}}, **env)
        self.assertEqual(batch["UnprocessedItems"], {})
        self.assertEqual(self.boto("dynamodb").scan(TableName="items")["Count"], 4)
        res = self.call("dynamodb", "PutItem", {"TableName": "missing", "Item": {"pk": {"S": "a"}}}, **env)
        self.assertEqual((res.status, res.last["code"]), ("LR_E_AWS_SERVICE", "ResourceNotFoundException"))

    def test_sqs(self):
        url = self.ok("sqs", "CreateQueue", {"QueueName": "sink"})["QueueUrl"]
        sent = self.ok("sqs", "SendMessageBatch", {"QueueUrl": url, "Entries": [
            {"Id": "a", "MessageBody": "first"}, {"Id": "b", "MessageBody": "second \u00e9"}]})
        self.assertEqual(sorted(e["Id"] for e in sent["Successful"]), ["a", "b"])
        got = self.boto("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        self.assertEqual(sorted(m["Body"] for m in got), ["first", "second \u00e9"])
        res = self.call("sqs", "SendMessage", {"QueueUrl": url + "-missing", "MessageBody": "x"})
        self.assertEqual((res.status, res.last["code"]), ("LR_E_AWS_SERVICE", "QueueDoesNotExist"))

    def test_sns(self):
        xml = self.ok("sns", "-", "Action=CreateTopic&Version=2010-03-31&Name=changes")
        arn = xml.split("<TopicArn>", 1)[1].split("</TopicArn>", 1)[0].strip()
        self.assertIn(":changes", arn)
        # Form-encoded as botocore does (space as '+'): moto's signature check re-encodes the body that way.
        form = ("Action=PublishBatch&Version=2010-03-31&TopicArn=%s"
                "&PublishBatchRequestEntries.member.1.Id=one&PublishBatchRequestEntries.member.1.Message=hello"
                "&PublishBatchRequestEntries.member.2.Id=two&PublishBatchRequestEntries.member.2.Message=a+b"
                % arn.replace(":", "%3A"))
        xml = self.ok("sns", "-", form)
        self.assertIn("<Successful>", xml)
        self.assertEqual(xml.count("<MessageId>"), 2)
        missing = arn.replace(":", "%3A") + "-missing"
        res = self.call("sns", "-", "Action=Publish&Version=2010-03-31&Message=x&TopicArn=" + missing)
        self.assertEqual((res.status, res.last["code"]), ("LR_E_AWS_SERVICE", "NotFound"))

    def test_eventbridge(self):
        out = self.ok("events", "PutEvents", {"Entries": [
            {"Source": "lambda-ddb", "DetailType": "change", "Detail": json.dumps({"pk": i})} for i in range(2)]})
        self.assertEqual(out["FailedEntryCount"], 0)
        self.assertEqual(len(out["Entries"]), 2)
        self.assertTrue(all("EventId" in e for e in out["Entries"]))

    # -- TLS ------------------------------------------------------------------------------------

    def test_over_tls_with_the_test_ca(self):
        before = self.proxy.connections
        res = self.call("dynamodb", "ListTables", "{}", "--repeat", "4", AWS_ENDPOINT_URL=self.https,
                        SSL_CERT_FILE=self.pki.ca)
        self.assertEqual([c["status"] for c in res.calls], ["LR_OK"] * 4)
        # moto answers "Connection: close", so each call opens a new TLS connection (reuse over TLS is
        # shown against test_aws_faults' own server).
        self.assertEqual(self.proxy.connections - before, 4)
        url = self.ok("sqs", "CreateQueue", {"QueueName": "tls"}, AWS_ENDPOINT_URL=self.https,
                      SSL_CERT_FILE=self.pki.ca)["QueueUrl"]
        self.ok("sqs", "SendMessage", {"QueueUrl": url, "MessageBody": "over tls"}, AWS_ENDPOINT_URL=self.https,
                SSL_CERT_FILE=self.pki.ca)
        self.assertIn("<ListTopicsResult>", self.ok("sns", "-", "Action=ListTopics&Version=2010-03-31",
                                                     AWS_ENDPOINT_URL_SNS=self.https, SSL_CERT_FILE=self.pki.ca))
        self.ok("events", "PutEvents", {"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}"}]},
                AWS_ENDPOINT_URL_EVENTBRIDGE=self.https, SSL_CERT_FILE=self.pki.ca)
        ak, sk = self.user
        res = self.call("dynamodb", "ListTables", "{}", creds=(ak, sk[:-1] + "#", None),
                        AWS_ENDPOINT_URL=self.https, SSL_CERT_FILE=self.pki.ca)
        self.assertEqual((res.status, res.last["code"]), ("LR_E_AWS_SERVICE", "SignatureDoesNotMatch"))

    def test_tls_fails_without_the_ca(self):
        res = self.call("dynamodb", "ListTables", "{}", AWS_ENDPOINT_URL=self.https)
        self.assertEqual((res.status, res.last["attempts"]), ("LR_E_TLS_CERT_UNTRUSTED", 1))


if __name__ == "__main__":
    unittest.main()

"""lr_aws's SigV4 signer against botocore's SigV4Auth, byte for byte, with the clock pinned: the four
request shapes our calls send (DynamoDB and SQS json-1.0, EventBridge and Firehose json-1.1, SNS query),
each with and without a session token, plus the cases that exercise the canonical form (a port in the
host, a path that needs encoding, blanks in a header value, the aws-cn partition). Each crypto backend
that is built (tests/aws: aws_sign_openssl, aws_sign_mbedtls) is checked; the signing-key cache is
exercised by signing at several times, across a change of day, in one process."""

import datetime
import os
import subprocess
import tempfile
import unittest
from unittest import mock

import lrtest

try:
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
except ImportError:  # pragma: no cover
    botocore = None

AK = "AKIDEXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQDtoken+with/slashes=="
# 2015-08-30T12:36:00Z, the same second again, then the next day: cache hit, then a miss.
TIMES = (1440938160, 1440938161, 1441024560)

JSON_BODY = b'{"TableName":"t","Item":{"pk":{"S":"caf\xc3\xa9 \\" \\u0000"},"n":{"N":"1"}}}'
SHAPES = {
    "dynamodb": ("dynamodb", "us-east-1", "https://dynamodb.us-east-1.amazonaws.com/", JSON_BODY,
                 {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.PutItem"}),
    "sqs": ("sqs", "eu-west-1", "https://sqs.eu-west-1.amazonaws.com/",
            b'{"QueueUrl":"https://sqs.eu-west-1.amazonaws.com/123456789012/q","Entries":[{"Id":"1",'
            b'"MessageBody":"hello"}]}',
            {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.SendMessageBatch"}),
    "events": ("events", "ap-southeast-2", "https://events.ap-southeast-2.amazonaws.com/",
               b'{"Entries":[{"Source":"s","DetailType":"d","Detail":"{\\"a\\":1}"}]}',
               {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSEvents.PutEvents"}),
    "firehose": ("firehose", "us-west-2", "https://firehose.us-west-2.amazonaws.com/",
                 b'{"DeliveryStreamName":"s","Records":[{"Data":"aGVsbG8="}]}',
                 {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Firehose_20150804.PutRecordBatch"}),
    "sns": ("sns", "us-east-1", "https://sns.us-east-1.amazonaws.com/",
            b"Action=PublishBatch&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3At"
            b"&PublishBatchRequestEntries.member.1.Id=1&PublishBatchRequestEntries.member.1.Message=hi%20there",
            {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}),
    # The canonical form's corners: a port in Host, a path encoded twice, blanks collapsed, aws-cn.
    "port-path-blanks-cn": ("dynamodb", "cn-north-1", "http://127.0.0.1:4566/a%20b/c~d", b"",
                            {"Content-Type": "application/x-amz-json-1.0",
                             "X-Amz-Target": "  DynamoDB_20120810.ListTables   x  "}),
}


def backends():
    found = {}
    for name in ("openssl", "mbedtls"):
        path = os.path.join(lrtest.build_dir(), "tests", "aws", "aws_sign_" + name)
        if os.access(path, os.X_OK):
            found[name] = path
    return found


def botocore_sign(service, region, url, body, headers, token, when):
    req = botocore.awsrequest.AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
    creds = botocore.credentials.Credentials(AK, SK, token)
    pinned = datetime.datetime.fromtimestamp(when, datetime.timezone.utc).replace(tzinfo=None)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=pinned):
        botocore.auth.SigV4Auth(creds, service, region).add_auth(req)
    return req.headers["X-Amz-Date"], req.headers["Authorization"]


def host_and_path(url):
    rest = url.split("://", 1)[1]
    host, _, path = rest.partition("/")
    return host, "/" + path


@unittest.skipIf(botocore is None, "botocore is not installed")
class SigV4MatchesBotocore(unittest.TestCase):
    def test_backends_built(self):
        # Both backends are Debian packages listed in scripts/apt-packages.txt: a missing one is a failure.
        self.assertEqual(sorted(backends()), ["mbedtls", "openssl"], "aws_sign_<backend> not built")

    def sign(self, tool, shape, token):
        service, region, url, body, headers = SHAPES[shape]
        host, path = host_and_path(url)
        env = dict(os.environ, AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK)
        env.pop("AWS_SESSION_TOKEN", None)
        if token:
            env["AWS_SESSION_TOKEN"] = token
        with tempfile.NamedTemporaryFile() as f:
            f.write(body)
            f.flush()
            args = [tool, ",".join(map(str, TIMES)), region, service, host, path, f.name]
            args += ["%s:%s" % (k.lower(), v) for k, v in headers.items()]
            out = subprocess.run(args, env=env, capture_output=True, check=True).stdout.decode()
        lines = out.splitlines()[1:]
        return [(lines[i].split(": ", 1)[1], lines[i + 1].split(": ", 1)[1]) for i in range(0, len(lines), 2)]

    def test_every_shape_with_and_without_token(self):
        for backend, tool in sorted(backends().items()):
            for shape, (service, region, url, body, headers) in SHAPES.items():
                for token in (None, TOKEN):
                    with self.subTest(backend=backend, shape=shape, token=bool(token)):
                        ours = self.sign(tool, shape, token)
                        theirs = [botocore_sign(service, region, url, body, headers, token, t) for t in TIMES]
                        self.assertEqual(ours, theirs)
                        if token:
                            self.assertIn("x-amz-security-token", ours[0][1])

    def test_signatures_differ_when_anything_signed_changes(self):
        # A guard against comparing two constant outputs: the body, the token and the day all count.
        tool = next(iter(backends().values()))
        a = self.sign(tool, "dynamodb", None)
        b = self.sign(tool, "dynamodb", TOKEN)
        self.assertNotEqual(a[0][1], b[0][1])
        self.assertNotEqual(a[0][1], a[2][1])
        self.assertNotEqual(a[0][1], self.sign(tool, "sqs", None)[0][1])


if __name__ == "__main__":
    unittest.main()

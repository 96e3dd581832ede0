"""lr_aws (through tools/aws_call) against a local server of this suite's own, for the answers AWS
and moto do not give on demand: each bad answer is a named error, never a crash or a hang; retries
follow the standard mode and stop before the deadline; the keep-alive connection is reused and
re-opened when the server dropped it; what is sent (headers, signature) is what the protocol wants;
no secret ever reaches the output (awstest.check_output on every run)."""

import json
import os
import tempfile
import time
import unittest

import awstest
import lrtest
from awstest import FakeAWS, aws_call, reply

OK_JSON = ("send", reply("200 OK", "{}"))
THROTTLED = ("send", reply("400 Bad Request", '{"__type":"com.amazonaws.dynamodb.v20120810#'
                           'ProvisionedThroughputExceededException","message":"slow down"}'))
FAST = ("--backoff-base-ms", "20")  # keeps retry tests short; the default (1 s) is covered by the deadline test
ITEM = '{"TableName":"t","Item":{"pk":{"S":"a"}}}'


@unittest.skipIf(awstest.missing_driver() or awstest.pki_missing(),
                 str(awstest.missing_driver() or awstest.pki_missing()))
class BadAnswers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="aws-faults-")
        cls.pki = awstest.TestPKI(cls.tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def serve(self, script, **kw):
        server = FakeAWS(script if callable(script) else (lambda n: script), **kw)
        self.addCleanup(server.close)
        return server

    def call(self, server, *options, service="dynamodb", op="PutItem", body=ITEM, **env):
        env.setdefault("AWS_ENDPOINT_URL", server.url)
        env.setdefault("AWS_SESSION_TOKEN", awstest.TOKEN)
        if lrtest.valgrind():
            # curl's connect time includes the TLS handshake, which memcheck slows past the 3 s default.
            options = ("--connect-timeout-ms", "30000") + options
        return aws_call(self, service, op, body, awstest.base_env(**env), *options)

    def test_what_is_sent(self):
        server = self.serve(OK_JSON)
        res = self.call(server)
        self.assertEqual(res.status, "LR_OK")
        line, h, body = server.requests[0]
        self.assertEqual(line, "POST / HTTP/1.1")
        self.assertEqual(body, ITEM.encode())
        self.assertEqual(h["content-type"], "application/x-amz-json-1.0")
        self.assertEqual(h["x-amz-target"], "DynamoDB_20120810.PutItem")
        self.assertEqual(h["x-amz-security-token"], awstest.TOKEN)
        self.assertEqual(h["host"], "127.0.0.1:%d" % server.port)
        self.assertNotIn("expect", h)
        self.assertRegex(h["authorization"], r"^AWS4-HMAC-SHA256 Credential=%s/\d{8}/us-east-1/dynamodb/aws4_request, "
                         r"SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
                         r"Signature=[0-9a-f]{64}$" % awstest.AK)

    def test_truncated_body(self):
        server = self.serve(("send", reply("200 OK", '{"Item":', length=100), True))
        res = self.call(server, *FAST)
        self.assertEqual((res.status, res.last["attempts"]), ("LR_E_AWS_TRUNCATED", 3))

    def test_non_json_error(self):
        html = "<html><body>502 Bad Gateway</body></html>"
        res = self.call(self.serve(("send", reply("502 Bad Gateway", html, "text/html"))), *FAST)
        self.assertEqual((res.status, res.last["http"], res.last["attempts"]), ("LR_E_AWS_BAD_ERROR", 502, 3))
        self.assertEqual(res.body, html)
        res = self.call(self.serve(("send", reply("400 Bad Request", "not json", "text/plain"))), *FAST)
        self.assertEqual((res.status, res.last["attempts"]), ("LR_E_AWS_BAD_ERROR", 1))  # 400: not retried

    def test_answer_over_the_cap(self):
        server = self.serve(("send", reply("200 OK", '{"Items":"%s"}' % ("x" * 5000))))
        res = self.call(server, "--max-response-bytes", "4096")
        self.assertEqual((res.status, res.last["attempts"]), ("LR_E_TOO_LARGE", 1))
        self.assertEqual(self.call(server, "--max-response-bytes", "8192").status, "LR_OK")

    def test_error_code_from_header(self):
        server = self.serve(("send", reply("400 Bad Request", "", extra=[
            ("x-amzn-ErrorType", "ValidationException:http://internal.amazon.com/coral/")])))
        res = self.call(server)
        self.assertEqual((res.status, res.last["code"]), ("LR_E_AWS_SERVICE", "ValidationException"))

    def test_ok_with_unparseable_body(self):
        for body in ("{\"Item\": tru", "[]", "", "\x00\xff"):
            with self.subTest(body=body):
                res = self.call(self.serve(("send", reply("200 OK", body))))
                self.assertEqual((res.status, res.last["attempts"]), ("LR_E_AWS_BAD_RESPONSE", 1))

    def test_query_protocol_errors_and_success(self):
        xml_err = ('<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameter</Code><Message>bad \x01topic'
                   '</Message></Error></ErrorResponse>')
        server = self.serve(lambda n: ("send", reply("400 Bad Request", xml_err, "text/xml")) if n == 0 else
                            ("send", reply("200 OK", "<PublishBatchResponse/>\n", "text/xml")) if n == 1 else
                            ("send", reply("200 OK", "{}", "text/xml")))
        form = "Action=PublishBatch&Version=2010-03-31&TopicArn=x"
        res = self.call(server, service="sns", op="-", body=form)
        self.assertEqual((res.status, res.last["code"], res.last["message"]),
                         ("LR_E_AWS_SERVICE", "InvalidParameter", "bad ?topic"))
        self.assertEqual(server.requests[0][1]["content-type"], "application/x-www-form-urlencoded; charset=utf-8")
        self.assertNotIn("x-amz-target", server.requests[0][1])
        self.assertEqual(self.call(server, service="sns", op="-", body=form).status, "LR_OK")
        self.assertEqual(self.call(server, service="sns", op="-", body=form).status, "LR_E_AWS_BAD_RESPONSE")

    def test_a_signature_mismatch_message_keeps_its_first_line_only(self):
        """AWS's answer to a signature mismatch goes on with the canonical request it computed, which
        holds the session token: none of it may reach the message (check_output looks for the token)."""
        first = "The request signature we calculated does not match the signature you provided."
        canonical = ("The Canonical String for this request should have been\n'POST\n/\n\n"
                     "host:127.0.0.1\nx-amz-security-token:%s\n'" % awstest.TOKEN)
        json_err = json.dumps({"__type": "InvalidSignatureException",
                               "message": first + "\n\n" + canonical.replace("\n", "\r\n")})
        xml_err = ("<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>%s"
                   "</Message></Error></ErrorResponse>")
        answers = [reply("403 Forbidden", json_err),
                   reply("403 Forbidden", xml_err % (first + "\r\n\r\n" + canonical), "text/xml"),
                   reply("403 Forbidden", xml_err % (first + "&#10;&#10;" + canonical.replace("\n", "&#10;")),
                         "text/xml")]
        server = self.serve(lambda n: ("send", answers[n]))
        form = "Action=PublishBatch&Version=2010-03-31&TopicArn=x"
        for i, (service, op, body) in enumerate([("dynamodb", "PutItem", ITEM), ("sns", "-", form),
                                                 ("sns", "-", form)]):
            with self.subTest(answer=i):
                res = self.call(server, service=service, op=op, body=body)
                self.assertEqual((res.status, res.last["message"]), ("LR_E_AWS_SERVICE", first))

    def test_reset_during_tls_handshake(self):
        server = self.serve(None, handshake_reset=True)
        res = self.call(server, *FAST, SSL_CERT_FILE=self.pki.ca)
        self.assertEqual((res.status, res.last["attempts"]), ("LR_E_TLS_HANDSHAKE", 3))
        self.assertEqual(server.connections, 3)

    def test_certificates(self):
        cases = [(self.pki.expired, "LR_E_TLS_CERT_EXPIRED"), (self.pki.other_host, "LR_E_TLS_CERT_HOST"),
                 (self.pki.good, "LR_OK")]
        for cert, status in cases:
            with self.subTest(status=status):
                server = self.serve(OK_JSON, context=self.pki.server_context(cert))
                res = self.call(server, SSL_CERT_FILE=self.pki.ca)
                self.assertEqual((res.status, res.last["attempts"]), (status, 1), res.out)  # never retried
                self.assertEqual(len(server.requests), 1 if status == "LR_OK" else 0)
        # The system bundle does not hold the test CA.
        server = self.serve(OK_JSON, context=self.pki.server_context(self.pki.good))
        self.assertEqual(self.call(server).status, "LR_E_TLS_CERT_UNTRUSTED")

    def test_no_ca_bundle_is_an_error_of_the_first_call(self):
        server = self.serve(OK_JSON, context=self.pki.server_context(self.pki.good))
        res = self.call(server, SSL_CERT_FILE=os.path.join(self.tmp.name, "missing.pem"))
        self.assertEqual((res.status, res.last["attempts"]), ("LR_E_TLS_CA_BUNDLE", 0))
        self.assertEqual(server.connections, 0)

    def test_configuration_errors(self):
        server = self.serve(OK_JSON)
        self.assertEqual(self.call(server, AWS_REGION="").status, "LR_E_AWS_CONFIG")
        self.assertEqual(self.call(server, AWS_SECRET_ACCESS_KEY="").status, "LR_E_AWS_CREDENTIALS")
        self.assertEqual(self.call(server, AWS_ENDPOINT_URL="localhost:1").status, "LR_E_AWS_CONFIG")
        self.assertEqual(server.connections, 0)

    def test_throttling_retried_then_success(self):
        server = self.serve(lambda n: THROTTLED if n < 2 else OK_JSON)
        res = self.call(server, *FAST)
        self.assertEqual((res.status, res.last["attempts"]), ("LR_OK", 3))
        self.assertIn("ProvisionedThroughputExceededException", res.out)  # the retry is logged

    def test_throttled_on_every_attempt(self):
        server = self.serve(THROTTLED)
        res = self.call(server, *FAST)
        self.assertEqual((res.status, res.last["attempts"], res.last["code"]),
                         ("LR_E_AWS_THROTTLED", 3, "ProvisionedThroughputExceededException"))
        res = self.call(server, *FAST, AWS_MAX_ATTEMPTS="5")
        self.assertEqual((res.status, res.last["attempts"]), ("LR_E_AWS_THROTTLED", 5))
        self.assertEqual(len(server.requests), 8)
        self.assertEqual(self.call(server, AWS_MAX_ATTEMPTS="0").status, "LR_E_AWS_CONFIG")

    def test_client_errors_are_not_retried(self):
        server = self.serve(("send", reply("400 Bad Request", '{"__type":"com.amazon.coral.validate#'
                                           'ValidationException","message":"One or more parameter values"}')))
        res = self.call(server, *FAST)
        self.assertEqual((res.status, res.last["attempts"], res.last["code"], res.last["message"]),
                         ("LR_E_AWS_SERVICE", 1, "ValidationException", "One or more parameter values"))

    def test_5xx_and_connection_failures_are_retried(self):
        # The 503 closes its connection, so the reset hits a fresh one: curl itself retries a request
        # only when a reused connection turns out dead, and this must be our retry.
        server = self.serve(lambda n: ("send", reply("503 Service Unavailable", '{"__type":"ServiceUnavailable"}'),
                                       True) if n == 0 else ("reset",) if n == 1 else OK_JSON)
        res = self.call(server, *FAST)
        self.assertEqual((res.status, res.last["attempts"], len(server.requests)), ("LR_OK", 3, 3))
        closed = awstest.free_port()  # nothing listens there
        res = self.call(server, *FAST, AWS_ENDPOINT_URL="http://127.0.0.1:%d" % closed)
        self.assertEqual((res.status, res.last["attempts"]), ("LR_E_AWS_CONNECT", 3))

    # The deadline tests judge the second call of a process: the first one also carries libcurl's and
    # OpenSSL's one-time start-up, which takes a millisecond natively but over a second under memcheck,
    # and is not bounded by the deadline (natively both calls are judged).
    def judged(self, res):
        return res.calls[1:] if lrtest.valgrind() else res.calls

    def test_hanging_server_gives_up_before_the_deadline(self):
        server = self.serve(("hang",))
        # deadline in 1.5 s, margin 500 ms: the attempt is cut at about 1 s, and there is no time for another.
        res = self.call(server, "--repeat", "2", "--deadline-ms", "1500")
        for call in self.judged(res):
            self.assertEqual((call["status"], call["attempts"]), ("LR_E_DEADLINE", 1), res.out)
            self.assertLess(call["us"], 1000000 + 300000 * lrtest.slow_factor())
            self.assertGreater(call["us"], 900000)
        self.assertIn("giving up", res.out)

    def test_stalled_handshake_is_retried_when_the_deadline_leaves_time(self):
        """The connect timeout (which covers the TLS handshake) ends the attempt long before a
        deadline that is nearer than the attempt timeout: there is time to try again."""
        connect_ms = 5000 if lrtest.valgrind() else 500  # the second handshake must fit in it
        server = self.serve(OK_JSON, context=self.pki.server_context(self.pki.good), handshake_stalls=1)
        res = self.call(server, *FAST, "--deadline-ms", str(20 * connect_ms),
                        "--connect-timeout-ms", str(connect_ms), SSL_CERT_FILE=self.pki.ca)
        self.assertEqual((res.status, res.last["attempts"], server.connections), ("LR_OK", 2, 2), res.out)
        self.assertLess(res.last["us"], 10000 * connect_ms)

    def test_no_attempt_without_time_left(self):
        server = self.serve(OK_JSON)
        res = self.call(server, "--deadline-ms", "400")  # less than the 500 ms margin
        self.assertEqual((res.status, res.last["attempts"]), ("LR_E_DEADLINE", 0))
        self.assertEqual(server.connections, 0)

    def test_no_retry_that_would_end_after_the_deadline(self):
        server = self.serve(THROTTLED)
        # 10 s of backoff base against a 3 s deadline: either no retry fits or a short one does; never a
        # wait that ends after deadline - margin. The jitter is random: about once in a hundred calls
        # both retries are short enough, and the call ends throttled after its three attempts.
        res = self.call(server, "--repeat", "2", "--deadline-ms", "3000", "--backoff-base-ms", "10000")
        for call in self.judged(res):
            if call["status"] == "LR_E_AWS_THROTTLED":  # every retry fitted: the attempts ran out
                self.assertEqual(call["attempts"], 3, res.out)
            else:
                self.assertEqual(call["status"], "LR_E_DEADLINE", res.out)
            self.assertLess(call["us"], 2500000)
            self.assertEqual(call["code"], "ProvisionedThroughputExceededException")
        # Without a deadline the same call makes its three attempts.
        res = self.call(server, *FAST)
        self.assertEqual((res.status, res.last["attempts"]), ("LR_E_AWS_THROTTLED", 3))

    def test_keep_alive_reused(self):
        server = self.serve(OK_JSON)
        res = self.call(server, "--repeat", "5")
        self.assertEqual([c["status"] for c in res.calls], ["LR_OK"] * 5)
        self.assertEqual((server.connections, len(server.requests)), (1, 5))

    def test_keep_alive_reused_over_tls(self):
        server = self.serve(OK_JSON, context=self.pki.server_context(self.pki.good))
        res = self.call(server, "--repeat", "4", SSL_CERT_FILE=self.pki.ca)
        self.assertEqual([c["status"] for c in res.calls], ["LR_OK"] * 4)
        self.assertEqual((server.connections, len(server.requests)), (1, 4))

    def test_dropped_keep_alive_reopened(self):
        server = self.serve(("send", reply("200 OK", "{}"), True))  # closes after each answer, unannounced
        res = self.call(server, "--repeat", "3")
        self.assertEqual([(c["status"], c["attempts"]) for c in res.calls], [("LR_OK", 1)] * 3)
        self.assertEqual((server.connections, len(server.requests)), (3, 3))

    def test_signatures_seen_are_checked(self):
        # The secret check must have something to look for: every request above carried a signature.
        server = self.serve(OK_JSON)
        self.call(server)
        self.assertTrue(awstest.SIGNATURES)
        with self.assertRaises(AssertionError):
            awstest.check_output(self, "Signature=%s" % next(iter(awstest.SIGNATURES)))


if __name__ == "__main__":
    unittest.main()

"""Logs of the bundled bootstrap through the emulator: one line per record whatever the record holds
(newlines, control bytes, 400 KB values), valid JSON lines in JSON mode with the right level and
requestId, keys-only mode, the summary line, and the EMF line with its required _aws members."""

import json
import re
import time
import unittest

import lrtest

WEIRD = [
    "line one\nINJECTED {\"level\":\"ERROR\"} fake line",
    "carriage\rreturn and tab\t and bell\x07 and esc\x1b[31mred\x1b[0m and nul\x00end",
    "quotes \" and backslash \\ and unicode caf\u00e9 \u2603 \U0001F600",
    "x" * 400_000,
]


def seq(i):
    return "4421584500000000017450439%03d" % i


def record(i, value, act=None):
    dyn = {"Keys": {"pk": {"S": "key-%d\nINJECTED-KEY" % i}},
           "NewImage": {"pk": {"S": "key-%d\nINJECTED-KEY" % i}, "v": {"S": value},
                        "n": {"N": "12.5"}, "b": {"B": "AAEC/w=="}},
           "OldImage": {"pk": {"S": "key-%d\nINJECTED-KEY" % i}, "v": {"S": "old"}},
           "SequenceNumber": seq(i), "SizeBytes": 100, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    if act is not None:
        dyn["ApproximateCreationDateTime"] = act
    return {"eventID": "id-%d" % i, "eventName": "MODIFY", "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "dynamodb": dyn}


def event(values, act=None):
    return json.dumps({"Records": [record(i, v, act) for i, v in enumerate(values)]}).encode()


def handler_lines(logs):
    """Every line the bootstrap printed in JSON mode; each must parse (emulator lines do not start
    with '{')."""
    out = []
    for line in logs.split("\n"):
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def request_ids(logs):
    return re.findall(r"START RequestId: (\S+)", logs)


class HandlerLogsTest(unittest.TestCase):

    def run_invoke(self, payload, env, extra_args=()):
        base = {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"}
        base.update(env)
        with lrtest.Emulator(env=base, extra_args=extra_args) as emu:
            status, headers, body = emu.invoke(payload)
            emu.wait_for_log(r"REPORT RequestId")
            logs = emu.logs()
        self.assertEqual(status, 200, logs)
        self.assertNotIn("x-amz-function-error", headers, body)
        return body, logs

    def record_lines(self, lines):
        return [l for l in lines if str(l.get("message", "")).startswith("record ")
                and "eventName" in l]

    def test_one_json_line_per_record_whatever_it_holds(self):
        body, logs = self.run_invoke(event(WEIRD), {"LR_EMF": "off"})
        self.assertEqual(body, b'{"batchItemFailures":[]}')
        lines = handler_lines(logs)
        recs = self.record_lines(lines)
        self.assertEqual([r["sequenceNumber"] for r in recs], [seq(i) for i in range(len(WEIRD))])
        (rid,) = request_ids(logs)
        for r in recs:
            self.assertEqual(r["level"], "INFO")
            self.assertEqual(r["requestId"], rid)
            self.assertEqual(r["eventName"], "MODIFY")
        # The injected text never starts a line of its own.
        for line in logs.split("\n"):
            self.assertFalse(line.startswith("INJECTED"), line[:200])
        # Small images round-trip exactly as DynamoDB JSON.
        for i in range(3):
            self.assertEqual(recs[i]["keys"], {"pk": {"S": "key-%d\nINJECTED-KEY" % i}})
            self.assertEqual(recs[i]["newImage"]["v"], {"S": WEIRD[i]})
            self.assertEqual(recs[i]["newImage"]["n"], {"N": "12.5"})
            self.assertEqual(recs[i]["newImage"]["b"], {"B": "AAEC/w=="})
            self.assertEqual(recs[i]["oldImage"], {"pk": {"S": "key-%d\nINJECTED-KEY" % i},
                                                   "v": {"S": "old"}})
        # The 400 KB value: still exactly one line, under CloudWatch's 256 KB event limit.
        big = [l for l in logs.split("\n") if seq(3) in l and '"eventName"' in l]
        self.assertEqual(len(big), 1)
        self.assertLess(len(big[0].encode()), 256 * 1024)
        self.assertEqual(recs[3]["keys"], {"pk": {"S": "key-3\nINJECTED-KEY"}})

    def test_text_format_one_line_per_record(self):
        body, logs = self.run_invoke(event(WEIRD), {"AWS_LAMBDA_LOG_FORMAT": "Text",
                                                    "LR_EMF": "off"})
        for i in range(len(WEIRD)):
            hits = [l for l in logs.split("\n") if ("record %d: MODIFY" % i) in l]
            self.assertEqual(len(hits), 1, "record %d" % i)
            self.assertIn(seq(i), hits[0])
        for line in logs.split("\n"):
            self.assertFalse(line.startswith("INJECTED"), line[:200])

    def test_keys_only_mode_keeps_item_contents_out(self):
        secret = "4111-1111-1111-1111 personal data"
        body, logs = self.run_invoke(event([secret, secret]),
                                     {"LR_LOG_RECORDS": "keys", "LR_EMF": "off"})
        recs = self.record_lines(handler_lines(logs))
        self.assertEqual(len(recs), 2)
        for i, r in enumerate(recs):
            self.assertEqual(r["keys"], {"pk": {"S": "key-%d\nINJECTED-KEY" % i}})
            self.assertNotIn("newImage", r)
            self.assertNotIn("oldImage", r)
        self.assertNotIn("4111-1111", logs)

    def test_plain_images_mode(self):
        body, logs = self.run_invoke(event(["a\nb", "c"]), {"LR_LOG_IMAGES": "plain", "LR_EMF": "off"})
        recs = self.record_lines(handler_lines(logs))
        self.assertEqual(len(recs), 2)
        for i, r in enumerate(recs):
            self.assertEqual(r["keys"], {"pk": "key-%d\nINJECTED-KEY" % i})
            self.assertEqual(r["newImage"], {"pk": "key-%d\nINJECTED-KEY" % i, "v": ["a\nb", "c"][i],
                                             "n": 12.5, "b": "AAEC/w=="})
            self.assertEqual(r["oldImage"], {"pk": "key-%d\nINJECTED-KEY" % i, "v": "old"})
        # The default stays DynamoDB JSON, and a value other than ddb/plain is an init error.
        body, logs = self.run_invoke(event(["a"]), {"LR_EMF": "off"})
        self.assertEqual(self.record_lines(handler_lines(logs))[0]["newImage"]["v"], {"S": "a"})
        with lrtest.Emulator(env={"LR_LOG_IMAGES": "json"}) as emu:
            status, headers, body = emu.invoke(event(["a"]))
        self.assertIn("x-amz-function-error", headers)
        self.assertIn(b"invalid LR_LOG_IMAGES=", body)

    def test_none_mode_logs_no_record_lines_but_the_summary(self):
        body, logs = self.run_invoke(event(["a", "b"]), {"LR_LOG_RECORDS": "none", "LR_EMF": "off"})
        lines = handler_lines(logs)
        self.assertEqual(self.record_lines(lines), [])
        summaries = [l for l in lines if str(l.get("message", "")).startswith("batch done")]
        self.assertEqual(len(summaries), 1)
        self.assertEqual(summaries[0]["records"], 2)
        self.assertEqual(summaries[0]["failed"], 0)
        self.assertEqual(summaries[0]["level"], "INFO")

    def test_failure_and_summary_lines(self):
        env = {"LR_TEST_FAIL_SEQUENCE_NUMBERS": seq(1), "LR_EMF": "off"}
        body, logs = self.run_invoke(event(["a", "b", "c"]), env)
        self.assertEqual(body, ('{"batchItemFailures":[{"itemIdentifier":"%s"}]}' % seq(1)).encode())
        lines = handler_lines(logs)
        (rid,) = request_ids(logs)
        fails = [l for l in lines if str(l.get("message", "")).startswith("record failed")]
        self.assertEqual(len(fails), 1)
        self.assertEqual(fails[0]["level"], "WARN")
        self.assertEqual(fails[0]["sequenceNumber"], seq(1))
        self.assertEqual(fails[0]["eventID"], "id-1")
        self.assertEqual(fails[0]["recordIndex"], 1)
        self.assertEqual(fails[0]["requestId"], rid)
        (summary,) = [l for l in lines if str(l.get("message", "")).startswith("batch done")]
        self.assertEqual(summary["level"], "WARN")
        self.assertEqual((summary["records"], summary["processed"], summary["failed"],
                          summary["skipped"], summary["reported"]), (3, 2, 1, 1, 1))
        self.assertEqual(summary["checkpoint"], seq(1))
        self.assertIs(summary["deadlineStop"], False)
        self.assertEqual(summary["bytes"], len(event(["a", "b", "c"])))

    def test_level_warn_keeps_only_failures_summary_and_emf(self):
        env = {"AWS_LAMBDA_LOG_LEVEL": "WARN", "LR_TEST_FAIL_SEQUENCE_NUMBERS": seq(0)}
        body, logs = self.run_invoke(event(["a", "b"]), env)
        lines = handler_lines(logs)
        self.assertEqual(self.record_lines(lines), [])
        # At start-up (no request id): Lambda's filter would drop the metrics lines, which it reads
        # as INFO; then the invoke's failure and summary.
        warned = [l for l in lines if "level" in l]
        self.assertEqual([l["level"] for l in warned], ["WARN", "WARN", "WARN"])
        self.assertIn("Lambda drops the EMF metrics lines", warned[0]["message"])
        self.assertNotIn("requestId", warned[0])
        self.assertEqual(len(self.emf_lines(logs)), 1)  # metrics are not subject to the level
        body, logs = self.run_invoke(event(["a"]), dict(env, LR_EMF="off"))
        self.assertNotIn("EMF metrics lines", logs)

    def test_log_settings_lambda_never_sets_warn_and_fall_back(self):
        # Lambda sets both itself: a value it would never set keeps the default with one WARN, and
        # the invoke still works (an init error would fail every invoke of the function).
        body, logs = self.run_invoke(event(["a"]), {"AWS_LAMBDA_LOG_FORMAT": "XML",
                                                     "AWS_LAMBDA_LOG_LEVEL": "LOUD"})
        self.assertEqual(body, b'{"batchItemFailures":[]}')
        self.assertEqual(1, len(re.findall(r"\tWARN\tAWS_LAMBDA_LOG_FORMAT=XML is neither JSON nor Text; "
                                           r"using Text\n", logs)), logs)
        self.assertEqual(1, len(re.findall(r"\tWARN\tAWS_LAMBDA_LOG_LEVEL=LOUD is not one of TRACE, DEBUG, "
                                           r"INFO, WARN, ERROR, FATAL; using INFO\n",
                                           logs)), logs)
        self.assertRegex(logs, r"\tINFO\trecord ")  # Text format, INFO level in force
        body, logs = self.run_invoke(event(["a"]), {"AWS_LAMBDA_LOG_FORMAT": "JSON",
                                                     "AWS_LAMBDA_LOG_LEVEL": "INFO"})
        self.assertNotIn("AWS_LAMBDA_LOG_", logs)  # the control: no warning for Lambda's values

    def emf_lines(self, logs):
        return [l for l in handler_lines(logs) if "_aws" in l]

    def test_emf_line(self):
        act = int(time.time()) - 60
        env = {"LR_TEST_FAIL_SEQUENCE_NUMBERS": seq(1), "LR_EMF_NAMESPACE": "Test/Streams"}
        body, logs = self.run_invoke(event(["a", "b", "c"], act), env,
                                     extra_args=("--function-name", "stream-fn"))
        (emf,) = self.emf_lines(logs)
        (rid,) = request_ids(logs)
        aws = emf["_aws"]
        self.assertIsInstance(aws["Timestamp"], int)
        self.assertLess(abs(aws["Timestamp"] - time.time() * 1000), 120_000)
        (directive,) = aws["CloudWatchMetrics"]
        self.assertEqual(directive["Namespace"], "Test/Streams")
        self.assertEqual(directive["Dimensions"], [["FunctionName"]])
        self.assertEqual([m["Name"] for m in directive["Metrics"]],
                         ["BatchSize", "RecordsProcessed", "RecordsFailed", "RecordsSkipped",
                          "MaxIteratorAgeMs"])
        self.assertEqual(emf["FunctionName"], "stream-fn")
        self.assertEqual(emf["requestId"], rid)
        self.assertEqual((emf["BatchSize"], emf["RecordsProcessed"], emf["RecordsFailed"],
                          emf["RecordsSkipped"]), (3, 2, 1, 1))
        self.assertGreaterEqual(emf["MaxIteratorAgeMs"], 59_000)
        self.assertLess(emf["MaxIteratorAgeMs"], 60_000 + 60_000 * lrtest.slow_factor())

    def test_emf_without_timestamps_omits_age_and_off_switch(self):
        body, logs = self.run_invoke(event(["a"]), {})
        (emf,) = self.emf_lines(logs)
        self.assertEqual(emf["_aws"]["CloudWatchMetrics"][0]["Namespace"], "DynamoDBStreamsLambda")
        self.assertNotIn("MaxIteratorAgeMs", emf)
        self.assertEqual(emf["BatchSize"], 1)
        body, logs = self.run_invoke(event(["a"]), {"LR_EMF": "off"})
        self.assertEqual(self.emf_lines(logs), [])


if __name__ == "__main__":
    unittest.main()

"""The deadline guard through the emulator with a short function timeout: a batch too slow to finish
is answered in time, naming exactly the first record that was not processed."""

import json
import re
import time
import unittest

import lrtest

N = 30


def seq(i):
    return "1405400000000002063282%03d" % i


def event():
    return json.dumps({"Records": [{
        "eventID": "id-%d" % i, "eventName": "INSERT", "eventVersion": "1.1",
        "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
        "dynamodb": {"Keys": {"Id": {"N": str(i)}}, "SequenceNumber": seq(i), "SizeBytes": 10,
                     "StreamViewType": "KEYS_ONLY"}} for i in range(N)]}).encode()


class DeadlineTest(unittest.TestCase):

    def run_batch(self, mode, fail=()):
        # Sanitizer builds are slower: stretch every duration alike, so the ratios stay the same.
        slow = lrtest.slow_factor()
        timeout_ms = 3000 * slow
        env = {"LR_TEST_RECORD_DELAY_MS": str(200 * slow),
               "LR_DEADLINE_MARGIN_MS": str(1000 * slow),
               "LR_BATCH_MODE": mode, "LR_EMF": "off", "AWS_LAMBDA_LOG_FORMAT": "JSON",
               "LR_TEST_FAIL_SEQUENCE_NUMBERS": ",".join(seq(i) for i in fail)}
        with lrtest.Emulator(env=env, timeout_ms=timeout_ms) as emu:
            started = time.monotonic()
            status, headers, body = emu.invoke(event())
            elapsed_ms = (time.monotonic() - started) * 1000
            emu.wait_for_log(r"REPORT RequestId")
            logs = emu.logs()
        self.assertEqual(status, 200, logs)
        # The invoke did not time out: a plain response, well before the function timeout.
        self.assertNotIn("x-amz-function-error", headers, body)
        self.assertNotIn("Task timed out", logs)
        self.assertLess(elapsed_ms, timeout_ms)
        lines = [json.loads(l) for l in logs.split("\n") if l.startswith("{")]
        processed = [l["sequenceNumber"] for l in lines if "eventName" in l]
        (summary,) = [l for l in lines if str(l.get("message", "")).startswith("batch done")]
        return json.loads(body), processed, summary

    def test_ordered_reports_first_unprocessed_record(self):
        doc, processed, summary = self.run_batch("ordered")
        k = len(processed)
        # 200 ms per record, stop once < 1000 ms of 3000 ms are left: about 10 records.
        self.assertGreaterEqual(k, 1)
        self.assertLess(k, N)
        self.assertEqual(processed, [seq(i) for i in range(k)])
        self.assertEqual(doc, {"batchItemFailures": [{"itemIdentifier": seq(k)}]})
        self.assertIs(summary["deadlineStop"], True)
        self.assertEqual(summary["skipped"], N - k)
        self.assertEqual(summary["checkpoint"], seq(k))

    def test_continue_keeps_earlier_failures(self):
        doc, processed, summary = self.run_batch("continue", fail=(0,))
        k = len(processed)
        self.assertGreaterEqual(k, 2)
        self.assertLess(k, N)
        self.assertEqual(doc, {"batchItemFailures": [{"itemIdentifier": seq(0)},
                                                     {"itemIdentifier": seq(k)}]})
        self.assertIs(summary["deadlineStop"], True)


if __name__ == "__main__":
    unittest.main()

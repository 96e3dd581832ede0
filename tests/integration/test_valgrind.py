"""The bundled bootstrap under valgrind memcheck, through the local emulator: normal invokes, record
failures, a whole-batch failure, malformed events and a Runtime API error that makes it exit. Every
process valgrind watched must end with no definite or indirect leak and no memory error (invalid
read/write, uninitialised use, bad free).

Skipped under the sanitizer build (valgrind and ASan cannot share a process).
"""

import glob
import json
import os
import re
import shutil
import tempfile
import unittest

import lrtest

VALGRIND = shutil.which("valgrind")


def seq(n):
    return "%021d" % (5000000000000000000000 + n)


def record(n, event_name="MODIFY"):
    keys = {"pk": {"S": "user#%d" % n}, "sk": {"N": str(n)}}
    image = dict(keys)
    image.update({"name": {"S": "caf\u00e9 \U0001F600 %d" % n}, "blob": {"B": "AAEC/w=="},
                  "tags": {"SS": ["a", "b"]}, "nums": {"NS": ["1", "-2.5e3"]},
                  "bins": {"BS": ["AQ==", "Ag=="]}, "ok": {"BOOL": True}, "none": {"NULL": True},
                  "nested": {"M": {"l": {"L": [{"S": "x"}, {"N": "1"}, {"M": {}}]}}}})
    ddb = {"ApproximateCreationDateTime": 1.767225600123e9, "Keys": keys, "NewImage": image,
           "OldImage": image, "SequenceNumber": seq(n), "SizeBytes": 321,
           "StreamViewType": "NEW_AND_OLD_IMAGES"}
    return {"eventID": "e%d" % n, "eventName": event_name, "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1", "dynamodb": ddb,
            "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/Vg/stream/2026-01-01T00:00:00.000"}


def event(first, count):
    return json.dumps({"Records": [record(i) for i in range(first, first + count)]}).encode()


@unittest.skipIf(lrtest.sanitizers(), "valgrind cannot run a sanitizer build")
@unittest.skipUnless(VALGRIND, "valgrind is not installed (scripts/apt-packages.txt lists it)")
class TestValgrindMemcheck(unittest.TestCase):

    def run_under_valgrind(self, env, steps):
        """Runs steps(emu) with the bootstrap under memcheck; returns the valgrind logs by pid."""
        switches = any(k.startswith("LR_TEST_") for k in env)
        boot = lrtest.test_handler_path() if switches else lrtest.bootstrap_path()
        with tempfile.TemporaryDirectory(prefix="lr-vg-") as tmp:
            args = ["--tool=memcheck", "--leak-check=full", "--show-leak-kinds=definite,indirect",
                    "--errors-for-leak-kinds=definite,indirect", "--track-origins=yes",
                    "--error-exitcode=99", "--log-file=%s/vg.%%p.log" % tmp, boot]
            with lrtest.Emulator(bootstrap=VALGRIND, bootstrap_args=args, env=env,
                                 timeout_ms=60000, start_timeout_s=60) as emu:
                steps(emu)
                # A 500 from /next makes the runtime exit by itself, so valgrind sees a whole process
                # life and writes its leak report (a process the emulator kills at the end cannot).
                emu.add_fault("next-500")
                status, hdrs, body = emu.invoke(event(900, 1), timeout_s=120)
                self.assertEqual(status, 200)
            logs = {}
            for path in sorted(glob.glob(os.path.join(tmp, "vg.*.log"))):
                with open(path, errors="replace") as f:
                    logs[path] = f.read()
        return logs, emu.logs()

    def assert_clean(self, logs, output):
        self.assertTrue(logs, "valgrind wrote no log; emulator output:\n%s" % output[-3000:])
        finished = 0
        for path, text in logs.items():
            summary = re.search(r"ERROR SUMMARY: (\d+) errors", text)
            if summary is None:
                continue  # a process still starting when the emulator stopped it
            finished += 1
            self.assertEqual(summary.group(1), "0", "%s:\n%s" % (path, text[-6000:]))
            for bad in ("Invalid read", "Invalid write", "uninitialised", "Invalid free",
                        "definitely lost in", "indirectly lost in",
                        "Process terminating with default action"):  # a crash, not the exit
                self.assertNotIn(bad, text, "%s:\n%s" % (path, text[-6000:]))
        self.assertGreater(finished, 0, "the bootstrap did not exit on the Runtime API 500:\n%s"
                           % output[-3000:])

    def test_normal_failure_and_malformed_invokes(self):
        failing = "%s,%s" % (seq(3), seq(12))
        env = {"LR_BATCH_MODE": "continue", "LR_TEST_FAIL_SEQUENCE_NUMBERS": failing,
               "AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "TRACE"}

        def steps(emu):
            status, hdrs, body = emu.invoke(event(20, 5), timeout_s=120)
            self.assertEqual((status, body), (200, b'{"batchItemFailures":[]}'), hdrs)
            status, hdrs, body = emu.invoke(event(1, 15), timeout_s=120)
            self.assertEqual(body, ('{"batchItemFailures":[{"itemIdentifier":"%s"},'
                                    '{"itemIdentifier":"%s"}]}' % (seq(3), seq(12))).encode())
            for bad in (b"{not json", b'{"Records":[{"dynamodb":{"Keys":7}}]}', b"[]",
                        b'{"Records":[' + b'[' * 5000 + b']' * 5000 + b']}'):
                status, hdrs, body = emu.invoke(bad, timeout_s=120)
                self.assertEqual(status, 200)
                json.loads(body)  # an error document or a failure list, always JSON
            status, hdrs, body = emu.invoke(event(100, 300), timeout_s=300)
            self.assertEqual((status, body), (200, b'{"batchItemFailures":[]}'), hdrs)

        logs, output = self.run_under_valgrind(env, steps)
        self.assert_clean(logs, output)

    def test_whole_batch_error_and_runtime_api_exit(self):
        env = {"LR_ALL_FAILED": "error", "LR_TEST_FAIL_SEQUENCE_NUMBERS": seq(1),
               "AWS_LAMBDA_LOG_FORMAT": "Text", "LR_LOG_RECORDS": "keys"}

        def steps(emu):
            status, hdrs, body = emu.invoke(event(1, 1), timeout_s=120)
            self.assertEqual(status, 200)
            self.assertIn("x-amz-function-error", hdrs, body)
            status, hdrs, body = emu.invoke(event(2, 2), timeout_s=120)
            self.assertEqual((status, body), (200, b'{"batchItemFailures":[]}'), hdrs)

        logs, output = self.run_under_valgrind(env, steps)
        self.assert_clean(logs, output)

    def test_runtime_api_faults(self):
        # The runtime's error paths (reset connections, missing headers, refused posts) are where a
        # leak would hide; each fault applies to the next matching exchange. response-500 makes the
        # bootstrap exit, so valgrind checks that process's whole life too.
        faults = ("next-reset-before-body", "next-reset-mid-body", "next-delay-body-ms=300",
                  "next-omit-request-id", "next-bad-deadline", "next-omit-deadline", "response-413",
                  "response-403", "response-400", "response-500")

        def steps(emu):
            for i, fault in enumerate(faults):
                emu.add_fault(fault)
                status, hdrs, body = emu.invoke(event(10 * i + 1, 3), timeout_s=120)
                self.assertEqual(status, 200, (fault, body))
            # The exit after response-500 may still be racing with this invoke (which then fails
            # with Runtime.ExitError, as on Lambda); the one after it runs on a new bootstrap.
            for _ in range(2):
                status, hdrs, body = emu.invoke(event(500, 2), timeout_s=120)
                if "x-amz-function-error" not in hdrs:
                    break
            self.assertEqual((status, body), (200, b'{"batchItemFailures":[]}'), hdrs)

        logs, output = self.run_under_valgrind({"AWS_LAMBDA_LOG_LEVEL": "TRACE"}, steps)
        self.assert_clean(logs, output)
        self.assertGreaterEqual(sum("ERROR SUMMARY" in t for t in logs.values()), 2,
                                "the bootstrap did not exit on response-500:\n%s" % output[-3000:])

    def test_deadline_guard_stop(self):
        # The invoke gets 60 s; a 59 s margin and 100 ms per record make the guard stop the batch
        # part-way (after about 10 records), reporting the first record it did not start.
        env = {"LR_DEADLINE_MARGIN_MS": "59000", "LR_TEST_RECORD_DELAY_MS": "100",
               "AWS_LAMBDA_LOG_LEVEL": "DEBUG"}
        batch = [seq(n) for n in range(1, 21)]

        def steps(emu):
            # Warm-up: the emulator starts the bootstrap (slow under valgrind) on the first invoke.
            self.assertEqual(emu.invoke(b'{"Records":[]}', timeout_s=120)[2], b'{"batchItemFailures":[]}')
            status, hdrs, body = emu.invoke(event(1, 20), timeout_s=120)
            self.assertEqual(status, 200)
            self.assertNotIn("x-amz-function-error", hdrs, body)
            failures = json.loads(body)["batchItemFailures"]
            self.assertEqual(len(failures), 1, body)
            self.assertIn(failures[0]["itemIdentifier"], batch[1:], body)

        logs, output = self.run_under_valgrind(env, steps)
        self.assert_clean(logs, output)


if __name__ == "__main__":
    unittest.main()

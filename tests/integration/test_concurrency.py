"""The run loop's workers (AWS_LAMBDA_MAX_CONCURRENCY, Lambda Managed Instances) through the
emulator's concurrent mode: many concurrent invokes of mixed batches (successes, partial failures,
invoke errors, deadline stops) each get their own answer, every log line is whole and carries its
own invoke's request id, the trace id travels with the request and never through the environment,
and SIGTERM lets the invokes in flight finish."""

import concurrent.futures
import json
import os
import re
import signal
import subprocess
import sys
import time
import unittest

import awstest
import lrtest

N = 4
NONE = {"batchItemFailures": []}


def seq(invoke, i):
    """SequenceNumbers unique to an invoke: its number, then the record's."""
    return "%d%05d" % (invoke + 1, i)


def invoke_of(sequence_number):
    return int(sequence_number[:-5]) - 1


def batch(invoke, n):
    return {"Records": [{
        "eventID": "ev-%d-%d" % (invoke, i), "eventName": "INSERT", "eventVersion": "1.1",
        "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
        "dynamodb": {"Keys": {"Id": {"N": str(i)}}, "NewImage": {"Id": {"N": str(i)}},
                     "SequenceNumber": seq(invoke, i), "SizeBytes": 26,
                     "StreamViewType": "NEW_AND_OLD_IMAGES"},
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/T/stream/2026",
    } for i in range(n)]}


def fire(emu, requests):
    """Invokes every (payload bytes, headers) at once; returns (status, headers, body) in order."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(requests)) as pool:
        futures = [pool.submit(emu.invoke, p, h, 120) for p, h in requests]
        return [f.result() for f in futures]


class MixedBatchesTest(unittest.TestCase):
    """The bundled handler (with its testing switches) under N workers."""

    KINDS = ("ok", "partial", "error", "deadline")
    INVOKES = 24
    DEADLINE_RECORDS = 400

    def expected(self, j):
        kind = self.KINDS[j % len(self.KINDS)]
        if kind == "ok":
            return kind, json.dumps(batch(j, 5)).encode()
        if kind == "partial":
            return kind, json.dumps(batch(j, 5)).encode()
        if kind == "error":
            return kind, b'{"Records":[{"eventID":'
        return kind, json.dumps(batch(j, self.DEADLINE_RECORDS)).encode()

    def run_mixed(self, log_format):
        slow = lrtest.slow_factor()
        fail = [seq(j, i) for j in range(self.INVOKES) if self.KINDS[j % 4] == "partial"
                for i in (1, 3)]
        env = {"AWS_LAMBDA_MAX_CONCURRENCY": str(N), "AWS_LAMBDA_LOG_FORMAT": log_format,
               "LR_EMF": "off", "LR_BATCH_MODE": "continue",
               "LR_TEST_FAIL_SEQUENCE_NUMBERS": ",".join(fail),
               "LR_TEST_RECORD_DELAY_MS": str(10 * slow),
               "LR_DEADLINE_MARGIN_MS": str(1000 * slow)}
        plan = [self.expected(j) for j in range(self.INVOKES)]
        with lrtest.Emulator(env=env, timeout_ms=3000 * slow) as emu:
            results = fire(emu, [(payload, None) for _, payload in plan])
            emu.wait_for_log(r"REPORT RequestId", count=self.INVOKES)
            logs = emu.logs()
            stats = emu.stats()
        request_ids = {}
        for j, ((kind, _), (status, headers, body)) in enumerate(zip(plan, results)):
            self.assertEqual(status, 200, logs)
            request_ids[headers["x-amzn-requestid"]] = j
            self.check_answer(j, kind, headers, json.loads(body))
        self.assertNotIn("Task timed out", logs)
        # All N workers were busy at once, and the runtime never asked for more than N.
        self.assertEqual(stats["peak_in_flight"], N, stats)
        self.assertEqual(stats["too_many_requests"], 0, stats)
        return logs, request_ids

    def check_answer(self, j, kind, headers, doc):
        if kind == "error":
            self.assertIn("x-amz-function-error", headers, doc)
            self.assertEqual(doc["errorType"], "Function.InvalidEvent")
            return
        self.assertNotIn("x-amz-function-error", headers, doc)
        if kind == "ok":
            self.assertEqual(doc, NONE)
        elif kind == "partial":
            self.assertEqual(doc, {"batchItemFailures": [{"itemIdentifier": seq(j, 1)},
                                                         {"itemIdentifier": seq(j, 3)}]})
        else:  # stopped by the deadline guard: the first record not processed, of this invoke
            (failure,) = doc["batchItemFailures"]
            k = int(failure["itemIdentifier"][-5:])
            self.assertEqual(failure["itemIdentifier"], seq(j, k))
            self.assertTrue(0 < k < self.DEADLINE_RECORDS, doc)

    def test_json_logs(self):
        logs, request_ids = self.run_mixed("JSON")
        records = {}
        for line in logs.splitlines():
            if line.startswith("{"):
                doc = json.loads(line)  # every line whole: none cut or mixed with another
                if "sequenceNumber" in doc and "eventName" in doc:
                    j = invoke_of(doc["sequenceNumber"])
                    self.assertEqual(request_ids[doc["requestId"]], j, line)
                    records.setdefault(j, []).append(doc["sequenceNumber"])
        for j in range(self.INVOKES):
            kind = self.KINDS[j % 4]
            if kind in ("ok", "partial"):
                self.assertEqual(records[j], [seq(j, i) for i in range(5)])
            elif kind == "deadline":
                k = len(records[j])
                self.assertEqual(records[j], [seq(j, i) for i in range(k)])

    def test_text_logs(self):
        logs, request_ids = self.run_mixed("Text")
        seen = 0
        for line in logs.splitlines():
            m = re.match(r"^\d{4}-\d\d-\d\dT[\d:.]+Z\t([0-9a-f-]{36})\tINFO\trecord \d+: .*"
                         r"sequenceNumber=(\d+)", line)
            if m:
                seen += 1
                self.assertEqual(request_ids[m.group(1)], invoke_of(m.group(2)), line)
        self.assertGreaterEqual(seen, self.INVOKES // 4 * 10)


class RequestTest(unittest.TestCase):
    """The test bootstrap, which reports what it got, under N workers."""

    def test_trace_id_travels_with_the_request_not_the_environment(self):
        env = {"AWS_LAMBDA_MAX_CONCURRENCY": "2", "LR_TB_MODE": "info"}
        requests = [(b"{}", {"X-Amzn-Trace-Id": "Root=1-5e1b4151-%024d" % j}) for j in range(8)]
        with lrtest.Emulator(bootstrap=lrtest.helper_bootstrap_path(), env=env) as emu:
            results = fire(emu, requests)
        for (_, hdrs), (status, headers, body) in zip(requests, results):
            self.assertEqual(status, 200)
            doc = json.loads(body)
            self.assertEqual(doc["trace"], hdrs["X-Amzn-Trace-Id"])
            self.assertEqual(doc["request_id"], headers["x-amzn-requestid"])
            self.assertEqual(doc["worker_count"], 2)
            self.assertIn(doc["worker"], (0, 1))
            self.assertNotIn("_X_AMZN_TRACE_ID", doc["env"])

    def test_a_worker_has_the_stack_of_the_main_thread_on_lambda(self):
        """A handler with 3 MiB of locals runs on a worker as it does with one worker on Lambda
        (8 MiB). RLIMIT_STACK is cut to 1 MiB here, which glibc takes as a thread's default stack
        (musl, which the packaged bootstrap uses, gives 128 KiB): the workers must not depend on it."""
        env = {"AWS_LAMBDA_MAX_CONCURRENCY": "2", "LR_TB_MODE": "stack"}
        small_stack = ["-c", 'ulimit -s 1024 && exec "$0"', lrtest.helper_bootstrap_path()]
        with lrtest.Emulator(bootstrap="/bin/sh", bootstrap_args=small_stack, env=env) as emu:
            results = fire(emu, [(b'{"n":%d}' % j, {}) for j in range(4)])
            self.assertEqual([(200, b'{"n":%d}' % j) for j in range(4)],
                             [(status, body) for status, _, body in results])
            st = emu.stats()
            self.assertEqual((0, 0, 1), (st["crashes"], st["exits"], st["spawns"]))

    def test_one_worker_keeps_the_environment_variable(self):
        env = {"AWS_LAMBDA_MAX_CONCURRENCY": "1", "LR_TB_MODE": "trace"}
        with lrtest.Emulator(bootstrap=lrtest.helper_bootstrap_path(), env=env) as emu:
            status, _, body = emu.invoke(b"{}", {"X-Amzn-Trace-Id": "Root=1-abc"})
        self.assertEqual((status, body), (200, b"Root=1-abc"))

    def test_the_bundled_bootstrap_serves_input_json_on_every_worker(self):
        with open(os.path.join(lrtest.source_dir(), "input.json"), "rb") as f:
            payload = f.read()
        env = {"AWS_LAMBDA_MAX_CONCURRENCY": "3", "LR_EMF": "off"}
        with lrtest.Emulator(env=env) as emu:
            results = fire(emu, [(payload, None)] * 9)
            logs = emu.logs()
        for status, headers, body in results:
            self.assertEqual((status, json.loads(body)), (200, NONE), logs)
        self.assertIn("serving up to 3 invokes at once", logs)


@unittest.skipIf(awstest.moto_missing(), awstest.moto_missing())
class SinkTest(unittest.TestCase):
    """Workers with their own AWS clients: LR_SINK=sqs against moto (IAM authentication on)."""

    def test_every_change_of_concurrent_batches_arrives_once(self):
        moto = awstest.Moto(INITIAL_NO_AUTH_ACTION_COUNT="3")
        self.addCleanup(moto.close)
        key = moto.iam_user("sender")
        sqs = moto.client("sqs", *key)
        url = sqs.create_queue(QueueName="changes")["QueueUrl"]
        env = dict(awstest.isolated_env(key), AWS_LAMBDA_MAX_CONCURRENCY=str(N), LR_SINK="sqs",
                   LR_SINK_TARGET=url, LR_LOG_RECORDS="none", AWS_ENDPOINT_URL_SQS=moto.endpoint)
        batches = [batch(j, 30) for j in range(2 * N)]
        with lrtest.Emulator(env=env) as emu:
            results = fire(emu, [(json.dumps(b).encode(), None) for b in batches])
            stats, logs = emu.stats(), emu.logs()
        awstest.check_output(self, logs, secrets=(key[1],))
        for status, headers, body in results:
            self.assertEqual((status, headers.get("x-amz-function-error"), json.loads(body)),
                             (200, None, NONE), logs)
        self.assertGreaterEqual(stats["peak_in_flight"], 2, stats)
        got = []
        while True:
            r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
            if not r.get("Messages"):
                break
            got += [json.loads(m["Body"])["eventID"] for m in r["Messages"]]
            for m in r["Messages"]:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        self.assertEqual(sorted(got), sorted(r["eventID"] for b in batches for r in b["Records"]))


class BenchTest(unittest.TestCase):

    def test_the_concurrency_benchmark_runs(self):
        script = os.path.join(lrtest.source_dir(), "bench", "concurrency_bench.py")
        proc = subprocess.run([sys.executable, script, "--build-dir", lrtest.build_dir(), "--invokes", "3",
                               "--rounds", "1"], capture_output=True, text=True,
                              timeout=300 * lrtest.slow_factor())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        rows = [l for l in proc.stdout.splitlines() if " inv/s " in l]
        self.assertEqual([re.search(r" N=(\d) ", r).group(1) for r in rows], list("12481248"), proc.stdout)


class SigtermTest(unittest.TestCase):

    def test_in_flight_invokes_finish_then_the_bootstrap_ends(self):
        # Three workers, two busy: the idle one waits in /next and must give it up.
        slow = lrtest.slow_factor()
        env = {"AWS_LAMBDA_MAX_CONCURRENCY": "3"}
        with lrtest.Emulator(bootstrap=lrtest.helper_bootstrap_path(), env=env) as emu:
            _, _, info = emu.invoke_json({"tb_mode": "info"})
            pid = info["pid"]
            sleepers = [({"tb_mode": "sleep", "ms": 2500 * slow, "n": n}) for n in range(2)]
            with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
                futures = [pool.submit(emu.invoke_json, s) for s in sleepers]
                emu.wait_for_log(r"START RequestId", count=3)
                time.sleep(0.2)  # both sleep handlers running
                os.kill(pid, signal.SIGTERM)
                # Sent while the bootstrap finishes the sleepers, after its idle worker has given
                # up /next (curl checks about once a second): the invoke waits in the queue and,
                # once that bootstrap has ended, the next one serves it. It must not fail with
                # Runtime.ExitError for an end it had no part in. (Were the idle worker still
                # waiting, it would serve it itself, which is right too.)
                time.sleep(1.3 * slow)
                late = pool.submit(emu.invoke_json, {"tb_mode": "info"})
                results = [f.result() for f in futures]
                late_status, late_headers, late_body = late.result()
            emu.wait_for_log(r"SIGTERM: the invokes in flight are answered; stopped polling")
            self.wait_gone(pid)
            logs = emu.logs()
            for sleeper, (status, headers, body) in zip(sleepers, results):
                self.assertEqual(status, 200, logs)
                self.assertNotIn("x-amz-function-error", headers, logs)
                self.assertEqual(body, sleeper)
            self.assertEqual(late_status, 200, logs)
            self.assertNotIn("x-amz-function-error", late_headers, "%r\n%s" % (late_body, logs[-3000:]))
            self.assertIn("pid", late_body, "%r\n%s" % (late_body, logs[-3000:]))
            # The emulator starts the bootstrap again for the next invoke, as Lambda would.
            status, _, body = emu.invoke_json({"tb_mode": "info"})
            self.assertEqual(status, 200)
            self.assertIn("pid", body, "%r\n%s" % (body, emu.logs()[-3000:]))
            self.assertNotEqual(body["pid"], pid)

    def wait_gone(self, pid):
        limit = time.monotonic() + 10 * lrtest.slow_factor()
        while time.monotonic() < limit:
            try:
                with open("/proc/%d/stat" % pid) as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        return
            except FileNotFoundError:
                return
            time.sleep(0.05)
        self.fail("the bootstrap (pid %d) did not end after SIGTERM" % pid)


if __name__ == "__main__":
    unittest.main()

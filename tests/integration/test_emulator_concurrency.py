"""The emulator's Lambda Managed Instances mode (tools/emulator/README.md, "Concurrent invokes"):
with AWS_LAMBDA_MAX_CONCURRENCY=N (or --max-concurrency N) up to N invokes are in flight at once.

The bootstrap is py_concurrent_runtime.py, a real concurrent runtime client: N worker threads, each
with its own connection, looping GET /next -> act -> POST; the event says what to do. The emulator's
counters (GET /emulator/stats) show what happened on the Runtime API side: peak_in_flight is the
most invokes the runtime held at once, too_many_requests the /next calls refused as over the limit."""

import http.client
import json
import os
import re
import subprocess
import tempfile
import threading
import time
import unittest

import lrtest

RUNTIME = os.path.join(os.path.dirname(os.path.abspath(__file__)), "py_concurrent_runtime.py")
VAR = "AWS_LAMBDA_MAX_CONCURRENCY"


def emulator(n=None, **kw):
    """An emulator running the Python runtime; n is given as --max-concurrency unless None. The
    variable is removed from the environment so that only what the test says applies."""
    env = dict(kw.pop("env", {}))
    env.setdefault(VAR, None)
    return lrtest.Emulator(bootstrap=RUNTIME, env=env, max_concurrency=n, **kw)


def invoke_all(emu, events, headers=None):
    """Invokes every event from its own thread at once; returns the (status, headers, body) list in
    the events' order, bodies parsed as JSON."""
    results = [None] * len(events)

    def run(i):
        results[i] = emu.invoke_json(events[i], headers=headers)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(events))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60 * lrtest.slow_factor())
    return results


def wait_until(predicate, timeout_s=10):
    limit = time.monotonic() + timeout_s * lrtest.slow_factor()
    while not predicate():
        if time.monotonic() > limit:
            raise AssertionError("condition not met in %ss" % timeout_s)
        time.sleep(0.02)


class ConcurrentInvokesTest(unittest.TestCase):

    def test_many_concurrent_invokes_each_get_their_own_answer(self):
        n = 4
        events = []
        for i in range(5 * n):
            event = {"marker": "m%d" % i, "echo": {"i": i}, "sleep_ms": 100 + 40 * (i % 5)}
            if i % 7 == 3:
                event["error"] = True
            events.append(event)
        with emulator(n) as emu:
            emu.wait_for_stat("next_requests", n)  # every worker is polling
            results = invoke_all(emu, events)
            ids = set()
            for event, (status, headers, body) in zip(events, results):
                self.assertEqual(200, status)
                request_id = headers["x-amzn-requestid"]
                ids.add(request_id)
                if event.get("error"):
                    self.assertEqual("Unhandled", headers["x-amz-function-error"])
                    self.assertEqual({"errorType": "Test.Error",
                                      "errorMessage": "failed %s" % event["marker"]}, body)
                else:
                    self.assertNotIn("x-amz-function-error", headers)
                    self.assertEqual((event["marker"], event["echo"], request_id),
                                     (body["marker"], body["echo"], body["request_id"]))
                    self.assertEqual(n, body["max_concurrency"])  # --max-concurrency reached it
            self.assertEqual(len(events), len(ids))
            st = emu.stats()
            errors = sum(1 for e in events if e.get("error"))
            self.assertEqual((len(events), len(events) - errors, errors),
                             (st["invokes"], st["responses"], st["errors"]))
            # The runtime held N invokes at once, never more, and never asked for more.
            self.assertEqual((n, n, 0), (st["max_concurrency"], st["peak_in_flight"],
                                          st["too_many_requests"]))
            self.assertEqual((1, 0, 0), (st["spawns"], st["exits"], st["rejected_400"]))
            # Every worker is back in GET /next, and the emulator counts each of them once.
            wait_until(lambda: emu.stats()["next_waiting"] == n)
            time.sleep(0.1)
            self.assertEqual((n, 0), (emu.stats()["next_waiting"], emu.stats()["in_flight"]))
            emu.wait_for_log(r"REPORT RequestId: ", count=len(events))
            logs = emu.logs()
            for request_id in ids:
                for line in ("START RequestId: %s Version: $LATEST" % request_id,
                             "END RequestId: %s" % request_id, "REPORT RequestId: %s\t" % request_id):
                    self.assertEqual(1, logs.count(line), line)

    def test_invokes_beyond_the_limit_wait_and_are_served_in_arrival_order(self):
        n = 2
        with emulator(n) as emu:
            emu.wait_for_stat("next_requests", n)
            results = {}

            def run(i):
                results[i] = emu.invoke_json({"marker": i, "sleep_ms": 300})

            threads = []
            for i in range(6):
                threads.append(threading.Thread(target=run, args=(i,)))
                threads[-1].start()
                emu.wait_for_stat("invoke_requests", i + 1)  # arrival order is i's order
            t0 = time.monotonic()
            for t in threads:
                t.join(60 * lrtest.slow_factor())
            self.assertEqual(list(range(6)), [results[i][2]["marker"] for i in range(6)])
            starts = re.findall(r"START RequestId: (\S+)", emu.logs())
            self.assertEqual([results[i][1]["x-amzn-requestid"] for i in range(6)], starts)
            self.assertEqual(n, emu.stats()["peak_in_flight"])
            # Three rounds of two 300 ms invokes: more than one invoke at a time, fewer than six.
            self.assertLess(time.monotonic() - t0, 6 * 0.3 * lrtest.slow_factor())

    def test_log_tail_is_not_given_in_concurrent_mode(self):
        with emulator(2) as emu:
            status, headers, body = emu.invoke_json({"marker": "t"},
                                                    headers={"X-Amz-Log-Type": "Tail"})
            self.assertEqual((200, "t"), (status, body["marker"]))
            self.assertNotIn("x-amz-log-result", headers)


class SerialModeTest(unittest.TestCase):
    """Unset or 1: one invoke at a time, as before."""

    def check_serial(self, emu):
        t0 = time.monotonic()
        results = invoke_all(emu, [{"marker": i, "sleep_ms": 300} for i in range(4)])
        self.assertGreaterEqual(time.monotonic() - t0, 4 * 0.3)  # one after the other
        for i, (status, headers, body) in enumerate(results):
            self.assertEqual((200, i, 1), (status, body["marker"], body["max_concurrency"]))
        st = emu.stats()
        self.assertEqual((1, 1, 4, 0), (st["max_concurrency"], st["peak_in_flight"],
                                        st["responses"], st["too_many_requests"]))

    def test_unset_is_one_invoke_at_a_time(self):
        with emulator() as emu:
            self.check_serial(emu)

    def test_1_is_one_invoke_at_a_time_with_the_log_tail(self):
        with emulator(env={VAR: "1"}) as emu:
            self.check_serial(emu)
            _, headers, _ = emu.invoke_json({"marker": "t"}, headers={"X-Amz-Log-Type": "Tail"})
            self.assertIn("x-amz-log-result", headers)


class TimeoutTest(unittest.TestCase):

    def test_a_timeout_answers_its_caller_only_and_the_bootstrap_lives_on(self):
        n, timeout_ms = 3, 1000 * lrtest.slow_factor()
        with emulator(n, timeout_ms=timeout_ms) as emu:
            emu.wait_for_stat("next_requests", n)
            pid = emu.stats()["child_pid"]
            slow = {"marker": "slow", "sleep_ms": timeout_ms + 1500}
            quick = [{"marker": i, "sleep_ms": 200} for i in range(4)]
            results = invoke_all(emu, [slow] + quick)
            status, headers, body = results[0]
            slow_id = headers["x-amzn-requestid"]
            self.assertEqual((200, "Unhandled"), (status, headers["x-amz-function-error"]))
            self.assertEqual({"errorType": "Sandbox.Timedout", "errorMessage":
                              "RequestId: %s Error: Task timed out after %.2f seconds"
                              % (slow_id, timeout_ms / 1000.0)}, body)
            for i, (status, _, body) in enumerate(results[1:]):
                self.assertEqual((200, i, pid), (status, body["marker"], body["pid"]))
            # Its slot stays busy while the bootstrap still works on it...
            st = emu.stats()
            self.assertEqual((1, 1, pid, 1, 0), (st["timeouts"], st["in_flight"], st["child_pid"],
                                                 st["spawns"], st["late_posts"]))
            logs = emu.logs()
            self.assertRegex(logs, r"%s Task timed out after" % slow_id)
            self.assertRegex(logs, r"REPORT RequestId: %s\t[^\n]*\tStatus: timeout" % slow_id)
            # ... until its late answer comes: accepted with 202 and dropped.
            emu.wait_for_log(r"py-runtime: posted response for %s: 202" % slow_id)
            self.assertIn("late /response for RequestId: %s (timed out) discarded" % slow_id,
                          emu.logs())
            st = emu.stats()
            self.assertEqual((1, 0, pid, 0), (st["late_posts"], st["in_flight"], st["child_pid"],
                                              st["exits"]))
            status, _, body = emu.invoke_json({"marker": "after"})
            self.assertEqual((200, "after", pid), (status, body["marker"], body["pid"]))


class CrashTest(unittest.TestCase):

    def test_a_crash_fails_every_invoke_in_flight_and_queued_ones_run_on_a_new_bootstrap(self):
        n = 3
        with tempfile.TemporaryDirectory() as tmp, emulator(n) as emu:
            go = os.path.join(tmp, "go")
            emu.wait_for_stat("next_requests", n)
            first_pid = emu.stats()["child_pid"]
            in_flight = [{"marker": 0, "wait_file": go, "sleep_ms": 5000},
                         {"marker": 1, "wait_file": go, "sleep_ms": 5000},
                         {"marker": "crash", "wait_file": go, "crash": True, "exit_code": 7}]
            results = {}

            def run(key, event):
                results[key] = emu.invoke_json(event)

            threads = [threading.Thread(target=run, args=(i, e)) for i, e in enumerate(in_flight)]
            for t in threads:
                t.start()
            emu.wait_for_stat("peak_in_flight", n)
            # Two more: they wait for a slot while the bootstrap holds three.
            for key in ("q0", "q1"):
                threads.append(threading.Thread(target=run, args=(key, {"marker": key})))
                threads[-1].start()
            emu.wait_for_stat("invoke_requests", n + 2)
            self.assertEqual(n, emu.stats()["invokes"])
            open(go, "w").close()
            for t in threads:
                t.join(60 * lrtest.slow_factor())
            for i in range(n):
                status, headers, body = results[i]
                request_id = headers["x-amzn-requestid"]
                self.assertEqual((200, "Unhandled"), (status, headers["x-amz-function-error"]))
                self.assertEqual({"errorType": "Runtime.ExitError", "errorMessage":
                                  "RequestId: %s Error: Runtime exited with error: exit status 7"
                                  % request_id}, body)
                self.assertRegex(emu.logs(), r"REPORT RequestId: %s\t[^\n]*\tStatus: error"
                                 % request_id)
            for key in ("q0", "q1"):
                status, headers, body = results[key]
                self.assertEqual((200, key), (status, body["marker"]))
                self.assertNotEqual(first_pid, body["pid"])
            st = emu.stats()
            self.assertEqual((n, 2, 1, 7, 0), (st["crashes"], st["spawns"], st["exits"],
                                               st["last_exit_code"], st["in_flight"]))
            status, _, body = emu.invoke_json({"marker": "next"})
            self.assertEqual((200, "next"), (status, body["marker"]))


class RuntimeApiTest(unittest.TestCase):

    def test_posts_are_matched_by_request_id(self):
        with emulator(2) as emu:
            _, headers, _ = emu.invoke_json({"marker": "p"})
            request_id = headers["x-amzn-requestid"]
            host, _, port = emu.runtime_api.rpartition(":")
            for rid, expected in ((request_id, (403, "InvalidStateTransition")),
                                  ("no-such-id", (400, "InvalidRequestID"))):
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
                conn.request("POST", "/2018-06-01/runtime/invocation/%s/response" % rid, b"{}")
                resp = conn.getresponse()
                doc = json.loads(resp.read())
                conn.close()
                self.assertEqual(expected, (resp.status, doc["errorType"]))
            st = emu.stats()
            self.assertEqual((1, 1, 1), (st["responses"], st["rejected_403"], st["rejected_400"]))

    def test_a_spoiled_delivery_is_handed_out_again(self):
        with emulator(3, faults=["next-reset-before-body"]) as emu:
            emu.wait_for_stat("next_requests", 3)
            results = invoke_all(emu, [{"marker": i, "sleep_ms": 100} for i in range(6)])
            self.assertEqual([(200, i) for i in range(6)],
                             [(status, body["marker"]) for status, _, body in results])
            st = emu.stats()
            self.assertEqual((1, 1, 6, 0), (st["faults_fired"], st["redeliveries"], st["responses"],
                                            st["in_flight"]))


class LimitTest(unittest.TestCase):

    def test_a_runtime_asking_for_more_than_the_limit_gets_400(self):
        n = 2
        with emulator(n) as emu:
            emu.wait_for_stat("next_requests", n)
            status, _, body = emu.invoke_json({"marker": "x", "extra_next": True})
            self.assertEqual((200, "x"), (status, body["marker"]))
            extra = body["extra_next"]
            self.assertEqual(400, extra["status"], extra)
            doc = json.loads(extra["body"])
            self.assertEqual("TooManyRequests", doc["errorType"])
            self.assertIn("AWS_LAMBDA_MAX_CONCURRENCY (2)", doc["errorMessage"])
            st = emu.stats()
            self.assertEqual((1, 1, 0), (st["too_many_requests"], st["spawns"], st["redeliveries"]))
            self.assertIn("GET /next refused (TooManyRequests)", emu.logs())
            # The runtime goes on within the limit.
            status, _, body = emu.invoke_json({"marker": "y"})
            self.assertEqual((200, "y"), (status, body["marker"]))
            self.assertEqual(1, emu.stats()["too_many_requests"])

    def test_the_variable_from_the_environment_is_used_and_passed_on(self):
        with emulator(env={VAR: "3"}) as emu:
            emu.wait_for_stat("next_requests", 3)
            _, _, body = emu.invoke_json({"marker": "v"})
            self.assertEqual(3, body["max_concurrency"])
            self.assertEqual(3, emu.stats()["max_concurrency"])

    def test_the_option_overrides_the_variable_for_the_bootstrap(self):
        with emulator(2, env={VAR: "5"}) as emu:
            _, _, body = emu.invoke_json({"marker": "o"})
            self.assertEqual(2, body["max_concurrency"])

    def run_emulator(self, env_value=None, args=()):
        env = dict(os.environ)
        env.pop(VAR, None)
        if env_value is not None:
            env[VAR] = env_value
        cmd = [lrtest.emulator_path(), "--runtime-api-port", "0", "--invoke-port", "0"]
        cmd += list(args) + ["--", RUNTIME]
        return subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=30 * lrtest.slow_factor())

    def test_an_invalid_variable_refuses_to_start(self):
        for value, shown in (("0", "0"), ("1025", "1025"), ("abc", "abc"), ("4 ", "4 "),
                             ("+4", "+4"), ("-1", "-1"), ("", ""), ("0x10", "0x10"),
                             ("9" * 40, "9" * 40), ("2\n", "2?")):
            proc = self.run_emulator(value)
            err = proc.stderr.decode()
            self.assertEqual(2, proc.returncode, (value, err))
            self.assertIn('invalid AWS_LAMBDA_MAX_CONCURRENCY="%s"' % shown, err)
            self.assertIn("1 to 1024", err)
        proc = self.run_emulator("x" * 5000)
        self.assertEqual(2, proc.returncode)
        self.assertLess(len(proc.stderr), 300)  # quoted, not echoed whole

    def test_an_invalid_option_refuses_to_start(self):
        for value in ("0", "1025", "two"):
            proc = self.run_emulator(args=["--max-concurrency", value])
            self.assertEqual(2, proc.returncode, value)
            self.assertIn("--max-concurrency", proc.stderr.decode())


if __name__ == "__main__":
    unittest.main()

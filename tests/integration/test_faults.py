"""Fault injection (issue 7): the emulator's switches against the real bootstrap. For each fault: the
documented outcome (exit code, what reached the Runtime API, what was logged), no crash, no hang past
a bound, and the next invoke working where the contract says it should.

Documented outcomes (runtime/include/lr/runtime.h, runtime/src/transport/lr_run.c, docs/handler.md):
- /next 500: the runtime exits non-zero at once; Lambda fails that invoke (Runtime.ExitError).
- transport failure or a reply without a request id on /next: retried with back-off (5 attempts).
- a header the runtime refuses (repeated, malformed, too long) on an invoke it can name: that invoke
  is answered with Runtime.InvalidHeaders, and the loop carries on.
- a missing or garbage deadline: a warning, then the invoke runs with a fallback deadline.
- a post answered 413: that invoke has failed; 400/403: logged; the loop carries on; 500: exit.
"""

import json
import os
import time
import unittest

import lrtest

EXAMPLE_RESPONSE = {"batchItemFailures": []}


def example_event():
    with open(os.path.join(lrtest.source_dir(), "input.json"), "rb") as f:
        return f.read()


def bounded(seconds):
    return seconds * lrtest.slow_factor()


class FaultTestCase(unittest.TestCase):
    def invoke_ok(self, emu, event=None):
        """Invokes with the example event and asserts the bundled handler's exact success answer."""
        t0 = time.monotonic()
        status, headers, body = emu.invoke(event or example_event())
        self.assertEqual(200, status, body)
        self.assertNotIn("x-amz-function-error", headers, body)
        self.assertEqual(EXAMPLE_RESPONSE, json.loads(body))
        return time.monotonic() - t0

    def assert_no_crash(self, emu):
        st = emu.stats()
        self.assertEqual(0, st["crashes"], emu.logs())
        self.assertEqual(0, st["last_exit_signal"], emu.logs())
        return st


class NextFaultTest(FaultTestCase):
    """Faults on GET /runtime/invocation/next."""

    def test_next_500_exits_non_zero_promptly_and_next_invoke_works(self):
        with lrtest.Emulator() as emu:
            emu.add_fault("next-500")
            t0 = time.monotonic()
            status, headers, body = emu.invoke(example_event())
            self.assertLess(time.monotonic() - t0, bounded(5))
            self.assertEqual(200, status)
            self.assertEqual("Unhandled", headers["x-amz-function-error"])
            doc = json.loads(body)
            self.assertEqual("Runtime.ExitError", doc["errorType"])
            self.assertTrue(doc["errorMessage"].endswith("Runtime exited with error: exit status 1"), doc)
            emu.wait_for_log(r"GET /next: Runtime API reported a container error \(500\); exiting")
            st = emu.stats()
            self.assertEqual((1, 1, 0), (st["exits"], st["last_exit_code"], st["responses"]))
            self.invoke_ok(emu)
            self.assertEqual(2, emu.stats()["spawns"])

    def test_reset_before_body_is_retried_on_a_new_connection(self):
        with lrtest.Emulator() as emu:
            emu.add_fault("next-reset-before-body")
            self.assertLess(self.invoke_ok(emu), bounded(5))
            st = self.assert_no_crash(emu)
            self.assertEqual((1, 2, 0, 1), (st["redeliveries"], st["connections"], st["exits"],
                                            st["faults_fired"]))
            emu.wait_for_log(r"GET /next: curl error \d+")
            self.invoke_ok(emu)
            self.assertEqual(2, emu.stats()["connections"])

    def test_reset_mid_body_is_retried_and_the_event_delivered_whole(self):
        with lrtest.Emulator() as emu:
            emu.add_fault("next-reset-mid-body")
            self.assertLess(self.invoke_ok(emu), bounded(5))
            st = self.assert_no_crash(emu)
            self.assertEqual((1, 2, 0), (st["redeliveries"], st["connections"], st["exits"]))
            emu.wait_for_log(r"GET /next: curl error \d+")

    def test_repeated_resets_up_to_the_retry_budget_still_succeed(self):
        with lrtest.Emulator() as emu:
            emu.add_fault("next-reset-before-body:4")
            self.invoke_ok(emu)
            st = self.assert_no_crash(emu)
            self.assertEqual((4, 0), (st["redeliveries"], st["exits"]))

    def test_resets_beyond_the_retry_budget_make_the_runtime_give_up(self):
        with lrtest.Emulator() as emu:
            emu.add_fault("next-reset-before-body:5")
            t0 = time.monotonic()
            status, headers, body = emu.invoke(example_event())
            self.assertLess(time.monotonic() - t0, bounded(10))
            self.assertEqual("Runtime.ExitError", json.loads(body)["errorType"])
            emu.wait_for_log(r"GET /next failed 5 times in a row")
            self.assertEqual(1, emu.stats()["last_exit_code"])
            self.invoke_ok(emu)

    def test_delayed_body_is_waited_for_without_a_client_timeout(self):
        with lrtest.Emulator() as emu:
            emu.add_fault("next-delay-body-ms=2500")
            elapsed = self.invoke_ok(emu)
            self.assertGreaterEqual(elapsed, 2.4)
            self.assertLess(elapsed, bounded(10))
            st = self.assert_no_crash(emu)
            # Same connection, no retry: the runtime sets no total timeout on /next.
            self.assertEqual((1, 0, 0), (st["connections"], st["redeliveries"], st["exits"]))

    def test_missing_request_id_is_rejected_and_retried(self):
        with lrtest.Emulator() as emu:
            emu.add_fault("next-omit-request-id")
            self.invoke_ok(emu)
            emu.wait_for_log(r"missing or invalid Lambda-Runtime-Aws-Request-Id")
            st = self.assert_no_crash(emu)
            self.assertEqual((1, 0, 1), (st["redeliveries"], st["exits"], st["responses"]))

    def test_unreadable_headers_fail_that_invoke_and_the_loop_carries_on(self):
        """A header the runtime refuses, ahead of the request id: the invoke is still answered
        (Lambda would otherwise refuse the next /next while it is pending)."""
        cases = {"next-repeat-header": r"GET /next: a header line malformed, or a known header repeated",
                 "next-long-header": r"GET /next: header lines beyond the caps"}
        for fault, warning in cases.items():
            with self.subTest(fault=fault), lrtest.Emulator() as emu:
                emu.add_fault(fault)
                status, headers, body = emu.invoke(example_event())
                self.assertEqual(200, status, body)
                self.assertEqual("Unhandled", headers.get("x-amz-function-error"), body)
                self.assertEqual("Runtime.InvalidHeaders", json.loads(body)["errorType"])
                emu.wait_for_log(warning)
                st = self.assert_no_crash(emu)
                self.assertEqual((0, 0, 1, 0), (st["exits"], st["redeliveries"], st["errors"],
                                                st["rejected_400"]))
                self.invoke_ok(emu)

    def test_garbage_or_missing_deadline_is_logged_and_the_invoke_runs(self):
        cases = {"next-bad-deadline": r"Deadline-Ms is not a plausible epoch-ms value",
                 "next-omit-deadline": r"Deadline-Ms is missing"}
        for fault, warning in cases.items():
            with self.subTest(fault=fault), lrtest.Emulator() as emu:
                emu.add_fault(fault)
                self.invoke_ok(emu)
                emu.wait_for_log(warning)
                st = self.assert_no_crash(emu)
                self.assertEqual((0, 1, 0), (st["exits"], st["responses"], st["rejected_400"]))
                self.invoke_ok(emu)


class PostFaultTest(FaultTestCase):
    """Faults on POST /response (the bundled handler answers through it)."""

    def test_413_fails_the_invoke_and_the_loop_carries_on(self):
        with lrtest.Emulator() as emu:
            emu.add_fault("response-413")
            status, headers, body = emu.invoke(example_event())
            self.assertEqual("Unhandled", headers["x-amz-function-error"])
            self.assertEqual("Function.ResponseSizeTooLarge", json.loads(body)["errorType"])
            emu.wait_for_log(r"refused the response as too large \(413\)")
            self.invoke_ok(emu)
            st = self.assert_no_crash(emu)
            self.assertEqual((0, 1), (st["exits"], st["spawns"]))

    def test_400_and_403_are_logged_and_the_loop_carries_on(self):
        for code in (400, 403):
            with self.subTest(code=code), lrtest.Emulator() as emu:
                emu.add_fault("response-%d" % code)
                self.invoke_ok(emu)  # the emulator still recorded what was posted
                emu.wait_for_log(r"ERROR\s+posting the result failed: LR_E_HTTP_%d" % code)
                self.invoke_ok(emu)
                st = self.assert_no_crash(emu)
                self.assertEqual((0, 1), (st["exits"], st["spawns"]))

    def test_500_exits_promptly_and_the_bootstrap_is_restarted(self):
        with lrtest.Emulator() as emu:
            emu.add_fault("response-500")
            self.invoke_ok(emu)
            st = emu.wait_for_stat("exits", 1, timeout_s=5)
            self.assertEqual(1, st["last_exit_code"])
            emu.wait_for_log(r"Runtime API reported a container error \(500\); exiting")
            self.invoke_ok(emu)
            self.assertEqual(2, emu.stats()["spawns"])


class EventFaultTest(FaultTestCase):
    """Bad events and a handler that overruns its timeout."""

    def test_event_over_6_mb_is_refused_by_the_invoke_api(self):
        with lrtest.Emulator() as emu:
            emu.wait_for_stat("next_requests", 1)
            status, headers, body = emu.invoke(b"x" * (6 * 1024 * 1024 + 101))
            self.assertEqual(413, status)
            self.assertEqual("RequestEntityTooLargeException", headers["x-amzn-errortype"])
            self.assertIn(b"6291556", body)
            st = emu.stats()
            self.assertEqual((0, 1), (st["invokes"], st["next_requests"]))  # never reached the runtime
            self.invoke_ok(emu)

    def test_event_at_the_6_mb_limit_is_processed(self):
        head, tail = b'{"Records":[],"pad":"', b'"}'
        event = head + b"p" * (6 * 1024 * 1024 + 100 - len(head) - len(tail)) + tail
        with lrtest.Emulator() as emu:
            status, headers, body = emu.invoke(event)
            self.assertEqual(200, status, body)
            self.assertNotIn("x-amz-function-error", headers, body)
            self.assertEqual(EXAMPLE_RESPONSE, json.loads(body))
            self.assert_no_crash(emu)

    def test_event_that_is_not_json_fails_the_invoke_without_a_crash(self):
        with lrtest.Emulator() as emu:
            for event in (b"not json at all", b"", b"{\"Records\":[", b"\xff\xfe\x00garbage"):
                with self.subTest(event=event):
                    status, headers, body = emu.invoke(event)
                    self.assertEqual(200, status)
                    self.assertEqual("Unhandled", headers.get("x-amz-function-error"), body)
                    self.assertEqual("Function.InvalidEvent", json.loads(body)["errorType"])
            st = self.assert_no_crash(emu)
            self.assertEqual((0, 1), (st["exits"], st["spawns"]))
            self.invoke_ok(emu)

    @unittest.skipIf(lrtest.valgrind(), "its 1 s function timeout also bounds the fresh bootstrap's "
                     "start, which takes about that long under memcheck")
    def test_handler_exceeding_the_timeout_is_killed_and_reported(self):
        with lrtest.Emulator(bootstrap=lrtest.helper_bootstrap_path(), timeout_ms=1000,
                             env={"LR_TB_MODE": "sleep", "LR_TB_SLEEP_MS": "30000"}) as emu:
            t0 = time.monotonic()
            status, headers, body = emu.invoke(b"{}")
            elapsed = time.monotonic() - t0
            self.assertGreaterEqual(elapsed, 0.95)
            self.assertLess(elapsed, bounded(4))
            self.assertEqual(200, status)
            self.assertEqual("Unhandled", headers["x-amz-function-error"])
            doc = json.loads(body)
            request_id = headers["x-amzn-requestid"]
            self.assertEqual({"errorType": "Sandbox.Timedout",
                              "errorMessage": "RequestId: %s Error: Task timed out after 1.00 seconds"
                                              % request_id}, doc)
            emu.wait_for_log(r"%s Task timed out after 1\.00 seconds" % request_id)
            emu.wait_for_log(r"REPORT RequestId: %s\t[^\n]*Max Memory Used: [1-9]\d* MB[^\n]*Status: timeout"
                             % request_id)
            st = emu.wait_for_stat("exits", 1)
            self.assertEqual((1, 9), (st["timeouts"], st["last_exit_signal"]))  # SIGKILL
            # The sandbox is reset: a fresh bootstrap serves the next invoke.
            status, headers, body = emu.invoke(b'{"tb_mode":"echo"}')
            self.assertEqual((200, b'{"tb_mode":"echo"}'), (status, body))
            self.assertEqual(2, emu.stats()["spawns"])

    def test_crash_by_signal_is_reported_as_lambda_does(self):
        with lrtest.Emulator(bootstrap=lrtest.helper_bootstrap_path(),
                             env={"LR_TB_SIGNAL": "15"}) as emu:
            status, headers, body = emu.invoke(b'{"tb_mode":"crash"}')
            self.assertEqual("Unhandled", headers["x-amz-function-error"])
            doc = json.loads(body)
            self.assertEqual("Runtime.ExitError", doc["errorType"])
            self.assertTrue(doc["errorMessage"].endswith("Runtime exited with error: signal: terminated"),
                            doc)
            emu.wait_for_log(r"Error: Runtime exited with error: signal: terminated\nRuntime.ExitError")
            status, _, body = emu.invoke(b'{"ok":1}')
            self.assertEqual((200, b'{"ok":1}'), (status, body))

    def test_a_crash_loses_no_log_line_of_its_invoke(self):
        # Inside an invoke, INFO lines of one millisecond are held and written together: a crash
        # (fatal signal, or exit() from the handler) writes them before the process ends.
        # ASan and UBSan own SIGSEGV in the sanitizer builds; the runtime then leaves it to them.
        endings = [{"LR_TB_SIGNAL": "6"}, {"LR_TB_SIGNAL": "4"}, {"LR_TB_EXIT_CODE": "3"}]
        if not lrtest.sanitizers():
            endings.append({"LR_TB_SIGNAL": "11"})
        for env in endings:
            with self.subTest(**env), lrtest.Emulator(bootstrap=lrtest.helper_bootstrap_path(),
                                                     env=env) as emu:
                _, headers, body = emu.invoke(b'{"tb_mode":"crash"}')
                self.assertEqual("Runtime.ExitError", json.loads(body)["errorType"])
                emu.wait_for_log(r"Runtime.ExitError")
                logs = emu.logs()
                self.assertRegex(logs, r"\tINFO\ttest bootstrap invoke 1\n")
                self.assertRegex(logs, r"\tINFO\tcrashing on purpose\n")

    def test_exit_0_during_an_invoke_is_reported_without_a_reason(self):
        with lrtest.Emulator(bootstrap=lrtest.helper_bootstrap_path(),
                             env={"LR_TB_EXIT_CODE": "0"}) as emu:
            _, headers, body = emu.invoke(b'{"tb_mode":"crash"}')
            doc = json.loads(body)
            self.assertEqual("Runtime.ExitError", doc["errorType"])
            self.assertTrue(doc["errorMessage"].endswith("Error: Runtime exited without providing a reason"),
                            doc)
            self.assertEqual(0, emu.stats()["last_exit_code"])

    def test_faults_armed_on_the_command_line_apply_in_order(self):
        with lrtest.Emulator(faults=("next-reset-before-body", "response-403")) as emu:
            self.invoke_ok(emu)
            emu.wait_for_log(r"fault next-reset-before-body injected")
            emu.wait_for_log(r"fault response-403 injected")
            emu.wait_for_log(r"posting the result failed: LR_E_HTTP_403")
            st = self.assert_no_crash(emu)
            self.assertEqual((2, 1, 0), (st["faults_fired"], st["redeliveries"], st["exits"]))
            self.invoke_ok(emu)
            self.assertEqual(2, emu.stats()["faults_fired"])

    def test_bad_fault_specs_are_refused(self):
        with lrtest.Emulator() as emu:
            for spec in ("no-such-fault", "next-500:0", "next-delay-body-ms", "next-500=3",
                         "next-delay-body-ms=abc"):
                with self.subTest(spec=spec):
                    with self.assertRaises(lrtest.EmulatorError):
                        emu.add_fault(spec)
            self.assertEqual(0, emu.stats()["faults_fired"])
            self.invoke_ok(emu)


if __name__ == "__main__":
    unittest.main()

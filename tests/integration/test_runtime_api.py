"""The real runtime (build/handler/bootstrap and the test suite's lr-test-bootstrap, both on lr_transport)
against the local emulator over loopback: the Runtime API contract of issue 2, end to end.

Each test starts its own emulator on ephemeral ports; the emulator's counters (GET /emulator/stats)
show what happened on the Runtime API side (connections, posts, exits, spawns)."""

import http.client
import json
import os
import re
import subprocess
import time
import unittest

import lrtest

UUID_V4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def tb_event(mode, **extra):
    """An event that selects the test bootstrap's behaviour for one invoke."""
    extra["tb_mode"] = mode
    return json.dumps(extra).encode()


def read_event(name):
    with open(os.path.join(lrtest.source_dir(), name), "rb") as f:
        return f.read()


class BundledBootstrapTest(unittest.TestCase):
    """The bundled handler answers the example event."""

    def test_normal_invoke_answers_batch_item_failures_and_logs_the_request_id(self):
        with lrtest.Emulator() as emu:
            status, headers, body = emu.invoke(read_event("input.json"))
            self.assertEqual(200, status)
            self.assertNotIn("x-amz-function-error", headers)
            doc = json.loads(body)
            self.assertIsInstance(doc["batchItemFailures"], list)
            request_id = headers["x-amzn-requestid"]
            self.assertRegex(request_id, UUID_V4)
            emu.wait_for_log(r"REPORT RequestId: " + request_id)
            logs = emu.logs()
            self.assertIn("START RequestId: %s Version: $LATEST" % request_id, logs)
            # The runtime's own log lines carry the request id, not only the emulator's START/END.
            own = [l for l in logs.splitlines() if request_id in l
                   and not l.startswith(("START ", "END ", "REPORT "))]
            self.assertTrue(own, logs)
            st = emu.stats()
            self.assertEqual((1, 1, 0), (st["invokes"], st["responses"], st["errors"]))
            self.assertEqual(0, st["exits"])

    def test_missing_runtime_api_variable_exits_non_zero_with_a_clear_message(self):
        env = {k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_RUNTIME_API"}
        proc = subprocess.run([lrtest.bootstrap_path()], env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=30 * lrtest.slow_factor())
        self.assertNotEqual(0, proc.returncode)
        self.assertGreater(proc.returncode, 0, "killed by a signal, not a clean exit")
        self.assertIn("AWS_LAMBDA_RUNTIME_API", (proc.stdout + proc.stderr).decode())


class TestBootstrapTest(unittest.TestCase):
    """Behaviours that need a function doing something specific (lr-test-bootstrap)."""

    def emulator(self, **kw):
        kw.setdefault("bootstrap", lrtest.helper_bootstrap_path())
        return lrtest.Emulator(**kw)

    def test_echo_is_byte_exact(self):
        payload = b'{"k":"v\\u00e9","n":[1,2,3]}'
        with self.emulator() as emu:
            status, headers, body = emu.invoke(payload)
            self.assertEqual((200, payload), (status, body))

    def test_function_error_is_reported_with_its_type(self):
        with self.emulator(env={"LR_TB_ERROR_TYPE": "Custom.Boom"}) as emu:
            status, headers, body = emu.invoke(tb_event("error"))
            self.assertEqual(200, status)
            self.assertEqual("Unhandled", headers["x-amz-function-error"])
            self.assertEqual({"errorMessage": "boom", "errorType": "Custom.Boom", "stackTrace": []},
                             json.loads(body))
            st = emu.stats()
            # The Lambda-Runtime-Function-Error-Type header reached the Runtime API.
            self.assertEqual("Custom.Boom", st["last_error_type"])
            self.assertEqual((1, 0), (st["errors"], st["responses"]))
            # The loop goes on in the same process.
            status, _, body = emu.invoke(tb_event("info"))
            self.assertEqual(200, status)
            self.assertEqual(st["child_pid"], json.loads(body)["pid"])
            self.assertEqual(1, emu.stats()["spawns"])

    def test_init_error_is_posted_and_served_to_the_invoke(self):
        with self.emulator(env={"LR_TB_MODE": "init-error"}) as emu:
            st = emu.wait_for_stat("exits", 1)
            self.assertEqual(1, st["init_errors"])
            self.assertEqual(1, st["last_exit_code"])
            status, headers, body = emu.invoke(b"{}")
            self.assertEqual(200, status)
            self.assertEqual("Unhandled", headers["x-amz-function-error"])
            doc = json.loads(body)
            self.assertEqual("Runtime.TestInitError", doc["errorType"])
            self.assertEqual("init failed on purpose", doc["errorMessage"])
            self.assertIn("Phase: init\tStatus: error\tError Type: Runtime.TestInitError", emu.logs())
            # Every later invoke re-runs the init, which fails again the same way.
            status, headers, body = emu.invoke(b"{}")
            self.assertEqual("Runtime.TestInitError", json.loads(body)["errorType"])
            self.assertEqual(2, emu.stats()["init_errors"])

    def test_trace_id_is_set_per_invoke_and_unset_when_absent(self):
        trace = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"
        with self.emulator() as emu:
            _, _, body = emu.invoke(tb_event("trace"), headers={"X-Amzn-Trace-Id": trace})
            self.assertEqual(trace.encode(), body)
            _, _, body = emu.invoke(tb_event("trace"))
            self.assertEqual(b"<unset>", body)
            _, _, body = emu.invoke(tb_event("trace"), headers={"X-Amzn-Trace-Id": "Root=1-2"})
            self.assertEqual(b"Root=1-2", body)
            self.assertEqual(1, emu.stats()["spawns"])

    def test_trace_id_from_the_emulators_own_environment_is_not_inherited(self):
        with self.emulator(env={"_X_AMZN_TRACE_ID": "Root=stale"}) as emu:
            _, _, body = emu.invoke(tb_event("trace"))
            self.assertEqual(b"<unset>", body)

    def test_one_tcp_connection_across_many_invokes(self):
        n = 200
        with self.emulator() as emu:
            for i in range(n):
                status, _, body = emu.invoke(b'{"i":%d}' % i)
                self.assertEqual((200, b'{"i":%d}' % i), (status, body))
            # The bootstrap asks for the next event right after posting the last answer: wait
            # for that request instead of racing it, then check it reused the one connection.
            st = emu.wait_for_stat("next_requests", n + 1)
            self.assertEqual(1, st["connections"], st)
            self.assertEqual(n, st["invokes"])
            self.assertEqual(n, st["responses"])
            self.assertEqual(n + 1, st["next_requests"])
            self.assertEqual(1, st["spawns"])

    def test_lambda_environment_and_request_headers(self):
        with self.emulator(env={"LR_TB_CUSTOM": "kept", "AWS_REGION": "eu-west-3",
                                "AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "DEBUG"},
                           timeout_ms=7000,
                           extra_args=["--function-name", "orders", "--memory-mb", "512"]) as emu:
            before = int(time.time() * 1000)
            _, headers, body = emu.invoke(tb_event("info"), headers={
                "X-Amz-Client-Context": "eyJjdXN0b20iOnt9fQ==", "X-Amz-Tenant-Id": "tenant-7"})
            doc = json.loads(body)
            self.assertEqual("eyJjdXN0b20iOnt9fQ==", doc["client_context"])  # passed on as received
            self.assertEqual("tenant-7", doc["tenant_id"])
            _, _, body = emu.invoke(tb_event("info"))
            self.assertEqual(("", ""), (json.loads(body)["client_context"], json.loads(body)["tenant_id"]))
            env = doc["env"]
            self.assertEqual(emu.runtime_api, env["AWS_LAMBDA_RUNTIME_API"])
            self.assertEqual("orders", env["AWS_LAMBDA_FUNCTION_NAME"])
            self.assertEqual("$LATEST", env["AWS_LAMBDA_FUNCTION_VERSION"])
            self.assertEqual("512", env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
            self.assertEqual("/aws/lambda/orders", env["AWS_LAMBDA_LOG_GROUP_NAME"])
            self.assertRegex(env["AWS_LAMBDA_LOG_STREAM_NAME"], r"^\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{16}$")
            self.assertEqual("eu-west-3", env["AWS_REGION"])
            self.assertEqual("kept", env["LR_TB_CUSTOM"])
            self.assertEqual(("JSON", "DEBUG"), (env["AWS_LAMBDA_LOG_FORMAT"], env["AWS_LAMBDA_LOG_LEVEL"]))
            # ... and the runtime's logging follows them: a JSON line for this invoke.
            line = emu.wait_for_log(r'\{[^\n]*"requestId": ?"%s"[^\n]*\}' % doc["request_id"])[0]
            self.assertEqual("INFO", json.loads(line)["level"])
            self.assertIn("_HANDLER", env)
            self.assertIn("LAMBDA_TASK_ROOT", env)
            self.assertEqual(headers["x-amzn-requestid"], doc["request_id"])
            self.assertEqual("arn:aws:lambda:eu-west-3:012345678912:function:orders", doc["function_arn"])
            self.assertGreaterEqual(doc["deadline_ms"], before + 7000)
            self.assertLessEqual(doc["deadline_ms"], int(time.time() * 1000) + 7000)
            self.assertIn("Memory Size: 512 MB", emu.wait_for_log(r"REPORT RequestId: [^\n]*")[0])


class EmulatorTest(unittest.TestCase):
    """The emulator's own contract (tools/emulator/README.md), seen from a caller."""

    def test_concurrent_invokes_are_served_one_at_a_time(self):
        import threading
        results = {}
        with lrtest.Emulator(bootstrap=lrtest.helper_bootstrap_path()) as emu:
            def run(i):
                results[i] = emu.invoke(tb_event("sleep", ms=300, i=i))
            threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
            t0 = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join(60 * lrtest.slow_factor())
            self.assertGreaterEqual(time.monotonic() - t0, 1.2)
            for i in range(4):
                status, _, body = results[i]
                self.assertEqual(200, status)
                self.assertEqual(i, json.loads(body)["i"])
            st = emu.stats()
            self.assertEqual((4, 1, 1), (st["responses"], st["spawns"], st["connections"]))

    def test_log_tail_is_the_last_4_kb_of_the_invokes_log(self):
        import base64
        doc = json.loads(read_event("input.json"))
        records = []
        for i in range(20):
            for r in doc["Records"]:
                r = json.loads(json.dumps(r))
                r["dynamodb"]["SequenceNumber"] = str(1000 + len(records))
                records.append(r)
        with lrtest.Emulator() as emu:
            status, headers, body = emu.invoke(json.dumps({"Records": records}),
                                               headers={"X-Amz-Log-Type": "Tail"})
            self.assertEqual(200, status, body)
            tail = base64.b64decode(headers["x-amz-log-result"])
            self.assertEqual(4096, len(tail))
            request_id = headers["x-amzn-requestid"]
            self.assertTrue(tail.rstrip(b"\n").splitlines()[-1].startswith(
                b"REPORT RequestId: " + request_id.encode()), tail)
            full = emu.logs().encode()
            self.assertIn(tail, full)  # exactly the log's bytes
            self.assertIn(b"record 59:", full)
            # Without the header there is no log result.
            _, headers, _ = emu.invoke(read_event("input.json"))
            self.assertNotIn("x-amz-log-result", headers)

    def test_listens_on_loopback_only(self):
        with lrtest.Emulator(bootstrap=lrtest.helper_bootstrap_path()) as emu:
            ports = {int(emu.runtime_api.rpartition(":")[2]), int(emu.invoke_address.rpartition(":")[2])}
            listening = {}
            for table in ("/proc/net/tcp", "/proc/net/tcp6"):
                with open(table) as f:
                    for line in f.readlines()[1:]:
                        local, state = line.split()[1], line.split()[3]
                        addr, port = local.rsplit(":", 1)
                        if state == "0A" and int(port, 16) in ports:  # 0A = LISTEN
                            listening.setdefault(int(port, 16), []).append(addr)
            self.assertEqual(ports, set(listening))
            for port, addrs in listening.items():
                self.assertEqual(["0100007F"], addrs, port)  # 127.0.0.1, no IPv6 or wildcard socket

    def test_report_lines_carry_durations_memory_and_init(self):
        with lrtest.Emulator(bootstrap=lrtest.helper_bootstrap_path(),
                             extra_args=["--memory-mb", "256"]) as emu:
            first = emu.invoke(b"{}")[1]["x-amzn-requestid"]
            second = emu.invoke(b"{}")[1]["x-amzn-requestid"]
            rx = (r"REPORT RequestId: %s\tDuration: (\d+\.\d\d) ms\tBilled Duration: (\d+) ms\t"
                  r"Memory Size: 256 MB\tMax Memory Used: (\d+) MB(\tInit Duration: \d+\.\d\d ms)?\n")
            d, billed, used, init = emu.wait_for_log(rx % first)[0]
            self.assertEqual(int(billed), max(1, -int(-float(d) // 1)))  # rounded up to the ms
            self.assertGreater(int(used), 0)
            self.assertTrue(init, "the first invoke after a start reports the init")
            self.assertFalse(emu.wait_for_log(rx % second)[0][3], "only the first one does")
            self.assertGreaterEqual(emu.stats()["last_init_us"], 0)

    def test_bootstrap_that_cannot_be_executed_is_an_invalid_entrypoint(self):
        with tempfile_event(b"this is not a program\n") as path:
            os.chmod(path, 0o755)
            with lrtest.Emulator(bootstrap=path) as emu:
                status, headers, body = emu.invoke(b"{}")
                self.assertEqual(200, status)
                self.assertEqual("Unhandled", headers["x-amz-function-error"])
                self.assertEqual({"errorType": "Runtime.InvalidEntrypoint",
                                  "errorMessage": "RequestId: %s Error: fork/exec %s: exec format error"
                                                  % (headers["x-amzn-requestid"], path)},
                                 json.loads(body))
                self.assertEqual(0, emu.stats()["spawns"])

    def test_sigterm_with_invokes_pending_answers_503_and_exits_0(self):
        import threading
        results = []
        emu = lrtest.Emulator(bootstrap=lrtest.helper_bootstrap_path())
        emu.start()
        try:
            def run():
                results.append(emu.invoke(tb_event("sleep", ms=5000))[0])
            threads = [threading.Thread(target=run) for _ in range(5)]
            for t in threads:
                t.start()
            emu.wait_for_log(r"START RequestId: ")
            emu.wait_for_stat("invoke_requests", 5)
            t0 = time.monotonic()
            self.assertEqual(0, emu.stop())
            self.assertLess(time.monotonic() - t0, 3 * lrtest.slow_factor())
            for t in threads:
                t.join(30)
            self.assertEqual([503] * 5, results)
        finally:
            emu.stop()

    def test_unknown_paths_and_bad_options(self):
        with lrtest.Emulator(bootstrap=lrtest.helper_bootstrap_path()) as emu:
            self.assertEqual(404, emu.request("GET", "/nope")[0])
            self.assertEqual(404, _post(emu, "/2018-06-01/runtime/invocation/x/other", b"")[0])
            self.assertEqual(0, emu.stats()["invokes"])
        proc = subprocess.run([lrtest.emulator_path(), "--no-such-option", "1", "--", "/bin/true"],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(2, proc.returncode)
        self.assertIn("unknown option --no-such-option", proc.stderr)


class InvokeLocalScriptTest(unittest.TestCase):
    """scripts/invoke-local, run on the build under test (--no-build: CTest must not rebuild it)."""

    def run_script(self, *args):
        script = os.path.join(lrtest.source_dir(), "scripts", "invoke-local")
        return subprocess.run([script, "--no-build", "--build-dir", lrtest.build_dir()] + list(args),
                              capture_output=True, text=True, timeout=120 * lrtest.slow_factor(),
                              cwd=lrtest.source_dir(), stdin=subprocess.DEVNULL)

    def test_default_event_prints_logs_and_response(self):
        proc = self.run_script()
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        out = proc.stdout
        self.assertIn("== function logs ==", out)
        self.assertRegex(out, r"START RequestId: [0-9a-f-]{36} Version: \$LATEST")
        self.assertRegex(out, r"REPORT RequestId: [0-9a-f-]{36}\tDuration: ")
        self.assertIn("== response (HTTP 200) ==\n{\"batchItemFailures\":[]}\n", out)

    def test_failed_invoke_exits_non_zero_and_env_reaches_the_function(self):
        with tempfile_event(b'{"tb_mode":"info"}') as info, tempfile_event(b'{"tb_mode":"crash"}') as bad:
            boot = lrtest.helper_bootstrap_path()
            proc = self.run_script("--bootstrap", boot, "--env", "LR_TB_CUSTOM=from-cli",
                                   "--timeout-ms", "4000", info)
            self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
            body = proc.stdout.split("== response (HTTP 200) ==\n", 1)[1]
            doc = json.loads(body)
            self.assertEqual("from-cli", doc["env"]["LR_TB_CUSTOM"])
            self.assertLessEqual(doc["remaining_ms"], 4000)
            proc = self.run_script("--bootstrap", boot, bad)
            self.assertNotEqual(0, proc.returncode)
            self.assertIn("X-Amz-Function-Error: Unhandled", proc.stdout)
            self.assertIn("Runtime.ExitError", proc.stdout)


class tempfile_event:
    """A temporary event file, removed on exit."""

    def __init__(self, data):
        import tempfile
        self._f = tempfile.NamedTemporaryFile(suffix=".json", delete=False)
        self._f.write(data)
        self._f.close()

    def __enter__(self):
        return self._f.name

    def __exit__(self, *exc):
        os.unlink(self._f.name)
        return False


class StatusCodeTest(unittest.TestCase):
    """Each Runtime API status of spec 1.7, and how the runtime's loop carries on (or not)."""

    def emulator(self, **kw):
        kw.setdefault("bootstrap", lrtest.helper_bootstrap_path())
        return lrtest.Emulator(**kw)

    def assert_still_serving(self, emu, spawns=1):
        status, _, body = emu.invoke(b'{"after":true}')
        self.assertEqual((200, b'{"after":true}'), (status, body))
        self.assertEqual(spawns, emu.stats()["spawns"])

    def test_413_on_response_fails_the_invoke_and_the_loop_carries_on(self):
        with self.emulator() as emu:
            emu.add_fault("response-413")
            status, headers, body = emu.invoke(b'{"x":1}')
            self.assertEqual(200, status)
            self.assertEqual("Unhandled", headers["x-amz-function-error"])
            self.assertEqual("Function.ResponseSizeTooLarge", json.loads(body)["errorType"])
            emu.wait_for_log(r"too large \(413\)")
            self.assert_still_serving(emu)
            self.assertEqual(0, emu.stats()["exits"])

    def test_oversized_response_is_turned_into_an_error_by_the_runtime(self):
        with self.emulator() as emu:
            status, headers, body = emu.invoke(tb_event("big", bytes=7 * 1024 * 1024))
            self.assertEqual(200, status)
            self.assertEqual("Unhandled", headers["x-amz-function-error"])
            self.assertEqual("Function.ResponseSizeTooLarge", json.loads(body)["errorType"])
            st = emu.stats()
            self.assertEqual((1, 0), (st["errors"], st["rejected_413"]))  # never sent: no 413
            self.assert_still_serving(emu)

    def test_400_and_403_are_logged_and_the_loop_carries_on(self):
        for code in (400, 403):
            with self.subTest(code=code), self.emulator() as emu:
                emu.add_fault("response-%d" % code)
                status, _, body = emu.invoke(b'{"x":1}')
                self.assertEqual((200, b'{"x":1}'), (status, body))
                emu.wait_for_log(r"posting the result failed: LR_E_HTTP_%d" % code)
                self.assert_still_serving(emu)
                self.assertEqual(0, emu.stats()["exits"])

    def test_500_makes_the_bootstrap_exit_promptly_and_it_is_restarted(self):
        with self.emulator() as emu:
            emu.add_fault("response-500")
            t0 = time.monotonic()
            status, _, body = emu.invoke(b'{"x":1}')
            self.assertEqual((200, b'{"x":1}'), (status, body))
            st = emu.wait_for_stat("exits", 1, timeout_s=5)
            self.assertLess(time.monotonic() - t0, 5 * lrtest.slow_factor())
            self.assertEqual(1, st["last_exit_code"])
            emu.wait_for_log(r"container error \(500\); exiting")
            self.assert_still_serving(emu, spawns=2)

    @unittest.skipIf(lrtest.valgrind(), "its own posts must follow the bootstrap's receipt of the event; "
                     "under memcheck they come first, so the bootstrap never gets it")
    def test_real_400_403_and_413_from_the_emulator(self):
        """The emulator's own answers to a wrong id, a second answer and an oversized body."""
        with self.emulator() as emu, _Background(emu, tb_event("sleep", ms=1500)) as bg:
            request_id = emu.wait_for_log(r"START RequestId: ([0-9a-f-]{36})")[0]
            base = "/2018-06-01/runtime/invocation/"
            self.assertEqual(400, _post(emu, base + "not-the-id/response", b"{}")[0])
            self.assertEqual(413, _post(emu, base + request_id + "/response",
                                        b"x" * (6 * 1024 * 1024 + 101))[0])
            self.assertEqual(403, _post(emu, base + request_id + "/response", b'{"late":1}')[0])
            status, headers, body = bg.result()
            self.assertEqual("Function.ResponseSizeTooLarge", json.loads(body)["errorType"])
            # The bootstrap's own post, after waking up, got a 403: logged, and it carries on.
            emu.wait_for_log(r"LR_E_HTTP_403")
            self.assert_still_serving(emu)
            st = emu.stats()
            self.assertEqual((1, 1, 2), (st["rejected_400"], st["rejected_413"], st["rejected_403"]))

    def test_second_post_for_the_same_invoke_gets_403(self):
        with self.emulator() as emu, _Background(emu, tb_event("sleep", ms=1000)) as bg:
            request_id = emu.wait_for_log(r"START RequestId: ([0-9a-f-]{36})")[0]
            path = "/2018-06-01/runtime/invocation/%s/" % request_id
            self.assertEqual(202, _post(emu, path + "response", b'{"first":1}')[0])
            self.assertEqual(403, _post(emu, path + "response", b'{"second":1}')[0])
            self.assertEqual(403, _post(emu, path + "error", b'{}',
                                        {"Lambda-Runtime-Function-Error-Type": "X.Y"})[0])
            self.assertEqual(b'{"first":1}', bg.result()[2])


def _post(emu, path, body, headers=None):
    host, _, port = emu.runtime_api.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class _Background:
    """Runs one invoke in a thread while the test talks to the Runtime API itself."""

    def __init__(self, emu, payload):
        import threading
        self._emu, self._payload, self._out = emu, payload, None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        self._out = self._emu.invoke(self._payload)

    def __enter__(self):
        self._thread.start()
        return self

    def result(self, timeout_s=60):
        self._thread.join(timeout_s * lrtest.slow_factor())
        if self._out is None:
            raise AssertionError("background invoke did not finish")
        return self._out

    def __exit__(self, *exc):
        self._thread.join(60)
        return False


if __name__ == "__main__":
    unittest.main()

"""Test harness for the integration tests: paths of the build, and a context manager that runs the
local Lambda emulator (tools/emulator/lambda-emu) with a bootstrap on ephemeral loopback ports.

Standard library only. Every process the harness starts is stopped when the `with` block ends, even
when the test fails.

With LR_VALGRIND=1 the Emulator runs our own bootstraps (the bundled handler and lr-test-bootstrap, not
the emulator itself) under valgrind memcheck, and the `with` block fails when any valgrind log reports
a memory error or a definite/indirect leak. `python3 lrtest.py --valgrind-suite test_x ...` runs whole
test modules that way (CTest's integration.valgrind_suite).

    with lrtest.Emulator(env={"LR_BATCH_MODE": "continue"}) as emu:
        status, headers, body = emu.invoke(b'{"Records":[]}')
        assert status == 200
        assert "START RequestId:" in emu.logs()
"""

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

_HERE = os.path.dirname(os.path.abspath(__file__))

INVOKE_PATH = "/2015-03-31/functions/function/invocations"

# Lines that ASan, LSan and UBSan print; any of them in the logs fails the test that ran the emulator.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", ": runtime error: ")

_TRUE = ("1", "ON", "on", "TRUE", "true", "yes")

# memcheck's options under LR_VALGRIND=1 (--log-file is added per emulator). Only definite and indirect
# leaks count: memory still reachable when a process is stopped is not a leak.
VALGRIND_ARGS = ("--tool=memcheck", "--leak-check=full", "--show-leak-kinds=definite,indirect",
                 "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99", "--num-callers=30")

# The first line of every memcheck error report (and of a definite/indirect leak record). A process the
# emulator SIGKILLs (timeout, shutdown) never writes its ERROR SUMMARY, so its log is searched for these.
_VG_ERROR = re.compile(
    r"^==\d+== (?:Invalid (?:read|write|free|alignment)|Mismatched free|Conditional jump or move"
    r"|Use of uninitialised value|Syscall param|Source and destination overlap|Argument '[^']*' of function"
    r"|Jump to the invalid address|Illegal memory pool|[^\n]*realloc\(\) with size 0"
    r"|[^\n]* are (?:definitely|indirectly) lost in loss record)[^\n]*$", re.M)
_VG_SUMMARY = re.compile(r"^==\d+== ERROR SUMMARY: (\d+) errors", re.M)
_VG_LOST = re.compile(r"^==\d+== +(definitely|indirectly) lost: ([\d,]+) bytes", re.M)

# Counters over every Emulator of this process, printed by the --valgrind-suite runner.
VALGRIND_TOTALS = {"processes": 0, "leak_checked": 0}


def source_dir():
    """The repository root (LR_SOURCE_DIR, else two levels above this file)."""
    return os.environ.get("LR_SOURCE_DIR") or os.path.dirname(os.path.dirname(_HERE))


def build_dir():
    """The CMake build directory (LR_BUILD_DIR, else <source>/build)."""
    return os.environ.get("LR_BUILD_DIR") or os.path.join(source_dir(), "build")


def bootstrap_path():
    """The bundled handler executable, build/handler/bootstrap."""
    return os.path.join(build_dir(), "handler", "bootstrap")


def test_handler_path():
    """The bundled handler plus its testing switches (LR_TEST_*), build/tests/handler-test-bootstrap."""
    return os.path.join(build_dir(), "tests", "handler-test-bootstrap")


def emulator_path():
    """The emulator executable, build/tools/emulator/lambda-emu."""
    return os.path.join(build_dir(), "tools", "emulator", "lambda-emu")


def helper_bootstrap_path():
    """The emulator's test bootstrap (behaviour chosen by LR_TB_MODE, see tools/emulator/README.md)."""
    return os.path.join(build_dir(), "tests", "lr-test-bootstrap")


def fixtures_dir():
    """../shared/fixtures next to the repository when it exists, else None (tests must then skip)."""
    path = os.path.normpath(os.path.join(source_dir(), "..", "shared", "fixtures"))
    return path if os.path.isdir(path) else None


def sanitizers():
    """True when the build under test uses ASan+UBSan (slower: widen time bounds)."""
    return os.environ.get("LR_SANITIZERS", "") in _TRUE


def valgrind():
    """True when LR_VALGRIND=1: our bootstraps run under valgrind memcheck (tests that assert timings,
    memory figures or signals valgrind changes skip themselves then)."""
    return os.environ.get("LR_VALGRIND", "") in _TRUE


def slow_factor():
    """Multiplier for time bounds: sanitizer builds run several times slower, memcheck more (its start
    alone takes about a second, and CPU-bound work runs 10-50 times slower)."""
    if valgrind():
        return 8
    return 4 if sanitizers() else 1


def valgrind_problems(text):
    """The memory errors and definite/indirect leaks one memcheck log reports, as a list of lines
    (empty when clean). Works on a log cut short by SIGKILL too (then without a leak check)."""
    problems = _VG_ERROR.findall(text)
    summary = _VG_SUMMARY.search(text)
    if summary and summary.group(1) != "0" and not problems:
        problems.append(summary.group(0))
    for kind, amount in _VG_LOST.findall(text):
        if amount != "0":
            problems.append("%s lost: %s bytes" % (kind, amount))
    return problems


def record_lines(logs, kind="record"):
    """The bundled handler's lines (JSON log format) in the emulator's output, in order: kind "record"
    the line per processed record (keys and images), kind "failure" the line per failed record."""
    marker, member = ('"keys":', "eventName") if kind == "record" else ('"reason":', "recordIndex")
    out = []
    for line in logs.splitlines():
        if line.startswith("{") and marker in line:
            doc = json.loads(line)
            if "sequenceNumber" in doc and member in doc:
                out.append(doc)
    return out


def end_process(proc, timeout_s=10):
    """Ends a helper server the tests started (moto_server, a proxy): SIGTERM, then SIGKILL after
    timeout_s; waits for it either way."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class EmulatorError(Exception):
    """The emulator did not start, or stopped unexpectedly."""


class Emulator:
    """Runs lambda-emu with a bootstrap on ephemeral ports; use as a context manager.

    bootstrap: path of the bootstrap (default: the bundled handler; with an LR_TEST_* variable in env,
    the same handler built with its testing switches). env: variables added to the
    current environment (a value of None removes the variable). timeout_ms: the function timeout.
    faults: fault specs given on the command line (--fault). extra_args: more emulator options.
    bootstrap_args: arguments passed to the bootstrap. max_concurrency: --max-concurrency N (Lambda
    Managed Instances' concurrent invokes; it also sets AWS_LAMBDA_MAX_CONCURRENCY for the bootstrap).
    """

    def __init__(self, bootstrap=None, env=None, timeout_ms=None, faults=(), extra_args=(),
                 bootstrap_args=(), start_timeout_s=None, max_concurrency=None):
        # The production bootstrap does not read the testing switches: a test that sets one runs the
        # same handler built with them.
        uses_switches = any(k.startswith("LR_TEST_") and v is not None for k, v in (env or {}).items())
        self.bootstrap = bootstrap or (test_handler_path() if uses_switches else bootstrap_path())
        self.env = dict(env or {})
        self.timeout_ms = timeout_ms
        self.faults = list(faults)
        self.extra_args = list(extra_args)
        self.max_concurrency = max_concurrency
        self.bootstrap_args = list(bootstrap_args)
        self.start_timeout_s = start_timeout_s or 15 * slow_factor()
        # Under LR_VALGRIND only our own bootstraps are wrapped (a script or a non-program stays as is).
        ours = {os.path.realpath(p) for p in (bootstrap_path(), helper_bootstrap_path(),
                                              test_handler_path())}
        self.valgrind = valgrind() and os.path.realpath(self.bootstrap) in ours
        self.valgrind_logs = {}
        self.proc = None
        self.returncode = None
        self.runtime_api = None
        self.invoke_address = None
        self.invoke_url = None
        self._tmp = None
        self._log = None

    # -- lifecycle ------------------------------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None and self.valgrind:
            self._end_bootstrap_for_leak_check()
        code = self.stop()
        if exc_type is None:
            self.check_clean_exit(code)
        return False

    def check_clean_exit(self, code):
        """Raises unless the emulator exited 0 and nothing printed a sanitizer or valgrind report."""
        logs = self.logs()
        for marker in SANITIZER_MARKERS:
            if marker in logs:
                raise EmulatorError("sanitizer report (%r) in the logs:\n%s" % (marker, logs))
        for path, text in sorted(self.valgrind_logs.items()):
            problems = valgrind_problems(text)
            if problems:
                raise EmulatorError("valgrind: %s in %s:\n%s\n-- emulator output:\n%s"
                                    % ("; ".join(problems[:5]), os.path.basename(path), text[-8000:],
                                       logs[-3000:]))
        if code != 0:
            raise EmulatorError("emulator exited with %s:\n%s" % (code, logs))

    def _end_bootstrap_for_leak_check(self):
        """SIGTERMs the running bootstrap and waits for it to end, so that valgrind writes its leak
        report (the emulator's shutdown SIGKILLs it, which valgrind cannot report on). It waits
        first until every worker is idle in GET /next: what it holds then is reachable, so only
        real leaks show. (A signal between a strdup() in curl_easy_setopt() and the store of its
        pointer made a leak of 19 bytes out of nothing.)"""
        if not self.running():
            return
        workers = int(self.env.get("AWS_LAMBDA_MAX_CONCURRENCY") or self.max_concurrency or 1)
        limit = time.monotonic() + 10 * slow_factor()
        try:
            st = self.stats()
            workers = min(workers, st.get("max_concurrency") or workers)  # the emulator's limit
            while (st.get("child_pid") and st.get("next_waiting", 0) < workers
                   and time.monotonic() < limit and self.running()):
                time.sleep(0.05)
                st = self.stats()
            pid = st.get("child_pid", 0)
        except (OSError, ValueError, EmulatorError):
            return
        if not pid:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        limit = time.monotonic() + 60
        while time.monotonic() < limit and self.running():
            try:
                if self.stats().get("child_pid", 0) != pid:
                    return
            except (OSError, ValueError, EmulatorError):
                return
            time.sleep(0.05)

    def _command(self, port_file):
        cmd = [emulator_path(), "--runtime-api-port", "0", "--invoke-port", "0",
               "--port-file", port_file]
        if self.timeout_ms is not None:
            cmd += ["--timeout-ms", str(int(self.timeout_ms))]
        for spec in self.faults:
            cmd += ["--fault", spec]
        if self.max_concurrency is not None:
            cmd += ["--max-concurrency", str(int(self.max_concurrency))]
        cmd += self.extra_args
        cmd += ["--"]
        if self.valgrind:
            log = os.path.join(self._tmp.name, "valgrind", "vg.%p.log")
            cmd += [shutil.which("valgrind")] + list(VALGRIND_ARGS) + ["--log-file=" + log]
        cmd += [self.bootstrap] + self.bootstrap_args
        return cmd

    def _environment(self):
        env = dict(os.environ)
        for key, value in self.env.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = str(value)
        if self.valgrind and "LAMBDA_TASK_ROOT" not in self.env:
            # The emulator's default is the folder of the program it starts, here valgrind's.
            env.setdefault("LAMBDA_TASK_ROOT", os.path.dirname(os.path.realpath(self.bootstrap)))
        return env

    def start(self):
        for path in (emulator_path(), self.bootstrap):
            if not os.access(path, os.X_OK):
                raise EmulatorError("not built: %s (LR_BUILD_DIR=%s)" % (path, build_dir()))
        if self.valgrind and not shutil.which("valgrind"):
            raise EmulatorError("LR_VALGRIND=1 but valgrind is not installed")
        self._tmp = tempfile.TemporaryDirectory(prefix="lrtest-")
        if self.valgrind:
            os.mkdir(os.path.join(self._tmp.name, "valgrind"))
        port_file = os.path.join(self._tmp.name, "ports")
        self.log_path = os.path.join(self._tmp.name, "emulator.log")
        self._log = open(self.log_path, "wb")
        # Own session: stop() can then reach a bootstrap left behind if the emulator itself died.
        self.proc = subprocess.Popen(self._command(port_file), env=self._environment(),
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._read_ports(port_file)
        except BaseException:
            self.stop()
            raise

    def _read_ports(self, port_file):
        limit = time.monotonic() + self.start_timeout_s
        while time.monotonic() < limit:
            if self.proc.poll() is not None:
                raise EmulatorError("emulator exited with %s before listening:\n%s"
                                    % (self.proc.returncode, self.logs()))
            if os.path.exists(port_file):
                values = {}
                with open(port_file) as f:
                    for line in f:
                        key, _, value = line.strip().partition("=")
                        values[key] = value
                if "runtime_api" in values and "invoke" in values:
                    self.runtime_api = values["runtime_api"]
                    self.invoke_address = values["invoke"]
                    self.invoke_url = "http://%s%s" % (self.invoke_address, INVOKE_PATH)
                    return
            time.sleep(0.01)
        raise EmulatorError("emulator did not write its port file in %ss:\n%s"
                            % (self.start_timeout_s, self.logs()))

    def stop(self, timeout_s=10):
        """SIGTERM, then SIGKILL to the whole session after timeout_s; returns the exit code."""
        if self.proc is not None and self.returncode is None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=timeout_s * slow_factor())
                except subprocess.TimeoutExpired:
                    pass
            self._kill_session()
            self.returncode = self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._tmp is not None:
            self._saved_logs = self.logs()
            self._collect_valgrind_logs()
            self._tmp.cleanup()
            self._tmp = None
        return self.returncode

    def _collect_valgrind_logs(self):
        folder = os.path.join(self._tmp.name, "valgrind")
        if not os.path.isdir(folder):
            return
        for name in sorted(os.listdir(folder)):
            with open(os.path.join(folder, name), errors="replace") as f:
                text = f.read()
            self.valgrind_logs[name] = text
            VALGRIND_TOTALS["processes"] += 1
            if "LEAK SUMMARY" in text or "All heap blocks were freed" in text:
                VALGRIND_TOTALS["leak_checked"] += 1

    def _kill_session(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    # -- Invoke API -----------------------------------------------------------------------------

    def _connection(self, timeout_s):
        host, _, port = self.invoke_address.rpartition(":")
        return http.client.HTTPConnection(host, int(port), timeout=timeout_s)

    def request(self, method, path, body=None, headers=None, timeout_s=60):
        """One HTTP request to the invoke port; returns (status, headers dict lower-cased, body)."""
        conn = self._connection(timeout_s * slow_factor())
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
            return resp.status, hdrs, data
        finally:
            conn.close()

    def invoke(self, payload, headers=None, timeout_s=60):
        """POSTs payload (bytes or str) to the Invoke API; returns (status, headers, body).

        Header names in the returned dict are lower-case (e.g. "x-amz-function-error")."""
        if isinstance(payload, str):
            payload = payload.encode()
        return self.request("POST", INVOKE_PATH, payload, headers, timeout_s)

    def invoke_json(self, obj, headers=None, timeout_s=60):
        """Invokes with json.dumps(obj); returns (status, headers, parsed body or raw bytes)."""
        status, hdrs, body = self.invoke(json.dumps(obj).encode(), headers, timeout_s)
        try:
            return status, hdrs, json.loads(body)
        except ValueError:
            return status, hdrs, body

    def add_fault(self, spec):
        """Arms a fault (NAME[:COUNT], see tools/emulator/README.md) for the next matching events."""
        status, _, body = self.request("POST", "/emulator/faults", spec.encode())
        if status != 200:
            raise EmulatorError("fault %r refused: %s %s" % (spec, status, body))

    def stats(self):
        """The emulator's counters (GET /emulator/stats) as a dict."""
        status, _, body = self.request("GET", "/emulator/stats")
        if status != 200:
            raise EmulatorError("stats: %s %s" % (status, body))
        return json.loads(body)

    # -- logs -----------------------------------------------------------------------------------

    def logs(self):
        """Everything the emulator and the bootstrap printed so far (stdout and stderr)."""
        if self._tmp is None:
            return getattr(self, "_saved_logs", "")
        if self._log is not None:
            self._log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_for_log(self, pattern, timeout_s=10, count=1):
        """Waits until regex pattern matches at least count times in logs(); returns the matches."""
        rx = re.compile(pattern)
        limit = time.monotonic() + timeout_s * slow_factor()
        while True:
            found = rx.findall(self.logs())
            if len(found) >= count:
                return found
            if time.monotonic() > limit:
                raise AssertionError("log pattern %r not seen %d time(s) in %ss; logs:\n%s"
                                     % (pattern, count, timeout_s, self.logs()))
            time.sleep(0.02)

    def wait_for_stat(self, key, value, timeout_s=10):
        """Waits until stats()[key] >= value; returns the stats."""
        limit = time.monotonic() + timeout_s * slow_factor()
        while True:
            st = self.stats()
            if st.get(key, 0) >= value:
                return st
            if time.monotonic() > limit:
                raise AssertionError("stat %s never reached %s: %s; logs:\n%s"
                                     % (key, value, st, self.logs()))
            time.sleep(0.02)


class KeepAliveInvoker:
    """A keep-alive client of the Invoke API (one connection, reopened once if the server closed it):
    what the soak test and bench/bench.py use to send many invokes cheaply."""

    def __init__(self, address, timeout_s=60):
        host, _, port = address.rpartition(":")
        self.host, self.port, self.timeout_s = host, int(port), timeout_s
        self.conn = None

    def invoke(self, payload):
        """Returns (status, X-Amz-Function-Error header or None, body)."""
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
            try:
                self.conn.request("POST", INVOKE_PATH, body=payload)
                resp = self.conn.getresponse()
                return resp.status, resp.getheader("X-Amz-Function-Error"), resp.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# -- the valgrind suite runner -------------------------------------------------------------------

_SAMPLE_LOG = """==7== Memcheck, a memory error detector
==7== Invalid read of size 4
==7==    at 0x10A1B2: lr_x (lr_x.c:10)
==7== 16 bytes in 1 blocks are definitely lost in loss record 1 of 1
==7== LEAK SUMMARY:
==7==    definitely lost: 16 bytes in 1 blocks
==7==    indirectly lost: 0 bytes in 0 blocks
==7== ERROR SUMMARY: 2 errors from 2 contexts (suppressed: 0 from 0)
"""


def _run_valgrind_suite(modules):
    """Runs the test modules with LR_VALGRIND=1; 77 (CTest's skip code) where valgrind cannot run."""
    if sanitizers():
        print("skipped: valgrind cannot run a sanitizer build (ASan/LSan do this job there)")
        return 77
    if not shutil.which("valgrind"):
        print("skipped: valgrind is not installed (scripts/apt-packages.txt lists it)")
        return 77
    os.environ["LR_VALGRIND"] = "1"
    sys.path.insert(0, _HERE)
    import lrtest  # the test modules import this name, not __main__: count in that module
    import unittest
    # The checker must see what it is meant to see, or the whole suite would pass for nothing.
    assert len(lrtest.valgrind_problems(_SAMPLE_LOG)) == 3, lrtest.valgrind_problems(_SAMPLE_LOG)
    assert lrtest.valgrind_problems(_SAMPLE_LOG.replace("Invalid read", "Warning").replace(
        "16 bytes in 1 blocks are definitely", "x").replace(": 16 bytes", ": 0 bytes").replace(
        ": 2 errors", ": 0 errors")) == []
    started = time.monotonic()
    prog = unittest.main(module=None, argv=["lrtest", "-v"] + modules, exit=False)
    totals = lrtest.VALGRIND_TOTALS
    print("valgrind suite: %d bootstrap processes under memcheck, %d with a leak report, %.0f s"
          % (totals["processes"], totals["leak_checked"], time.monotonic() - started))
    if not prog.result.wasSuccessful():
        return 1
    if totals["leak_checked"] == 0:
        print("FAILED: no bootstrap ran to a leak report under valgrind")
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--valgrind-suite":
        sys.exit(_run_valgrind_suite(sys.argv[2:]))
    sys.exit("usage: python3 lrtest.py --valgrind-suite TEST_MODULE...")

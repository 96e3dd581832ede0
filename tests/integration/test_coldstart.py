"""The cold-start instrument (issue 6): lr_coldstart_probe and scripts/coldstart-bench.

Both print figures and assert nothing about speed (a slow machine is not a failure). These tests check
that the instrument measures what it says it measures: one sample per run, spawn -> the arrival of a
real `GET .../runtime/invocation/next` (anything else fails the series), spawn -> exit for the
baseline, argument checking, and the benchmark's table with every row and the goal verdict.

The probe and the static baselines are benchmark programs (bench/, built only with LR_BUILD_BENCH): in a
build without them every test here is skipped, saying so (CTest then reports the test as skipped).
"""

import os
import re
import stat
import subprocess
import sys
import tempfile
import unittest

import lrtest
import test_package  # ensure_package(); imported as a module so its tests are not collected here


def probe_path():
    return os.path.join(lrtest.build_dir(), "bench", "lr_coldstart_probe")


def static_dir():
    return os.path.join(lrtest.build_dir(), test_package.arch_dir())


def skip_without_bench_programs():
    """Raises SkipTest when the probe or the static baselines are not built (LR_BUILD_BENCH=OFF in the
    build or in the packaging superbuild); builds the package first."""
    if not os.access(probe_path(), os.X_OK):
        raise unittest.SkipTest("benchmarks not built: no %s (this build has LR_BUILD_BENCH=OFF)"
                                % probe_path())
    test_package.ensure_package()
    empty = os.path.join(static_dir(), "lr_empty")
    if not os.access(empty, os.X_OK):
        raise unittest.SkipTest("benchmarks not built: no %s (the packaging superbuild has "
                                "LR_BUILD_BENCH=OFF)" % empty)


class ProbeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        skip_without_bench_programs()
        cls.probe = probe_path()
        cls.static_dir = static_dir()
        cls.tmp = tempfile.TemporaryDirectory(prefix="lr-coldstart-")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def run_probe(self, *args, env=None):
        return subprocess.run([self.probe] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=120, env=env)

    def client_script(self, request_line):
        """An executable that connects to AWS_LAMBDA_RUNTIME_API and sends request_line."""
        path = os.path.join(self.tmp.name, "client-%d" % abs(hash(request_line)))
        with open(path, "w") as f:
            f.write("#!%s\nimport os, socket, time\n" % sys.executable)
            f.write("h, p = os.environ['AWS_LAMBDA_RUNTIME_API'].split(':')\n")
            f.write("s = socket.create_connection((h, int(p)))\n")
            f.write("s.sendall(%r)\ntime.sleep(30)\n" % request_line)
        os.chmod(path, stat.S_IRWXU)
        return path

    def parse(self, stdout):
        lines = stdout.decode().splitlines()
        self.assertEqual(2, len(lines), stdout)
        self.assertTrue(lines[0].startswith("samples_us="), lines[0])
        samples = [float(v) for v in lines[0][len("samples_us="):].split(",")]
        summary = dict(kv.split("=") for kv in lines[1].split())
        return samples, {k: float(v) for k, v in summary.items()}

    def test_next_mode_gives_one_sample_per_run_of_the_static_bootstrap(self):
        proc = self.run_probe("--runs", "7", "--warmup", "1", "--cpu", "0", "--",
                              os.path.join(self.static_dir, "bootstrap"))
        self.assertEqual(0, proc.returncode, proc.stderr)
        samples, summary = self.parse(proc.stdout)
        self.assertEqual(7, len(samples))
        self.assertTrue(all(s > 0 for s in samples), samples)
        self.assertEqual(7, summary["runs"])
        self.assertEqual(min(samples), summary["min_us"])
        self.assertEqual(max(samples), summary["max_us"])
        self.assertEqual(sorted(samples)[3], summary["median_us"])

    def test_exit_mode_times_the_empty_program(self):
        proc = self.run_probe("--runs", "5", "--mode", "exit", "--",
                              os.path.join(self.static_dir, "lr_empty"))
        self.assertEqual(0, proc.returncode, proc.stderr)
        samples, _ = self.parse(proc.stdout)
        self.assertEqual(5, len(samples))

    def test_a_program_that_never_asks_for_next_fails_the_series(self):
        proc = self.run_probe("--runs", "2", "--warmup", "0", "--timeout-ms", "300", "--",
                              os.path.join(self.static_dir, "lr_empty"))
        self.assertEqual(1, proc.returncode)
        self.assertIn(b"no GET /next", proc.stderr)
        self.assertEqual(b"", proc.stdout)

    def test_a_request_other_than_get_next_fails_the_series(self):
        for line in (b"POST /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n",
                     b"GET /2018-06-01/runtime/init/error HTTP/1.1\r\n\r\n"):
            with self.subTest(line=line):
                proc = self.run_probe("--runs", "1", "--warmup", "0", "--timeout-ms", "5000", "--",
                                      self.client_script(line))
                self.assertEqual(1, proc.returncode, proc.stdout)
        proc = self.run_probe("--runs", "2", "--warmup", "0", "--", self.client_script(
            b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"))
        self.assertEqual(0, proc.returncode, proc.stderr)  # the control: a real GET /next passes

    def test_bad_arguments_are_refused(self):
        empty = os.path.join(self.static_dir, "lr_empty")
        for args in (["--runs", "0", "--", empty], ["--runs", "x", "--", empty],
                     ["--cpu", "-1", "--", empty], ["--mode", "fast", "--", empty],
                     ["--runs", "3", empty], ["--"]):
            with self.subTest(args=args):
                proc = self.run_probe(*args)
                self.assertEqual(2, proc.returncode)
                self.assertIn(b"usage:", proc.stderr)


class BenchScriptTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        skip_without_bench_programs()

    def run_bench(self, *options):
        """Runs scripts/coldstart-bench briefly; returns its output and {row name: x empty}."""
        proc = subprocess.run(
            [os.path.join(lrtest.source_dir(), "scripts", "coldstart-bench"), "--build-dir",
             lrtest.build_dir(), "--runs", "6", "--rounds", "2"] + list(options),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
        out = proc.stdout.decode()
        self.assertEqual(0, proc.returncode, out)
        self.assertRegex(out, r"6 runs each in 2 interleaved rounds, .*pinned to CPU \d+")
        rows = {}
        for line in out.splitlines():
            m = re.match(r"^(.+?)\s+(\d+\.\d{3})\s+(\d+\.\d{3})\s+(\d+\.\d{3})\s+(\d+\.\d{2})$", line)
            if m:
                rows[m.group(1).strip()] = float(m.group(5))
        return out, rows

    def test_prints_every_row_ratios_and_the_goal_verdict(self):
        out, rows = self.run_bench()
        self.assertEqual(["empty static program (spawn -> exit)",
                          "raw-socket floor, static (no HTTP lib)",
                          "static bootstrap (function.zip)",
                          "dynamic bootstrap (build/handler)"], list(rows), out)
        self.assertEqual(1.0, rows["empty static program (spawn -> exit)"])
        verdict = re.search(r"goal: static bootstrap within 3\.0 ms: (met|NOT met) \(([\d.]+) ms\); "
                            r"within 1\.3x the empty program: (met|NOT met) \(([\d.]+)x\)", out)
        self.assertIsNotNone(verdict, out)
        self.assertAlmostEqual(rows["static bootstrap (function.zip)"], float(verdict.group(4)),
                               places=2)
        self.assertRegex(out, r"over the raw-socket floor: [\d.]+ ms \([\d.]+x the floor\)")
        self.assertNotIn("lr_aws", out)  # the AWS rows only with --with-aws

    def test_with_aws_adds_the_libcurl_floor_without_and_with_lr_aws_linked(self):
        out, rows = self.run_bench("--with-aws")
        self.assertEqual(["empty static program (spawn -> exit)",
                          "raw-socket floor, static (no HTTP lib)",
                          "static bootstrap (function.zip)",
                          "libcurl floor, static (bench/floor.c)",
                          "same, lr_aws linked, not called",
                          "dynamic bootstrap (build/handler)"], list(rows), out)
        diff = re.search(r"libcurl floor with lr_aws linked over the one without: ([+-][\d.]+) ms "
                         r"\(([\d.]+)x\)", out)
        self.assertIsNotNone(diff, out)
        self.assertAlmostEqual(rows["same, lr_aws linked, not called"]
                               / rows["libcurl floor, static (bench/floor.c)"], float(diff.group(2)),
                               delta=0.02)


if __name__ == "__main__":
    unittest.main()

"""Smoke test of bench/sink_bench.py (the bundled bootstrap's DynamoDB sink against the same replication
in Python with boto3): `--quick` runs both on a 200-operation stream through moto_server and the
emulator. Checks what the benchmark promises besides its figures, never a timing: it exits 0, both
implementations printed their figures, each replica equals its source, both made the same
BatchWriteItem calls (the Python replicator groups writes as the C sink does), the C sink's own count of
its requests matches the proxy's, and no credential reached the output."""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

import awstest
import lrtest

BENCH = os.path.join(lrtest.source_dir(), "bench", "sink_bench.py")
LINE = re.compile(r"^  (c|python) N=200: cpu ([0-9.,]+) ms/1000 records, peak RSS ([0-9.,]+) MB, "
                  r"cold start to first write ([0-9.,]+) ms, requests (\d+), wall ([0-9.]+) s; "
                  r"replica == source: (yes|no)$", re.M)


@unittest.skipIf(awstest.moto_missing(), "sink_bench needs moto_server and boto3: %s" % awstest.moto_missing())
class SinkBenchSmokeTest(unittest.TestCase):

    def test_quick_run(self):
        with tempfile.TemporaryDirectory(prefix="sink-bench-test-") as tmp:
            out_json = os.path.join(tmp, "figures.json")
            proc = subprocess.run([sys.executable, BENCH, "--quick", "--json", out_json],
                                  capture_output=True, text=True, timeout=600 * lrtest.slow_factor())
            output = proc.stdout + proc.stderr
            self.assertEqual(proc.returncode, 0, output)
            with open(out_json) as f:
                result = json.load(f)
        awstest.check_output(self, output)
        found = {m[0]: m for m in LINE.findall(proc.stdout)}
        self.assertEqual(sorted(found), ["c", "python"], output)
        for impl, m in found.items():
            self.assertEqual(m[6], "yes", "%s: replica != source\n%s" % (impl, output))
        self.assertIn("\nreplica == source: yes\n", proc.stdout)
        self.assertRegex(proc.stdout, r"\n  CPU ms per 1,000 records +[0-9.,]+ +[0-9.,]+ +[0-9.]+x\n")

        (size,) = result["sizes"]
        self.assertEqual(size["operations"], 200)
        self.assertEqual(size["records"], sum(size["batch_sizes"]))
        c, py = size["c"], size["python"]
        for fig in (c, py):
            self.assertTrue(fig["replica_equals_source"])
            self.assertGreater(fig["batch_write_requests"], 0)
            self.assertGreater(fig["peak_rss_mb"], 0)
            self.assertIsNotNone(fig["cold_start_to_first_write_ms"])
        self.assertEqual(c["batch_write_requests"], py["batch_write_requests"])
        self.assertEqual(c["sink_requests_reported"], c["batch_write_requests"])


if __name__ == "__main__":
    unittest.main()

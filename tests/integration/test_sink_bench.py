"""Smoke test of bench/sink_bench.py (the bundled bootstrap's sinks against the same job in Python with
boto3): tiny runs of every sink through moto_server and the emulator. Checks what the benchmark
promises besides its figures, never a timing:

- `--quick` (every sink, 200 operations) exits 0; both implementations printed their figures for each
  sink; the DynamoDB replicas equal their source; for SQS, SNS and EventBridge moto accepted every
  record of the stream from each implementation (its answers, seen by the proxy), for SQS and SNS
  every record was received back from the queue (the topic's: its subscribed queue) exactly once, and
  the C and Python messages are the same; both made the same calls, at most 10 messages each, the C
  sink's own count of its requests matches the proxy's, and the requests per 1,000 records printed are
  the run's;
- a smaller EventBridge run with `--eventbridge-rule` receives every event back from the rule's queue;
- the delivery check itself: a record missing from moto's answers, or a message with the wrong
  attributes, makes the sink incomplete;
- no credential reached the output.

A sink that delivered fewer records than it was sent fails the test twice over: the benchmark exits 1,
and the "accepted N of M" figures printed differ."""

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
SINKS = ("dynamodb", "sqs", "sns", "eventbridge")
LINE = re.compile(r"^  (c|python) (dynamodb|sqs|sns|eventbridge) N=(\d+): cpu ([0-9.,]+) ms/1000 records, "
                  r"([0-9.,]+) records/s, peak RSS ([0-9.,]+) MB, cold start to first write ([0-9.,]+) ms, "
                  r"requests (\d+) \(([0-9.,]+) per 1,000 records\), wall ([0-9.]+) s; (.*)$", re.M)
DELIVERY = re.compile(r"^accepted (\d+) of (\d+)(?:, received (\d+) of (\d+))?$")


def run_bench(testcase, *args):
    """(stdout, the JSON figures) of a run that must exit 0."""
    with tempfile.TemporaryDirectory(prefix="sink-bench-test-") as tmp:
        out_json = os.path.join(tmp, "figures.json")
        proc = subprocess.run([sys.executable, BENCH, "--json", out_json] + list(args),
                              capture_output=True, text=True, timeout=600 * lrtest.slow_factor())
        output = proc.stdout + proc.stderr
        awstest.check_output(testcase, output)
        testcase.assertEqual(proc.returncode, 0, output)
        with open(out_json) as f:
            return proc.stdout, json.load(f)


def lines(testcase, stdout, sinks):
    """{(impl, sink): the figures line's groups}, one per implementation and sink."""
    found = {(m[0], m[1]): m for m in LINE.findall(stdout)}
    testcase.assertEqual(sorted(found), sorted((i, s) for i in ("c", "python") for s in sinks), stdout)
    return found


@unittest.skipIf(awstest.moto_missing(), "sink_bench needs moto_server and boto3: %s" % awstest.moto_missing())
class SinkBenchSmokeTest(unittest.TestCase):

    def test_quick_run_of_every_sink(self):
        stdout, result = run_bench(self, "--quick")
        self.assertEqual(result["sinks"], list(SINKS))
        (size,) = result["sizes"]
        self.assertEqual(size["operations"], 200)
        n = size["records"]
        self.assertEqual(n, sum(size["batch_sizes"]))
        found = lines(self, stdout, SINKS)
        for (impl, sink), m in found.items():
            self.assertEqual(int(m[2]), 200)
            fig = size["sinks"][sink][impl]
            self.assertEqual(int(m[7]), fig["requests"])
            self.assertAlmostEqual(float(m[8].replace(",", "")), fig["requests"] * 1000.0 / n, delta=0.5)
            if sink == "dynamodb":
                self.assertEqual(m[10], "replica == source: yes", stdout)
                continue
            d = DELIVERY.match(m[10])
            self.assertIsNotNone(d, "%s %s: %r" % (impl, sink, m[10]))
            self.assertEqual((int(d[1]), int(d[2])), (n, n), "%s %s delivered fewer records than sent\n%s" % (
                impl, sink, stdout))
            if sink == "eventbridge":
                self.assertIsNone(d[3])  # a bus without a rule keeps nothing to receive
            else:
                self.assertEqual((int(d[3]), int(d[4])), (n, n), "%s %s: fewer records received than sent\n%s" % (
                    impl, sink, stdout))
        self.assertEqual(stdout.count("\n  C and Python messages equal: yes\n"), 3, stdout)
        self.assertIn("\nevery target received everything: yes\n", stdout)
        self.assertRegex(stdout, r"\n  CPU ms per 1,000 records +[0-9.,]+ +[0-9.,]+ +[0-9.]+x\n")
        self.assertRegex(stdout, r"\n  records/s \(from the first invoke\) +[0-9.,]+ +[0-9.,]+ +[0-9.]+x\n")
        self.assertRegex(stdout, r"\n  requests per 1,000 records +[0-9.,]+ +[0-9.,]+ +1\.000x\n")

        for sink in SINKS:
            out = size["sinks"][sink]
            c, py = out["c"], out["python"]
            for fig in (c, py):
                self.assertGreater(fig["write_requests"], 0)
                self.assertEqual(fig["write_requests"], fig["requests"], sink)  # nothing but the writes
                self.assertGreater(fig["records_per_s"], 0)
                self.assertGreater(fig["peak_rss_mb"], 0)
                self.assertIsNotNone(fig["cold_start_to_first_write_ms"])
                if sink == "dynamodb":
                    self.assertTrue(fig["replica_equals_source"])
                else:
                    d = fig["delivery"]
                    self.assertTrue(d["complete"], d)
                    for how in ("accepted", "received") if sink != "eventbridge" else ("accepted",):
                        self.assertEqual((d[how]["records"], d[how]["messages"], d[how]["missing"],
                                          d[how]["duplicates"], d[how]["bad_attributes"]), (n, n, 0, 0, 0), how)
                    # at most 10 messages per call, and never fewer calls than that allows
                    self.assertGreaterEqual(fig["write_requests"], -(-n // 10))
            self.assertEqual(c["write_requests"], py["write_requests"], sink)
            self.assertEqual(c["sink_requests_reported"], c["write_requests"], sink)
            if sink != "dynamodb":
                self.assertTrue(out["messages_equal"], sink)
                self.assertEqual(c["write_requests"], sum(-(-b // 10) for b in size["batch_sizes"]), sink)

    def test_eventbridge_rule_receives_every_event(self):
        stdout, result = run_bench(self, "--sink", "eventbridge", "--sizes", "20", "--eventbridge-rule")
        (size,) = result["sizes"]
        n = size["records"]
        self.assertGreater(n, 0)
        for (impl, sink), m in lines(self, stdout, ("eventbridge",)).items():
            d = DELIVERY.match(m[10])
            self.assertIsNotNone(d, "%s %s: %r" % (impl, sink, m[10]))
            self.assertEqual([int(d[i]) for i in range(1, 5)], [n] * 4, "%s %s\n%s" % (impl, sink, stdout))
            received = size["sinks"][sink][impl]["delivery"]["received"]
            self.assertEqual((received["records"], received["messages"], received["bad_attributes"]), (n, n, 0))
        self.assertIn("\nevery target received everything: yes\n", stdout)


class DeliveryCheckTest(unittest.TestCase):
    """sink_bench's delivery check on made-up calls: what is missing or wrong is counted."""

    @classmethod
    def setUpClass(cls):
        sys.path.insert(0, os.path.dirname(BENCH))
        try:
            import sink_bench
        finally:
            sys.path.pop(0)
        cls.bench = sink_bench

    EXPECTED = {"1": ("INSERT", "src"), "2": ("MODIFY", "src"), "3": ("REMOVE", "src")}

    @staticmethod
    def sqs_call(seqs, successful, attributes=None):
        entries = [{"Id": str(i), "MessageBody": json.dumps({"eventName": name, "sequenceNumber": seq,
                                                             "table": "src"}),
                    "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in (
                        attributes or {"eventName": name, "sequenceNumber": seq, "table": "src"}).items()}}
                   for i, (seq, name) in enumerate(seqs)]
        answer = {"Successful": [{"Id": str(i)} for i in successful], "Failed": []}
        return json.dumps({"QueueUrl": "q", "Entries": entries}).encode(), "200 OK", json.dumps(answer).encode()

    def check(self, writes):
        figures, _ = self.bench.check_deliveries("sqs", self.bench.accepted("sqs", writes), self.EXPECTED)
        return figures

    def test_everything_accepted_is_complete(self):
        f = self.check([self.sqs_call([("1", "INSERT"), ("2", "MODIFY"), ("3", "REMOVE")], [0, 1, 2])])
        self.assertTrue(f["complete"], f)
        self.assertEqual((f["records"], f["missing"]), (3, 0))

    def test_an_entry_moto_did_not_accept_is_missing(self):
        f = self.check([self.sqs_call([("1", "INSERT"), ("2", "MODIFY"), ("3", "REMOVE")], [0, 2])])
        self.assertFalse(f["complete"])
        self.assertEqual((f["records"], f["missing"]), (2, 1))

    def test_a_call_that_failed_accepts_nothing(self):
        body, _, answer = self.sqs_call([("1", "INSERT"), ("2", "MODIFY"), ("3", "REMOVE")], [0, 1, 2])
        f = self.check([(body, "500 Internal Server Error", answer)])
        self.assertEqual((f["complete"], f["records"]), (False, 0))

    def test_a_record_sent_twice_is_a_duplicate(self):
        f = self.check([self.sqs_call([("1", "INSERT"), ("2", "MODIFY"), ("3", "REMOVE")], [0, 1, 2]),
                        self.sqs_call([("2", "MODIFY")], [0])])
        self.assertFalse(f["complete"])
        self.assertEqual((f["records"], f["duplicates"]), (3, 1))

    def test_wrong_attributes_are_counted(self):
        f = self.check([self.sqs_call([("1", "INSERT")], [0], {"eventName": "MODIFY", "sequenceNumber": "1",
                                                              "table": "src"}),
                        self.sqs_call([("2", "MODIFY"), ("3", "REMOVE")], [0, 1])])
        self.assertFalse(f["complete"])
        self.assertEqual((f["records"], f["bad_attributes"]), (3, 1))


if __name__ == "__main__":
    unittest.main()

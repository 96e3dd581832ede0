"""streamload, the workload generator of the replication tests and benchmarks: the same seed makes the
same workload (also in another interpreter with another hash seed), --changes stops at exactly that many
changes, and written to a moto table with a stream it leaves the table at `expected`, with the stream
moto writes for it (`moto_records` records) folding to the same state. The program form works."""

import json
import os
import subprocess
import sys
import unittest

import awstest
import streamload

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "streamload.py")


def changes_in(ops):
    """Changes of a plan, counted independently of plan(): every put and update, deletes of a present key."""
    present, n = set(), 0
    for kind, key, _ in ops:
        if kind == "delete":
            n += key in present
            present.discard(key)
        else:
            present.add(key)
            n += 1
    return n


class Plan(unittest.TestCase):
    def test_the_seed_decides_the_workload(self):
        a = streamload.plan(seed=3, operations=500)
        self.assertEqual(a, streamload.plan(seed=3, operations=500))
        self.assertNotEqual(a, streamload.plan(seed=4, operations=500))
        self.assertEqual(streamload.digest(a), streamload.digest(streamload.plan(seed=3, operations=500)))
        self.assertNotEqual(streamload.digest(a), streamload.digest(streamload.plan(seed=4, operations=500)))
        self.assertEqual(len(a), 500)

    def test_the_same_in_another_interpreter_and_hash_seed(self):
        digests = set()
        for hash_seed in ("1", "2", "random"):
            env = dict(os.environ, PYTHONHASHSEED=hash_seed)
            out = subprocess.run([sys.executable, PROGRAM, "--seed", "11", "--changes", "700", "--plan-only",
                                  "--json"], env=env, capture_output=True, text=True, check=True).stdout
            digests.add(json.loads(out)["digest"])
        self.assertEqual(digests, {streamload.digest(streamload.plan(seed=11, changes=700))})

    def test_changes_stops_at_that_many_changes(self):
        for n in (1, 250, 1000):
            ops = streamload.plan(seed=5, changes=n)
            self.assertEqual(changes_in(ops), n)
            self.assertEqual(changes_in(ops[:-1]), n - 1)  # the last operation is the n-th change

    def test_every_kind_and_attribute_type(self):
        ops = streamload.plan(seed=1, operations=2000)
        self.assertEqual({o[0] for o in ops}, set(streamload.KINDS))
        seen = set()

        def walk(v):
            (kind, inner), = v.items()
            seen.add(kind)
            if kind == "M":
                for x in inner.values():
                    walk(x)
            elif kind == "L":
                for x in inner:
                    walk(x)
        for kind, _, detail in ops:
            if kind == "put":
                for v in detail.values():
                    walk(v)
        self.assertEqual(seen, {"S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "M", "L"})

    def test_help(self):
        out = subprocess.run([sys.executable, PROGRAM, "--help"], capture_output=True, text=True, check=True)
        self.assertIn("--changes", out.stdout)
        bad = subprocess.run([sys.executable, PROGRAM, "--seed", "1"], capture_output=True, text=True)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("--table is required", bad.stderr)


@unittest.skipIf(awstest.moto_missing(), str(awstest.moto_missing()))
class OnMoto(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = awstest.Moto()
        cls.ddb = cls.moto.client("dynamodb")

    @classmethod
    def tearDownClass(cls):
        cls.moto.close()

    def test_the_table_and_its_stream_end_at_expected(self):
        arn = streamload.create_table(self.ddb, "written")
        load = streamload.write(self.ddb, "written", seed=9, changes=400, keys=20)
        self.assertEqual(load.changes, 400)
        self.assertEqual(sum(load.operations.values()), len(streamload.plan(seed=9, changes=400, keys=20)))
        self.assertEqual(streamload.scan_state(self.ddb, "written"), load.expected)
        records = awstest.stream_records(self.moto.client("dynamodbstreams"), arn)
        self.assertEqual(len(records), load.moto_records)
        self.assertEqual(streamload.state(streamload.fold(records).values()), load.expected)

    def test_the_program(self):
        env = awstest.base_env()
        out = subprocess.run([sys.executable, PROGRAM, "--endpoint-url", self.moto.endpoint, "--region", "us-east-1",
                              "--table", "byhand", "--create", "--seed", "9", "--changes", "150", "--keys", "12",
                              "--json"], env=env, capture_output=True, text=True, timeout=600)
        self.assertEqual(out.returncode, 0, out.stderr)
        summary = json.loads(out.stdout)
        self.assertEqual((summary["table"], summary["changes"], summary["seed"]), ("byhand", 150, 9))
        self.assertEqual(summary["digest"], streamload.digest(streamload.plan(seed=9, changes=150, keys=12)))
        self.assertEqual(summary["items"], len(streamload.scan_state(self.ddb, "byhand")))
        for secret in (awstest.AK, awstest.SK):
            self.assertNotIn(secret, out.stdout + out.stderr)
        # A second run on the table the first one made: the table exists, a one-line error, status 2.
        again = subprocess.run([sys.executable, PROGRAM, "--endpoint-url", self.moto.endpoint, "--region",
                                "us-east-1", "--table", "byhand", "--create"], env=env, capture_output=True,
                               text=True, timeout=120)
        self.assertEqual(again.returncode, 2)
        self.assertIn("ResourceInUseException", again.stderr)
        self.assertNotIn("Traceback", again.stderr)


if __name__ == "__main__":
    unittest.main()

"""The replication invariant under faults: after the event source mapping's semantics have run to
completion, the replica equals the source item for item.

A moto table (IAM authentication on) takes a streamload workload of 2,000 random puts, updates and
deletes over 300 keys: each key changes about seven times, so the last change of a key, the one the
replica must end with, can be anywhere in the stream, and a lost write shows in the final state (with
a few dozen keys the later changes would hide it). tools/replay delivers its stream to the bundled
bootstrap (LR_SINK=dynamodb) under the emulator exactly as the mapping would: batches of 100, re-delivery from
the lowest reported SequenceNumber, BisectBatchOnFunctionError. Between the bootstrap and moto the
suite's fault proxy throttles, answers 500, resets connections (before and after moto applied the
call) and returns random parts of BatchWriteItem calls as UnprocessedItems; meanwhile the bootstrap is
killed with kill -9 in the middle of batches. Both batch modes. The test also checks that the faults
happened and reached the records (reported failures, crashes), so it cannot pass by not being tested.

LR_TEST_RECORD_DELAY_MS=1 (the bundled handler built with its testing switches) makes a batch last
about 100 ms, so that a kill lands inside one."""

import random
import threading
import unittest

import awstest
import faultproxy
import lrtest
import streamload

RATES = {"throughput": 0.05, "throttling": 0.05, "internal": 0.05, "reset": 0.05,
         "reset_mid_body": 0.05, "partial": 0.2}
KILLS = 4


@unittest.skipIf(awstest.moto_missing(), awstest.moto_missing())
class ReplicaEqualsSourceUnderFaults(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.moto = awstest.Moto(INITIAL_NO_AUTH_ACTION_COUNT="3")
        try:
            cls.key = cls.moto.iam_user("replicator")
            cls.ddb = cls.moto.client("dynamodb", *cls.key)
            cls.arn = streamload.create_table(cls.ddb, "source")
            cls.load = streamload.write(cls.ddb, "source", seed=2026, operations=2000, keys=300)
        except BaseException:
            cls.moto.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.moto.close()

    def env(self):
        return awstest.isolated_env(self.key)

    def replay(self, emu):
        return awstest.replay_to_completion(self.moto.endpoint, self.arn, emu.invoke_url, self.key)

    @staticmethod
    def killer(emu, rng, done):
        """kill -9 of the bootstrap KILLS times, a few invokes apart, some way into an invoke."""
        return awstest.start_killer(emu, rng, done, KILLS, apart=(2, 6), delay_s=(0.005, 0.06), poll_s=0.005)

    def replicate(self, mode, seed):
        replica = "replica-" + mode
        streamload.create_table(self.ddb, replica, stream=False)
        rng = random.Random(seed)
        env = self.env()
        env.update(LR_SINK="dynamodb", LR_SINK_TARGET=replica, LR_BATCH_MODE=mode, LR_LOG_RECORDS="none",
                   AWS_LAMBDA_LOG_FORMAT="JSON", AWS_MAX_ATTEMPTS="2", LR_TEST_RECORD_DELAY_MS="1")
        done = threading.Event()
        with faultproxy.FaultProxy(self.moto.endpoint, seed=seed, rates=RATES, credentials=self.key,
                                   operations={"BatchWriteItem"}) as proxy:
            env["AWS_ENDPOINT_URL_DYNAMODB"] = proxy.url
            with lrtest.Emulator(env=env, timeout_ms=60000) as emu:
                thread, killed = self.killer(emu, rng, done)
                proc, lines = self.replay(emu)
                done.set()
                thread.join()
                stats, logs = emu.stats(), emu.logs()
            counts = dict(proxy.counts)
        awstest.check_output(self, logs + proc.stdout + proc.stderr, secrets=(self.key[1],))
        self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
        self.assertEqual(lines[-1]["summary"]["discarded"], [])
        # The invariant.
        self.assertEqual(streamload.scan_state(self.ddb, replica), self.load.expected)
        self.assertEqual(streamload.scan_state(self.ddb, "source"), self.load.expected)
        # The faults happened and reached the records: every kind fired, records were reported
        # failed and re-delivered from their checkpoint, and killed invokes were delivered again.
        for kind in RATES:
            self.assertGreater(counts[kind], 0, counts)
        deliveries = [x for x in lines if "delivery" in x]
        self.assertTrue(any(d["result"] == "partial" for d in deliveries), "no batch reported a failed record")
        self.assertGreaterEqual(stats["crashes"], 1, stats)
        self.assertEqual(len(killed), KILLS)
        self.assertTrue(any(d.get("errorType") == "Runtime.ExitError" for d in deliveries))
        self.assertIn("record failed: ", logs)
        return counts, deliveries

    def test_ordered(self):
        self.replicate("ordered", seed=11)

    def test_continue(self):
        self.replicate("continue", seed=12)


if __name__ == "__main__":
    unittest.main()

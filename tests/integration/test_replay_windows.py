"""tools/replay/replay.py --tumbling-window against a moto stream, into the bundled bootstrap (the test
build where a record must fail) and into small stand-in functions, under lambda-emu.

Where the windows come from: moto stamps each stream record with its own clock when the item is
written (StreamRecord in moto/dynamodb/models/table.py: ApproximateCreationDateTime = utcnow(), sent
with milliseconds); the replay, like the event, floors it to the second. The stream records are not
built by hand: setUpClass writes the table in three bursts, each just after a 2-second window
boundary with a sleep in between, so the stream spans at least three windows, one of six records. The
expected windows are then computed from the timestamps moto returned, not from the sleeps: a slow
machine may change how the records fall into windows, not what the test expects of them.

The rules under test (replay.py's documentation): the first invoke of a window gets {}, each later one
the state of the last successful invoke; a failed invoke (function error, partial failure, an answer
without a state object) keeps the state from before it and its batch is delivered again whole; one
final invoke per window, with no records, after its last batch; a state over 1 MB ends the window
early."""

import collections
import json
import os
import signal
import stat
import sys
import tempfile
import threading
import time
import unittest

import awstest
import lrtest

W = 2  # --tumbling-window in the tests (seconds)
TABLE = "windows"
ENVELOPE = {"Records", "window", "state", "shardId", "eventSourceARN", "isFinalInvokeForWindow",
            "isWindowTerminatedEarly"}

# A stand-in function on the Runtime API: prints every event it gets (one "EVENT {json}" line) and
# answers {"state": totals, "batchItemFailures": []}, totals being the incoming state's "records" plus
# this invoke's records. STANDIN_BAD (a JSON document) is the answer instead: on the first delivery of
# each invoke (keyed by its first sequence number, or the window for a final invoke), or on every one
# with STANDIN_BAD_ALWAYS=1. STANDIN_PAD_AT=N adds a 1 MB "pad" member to a state of N records or more.
STANDIN = r'''
import json, os, urllib.request
api = "http://%s/2018-06-01/runtime/invocation/" % os.environ["AWS_LAMBDA_RUNTIME_API"]
bad = os.environ.get("STANDIN_BAD")
always = os.environ.get("STANDIN_BAD_ALWAYS") == "1"
pad_at = int(os.environ.get("STANDIN_PAD_AT", "0"))
seen = set()
while True:
    with urllib.request.urlopen(api + "next") as r:
        request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
        raw = r.read()
    event = json.loads(raw)
    print("EVENT " + json.dumps(event, sort_keys=True), flush=True)
    records = event["Records"]
    key = records[0]["dynamodb"]["SequenceNumber"] if records else "final " + event["window"]["start"]
    first = key not in seen
    seen.add(key)
    state = {"records": event["state"].get("records", 0) + len(records)}
    if pad_at and state["records"] >= pad_at:
        state["pad"] = "x" * (1024 * 1024)
    body = json.dumps({"state": state, "batchItemFailures": []})
    if bad is not None and (always or first):
        body = bad
    req = urllib.request.Request(api + request_id + "/response", data=body.encode(), method="POST")
    urllib.request.urlopen(req).read()
'''


def rfc3339(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def seq(record):
    return record["dynamodb"]["SequenceNumber"]


def seqs(records):
    return [seq(r) for r in records]


def totals(records, state=None):
    """The bundled bootstrap's window state after records, from state (default {}): the records,
    the count of each event name and the sum of their SizeBytes."""
    out = {"records": 0, "INSERT": 0, "MODIFY": 0, "REMOVE": 0, "bytes": 0}
    out.update({k: v for k, v in (state or {}).items() if k in out})
    for r in records:
        out["records"] += 1
        out[r["eventName"]] += 1
        out["bytes"] += r["dynamodb"]["SizeBytes"]
    return out


def wait_for_next_window():
    """Sleeps until 50 ms after the next W-second boundary of the clock."""
    now = time.time()
    time.sleep((int(now) // W + 1) * W + 0.05 - now)


@unittest.skipIf(awstest.moto_missing(), awstest.moto_missing())
class ReplayInTumblingWindows(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="replay-windows-")
        cls.standin = os.path.join(cls.tmp.name, "standin")
        with open(cls.standin, "w") as f:
            f.write("#!%s\n%s" % (sys.executable, STANDIN))
        os.chmod(cls.standin, stat.S_IRWXU)
        cls.moto = awstest.Moto()
        try:
            ddb = cls.moto.client("dynamodb")
            ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                             KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                             StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
            cls.arn = ddb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
            put = lambda k, n: ddb.put_item(TableName=TABLE, Item={"id": {"S": k}, "n": {"N": str(n)}})
            update = lambda k, n: ddb.update_item(TableName=TABLE, Key={"id": {"S": k}}, UpdateExpression="SET n = :v",
                                                  ExpressionAttributeValues={":v": {"N": str(n)}})
            delete = lambda k: ddb.delete_item(TableName=TABLE, Key={"id": {"S": k}})
            wait_for_next_window()
            for i in range(5):                               # six changes: 5 INSERT, 1 MODIFY
                put("a%d" % i, i)
            update("a1", 10)
            wait_for_next_window()
            put("b0", 0), update("a2", 20), delete("a3"), put("b1", 1)  # INSERT, MODIFY, REMOVE, INSERT
            wait_for_next_window()
            delete("a0"), put("c0", 0), update("c0", 5)       # REMOVE, INSERT, MODIFY
            streams = cls.moto.client("dynamodbstreams")
            cls.shard = streams.describe_stream(StreamArn=cls.arn)["StreamDescription"]["Shards"][0]["ShardId"]
            raw = awstest.stream_records(streams, cls.arn)
            assert len(raw) == 13, len(raw)
            cls.wire = awstest.load_replay()
            cls.records = [cls.wire.lambda_record(r, cls.arn) for r in raw]
            # The windows, from the stream's own timestamps: {start: [records]} in stream order.
            cls.windows = collections.OrderedDict()
            for r in cls.records:
                start = int(r["dynamodb"]["ApproximateCreationDateTime"]) // W * W
                cls.windows.setdefault(start, []).append(r)
            assert list(cls.windows) == sorted(cls.windows), "stream timestamps out of order"
            assert len(cls.windows) >= 3, "the bursts fell into fewer than three windows: %s" % dict(
                (k, len(v)) for k, v in cls.windows.items())
            # The window with the most records (the first burst's six, unless a burst straddled a
            # boundary on a very slow machine): the failure and crash tests work in it.
            cls.big = max(cls.windows, key=lambda k: len(cls.windows[k]))
            assert len(cls.windows[cls.big]) >= 5, "no window of five records or more: %s" % dict(
                (k, len(v)) for k, v in cls.windows.items())
        except BaseException:
            cls.moto.close()
            cls.tmp.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.moto.close()
        cls.tmp.cleanup()

    # -- helpers --------------------------------------------------------------------------------------

    def replay(self, *args, emu=None):
        target = ["--invoke-url", emu.invoke_url] if emu else []
        proc, lines = awstest.run_replay(self.moto.endpoint, "--stream-arn", self.arn, "--idle-polls", "1",
                                         "--tumbling-window", str(W), *target, *args)
        awstest.check_output(self, proc.stdout + proc.stderr)
        return proc, lines

    @staticmethod
    def by_window(lines):
        """The delivery lines grouped by window start, in order."""
        out = collections.OrderedDict()
        for x in lines:
            if "delivery" in x:
                out.setdefault(x["window"]["start"], []).append(x)
        return out

    @staticmethod
    def summaries(lines):
        return [x["windowSummary"] for x in lines if "windowSummary" in x]

    def span(self, start):
        return {"start": rfc3339(start), "end": rfc3339(start + W)}

    @staticmethod
    def events(logs):
        """The events a stand-in got, in order."""
        return [json.loads(line[len("EVENT "):]) for line in logs.splitlines() if line.startswith("EVENT ")]

    # -- the tests ------------------------------------------------------------------------------------

    def test_state_is_carried_through_every_invoke_of_a_window(self):
        with lrtest.Emulator(env={"AWS_LAMBDA_LOG_FORMAT": "JSON"}) as emu:
            proc, lines = self.replay("--batch-size", "2", emu=emu)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        grouped = self.by_window(lines)
        self.assertEqual(list(grouped), [rfc3339(s) for s in self.windows])
        for start, recs in self.windows.items():
            ds = grouped[rfc3339(start)]
            batches = [d for d in ds if not d["final"]]
            # Every record of the window once, in order, in batches of at most two of this window only.
            self.assertEqual(sum((d["sequenceNumbers"] for d in batches), []), seqs(recs))
            self.assertEqual(len(batches), (len(recs) + 1) // 2)
            self.assertTrue(all(d["window"] == self.span(start) for d in ds))
            # The chain: {} first, then what the function returned; the function adds its batch.
            state, done = {}, []
            for d in ds:
                self.assertEqual((d["result"], d["stateKept"], d["attempt"]), ("ok", True, 0), d)
                self.assertEqual(d["stateIn"], state)
                done += [r for r in recs if seq(r) in d["sequenceNumbers"]]
                self.assertEqual(d["stateOut"], totals(done), d)
                state = d["stateOut"]
            self.assertEqual(state["records"], len(recs))
            self.assertEqual(state, totals(recs))
        big = grouped[rfc3339(self.big)]
        self.assertGreaterEqual(len(big), 4)  # three batches carried the state before the final invoke
        self.assertEqual([x["start"] for x in self.summaries(lines)], [rfc3339(s) for s in self.windows])
        for w, (start, recs) in zip(self.summaries(lines), self.windows.items()):
            self.assertEqual((w["end"], w["shard"], w["records"], w["recordDeliveries"], w["recordsCounted"],
                              w["discarded"], w["final"], w["terminatedEarly"]),
                             (rfc3339(start + W), self.shard, len(recs), len(recs), len(recs), [], "ok", False))
            self.assertEqual(w["invokes"], (len(recs) + 1) // 2 + 1)
            self.assertEqual(w["finalState"], totals(recs))
        self.assertEqual(lines[-1]["summary"], {"deliveries": sum(len(v) for v in grouped.values()),
                                                "recordsDelivered": len(self.records), "discarded": [],
                                                "windows": len(self.windows), "finalFailed": []})

    def test_the_final_invoke_comes_once_per_window_after_its_records(self):
        with lrtest.Emulator(env={"AWS_LAMBDA_LOG_FORMAT": "JSON"}) as emu:
            proc, lines = self.replay("--batch-size", "4", emu=emu)
            logs = emu.logs()
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        for start, ds in self.by_window(lines).items():
            self.assertEqual([d["final"] for d in ds], [False] * (len(ds) - 1) + [True], start)
            self.assertEqual(ds[-1]["sequenceNumbers"], [])
        # What the bootstrap did: one "window done:" line per window, each after the window's last
        # record line and before the next window's first.
        order, done = [], []
        for line in logs.splitlines():
            text = line
            if line.startswith("{"):
                doc = json.loads(line)
                if "sequenceNumber" in doc and "keys" in doc:
                    order.append(doc["sequenceNumber"])
                    continue
                text = doc.get("message", "")
            if text.startswith("window done:"):
                order.append("done")
                done.append(text)
        expect = sum((seqs(recs) + ["done"] for recs in self.windows.values()), [])
        self.assertEqual(order, expect)
        # Each line reports the window's final totals: every record of the window, counted once.
        for text, (start, recs) in zip(done, self.windows.items()):
            t = totals(recs)
            self.assertEqual(text, "window done: %s to %s: %d records, %d INSERT, %d MODIFY, %d REMOVE, %d bytes" % (
                rfc3339(start), rfc3339(start + W), t["records"], t["INSERT"], t["MODIFY"], t["REMOVE"], t["bytes"]))

    def test_the_envelope_the_function_gets(self):
        with lrtest.Emulator(bootstrap=self.standin) as emu:
            proc, lines = self.replay("--batch-size", "4", emu=emu)
            events = self.events(emu.logs())
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        got = collections.OrderedDict()
        for e in events:
            self.assertEqual(set(e), ENVELOPE)
            self.assertEqual((e["shardId"], e["eventSourceARN"], e["isWindowTerminatedEarly"]),
                             (self.shard, self.arn, False))
            got.setdefault(e["window"]["start"], []).append(e)
        self.assertEqual(list(got), [rfc3339(s) for s in self.windows])
        for start, recs in self.windows.items():
            es = got[rfc3339(start)]
            self.assertTrue(all(e["window"] == self.span(start) for e in es))
            # The records as the mapping sends them, each within [start, end).
            self.assertEqual(sum((e["Records"] for e in es), []), json.loads(json.dumps(recs)))
            self.assertTrue(all(start <= r["dynamodb"]["ApproximateCreationDateTime"] < start + W
                                for e in es for r in e["Records"]))
            # One final invoke, the last, without records, with the state after all of them.
            self.assertEqual([e["isFinalInvokeForWindow"] for e in es], [False] * (len(es) - 1) + [True])
            self.assertEqual((es[-1]["Records"], es[-1]["state"]), ([], {"records": len(recs)}))
            self.assertEqual([e["state"] for e in es],
                             [{}] + [{"records": sum(len(x["Records"]) for x in es[:i])} for i in range(1, len(es))])

    def test_a_failure_in_the_middle_of_a_window_is_retried_with_the_state_before_it(self):
        recs = self.windows[self.big]
        bad = seq(recs[3])  # the second record of the window's second batch
        env = {"AWS_LAMBDA_LOG_FORMAT": "JSON", "LR_TEST_FAIL_SEQUENCE_NUMBERS": bad}
        with lrtest.Emulator(env=env) as emu:
            proc, lines = self.replay("--batch-size", "2", "--max-retries", "1", emu=emu)
            logs = emu.logs()
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)  # a batch was discarded
        ds = self.by_window(lines)[rfc3339(self.big)]
        before = totals(recs[:2])
        steps = [(d["sequenceNumbers"], d["result"], d["attempt"], d["stateIn"], d["stateOut"],
                  d["stateKept"]) for d in ds]
        expect = [
            (seqs(recs[0:2]), "ok", 0, {}, before, True),
            # The function counted recs[2] before recs[3] failed; that state is dropped ...
            (seqs(recs[2:4]), "partial", 0, before, totals(recs[2:3], before), False),
            # ... and the retry gets the state from before the failed invoke, again; then the batch
            # is discarded and the window goes on from that same state.
            (seqs(recs[2:4]), "partial", 1, before, totals(recs[2:3], before), False)]
        state = before
        for i in range(4, len(recs), 2):
            expect.append((seqs(recs[i:i + 2]), "ok", 0, state, totals(recs[i:i + 2], state), True))
            state = totals(recs[i:i + 2], state)
        expect.append(([], "ok", 0, state, state, True))
        self.assertEqual(steps, expect)
        self.assertEqual(ds[1]["checkpoint"], bad)
        self.assertIn({"discarded": seqs(recs[2:4]), "shard": self.shard, "condition": "RetryAttemptsExhausted"},
                      lines)
        final = ds[-1]
        self.assertTrue(final["final"])
        kept = recs[:2] + recs[4:]
        self.assertEqual((final["stateIn"], final["stateOut"]), (totals(kept), totals(kept)))
        w = [x for x in self.summaries(lines) if x["start"] == rfc3339(self.big)][0]
        self.assertEqual((w["records"], w["recordDeliveries"], w["recordsCounted"], w["discarded"], w["final"]),
                         (len(recs), len(recs) + 2, len(recs) - 2, seqs(recs[2:4]), "ok"))
        self.assertEqual(w["finalState"]["records"], len(recs) - 2)
        # The other windows are untouched.
        for other in self.summaries(lines):
            if other["start"] != rfc3339(self.big):
                self.assertEqual(other["finalState"]["records"], other["records"])
        # What the bootstrap logged: recs[2] and recs[3] once per attempt, recs[3] failed both times.
        logged = [r["sequenceNumber"] for r in lrtest.record_lines(logs)]
        window_logged = [s for s in logged if s in seqs(recs)]
        self.assertEqual(window_logged, seqs(recs[0:2]) + seqs(recs[2:4]) * 2 + seqs(recs[4:]))
        self.assertEqual([f["sequenceNumber"] for f in lrtest.record_lines(logs, "failure")], [bad, bad])

    def test_an_answer_without_state_is_a_failed_invoke(self):
        shapes = {'{"batchItemFailures": []}': "the response has no state",
                  '{"state": null, "batchItemFailures": []}': "the response has no state",
                  '{"state": [1, 2], "batchItemFailures": []}': "the response's state is not an object",
                  '"done"': "the response is not a JSON object with a state"}
        for body, reason in shapes.items():
            with self.subTest(answer=body):
                with lrtest.Emulator(bootstrap=self.standin, env={"STANDIN_BAD": body}) as emu:
                    proc, lines = self.replay("--batch-size", "4", "--max-retries", "1", emu=emu)
                    events = self.events(emu.logs())
                self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
                for start, recs in self.windows.items():
                    ds = self.by_window(lines)[rfc3339(start)]
                    # Every invoke (the final one too) twice: failed without a state, then again
                    # with the same state, which the second answer carries on.
                    self.assertEqual([(d["result"], d["attempt"], d["stateKept"]) for d in ds],
                                     [("error", 0, False), ("ok", 1, True)] * (len(ds) // 2))
                    self.assertEqual({d["reason"] for d in ds[0::2]}, {reason})
                    self.assertEqual([d["stateIn"] for d in ds[0::2]], [d["stateIn"] for d in ds[1::2]])
                    self.assertEqual([d["sequenceNumbers"] for d in ds[0::2]], [d["sequenceNumbers"] for d in ds[1::2]])
                    self.assertEqual(ds[-1]["stateOut"], {"records": len(recs)})
                # The function got each event twice, identical.
                self.assertEqual(events[0::2], events[1::2])
                self.assertEqual(lines[-1]["summary"]["discarded"], [])

        # Never a state: every batch is discarded after its retry, every final invoke fails.
        with lrtest.Emulator(bootstrap=self.standin,
                             env={"STANDIN_BAD": '{"batchItemFailures": []}', "STANDIN_BAD_ALWAYS": "1"}) as emu:
            proc, lines = self.replay("--batch-size", "4", "--max-retries", "1", emu=emu)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertTrue(all(d["result"] == "error" and d["stateIn"] == {} for d in lines if "delivery" in d))
        summary = lines[-1]["summary"]
        self.assertEqual(summary["discarded"], seqs(self.records))
        self.assertEqual(summary["finalFailed"], [dict(self.span(s), shard=self.shard) for s in self.windows])
        for w, recs in zip(self.summaries(lines), self.windows.values()):
            self.assertEqual((w["final"], w["finalState"], w["recordsCounted"], w["discarded"]),
                             ("failed", None, 0, seqs(recs)))

    def test_a_record_delivered_twice_shows_in_the_delivery_totals_and_once_in_the_state(self):
        # The bootstrap is killed (kill -9) in the middle of the big window's only batch: the
        # records it had processed reach it again in the retry. Replay's totals show the
        # re-delivery; the function's state, rolled back to what the failed invoke got, counts each
        # record once.
        recs = self.windows[self.big]
        env = {"AWS_LAMBDA_LOG_FORMAT": "JSON", "LR_TEST_RECORD_DELAY_MS": "100"}
        killed = []
        with lrtest.Emulator(env=env) as emu:
            def kill():
                limit = time.monotonic() + 60 * lrtest.slow_factor()
                while time.monotonic() < limit and not any(
                        r["sequenceNumber"] == seq(recs[2]) for r in lrtest.record_lines(emu.logs())):
                    time.sleep(0.01)
                killed.append(emu.stats()["child_pid"])
                os.kill(killed[0], signal.SIGKILL)
            killer = threading.Thread(target=kill, daemon=True)
            killer.start()
            proc, lines = self.replay("--batch-size", "10", "--max-retries", "1", emu=emu)
            killer.join()
            stats, logs = emu.stats(), emu.logs()
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual((len(killed), stats["crashes"]), (1, 1))
        ds = self.by_window(lines)[rfc3339(self.big)]
        self.assertEqual([(d["sequenceNumbers"], d["result"], d["errorType"], d["stateIn"], d["final"])
                          for d in ds[:2]],
                         [(seqs(recs), "error", "Runtime.ExitError", {}, False),
                          (seqs(recs), "ok", None, {}, False)])
        # The function processed the first records twice (the killed invoke got at least three).
        logged = [r["sequenceNumber"] for r in lrtest.record_lines(logs) if r["sequenceNumber"] in seqs(recs)]
        twice = len(logged) - len(recs)
        self.assertTrue(3 <= twice < len(recs), logged)
        self.assertEqual(logged, seqs(recs[:twice]) + seqs(recs))
        w = [x for x in self.summaries(lines) if x["start"] == rfc3339(self.big)][0]
        self.assertEqual((w["records"], w["recordDeliveries"], w["recordsCounted"]),
                         (len(recs), 2 * len(recs), len(recs)))
        self.assertEqual(w["finalState"], totals(recs))
        summary = lines[-1]["summary"]
        self.assertEqual((summary["deliveries"] - sum(len(v) for v in self.by_window(lines).values()),
                          summary["recordsDelivered"]), (0, len(self.records)))

    def test_a_state_over_1_mb_ends_the_window_early(self):
        recs = self.windows[self.big]
        with lrtest.Emulator(bootstrap=self.standin, env={"STANDIN_PAD_AT": "2"}) as emu:
            proc, lines = self.replay("--batch-size", "1", emu=emu)
            events = [e for e in self.events(emu.logs()) if e["window"]["start"] == rfc3339(self.big)]
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        # Each instance of the window takes two records (the second makes the state too big), then
        # ends early; the last instance ends normally when it has one record left.
        expect, i = [], 0
        while i < len(recs):
            part = recs[i:i + 2]
            early = len(part) == 2
            expect += [(seqs(part[:1]), {}, False, False)]
            if early:
                expect += [(seqs(part[1:]), {"records": 1}, False, False),
                           ([], "padded 2", True, True)]
            else:
                expect += [([], {"records": 1}, True, False)]
            i += 2
        got = [(seqs(e["Records"]), "padded %d" % e["state"]["records"] if "pad" in e["state"] else e["state"],
                e["isFinalInvokeForWindow"], e["isWindowTerminatedEarly"]) for e in events]
        self.assertEqual(got, expect)
        ws = [x for x in self.summaries(lines) if x["start"] == rfc3339(self.big)]
        self.assertEqual([(w["records"], w["terminatedEarly"], w["final"]) for w in ws],
                         [(len(recs[i:i + 2]), len(recs[i:i + 2]) == 2, "ok") for i in range(0, len(recs), 2)])
        self.assertTrue(all(isinstance(w["finalState"], (str, dict)) for w in ws))
        self.assertTrue(str(ws[0]["finalState"]).startswith("("), ws[0]["finalState"])  # shown by size
        # Every window with more than one record ends early at least once: an instance per two records.
        self.assertEqual(lines[-1]["summary"]["windows"], sum((len(v) + 1) // 2 for v in self.windows.values()))

    def test_write_events_writes_the_window_events(self):
        with tempfile.TemporaryDirectory(prefix="windows-events-") as out:
            events_dir = os.path.join(out, "events")
            proc, lines = self.replay("--batch-size", "4", "--write-events", events_dir)
            files = {}
            for name in sorted(os.listdir(events_dir)):
                with open(os.path.join(events_dir, name)) as f:
                    files[name] = json.load(f)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        expect = {}
        for start, recs in self.windows.items():
            batches = [recs[i:i + 4] for i in range(0, len(recs), 4)] + [[]]
            for n, batch in enumerate(batches, 1):
                expect["event-%s-w%d-%04d.json" % (self.shard, start, n)] = {
                    "Records": json.loads(json.dumps(batch)), "window": self.span(start), "state": {},
                    "shardId": self.shard, "eventSourceARN": self.arn,
                    "isFinalInvokeForWindow": not batch, "isWindowTerminatedEarly": False}
        self.assertEqual(files, expect)
        self.assertEqual([x for x in lines if "delivery" in x], [])
        self.assertEqual([os.path.basename(x["written"]) for x in lines if "written" in x], sorted(expect))
        summary = lines[-1]["summary"]
        self.assertEqual((summary["eventsWritten"], summary["windows"], summary["deliveries"]),
                         (len(expect), len(self.windows), 0))
        self.assertEqual([w["final"] for w in self.summaries(lines)], ["written"] * len(self.windows))


class WindowRules(unittest.TestCase):
    """The replay tool's window rules, without AWS."""

    @classmethod
    def setUpClass(cls):
        cls.r = awstest.load_replay()
        cls.batch = [{"dynamodb": {"SequenceNumber": s}} for s in ("900", "1000")]

    def check(self, body, error=None, batch=None):
        result, state, at, reason = self.r.window_response(error, body, self.batch if batch is None else batch)
        return result, state, at

    def test_responses(self):
        self.assertEqual(self.check(b'{"state":{"n":1}}'), ("ok", {"n": 1}, None))
        self.assertEqual(self.check(b'{"state":{},"batchItemFailures":[]}'), ("ok", {}, None))
        self.assertEqual(self.check(b'{"state":{"n":1},"batchItemFailures":[{"itemIdentifier":"1000"}]}'),
                         ("partial", {"n": 1}, 1))
        for body in (b"", b"null", b"{}", b'{"batchItemFailures":[]}', b'{"state":null}', b'{"state":[]}',
                     b'{"state":"s"}', b'{"state":1}', b"[]", b"not json",
                     b'{"state":{},"batchItemFailures":[{"itemIdentifier":"42"}]}'):
            self.assertEqual(self.check(body)[0], "error", body)
        self.assertEqual(self.check(b'{"state":{}}', error="Unhandled")[0], "error")
        # A final invoke has no records: any reported failure is unknown.
        self.assertEqual(self.check(b'{"state":{},"batchItemFailures":[{"itemIdentifier":"900"}]}', batch=[])[0],
                         "error")
        self.assertEqual(self.check(b'{"state":{"a":1}}', batch=[]), ("ok", {"a": 1}, None))

    def replayer(self, seconds=60, batch_size=100):
        class Args:
            pass
        args = Args()
        args.tumbling_window, args.batch_size, args.stream_arn, args.poll_interval = seconds, batch_size, "arn", 0.1
        return self.r.WindowReplayer(args, "http://unused", None)

    def test_windows_are_aligned_on_the_clock(self):
        rp = self.replayer(60)
        rec = lambda ts: {"dynamodb": {"SequenceNumber": "1", "ApproximateCreationDateTime": ts}}
        self.assertEqual(rp.window_start(rec(1795996799.0)), 1795996740)
        self.assertEqual(rp.window_start(rec(1795996800.0)), 1795996800)
        rp.window = self.r.Window("s", 1795996800, 60)
        self.assertEqual(rp.window.span(), {"start": "2026-11-30T00:00:00Z", "end": "2026-11-30T00:01:00Z"})
        # A record stamped before the open window stays in it.
        self.assertEqual(rp.window_start(rec(1795996700.0)), 1795996800)
        self.assertEqual(rp.window_start(rec(1795996861.0)), 1795996860)

    def test_batches_count_the_whole_event(self):
        rp = self.replayer(60, batch_size=3)
        rp.window = self.r.Window("s", 0, 60)
        small = [{"dynamodb": {"SequenceNumber": str(i)}} for i in range(5)]
        self.assertEqual(len(rp.batches(small)), 3)
        rec = [{"dynamodb": {"SequenceNumber": str(i), "pad": "x" * 2700000}} for i in range(3)]
        self.assertEqual(len(rp.batches(rec)), 2)
        rp.window.state = {"pad": "x" * (1024 * 1024)}  # the state takes room in the event
        self.assertEqual(len(rp.batches(rec)), 1)

    def test_an_open_shard_is_read_on_while_the_window_is_open(self):
        # A caught-up shard (--idle-polls 1 used up) is read on while hold() is true: the record of
        # the third read still reaches the window; once hold() is false the next empty read ends it.
        class Streams:
            def __init__(self):
                self.pages = [[], [], [{"dynamodb": {"SequenceNumber": "7"}}], [], []]
                self.reads = 0

            def get_shard_iterator(self, **kw):
                return {"ShardIterator": "it"}

            def get_records(self, **kw):
                self.reads += 1
                return {"Records": self.pages.pop(0) if self.pages else [], "NextShardIterator": "it"}
        streams = Streams()
        reader = self.r.StreamReader(streams, "arn", "TRIM_HORIZON", 10, 1, 0)
        pages = list(reader.records({"ShardId": "s"}, hold=lambda: streams.reads < 4))
        self.assertEqual(pages, [[{"dynamodb": {"SequenceNumber": "7"}}]])
        self.assertEqual(streams.reads, 4)
        streams = Streams()
        reader = self.r.StreamReader(streams, "arn", "TRIM_HORIZON", 10, 1, 0)
        self.assertEqual(list(reader.records({"ShardId": "s"}, hold=lambda: False)), [])
        self.assertEqual(streams.reads, 1)

    def test_usage(self):
        import contextlib
        import io
        for argv in (["--tumbling-window", "0"], ["--tumbling-window", "901"],
                     ["--tumbling-window", "60", "--redrive-queue", "q", "--invoke-url", "http://x"],
                     ["--stream-arn", "a", "--write-events", "d"]):
            argv = (["--stream-arn", "a", "--invoke-url", "http://x"] if "--redrive-queue" not in argv
                    and "--write-events" not in argv else []) + argv
            with self.subTest(argv=argv), contextlib.redirect_stderr(io.StringIO()):
                with self.assertRaises(SystemExit) as cm:
                    self.r.parse_args(argv)
                self.assertEqual(cm.exception.code, 2)
        args = self.r.parse_args(["--stream-arn", "a", "--write-events", "d", "--tumbling-window", "900"])
        self.assertEqual((args.tumbling_window, args.write_events), (900, "d"))


if __name__ == "__main__":
    unittest.main()

"""Tumbling windows through the bundled bootstrap under the emulator: every answer to a window event
carries "state" (Lambda counts an answer without it as a failed invoke), the bundled state adds this
invoke's successful records to the incoming totals, the final invoke logs the window's totals in one
line and one EMF line, failed records are not counted, and an event without a window answers as
before. tools/replay's emulation of the mapping's windows is test_replay_windows's."""

import json
import os
import unittest

import lrtest

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-01-01T00:00:00.000"


def record(i, name, size=10):
    return {"eventID": "e%d" % i, "eventName": name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1", "eventSourceARN": ARN,
            "dynamodb": {"Keys": {"id": {"S": "k%d" % i}}, "SequenceNumber": str(100 + i), "SizeBytes": size,
                         "StreamViewType": "KEYS_ONLY"}}


def window_event(records, state=None, final=False, early=False):
    ev = {"Records": records, "window": {"start": "2026-12-06T10:00:00Z", "end": "2026-12-06T10:05:00Z"},
          "shardId": "shardId-000001", "eventSourceARN": ARN, "isFinalInvokeForWindow": final,
          "isWindowTerminatedEarly": early}
    if state is not None:
        ev["state"] = state
    return ev


def emf(logs, metric):
    return [json.loads(line[line.index("{"):]) for line in logs.splitlines()
            if '"_aws"' in line and '"%s"' % metric in line]


class TumblingWindows(unittest.TestCase):

    def test_state_is_carried_and_the_final_invoke_reports_the_window(self):
        batches = [[record(0, "INSERT", 11), record(1, "MODIFY", 12)],
                   [record(2, "REMOVE", 13), record(3, "INSERT", 14), record(4, "INSERT", 15)],
                   []]
        state, answers = {}, []
        with lrtest.Emulator(env={"LR_LOG_RECORDS": "none"}) as emu:
            for i, batch in enumerate(batches):
                status, headers, body = emu.invoke_json(window_event(batch, state, final=i == 2))
                self.assertEqual((status, headers.get("x-amz-function-error")), (200, None), emu.logs())
                answers.append(body)
                state = body["state"]
            logs = emu.logs()
        want = {"records": 5, "INSERT": 3, "MODIFY": 1, "REMOVE": 1, "bytes": 65}
        self.assertEqual([a["state"] for a in answers],
                         [{"records": 2, "INSERT": 1, "MODIFY": 1, "REMOVE": 0, "bytes": 23}, want, want])
        self.assertEqual([a["batchItemFailures"] for a in answers], [[], [], []])
        done = [line for line in logs.splitlines() if "window done:" in line]
        self.assertEqual(len(done), 1, logs)  # the final invoke only
        self.assertIn("2026-12-06T10:00:00Z to 2026-12-06T10:05:00Z: 5 records, 3 INSERT, 1 MODIFY, "
                      "1 REMOVE, 65 bytes", done[0])
        [m] = emf(logs, "WindowRecords")
        self.assertEqual((m["WindowRecords"], m["WindowInserts"], m["WindowBytes"], m["windowStart"],
                          m["shardId"]), (5, 3, 65, "2026-12-06T10:00:00Z", "shardId-000001"))

    def test_failed_records_are_not_counted(self):
        batch = [record(0, "INSERT"), record(1, "INSERT"), record(2, "INSERT")]
        env = {"LR_LOG_RECORDS": "none", "LR_BATCH_MODE": "continue", "LR_TEST_FAIL_SEQUENCE_NUMBERS": "101"}
        with lrtest.Emulator(env=env) as emu:
            status, _, body = emu.invoke_json(window_event(batch, {"records": 7, "INSERT": 7, "bytes": 70}))
            logs = emu.logs()
        self.assertEqual(status, 200, logs)
        self.assertEqual(body["batchItemFailures"], [{"itemIdentifier": "101"}])
        self.assertEqual(body["state"], {"records": 9, "INSERT": 9, "MODIFY": 0, "REMOVE": 0, "bytes": 90})

    def test_a_bad_incoming_state_counts_from_zero_with_a_warning(self):
        with lrtest.Emulator(env={"LR_LOG_RECORDS": "none"}) as emu:
            status, _, body = emu.invoke_json(window_event([record(0, "MODIFY")], ["not", "an", "object"]))
            logs = emu.logs()
        self.assertEqual(status, 200, logs)
        self.assertEqual(body["state"], {"records": 1, "INSERT": 0, "MODIFY": 1, "REMOVE": 0, "bytes": 10})
        self.assertIn("the window's incoming state is not a JSON object", logs)

    def test_a_window_ended_early_is_reported_as_such(self):
        with lrtest.Emulator(env={"LR_LOG_RECORDS": "none"}) as emu:
            _, _, body = emu.invoke_json(window_event([record(0, "INSERT")], {}, final=True, early=True))
            logs = emu.logs()
        self.assertIn("(ended early: the state reached its limit)", logs)
        self.assertEqual(body["state"]["records"], 1)

    def test_an_event_without_a_window_has_no_state(self):
        with lrtest.Emulator(env={"LR_LOG_RECORDS": "none"}) as emu:
            status, _, body = emu.invoke_json({"Records": [record(0, "INSERT")]})
        self.assertEqual((status, body), (200, {"batchItemFailures": []}))


class UnitsSoldExample(unittest.TestCase):
    """examples/units_sold: a user's own window state (units per product) through the same API."""

    def line(self, i, product, units, name="INSERT"):
        rec = record(i, name)
        rec["dynamodb"]["NewImage"] = {"Product": {"S": product}, "Units": {"N": units}}
        return rec

    def test_units_per_product_over_a_window(self):
        path = os.path.join(lrtest.build_dir(), "examples", "units_sold", "bootstrap")
        if not os.access(path, os.X_OK):
            self.skipTest("example not built (LR_BUILD_EXAMPLES=OFF)")
        batches = [[self.line(0, "tea", "2"), self.line(1, "cake", "1"), self.line(2, "tea", "3", "MODIFY")],
                   [self.line(3, "tea", "4"), self.line(4, "bad", "-1"), self.line(5, "cake", "9")],
                   [self.line(4, "bad", "1"), self.line(5, "cake", "9")],
                   []]
        state, answers = {}, []
        with lrtest.Emulator(bootstrap=path) as emu:
            for i, batch in enumerate(batches):
                status, _, body = emu.invoke_json(window_event(batch, state, final=i == 3))
                self.assertEqual(status, 200, emu.logs())
                answers.append(body)
                state = body["state"]
            status, _, plain = emu.invoke_json({"Records": [self.line(9, "tea", "1")]})
            logs = emu.logs()
        # The bad line fails (ordered: the checkpoint, cake after it not counted), then is redelivered.
        self.assertEqual([a["batchItemFailures"] for a in answers], [[], [{"itemIdentifier": "104"}], [], []])
        self.assertEqual([a["state"] for a in answers],
                         [{"tea": 2, "cake": 1}, {"tea": 6, "cake": 1}, {"tea": 6, "cake": 10, "bad": 1},
                          {"tea": 6, "cake": 10, "bad": 1}])
        self.assertIn('units sold from 2026-12-06T10:00:00Z to 2026-12-06T10:05:00Z: '
                      '{"tea":6,"cake":10,"bad":1}', logs)
        self.assertEqual(plain, {"batchItemFailures": []})  # no window: no state


if __name__ == "__main__":
    unittest.main()

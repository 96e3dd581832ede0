"""The bundled bootstrap end to end through the emulator: exact partial batch responses for the
article's input.json and generated batches, invoke errors, config errors, the Powertools fixture,
and the example bootstrap."""

import json
import os
import unittest

import lrtest

NONE = b'{"batchItemFailures":[]}'


def items(*seqs):
    return ('{"batchItemFailures":[%s]}' % ",".join(
        '{"itemIdentifier":"%s"}' % s for s in seqs)).encode()


def record(i, seq, new_image=None):
    return {
        "eventID": "ev-%d" % i, "eventName": "INSERT", "eventVersion": "1.1",
        "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
        "dynamodb": {"Keys": {"Id": {"N": str(i)}},
                     "NewImage": new_image or {"Id": {"N": str(i)}},
                     "SequenceNumber": seq, "SizeBytes": 26,
                     "StreamViewType": "NEW_AND_OLD_IMAGES"},
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/T/stream/2026",
    }


def minor_faults(pid):
    """Field 10 of /proc/PID/stat (minflt), counted after the command name."""
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[7])


def input_json():
    with open(os.path.join(lrtest.source_dir(), "input.json"), "rb") as f:
        return f.read()


class HandlerBatchTest(unittest.TestCase):

    def invoke(self, payload, env=None, bootstrap=None):
        base = {"LR_EMF": "off"}
        base.update(env or {})
        with lrtest.Emulator(env=base, bootstrap=bootstrap) as emu:
            status, headers, body = emu.invoke(payload)
            logs = emu.logs()
        self.assertEqual(status, 200, logs)
        return headers, body, logs

    def assert_ok(self, payload, want, env=None):
        headers, body, logs = self.invoke(payload, env)
        self.assertNotIn("x-amz-function-error", headers, body)
        self.assertEqual(body, want, logs)
        return logs

    def assert_function_error(self, payload, error_type, env=None, bootstrap=None):
        headers, body, logs = self.invoke(payload, env, bootstrap)
        self.assertIn("x-amz-function-error", headers, body)
        doc = json.loads(body)
        self.assertEqual(doc["errorType"], error_type, body)
        return doc, logs

    def test_input_json_all_succeed(self):
        self.assert_ok(input_json(), NONE)

    def test_input_json_failing_record_ordered(self):
        logs = self.assert_ok(input_json(), items("222"),
                              {"LR_TEST_FAIL_SEQUENCE_NUMBERS": "222"})
        # Ordered: record 333 was never processed, so it has no record line.
        self.assertIn("sequenceNumber=222", logs)
        self.assertNotIn("sequenceNumber=333", logs)

    def test_production_bootstrap_does_not_read_the_testing_switches(self):
        # Only the test bootstrap reads LR_TEST_*: the production one neither fails listed records
        # nor refuses a bad value, and the same invoke through the test bootstrap does fail 222.
        env = {"LR_TEST_FAIL_SEQUENCE_NUMBERS": "222", "LR_TEST_RECORD_DELAY_MS": "not-a-number"}
        with lrtest.Emulator(env=env, bootstrap=lrtest.bootstrap_path()) as emu:
            status, headers, body = emu.invoke(input_json())
        self.assertEqual((status, body), (200, NONE))
        self.assertNotIn("x-amz-function-error", headers)
        del env["LR_TEST_RECORD_DELAY_MS"]
        self.assert_ok(input_json(), items("222"), env)

    def test_input_json_continue_reports_every_failure(self):
        self.assert_ok(input_json(), items("111", "333"),
                       {"LR_TEST_FAIL_SEQUENCE_NUMBERS": "111,333",
                        "LR_BATCH_MODE": "continue"})

    def test_first_and_last_fail(self):
        event = json.dumps({"Records": [record(i, "5%020d" % i) for i in range(6)]}).encode()
        self.assert_ok(event, items("5%020d" % 0),
                       {"LR_TEST_FAIL_SEQUENCE_NUMBERS": "5%020d,5%020d" % (0, 5)})
        self.assert_ok(event, items("5%020d" % 0, "5%020d" % 5),
                       {"LR_TEST_FAIL_SEQUENCE_NUMBERS": "5%020d,5%020d" % (0, 5),
                        "LR_BATCH_MODE": "continue"})

    def test_all_failed_policies(self):
        env = {"LR_TEST_FAIL_SEQUENCE_NUMBERS": "111,222,333", "LR_BATCH_MODE": "continue"}
        self.assert_ok(input_json(), items("111", "222", "333"), env)
        env["LR_ALL_FAILED"] = "error"
        doc, _ = self.assert_function_error(input_json(), "Function.AllRecordsFailed", env)
        self.assertIn("no record of the batch succeeded", doc["errorMessage"])

    def test_empty_batch(self):
        self.assert_ok(b'{"Records":[]}', NONE, {"LR_ALL_FAILED": "error"})

    def test_invalid_record_is_reported_by_sequence_number(self):
        bad = record(1, "222", {"Id": {"N": "not-a-number"}})
        event = json.dumps({"Records": [record(0, "111"), bad, record(2, "333")]}).encode()
        logs = self.assert_ok(event, items("222"), {"LR_BATCH_MODE": "continue"})
        self.assertIn("invalid record", logs)

    def test_failed_record_without_sequence_number_is_invoke_error(self):
        bad = record(1, "222", {"Id": {"N": "not-a-number"}})
        del bad["dynamodb"]["SequenceNumber"]
        event = json.dumps({"Records": [record(0, "111"), bad]}).encode()
        doc, logs = self.assert_function_error(event, "Function.MissingSequenceNumber")
        self.assertIn("no usable SequenceNumber", doc["errorMessage"])
        self.assertIn("no usable SequenceNumber", logs)

    def poison_event(self, poison, with_seq=True):
        """Records 111, 222, 333 where 222's NewImage holds `poison` (raw JSON text) as a value."""
        bad = record(1, "222", {"Id": {"N": "1"}, "P": "POISON"})
        if not with_seq:
            del bad["dynamodb"]["SequenceNumber"]
        text = json.dumps({"Records": [record(0, "111"), bad, record(2, "333")]}).encode()
        return text.replace(b'"POISON"', poison)

    POISONS = {
        "invalid UTF-8": b'{"S":"caf\xe9"}',
        "lone surrogate": b'{"S":"\\ud83d"}',
        "too deep": b'{"L":' + b"[" * 300 + b'"]"' + b"]" * 300 + b"}",
    }

    def test_one_poison_record_does_not_stop_the_shard(self):
        # Ordered: 222 and everything after it is reported (Lambda retries from 222); continue:
        # 222 alone, and 333 is processed.
        for name, poison in self.POISONS.items():
            event = self.poison_event(poison)
            for mode, want, logged in (("ordered", items("222"), False), ("continue", items("222"), True)):
                with self.subTest(poison=name, mode=mode):
                    logs = self.assert_ok(event, want, {"LR_BATCH_MODE": mode})
                    self.assertIn("invalid record", logs)
                    self.assertIn("sequenceNumber=111", logs)
                    self.assertEqual(logged, "sequenceNumber=333" in logs, logs)

    def test_poison_record_without_sequence_number_is_invoke_error(self):
        for name, poison in self.POISONS.items():
            for mode in ("ordered", "continue"):
                with self.subTest(poison=name, mode=mode):
                    doc, _ = self.assert_function_error(self.poison_event(poison, with_seq=False),
                                                        "Function.MissingSequenceNumber",
                                                        {"LR_BATCH_MODE": mode})
                    self.assertIn("no usable SequenceNumber", doc["errorMessage"])

    def test_poison_outside_the_records_fails_the_invoke(self):
        event = b'{"Records":[],"note":"caf\xe9"}'
        self.assert_function_error(event, "Function.InvalidEvent")
        # Bad string content whose string never ends: the record boundaries cannot be found.
        self.assert_function_error(b'{"Records":[{"eventID":"\xe9', "Function.InvalidEvent")

    def test_unparseable_event_is_invoke_error(self):
        doc, _ = self.assert_function_error(b'{"Records":[{"eventID":', "Function.InvalidEvent")
        self.assertIn("not a DynamoDB Streams batch", doc["errorMessage"])

    def test_invalid_config_is_init_error(self):
        headers, body, logs = self.invoke(input_json(), {"LR_BATCH_MODE": "sideways"})
        self.assertIn("x-amz-function-error", headers, body)
        self.assertIn(b"LR_BATCH_MODE", body + logs.encode())
        self.assertIn("Runtime.ConfigInvalid", body.decode() + logs)

    def test_every_bad_setting_is_an_init_error_naming_it(self):
        bad = [("LR_BATCH_MODE", "Ordered"), ("LR_ALL_FAILED", "raise"),
               ("LR_DEADLINE_MARGIN_MS", "-5"), ("LR_DEADLINE_MARGIN_MS", "900001"),
               ("LR_LOG_RECORDS", "all"), ("LR_EMF", "yes"), ("LR_EMF_NAMESPACE", "AWS/Lambda"),
               ("LR_EMF_NAMESPACE", "n" * 1025), ("LR_EMF_NAMESPACE", "M\u00e9triques"),
               ("LR_EMF_NAMESPACE", ":ns"), ("LR_EMF_NAMESPACE", "   "),
               ("LR_TEST_FAIL_SEQUENCE_NUMBERS", "111,abc"),
               ("LR_TEST_FAIL_SEQUENCE_NUMBERS", "111,"), ("LR_TEST_RECORD_DELAY_MS", "1s")]
        for var, value in bad:
            with self.subTest(var=var, value=value[:20]):
                doc, _ = self.assert_function_error(input_json(), "Runtime.ConfigInvalid",
                                                    {var: value})
                self.assertIn("invalid %s=" % var, doc["errorMessage"])

    def test_good_settings_are_accepted(self):
        env = {"LR_BATCH_MODE": "continue", "LR_ALL_FAILED": "items",
               "LR_DEADLINE_MARGIN_MS": "0", "LR_LOG_RECORDS": "none", "LR_EMF": "on",
               "LR_EMF_NAMESPACE": "My/Namespace", "LR_TEST_FAIL_SEQUENCE_NUMBERS": "333",
               "LR_TEST_RECORD_DELAY_MS": "1"}
        self.assert_ok(input_json(), items("333"), env)

    @unittest.skipIf(lrtest.sanitizers() or lrtest.valgrind(), "another allocator")
    def test_a_warm_invoke_takes_no_page_fault(self):
        """Memory an invoke frees stays with the process for the next one: a 64 KB block allocated
        and freed per invoke once made glibc hand the heap's top back to the kernel and fault it in
        again, 15 page faults per 100-record invoke, which cost more CPU than parsing the batch."""
        batch = json.dumps({"Records": [record(i, "%021d" % (i + 1)) for i in range(100)]}).encode()
        with lrtest.Emulator(env={"LR_EMF": "off"}) as emu:
            inv = lrtest.KeepAliveInvoker(emu.invoke_address, timeout_s=60)
            for _ in range(20):  # warm-up: buffers and arenas reach their size
                self.assertEqual(inv.invoke(batch), (200, None, NONE))
            with open("/proc/%d/task/%d/children" % (emu.proc.pid, emu.proc.pid)) as f:
                pid = int(f.read().split()[0])  # the bootstrap, the emulator's child
            before = minor_faults(pid)
            for _ in range(50):
                self.assertEqual(inv.invoke(batch), (200, None, NONE))
            faults = minor_faults(pid) - before
        self.assertLess(faults, 50, "%d minor page faults in 50 warm invokes" % faults)

    def test_powertools_getting_started_fixture(self):
        fixtures = lrtest.fixtures_dir()
        if fixtures is None:
            self.skipTest("../shared/fixtures not present")
        with open(os.path.join(fixtures, "events",
                               "powertools-lambda-python__getting_started_dynamodb_event.json"),
                  "rb") as f:
            event = f.read()
        with open(os.path.join(fixtures, "responses",
                               "powertools-lambda-python__getting_started_dynamodb_response.json"),
                  "rb") as f:
            want = json.loads(f.read())
        # fixtures/INDEX.md: the record with SequenceNumber 8640712661 is the failing one.
        for mode in ("ordered", "continue"):
            headers, body, logs = self.invoke(
                event, {"LR_TEST_FAIL_SEQUENCE_NUMBERS": "8640712661", "LR_BATCH_MODE": mode})
            self.assertNotIn("x-amz-function-error", headers)
            self.assertEqual(body, items("8640712661"))
            self.assertEqual(json.loads(body), want)


class ExampleBootstrapTest(unittest.TestCase):
    """examples/inventory: the business logic's failure path through the same API."""

    def bootstrap(self):
        path = os.path.join(lrtest.build_dir(), "examples", "inventory", "bootstrap")
        if not os.access(path, os.X_OK):
            self.skipTest("example not built (LR_BUILD_EXAMPLES=OFF)")
        return path

    def item(self, i, seq, qty):
        return record(i, seq, {"Sku": {"S": "sku-%d" % i}, "Quantity": {"N": qty}})

    def test_valid_and_failing_records(self):
        ok = {"Records": [self.item(0, "111", "3"), self.item(1, "222", "4")]}
        bad = {"Records": [self.item(0, "111", "3"), self.item(1, "222", "-3"),
                           self.item(2, "333", "1")]}
        with lrtest.Emulator(bootstrap=self.bootstrap()) as emu:
            status, headers, body = emu.invoke(json.dumps(ok))
            self.assertEqual((status, body), (200, NONE), emu.logs())
            status, headers, body = emu.invoke(json.dumps(bad))
            self.assertEqual((status, body), (200, items("222")), emu.logs())
            self.assertNotIn("x-amz-function-error", headers)
            self.assertIn("Quantity of sku-1 is not a whole number", emu.logs())


if __name__ == "__main__":
    unittest.main()

"""Plain JSON of records and images (ddb_record_render_plain, through build/tests/ddb-render) against an
independent conversion: boto3's TypeDeserializer, over every shared fixture event and thousands of random
images with all ten types, awkward numbers ("01", ".5", "5.", 38 digits, the range's ends) and hostile
strings. Numbers are compared digit for digit (as Decimal text), never through a float."""
import base64
import datetime
import decimal
import glob
import json
import os
import random
import re
import subprocess
import unittest

import lrtest

try:
    from boto3.dynamodb.types import Binary, TypeDeserializer
except ImportError:  # pragma: no cover - the machine image has boto3
    TypeDeserializer = None

JSON_NUMBER = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$")
D = decimal.Decimal


def render(event, numbers="number"):
    """The tool's lines for an event given as bytes (as sent) or as a JSON-able object."""
    tool = os.path.join(lrtest.build_dir(), "tests", "ddb-render")
    raw = event if isinstance(event, bytes) else json.dumps(event).encode()
    proc = subprocess.run([tool, numbers], input=raw, capture_output=True, check=True)
    return proc.stdout.decode().splitlines()


def wire_to_model(av):
    """A stream event's AttributeValue as botocore hands it to TypeDeserializer: B and BS decoded from
    base64 to bytes (the event carries them as base64 text), everything else as it is."""
    (t, v), = av.items()
    if t == "B":
        return {"B": base64.b64decode(v)}
    if t == "BS":
        return {"BS": [base64.b64decode(x) for x in v]}
    if t == "M":
        return {"M": {k: wire_to_model(x) for k, x in v.items()}}
    if t == "L":
        return {"L": [wire_to_model(x) for x in v]}
    return av


def expected_time(value):
    """RFC 3339 of seconds since the epoch, or None past year 9999 (a millisecond value sent as
    seconds, as one published test event does: the renderer leaves the member out then)."""
    secs = D(str(value))
    whole = int(secs)
    if whole >= 253402300800:
        return None
    text = datetime.datetime.fromtimestamp(whole, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    frac = ("%.9f" % (secs - whole))[2:].rstrip("0") if secs != whole else ""
    return text + ("." + frac if frac else "") + "Z"


class PlainJsonTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if TypeDeserializer is None:
            raise unittest.SkipTest("boto3 is not installed")
        cls.deser = TypeDeserializer()

    # -- comparison, guided by what boto3 made of the value --------------------------------------

    def same(self, want, got, numbers, where):
        if isinstance(want, D):
            if numbers == "string":
                self.assertIsInstance(got, str, where)
                self.assertRegex(got, JSON_NUMBER, where)
                got = D(got)
            self.assertIsInstance(got, D, where)
            self.assertEqual(str(want), str(got), where)  # the same digits, not just the same value
        elif isinstance(want, Binary):
            self.assertEqual(base64.b64encode(want.value).decode(), got, where)
        elif isinstance(want, set):
            # A set: boto3 dedups by value (NS "1" and "1.0" are one number), the renderer keeps the
            # members as sent, in order. So: the same members by value, each written validly.
            self.assertIsInstance(got, list, where)
            kind = next(iter(want), None)
            if isinstance(kind, Binary):
                self.assertEqual({base64.b64encode(b.value).decode() for b in want}, set(got), where)
            elif isinstance(kind, D):
                if numbers == "string":
                    self.assertTrue(all(JSON_NUMBER.match(g) for g in got), where)
                    got = [D(g) for g in got]
                self.assertTrue(all(isinstance(g, D) for g in got), where)
                self.assertEqual(want, set(got), where)
            else:
                self.assertEqual(want, set(got), where)
        elif isinstance(want, dict):
            self.assertIsInstance(got, dict, where)
            self.assertEqual(sorted(want), sorted(got), where)
            for k in want:
                self.same(want[k], got[k], numbers, where + "." + k)
        elif isinstance(want, list):
            self.assertIsInstance(got, list, where)
            self.assertEqual(len(want), len(got), where)
            for i, (w, g) in enumerate(zip(want, got)):
                self.same(w, g, numbers, "%s[%d]" % (where, i))
        else:  # str, bool, None
            self.assertEqual(want, got, where)
            self.assertIs(type(want), type(got), where)

    def check_record(self, rec, line, numbers, where):
        got = json.loads(line, parse_float=D, parse_int=D)
        dyn = rec["dynamodb"]
        self.assertEqual(rec.get("eventName", ""), got["eventName"], where)
        for key, field in (("eventID", "eventID"), ("SequenceNumber", "sequenceNumber")):
            src = rec if key == "eventID" else dyn
            if key in src:
                self.assertEqual(src[key], got[field], where)
            else:
                self.assertNotIn(field, got, where)
        arn = rec.get("eventSourceARN", "")
        m = re.search(r":table/([^/]*)", arn)
        if m:
            self.assertEqual(m.group(1), got["table"], where)
        else:
            self.assertNotIn("table", got, where)
        when = dyn.get("ApproximateCreationDateTime")
        if when is not None and expected_time(when) is not None:
            self.assertEqual(expected_time(when), got["approximateCreationDateTime"], where)
        else:
            self.assertNotIn("approximateCreationDateTime", got, where)
        for src, field in (("Keys", "keys"), ("NewImage", "newImage"), ("OldImage", "oldImage")):
            if dyn.get(src) is None:
                self.assertNotIn(field, got, where)
                continue
            want = {k: self.deser.deserialize(wire_to_model(v)) for k, v in dyn[src].items()}
            self.same(want, got[field], numbers, "%s.%s" % (where, field))
        self.assertEqual(set(got) - {"eventName", "eventID", "sequenceNumber", "table",
                                     "approximateCreationDateTime", "keys", "newImage", "oldImage"},
                         set(), where)

    def check_event(self, event, where, raw=None):
        records = event["Records"] if "Records" in event else [event]
        for numbers in ("number", "string"):
            lines = render(raw or event, numbers)
            self.assertEqual(len(records), len(lines), where)
            for i, (rec, line) in enumerate(zip(records, lines)):
                self.assertFalse(line.startswith("invalid") or line == "too large", (where, i, line))
                self.check_record(rec, line, numbers, "%s record %d (%s)" % (where, i, numbers))

    # -- the shared fixtures ---------------------------------------------------------------------

    def test_every_shared_fixture_event(self):
        fixtures = lrtest.fixtures_dir()
        if fixtures is None:
            self.skipTest("../shared/fixtures not present: the fixture comparison did not run")
        checked = 0
        for path in sorted(glob.glob(os.path.join(fixtures, "events", "*.json"))):
            with open(path, "rb") as f:
                raw = f.read()
            try:
                event = json.loads(raw.decode("utf-8-sig"), parse_float=D)
            except ValueError:
                continue  # a deliberately malformed fixture: the parser's own tests cover it
            records = event.get("Records", [event])
            if not all(isinstance(r, dict) and isinstance(r.get("dynamodb"), dict) for r in records):
                continue  # not a DynamoDB Streams event (e.g. Kinesis-shaped)
            if any(l.startswith("invalid") for l in render(raw)):
                continue  # a record the parser rejects: its own tests cover it
            self.check_event(event, os.path.basename(path), raw)
            checked += 1
        self.assertGreaterEqual(checked, 10)

    # -- random images ---------------------------------------------------------------------------

    def number(self, rng):
        forms = ["0", "-0", "01", "007.50", ".5", "-.25", "5.", "-5.", "1E+125", "-1e-130",
                 "9.9999999999999999999999999999999999999E+125", "12345678901234567890123456789012345678",
                 "0.000000000000000000000000000000000001", "1.0", "100", "3.14e5", "2E0"]
        if rng.random() < 0.5:
            return rng.choice(forms)
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 20)))
        return ("-" if rng.random() < 0.3 else "") + digits + (
            "." + "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 6))) if rng.random() < 0.5 else "")

    def string(self, rng):
        pieces = ["plain", "quote\"", "back\\slash", "nl\nline", "tab\t", "\x00nul", "\x1b[31m",
                  "caf\u00e9", "\u2028sep", "\u0085c1", "\U0001F600", "", " ", "\x7f"]
        return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 4)))

    def value(self, rng, depth):
        kinds = ["S", "N", "B", "SS", "NS", "BS", "NULL", "BOOL"] + (["M", "L"] * 2 if depth < 6 else [])
        t = rng.choice(kinds)
        if t == "S":
            return {"S": self.string(rng)}
        if t == "N":
            return {"N": self.number(rng)}
        if t == "B":
            return {"B": base64.b64encode(bytes(rng.randrange(256) for _ in range(rng.randint(0, 9)))).decode()}
        if t == "SS":
            return {"SS": sorted({self.string(rng) + str(i) for i in range(rng.randint(1, 4))})}
        if t == "NS":
            return {"NS": list(dict.fromkeys(self.number(rng) for _ in range(rng.randint(1, 4))))}
        if t == "BS":
            return {"BS": sorted({base64.b64encode(bytes([i, rng.randrange(256)])).decode()
                                  for i in range(rng.randint(1, 4))})}
        if t == "NULL":
            return {"NULL": True}
        if t == "BOOL":
            return {"BOOL": rng.random() < 0.5}
        if t == "M":
            return {"M": {"k%d%s" % (i, self.string(rng)[:3]): self.value(rng, depth + 1)
                          for i in range(rng.randint(0, 4))}}
        return {"L": [self.value(rng, depth + 1) for _ in range(rng.randint(0, 4))]}

    def test_random_images_with_every_type(self):
        rng = random.Random(20261206)
        for batch in range(40):
            records = []
            for i in range(25):
                new = {"pk": {"S": "k%d" % i}}
                new.update({"a%d" % j: self.value(rng, 0) for j in range(rng.randint(1, 8))})
                rec = {"eventID": "e%d" % i, "eventName": rng.choice(["INSERT", "MODIFY", "REMOVE"]),
                       "eventSourceARN": "arn:aws:dynamodb:eu-west-1:1:table/T%d/stream/x" % batch,
                       "dynamodb": {"Keys": {"pk": {"S": "k%d" % i}}, "NewImage": new,
                                    "SequenceNumber": str(10 ** 20 + i), "SizeBytes": 1,
                                    "ApproximateCreationDateTime": rng.choice([1700000000, 1700000000.5,
                                                                               1700000000.123456789])}}
                if rng.random() < 0.5:
                    rec["dynamodb"]["OldImage"] = {"pk": {"S": "k%d" % i}, "n": self.value(rng, 0)}
                records.append(rec)
            self.check_event({"Records": records}, "batch %d" % batch)

    def test_numbers_are_rewritten_into_json_grammar_with_their_digits(self):
        cases = {"01": "1", ".5": "0.5", "-.5": "-0.5", "5.": "5", "-5.": "-5", "007.50": "7.50",
                 "0": "0", "-0": "-0", "1E+125": "1E+125", "00.10e+05": "0.10e+05"}
        for text, want in cases.items():
            event = {"Records": [{"eventName": "INSERT", "dynamodb": {
                "Keys": {"n": {"N": text}}, "NewImage": {"ns": {"NS": [text]}}, "SequenceNumber": "1"}}]}
            number_line, string_line = render(event)[0], render(event, "string")[0]
            self.assertIn('"keys":{"n":%s}' % want, number_line, text)
            self.assertIn('"newImage":{"ns":[%s]}' % want, number_line, text)
            self.assertIn('"keys":{"n":"%s"}' % want, string_line, text)


if __name__ == "__main__":
    unittest.main()

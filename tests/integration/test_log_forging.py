"""Log forging and secrets: hostile record contents never split, forge or corrupt a log line, and the
AWS credentials in the environment never reach any output.

Every value below is wrapped as TAG<payload>END so that the test can find it on a line, cut out what
the runtime printed between the two markers and decode it as a JSON string body: that decoded text
must be exactly the original payload (or U+FFFD replacements for invalid UTF-8). Each test runs the
bundled bootstrap through the local emulator in both log formats (Text and JSON).
"""

import base64
import json
import os
import re
import subprocess
import unittest

import lrtest

LOG_MAX_LINE = 240 * 1024  # LR_LOG_DEFAULT_MAX_LINE in lr/log.h
EMULATOR_PREFIXES = ("START RequestId:", "END RequestId:", "REPORT RequestId:", "INIT_REPORT",
                     "lambda-emu:")

# name -> payload, placed as TAG<name>TAG<payload>END<name>END in S attributes (see tagged()).
HOSTILE = {
    "NL": "\nFORGED {\"level\":\"ERROR\",\"message\":\"forged\"}\n",
    "CR": "\rFORGED-CR\r\n",
    "ANSI": "\x1b[31mRED\x1b[0m\x1b]0;title\x07",
    "NUL": "a\x00FORGED-NUL\x00",
    "CTRL": "".join(chr(c) for c in range(1, 32)) + "\x7f",
    "QUOTE": "\"}, {\"level\":\"FATAL\",\"message\":\"forged\\",
    "UNI": "caf\u00e9 \u6f22 \U0001F600 \u2028\u2029",
}
BIG_CHUNK = "ab\n\x1b"  # 400 KB of it: escaped, larger than the handler's 200 KB per-image cap
BIG_VALUE_BYTES = 400 * 1024
# Two images of 188 KB each fit the per-image cap but not the 240 KB line: the logger must cut the line.
WIDE_VALUE = "abcd" * 47000

SECRET_ENV = {
    "AWS_ACCESS_KEY_ID": "ASIALRMARKERKEYID7Q2Z",
    "AWS_SECRET_ACCESS_KEY": "lrMarkerSecretKey9f3K2mQ8vX1nB6tY4wR0pL5sD7hJ",
    "AWS_SESSION_TOKEN": "lrMarkerSessionToken" + "Zq8W3e" * 40,
}
LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")


def seq(n):
    return "%021d" % (4000000000000000000000 + n)


def record(n, keys, new_image=None, event_name="INSERT", old_image=None):
    ddb = {"ApproximateCreationDateTime": 1767225600, "Keys": keys, "SequenceNumber": seq(n),
           "SizeBytes": 100, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    if new_image is not None:
        ddb["NewImage"] = new_image
    if old_image is not None:
        ddb["OldImage"] = old_image
    return {"eventID": "ev%d" % n, "eventName": event_name, "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "dynamodb": ddb,
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/Forge/stream/"
                              "2026-01-01T00:00:00.000"}


def tagged(name, payload):
    return "TAG%sTAG%sEND%sEND" % (name, payload, name)


def hostile_event():
    """One record per hostile value, with the value both in the key and in the image."""
    records = []
    for i, (name, payload) in enumerate(sorted(HOSTILE.items())):
        keys = {"pk": {"S": tagged("K" + name, payload)}}
        image = dict(keys)
        image["v"] = {"S": tagged(name, payload)}
        image["b"] = {"B": base64.b64encode(payload.encode("utf-8")).decode()}
        image["l"] = {"L": [{"S": tagged("L" + name, payload)}, {"NULL": True}]}
        records.append(record(i + 1, keys, image))
    big = (BIG_CHUNK * (BIG_VALUE_BYTES // len(BIG_CHUNK)))
    bigkey = {"pk": {"S": "TAGBIGKEYTAG"}}
    records.append(record(100, bigkey, {"pk": bigkey["pk"], "v": {"S": tagged("BIG", big)}}))
    widekey = {"pk": {"S": "TAGWIDEKEYTAG"}}
    wide = {"pk": widekey["pk"], "v": {"S": tagged("WIDE", WIDE_VALUE)}}
    records.append(record(101, widekey, wide, "MODIFY", wide))
    return {"Records": records}


def bootstrap_lines(logs):
    return [ln for ln in logs.split("\n") if ln and not ln.startswith(EMULATOR_PREFIXES)]


def segments(text, name):
    """Every raw TAG..END segment of text for name; None for one cut short by the line cap."""
    out = []
    start = 0
    tag, end = "TAG%sTAG" % name, "END%sEND" % name
    while True:
        i = text.find(tag, start)
        if i < 0:
            return out
        j = text.find(end, i)
        if j < 0:
            out.append(None)
            return out
        out.append(text[i + len(tag):j])
        start = j + len(end)


def decodings(mid):
    """mid as printed, decoded once and twice as a JSON string body (JSON inside a JSON string)."""
    out = [mid]
    for _ in range(2):
        try:
            mid = json.loads('"' + mid + '"')
        except ValueError:
            break
        out.append(mid)
    return out


def strings_in(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from strings_in(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from strings_in(v)


class LogOutputChecks:
    """Assertions shared by the tests: the raw bytes first, then each line."""

    def assert_clean_bytes(self, raw):
        for byte, what in ((b"\x00", "NUL"), (b"\x1b", "ESC"), (b"\r", "CR"), (b"\x07", "BEL"),
                           (b"\x7f", "DEL")):
            self.assertNotIn(byte, raw, "raw %s byte in the output" % what)
        try:
            raw.decode("utf-8", "strict")
        except UnicodeDecodeError as e:
            self.fail("output is not valid UTF-8 at byte %d: %r" % (e.start, raw[e.start - 40:e.end + 40]))

    def assert_no_forged_line(self, lines):
        for ln in lines:
            self.assertFalse(ln.startswith(("FORGED", "ab", "\"}", "RED")), "forged line: %r" % ln[:200])
            self.assertLessEqual(len(ln.encode()), LOG_MAX_LINE + 1, "line over the cap")

    def check_values(self, lines, fmt):
        """Each hostile value printed anywhere decodes back to exactly the original; returns the
        names of the values seen."""
        seen = set()
        for ln in lines:
            texts = [ln]
            if fmt == "JSON":
                try:
                    texts += list(strings_in(json.loads(ln)))
                except ValueError:
                    self.fail("JSON-format line is not JSON: %r" % ln[:300])
            for name, payload in HOSTILE.items():
                for full in (name, "K" + name, "L" + name):
                    for text in texts:
                        for mid in segments(text, full):
                            self.assertIsNotNone(mid, "%s cut: %r" % (full, ln[:300]))
                            self.assertIn(payload, decodings(mid),
                                          "%s printed as %r in %r" % (full, mid, ln[:300]))
                            seen.add(full)
        return seen


class TestLogForging(unittest.TestCase, LogOutputChecks):

    def run_event(self, fmt, records_mode, extra_env=None, fail_seqs=()):
        env = {"AWS_LAMBDA_LOG_FORMAT": fmt, "AWS_LAMBDA_LOG_LEVEL": "TRACE",
               "LR_LOG_RECORDS": records_mode, "LR_BATCH_MODE": "continue"}
        if fail_seqs:
            env["LR_TEST_FAIL_SEQUENCE_NUMBERS"] = ",".join(fail_seqs)
        env.update(extra_env or {})
        with lrtest.Emulator(env=env) as emu:
            status, hdrs, body = emu.invoke(json.dumps(hostile_event()).encode())
            emu.wait_for_log(r"END RequestId:")
            raw = read_bytes(emu.log_path)
        return status, hdrs, body, raw

    def check_run(self, fmt, records_mode, fail_seqs=()):
        status, hdrs, body, raw = self.run_event(fmt, records_mode, fail_seqs=fail_seqs)
        self.assertEqual(status, 200)
        self.assertNotIn("x-amz-function-error", hdrs, body)
        want = {"batchItemFailures": [{"itemIdentifier": s} for s in fail_seqs]}
        self.assertEqual(body, json.dumps(want, separators=(",", ":")).encode())
        self.assert_clean_bytes(raw)
        lines = bootstrap_lines(raw.decode("utf-8"))
        self.assert_no_forged_line(lines)
        seen = self.check_values(lines, fmt)
        # The key of every record is logged in both modes: every hostile key must have been seen.
        self.assertEqual({n for n in seen if n.startswith("K")}, {"K" + n for n in HOSTILE}, seen)
        if records_mode == "full":
            self.assertTrue(set(HOSTILE) <= seen, "values not logged: %s" % (set(HOSTILE) - seen))
        big_value = BIG_CHUNK * (BIG_VALUE_BYTES // len(BIG_CHUNK))
        for name, value in (("BIG", big_value), ("WIDE", WIDE_VALUE)):
            rec_lines = [ln for ln in lines if "TAG%sKEYTAG" % name in ln]
            self.assertTrue(rec_lines, "the %s record was not logged" % name)
            for ln in rec_lines:
                self.check_long_line(ln, fmt, name, value)
        if records_mode == "full":  # the wide images were printed, and the line says it was cut
            wide = [ln for ln in lines if "TAGWIDETAG" in ln]
            self.assertTrue(wide, "the 188 KB images were not logged")
            self.assertTrue(any("truncated" in ln for ln in wide), "over the cap, not marked as cut")
        return lines

    def check_long_line(self, ln, fmt, name, value):
        """Cut to the cap, still one valid line; what is printed of the value is a prefix of it."""
        self.assertLessEqual(len(ln.encode()), LOG_MAX_LINE)
        if fmt == "JSON":
            json.loads(ln)
        tag = "TAG%sTAG" % name
        i = ln.find(tag)
        if i >= 0:
            printed = ln[i + len(tag):]
            printed = printed[:printed.rfind("ab")]  # drop the cut tail and what follows it
            self.assertTrue(any(value.startswith(d) for d in decodings(printed)),
                            "%s value mangled: %r" % (name, printed[:200]))

    def test_text_full(self):
        self.check_run("Text", "full")

    def test_json_full(self):
        self.check_run("JSON", "full")

    def test_text_keys(self):
        self.check_run("Text", "keys")

    def test_json_keys_with_failures(self):
        # Failure reports carry the key too: the error path must escape just as well.
        self.check_run("JSON", "keys", fail_seqs=(seq(2), seq(5)))

    def test_text_full_with_failures(self):
        self.check_run("Text", "full", fail_seqs=(seq(1), seq(100)))

    def test_invalid_utf8_and_lone_surrogates(self):
        """Raw invalid bytes and lone surrogate escapes in the payload: handled, never echoed raw."""
        marker = b"\"TAGRAWBADTAG\xff\xfe\xc3\xed\xa0\x80\xf8\x88\x80\x80\x80ENDRAWBADEND\""
        rec = record(7, {"pk": {"S": "PLACEHOLDER"}}, {"pk": {"S": "PLACEHOLDER"},
                                                      "lone": {"S": "TAGLONETAG\ud800ENDLONEEND"}})
        payload = json.dumps({"Records": [rec, record(8, {"pk": {"S": "ok"}}, {"pk": {"S": "ok"}})]})
        payload = payload.encode().replace(b"\"PLACEHOLDER\"", marker)
        for fmt in ("Text", "JSON"):
            with self.subTest(fmt=fmt):
                env = {"AWS_LAMBDA_LOG_FORMAT": fmt, "AWS_LAMBDA_LOG_LEVEL": "TRACE",
                       "LR_BATCH_MODE": "continue"}
                with lrtest.Emulator(env=env) as emu:
                    status, hdrs, body = emu.invoke(payload)
                    emu.wait_for_log(r"END RequestId:")
                    # Still serving: the next invoke works.
                    status2, _, body2 = emu.invoke(json.dumps({"Records": []}).encode())
                    emu.wait_for_log(r"END RequestId:", count=2)
                    raw = read_bytes(emu.log_path)
                self.assertEqual(status, 200)
                self.assertEqual((status2, body2), (200, b'{"batchItemFailures":[]}'))
                if "x-amz-function-error" not in hdrs:
                    failed = {f["itemIdentifier"] for f in json.loads(body)["batchItemFailures"]}
                    self.assertLessEqual(failed, {seq(7)}, body)
                self.assert_clean_bytes(raw)
                lines = bootstrap_lines(raw.decode("utf-8"))
                self.assert_no_forged_line(lines)
                for ln in lines:
                    for name in ("RAWBAD", "LONE"):
                        for mid in segments(ln, name):
                            self.assertIsNotNone(mid, ln[:300])
                            self.assertTrue(any(re.fullmatch("\ufffd+", d) for d in decodings(mid)),
                                            "%s printed as %r" % (name, mid))
                    if fmt == "JSON":
                        json.loads(ln)

    def test_malformed_event_is_not_echoed_raw(self):
        payload = b"not json\n\x1b[31mFORGED\r\x00" + b"\xff" * 8
        for fmt in ("Text", "JSON"):
            with self.subTest(fmt=fmt):
                with lrtest.Emulator(env={"AWS_LAMBDA_LOG_FORMAT": fmt,
                                          "AWS_LAMBDA_LOG_LEVEL": "TRACE"}) as emu:
                    status, hdrs, body = emu.invoke(payload)
                    emu.wait_for_log(r"END RequestId:")
                    raw = read_bytes(emu.log_path)
                self.assertEqual(status, 200)
                self.assertEqual(hdrs.get("x-amz-function-error"), "Unhandled", body)
                json.loads(body)  # the error document itself is valid JSON
                self.assert_clean_bytes(raw)
                lines = bootstrap_lines(raw.decode("utf-8"))
                self.assert_no_forged_line(lines)
                if fmt == "JSON":
                    for ln in lines:
                        json.loads(ln)


class TestSecretsNeverPrinted(unittest.TestCase):
    """The credentials Lambda puts in the environment appear in no output, at any level, on any path."""

    def assert_no_secret(self, blob, context):
        for name, value in SECRET_ENV.items():
            for probe in (value, value[:16], value[-16:]):
                self.assertNotIn(probe.encode(), blob, "%s leaked (%s)" % (name, context))

    def env(self, fmt, level, extra=None):
        env = dict(SECRET_ENV)
        env.update({"AWS_LAMBDA_LOG_FORMAT": fmt, "AWS_LAMBDA_LOG_LEVEL": level,
                    "LR_LOG_RECORDS": "full", "LR_BATCH_MODE": "continue"})
        env.update(extra or {})
        return env

    def test_every_level_and_path_through_the_emulator(self):
        ok_event = json.dumps({"Records": [record(1, {"pk": {"S": "a"}}, {"pk": {"S": "a"}}),
                                           record(2, {"pk": {"S": "b"}}, {"pk": {"S": "b"}})]})
        for fmt in ("Text", "JSON"):
            for level in LEVELS:
                with self.subTest(fmt=fmt, level=level):
                    env = self.env(fmt, level, {"LR_TEST_FAIL_SEQUENCE_NUMBERS": seq(2),
                                                "LR_ALL_FAILED": "error"})
                    blob = b""
                    with lrtest.Emulator(env=env, timeout_ms=5000) as emu:
                        for payload in (ok_event.encode(), b"{not json", b"",
                                        json.dumps({"Records": [record(2, {"pk": {"S": "b"}})]}).encode(),
                                        json.dumps({"Records": "nope"}).encode()):
                            _, hdrs, body = emu.invoke(payload)
                            blob += body + json.dumps(hdrs).encode()
                        # Runtime API errors: the response is refused, then /next fails and the
                        # bootstrap exits (the emulator restarts it for the last invoke).
                        emu.add_fault("response-413")
                        blob += emu.invoke(ok_event.encode())[2]
                        emu.add_fault("next-500")
                        blob += emu.invoke(ok_event.encode())[2]
                        blob += emu.invoke(ok_event.encode())[2]
                    blob += open_logs(emu)
                    self.assertIn(b"RequestId", blob)  # the output really was captured
                    self.assert_no_secret(blob, "%s/%s" % (fmt, level))

    def test_init_errors_outside_the_emulator(self):
        """No Runtime API at all, or one that refuses connections: the fatal paths print nothing secret."""
        for level in LEVELS:
            for api in (None, "127.0.0.1:1", "not-a-host-port"):
                env = dict(os.environ)
                env.update(self.env("JSON", level))
                env.pop("AWS_LAMBDA_RUNTIME_API", None)
                if api:
                    env["AWS_LAMBDA_RUNTIME_API"] = api
                proc = subprocess.run([lrtest.bootstrap_path()], env=env, stdin=subprocess.DEVNULL,
                                      capture_output=True, timeout=60 * lrtest.slow_factor())
                with self.subTest(level=level, api=api):
                    self.assertNotEqual(proc.returncode, 0)
                    self.assertTrue(proc.stdout or proc.stderr, "no diagnostic printed")
                    self.assert_no_secret(proc.stdout + proc.stderr, "init %s %s" % (level, api))


def open_logs(emu):
    return emu.logs().encode("utf-8", "surrogateescape")


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


if __name__ == "__main__":
    unittest.main()

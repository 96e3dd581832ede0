"""Soak: 100,000 invokes of the bundled bootstrap through the local emulator with varying batch sizes,
some failing records and some malformed events. The bootstrap must never restart, every answer must be
exact, and its resident memory must stay flat after warm-up (a leak of a few dozen bytes per invoke
would show). The RSS curve is printed.

Most invokes carry 1 to 8 records so that the run takes a few minutes on 2 cores; every 100th carries
100 records and every 1,000th 1,000 records. Skipped under the sanitizer build (too slow there; leaks are ASan's job in that pass).
"""

import json
import os
import sys
import time
import unittest

import lrtest

INVOKES = int(os.environ.get("LR_SOAK_INVOKES", "100000"))
WARMUP = INVOKES // 10
SAMPLE_EVERY = max(1, INVOKES // 50)
RSS_GROWTH_LIMIT_KB = 1536  # after warm-up; a leak of 18 bytes per invoke would exceed it
SIZES = (1, 2, 1, 4, 1, 8, 1, 3)  # cycled; larger batches every MEDIUM_EVERY / BIG_EVERY invokes
MEDIUM_EVERY = 100
BIG_EVERY = 1000
MALFORMED_EVERY = 997


def seq(n):
    return "%021d" % (6000000000000000000000 + n)


def record(n):
    keys = {"pk": {"S": "soak#%d" % (n % 97)}, "sk": {"N": str(n)}}
    image = dict(keys)
    image.update({"v": {"S": "x" * (n % 300)}, "b": {"B": "AAECAwQ="}, "m": {"M": {"n": {"N": "1.5"}}},
                  "l": {"L": [{"BOOL": n % 2 == 0}, {"NULL": True}]}, "ss": {"SS": ["a", "b"]}})
    ddb = {"ApproximateCreationDateTime": 1767225600, "Keys": keys, "NewImage": image,
           "OldImage": image, "SequenceNumber": seq(n), "SizeBytes": 200,
           "StreamViewType": "NEW_AND_OLD_IMAGES"}
    return {"eventID": "s%d" % n, "eventName": "MODIFY", "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "dynamodb": ddb,
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/Soak/stream/2026-01-01T00:00:00.000"}


def build_payloads():
    """(payload, expected body or None for an error) per batch size; record 7 of each batch fails."""
    out = {}
    for size in set(SIZES) | {100, 1000}:
        recs = [record(i) for i in range(size)]
        failed = [seq(7)] if size > 7 else []
        body = json.dumps({"batchItemFailures": [{"itemIdentifier": s} for s in failed]},
                          separators=(",", ":")).encode()
        out[size] = (json.dumps({"Records": recs}).encode(), body)
    out["malformed"] = (b'{"Records":[{"dynamodb":', None)
    return out


def children(pid):
    found = []
    for task in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/children" % (pid, task)) as f:
            found += [int(p) for p in f.read().split()]
    return found


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


@unittest.skipIf(lrtest.sanitizers(), "too slow under ASan+UBSan; leaks are checked by ASan there")
class TestSoak(unittest.TestCase):

    def test_rss_stays_flat_over_100k_invokes(self):
        payloads = build_payloads()
        env = {"LR_BATCH_MODE": "continue", "LR_TEST_FAIL_SEQUENCE_NUMBERS": seq(7),
               "LR_LOG_RECORDS": "keys", "AWS_LAMBDA_LOG_FORMAT": "JSON"}
        curve = []
        started = time.monotonic()
        with lrtest.Emulator(env=env) as emu:
            inv = lrtest.KeepAliveInvoker(emu.invoke_address)
            inv.invoke(payloads[1][0])
            (pid,) = children(emu.proc.pid)
            for i in range(INVOKES):
                if i % MALFORMED_EVERY == MALFORMED_EVERY - 1:
                    key = "malformed"
                elif i % BIG_EVERY == BIG_EVERY - 1:
                    key = 1000
                elif i % MEDIUM_EVERY == MEDIUM_EVERY - 1:
                    key = 100
                else:
                    key = SIZES[i % len(SIZES)]
                payload, want = payloads[key]
                status, ferr, body = inv.invoke(payload)
                if want is None:
                    self.assertEqual((status, ferr is not None), (200, True), (i, body))
                else:
                    self.assertEqual((status, ferr, body), (200, None, want), (i, key))
                if (i + 1) % SAMPLE_EVERY == 0:
                    curve.append((i + 1, rss_kb(pid), round(time.monotonic() - started, 1)))
            self.assertEqual(children(emu.proc.pid), [pid], "the bootstrap was restarted")
            inv.close()
        elapsed = time.monotonic() - started
        print("\nsoak: %d invokes in %.1f s (%.0f/s); bootstrap VmRSS curve (invokes, kB, s):"
              % (INVOKES, elapsed, INVOKES / elapsed), file=sys.stderr)
        for point in curve:
            print("  %7d %7d kB %7.1f s" % point, file=sys.stderr)
        after = [kb for n, kb, _ in curve if n > WARMUP]
        growth = max(after) - after[0]
        print("soak: RSS after warm-up %d..%d kB, growth %d kB (limit %d)"
              % (min(after), max(after), growth, RSS_GROWTH_LIMIT_KB), file=sys.stderr)
        self.assertLessEqual(growth, RSS_GROWTH_LIMIT_KB, curve)


if __name__ == "__main__":
    unittest.main()

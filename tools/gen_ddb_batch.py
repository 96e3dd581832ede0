#!/usr/bin/env python3
"""Deterministic generator of large DynamoDB Streams batches (the event Lambda sends).

Writes one compact {"Records":[...]} document: --records N records, or fewer when the next record
would push the document past --max-bytes (Lambda's 6 MB payload cap by default). Every record
carries all ten attribute types (S N B SS NS BS M L NULL BOOL) in its images, the images follow
--view and the event name (INSERT: new only, MODIFY: both, REMOVE: old only), sequence numbers are
21+ digit strings that increase by one, and every 7th REMOVE is a TTL delete. --record-bytes pads
each record (with an S attribute) to exactly that many bytes, e.g. 1100 for ~1.1 KB records (a
record already within 16 bytes of it, or longer, stays as it is).
The same arguments always give the same bytes (seeded PRNG, no clock).

Examples:
  tools/gen_ddb_batch.py --records 10000 --max-bytes 6291456 > batch.json
  tools/gen_ddb_batch.py --records 5000 --record-bytes 1100 --out batch-1k.json
"""
import argparse
import base64
import json
import random
import sys

VIEWS = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")
NAMES = ("INSERT", "MODIFY", "REMOVE")
ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/Items/stream/2026-01-01T00:00:00.000"


def image(rng, i, version):
    """An item with all ten attribute types (NULL and BOOL also nested in M and L). Short names
    keep a MODIFY with both images under 1.1 KB, so --record-bytes 1100 pads every record."""
    blob = bytes(rng.randrange(256) for _ in range(6))
    return {
        "pk": {"S": "item-%d" % i},
        "ver": {"N": str(version)},
        "blob": {"B": base64.b64encode(blob).decode()},
        "tags": {"SS": ["t%d" % rng.randrange(100), "u%d" % rng.randrange(100)]},
        "nums": {"NS": [str(rng.randrange(1, 50)), "%d.%02d" % (rng.randrange(10000), rng.randrange(100))]},
        "bins": {"BS": [base64.b64encode(b"\x00\x01").decode(), base64.b64encode(blob[:4]).decode()]},
        "meta": {"M": {"o": {"S": "u%d" % rng.randrange(1000)}, "g": {"NULL": True},
                       "f": {"BOOL": bool(rng.randrange(2))}}},
        "hist": {"L": [{"N": str(version - 1)}, {"S": "caf\u00e9"}, {"BOOL": False}]},
        "gone": {"NULL": True},
        "on": {"BOOL": True},
    }


def record(rng, i, args):
    name = NAMES[i % 3]
    ttl = name == "REMOVE" and (i // 3) % 7 == 0
    stream = {
        "ApproximateCreationDateTime": args.start_time + i,
        "Keys": {"pk": {"S": "item-%d" % i}},
    }
    if args.view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") and name != "REMOVE":
        stream["NewImage"] = image(rng, i, 2)
    if args.view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") and name != "INSERT":
        stream["OldImage"] = image(rng, i, 1)
    stream["SequenceNumber"] = str(args.first_sequence + i)
    stream["SizeBytes"] = 0  # filled in below
    stream["StreamViewType"] = args.view
    rec = {"eventID": "%032x" % rng.getrandbits(128), "eventName": name, "eventVersion": "1.1",
           "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1", "dynamodb": stream,
           "eventSourceARN": ARN}
    if ttl:
        rec["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    stream["SizeBytes"] = len(compact(stream.get("NewImage", stream["Keys"])))
    return rec


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def padded(rec, target):
    """The record's text padded to exactly target bytes with an S attribute, or unpadded if it
    is already at least that long (or has no image to carry the padding)."""
    text = compact(rec)
    stream = rec["dynamodb"]
    img = stream.get("NewImage") or stream.get("OldImage")
    if target is None or img is None:
        return text
    img["pad"] = {"S": ""}
    room = target - len(compact(rec).encode())
    if room < 0:
        del img["pad"]
        return text
    img["pad"]["S"] = "x" * room
    return compact(rec)


def generate(args, out):
    rng = random.Random(args.seed)
    head, tail = b'{"Records":[', b"]}"
    size = len(head) + len(tail)
    out.write(head)
    count = 0
    for i in range(args.records):
        body = padded(record(rng, i, args), args.record_bytes).encode()
        extra = len(body) + (1 if count else 0)
        if args.max_bytes and size + extra > args.max_bytes:
            break
        if count:
            out.write(b",")
        out.write(body)
        size += extra
        count += 1
    out.write(tail)
    return count, size


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--records", type=int, default=100, help="records wanted (default 100)")
    p.add_argument("--max-bytes", type=int, default=6 * 1024 * 1024,
                   help="cap on the whole document in bytes, 0 for none (default 6 MiB)")
    p.add_argument("--record-bytes", type=int, default=None,
                   help="pad every record with images to exactly this many bytes (e.g. 1100)")
    p.add_argument("--view", choices=VIEWS, default="NEW_AND_OLD_IMAGES")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--first-sequence", type=int, default=400000000000000000000,
                   help="sequence number of the first record (default a 21-digit number)")
    p.add_argument("--start-time", type=int, default=1700000000,
                   help="ApproximateCreationDateTime of the first record, +1 s per record")
    p.add_argument("--out", help="output file (default stdout)")
    args = p.parse_args()
    if args.records < 0 or args.max_bytes < 0 or args.first_sequence < 0:
        p.error("counts and sizes must not be negative")
    try:
        if args.out:
            with open(args.out, "wb") as f:
                count, size = generate(args, f)
        else:
            count, size = generate(args, sys.stdout.buffer)
    except BrokenPipeError:  # e.g. piped into head
        sys.exit(1)
    print("gen_ddb_batch: %d records, %d bytes" % (count, size), file=sys.stderr)


if __name__ == "__main__":
    main()

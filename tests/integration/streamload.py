#!/usr/bin/env python3
"""A reproducible random workload for a table with a stream: puts, updates and deletes over a few dozen
keys, written one call at a time (so the stream holds them in exactly this order), with the table's
expected final state computed alongside. The replication tests write it to a source table, let the
changes flow (stream -> tools/replay -> bootstrap -> sink) and compare the target with `expected`.

    load = streamload.write(client, "source", seed=7, operations=3000, keys=40)
    assert streamload.scan_state(client, "source") == load.expected   # the source itself agrees
    ...                                                                  # replicate, then
    assert streamload.scan_state(client, "replica") == load.expected

`client` is a boto3 DynamoDB client (low-level: items in DynamoDB JSON, B as bytes). The table's
partition key is `key_name` (S; default "id", the templates' table). Items carry every attribute type
(S with non-ASCII text, N up to 38 digits, B, BOOL, NULL, SS, NS, BS, nested M and L), numbers
already in DynamoDB's canonical form so that what is read back compares equal. Updates are
UpdateItem with SET and REMOVE on a key that may or may not exist (then they create the item);
deletes may name a missing key (no change, no stream record).

The workload depends on the seed and the arguments only: plan() makes it without a table, and
digest() is a checksum of it. `write(..., changes=N)` goes on until N changes are written instead of
stopping after `operations` calls.

`changes` counts the writes that change the table as DynamoDB Streams sees them: every put and
update, and each delete of an existing item. `moto_records` is the length of the stream moto writes
for the workload: moto records an update of a missing key twice (an INSERT of the bare key, then an
INSERT of the whole item: `update_item` in moto/dynamodb/models/__init__.py puts the key first), and
it records every put and update, also one that leaves the item as it was (DynamoDB writes no stream
record for those; random values make them practically absent here). Either way the stream, applied
in order, leads to `expected` (fold()).

Also a program, to fill a table by hand (moto or a real table; the credentials and region as for the
AWS CLI):

    tests/integration/streamload.py --endpoint-url http://127.0.0.1:5000 --table source --create \
        --seed 7 --changes 1000
    tests/integration/streamload.py --seed 7 --changes 1000 --plan-only    # the digest, no table

It prints one summary (--json: one JSON object): operations per kind, changes, stream records moto
writes, items at the end, and the workload's digest.
"""

import argparse
import base64
import hashlib
import json
import random
import sys

KINDS = ("put", "update", "delete")


class Load:
    """What write() did: expected ({key: item}, sets sorted as state() sorts them), operations
    ({kind: count}), changes and moto_records (see the module's text)."""

    def __init__(self):
        self.expected = {}
        self.operations = {k: 0 for k in KINDS}
        self.changes = 0
        self.moto_records = 0


def number(rng):
    """A DynamoDB number in canonical form (no leading or trailing zeros, no '+', no exponent)."""
    kind = rng.randrange(4)
    if kind == 0:
        return str(rng.randint(-1000, 1000))
    if kind == 1:  # 38 significant digits: past a double's precision
        return str(rng.randint(10 ** 37, 10 ** 38 - 1) * rng.choice((1, -1)))
    if kind == 2:
        whole, frac = rng.randint(0, 99999), rng.randint(1, 999999)
        text = ("%d.%06d" % (whole, frac)).rstrip("0")
        return text if rng.random() < 0.5 else "-" + text
    return "0.%s%d" % ("0" * rng.randint(0, 20), rng.randint(1, 9))


def text(rng):
    alphabet = "abcxyz \u00e9\u00df\u4e2d\U0001f600\"\\/\n\t"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24)))


def value(rng, depth=0):
    """A random AttributeValue (boto3 low-level form)."""
    kinds = ["S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS"] + (["M", "L"] if depth < 3 else [])
    kind = rng.choice(kinds)
    if kind == "S":
        return {"S": text(rng)}
    if kind == "N":
        return {"N": number(rng)}
    if kind == "B":
        return {"B": bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))}
    if kind == "BOOL":
        return {"BOOL": rng.random() < 0.5}
    if kind == "NULL":
        return {"NULL": True}
    if kind == "SS":
        return {"SS": sorted({text(rng) for _ in range(rng.randint(1, 4))})}
    if kind == "NS":
        return {"NS": sorted({number(rng) for _ in range(rng.randint(1, 4))})}
    if kind == "BS":
        return {"BS": sorted({bytes([rng.randrange(256), rng.randrange(256)]) for _ in range(rng.randint(1, 4))})}
    if kind == "M":
        return {"M": {"m%d" % i: value(rng, depth + 1) for i in range(rng.randint(0, 3))}}
    return {"L": [value(rng, depth + 1) for _ in range(rng.randint(0, 3))]}


ATTRIBUTES = ["a%d" % i for i in range(8)]


def item(rng, key_name, key):
    out = {key_name: {"S": key}}
    for name in rng.sample(ATTRIBUTES, rng.randint(0, len(ATTRIBUTES))):
        out[name] = value(rng)
    return out


def plan(seed=0, operations=2000, keys=30, key_name="id", mix=(0.45, 0.35, 0.20), changes=None):
    """The workload of this seed, without writing it: a list of (kind, key, detail), where detail is the
    item of a put, (sets, removes) of an update and None for a delete. Nothing but the seed and the
    arguments decides it (random.Random(seed); sets are sorted before they are chosen from). With
    changes=N the list goes on past `operations` until it holds N changes (see the module's text)."""
    rng = random.Random(seed)
    names = ["k%03d" % i for i in range(keys)]
    present, out, made = set(), [], 0
    while (len(out) < operations) if changes is None else (made < changes):
        kind = rng.choices(KINDS, weights=mix)[0]
        key = rng.choice(names)
        if kind == "put":
            out.append((kind, key, item(rng, key_name, key)))
            present.add(key)
            made += 1
        elif kind == "update":
            sets = {n: value(rng) for n in rng.sample(ATTRIBUTES, rng.randint(1, 3))}
            removes = [n for n in rng.sample(ATTRIBUTES, rng.randint(0, 2)) if n not in sets]
            out.append((kind, key, (sets, removes)))
            present.add(key)
            made += 1
        else:
            out.append((kind, key, None))
            if key in present:
                present.discard(key)
                made += 1
    return out


def write(client, table, seed=0, operations=2000, keys=30, key_name="id", mix=(0.45, 0.35, 0.20),
          changes=None, progress=None):
    """Writes the workload of this seed (plan()) to table, one call at a time; returns a Load with the
    expected final state. progress, if given, is called with the number of operations written so far
    every 500 operations."""
    load = Load()
    expected = {}
    for done, (kind, key, detail) in enumerate(plan(seed, operations, keys, key_name, mix, changes), 1):
        load.operations[kind] += 1
        if kind == "put":
            client.put_item(TableName=table, Item=detail)
            expected[key] = detail
            load.changes += 1
            load.moto_records += 1
        elif kind == "update":
            sets, removes = detail
            expr = "SET " + ", ".join("#%s = :%s" % (n, n) for n in sets)
            if removes:
                expr += " REMOVE " + ", ".join("#%s" % n for n in removes)
            client.update_item(TableName=table, Key={key_name: {"S": key}}, UpdateExpression=expr,
                               ExpressionAttributeNames={"#" + n: n for n in list(sets) + removes},
                               ExpressionAttributeValues={":" + n: v for n, v in sets.items()})
            load.moto_records += 1 if key in expected else 2
            current = dict(expected.get(key, {key_name: {"S": key}}))
            current.update(sets)
            for n in removes:
                current.pop(n, None)
            expected[key] = current
            load.changes += 1
        else:
            client.delete_item(TableName=table, Key={key_name: {"S": key}})
            if expected.pop(key, None) is not None:
                load.changes += 1
                load.moto_records += 1
        if progress and done % 500 == 0:
            progress(done)
    load.expected = state(expected.values(), key_name)
    return load


def normalised(v):
    """An AttributeValue with its sets sorted (DynamoDB keeps no order in a set)."""
    (kind, inner), = v.items()
    if kind in ("SS", "NS", "BS"):
        return {kind: sorted(inner)}
    if kind == "M":
        return {"M": {k: normalised(x) for k, x in inner.items()}}
    if kind == "L":
        return {"L": [normalised(x) for x in inner]}
    return v


def state(items, key_name="id"):
    """{key: item} of a list of items, sets sorted."""
    return {i[key_name]["S"]: {k: normalised(v) for k, v in i.items()} for i in items}


def scan_state(client, table, key_name="id"):
    """The table's items as {key: item} (consistent read, every page), sets sorted."""
    items, kw = [], {"TableName": table, "ConsistentRead": True}
    while True:
        page = client.scan(**kw)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return state(items, key_name)
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def fold(records, key_name="id"):
    """The final state a list of stream records (GetRecords or Lambda event form, in order) leads to:
    INSERT and MODIFY put the NewImage, REMOVE deletes. Items as in the records."""
    out = {}
    for r in records:
        ddb = r["dynamodb"]
        key = ddb["Keys"][key_name]["S"]
        if r["eventName"] == "REMOVE":
            out.pop(key, None)
        else:
            out[key] = ddb["NewImage"]
    return out


def digest(operations):
    """SHA-256 (hex) of a plan() list in a canonical JSON form: equal plans, equal digests."""
    def plain(x):
        if isinstance(x, bytes):
            return {"$b": base64.b64encode(x).decode("ascii")}
        if isinstance(x, dict):
            return {k: plain(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [plain(v) for v in x]
        return x
    text = json.dumps(plain(operations), sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def create_table(client, table, key_name="id", stream=True):
    """An on-demand table with partition key key_name (S) and, with stream, a NEW_AND_OLD_IMAGES
    stream, once active; returns its stream ARN (None without a stream)."""
    kw = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}} if stream else {}
    client.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": key_name, "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": key_name, "AttributeType": "S"}], **kw)
    client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return client.describe_table(TableName=table)["Table"].get("LatestStreamArn")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--table", help="the table to write (required unless --plan-only)")
    p.add_argument("--endpoint-url", help="AWS endpoint (e.g. moto_server); default: real AWS")
    p.add_argument("--region", help="AWS region (default: as the AWS CLI finds it)")
    p.add_argument("--create", action="store_true",
                   help="create the table first (on demand, NEW_AND_OLD_IMAGES stream)")
    p.add_argument("--seed", type=int, default=0, help="the workload's seed (default 0)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--operations", type=int, default=2000, help="calls to make (default 2000)")
    size.add_argument("--changes", type=int, help="go on until this many changes are written")
    p.add_argument("--keys", type=int, default=30, help="distinct keys (default 30)")
    p.add_argument("--key-name", default="id", help="the partition key's name (S; default id)")
    p.add_argument("--plan-only", action="store_true", help="write nothing: print the workload's summary")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    args = p.parse_args(argv)
    if not args.plan_only and not args.table:
        p.error("--table is required (or --plan-only)")
    if args.keys < 1 or args.operations < 0 or (args.changes is not None and args.changes < 0):
        p.error("--keys must be >= 1, --operations and --changes >= 0")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    ops = plan(args.seed, args.operations, args.keys, args.key_name, changes=args.changes)
    summary = {"seed": args.seed, "digest": digest(ops), "operations": len(ops),
               "perKind": {k: sum(1 for o in ops if o[0] == k) for k in KINDS}}
    if not args.plan_only:
        try:
            import boto3  # here, so that --help and --plan-only work without it
        except ImportError:
            print("streamload: needs boto3 (Debian: apt install python3-boto3)", file=sys.stderr)
            return 2
        kw = {"endpoint_url": args.endpoint_url} if args.endpoint_url else {}
        client = boto3.session.Session(region_name=args.region).client("dynamodb", **kw)
        try:
            if args.create:
                create_table(client, args.table, args.key_name)
            load = write(client, args.table, args.seed, args.operations, args.keys, args.key_name,
                         changes=args.changes)
        except Exception as e:  # one line instead of a traceback for AWS and connection errors
            if type(e).__module__.startswith(("botocore", "boto3")) or isinstance(e, OSError):
                print("streamload: %s" % e, file=sys.stderr)
                return 2
            raise
        summary.update(table=args.table, changes=load.changes, motoRecords=load.moto_records,
                       items=len(load.expected))
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        print("seed %d: %d operations (%s), digest %s" % (
            args.seed, summary["operations"],
            ", ".join("%d %ss" % (summary["perKind"][k], k) for k in KINDS), summary["digest"]))
        if not args.plan_only:
            print("%s: %d changes, %d stream records on moto, %d items at the end" % (
                args.table, summary["changes"], summary["motoRecords"], summary["items"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

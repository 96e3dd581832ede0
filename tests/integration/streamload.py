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

`changes` counts the writes that change the table as DynamoDB Streams sees them: every put and
update, and each delete of an existing item. `moto_records` is the length of the stream moto writes
for the workload: moto records an update of a missing key twice (an INSERT of the bare key, then an
INSERT of the whole item: `update_item` in moto/dynamodb/models/__init__.py puts the key first), and
like AWS it records every put and update, also one that leaves the item as it was. Either way the
stream, applied in order, leads to `expected` (fold()).
"""

import random

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


def write(client, table, seed=0, operations=2000, keys=30, key_name="id", mix=(0.45, 0.35, 0.20)):
    """Writes the workload of this seed to table; returns a Load with the expected final state."""
    rng = random.Random(seed)
    load = Load()
    names = ["k%03d" % i for i in range(keys)]
    for _ in range(operations):
        kind = rng.choices(KINDS, weights=mix)[0]
        key = rng.choice(names)
        load.operations[kind] += 1
        if kind == "put":
            new = item(rng, key_name, key)
            client.put_item(TableName=table, Item=new)
            load.expected[key] = new
            load.changes += 1
            load.moto_records += 1
        elif kind == "update":
            sets = {n: value(rng) for n in rng.sample(ATTRIBUTES, rng.randint(1, 3))}
            removes = [n for n in rng.sample(ATTRIBUTES, rng.randint(0, 2)) if n not in sets]
            expr = "SET " + ", ".join("#%s = :%s" % (n, n) for n in sets)
            if removes:
                expr += " REMOVE " + ", ".join("#%s" % n for n in removes)
            client.update_item(TableName=table, Key={key_name: {"S": key}}, UpdateExpression=expr,
                               ExpressionAttributeNames={"#" + n: n for n in list(sets) + removes},
                               ExpressionAttributeValues={":" + n: v for n, v in sets.items()})
            load.moto_records += 1 if key in load.expected else 2
            current = dict(load.expected.get(key, {key_name: {"S": key}}))
            current.update(sets)
            for n in removes:
                current.pop(n, None)
            load.expected[key] = current
            load.changes += 1
        else:
            client.delete_item(TableName=table, Key={key_name: {"S": key}})
            if load.expected.pop(key, None) is not None:
                load.changes += 1
                load.moto_records += 1
    load.expected = state(load.expected.values(), key_name)
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

#!/usr/bin/env python3
"""A Lambda function that replicates a DynamoDB stream into another table, written the obvious way in
Python with boto3: the comparison point of bench/sink_bench.py for the bundled bootstrap's
LR_SINK=dynamodb. It is its own bootstrap (a custom runtime), so the emulator runs it as it runs the C one:
the Runtime API loop over urllib, one boto3 client created at start-up (as Python functions do at module
level), and for each batch:

- INSERT and MODIFY put the record's NewImage, REMOVE deletes the item by its Keys;
- writes go out with batch_write_item, 25 keys per request; a key changed again before its request is
  sent replaces its earlier write in that request (BatchWriteItem refuses two writes of one key), which
  is the same grouping as the C sink's;
- UnprocessedItems are sent again after a short exponential back-off until none are left;
- the answer is {"batchItemFailures": []}; an exception is posted to /error (Lambda retries the batch).

Settings are those of the bundled bootstrap: LR_SINK_TARGET (table name), AWS_REGION, the credentials,
AWS_ENDPOINT_URL_DYNAMODB (boto3 reads it too). The event's binary values (B, BS) are base64 text and are
decoded for boto3, which encodes them again.
"""

import json
import os
import sys
import time

if __name__ == "__main__" and sys.argv[1:] in (["-h"], ["--help"]):
    print("usage: py_replicator.py (a Lambda bootstrap, started by the emulator; see bench/sink_bench.py)\n")
    print(__doc__.strip())
    sys.exit(0)

import boto3  # noqa: E402 (after --help, which needs no boto3)
from py_lambda import from_event, run  # noqa: E402 (beside this file)

TABLE = os.environ["LR_SINK_TARGET"]
ddb = boto3.client("dynamodb")  # once, at init


def image(attrs):
    return {k: from_event(v) for k, v in attrs.items()}


def send(writes):
    """One batch_write_item of up to 25 writes, then the UnprocessedItems until none are left."""
    items = {TABLE: writes}
    attempt = 0
    while items:
        unprocessed = ddb.batch_write_item(RequestItems=items).get("UnprocessedItems") or {}
        items = {t: w for t, w in unprocessed.items() if w}
        if items:
            attempt += 1
            time.sleep(min(2.0, 0.05 * 2 ** attempt))


def handle(event):
    pending = {}  # key -> write of the request being filled; a later change of a key replaces it
    for rec in event["Records"]:
        d = rec["dynamodb"]
        key = json.dumps(d["Keys"], sort_keys=True)
        if rec["eventName"] == "REMOVE":
            write = {"DeleteRequest": {"Key": image(d["Keys"])}}
        else:
            write = {"PutRequest": {"Item": image(d["NewImage"])}}
        if key not in pending and len(pending) == 25:
            send(list(pending.values()))
            pending = {}
        pending[key] = write
    if pending:
        send(list(pending.values()))
    return {"batchItemFailures": []}


if __name__ == "__main__":
    sys.exit(run(handle))

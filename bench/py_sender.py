#!/usr/bin/env python3
"""A Lambda function that sends every change of a DynamoDB stream as one message to a queue, a topic or an
event bus, written the obvious way in Python with boto3: the comparison point of bench/sink_bench.py for
the bundled bootstrap's LR_SINK=sqs|sns|eventbridge. Like bench/py_replicator.py it is its own bootstrap
(a custom runtime: the Runtime API loop over urllib, one boto3 client made at start-up, as Python
functions make it at module level), so the emulator runs it as it runs the C one. For each batch:

- each record becomes the message the C sink sends (LR_SINK_FORMAT=plain, LR_SINK_NUMBERS=number):
  {"eventName", "eventID", "sequenceNumber", "approximateCreationDateTime" (RFC 3339 UTC), "table" (the
  name in eventSourceARN), "keys", "newImage", "oldImage"}, members the record lacks left out, keys and
  images turned into plain values by boto3's TypeDeserializer and written with json.dumps: a Decimal
  as a JSON number (an int when it is integral, else a float: exact for every number that fits a
  double's 15-17 digits, which the C sink does not need, as it copies the digits), a set as a list,
  binary as base64;
- SQS and SNS messages carry the attributes eventName, sequenceNumber and table (String); an
  EventBridge event has Source LR_EVENT_SOURCE (default "lambda-ddb"), DetailType the eventName,
  Detail the message and EventBusName LR_SINK_TARGET;
- messages go out 10 per call (send_message_batch, publish_batch, put_events), fewer when 10 would
  pass 256 KiB;
- the entries a call reports as failed are sent again after a short exponential back-off, up to 8
  rounds; then the invoke fails (posted to /error: Lambda retries the batch);
- the answer is {"batchItemFailures": []}.

Settings: LR_SINK (sqs, sns or eventbridge), LR_SINK_TARGET (queue URL, topic ARN, bus name),
LR_EVENT_SOURCE, AWS_REGION, the credentials, and the endpoints AWS_ENDPOINT_URL_SQS /
AWS_ENDPOINT_URL_SNS / AWS_ENDPOINT_URL_EVENTBRIDGE, which boto3 reads as the C sink does. Not covered:
FIFO queues and topics (the benchmark uses standard ones).
"""

import base64
import datetime
import decimal
import json
import os
import sys
import time

if __name__ == "__main__" and sys.argv[1:] in (["-h"], ["--help"]):
    print("usage: py_sender.py (a Lambda bootstrap, started by the emulator; see bench/sink_bench.py)\n")
    print(__doc__.strip())
    sys.exit(0)

import boto3  # noqa: E402 (after --help, which needs no boto3)
from py_lambda import from_event, run  # noqa: E402 (beside this file)
from boto3.dynamodb.types import Binary, TypeDeserializer  # noqa: E402

SINK = os.environ["LR_SINK"]
TARGET = os.environ["LR_SINK_TARGET"]
SOURCE = os.environ.get("LR_EVENT_SOURCE") or "lambda-ddb"
MAX_ENTRIES = 10
MAX_CALL_BYTES = 256 * 1024
ROUNDS = 8
client = boto3.client({"sqs": "sqs", "sns": "sns", "eventbridge": "events"}[SINK])  # once, at init
deserializer = TypeDeserializer()


def plain(image):
    return {k: deserializer.deserialize(from_event(v)) for k, v in image.items()}


def to_json(o):
    """json.dumps' default= for what TypeDeserializer returns beyond JSON's types."""
    if isinstance(o, decimal.Decimal):
        return int(o) if o == o.to_integral_value() else float(o)
    if isinstance(o, (set, frozenset)):
        return list(o)
    if isinstance(o, Binary):
        return base64.b64encode(o.value).decode("ascii")
    raise TypeError("not JSON serializable: %r" % type(o))


def rfc3339(seconds):
    t = datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)
    frac = (".%06d" % t.microsecond).rstrip("0") if t.microsecond else ""
    return t.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"


def table_name(arn):
    """The table's name in an eventSourceARN (arn:...:table/NAME/stream/LABEL), or None."""
    _, sep, rest = (arn or "").partition(":table/")
    return rest.split("/", 1)[0] if sep else None


def message(rec):
    """(body, attributes) of one record."""
    d = rec.get("dynamodb", {})
    doc = {"eventName": rec.get("eventName"), "eventID": rec.get("eventID"),
           "sequenceNumber": d.get("SequenceNumber")}
    if d.get("ApproximateCreationDateTime") is not None:
        doc["approximateCreationDateTime"] = rfc3339(d["ApproximateCreationDateTime"])
    doc["table"] = table_name(rec.get("eventSourceARN"))
    for member, name in (("keys", "Keys"), ("newImage", "NewImage"), ("oldImage", "OldImage")):
        if name in d:
            doc[member] = plain(d[name])
    doc = {k: v for k, v in doc.items() if v is not None}
    attributes = {k: doc[k] for k in ("eventName", "sequenceNumber", "table") if doc.get(k)}
    return json.dumps(doc, default=to_json, separators=(",", ":")), attributes


def entry(i, body, attributes):
    if SINK == "eventbridge":
        return {"Source": SOURCE, "DetailType": attributes.get("eventName", "UNKNOWN"), "Detail": body,
                "EventBusName": TARGET}
    attrs = {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()}
    key = "MessageBody" if SINK == "sqs" else "Message"
    return {"Id": str(i), key: body, "MessageAttributes": attrs}


def call(entries):
    """One call; returns the entries that failed."""
    if SINK == "sqs":
        failed = {f["Id"] for f in client.send_message_batch(QueueUrl=TARGET, Entries=entries).get("Failed", [])}
        return [e for e in entries if e["Id"] in failed]
    if SINK == "sns":
        failed = {f["Id"] for f in client.publish_batch(TopicArn=TARGET,
                                                        PublishBatchRequestEntries=entries).get("Failed", [])}
        return [e for e in entries if e["Id"] in failed]
    out = client.put_events(Entries=entries)
    if not out.get("FailedEntryCount"):
        return []
    return [e for e, r in zip(entries, out["Entries"]) if r.get("ErrorCode")]


def send(entries):
    """One call of up to 10 entries, then its failed entries again until none are left."""
    for attempt in range(ROUNDS):
        entries = call(entries)
        if not entries:
            return
        time.sleep(min(2.0, 0.05 * 2 ** attempt))
    raise RuntimeError("%d messages not delivered after %d calls" % (len(entries), ROUNDS))


def handle(event):
    pending, size = [], 0
    for rec in event["Records"]:
        body, attributes = message(rec)
        n = len(body) + sum(len(k) + len(v) + 6 for k, v in attributes.items())
        if pending and (len(pending) == MAX_ENTRIES or size + n > MAX_CALL_BYTES):
            send(pending)
            pending, size = [], 0
        pending.append(entry(len(pending), body, attributes))
        size += n
    if pending:
        send(pending)
    return {"batchItemFailures": []}


if __name__ == "__main__":
    sys.exit(run(handle))

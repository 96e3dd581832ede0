#!/usr/bin/env python3
"""Replays a DynamoDB table's stream into a Lambda function the way the event source mapping does.

Reads the stream (DescribeStream, GetShardIterator, GetRecords; shard by shard, parents before
children, records in order), groups records into batches (--batch-size, at most 6 MB of event),
and POSTs each batch as a DynamoDB Streams event to an Invoke API: the project's local emulator
(lambda-emu, started here with --bootstrap), the Docker image's emulator, or any --invoke-url.
Responses are honoured like the mapping with ReportBatchItemFailures: {"batchItemFailures": [...]}
re-delivers from the lowest failed sequence number (the checkpoint); a function error
(X-Amz-Function-Error: an error the function posted, a crash such as a bootstrap killed with
kill -9 (Runtime.ExitError), a timeout) or an unusable identifier re-delivers the whole batch. With
--bisect-on-error a function error splits the batch in two halves instead, each delivered (and split
again) on its own, as BisectBatchOnFunctionError does; a split is not a retry. After --max-retries
re-deliveries the records are discarded and reported, as the mapping reports to its on-failure
destination. Every delivery and split is printed (--json: one JSON object per line).

    tools/replay/replay.py --table NAME --bootstrap build/handler/bootstrap --starting-position TRIM_HORIZON
    tools/replay/replay.py --stream-arn ARN --invoke-url http://localhost:9000/2015-03-31/functions/function/invocations
    tools/replay/replay.py --table NAME --endpoint-url http://127.0.0.1:5000 ...   (moto)
    tools/replay/replay.py --stream-arn ARN --bisect-on-error --max-retries 2 --bootstrap ...

Redrive (--redrive-queue QUEUE_URL): the batches the mapping discarded, from its on-failure
destination queue. Each message there is an invocation record whose DDBStreamBatchInfo names the
batch (shardId, startSequenceNumber, endSequenceNumber, streamArn; not the records). The queue is
read with ReceiveMessage (--visibility-timeout, no long polling) until it is empty; each message is
validated (one that is not a DDBStreamBatchInfo document is reported and left in the queue), its
records are read again (GetShardIterator AT_SEQUENCE_NUMBER startSequenceNumber, GetRecords up to
endSequenceNumber, compared as numbers) and delivered as above (batches, checkpoints, retries,
--bisect-on-error). The message is deleted only once all its records were delivered: a batch
discarded again, a range no longer in the stream (trimmed after 24 hours, or missing) or a stream
that cannot be read keeps it, visible again after the visibility timeout. With --write-events DIR
nothing is delivered or deleted: each batch is written to DIR/event-SHARD-START.json, the event the
function would get. One line per message (--json: one JSON object), then a summary.

    tools/replay/replay.py --redrive-queue URL --bootstrap build/handler/bootstrap
    tools/replay/replay.py --redrive-queue URL --write-events events/ --endpoint-url http://127.0.0.1:5000

Tumbling windows (--tumbling-window SECONDS, 1-900; the mapping's TumblingWindowInSeconds): each
shard's records are grouped by window, aligned on the clock: start = floor(ApproximateCreationDateTime
/ W) * W (a record stamped before the open window's start stays in it). A batch never spans two
windows. Each invoke gets {"Records", "window": {"start", "end"} (RFC 3339 UTC), "state", "shardId",
"eventSourceARN", "isFinalInvokeForWindow", "isWindowTerminatedEarly"}, and must answer {"state":
{...}, "batchItemFailures": [...]}. The rules replay follows:
  - state: {} on the first invoke of a window, then the state of the window's last successful invoke.
    A failed invoke (a function error, a response without "state" or whose "state" is not an
    object, a partial failure) changes nothing: its state is dropped and the batch is delivered
    again, whole (not from the checkpoint), with the state it had the first time, so the records
    before the checkpoint are delivered twice but counted once in the state. With
    --bisect-on-error an error (also a missing state) splits the batch; each half gets the state in
    force when it is delivered. After --max-retries the batch is discarded whole: the state does
    not hold any of its records.
  - final invoke: a window is over when a record of a later window arrives, or the shard ends (closed,
    or caught up after --idle-polls with the window's end past on the clock: until then an open
    shard is read on, as the window can still get records). Replay then sends a separate invoke with
    "Records": [], the window's state and isFinalInvokeForWindow true, once per window, after its
    last batch: the function sees the complete state, and retrying a failed final invoke (up to
    --max-retries, then the window is reported failed) delivers no record again.
  - a state over 1 MB ends the window early: the final invoke follows at once, with
    isWindowTerminatedEarly true; the window's later records go to a new instance of it, state {}.
A line per window (--json: windowSummary: start, end, shard, invokes, records, recordDeliveries,
recordsCounted, discarded, final, finalState, terminatedEarly) follows its final invoke. With
--write-events DIR nothing is invoked: each invoke's event is written to DIR/event-SHARD-wSTART-NNNN.json
(state {} throughout: without a function there is no state to carry).

    tools/replay/replay.py --table NAME --tumbling-window 60 --bootstrap build/handler/bootstrap
    tools/replay/replay.py --table NAME --tumbling-window 60 --write-events events/

Exit status: 0 every record delivered (redrive: every message redriven and deleted, or with
--write-events written); 1 some batch discarded (redrive: some message kept; windows: also a final
invoke that kept failing); 2 usage or setup error. Needs boto3 (credentials and region as for the
AWS CLI).
"""

import argparse
import base64
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

MAX_EVENT_BYTES = 6 * 1024 * 1024  # Lambda's synchronous payload limit, which bounds a batch
INVOKE_PATH = "/2015-03-31/functions/function/invocations"


# -- stream records in the Lambda event format ------------------------------------------------

def wire_value(value):
    """An AttributeValue as boto3 returns it, back in DynamoDB JSON (binary as base64 text)."""
    if isinstance(value, dict):
        return {k: wire_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [wire_value(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def epoch_seconds(value):
    if isinstance(value, datetime.datetime):
        return float(int(value.timestamp()))  # the stream rounds down to the second
    return value


def lambda_record(rec, stream_arn):
    """A GetRecords record as the event source mapping hands it to the function."""
    ddb = {k: wire_value(v) for k, v in rec["dynamodb"].items()}
    if "ApproximateCreationDateTime" in ddb:
        ddb["ApproximateCreationDateTime"] = epoch_seconds(rec["dynamodb"]["ApproximateCreationDateTime"])
    out = {k: rec[k] for k in ("eventID", "eventName", "eventVersion", "eventSource", "awsRegion")
           if k in rec}
    out["dynamodb"] = ddb
    out["eventSourceARN"] = stream_arn
    if rec.get("userIdentity"):
        out["userIdentity"] = {"type": rec["userIdentity"].get("Type"),
                               "principalId": rec["userIdentity"].get("PrincipalId")}
    return out


def seq_key(seq):
    """Sequence numbers are decimal strings of up to 40 digits: order by length, then text."""
    return (len(seq), seq)


def seq_int(seq):
    """A sequence number as an integer, for numeric comparison; None unless 1-40 decimal digits."""
    if isinstance(seq, str) and 1 <= len(seq) <= 40 and seq.isascii() and seq.isdigit():
        return int(seq)
    return None


def sequence_number(record):
    return record["dynamodb"]["SequenceNumber"]


def describe(record):
    keys = record["dynamodb"].get("Keys", {})
    shown = ",".join("%s=%s" % (k, next(iter(v.values()))) for k, v in sorted(keys.items()))
    return "%s %s %s" % (sequence_number(record), record.get("eventName", "?"), shown)


# -- reading the stream -----------------------------------------------------------------------

class StreamReader:
    """Reads one stream like the mapping: every shard in parent-first order, records in order."""

    def __init__(self, streams, stream_arn, starting_position, batch_size, idle_polls, poll_interval_s):
        self.streams = streams
        self.stream_arn = stream_arn
        self.starting_position = starting_position
        self.batch_size = batch_size
        self.idle_polls = idle_polls
        self.poll_interval_s = poll_interval_s

    def shards(self):
        shards, start = [], None
        while True:
            kw = {"StreamArn": self.stream_arn}
            if start:
                kw["ExclusiveStartShardId"] = start
            desc = self.streams.describe_stream(**kw)["StreamDescription"]
            shards += desc.get("Shards", [])
            start = desc.get("LastEvaluatedShardId")
            if not start:
                return parent_first(shards)

    def records(self, shard, hold=None):
        """Yields lists of records of one shard (a DescribeStream entry). A closed shard is read to
        its end, however many reads come back empty on the way (GetRecords may need several to
        reach records); an open one until --idle-polls reads were empty. While hold() is true an
        open shard that is caught up is read on (a tumbling window that has not ended yet can still
        get records)."""
        shard_id = shard["ShardId"]
        closed = "EndingSequenceNumber" in shard.get("SequenceNumberRange", {})
        it = self.streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard_id,
                                             ShardIteratorType=self.starting_position)["ShardIterator"]
        idle = 0
        more = lambda: closed or idle < self.idle_polls or (hold is not None and hold())
        while it and more():
            page = self.streams.get_records(ShardIterator=it, Limit=min(self.batch_size, 1000))
            it = page.get("NextShardIterator")
            if page["Records"]:
                idle = 0
                yield page["Records"]
            else:
                idle += 1
                if it and more():
                    time.sleep(self.poll_interval_s)


def parent_first(shards):
    known = {s["ShardId"] for s in shards}
    done, ordered = set(), []
    pending = list(shards)
    while pending:
        ready = [s for s in pending if s.get("ParentShardId") not in known or s["ParentShardId"] in done]
        ready = ready or pending[:1]  # a malformed parent cycle: keep the listing order
        for s in ready:
            ordered.append(s)
            done.add(s["ShardId"])
            pending.remove(s)
    return ordered


# -- invoking ---------------------------------------------------------------------------------

def invoke(url, event, timeout_s):
    """POSTs the event; returns (function_error or None, body bytes). A function error is whatever
    fails the invoke as a whole: X-Amz-Function-Error (the function's /error, and a crash or timeout,
    which the emulator reports as Runtime.ExitError or Sandbox.Timedout), an HTTP error, no answer
    within timeout_s."""
    req = urllib.request.Request(url, data=json.dumps(event).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            return resp.headers.get("X-Amz-Function-Error"), resp.read()
    except urllib.error.HTTPError as e:
        return "HTTP %d" % e.code, e.read()
    except TimeoutError:
        return "timeout after %gs" % timeout_s, b""  # counts as a failed invoke, like a function timeout
    except urllib.error.URLError as e:
        if isinstance(e.reason, TimeoutError):
            return "timeout after %gs" % timeout_s, b""
        # Nobody listening is a setup problem, not a failed batch: stop instead of discarding records.
        raise RuntimeError("cannot reach %s: %s" % (url, e.reason)) from None


def error_type(body):
    """The errorType of a function error's document, or None."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    return doc.get("errorType") if isinstance(doc, dict) else None


def halves(batch):
    """The two halves a split makes (the first one takes the odd record)."""
    mid = (len(batch) + 1) // 2
    return batch[:mid], batch[mid:]


def checkpoint(function_error, body, batch):
    """(index in batch from which to re-deliver or None, result) for one response.

    Follows the documented partial-batch rules: an empty or null list (or an empty/null response)
    is success ("ok"); a function error, an unparsable response, or an empty, null or unknown
    itemIdentifier fails the whole batch ("error"); otherwise the lowest reported sequence number
    is the checkpoint ("partial")."""
    if function_error:
        return 0, "error"
    try:
        resp = json.loads(body) if body.strip() else None
    except ValueError:
        return 0, "error"
    if resp is None:
        return None, "ok"
    if not isinstance(resp, dict):
        return 0, "error"
    failures = resp.get("batchItemFailures")
    if not failures:
        return None, "ok"
    if not isinstance(failures, list):  # 5, true, {"x":1}: not an answer Lambda can read
        return 0, "error"
    index = {sequence_number(r): i for i, r in enumerate(batch)}
    ids = [f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures]
    if any(not isinstance(i, str) or i not in index for i in ids):
        return 0, "error"
    return index[min(ids, key=seq_key)], "partial"


# -- the delivery loop ------------------------------------------------------------------------

class Replayer:
    def __init__(self, args, url, out):
        self.args = args
        self.url = url
        self.out = out
        self.deliveries = 0
        self.delivered_ok = 0
        self.discarded = []

    def emit(self, obj, text):
        self.out.write((json.dumps(obj, sort_keys=True) if self.args.json else text) + "\n")
        self.out.flush()

    def batches(self, pending):
        """Cuts the next batch from pending: at most batch_size records and MAX_EVENT_BYTES."""
        batch, size = [], len('{"Records":[]}')
        for rec in pending:
            rec_size = len(json.dumps(rec)) + 1
            if batch and (len(batch) >= self.args.batch_size or size + rec_size > MAX_EVENT_BYTES):
                break
            batch.append(rec)
            size += rec_size
        return batch

    def deliver(self, shard_id, batch, attempt):
        """Invokes with the batch; returns (checkpoint index or None, function error or None)."""
        self.deliveries += 1
        error, body = invoke(self.url, {"Records": batch}, self.args.invoke_timeout)
        at, result = checkpoint(error, body, batch)
        kind = error_type(body) if error else None
        seqs = [sequence_number(r) for r in batch]
        self.emit({"delivery": self.deliveries, "shard": shard_id, "attempt": attempt,
                   "sequenceNumbers": seqs, "result": result, "functionError": error,
                   "errorType": kind, "checkpoint": None if at is None else seqs[at],
                   "response": body.decode("utf-8", "replace")[:1000]},
                  "delivery %d shard %s attempt %d: %d record(s) [%s] -> %s%s" % (
                      self.deliveries, shard_id, attempt, len(batch),
                      "; ".join(describe(r) for r in batch), result,
                      "" if at is None else " (from %s%s)" % (
                          seqs[at], ", function error: %s%s" % (error, " " + kind if kind else "")
                          if error else "")))
        return at, error

    def discard(self, shard_id, records, attempt):
        self.discarded += [sequence_number(r) for r in records]
        self.emit({"discarded": [sequence_number(r) for r in records], "shard": shard_id,
                   "condition": "RetryAttemptsExhausted"},
                  "discarded %d record(s) from %s after %d retries (RetryAttemptsExhausted)" % (
                      len(records), sequence_number(records[0]), attempt))

    def split(self, shard_id, records, attempt):
        """Emits the split of records after a function error; returns the two halves to deliver,
        each with the attempt count of the batch that failed (a split is not a retry)."""
        a, b = halves(records)
        self.emit({"split": [sequence_number(r) for r in records], "shard": shard_id, "attempt": attempt,
                   "into": [[sequence_number(r) for r in a], [sequence_number(r) for r in b]]},
                  "split %d record(s) from %s after a function error: %d + %d (not a retry)" % (
                      len(records), sequence_number(records[0]), len(a), len(b)))
        return [(a, attempt), (b, attempt)]

    def settle(self, shard_id, batch):
        """Delivers batch until each of its records is delivered or discarded. A partial failure
        re-delivers the failed records from the checkpoint and no others (a retry), so a record is
        discarded only after it was retried; with --bisect-on-error, a batch whose invoke failed is
        split (down to one record) and its halves are delivered in order (a split is not a retry),
        and one record that keeps failing is retried like a batch."""
        work = [(batch, 0)]
        while work:
            records, attempt = work.pop(0)
            at, error = self.deliver(shard_id, records, attempt)
            if at is None:
                self.delivered_ok += len(records)
                continue
            if error and self.args.bisect_on_error and len(records) > 1:
                work[0:0] = self.split(shard_id, records, attempt)
                continue
            self.delivered_ok += at
            if attempt >= self.args.max_retries:
                self.discard(shard_id, records[at:], attempt)
                continue
            work.insert(0, (records[at:], attempt + 1))

    def run_shard(self, shard_id, pages):
        pending = []
        for page in pages:
            pending += [lambda_record(r, self.args.stream_arn) for r in page]
            while len(pending) >= self.args.batch_size:
                pending = self.step(shard_id, pending)
        while pending:
            pending = self.step(shard_id, pending)

    def step(self, shard_id, pending):
        """Delivers one batch from the head of pending (see settle()); returns the rest of pending."""
        batch = self.batches(pending)
        self.settle(shard_id, batch)
        return pending[len(batch):]

    def deliver_all(self, shard_id, records):
        """Delivers records (in the event format) in batches from the first one, as run_shard does;
        returns True when none of them was discarded."""
        before = len(self.discarded)
        pending = list(records)
        while pending:
            pending = self.step(shard_id, pending)
        return len(self.discarded) == before

    def summary(self):
        self.emit({"summary": {"deliveries": self.deliveries, "recordsDelivered": self.delivered_ok,
                               "discarded": self.discarded}},
                  "done: %d deliveries, %d record(s) delivered, %d discarded" % (
                      self.deliveries, self.delivered_ok, len(self.discarded)))


# -- tumbling windows (--tumbling-window) ------------------------------------------------------

WINDOW_STATE_LIMIT = 1024 * 1024  # the state Lambda keeps per shard; a larger one ends the window early
SHOWN_STATE_BYTES = 4096          # a state printed in a --json line; a larger one is shown by its size


def rfc3339(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def state_bytes(state):
    return len(json.dumps(state, separators=(",", ":")).encode())


def shown_state(state):
    """A state for an output line: itself when small, else a note of its size."""
    if state is None:
        return None
    size = state_bytes(state)
    return state if size <= SHOWN_STATE_BYTES else "(%d bytes, not shown)" % size


def window_response(function_error, body, batch):
    """(result, state, checkpoint index or None, reason) for the response to a window invoke.

    "ok": a JSON object whose "state" is an object and without batch item failures; "partial": the
    same with valid batchItemFailures (the index of the lowest one); "error": a function error, a
    response that is not such an object, a missing or non-object "state" (Lambda counts a response
    without state as a failed invoke), or an empty, null or unknown itemIdentifier."""
    if function_error:
        return "error", None, 0, "function error"
    try:
        resp = json.loads(body) if body.strip() else None
    except ValueError:
        return "error", None, 0, "the response is not JSON"
    if not isinstance(resp, dict):
        return "error", None, 0, "the response is not a JSON object with a state"
    state = resp.get("state")
    if not isinstance(state, dict):
        return "error", None, 0, ("the response has no state" if state is None
                                  else "the response's state is not an object")
    at, result = checkpoint(None, json.dumps({"batchItemFailures": resp.get("batchItemFailures")}).encode(),
                            batch)
    if result == "error":
        return "error", state, 0, "an empty, null or unknown itemIdentifier"
    return result, state, at, None


class Window:
    """One tumbling window of one shard: [start, end) on the clock, the state the function returned
    last, and what was done in it. A window ended early (its state grew over 1 MB) is followed by a
    fresh instance with the same start and end."""

    def __init__(self, shard_id, start, seconds):
        self.shard_id = shard_id
        self.start = start
        self.end = start + seconds
        self.state = {}
        self.invokes = 0
        self.seen = {}               # sequence numbers handed to an invoke of this window, in order
        self.record_deliveries = 0   # records sent, counting every re-delivery
        self.counted = 0             # records of the invokes whose state was kept
        self.discarded = []
        self.terminated_early = False
        self.final = None            # "ok", "failed" or "written"
        self.final_state = None

    def span(self):
        return {"start": rfc3339(self.start), "end": rfc3339(self.end)}


class WindowReplayer(Replayer):
    """Delivers a shard in tumbling windows of --tumbling-window seconds, as the event source mapping
    with TumblingWindowInSeconds does (the rules are in the module documentation)."""

    def __init__(self, args, url, out):
        super().__init__(args, url, out)
        self.seconds = args.tumbling_window
        self.window = None
        self.windows = 0
        self.final_failed = []
        self.written = 0

    def holding(self):
        """True while the open window has not ended on the clock (plus one poll interval, so that the
        shard is read once more after its end): its records may still be coming."""
        return self.window is not None and time.time() < self.window.end + self.args.poll_interval

    def window_start(self, record):
        """floor(ApproximateCreationDateTime / W) * W; never before the open window (a record
        stamped earlier than the one before it stays in the open window)."""
        ts = record["dynamodb"].get("ApproximateCreationDateTime")
        if not isinstance(ts, (int, float)) or isinstance(ts, bool):
            ts = self.window.start if self.window else time.time()
        start = int(ts // self.seconds) * self.seconds
        return max(start, self.window.start) if self.window else start

    def event(self, records, final):
        w = self.window
        return {"Records": records, "window": w.span(), "state": w.state, "shardId": w.shard_id,
                "eventSourceARN": self.args.stream_arn, "isFinalInvokeForWindow": final,
                "isWindowTerminatedEarly": final and w.terminated_early}

    def batches(self, pending):
        """Cuts the next batch of the open window: at most batch_size records, and the whole event
        (with the window, the state and the other members) at most MAX_EVENT_BYTES."""
        batch, size = [], len(json.dumps(self.event([], False)))
        for rec in pending:
            rec_size = len(json.dumps(rec)) + 1
            if batch and (len(batch) >= self.args.batch_size or size + rec_size > MAX_EVENT_BYTES):
                break
            batch.append(rec)
            size += rec_size
        return batch

    def run_shard(self, shard_id, pages):
        pending = []
        for page in pages:
            for raw in page:
                rec = lambda_record(raw, self.args.stream_arn)
                start = self.window_start(rec)
                if self.window is None or start > self.window.start:
                    if self.window:
                        self.close(pending)
                        pending = []
                    self.window = Window(shard_id, start, self.seconds)
                pending.append(rec)
            while len(pending) >= self.args.batch_size:
                pending = self.step(pending)
        if self.window:
            self.close(pending)
        self.window = None

    def step(self, pending):
        batch = self.batches(pending)
        self.deliver_batch(batch)
        return pending[len(batch):]

    def close(self, pending):
        """The window is over (a record of a later window came, or the shard ended): its remaining
        records, then the final invoke."""
        while pending:
            pending = self.step(pending)
        if self.window.invokes:  # not an instance begun after an early end that got no records
            self.finish()

    def deliver_batch(self, batch):
        """Delivers one batch of the open window until it succeeded or was discarded. A failed invoke
        (function error, no state, partial failure) does not change the window's state: the batch is
        delivered again, whole, with the state it had before (or split with --bisect-on-error after
        an error; a split is not a retry)."""
        shard_id = self.window.shard_id
        work = [(batch, 0)]
        while work:
            records, attempt = work.pop(0)
            if self.args.write_events:
                self.write(records, False)
                continue
            result, state = self.invoke_window(records, attempt, False)
            if result == "ok":
                self.window.state = state
                self.window.counted += len(records)
                self.delivered_ok += len(records)
                if state_bytes(state) > WINDOW_STATE_LIMIT:
                    self.end_early()
                continue
            if result == "error" and self.args.bisect_on_error and len(records) > 1:
                work[0:0] = self.split(shard_id, records, attempt)
                continue
            if attempt >= self.args.max_retries:
                self.discard(shard_id, records, attempt)
                self.window.discarded += [sequence_number(r) for r in records]
                continue
            work.insert(0, (records, attempt + 1))

    def end_early(self):
        """The state is over 1 MB: the window ends here (final invoke with isWindowTerminatedEarly);
        its later records go to a fresh instance of the same window, starting from {}."""
        w = self.window
        w.terminated_early = True
        self.finish()
        self.window = Window(w.shard_id, w.start, self.seconds)

    def finish(self):
        """The final invoke of the open window: no records, isFinalInvokeForWindow, the window's
        state; retried like a batch until it succeeds or --max-retries is used up."""
        w = self.window
        if self.args.write_events:
            self.write([], True)
            w.final = "written"
        else:
            attempt = 0
            while True:
                result, state = self.invoke_window([], attempt, True)
                if result == "ok":
                    w.final, w.final_state = "ok", state
                    break
                if attempt >= self.args.max_retries:
                    w.final = "failed"
                    self.final_failed.append(dict(w.span(), shard=w.shard_id))
                    break
                attempt += 1
        self.windows += 1
        line = dict(w.span(), shard=w.shard_id, invokes=w.invokes, records=len(w.seen),
                    recordDeliveries=w.record_deliveries, recordsCounted=w.counted, discarded=w.discarded,
                    final=w.final, finalState=shown_state(w.final_state), terminatedEarly=w.terminated_early)
        if self.args.write_events:
            line["eventsWritten"] = w.invokes
        self.emit({"windowSummary": line},
                  "window %s..%s shard %s: %d record(s), %d invoke(s), %d record deliveries, %d discarded, "
                  "final %s%s%s" % (line["start"], line["end"], w.shard_id, len(w.seen), w.invokes,
                                    w.record_deliveries, len(w.discarded), w.final,
                                    ", ended early (state over 1 MB)" if w.terminated_early else "",
                                    "" if w.final_state is None else
                                    ", state %s" % json.dumps(w.final_state, sort_keys=True)[:300]))

    def track(self, records):
        w = self.window
        w.invokes += 1
        w.record_deliveries += len(records)
        for r in records:
            w.seen[sequence_number(r)] = None

    def invoke_window(self, records, attempt, final):
        """One invoke of the open window; prints it; returns (result, state returned)."""
        w = self.window
        self.track(records)
        self.deliveries += 1
        sent = w.state
        error, body = invoke(self.url, self.event(records, final), self.args.invoke_timeout)
        result, state, at, reason = window_response(error, body, records)
        kind = error_type(body) if error else None
        seqs = [sequence_number(r) for r in records]
        self.emit({"delivery": self.deliveries, "shard": w.shard_id, "attempt": attempt,
                   "sequenceNumbers": seqs, "result": result, "functionError": error,
                   "errorType": kind, "checkpoint": None if at is None else seqs[at] if seqs else None,
                   "response": body.decode("utf-8", "replace")[:1000], "window": w.span(),
                   "final": final, "terminatedEarly": final and w.terminated_early,
                   "stateIn": shown_state(sent), "stateOut": shown_state(state),
                   "stateKept": result == "ok", "reason": reason},
                  "delivery %d shard %s window %s attempt %d: %s -> %s%s" % (
                      self.deliveries, w.shard_id, w.span()["start"], attempt,
                      "final invoke" if final else "%d record(s) [%s]" % (
                          len(records), "; ".join(describe(r) for r in records)),
                      result, "" if reason is None else " (%s%s)" % (
                          reason, ": %s%s" % (error, " " + kind if kind else "") if error else "")))
        return result, state

    def write(self, records, final):
        """--write-events: the invoke's event to DIR/event-SHARD-wSTART-NNNN.json (NNNN counts the
        window's invokes from 1). Without a function there is no state to carry: every event has the
        state a window starts with, {}."""
        w = self.window
        self.track(records)
        self.written += 1
        path = os.path.join(self.args.write_events, "event-%s-w%d-%04d.json" % (w.shard_id, w.start, w.invokes))
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.event(records, final), f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
        seqs = [sequence_number(r) for r in records]
        self.emit({"written": path, "shard": w.shard_id, "window": w.span(), "final": final,
                   "sequenceNumbers": seqs},
                  "wrote %s: %s" % (path, "final invoke" if final else "%d record(s)" % len(records)))

    def summary(self):
        line = {"deliveries": self.deliveries, "recordsDelivered": self.delivered_ok,
                "discarded": self.discarded, "windows": self.windows, "finalFailed": self.final_failed}
        if self.args.write_events:
            line["eventsWritten"] = self.written
        self.emit({"summary": line},
                  "done: %d deliveries, %d record(s) delivered, %d discarded; %d window(s), %d final "
                  "invoke(s) failed%s" % (self.deliveries, self.delivered_ok, len(self.discarded), self.windows,
                                          len(self.final_failed), ", %d event file(s) written" % self.written
                                          if self.args.write_events else ""))


# -- redrive from the on-failure destination ---------------------------------------------------

SHARD_ID = re.compile(r"[A-Za-z0-9_.-]{1,65}")
STREAM_ARN = re.compile(r"arn:[a-z0-9-]+:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]{1,255}/stream/[^/\s]+")


def batch_info(body):
    """(DDBStreamBatchInfo, condition, None) for an on-failure destination message body, or
    (None, None, why it is not one). An SNS notification (a topic delivering to the queue without raw
    message delivery) is unwrapped first."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None, None, "not JSON"
    if isinstance(doc, dict) and doc.get("Type") == "Notification" and isinstance(doc.get("Message"), str):
        try:
            doc = json.loads(doc["Message"])
        except ValueError:
            return None, None, "an SNS notification whose Message is not JSON"
    if not isinstance(doc, dict) or not isinstance(doc.get("DDBStreamBatchInfo"), dict):
        return None, None, "no DDBStreamBatchInfo object"
    info = doc["DDBStreamBatchInfo"]
    if not isinstance(info.get("shardId"), str) or not SHARD_ID.fullmatch(info["shardId"]):
        return None, None, "DDBStreamBatchInfo.shardId is missing or not a shard id"
    for key in ("startSequenceNumber", "endSequenceNumber"):
        if seq_int(info.get(key)) is None:
            return None, None, "DDBStreamBatchInfo.%s is missing or not 1-40 decimal digits" % key
    if seq_int(info["startSequenceNumber"]) > seq_int(info["endSequenceNumber"]):
        return None, None, "DDBStreamBatchInfo.startSequenceNumber is after endSequenceNumber"
    if not isinstance(info.get("streamArn"), str) or not STREAM_ARN.fullmatch(info["streamArn"]):
        return None, None, "DDBStreamBatchInfo.streamArn is missing or not a DynamoDB stream ARN"
    size = info.get("batchSize")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 1):
        return None, None, "DDBStreamBatchInfo.batchSize is not a positive integer"
    context = doc.get("requestContext")
    condition = context.get("condition") if isinstance(context, dict) else None
    return info, condition if isinstance(condition, str) else None, None


class RangeUnavailable(Exception):
    """The stream no longer holds the records of a range (result: "trimmed"), or cannot be read
    ("unreadable")."""

    def __init__(self, result, reason):
        super().__init__(reason)
        self.result = result


def range_records(streams, info, idle_polls, poll_interval_s):
    """The GetRecords records startSequenceNumber..endSequenceNumber of info's shard, in order.
    Raises RangeUnavailable unless the stream still holds both ends of the range."""
    from botocore.exceptions import ClientError
    start, end = seq_int(info["startSequenceNumber"]), seq_int(info["endSequenceNumber"])
    out = []
    try:
        it = streams.get_shard_iterator(StreamArn=info["streamArn"], ShardId=info["shardId"],
                                        ShardIteratorType="AT_SEQUENCE_NUMBER",
                                        SequenceNumber=info["startSequenceNumber"])["ShardIterator"]
        idle = 0
        while it and idle < idle_polls:
            page = streams.get_records(ShardIterator=it, Limit=1000)
            it = page.get("NextShardIterator")
            if not page.get("Records"):
                idle += 1
                if it and idle < idle_polls:
                    time.sleep(poll_interval_s)
                continue
            idle = 0
            for rec in page["Records"]:
                n = seq_int(rec["dynamodb"].get("SequenceNumber"))
                if n is None or n < start:
                    continue
                if n > end:
                    it = None
                    break
                out.append(rec)
                if n == end:
                    it = None
                    break
    except ClientError as e:
        err = e.response.get("Error", {})
        code = err.get("Code", "")
        result = "trimmed" if code in ("TrimmedDataAccessException", "ResourceNotFoundException") else "unreadable"
        raise RangeUnavailable(result, "%s: %s" % (code, err.get("Message", ""))) from None
    if not out or sequence_number_of(out[0]) != start:
        raise RangeUnavailable("trimmed", "the stream no longer holds %s (%s)" % (
            info["startSequenceNumber"],
            "its next record there is %s" % out[0]["dynamodb"]["SequenceNumber"] if out else "no record there"))
    if sequence_number_of(out[-1]) != end:
        raise RangeUnavailable("trimmed", "the stream does not hold %s (the range ends at %s there)" % (
            info["endSequenceNumber"], out[-1]["dynamodb"]["SequenceNumber"]))
    return out


def sequence_number_of(rec):
    return seq_int(rec["dynamodb"].get("SequenceNumber"))


def write_event(directory, info, records):
    """Writes the event of one batch to DIR/event-SHARD-START.json (atomically); returns its path."""
    path = os.path.join(directory, "event-%s-%s.json" % (info["shardId"], info["startSequenceNumber"]))
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"Records": records}, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
    return path


class Redriver:
    """Reads the on-failure destination queue one message at a time and redrives each batch."""

    def __init__(self, args, sqs, streams, replayer):
        self.args = args
        self.sqs = sqs
        self.streams = streams
        self.replayer = replayer
        self.results = {}
        self.messages = 0
        self.deleted = 0

    def run(self):
        seen, idle = set(), 0
        while idle < self.args.idle_polls:
            # Long polling: a short poll asks only some of the queue's servers, and two empty ones
            # would end the run with messages still in the queue.
            resp = self.sqs.receive_message(QueueUrl=self.args.redrive_queue, MaxNumberOfMessages=1,
                                            VisibilityTimeout=self.args.visibility_timeout,
                                            WaitTimeSeconds=1)
            # A message seen before is one kept earlier whose visibility timeout ran out: not again.
            fresh = [m for m in resp.get("Messages", []) if m["MessageId"] not in seen]
            if not fresh:
                idle += 1
                if idle < self.args.idle_polls:
                    time.sleep(self.args.poll_interval)
                continue
            idle = 0
            for message in fresh:
                seen.add(message["MessageId"])
                self.handle(message)
        self.summary()
        done = self.results.get("written", 0) if self.args.write_events else self.deleted
        return 0 if done == self.messages else 1

    def handle(self, message):
        self.messages += 1
        line = {"message": message["MessageId"], "deleted": False}
        info, condition, why = batch_info(message.get("Body", ""))
        if why:
            return self.report(line, "invalid", why)
        line.update(shard=info["shardId"], startSequenceNumber=info["startSequenceNumber"],
                    endSequenceNumber=info["endSequenceNumber"], batchSize=info.get("batchSize"),
                    condition=condition, streamArn=info["streamArn"])
        try:
            raw = range_records(self.streams, info, self.args.idle_polls, self.args.poll_interval)
        except RangeUnavailable as e:
            return self.report(line, e.result, str(e))
        records = [lambda_record(r, info["streamArn"]) for r in raw]
        line["records"] = len(records)
        if self.args.write_events:
            line["file"] = write_event(self.args.write_events, info, records)
            return self.report(line, "written", None)
        if not self.replayer.deliver_all(info["shardId"], records):
            return self.report(line, "failed", "discarded again after %d retries" % self.args.max_retries)
        from botocore.exceptions import ClientError
        try:
            self.sqs.delete_message(QueueUrl=self.args.redrive_queue, ReceiptHandle=message["ReceiptHandle"])
        except ClientError as e:
            err = e.response.get("Error", {})
            return self.report(line, "redriven", "not deleted: %s: %s" % (err.get("Code"), err.get("Message")))
        line["deleted"] = True
        self.deleted += 1
        return self.report(line, "redriven", None)

    def report(self, line, result, reason):
        self.results[result] = self.results.get(result, 0) + 1
        line.update(result=result, reason=reason)
        text = "message %s" % line["message"]
        if "shard" in line:
            text += " %s %s..%s" % (line["shard"], line["startSequenceNumber"], line["endSequenceNumber"])
            if "records" in line:
                text += " (%d record(s)%s)" % (line["records"], ", batchSize %s" % line["batchSize"]
                                               if line["batchSize"] not in (None, line["records"]) else "")
        text += ": %s" % result
        if reason:
            text += " (%s)" % reason
        if "file" in line:
            text += " -> %s" % line["file"]
        text += ", deleted" if line["deleted"] else ", kept in the queue"
        self.replayer.emit(line, text)

    def summary(self):
        r = self.replayer
        kept = self.messages - self.deleted
        self.replayer.emit(
            {"summary": {"messages": self.messages, "deleted": self.deleted, "kept": kept,
                         "results": self.results, "deliveries": r.deliveries,
                         "recordsDelivered": r.delivered_ok, "discarded": r.discarded}},
            "done: %d message(s), %d deleted, %d kept (%s); %d deliveries, %d record(s) delivered, "
            "%d discarded" % (self.messages, self.deleted, kept,
                              ", ".join("%s %d" % kv for kv in sorted(self.results.items())) or "none",
                              r.deliveries, r.delivered_ok, len(r.discarded)))


# -- the local emulator -----------------------------------------------------------------------

def default_emulator():
    build = os.environ.get("LR_BUILD_DIR") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "build")
    path = os.path.join(build, "tools", "emulator", "lambda-emu")
    return path if os.access(path, os.X_OK) else shutil.which("lambda-emu")


class LocalEmulator:
    """lambda-emu with the bootstrap on ephemeral loopback ports; its output goes to log_file."""

    def __init__(self, emulator, bootstrap, env_pairs, log_file):
        self.cmd_prefix = [emulator, "--runtime-api-port", "0", "--invoke-port", "0"]
        self.bootstrap = bootstrap
        self.env = dict(os.environ)
        self.env.update(env_pairs)
        self.log_file = log_file
        self.proc = None

    def __enter__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="replay-")
        ports = os.path.join(self.tmp.name, "ports")
        self.proc = subprocess.Popen(self.cmd_prefix + ["--port-file", ports, "--", self.bootstrap],
                                     env=self.env, stdin=subprocess.DEVNULL, stdout=self.log_file,
                                     stderr=subprocess.STDOUT)
        limit = time.monotonic() + 15
        while time.monotonic() < limit and self.proc.poll() is None:
            if os.path.exists(ports):
                values = dict(line.strip().split("=", 1) for line in open(ports) if "=" in line)
                if "invoke" in values:
                    return "http://%s%s" % (values["invoke"], INVOKE_PATH)
            time.sleep(0.01)
        self.__exit__(None, None, None)
        raise RuntimeError("lambda-emu did not start (exit status %s)" % self.proc.returncode)

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.tmp.cleanup()
        return False


# -- command line -----------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--table", help="table name (its latest stream is replayed)")
    src.add_argument("--stream-arn", help="stream ARN")
    src.add_argument("--redrive-queue", metavar="QUEUE_URL",
                     help="redrive the batches named by the on-failure destination messages in this SQS "
                          "queue (DDBStreamBatchInfo)")
    p.add_argument("--endpoint-url", help="AWS endpoint (e.g. moto_server); default: real AWS")
    p.add_argument("--region", help="AWS region (default: as the AWS CLI finds it)")
    p.add_argument("--batch-size", type=int, default=100, help="records per batch, 1-10000 (default 100)")
    p.add_argument("--starting-position", choices=["TRIM_HORIZON", "LATEST"], default="TRIM_HORIZON",
                   help="where to start in each shard (default TRIM_HORIZON: everything retained)")
    p.add_argument("--max-retries", type=int, default=3,
                   help="re-deliveries of a failing batch before it is discarded (default 3); a split "
                        "by --bisect-on-error does not count")
    p.add_argument("--bisect-on-error", action="store_true",
                   help="on a function error, split the batch in two and deliver each half "
                        "(BisectBatchOnFunctionError)")
    p.add_argument("--idle-polls", type=int, default=2,
                   help="empty GetRecords reads after which an open shard counts as caught up")
    p.add_argument("--poll-interval", type=float, default=0.25, help="seconds between empty reads")
    p.add_argument("--invoke-timeout", type=float, default=900, help="seconds to wait for one invoke")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--invoke-url", help="an Invoke API URL (e.g. the Docker image on :9000)")
    target.add_argument("--bootstrap", help="start lambda-emu with this bootstrap and invoke it")
    target.add_argument("--write-events", metavar="DIR",
                        help="with --redrive-queue: write each batch to DIR/event-SHARD-START.json instead "
                             "of delivering it (the messages stay in the queue); with --tumbling-window: "
                             "write each window invoke to DIR/event-SHARD-wSTART-NNNN.json")
    p.add_argument("--tumbling-window", type=int, metavar="SECONDS",
                   help="deliver in tumbling windows of 1-900 seconds (TumblingWindowInSeconds): window "
                        "events with the state the function returned, a final invoke per window")
    p.add_argument("--visibility-timeout", type=int, default=300,
                   help="with --redrive-queue: seconds a received message stays hidden (default 300); a "
                        "kept message is visible again after it, so make it longer than the redrive")
    p.add_argument("--emulator", help="lambda-emu path (default: $LR_BUILD_DIR or build/, then PATH)")
    p.add_argument("--emulator-log", help="file for the emulator's and bootstrap's output (default stderr)")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                   help="environment for the bootstrap (repeatable), e.g. LR_LOG_RECORDS=keys")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object per delivery (and per message with --redrive-queue, per "
                        "window with --tumbling-window)")
    args = p.parse_args(argv)
    if not 1 <= args.batch_size <= 10000:
        p.error("--batch-size must be 1-10000")
    if args.max_retries < 0 or args.idle_polls < 1:
        p.error("--max-retries must be >= 0 and --idle-polls >= 1")
    if args.write_events and not (args.redrive_queue or args.tumbling_window is not None):
        p.error("--write-events needs --redrive-queue or --tumbling-window")
    if args.tumbling_window is not None:
        if not 1 <= args.tumbling_window <= 900:
            p.error("--tumbling-window must be 1-900 seconds")
        if args.redrive_queue:
            p.error("--tumbling-window does not go with --redrive-queue (a redriven batch has no window state)")
    if not 0 <= args.visibility_timeout <= 43200:
        p.error("--visibility-timeout must be 0-43200")
    for pair in args.env:
        if "=" not in pair:
            p.error("--env wants KEY=VALUE, got %r" % pair)
    return args


def clients(args, *services):
    try:
        import boto3  # imported here so that --help works without it
    except ImportError:
        raise RuntimeError("needs boto3 (Debian: apt install python3-boto3)") from None
    session = boto3.session.Session(region_name=args.region)
    kw = {"endpoint_url": args.endpoint_url} if args.endpoint_url else {}
    return [session.client(s, **kw) for s in services or ("dynamodb", "dynamodbstreams")]


def redrive(args, url):
    sqs, streams = clients(args, "sqs", "dynamodbstreams")
    if args.write_events:
        os.makedirs(args.write_events, exist_ok=True)
    return Redriver(args, sqs, streams, Replayer(args, url, sys.stdout)).run()


def run(args, url):
    if args.redrive_queue:
        return redrive(args, url)
    ddb, streams = clients(args)
    if args.table:
        desc = ddb.describe_table(TableName=args.table)["Table"]
        if not desc.get("LatestStreamArn"):
            raise RuntimeError("table %s has no stream" % args.table)
        args.stream_arn = desc["LatestStreamArn"]
    reader = StreamReader(streams, args.stream_arn, args.starting_position, args.batch_size,
                          args.idle_polls, args.poll_interval)
    if args.tumbling_window is None:
        replayer = Replayer(args, url, sys.stdout)
        for shard in reader.shards():
            replayer.run_shard(shard["ShardId"], reader.records(shard))
        replayer.summary()
        return 1 if replayer.discarded else 0
    if args.write_events:
        os.makedirs(args.write_events, exist_ok=True)
    replayer = WindowReplayer(args, url, sys.stdout)
    for shard in reader.shards():
        replayer.run_shard(shard["ShardId"], reader.records(shard, hold=replayer.holding))
    replayer.summary()
    return 1 if replayer.discarded or replayer.final_failed else 0


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.invoke_url or args.write_events:
            return run(args, args.invoke_url)
        emulator = args.emulator or default_emulator()
        if not emulator:
            raise RuntimeError("lambda-emu not found: build it (scripts/build) or pass --emulator")
        log = open(args.emulator_log, "ab") if args.emulator_log else sys.stderr
        with LocalEmulator(emulator, args.bootstrap, dict(p.split("=", 1) for p in args.env), log) as url:
            return run(args, url)
    except Exception as e:  # one line for the user instead of a traceback
        if type(e).__module__.startswith(("botocore", "boto3")) or isinstance(e, (RuntimeError, OSError)):
            print("replay: %s" % e, file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())

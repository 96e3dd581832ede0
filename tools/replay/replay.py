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

Exit status: 0 every record delivered; 1 some batch discarded; 2 usage or setup error.
Needs boto3 (credentials and region as for the AWS CLI).
"""

import argparse
import base64
import datetime
import json
import os
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

    def records(self, shard_id):
        """Yields lists of records of one shard until it is closed or --idle-polls reads were empty."""
        it = self.streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard_id,
                                             ShardIteratorType=self.starting_position)["ShardIterator"]
        idle = 0
        while it and idle < self.idle_polls:
            page = self.streams.get_records(ShardIterator=it, Limit=min(self.batch_size, 1000))
            it = page.get("NextShardIterator")
            if page["Records"]:
                idle = 0
                yield page["Records"]
            else:
                idle += 1
                if it and idle < self.idle_polls:
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

    def bisect(self, shard_id, batch, attempt):
        """BisectBatchOnFunctionError for a batch whose invoke failed: its halves are delivered in
        order, each until its records are delivered or discarded. A half that fails as a whole is
        split again (down to one record), a partial failure re-delivers the rest of the half from its
        checkpoint (a retry), and one record that keeps failing is retried like a batch."""
        work = self.split(shard_id, batch, attempt)
        while work:
            records, attempt = work.pop(0)
            at, error = self.deliver(shard_id, records, attempt)
            if at is None:
                self.delivered_ok += len(records)
                continue
            if error and len(records) > 1:
                work[0:0] = self.split(shard_id, records, attempt)
                continue
            self.delivered_ok += at
            if attempt >= self.args.max_retries:
                self.discard(shard_id, records[at:], attempt)
                continue
            work.insert(0, (records[at:], attempt + 1))

    def run_shard(self, shard_id, pages):
        pending, attempt = [], 0
        for page in pages:
            pending += [lambda_record(r, self.args.stream_arn) for r in page]
            while len(pending) >= self.args.batch_size:
                pending, attempt = self.step(shard_id, pending, attempt)
        while pending:
            pending, attempt = self.step(shard_id, pending, attempt)

    def step(self, shard_id, pending, attempt):
        """Delivers one batch from the head of pending; returns what is left and the next attempt."""
        batch = self.batches(pending)
        at, error = self.deliver(shard_id, batch, attempt)
        if at is None:
            self.delivered_ok += len(batch)
            return pending[len(batch):], 0
        if error and self.args.bisect_on_error and len(batch) > 1:
            self.bisect(shard_id, batch, attempt)
            return pending[len(batch):], 0
        self.delivered_ok += at
        if attempt >= self.args.max_retries:
            self.discard(shard_id, batch[at:], attempt)
            return pending[len(batch):], 0
        return pending[at:], attempt + 1

    def summary(self):
        self.emit({"summary": {"deliveries": self.deliveries, "recordsDelivered": self.delivered_ok,
                               "discarded": self.discarded}},
                  "done: %d deliveries, %d record(s) delivered, %d discarded" % (
                      self.deliveries, self.delivered_ok, len(self.discarded)))


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
    p.add_argument("--emulator", help="lambda-emu path (default: $LR_BUILD_DIR or build/, then PATH)")
    p.add_argument("--emulator-log", help="file for the emulator's and bootstrap's output (default stderr)")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                   help="environment for the bootstrap (repeatable), e.g. LR_LOG_RECORDS=keys")
    p.add_argument("--json", action="store_true", help="print one JSON object per delivery")
    args = p.parse_args(argv)
    if not 1 <= args.batch_size <= 10000:
        p.error("--batch-size must be 1-10000")
    if args.max_retries < 0 or args.idle_polls < 1:
        p.error("--max-retries must be >= 0 and --idle-polls >= 1")
    for pair in args.env:
        if "=" not in pair:
            p.error("--env wants KEY=VALUE, got %r" % pair)
    return args


def clients(args):
    try:
        import boto3  # imported here so that --help works without it
    except ImportError:
        raise RuntimeError("needs boto3 (Debian: apt install python3-boto3)") from None
    session = boto3.session.Session(region_name=args.region)
    kw = {"endpoint_url": args.endpoint_url} if args.endpoint_url else {}
    return session.client("dynamodb", **kw), session.client("dynamodbstreams", **kw)


def run(args, url):
    ddb, streams = clients(args)
    if args.table:
        desc = ddb.describe_table(TableName=args.table)["Table"]
        if not desc.get("LatestStreamArn"):
            raise RuntimeError("table %s has no stream" % args.table)
        args.stream_arn = desc["LatestStreamArn"]
    reader = StreamReader(streams, args.stream_arn, args.starting_position, args.batch_size,
                          args.idle_polls, args.poll_interval)
    replayer = Replayer(args, url, sys.stdout)
    for shard in reader.shards():
        replayer.run_shard(shard["ShardId"], reader.records(shard["ShardId"]))
    replayer.summary()
    return 1 if replayer.discarded else 0


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.invoke_url:
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

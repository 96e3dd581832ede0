#!/usr/bin/env python3
"""The bundled bootstrap's sinks against the same job in Python with boto3, on the same stream, in one
run: LR_SINK=dynamodb against bench/py_replicator.py (replicating a table), and LR_SINK=sqs, sns and
eventbridge against bench/py_sender.py (one message per record). A benchmark, not a test: it prints
figures and ratios, and checks only that every target received everything.

For each size N: moto_server gets a source table (stream NEW_AND_OLD_IMAGES, partition key "id" S) and
tests/integration/streamload.py's workload of N operations (puts, updates, deletes over --keys keys);
the stream is read once and cut into batches of 100 records. Then, for each sink and implementation: a
fresh target, a fresh lambda-emu with that bootstrap, every batch invoked in order. Between the function
and moto sits tests/integration/faultproxy.py at fault rate 0 (transparent), which counts the function's
requests by operation and notes when the first write (BatchWriteItem, SendMessageBatch, PublishBatch,
PutEvents) reaches it.

The targets and how delivery is checked:
- dynamodb: a table without a stream; scanned afterwards and compared item for item with the source;
- sqs: a standard queue;
- sns: a standard topic with one subscription, an SQS queue with RawMessageDelivery (the queue gets the
  published message and its attributes as they were published);
- eventbridge: a custom bus with no rule (moto keeps nothing of an event no rule takes); with
  --eventbridge-rule, a rule (source = "lambda-ddb") whose target is an SQS queue (each message is the
  event, the record in its "detail"). A rule costs moto eight jsonpath parser builds per event, a
  large fraction of a second here: for small runs (the smoke test).
Every write call goes through the proxy, which keeps a copy of it and of moto's answer: the entries
moto answered as successful are "accepted". A queue is received after each batch, outside the timed
part, and then purged (moto counts every message of a queue on each SendMessage, so a queue left to
grow would make its time quadratic): the messages are "received". A message sink passes when every
stream record was accepted, and received where there is a queue, exactly once (by sequenceNumber),
each with its attributes (SQS, SNS: eventName, sequenceNumber and table; EventBridge: source and
detail-type) matching the record, and the C and Python messages of each record are the same JSON
(numbers compared as decimals, lists as multisets: Python writes a set in its own order).

Figures per sink, implementation and N:
- CPU (user+sys) of the function process per 1,000 stream records, from /proc/<pid>/stat just before
  the emulator stops it: the whole life of the process, its start-up included; also split into the
  CPU used by the time it first asked for an event and the CPU per 1,000 records after that. utime and
  stime count in clock ticks (10 ms); the JSON also has the nanosecond total of /proc/<pid>/schedstat;
- records per second: stream records over the time spent in the invokes (request sent to answer
  received, summed over the batches; moto's time included: a figure of this machine and this
  emulator, not of the service);
- peak RSS: VmHWM of the process;
- cold start to first write: spawn to the first GET /next (the emulator's last_init_us), plus the first
  invoke (sent once the function waits for it) to the first write reaching the proxy: what a cold
  function with an event waiting takes to write its first item or message;
- requests to the service (all of them, the writes, and per 1,000 records);
- wall time of the replay: emulator start to the function's first GET /next, plus the time spent in
  the invokes (and the invokes alone, start-up left out); the harness's own work between batches
  (receiving and purging the queue) is not counted.
Ratios are C / Python.

    bench/sink_bench.py                          # every sink, sizes 1000 and 10000
    bench/sink_bench.py --quick                  # every sink, 200 operations only (the smoke test)
    bench/sink_bench.py --sink eventbridge --sizes 20 --eventbridge-rule
    bench/sink_bench.py --sink dynamodb,sns --sizes 500 --keys 60 --json out.json

Needs the build (LR_BUILD_DIR, default build/: build/handler/bootstrap, lambda-emu), moto_server and
boto3. Exit status: 0 when every target received everything, 1 when one did not, 2 on a setup error.
"""

import argparse
import decimal
import json
import os
import shutil
import stat
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))

BATCH = 100
SEED = 7
OK_BODY = {"batchItemFailures": []}
IMPLS = (("c", "bundled bootstrap (C)"), ("python", "Python + boto3"))
SINKS = ("dynamodb", "sqs", "sns", "eventbridge")
MESSAGE_SINKS = SINKS[1:]
# sink: (the Python function, the write operation, the service's name, its endpoint variable)
SINK_INFO = {
    "dynamodb": ("py_replicator.py", "BatchWriteItem", "DynamoDB", "AWS_ENDPOINT_URL_DYNAMODB"),
    "sqs": ("py_sender.py", "SendMessageBatch", "SQS", "AWS_ENDPOINT_URL_SQS"),
    "sns": ("py_sender.py", "PublishBatch", "SNS", "AWS_ENDPOINT_URL_SNS"),
    "eventbridge": ("py_sender.py", "PutEvents", "EventBridge", "AWS_ENDPOINT_URL_EVENTBRIDGE"),
}
EVENT_SOURCE = "lambda-ddb"  # the bootstrap's default LR_EVENT_SOURCE, and py_sender.py's
ACCOUNT = "123456789012"     # moto's default account


def machine():
    """bench/bench.py's description of the machine, with boto3's version."""
    import bench
    import boto3
    return dict(bench.machine(), boto3=boto3.__version__)


def cpu_seconds(pid):
    """utime + stime of a process, from /proc/<pid>/stat."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_ns(pid):
    """Time on CPU in nanoseconds from /proc/<pid>/schedstat (the same time as utime + stime, without the
    10 ms clock tick), or None where the kernel has no schedstat."""
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def python_bootstrap(tmp, script):
    """bench/<script> as an executable whose #! line is this interpreter (the one that has boto3), so
    that the emulator starts it as Lambda starts a bootstrap: execve, no shell, no shim."""
    exe = os.path.realpath(sys.executable)
    if any(c.isspace() for c in exe):
        raise RuntimeError("the interpreter's path has a blank, which a #! line cannot carry: %s" % exe)
    with open(os.path.join(HERE, script)) as f:
        lines = f.read().split("\n")
    if lines[0].startswith("#!"):
        lines = lines[1:]
    directory = os.path.join(tmp, script.rsplit(".", 1)[0])
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "bootstrap")
    with open(path, "w") as f:
        f.write("#!%s\n" % exe + "\n".join(lines))
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    shutil.copy(os.path.join(HERE, "py_lambda.py"), directory)  # what the bootstrap imports
    return path


def operation_of(headers, body):
    """The operation of a request: X-Amz-Target's last part (JSON protocol: DynamoDB, SQS, EventBridge),
    else the form body's Action (query protocol: SNS)."""
    import faultproxy
    target = faultproxy.header(headers, "X-Amz-Target")
    if target:
        return target.rpartition(".")[2]
    if body:
        try:
            return urllib.parse.parse_qs(body.decode("latin-1"), max_num_fields=100000).get("Action", [""])[0]
        except ValueError:
            return ""
    return ""


def counting_proxy(faultproxy, upstream, write_operation):
    """faultproxy.FaultProxy at fault rate 0 (every request forwarded as it is) that also keeps the
    operation of every request, the monotonic time at which the first write had fully arrived, and
    (request body, status, answer body) of every write, parsed after the run."""

    class CountingProxy(faultproxy.FaultProxy):
        first_write = None

        def _answer(self, sock, method, target, headers, body):
            op = operation_of(headers, body)
            with self.lock:
                self.operations_seen.append(op)
                if op == write_operation and self.first_write is None:
                    self.first_write = time.monotonic()
            return super()._answer(sock, method, target, headers, body)

        def _forward(self, method, target, headers, body):
            status, resp_headers, data = super()._forward(method, target, headers, body)
            if operation_of(headers, body) == write_operation:
                with self.lock:
                    self.writes.append((body, status, data))
            return status, resp_headers, data

    proxy = CountingProxy(upstream, seed=0, rates={})
    proxy.operations_seen, proxy.writes = [], []
    return proxy


def redact(text, secrets):
    for s in secrets:
        text = text.replace(s, "<redacted>")
    return text


def run_impl(lrtest, awstest, faultproxy, moto, program, sink, target, batches, n_records, after_batch=None):
    """Replays the batches through one fresh emulator + bootstrap; returns its figures and the proxy's
    copies of its write calls. after_batch(i) runs after the answer to batch i, outside the timed part."""
    _, write_op, _, endpoint_var = SINK_INFO[sink]
    payloads = [json.dumps({"Records": b}).encode() for b in batches]
    with counting_proxy(faultproxy, moto.endpoint, write_op) as proxy:
        env = awstest.base_env(LR_SINK=sink, LR_SINK_TARGET=target, LR_LOG_RECORDS="none",
                               **{endpoint_var: proxy.url})
        env.update({k: None for k in os.environ if k.startswith("AWS_") and k not in env})
        t_start = time.monotonic()
        with lrtest.Emulator(bootstrap=program, env=env, timeout_ms=120000) as emu:
            limit = time.monotonic() + 60
            while True:  # until the function waits for its first event
                st = emu.stats()
                if st.get("next_requests", 0) >= 1:
                    break
                if time.monotonic() > limit or st.get("exits", 0) or st.get("init_errors", 0):
                    raise RuntimeError("%s did not ask for an event: %s\n%s" % (
                        program, st, redact(emu.logs()[-3000:], (awstest.SK,))))
                time.sleep(0.005)
            pid, init_us = int(st["child_pid"]), st["last_init_us"]
            cpu_init, ns_init = cpu_seconds(pid), run_ns(pid)
            inv = lrtest.KeepAliveInvoker(emu.invoke_address, timeout_s=300)
            t_first = time.monotonic()
            invoke_s = 0.0
            for i, payload in enumerate(payloads):
                t_invoke = time.monotonic()
                status, ferr, body = inv.invoke(payload)
                invoke_s += time.monotonic() - t_invoke
                if status != 200 or ferr is not None or json.loads(body) != OK_BODY:
                    raise RuntimeError("%s (%s): batch %d failed: %s %s %r\n%s" % (
                        program, sink, i, status, ferr, body[:300],
                        redact(emu.logs()[-3000:], (awstest.SK,))))
                if after_batch:
                    after_batch(i)
            inv.close()
            if int(emu.stats()["child_pid"]) != pid:
                raise RuntimeError("%s was restarted during the replay" % program)
            cpu, ns = cpu_seconds(pid), run_ns(pid)
            hwm = vm_hwm_kb(pid)
            logs = emu.logs()
        with proxy.lock:
            ops, writes = list(proxy.operations_seen), list(proxy.writes)
        first_write = proxy.first_write
    emf = [json.loads(line[line.index("{"):]) for line in logs.splitlines()
           if '"_aws"' in line and '"SinkRequests"' in line]
    return {
        "records": n_records,
        "batches": len(batches),
        "cpu_ms_per_1000_records": cpu * 1000.0 / n_records * 1000.0,
        "cpu_ms_total": cpu * 1000.0,
        "cpu_ms_init": cpu_init * 1000.0,
        "cpu_ms_per_1000_records_after_init": (cpu - cpu_init) * 1000.0 / n_records * 1000.0,
        "schedstat_cpu_ms_total": ns / 1e6 if ns is not None else None,
        "schedstat_cpu_ms_per_1000_records": ns / 1e6 / n_records * 1000.0 if ns is not None else None,
        "schedstat_cpu_ms_init": ns_init / 1e6 if ns_init is not None else None,
        "schedstat_cpu_ms_per_1000_records_after_init": ((ns - ns_init) / 1e6 / n_records * 1000.0
                                                         if ns is not None and ns_init is not None else None),
        "records_per_s": n_records / invoke_s if invoke_s > 0 else None,
        "peak_rss_mb": hwm / 1024.0 if hwm else None,
        "init_ms": init_us / 1000.0,
        "cold_start_to_first_write_ms": (init_us / 1000.0 + (first_write - t_first) * 1000.0
                                         if first_write else None),
        "requests": len(ops),
        "write_requests": ops.count(write_op),
        "write_operation": write_op,
        "requests_per_1000_records": len(ops) * 1000.0 / n_records,
        "sink_requests_reported": sum(m.get("SinkRequests", 0) for m in emf) if emf else None,
        "wall_s": t_first - t_start + invoke_s,
        "wall_after_init_s": invoke_s,
    }, writes


# -- the message sinks' targets and what they received -------------------------------------------------

def create_queue(sqs, name):
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def create_target(clients, sink, name, eventbridge_rule):
    """(LR_SINK_TARGET, the URL of the queue that receives what was sent, or None) of a fresh target in
    moto: a queue; a topic whose one subscription is a queue (raw delivery); a bus, with a rule sending
    everything of source EVENT_SOURCE to a queue when eventbridge_rule."""
    if sink == "eventbridge":
        clients["events"].create_event_bus(Name=name)
        if not eventbridge_rule:
            return name, None
    queue_url, queue_arn = create_queue(clients["sqs"], name + "-out")
    if sink == "sqs":
        return queue_url, queue_url
    if sink == "sns":
        topic = clients["sns"].create_topic(Name=name)["TopicArn"]
        clients["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                                 Attributes={"RawMessageDelivery": "true"})
        return topic, queue_url
    events = clients["events"]
    events.put_rule(Name="all-records", EventBusName=name, EventPattern=json.dumps({"source": [EVENT_SOURCE]}))
    events.put_targets(Rule="all-records", EventBusName=name, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return name, queue_url


class Drain:
    """Receives a queue's messages after every batch (10 at a time, with a visibility timeout longer than
    the run), then purges it. moto looks at every message of a queue on each SendMessage (it counts
    them for the queue's attributes) and on each ReceiveMessage, so a queue left to grow to 10,000
    messages makes moto's time quadratic; emptied after each batch, it never holds more than 100."""

    def __init__(self, sqs, url):
        self.sqs, self.url, self.messages = sqs, url, []

    def __call__(self, _batch=None):
        self.messages += receive_all(self.sqs, self.url)
        self.sqs.purge_queue(QueueUrl=self.url)


def receive_all(sqs, url):
    """Every message of the queue as deliveries (see accepted())."""
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=43200,
                                  MessageAttributeNames=["All"], WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return out
        for m in got:
            attributes = {k: v.get("StringValue") for k, v in m.get("MessageAttributes", {}).items()}
            out.append((m["Body"], attributes))


def received_events(messages):
    """The deliveries of a rule's queue: each message is the event, the record in its detail."""
    out = []
    for body, _ in messages:
        try:
            event = json.loads(body)
            out.append((event["detail"], {"source": event.get("source"), "detail-type": event.get("detail-type")}))
        except (ValueError, KeyError, TypeError):
            out.append((body, {}))
    return out


def accepted(sink, writes):
    """The messages moto accepted, from the proxy's copies of the write calls and moto's answers: a list of
    (the record: JSON text or a parsed value, {attribute: value}). SQS and SNS: the entries moto's answer
    lists as Successful; EventBridge: the entries it answered with an EventId. An answer that is not 200
    accepts nothing."""
    import xml.etree.ElementTree as ET
    out = []
    for body, status, data in writes:
        if not status.startswith("200"):
            continue
        if sink == "sqs":
            ok = {e.get("Id") for e in json.loads(data).get("Successful", [])}
            for e in json.loads(body)["Entries"]:
                if e["Id"] in ok:
                    out.append((e["MessageBody"], {k: v.get("StringValue")
                                                   for k, v in e.get("MessageAttributes", {}).items()}))
        elif sink == "sns":
            form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True, max_num_fields=100000)
            root = ET.fromstring(data)
            ok = {i.text for s in root.iter() if s.tag.endswith("}Successful") or s.tag == "Successful"
                  for i in s.iter() if i.tag.endswith("}Id") or i.tag == "Id"}
            n = 1
            while "PublishBatchRequestEntries.member.%d.Id" % n in form:
                pre = "PublishBatchRequestEntries.member.%d." % n
                attributes, a = {}, 1
                while pre + "MessageAttributes.entry.%d.Name" % a in form:
                    e = pre + "MessageAttributes.entry.%d." % a
                    attributes[form[e + "Name"][0]] = form.get(e + "Value.StringValue", [None])[0]
                    a += 1
                if form[pre + "Id"][0] in ok:
                    out.append((form[pre + "Message"][0], attributes))
                n += 1
        else:
            answers = json.loads(data).get("Entries", [])
            for e, r in zip(json.loads(body)["Entries"], answers):
                if r.get("EventId") and not r.get("ErrorCode"):
                    out.append((e.get("Detail", ""), {"source": e.get("Source"), "detail-type": e.get("DetailType")}))
    return out


def canonical(value):
    """A JSON value with numbers as normalised decimals and every list sorted (a set reaches JSON as a
    list in the writer's order, and a plain list cannot be told from it)."""
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [canonical(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, default=str))
    if isinstance(value, float):
        value = decimal.Decimal(repr(value))
    if isinstance(value, decimal.Decimal):
        return value.normalize() if value else decimal.Decimal(0)
    if isinstance(value, int) and not isinstance(value, bool):
        return decimal.Decimal(value).normalize() if value else decimal.Decimal(0)
    return value


def check_deliveries(sink, deliveries, expected):
    """Deliveries (accepted() or received) against the stream: expected is {sequenceNumber: (eventName,
    table)}. Returns (figures, {sequenceNumber: canonical record}) of the records that arrived."""
    records, duplicates, unknown, bad_attributes, problems = {}, 0, 0, 0, []
    for text, got in deliveries:
        try:
            record = (json.loads(text, parse_float=decimal.Decimal, parse_int=decimal.Decimal)
                      if isinstance(text, str) else text)
            seq = record["sequenceNumber"]
        except (ValueError, KeyError, TypeError) as e:
            unknown += 1
            problems.append("unreadable message (%s): %r" % (e, str(text)[:200]))
            continue
        if seq not in expected:
            unknown += 1
            problems.append("a message of no record of the stream: sequenceNumber %r" % seq)
            continue
        name, table = expected[seq]
        if sink == "eventbridge":
            want = {"source": EVENT_SOURCE, "detail-type": name}
        else:
            want = {"eventName": name, "sequenceNumber": seq, "table": table}
        if got != want or record.get("eventName") != name or record.get("table") != table:
            bad_attributes += 1
            problems.append("record %s: attributes %r, expected %r" % (seq, got, want))
        if seq in records:
            duplicates += 1
            problems.append("record %s arrived more than once" % seq)
        records[seq] = canonical(record)
    missing = [seq for seq in expected if seq not in records]
    if missing:
        problems.insert(0, "%d records never arrived, e.g. sequenceNumber %s" % (len(missing), missing[0]))
    figures = {"messages": len(deliveries), "records": len(records), "missing": len(missing),
               "duplicates": duplicates, "unknown": unknown, "bad_attributes": bad_attributes,
               "problems": problems[:5]}
    figures["complete"] = figures["missing"] == 0 and duplicates == 0 and unknown == 0 and bad_attributes == 0
    return figures, records


def check_sink(sink, writes, expected, drain):
    """The delivery figures of one message sink's run, and its canonical records by sequenceNumber."""
    out = {}
    out["accepted"], records = check_deliveries(sink, accepted(sink, writes), expected)
    complete = out["accepted"]["complete"]
    if drain is not None:
        drain()  # nothing should be left
        got = received_events(drain.messages) if sink == "eventbridge" else drain.messages
        out["received"], _ = check_deliveries(sink, got, expected)
        complete = complete and out["received"]["complete"]
    out["complete"] = complete
    out["problems"] = out["accepted"]["problems"] + out.get("received", {}).get("problems", [])
    return out, records


# -- printing ---------------------------------------------------------------------------------------------

def metrics(sink):
    service, op = SINK_INFO[sink][2], SINK_INFO[sink][1]
    return (("cpu_ms_per_1000_records", "CPU ms per 1,000 records"),
            ("schedstat_cpu_ms_per_1000_records", "  same, from schedstat (ns)"),
            ("cpu_ms_init", "  start-up (to the first GET /next), CPU ms"),
            ("schedstat_cpu_ms_init", "  same, from schedstat (ns)"),
            ("cpu_ms_per_1000_records_after_init", "  after start-up, CPU ms per 1,000 records"),
            ("schedstat_cpu_ms_per_1000_records_after_init", "  same, from schedstat (ns)"),
            ("records_per_s", "records/s (from the first invoke)"),
            ("peak_rss_mb", "peak RSS MB"),
            ("cold_start_to_first_write_ms", "cold start to first write ms"),
            ("init_ms", "  of which spawn to first GET /next ms"),
            ("requests", "requests to %s" % service),
            ("write_requests", "  of which %s" % op),
            ("requests_per_1000_records", "requests per 1,000 records"),
            ("wall_s", "wall time of the replay s"),
            ("wall_after_init_s", "  from the first invoke s"))


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, int):
        return "{:,}".format(v)
    if v >= 100:
        return "{:,.0f}".format(v)
    return "%.3g" % v if v < 10 else "%.1f" % v


def ratio(a, b):
    return a / b if a is not None and b else None


def check_text(sink, fig):
    if sink == "dynamodb":
        return "replica == source: %s" % ("yes" if fig["replica_equals_source"] else "no")
    d = fig["delivery"]
    text = "accepted %d of %d" % (d["accepted"]["records"], fig["records"])
    if "received" in d:
        text += ", received %d of %d" % (d["received"]["records"], fig["records"])
    return text + ("" if d["complete"] else " (INCOMPLETE)")


def print_sink(res, sink):
    out = res["sinks"][sink]
    c, p = out["c"], out["python"]
    print("\n%s, N=%d operations: %d stream records, %d batches of up to %d, %d keys" % (
        sink, res["operations"], res["records"], len(res["batch_sizes"]), BATCH, res["keys"]))
    rows = [(label, fmt(c[k]), fmt(p[k]), ("%.3fx" % ratio(c[k], p[k])) if ratio(c[k], p[k]) is not None
             else "-") for k, label in metrics(sink)]
    head = ("metric", "C", "Python", "C/Python")
    w = [max(len(r[i]) for r in rows + [head]) for i in range(4)]
    print("  " + "  ".join(h.ljust(w[i]) if i == 0 else h.rjust(w[i]) for i, h in enumerate(head)))
    for r in rows:
        print("  " + "  ".join(x.ljust(w[i]) if i == 0 else x.rjust(w[i]) for i, x in enumerate(r)))
    for key, _ in IMPLS:
        f = out[key]
        print("  %s %s N=%d: cpu %s ms/1000 records, %s records/s, peak RSS %s MB, cold start to first "
              "write %s ms, requests %d (%s per 1,000 records), wall %.2f s; %s" % (
                  key, sink, res["operations"], fmt(f["cpu_ms_per_1000_records"]), fmt(f["records_per_s"]),
                  fmt(f["peak_rss_mb"]), fmt(f["cold_start_to_first_write_ms"]), f["requests"],
                  fmt(f["requests_per_1000_records"]), f["wall_s"], check_text(sink, f)))
        for problem in f.get("delivery", {}).get("problems", []):
            print("    %s" % problem)
    if sink != "dynamodb":
        print("  C and Python messages equal: %s" % ("yes" if out["messages_equal"] else "no"))


# -- the run ----------------------------------------------------------------------------------------------

def parse_sinks(text):
    names = [s.strip() for s in text.split(",") if s.strip()]
    if names == ["all"]:
        return list(SINKS)
    if not names or any(n not in SINKS for n in names):
        raise ValueError(text)
    return [s for s in SINKS if s in names]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sink", default="all",
                    help="dynamodb, sqs, sns, eventbridge, a comma-separated list of them, or all (default)")
    ap.add_argument("--sizes", default="1000,10000", help="operations written to the source, comma-separated")
    ap.add_argument("--quick", action="store_true", help="size 200 only (the smoke test)")
    ap.add_argument("--keys", type=int, default=30, help="distinct keys of the workload (streamload's default)")
    ap.add_argument("--eventbridge-rule", action="store_true",
                    help="give each bus a rule sending every event to a queue, and receive them; moto spends "
                         "a large fraction of a second per event on a rule: small runs")
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--build-dir", help="the build (default: $LR_BUILD_DIR, else build/)")
    args = ap.parse_args()
    try:
        sinks = parse_sinks(args.sink)
    except ValueError:
        ap.error("--sink wants dynamodb, sqs, sns, eventbridge (comma-separated) or all")
    try:
        sizes = [200] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        ap.error("--sizes wants numbers, e.g. 1000,10000")
    if not sizes or min(sizes) < 1 or args.keys < 1:
        ap.error("sizes and --keys must be >= 1")
    if args.build_dir:
        os.environ["LR_BUILD_DIR"] = os.path.abspath(args.build_dir)
    os.environ.setdefault("LR_SOURCE_DIR", SOURCE)
    import awstest
    import faultproxy
    import lrtest
    import streamload
    missing = awstest.moto_missing()
    if missing:
        print("sink_bench: %s" % missing, file=sys.stderr)
        return 2
    for path in (lrtest.bootstrap_path(), lrtest.emulator_path()):
        if not os.access(path, os.X_OK):
            print("sink_bench: not built: %s (scripts/build)" % path, file=sys.stderr)
            return 2
    replay = awstest.load_replay()

    result = {"command": " ".join(["bench/sink_bench.py"] + sys.argv[1:]), "machine": machine(),
              "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "loadavg_start": os.getloadavg(), "batch_size": BATCH, "seed": SEED, "sinks": sinks,
              "sizes": []}
    m = result["machine"]
    print("machine: %d cores, %s, Linux %s, Python %s, boto3 %s; load average %.2f" % (
        m["nproc"], m["cpu_model"], m["kernel"], m["python"], m["boto3"], result["loadavg_start"][0]))
    all_ok = True
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sink-bench-") as tmp:
        programs = {SINK_INFO[s][0]: python_bootstrap(tmp, SINK_INFO[s][0]) for s in sinks}
        moto = awstest.Moto()
        try:
            clients = {s: moto.client(s) for s in ("dynamodb", "dynamodbstreams", "sqs", "sns", "events")}
            ddb = clients["dynamodb"]
            for n in sizes:
                src = "src-%d" % n
                streamload.create_table(ddb, src)
                t0 = time.monotonic()
                load = streamload.write(ddb, src, seed=SEED, operations=n, keys=args.keys)
                arn = ddb.describe_table(TableName=src)["Table"]["LatestStreamArn"]
                records = [replay.lambda_record(r, arn)
                           for r in awstest.stream_records(clients["dynamodbstreams"], arn)]
                source = streamload.scan_state(ddb, src)
                if source != load.expected or len(records) != load.moto_records:
                    raise RuntimeError("the source table or its stream is not what the workload wrote")
                expected = {r["dynamodb"]["SequenceNumber"]: (r["eventName"], src) for r in records}
                if len(expected) != len(records):
                    raise RuntimeError("two records of the stream share a sequence number")
                batches = [records[i:i + BATCH] for i in range(0, len(records), BATCH)]
                res = {"operations": n, "keys": args.keys, "records": len(records), "changes": load.changes,
                       "batch_sizes": [len(b) for b in batches], "source_items": len(source),
                       "setup_s": time.monotonic() - t0, "sinks": {}}
                for sink in sinks:
                    out, bodies = {}, {}
                    for key, _ in IMPLS:
                        name = "bench-%s-%s-%d" % (sink, key, n)
                        if sink == "dynamodb":
                            target = name
                            streamload.create_table(ddb, target, stream=False)
                        else:
                            target, queue = create_target(clients, sink, name, args.eventbridge_rule)
                        program = lrtest.bootstrap_path() if key == "c" else programs[SINK_INFO[sink][0]]
                        drain = Drain(clients["sqs"], queue) if sink != "dynamodb" and queue else None
                        fig, writes = run_impl(lrtest, awstest, faultproxy, moto, program, sink, target, batches,
                                               len(records), drain)
                        t1 = time.monotonic()
                        if sink == "dynamodb":
                            fig["replica_equals_source"] = streamload.scan_state(ddb, target) == source
                            ok = fig["replica_equals_source"]
                        else:
                            fig["delivery"], bodies[key] = check_sink(sink, writes, expected, drain)
                            ok = fig["delivery"]["complete"]
                        fig["check_s"] = time.monotonic() - t1
                        all_ok = all_ok and ok
                        out[key] = fig
                        reported = fig["sink_requests_reported"]
                        if reported is not None and reported != fig["write_requests"]:
                            print("note: %s %s N=%d reported %d sink requests, the proxy saw %d %s" % (
                                key, sink, n, reported, fig["write_requests"], fig["write_operation"]),
                                file=sys.stderr)
                        print("%s %s N=%d done in %.1f s (check %.1f s)" % (
                            key, sink, n, fig["wall_s"], fig["check_s"]), file=sys.stderr)
                    if sink != "dynamodb":
                        differ = sorted(s for s in set(bodies["c"]) & set(bodies["python"])
                                        if bodies["c"][s] != bodies["python"][s])
                        out["messages_equal"] = not differ
                        out["messages_differing"] = len(differ)
                        if differ:
                            all_ok = False
                            print("note: %s N=%d: %d records differ between C and Python, e.g. %s:\n  C      %s\n"
                                  "  Python %s" % (sink, n, len(differ), differ[0],
                                                   json.dumps(bodies["c"][differ[0]], default=str)[:1500],
                                                   json.dumps(bodies["python"][differ[0]], default=str)[:1500]),
                                  file=sys.stderr)
                    out["ratio_c_over_python"] = {k: ratio(out["c"][k], out["python"][k])
                                                  for k, _ in metrics(sink)}
                    res["sinks"][sink] = out
                    print_sink(res, sink)
                result["sizes"].append(res)
        finally:
            moto.close()
    result["loadavg_end"] = os.getloadavg()
    result["elapsed_s"] = time.monotonic() - started
    result["all_received"] = all_ok
    print("\nload average %.2f at the start, %.2f at the end; %.0f s in all" % (
        result["loadavg_start"][0], result["loadavg_end"][0], result["elapsed_s"]))
    print("every target received everything: %s" % ("yes" if all_ok else "no"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
    return 0 if all_ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        print("sink_bench: %s" % e, file=sys.stderr)
        sys.exit(2)

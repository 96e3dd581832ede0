#!/usr/bin/env python3
"""Replicating a table: the bundled bootstrap (LR_SINK=dynamodb) against the same replication in Python
with boto3 (bench/py_replicator.py), on the same stream, in one run. A benchmark, not a test: it prints
figures and ratios and checks only that each replica ends equal to its source.

For each size N: moto_server gets a source table (stream NEW_AND_OLD_IMAGES, partition key "id" S) and
tests/integration/streamload.py's workload of N operations (puts, updates, deletes over --keys keys);
the stream is read once and cut into batches of 100 records. Then, for each implementation: a fresh
target table, a fresh lambda-emu with that bootstrap, every batch invoked in order. Between the function
and moto sits tests/integration/faultproxy.py at fault rate 0 (transparent), which counts the function's
requests and notes when the first BatchWriteItem reaches it.

Figures per implementation and N:
- CPU (user+sys) of the function process per 1,000 stream records, from /proc/<pid>/stat just before
  the emulator stops it: the whole life of the process, its start-up included; also split into the
  CPU used by the time it first asked for an event and the CPU per 1,000 records after that. utime and
  stime count in clock ticks (10 ms); the JSON also has the nanosecond total of /proc/<pid>/schedstat;
- peak RSS: VmHWM of the process;
- cold start to first write: spawn to the first GET /next (the emulator's last_init_us), plus the first
  invoke (sent once the function waits for it) to the first BatchWriteItem reaching the proxy: what a
  cold function with an event waiting takes to write its first item;
- requests to DynamoDB (all of them, and BatchWriteItem);
- wall time of the replay: emulator start to the last batch's answer (and the same from the first
  invoke, start-up left out).
Ratios are C / Python.

    bench/sink_bench.py                  # sizes 1000 and 10000
    bench/sink_bench.py --quick          # 200 only (the smoke test)
    bench/sink_bench.py --sizes 500 --keys 60 --json out.json

Needs the build (LR_BUILD_DIR, default build/: build/handler/bootstrap, lambda-emu), moto_server and
boto3. Exit status: 0 when every replica equals its source, 1 when one does not, 2 on a setup error.
"""

import argparse
import json
import os
import stat
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))

BATCH = 100
SEED = 7
OK_BODY = {"batchItemFailures": []}
IMPLS = (("c", "bundled bootstrap (C)"), ("python", "Python + boto3"))


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


def python_bootstrap(tmp):
    """bench/py_replicator.py as an executable whose #! line is this interpreter (the one that has
    boto3), so that the emulator starts it as Lambda starts a bootstrap: execve, no shell, no shim."""
    exe = os.path.realpath(sys.executable)
    if any(c.isspace() for c in exe):
        raise RuntimeError("the interpreter's path has a blank, which a #! line cannot carry: %s" % exe)
    with open(os.path.join(HERE, "py_replicator.py")) as f:
        lines = f.read().split("\n")
    if lines[0].startswith("#!"):
        lines = lines[1:]
    path = os.path.join(tmp, "bootstrap")
    with open(path, "w") as f:
        f.write("#!%s\n" % exe + "\n".join(lines))
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def counting_proxy(faultproxy, upstream):
    """faultproxy.FaultProxy at fault rate 0 (every request forwarded as it is) that also notes the
    monotonic time at which the first BatchWriteItem had fully arrived."""

    class CountingProxy(faultproxy.FaultProxy):
        first_write = None

        def _draw(self, operation, is_splittable):
            if operation == "BatchWriteItem" and self.first_write is None:
                self.first_write = time.monotonic()
            return super()._draw(operation, is_splittable)

    return CountingProxy(upstream, seed=0, rates={})


def redact(text, secrets):
    for s in secrets:
        text = text.replace(s, "<redacted>")
    return text


def run_impl(lrtest, awstest, faultproxy, moto, program, target, batches, n_records):
    """Replays the batches through one fresh emulator + bootstrap; returns its figures."""
    payloads = [json.dumps({"Records": b}).encode() for b in batches]
    with counting_proxy(faultproxy, moto.endpoint) as proxy:
        env = awstest.base_env(LR_SINK="dynamodb", LR_SINK_TARGET=target, LR_LOG_RECORDS="none",
                               AWS_ENDPOINT_URL_DYNAMODB=proxy.url)
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
            for i, payload in enumerate(payloads):
                status, ferr, body = inv.invoke(payload)
                if status != 200 or ferr is not None or json.loads(body) != OK_BODY:
                    raise RuntimeError("%s: batch %d failed: %s %s %r\n%s" % (
                        program, i, status, ferr, body[:300], redact(emu.logs()[-3000:], (awstest.SK,))))
            t_end = time.monotonic()
            inv.close()
            if int(emu.stats()["child_pid"]) != pid:
                raise RuntimeError("%s was restarted during the replay" % program)
            cpu, ns = cpu_seconds(pid), run_ns(pid)
            hwm = vm_hwm_kb(pid)
            logs = emu.logs()
        ops = [op for _, op, _ in proxy.events]
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
        "peak_rss_mb": hwm / 1024.0 if hwm else None,
        "init_ms": init_us / 1000.0,
        "cold_start_to_first_write_ms": (init_us / 1000.0 + (first_write - t_first) * 1000.0
                                         if first_write else None),
        "requests": len(ops),
        "batch_write_requests": ops.count("BatchWriteItem"),
        "sink_requests_reported": sum(m.get("SinkRequests", 0) for m in emf) if emf else None,
        "wall_s": t_end - t_start,
        "wall_after_init_s": t_end - t_first,
    }


METRICS = (("cpu_ms_per_1000_records", "CPU ms per 1,000 records"),
           ("schedstat_cpu_ms_per_1000_records", "  same, from schedstat (ns)"),
           ("cpu_ms_init", "  start-up (to the first GET /next), CPU ms"),
           ("cpu_ms_per_1000_records_after_init", "  after start-up, CPU ms per 1,000 records"),
           ("peak_rss_mb", "peak RSS MB"),
           ("cold_start_to_first_write_ms", "cold start to first write ms"),
           ("init_ms", "  of which spawn to first GET /next ms"),
           ("requests", "requests to DynamoDB"),
           ("batch_write_requests", "  of which BatchWriteItem"),
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


def print_size(res):
    c, p = res["c"], res["python"]
    print("\nN=%d operations: %d stream records, %d batches of up to %d, %d keys" % (
        res["operations"], res["records"], len(res["batch_sizes"]), BATCH, res["keys"]))
    rows = [(label, fmt(c[k]), fmt(p[k]), ("%.3fx" % ratio(c[k], p[k])) if ratio(c[k], p[k]) is not None
             else "-") for k, label in METRICS]
    head = ("metric", "C", "Python", "C/Python")
    w = [max(len(r[i]) for r in rows + [head]) for i in range(4)]
    print("  " + "  ".join(h.ljust(w[i]) if i == 0 else h.rjust(w[i]) for i, h in enumerate(head)))
    for r in rows:
        print("  " + "  ".join(x.ljust(w[i]) if i == 0 else x.rjust(w[i]) for i, x in enumerate(r)))
    for key, name in IMPLS:
        f = res[key]
        print("  %s N=%d: cpu %s ms/1000 records, peak RSS %s MB, cold start to first write %s ms, "
              "requests %d, wall %.2f s; replica == source: %s" % (
                  key, res["operations"], fmt(f["cpu_ms_per_1000_records"]), fmt(f["peak_rss_mb"]),
                  fmt(f["cold_start_to_first_write_ms"]), f["requests"], f["wall_s"],
                  "yes" if f["replica_equals_source"] else "no"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,10000", help="operations written to the source, comma-separated")
    ap.add_argument("--quick", action="store_true", help="size 200 only (the smoke test)")
    ap.add_argument("--keys", type=int, default=30, help="distinct keys of the workload (streamload's default)")
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--build-dir", help="the build (default: $LR_BUILD_DIR, else build/)")
    args = ap.parse_args()
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
              "loadavg_start": os.getloadavg(), "batch_size": BATCH, "seed": SEED, "sizes": []}
    m = result["machine"]
    print("machine: %d cores, %s, Linux %s, Python %s, boto3 %s; load average %.2f" % (
        m["nproc"], m["cpu_model"], m["kernel"], m["python"], m["boto3"], result["loadavg_start"][0]))
    all_equal = True
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sink-bench-") as tmp:
        programs = {"c": lrtest.bootstrap_path(), "python": python_bootstrap(tmp)}
        moto = awstest.Moto()
        try:
            ddb = moto.client("dynamodb")
            streams = moto.client("dynamodbstreams")
            for n in sizes:
                src = "src-%d" % n
                streamload.create_table(ddb, src)
                t0 = time.monotonic()
                load = streamload.write(ddb, src, seed=SEED, operations=n, keys=args.keys)
                arn = ddb.describe_table(TableName=src)["Table"]["LatestStreamArn"]
                records = [replay.lambda_record(r, arn) for r in awstest.stream_records(streams, arn)]
                source = streamload.scan_state(ddb, src)
                if source != load.expected or len(records) != load.moto_records:
                    raise RuntimeError("the source table or its stream is not what the workload wrote")
                batches = [records[i:i + BATCH] for i in range(0, len(records), BATCH)]
                res = {"operations": n, "keys": args.keys, "records": len(records), "changes": load.changes,
                       "batch_sizes": [len(b) for b in batches], "source_items": len(source),
                       "setup_s": time.monotonic() - t0}
                for key, _ in IMPLS:
                    dst = "dst-%s-%d" % (key, n)
                    streamload.create_table(ddb, dst, stream=False)
                    fig = run_impl(lrtest, awstest, faultproxy, moto, programs[key], dst, batches, len(records))
                    fig["replica_equals_source"] = streamload.scan_state(ddb, dst) == source
                    all_equal = all_equal and fig["replica_equals_source"]
                    res[key] = fig
                    reported = fig["sink_requests_reported"]
                    if reported is not None and reported != fig["batch_write_requests"]:
                        print("note: %s N=%d reported %d sink requests, the proxy saw %d BatchWriteItem" % (
                            key, n, reported, fig["batch_write_requests"]), file=sys.stderr)
                    print("%s N=%d done in %.1f s" % (key, n, fig["wall_s"]), file=sys.stderr)
                res["ratio_c_over_python"] = {k: ratio(res["c"][k], res["python"][k]) for k, _ in METRICS}
                result["sizes"].append(res)
                print_size(res)
        finally:
            moto.close()
    result["loadavg_end"] = os.getloadavg()
    result["elapsed_s"] = time.monotonic() - started
    print("\nload average %.2f at the start, %.2f at the end; %.0f s in all" % (
        result["loadavg_start"][0], result["loadavg_end"][0], result["elapsed_s"]))
    print("replica == source: %s" % ("yes" if all_equal else "no"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
    return 0 if all_equal else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        print("sink_bench: %s" % e, file=sys.stderr)
        sys.exit(2)

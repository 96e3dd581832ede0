#!/usr/bin/env python3
"""Throughput of the bundled bootstrap with AWS_LAMBDA_MAX_CONCURRENCY = 1, 2, 4 and 8 workers,
through the emulator's Managed Instances mode, for 1-record and about 1 MB batches.

For each concurrency N the emulator runs the bootstrap with N workers and N client threads keep
invoking it over keep-alive connections for a fixed number of invokes each; each row is the median
of --rounds runs of each program, alternated. The floor is the same
run loop answering a fixed {"batchItemFailures":[]} without reading the event (lr-test-bootstrap,
LR_TB_MODE=fixed) at the same N, on the same emulator and client: the difference is the batch work
(parse, validate, log every record), and the floor's own rate is what the emulator and the Python
client can carry on this machine. Printed per row: invokes/s and MB/s, client round trip p50/p99,
the bootstrap's CPU ms per invoke (utime + stime, which the machine's load does not inflate), its
peak RSS, the ratio to the floor's rate and the speed-up over N = 1.

    python3 bench/concurrency_bench.py [--build-dir DIR] [--invokes N] [--rounds R] [--json OUT]

--build-dir is a build with the bootstrap, the emulator and the test programs (default: build).
"""

import argparse
import json
import os
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))
sys.path.insert(0, HERE)

import bench  # noqa: E402  (generate_event, cpu_seconds, proc_status_kb, percentile, machine)

CONCURRENCY = (1, 2, 4, 8)
NONE = b'{"batchItemFailures":[]}'


def child_pid(pid):
    """The emulator's one child. Its connection threads come and go, so a task may vanish while
    /proc is read."""
    found = []
    for task in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                found += [int(p) for p in f.read().split()]
        except FileNotFoundError:
            continue
    (child,) = found
    return child


def run(lrtest, program, env, payload, workers, invokes_per_client, warmup=5):
    """One emulator, one bootstrap with `workers` workers, as many clients; returns the figures."""
    env = dict(env, AWS_LAMBDA_MAX_CONCURRENCY=str(workers))
    with lrtest.Emulator(bootstrap=program, env=env, timeout_ms=60000) as emu:
        clients = [lrtest.KeepAliveInvoker(emu.invoke_address, timeout_s=120) for _ in range(workers)]
        for c in clients:
            for _ in range(warmup):
                check(c.invoke(payload))
        pid = child_pid(emu.proc.pid)
        cpu0 = bench.cpu_seconds(pid)
        times = [[] for _ in clients]
        errors = []
        start = threading.Barrier(len(clients) + 1)

        def client(i):
            start.wait()
            try:
                for _ in range(invokes_per_client):
                    t0 = time.perf_counter()
                    check(clients[i].invoke(payload))
                    times[i].append(time.perf_counter() - t0)
            except Exception as e:  # reported after the join
                errors.append(e)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(len(clients))]
        for t in threads:
            t.start()
        start.wait()
        t0 = time.perf_counter()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        if errors:
            raise errors[0]
        total = workers * invokes_per_client
        cpu_ms = (bench.cpu_seconds(pid) - cpu0) * 1000.0 / total
        hwm_kb = bench.proc_status_kb(pid, "VmHWM")
        for c in clients:
            c.close()
    all_ms = [t * 1000.0 for ts in times for t in ts]
    return {"invokes": total, "invokes_per_s": total / wall, "mb_per_s": total * len(payload) / wall / 1e6,
            "round_trip_ms_p50": bench.percentile(all_ms, 50),
            "round_trip_ms_p99": bench.percentile(all_ms, 99),
            "cpu_ms_per_invoke": cpu_ms, "peak_rss_mb": hwm_kb / 1024.0}


def median_run(runs):
    """The run with the median rate (the middle one of an odd number of rounds)."""
    return sorted(runs, key=lambda r: r["invokes_per_s"])[len(runs) // 2]


def check(result):
    status, ferr, body = result
    if status != 200 or ferr is not None or body != NONE:
        raise RuntimeError("invoke failed: %s %s %r" % (status, ferr, body[:200]))


def events(tmp):
    one, _ = bench.generate_event(os.path.join(tmp, "one.json"), 1)
    mb, n = bench.generate_event(os.path.join(tmp, "1mb.json"), 1000, max_bytes=1024 * 1024)
    return [("1 record", one, 1), ("1 MB (%d records)" % n, mb, n)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", default=os.path.join(SOURCE, "build"))
    ap.add_argument("--invokes", type=int, default=0,
                    help="invokes per client (default: 1500 for 1 record, 150 for 1 MB)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="runs of each program per row, alternated; the median is printed (default 3)")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    os.environ["LR_BUILD_DIR"] = os.path.abspath(args.build_dir)
    import lrtest
    program = lrtest.bootstrap_path()
    floor = lrtest.helper_bootstrap_path()
    env = {"LR_EMF": "off", "AWS_LAMBDA_LOG_FORMAT": "JSON"}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, payload, records in events(tmp):
            per_client = args.invokes or (1500 if records == 1 else 150)
            base = None
            for n in CONCURRENCY:
                b, f = [], []
                for _ in range(args.rounds):  # alternated, so a burst of load hits both alike
                    b.append(run(lrtest, program, env, payload, n, per_client))
                    f.append(run(lrtest, floor, dict(env, LR_TB_MODE="fixed"), payload, n, per_client))
                b, f = median_run(b), median_run(f)
                base = base or b["invokes_per_s"]
                rows.append({"event": label, "bytes": len(payload), "workers": n, "bootstrap": b,
                             "floor": f, "vs_floor": b["invokes_per_s"] / f["invokes_per_s"],
                             "speedup": b["invokes_per_s"] / base})
                print_row(rows[-1])
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"machine": bench.machine(), "rows": rows}, out, indent=2)


def print_row(r):
    b, f = r["bootstrap"], r["floor"]
    print("%-22s N=%d  %8.0f inv/s %7.1f MB/s  rt p50 %6.2f ms p99 %6.2f ms  cpu %6.3f ms/inv  "
          "rss %5.1f MB | floor %8.0f inv/s  ratio %.2f  speed-up %.2fx"
          % (r["event"], r["workers"], b["invokes_per_s"], b["mb_per_s"], b["round_trip_ms_p50"],
             b["round_trip_ms_p99"], b["cpu_ms_per_invoke"], b["peak_rss_mb"], f["invokes_per_s"],
             r["vs_floor"], r["speedup"]), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Benchmarks of the bundled bootstrap against the floor program, through the local emulator.

Run by bench/run after a Release build. For each scenario the bootstrap and the two floors get the
same events on the same emulator; every figure is printed next to the floors' and as ratios. The
floor (bench/floor.c) reads the event and answers; the writing floor is the same program with
LR_FLOOR_WRITE_EVENT=1, which also writes the whole event to stdout once per invoke (what logging
every record costs at the least). With valgrind installed, the instructions of one invoke are counted
with callgrind on lr_bench_invoke (bench/invoke_driver.c: the handler's invoke path on the event file,
without the Runtime API), which moves little from run to run whatever the machine's load. Writes a table on stdout,
and latest.json, latest.md and the chart bench.svg into --results (default BUILD_DIR/bench-results);
--svg docs/bench.svg (bench/run --docs) writes the chart there instead.

Time inside the runtime = the emulator's REPORT Duration: from the event being queued for the waiting
GET /next to the POST /response arriving (event transfer, parse, handler, response). The client's
round trip through the Invoke API is reported separately, and so is the CPU time (utime + stime) the
program spent per invoke, which a busy machine does not inflate. Peak RSS is the program's VmHWM
after the scenario (one fresh process per scenario). Cold start: spawn to the first GET /next.
"""

import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))

TARGETS = {  # issue 7: absolute, from a faster machine
    "6mb_runtime_ms": 35.0,
    "6mb_peak_rss_mb": 30.0,
    "1mb_runtime_ms": 7.0,
    "1rec_vs_floor": 1.05,
}

TARGETS_17 = {  # issue 17: ratios in one run (p50 time inside the runtime) and instruction counts
    "6mb_text_vs_write_floor": 2.0,
    "6mb_json_vs_write_floor": 2.0,
    "6mb_nolog_vs_floor": 1.5,
    "1000_vs_write_floor": 2.0,
    "1rec_round_trip_vs_floor": 1.05,
    "6mb_rss_vs_floor": 1.2,
    "6mb_logged_instructions_M": 80.0,
    "6mb_nolog_instructions_M": 30.0,
}


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    curl = subprocess.run(["curl-config", "--version"], capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
            "python": platform.python_version(), "libcurl": curl or "unknown"}


# ---- events --------------------------------------------------------------------------------------

def generate_event(path, records, record_bytes=None, max_bytes=None, seed=7):
    """Writes a deterministic DynamoDB Streams batch with tools/gen_ddb_batch.py (all ten attribute
    types, NEW_AND_OLD_IMAGES); returns (bytes, number of records)."""
    cmd = [sys.executable, os.path.join(SOURCE, "tools", "gen_ddb_batch.py"),
           "--records", str(records), "--seed", str(seed), "--view", "NEW_AND_OLD_IMAGES", "--out", path]
    if record_bytes:
        cmd += ["--record-bytes", str(record_bytes)]
    if max_bytes:
        cmd += ["--max-bytes", str(max_bytes)]
    subprocess.run(cmd, check=True)
    with open(path, "rb") as f:
        data = f.read()
    return data, len(json.loads(data)["Records"])


# ---- measurement ---------------------------------------------------------------------------------

def child_pids(pid):
    out = []
    for task in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/children" % (pid, task)) as f:
            out += [int(p) for p in f.read().split()]
    return out


def proc_status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def cpu_seconds(pid):
    """utime + stime of a process, from /proc/<pid>/stat."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


REPORT_RX = re.compile(r"REPORT RequestId: \S+\s+Duration: ([0-9.]+) ms")


def percentile(values, p):
    s = sorted(values)
    if not s:
        return None
    k = (len(s) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def run_scenario(lrtest, program, payload, invokes, warmup, env, expect=None):
    """Runs invokes (+warmup) of payload on a fresh emulator; returns the figures."""
    round_trip_ms = []
    with lrtest.Emulator(bootstrap=program, env=env, timeout_ms=60000) as emu:
        inv = lrtest.KeepAliveInvoker(emu.invoke_address, timeout_s=120)
        pid, cpu0 = None, 0.0
        for i in range(warmup + invokes):
            if i == warmup:
                pid = child_pids(emu.proc.pid)[0]
                cpu0 = cpu_seconds(pid)
            t0 = time.perf_counter_ns()
            status, ferr, body = inv.invoke(payload)
            t1 = time.perf_counter_ns()
            if status != 200 or ferr is not None or (expect is not None and body != expect):
                raise RuntimeError("%s: invoke %d failed: %s %s %r" % (program, i, status, ferr, body[:200]))
            if i >= warmup:
                round_trip_ms.append((t1 - t0) / 1e6)
        if child_pids(emu.proc.pid) != [pid]:
            raise RuntimeError("%s was restarted during the scenario" % program)
        cpu_ms = (cpu_seconds(pid) - cpu0) * 1000.0 / invokes
        hwm_kb = proc_status_kb(pid, "VmHWM")
        time.sleep(0.05)  # the emulator prints REPORT right after answering
        durations = [float(m) for m in REPORT_RX.findall(emu.logs())][warmup:]
    return {
        "invokes": invokes,
        "round_trip_ms_p50": percentile(round_trip_ms, 50),
        "round_trip_ms_p99": percentile(round_trip_ms, 99),
        "runtime_ms_p50": percentile(durations, 50),
        "runtime_ms_p99": percentile(durations, 99),
        "cpu_ms_per_invoke": cpu_ms,
        "peak_rss_mb": hwm_kb / 1024.0 if hwm_kb else None,
    }


def cold_start_ms(build_dir, program, runs):
    """Spawn to first GET /next: lr_coldstart_probe (bench/coldstart_probe.c, a C timer with
    posix_spawn) when it is built, else a Python stand-in against a bare socket."""
    probe = os.path.join(build_dir, "bench", "lr_coldstart_probe")
    if os.access(probe, os.X_OK):
        out = subprocess.run([probe, "--runs", str(runs), "--warmup", "5", "--mode", "next", "--", program],
                             capture_output=True, text=True, check=True).stdout
        kv = dict(item.split("=", 1) for item in out.split())
        return {"runs": runs, "p50_ms": float(kv["median_us"]) / 1000.0,
                "p10_ms": float(kv["p10_us"]) / 1000.0, "p90_ms": float(kv["p90_us"]) / 1000.0,
                "tool": "lr_coldstart_probe"}
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API="127.0.0.1:%d" % srv.getsockname()[1])
    times = []
    try:
        for _ in range(runs):
            t0 = time.perf_counter_ns()
            proc = subprocess.Popen([program], env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            try:
                conn, _ = srv.accept()
                conn.settimeout(10)
                first = b""
                while b"\r\n" not in first:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    first += chunk
                t1 = time.perf_counter_ns()
                conn.close()
                if not first.startswith(b"GET /2018-06-01/runtime/invocation/next"):
                    raise RuntimeError("unexpected first request: %r" % first[:80])
                times.append((t1 - t0) / 1e6)
            finally:
                proc.kill()
                proc.wait()
    finally:
        srv.close()
    return {"runs": runs, "p50_ms": percentile(times, 50), "p10_ms": percentile(times, 10),
            "p90_ms": percentile(times, 90), "tool": "python"}


# ---- report --------------------------------------------------------------------------------------

def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(v, unit=""):
    if v is None:
        return "-"
    if isinstance(v, float):
        return ("%.3f" % v if v < 10 else "%.1f" % v) + unit
    return str(v) + unit


def table_rows(result):
    rows = []
    for sc in result["scenarios"]:
        b, f, w = sc["bootstrap"], sc["floor"], sc.get("write_floor", {})
        for key, label in (("runtime_ms_p50", "in runtime p50 ms"), ("runtime_ms_p99", "in runtime p99 ms"),
                           ("cpu_ms_per_invoke", "CPU ms per invoke"),
                           ("round_trip_ms_p50", "invoke round trip p50 ms"),
                           ("round_trip_ms_p99", "invoke round trip p99 ms"),
                           ("records_per_s", "records/s"), ("mb_per_s", "MB/s"),
                           ("peak_rss_mb", "peak RSS MB")):
            if key in ("records_per_s", "mb_per_s") and sc["records"] < 100:
                continue  # meaningless for a single record
            if key in b:
                rows.append((sc["name"], label, fmt(b[key]), fmt(f.get(key)), fmt(ratio(b[key], f.get(key)), "x"),
                             fmt(w.get(key)), fmt(ratio(b[key], w.get(key)), "x")))
    for cg in result.get("callgrind", []):
        rows.append((cg["name"], "instructions per invoke (callgrind), M", fmt(cg["instructions"] / 1e6),
                     "-", "-", "-", "-"))
        rows.append((cg["name"], "instructions per event byte", fmt(cg["instructions"] / cg["event_bytes"]),
                     "-", "-", "-", "-"))
    cs = result["cold_start"]
    for key in ("p10_ms", "p50_ms"):
        rows.append(("cold start", "spawn to GET /next %s ms" % key[:3], fmt(cs["bootstrap"][key]),
                     fmt(cs["floor"][key]), fmt(ratio(cs["bootstrap"][key], cs["floor"][key]), "x"), "-", "-"))
    if result.get("zip_bytes"):
        rows.append(("function.zip", "size KB", fmt(result["zip_bytes"] / 1024.0), "-", "-", "-", "-"))
    return rows


HEADER = ("scenario", "metric", "bootstrap", "floor", "ratio", "writing floor", "ratio")


def markdown_table(result):
    out = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    out += ["| " + " | ".join(r) + " |" for r in table_rows(result)]
    m = result["machine"]
    out.append("")
    out.append("Machine: %s cores, %s, Linux %s, %s; %s; load average %.1f at the start, %.1f at the end."
               % (m["nproc"], m["cpu_model"], m["kernel"], m["libcurl"], result["generated_at"],
                  result["loadavg_start"][0], result["loadavg_end"][0]))
    out.append("")
    out.append("| target | measured | target | met |")
    out.append("|---|---|---|---|")
    for name, t in list(result["targets"].items()) + list(result["targets_17"].items()):
        out.append("| %s | %s | %s | %s |" % (name, fmt(t["measured"]), t["target"], met_word(t, "yes", "**no**")))
    return "\n".join(out) + "\n"


def met_word(t, yes, no):
    return "-" if t["measured"] is None else (yes if t["met"] else no)


def print_table(result):
    rows = table_rows(result)
    widths = [max(len(r[i]) for r in rows + [HEADER]) for i in range(len(HEADER))]
    line = "  ".join("%-*s" % (w, h) for w, h in zip(widths, HEADER))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join("%-*s" % (w, c) for w, c in zip(widths, r)))
    m = result["machine"]
    print("\nmachine: %s cores, %s, Linux %s, %s; load average %.1f -> %.1f"
          % (m["nproc"], m["cpu_model"], m["kernel"], m["libcurl"], result["loadavg_start"][0],
             result["loadavg_end"][0]))
    for title, key in (("targets (issue 7)", "targets"), ("targets (issue 17)", "targets_17")):
        print("\n%s:" % title)
        for name, t in result[key].items():
            print("  %-26s %-8s measured %-10s target %s" % (name, met_word(t, "MET", "MISSED"),
                                                              fmt(t["measured"]), t["target"]))
    print_simdjson_bound(result)
    print_write_bound(result)


def by_key(result, key):
    return next(sc for sc in result["scenarios"] if sc["key"] == key)


def check_targets(result):
    by = {sc["key"]: sc for sc in result["scenarios"]}
    out = {}

    def put(name, measured, target):
        out[name] = {"measured": measured, "target": target,
                     "met": measured is not None and measured <= target}
    put("6mb_runtime_ms", by["6mb"]["bootstrap"]["runtime_ms_p50"], TARGETS["6mb_runtime_ms"])
    put("6mb_peak_rss_mb", by["6mb"]["bootstrap"]["peak_rss_mb"], TARGETS["6mb_peak_rss_mb"])
    put("1mb_runtime_ms", by["1000"]["bootstrap"]["runtime_ms_p50"], TARGETS["1mb_runtime_ms"])
    one = by["1"]
    put("1rec_vs_floor", ratio(one["bootstrap"]["round_trip_ms_p50"], one["floor"]["round_trip_ms_p50"]),
        TARGETS["1rec_vs_floor"])
    return out


def check_targets_17(result):
    by = {sc["key"]: sc for sc in result["scenarios"]}
    cg = {c["key"]: c["instructions"] / 1e6 for c in result.get("callgrind", [])}
    out = {}

    def put(name, measured):
        out[name] = {"measured": measured, "target": TARGETS_17[name],
                     "met": measured is not None and measured <= TARGETS_17[name]}

    def vs(key, floor, figure="runtime_ms_p50"):
        return ratio(by[key]["bootstrap"][figure], by[key].get(floor, {}).get(figure))
    put("6mb_text_vs_write_floor", vs("6mb", "write_floor"))
    put("6mb_json_vs_write_floor", vs("6mb-json", "write_floor"))
    put("6mb_nolog_vs_floor", vs("6mb-nolog", "floor"))
    put("1000_vs_write_floor", vs("1000", "write_floor"))
    put("1rec_round_trip_vs_floor", vs("1", "floor", "round_trip_ms_p50"))
    put("6mb_rss_vs_floor", vs("6mb", "floor", "peak_rss_mb"))
    put("6mb_logged_instructions_M", max(cg["6mb"], cg["6mb-json"]) if "6mb" in cg and "6mb-json" in cg else None)
    put("6mb_nolog_instructions_M", cg.get("6mb-nolog"))
    return out


CALLGRIND_RX = re.compile(r"Collected : (\d+)")


def callgrind_count(build_dir, event_path, env, results_dir, key, program="lr_bench_invoke",
                    toggle="bench_measured_invoke", args=("1",)):
    """Instructions of one invoke of the bundled handler on the event (after a warm-up invoke), by
    callgrind on lr_bench_invoke with collection on only inside bench_measured_invoke; or of another
    program's measured function (the simdjson reference). The log lines go to /dev/null; the profile
    is kept for callgrind_annotate."""
    driver = os.path.join(build_dir, "bench", program)
    out_file = os.path.join(results_dir, "callgrind.%s.out" % key)
    cmd = ["valgrind", "--tool=callgrind", "--toggle-collect=" + toggle,
           "--callgrind-out-file=" + out_file, driver, event_path] + list(args)
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.run(cmd, env=dict(os.environ, **env), stdout=devnull, stderr=subprocess.PIPE,
                              check=True)
    m = CALLGRIND_RX.search(proc.stderr.decode(errors="replace"))
    if not m:
        raise RuntimeError("callgrind printed no count:\n%s" % proc.stderr.decode(errors="replace")[-2000:])
    return int(m.group(1)), out_file


def simdjson_times(build_dir, event_path, runs=21):
    """The median in-process time of simdjson's DOM parse of the event (bench/simdjson_floor.cpp),
    per x86-64 implementation, when it is built: what validating the event costs at the least."""
    program = os.path.join(build_dir, "bench", "lr_simdjson_floor")
    out = {}
    if not os.path.exists(program):
        return out
    for impl in ("westmere", "haswell"):
        proc = subprocess.run([program, event_path, impl], env=dict(os.environ, LR_SIMDJSON_TIMES=str(runs)),
                              capture_output=True, text=True)
        m = re.search(r"p50_ms ([0-9.]+)", proc.stdout)
        if proc.returncode == 0 and m:
            out[impl] = float(m.group(1))
    return out


# The targets simdjson bounds: (scenario, the floor its target is read against, the event parsed).
SIMDJSON_BOUNDS = (("6mb", "write_floor", "6mb"), ("6mb-json", "write_floor", "6mb"),
                   ("6mb-nolog", "floor", "6mb"), ("1000", "write_floor", "1000"))


def print_simdjson_bound(result):
    """The floor plus simdjson's parse of the same event is the least an invoke that validates the
    event can take: printed against each target's floor, next to what the runtime took."""
    sj = result.get("simdjson_ms", {})
    if not any(sj.values()):
        return
    print("\nreference: simdjson's DOM parse, in process, p50: %s" % "; ".join(
        "%s event %s" % (e, ", ".join("%s ms (%s)" % (fmt(v), k) for k, v in ms.items()))
        for e, ms in sj.items() if ms))
    print("the floor plus that parse, against the floor: the least any runtime that validates the event "
          "could reach; then what the runtime took")
    for key, floor_key, event_key in SIMDJSON_BOUNDS:
        sc = by_key(result, key)
        floor = sc.get(floor_key, {}).get("runtime_ms_p50")
        if not sj.get(event_key) or not floor:
            continue
        print("  %-10s vs %-11s %s ms: at the least %s; the runtime %s" % (
            key, floor_key, fmt(floor), ", ".join(fmt((floor + v) / floor, "x") for v in sj[event_key].values()),
            fmt(ratio(sc["bootstrap"]["runtime_ms_p50"], floor), "x")))


def print_write_bound(result):
    """The 1-record round trip target is against the plain floor, but a runtime that logs the record
    writes it before answering: the writing floor's round trip is the least such a runtime can reach."""
    sc = by_key(result, "1")
    floor = sc["floor"].get("round_trip_ms_p50")
    write = sc.get("write_floor", {}).get("round_trip_ms_p50")
    if not floor or not write:
        return
    print("1 record, round trip p50 against the floor's %s ms: the writing floor %s (the least a runtime "
          "that logs the record before answering could reach); the runtime %s" % (
              fmt(floor), fmt(ratio(write, floor), "x"), fmt(ratio(sc["bootstrap"]["round_trip_ms_p50"], floor), "x")))


def write_chart(result, results_dir, svg_path):
    dat = os.path.join(results_dir, "chart.dat")
    with open(dat, "w") as f:
        f.write("# scenario bootstrap_ms floor_ms bootstrap_rss_mb floor_rss_mb write_floor_ms write_floor_rss_mb\n")
        for sc in result["scenarios"]:
            b, fl, w = sc["bootstrap"], sc["floor"], sc.get("write_floor", {})
            f.write('"%s" %.4f %.4f %.2f %.2f %.4f %.2f\n' % (
                CHART_LABELS.get(sc["key"], sc["key"]), b["runtime_ms_p50"] or 0, fl["runtime_ms_p50"] or 0,
                b["peak_rss_mb"] or 0, fl["peak_rss_mb"] or 0, w.get("runtime_ms_p50") or 0,
                w.get("peak_rss_mb") or 0))
    gp = os.path.join(results_dir, "chart.gp")
    m = result["machine"]
    with open(gp, "w") as f:
        f.write(CHART_GP % {"dat": dat, "svg": svg_path,
                            "machine": "%s cores, %s" % (m["nproc"], m["cpu_model"])})
    subprocess.run(["gnuplot", gp], check=True)


CHART_LABELS = {"1": "1 record", "100": "100", "1000": "1,000", "6mb": "6 MB",
                "6mb-json": "6 MB JSON", "1000-nolog": "1,000 no log", "6mb-nolog": "6 MB no log"}

CHART_GP = r"""
set terminal svg size 960,420 dynamic noenhanced font "sans,12" background "#ffffff"
set output "%(svg)s"
set multiplot layout 1,2 title "bootstrap vs floor through the local emulator (%(machine)s)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top left
set xtics rotate by -20
set logscale y
set title "time inside the runtime, p50 (ms, log scale)"
plot "%(dat)s" using 2:xtic(1) title "bootstrap" lc rgb "#1f77b4", "" using 3 title "floor" lc rgb "#bbbbbb", "" using 6 title "writing floor" lc rgb "#777777"
unset logscale y
set yrange [0:*]
set title "peak RSS of the process (MB)"
plot "%(dat)s" using 4:xtic(1) title "bootstrap" lc rgb "#1f77b4", "" using 5 title "floor" lc rgb "#bbbbbb", "" using 7 title "writing floor" lc rgb "#777777"
unset multiplot
"""


# ---- main ----------------------------------------------------------------------------------------

# Instruction counts (callgrind, lr_bench_invoke): key, event, label, the handler's environment.
CALLGRIND_RUNS = [
    ("6mb", "6mb", "6 MB (~5,400 records)", {}),
    ("6mb-json", "6mb", "6 MB, AWS_LAMBDA_LOG_FORMAT=JSON", {"AWS_LAMBDA_LOG_FORMAT": "JSON"}),
    ("6mb-nolog", "6mb", "6 MB, LR_LOG_RECORDS=none", {"LR_LOG_RECORDS": "none"}),
]

# The reference the instruction targets are read against (bench/simdjson_floor.cpp, built when
# simdjson is installed): simdjson parsing the same event, with the x86-64 implementation named.
SIMDJSON_RUNS = [
    ("6mb-simdjson-dom-westmere", "6 MB, reference: simdjson DOM parse, SSE4.2", ["westmere"], {}),
    ("6mb-simdjson-dom-haswell", "6 MB, reference: simdjson DOM parse, AVX2", ["haswell"], {}),
    ("6mb-simdjson-od-westmere", "6 MB, reference: simdjson On-Demand, every value, SSE4.2",
     ["westmere", "walk"], {"LR_SIMDJSON_ONDEMAND": "1"}),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--invokes", type=int, default=2000, help="invokes of the 1-record event")
    ap.add_argument("--quick", action="store_true", help="a tenth of the invokes (smoke run)")
    ap.add_argument("--results", help="folder for the results (default: BUILD_DIR/bench-results)")
    ap.add_argument("--svg", help="where the chart goes (default: RESULTS/bench.svg)")
    ap.add_argument("--no-callgrind", action="store_true", help="skip the callgrind instruction counts")
    args = ap.parse_args()
    args.results = args.results or os.path.join(args.build_dir, "bench-results")
    args.svg = args.svg or os.path.join(args.results, "bench.svg")
    os.environ["LR_BUILD_DIR"] = os.path.abspath(args.build_dir)
    os.environ["LR_SOURCE_DIR"] = SOURCE
    import lrtest  # noqa: E402 (needs the environment above)

    os.makedirs(args.results, exist_ok=True)
    bootstrap = lrtest.bootstrap_path()
    floor = os.path.join(lrtest.build_dir(), "bench", "lr_bench_floor")
    div = 10 if args.quick else 1
    # key, label, records, bytes per record, max bytes, invokes, bootstrap env, reuse the event of
    scale = [("1", "1 record", 1, None, None, args.invokes // div, {}, None),
             ("100", "100 records", 100, 1100, None, 500 // div, {}, None),
             ("1000", "1,000 records (~1.1 MB)", 1000, 1100, None, 200 // div, {}, None),
             ("6mb", "6 MB (~5,400 records)", 10000, 1100, 6 * 1000 * 1000, 40 // div, {}, None),
             ("6mb-json", "6 MB, AWS_LAMBDA_LOG_FORMAT=JSON", 0, 0, 0, 40 // div,
              {"AWS_LAMBDA_LOG_FORMAT": "JSON"}, "6mb"),
             # The same batches with record logging off: what the parse and walk alone cost.
             ("1000-nolog", "1,000 records, LR_LOG_RECORDS=none", 0, 0, 0, 200 // div,
              {"LR_LOG_RECORDS": "none"}, "1000"),
             ("6mb-nolog", "6 MB, LR_LOG_RECORDS=none", 0, 0, 0, 40 // div,
              {"LR_LOG_RECORDS": "none"}, "6mb")]
    result = {"machine": machine(), "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "build_dir": lrtest.build_dir(), "loadavg_start": os.getloadavg(), "scenarios": []}
    events, event_paths = {}, {}
    floor_env = {"bootstrap": None, "floor": {}, "write_floor": {"LR_FLOOR_WRITE_EVENT": "1"}}
    for key, name, records, rec_bytes, max_bytes, invokes, env, event_of in scale:
        if event_of is None:
            path = os.path.join(args.results, "event-%s.json" % key)
            events[key] = generate_event(path, records, rec_bytes, max_bytes)
            event_paths[key] = path  # kept for the instruction counts, removed at the end
        payload, n = events[event_of or key]
        sc = {"key": key, "name": name, "records": n, "event_bytes": len(payload), "bootstrap_env": env}
        warmup = max(2, invokes // 10)
        for label, prog in (("bootstrap", bootstrap), ("floor", floor), ("write_floor", floor)):
            if label != "bootstrap" and event_of is not None:
                sc[label] = dict(by_key(result, event_of)[label])  # same event, same floors
                continue
            fig = run_scenario(lrtest, prog, payload, invokes, warmup,
                               env if label == "bootstrap" else floor_env[label])
            if fig["runtime_ms_p50"]:
                fig["records_per_s"] = n / (fig["runtime_ms_p50"] / 1000.0)
                fig["mb_per_s"] = len(payload) / 1e6 / (fig["runtime_ms_p50"] / 1000.0)
            sc[label] = fig
            print("%-36s %-9s in runtime p50 %s ms, round trip p50 %s ms, RSS %s MB" % (
                name, label, fmt(fig["runtime_ms_p50"]), fmt(fig["round_trip_ms_p50"]),
                fmt(fig["peak_rss_mb"])), file=sys.stderr)
        result["scenarios"].append(sc)
    result["callgrind"] = []
    if args.no_callgrind or not shutil.which("valgrind"):
        print("instruction counts skipped (%s)" % ("--no-callgrind" if args.no_callgrind else "no valgrind"),
              file=sys.stderr)
    else:
        for key, event_key, name, env in CALLGRIND_RUNS:
            count, out_file = callgrind_count(lrtest.build_dir(), event_paths[event_key], env, args.results, key)
            result["callgrind"].append({"key": key, "name": name, "env": env, "instructions": count,
                                        "event_bytes": len(events[event_key][0]), "profile": out_file})
            print("%-36s callgrind %.1f M instructions per invoke" % (name, count / 1e6), file=sys.stderr)
        if os.path.exists(os.path.join(lrtest.build_dir(), "bench", "lr_simdjson_floor")):
            for key, name, sj_args, env in SIMDJSON_RUNS:
                count, out_file = callgrind_count(lrtest.build_dir(), event_paths["6mb"], env, args.results, key,
                                                  "lr_simdjson_floor", "bench_measured_parse", sj_args)
                result["callgrind"].append({"key": key, "name": name, "env": env, "instructions": count,
                                            "event_bytes": len(events["6mb"][0]), "profile": out_file})
                print("%-36s callgrind %.1f M instructions" % (name, count / 1e6), file=sys.stderr)
    result["simdjson_ms"] = {event_key: simdjson_times(lrtest.build_dir(), event_paths[event_key])
                             for event_key in sorted({b[2] for b in SIMDJSON_BOUNDS})}
    for path in event_paths.values():
        os.unlink(path)
    result["cold_start"] = {"bootstrap": cold_start_ms(lrtest.build_dir(), bootstrap, 200 // div),
                            "floor": cold_start_ms(lrtest.build_dir(), floor, 200 // div)}
    result["loadavg_end"] = os.getloadavg()
    for zp in (os.path.join(lrtest.build_dir(), "function.zip"), os.path.join(SOURCE, "build", "function.zip")):
        if os.path.exists(zp):
            result["zip_bytes"] = os.path.getsize(zp)
            result["zip_path"] = zp
            break
    result["targets"] = check_targets(result)
    result["targets_17"] = check_targets_17(result)
    with open(os.path.join(args.results, "latest.json"), "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    with open(os.path.join(args.results, "latest.md"), "w") as f:
        f.write(markdown_table(result))
    write_chart(result, args.results, args.svg)
    print_table(result)


if __name__ == "__main__":
    main()

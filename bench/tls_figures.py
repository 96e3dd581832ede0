#!/usr/bin/env python3
"""TLS figures of docs/packaging.md ("TLS"): handshake and kept-alive request cost of each client.

    bench/tls_figures.py [--build-dir build] [--client NAME=PATH ...] [--fresh 50] [--reuse 2000]

Clients are builds of bench/tls_client.c: by default the static one of the packaging superbuild
(musl + mbedTLS, as in function.zip) and the normal build's (the system's libcurl + OpenSSL); more
with --client (e.g. a static build against another TLS library). All run in the same session
against the same local servers of tests/integration/tlstest.py (a CA made now; HTTPS with an
RSA-2048 server certificate like AWS endpoints', and plain HTTP), pinned to one CPU. Per client: a
full handshake (TCP connected -> TLS done), the same with a 144-certificate CA bundle (the system's
plus the test CA: libcurl parses the CA file for every new connection), and one GET on a kept-alive
connection over HTTPS (libcurl's default 64 KB upload buffer, and 16 KB) and over HTTP. Medians of wall time, and the client's CPU time per operation (getrusage):
the server is Python, so the CPU time is the figure that belongs to the client alone.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import tlstest  # noqa: E402

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def run(client, url, cainfo, args, cpu):
    cmd = ["taskset", "-c", str(cpu), client, "--url", url] + list(args)
    if cainfo:
        cmd += ["--cainfo", cainfo]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, check=True).stdout.decode()
    m = re.search(r"median_us=([\d.]+) .*cpu_us_each=([\d.]+)", out)
    return float(m.group(1)), float(m.group(2))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--client", action="append", default=[], help="NAME=PATH of another client")
    ap.add_argument("--fresh", type=int, default=50)
    ap.add_argument("--reuse", type=int, default=2000)
    ap.add_argument("--cpu", type=int, default=max(os.sched_getaffinity(0)))
    args = ap.parse_args()
    arch = "arm64" if os.uname().machine == "aarch64" else "x86_64"
    clients = [("static musl + mbedTLS", os.path.join(args.build_dir, "packaging-" + arch,
                                                     "lr_bench_tls_client")),
               ("system libcurl + OpenSSL", os.path.join(args.build_dir, "bench", "lr_bench_tls_client"))]
    clients += [tuple(c.split("=", 1)) for c in args.client]
    clients = [(n, p) for n, p in clients if os.path.exists(p)]
    with tlstest.TestCA() as ca, tempfile.TemporaryDirectory() as tmp:
        bundle = os.path.join(tmp, "bundle.pem")
        with open(bundle, "w") as out:
            if os.path.exists(SYSTEM_BUNDLE):
                out.write(open(SYSTEM_BUNDLE).read())
            out.write(open(ca.cert).read())
        cert = ca.issue("server", ["localhost"], rsa=True)
        with tlstest.TLSServer(*cert) as tls, tlstest.TLSServer(None, None) as plain:
            https = "https://localhost:%d/" % tls.port
            http = "http://localhost:%d/" % plain.port
            print("clients pinned to CPU %d; median wall ms / client CPU ms per operation" % args.cpu)
            head = ("client", "handshake", "handshake, 144-CA bundle", "HTTPS request",
                    "same, 16 KB upload buffer", "HTTP request")
            print("| " + " | ".join(head) + " |")
            print("|" + "---|" * len(head))
            for name, path in clients:
                f = args.fresh
                cells = [run(path, https, ca.cert, ["--fresh", str(f)], args.cpu),
                         run(path, https, bundle, ["--fresh", str(max(5, f // 5))], args.cpu),
                         run(path, https, ca.cert, ["--reuse", str(args.reuse)], args.cpu),
                         run(path, https, ca.cert, ["--reuse", str(args.reuse), "--upload-buffer",
                                                    "16384"], args.cpu),
                         run(path, http, None, ["--reuse", str(args.reuse)], args.cpu)]
                print("| %s | %s |" % (name, " | ".join("%.3f / %.3f" % (w / 1e3, c / 1e3)
                                                        for w, c in cells)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

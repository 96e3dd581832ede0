#!/usr/bin/env python3
"""lr_aws call latency next to boto3's, in the same run against the same servers (not a test).

For each server and transport, a fresh process makes one DynamoDB GetItem and then N more on the same
client: "first" is the first call (endpoint, connection, TLS handshake, signing key: everything the
client defers to it, and libcurl's global initialisation, which loads OpenSSL; for boto3 it includes
creating the client, which is where boto3 does that work). "libcurl initialised before" is the same
first call in a process that ran curl_global_init() first, as a bootstrap's Runtime API client has.
"steady" the median of the others. Each figure is the median over --runs processes.

Servers: moto_server (plain HTTP, and TLS through the test suite's TLS terminator with a CA made at run
time); moto answers every request with "Connection: close", so its steady state includes a new
connection per call. And the test suite's own keep-alive server answering "{}" at once, which leaves
only the clients' own cost (signing, HTTP, TLS record layer, parsing).

    python3 bench/aws_bench.py [--build-dir build] [--runs 5] [--calls 50]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))

BOTO = r"""
import json, sys, time
t0 = time.perf_counter()
import boto3
endpoint, ca, n = sys.argv[1], sys.argv[2] or None, int(sys.argv[3])
t1 = time.perf_counter()
c = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", verify=ca if ca else True)
key = {"pk": {"S": "bench"}}
c.get_item(TableName="bench", Key=key)
t2 = time.perf_counter()
times = []
for _ in range(n):
    a = time.perf_counter()
    c.get_item(TableName="bench", Key=key)
    times.append((time.perf_counter() - a) * 1e6)
print(json.dumps({"first": (t2 - t1) * 1e6, "import": (t1 - t0) * 1e6, "steady": times}))
"""


def ours(build_dir, env, calls, body_file, curl_init):
    out = subprocess.run([os.path.join(build_dir, "tools", "aws_call", "aws_call"), "--repeat", str(calls + 1),
                          "--curl-init", str(curl_init), "dynamodb", "GetItem", body_file], env=env,
                         capture_output=True, check=True).stdout.decode()
    import awstest
    us = [int(m[3]) for m in awstest.LINE.findall(out)]
    return us[0], statistics.median(us[1:])


def boto(env, endpoint, ca, calls):
    out = subprocess.run([sys.executable, "-c", BOTO, endpoint, ca or "", str(calls)], env=env,
                         capture_output=True, check=True).stdout
    r = json.loads(out)
    return r["first"], statistics.median(r["steady"]), r["import"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.path.join(SOURCE, "build"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--calls", type=int, default=50)
    args = ap.parse_args()
    os.environ["LR_BUILD_DIR"] = os.path.abspath(args.build_dir)
    import awstest
    why = awstest.missing_driver() or awstest.moto_missing() or awstest.pki_missing()
    if why:
        sys.exit("aws_bench: " + why)

    tmp = tempfile.TemporaryDirectory(prefix="aws-bench-")
    pki = awstest.TestPKI(tmp.name)
    body_file = os.path.join(tmp.name, "get.json")
    with open(body_file, "w") as f:
        json.dump({"TableName": "bench", "Key": {"pk": {"S": "bench"}}}, f)
    moto = awstest.Moto()
    proxy = awstest.TLSProxy(pki.server_context(pki.good), moto.port)
    item = b'{"Item":{"pk":{"S":"bench"},"v":{"S":"' + b"x" * 100 + b'"}}}'
    local = awstest.FakeAWS(lambda n: ("send", awstest.reply("200 OK", item)))
    local_tls = awstest.FakeAWS(lambda n: ("send", awstest.reply("200 OK", item)),
                                context=pki.server_context(pki.good))
    try:
        moto.client("dynamodb").create_table(
            TableName="bench", BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
        moto.client("dynamodb").put_item(TableName="bench", Item={"pk": {"S": "bench"}, "v": {"S": "x" * 100}})
        targets = [("moto, HTTP", moto.endpoint, None), ("moto, TLS", "https://localhost:%d" % proxy.port, pki.ca),
                   ("keep-alive server, HTTP", local.url, None), ("keep-alive server, TLS", local_tls.url, pki.ca)]
        rows = []
        for name, endpoint, ca in targets:
            env = awstest.base_env(AWS_ENDPOINT_URL=endpoint, SSL_CERT_FILE=ca)
            o = [ours(args.build_dir, env, args.calls, body_file, 0) for _ in range(args.runs)]
            pre = [ours(args.build_dir, env, args.calls, body_file, 1) for _ in range(args.runs)]
            b = [boto(env, endpoint, ca, args.calls) for _ in range(args.runs)]
            med = lambda xs, i: statistics.median(x[i] for x in xs)  # noqa: E731
            rows.append((name, med(o, 0), med(pre, 0), med(b, 0), med(o, 1), med(b, 1), med(b, 2)))
    finally:
        for s in (local, local_tls, proxy):
            s.close()
        moto.close()
        tmp.cleanup()

    print("DynamoDB GetItem, median of %d processes, %d steady calls each (microseconds)" % (args.runs, args.calls))
    print("| server | first: lr_aws | (libcurl initialised before) | first: boto3 | boto3 / lr_aws "
          "| steady: lr_aws | steady: boto3 | boto3 / lr_aws |")
    print("|---|---|---|---|---|---|---|---|")
    for name, of, pf, bf, os_, bs, _ in rows:
        print("| %s | %.0f | %.0f | %.0f | %.1fx | %.0f | %.0f | %.1fx |" % (name, of, pf, bf, bf / of, os_, bs, bs / os_))
    print("(boto3's import alone, not counted above: %.0f us; load average %.1f)"
          % (statistics.median(r[6] for r in rows), os.getloadavg()[0]))


if __name__ == "__main__":
    main()

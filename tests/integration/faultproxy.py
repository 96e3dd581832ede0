#!/usr/bin/env python3
"""A fault-injecting HTTP/1.1 proxy for the AWS JSON protocol (DynamoDB), to sit between a client (the
bootstrap's sink, boto3) and moto_server. For a seeded random fraction of the requests it answers in
place of the service, or changes what reaches it:

| kind             | what the client gets                                             | reaches moto          |
|------------------|------------------------------------------------------------------|-----------------------|
| `throughput`     | 400 ProvisionedThroughputExceededException                       | no                    |
| `throttling`     | 400 ThrottlingException                                          | no                    |
| `internal`       | 500 InternalServerError                                          | no                    |
| `reset`          | the connection reset (RST) once the request is read, no answer   | no                    |
| `reset_mid_body` | moto's status line, headers and half its body, then a reset      | yes: it was applied   |
| `partial`        | (BatchWriteItem only) 200 with a random part of the RequestItems | only the other part   |
|                  | returned as UnprocessedItems                                     |                       |

Error answers have the service's shape: `Content-Type: application/x-amz-json-1.0`, `x-amzn-ErrorType`,
`x-amzn-RequestId`, `x-amz-crc32` and a body `{"__type": "<namespace>#<Code>", "message": ...}`.
`partial` forwards a non-empty proper subset of the write requests (chosen by the seeded generator,
order kept) and adds the rest to moto's own UnprocessedItems, so what moto applied and what the client
is told is unprocessed are exactly complementary; a BatchWriteItem of one write request cannot be
split and is forwarded untouched (it counts as not faulted). Every other request, and every request
the dice spare, is forwarded byte for byte: method, path, headers (Host and the SigV4 `Authorization`,
`X-Amz-Date`, `X-Amz-Security-Token` among them) and body, so moto can verify the client's signature.

Signatures and `partial`. The shortened body no longer matches the client's signature, which covers the
payload's SHA-256. With `credentials=(key, secret[, token])` (the test's own credentials, the ones the
client signs with) the proxy signs the changed request again with botocore's SigV4Auth, for the region
and service of the client's credential scope and the Host the client sent, so moto with IAM
authentication on (INITIAL_NO_AUTH_ACTION_COUNT) accepts it. Without credentials the changed request
goes out with the client's stale signature, which only a moto with authentication off accepts.
The proxy never logs a header or a credential.

Answers taken from moto are passed on as they are (Content-Length recomputed, hop-by-hop headers
dropped); a changed answer gets a new `x-amz-crc32` (botocore checks it for DynamoDB).

    with FaultProxy(moto.endpoint, seed=7, rates={"throughput": 0.1, "partial": 0.2},
                    credentials=(key, secret)) as proxy:
        client = boto3.client("dynamodb", endpoint_url=proxy.url, ...)
        ...
        proxy.counts   # {"requests": 40, "forwarded": 35, "throughput": 4, "partial": 7, ...}

`operations` limits the faults to those X-Amz-Target operations (e.g. {"BatchWriteItem"}); others are
always forwarded. `set_rates()` changes the rates while running. Also runs as a program
(`faultproxy.py --upstream URL --seed N --rate partial=0.3 ... --port-file F`; credentials for
re-signing from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN) and prints its counters
as one JSON line when it receives SIGTERM or SIGINT.
"""

import argparse
import http.client
import json
import os
import random
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
import urllib.parse
import uuid
import zlib

KINDS = ("throughput", "throttling", "internal", "reset", "reset_mid_body", "partial")

# (status line, x-amzn-ErrorType, __type, message) of the answers the proxy gives in the service's place.
ERRORS = {
    "throughput": ("400 Bad Request", "ProvisionedThroughputExceededException",
                   "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                   "The level of configured provisioned throughput for the table was exceeded. "
                   "Consider increasing your provisioning level with the UpdateTable API."),
    "throttling": ("400 Bad Request", "ThrottlingException", "com.amazon.coral.availability#ThrottlingException",
                   "Rate of requests exceeds the allowed throughput."),
    "internal": ("500 Internal Server Error", "InternalServerError",
                 "com.amazonaws.dynamodb.v20120810#InternalServerError", "Internal server error"),
}

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
              "content-length"}


class BadRequest(Exception):
    """A request this proxy cannot relay (answered 400 by the proxy itself)."""


def read_request(rfile):
    """(method, target, [(name, value)], body) of the next request on the connection, None at its end."""
    line = rfile.readline(65537)
    while line in (b"\r\n", b"\n"):  # tolerated between requests
        line = rfile.readline(65537)
    if not line:
        return None
    parts = line.decode("latin-1").rstrip("\r\n").split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest("bad request line")
    headers = []
    while True:
        h = rfile.readline(65537)
        if not h:
            return None
        if h in (b"\r\n", b"\n"):
            break
        name, sep, value = h.decode("latin-1").partition(":")
        if not sep:
            raise BadRequest("bad header line")
        headers.append((name.strip(), value.strip()))
    lower = {k.lower(): v for k, v in headers}
    if "chunked" in lower.get("transfer-encoding", "").lower():
        raise BadRequest("chunked request bodies are not supported")
    length = int(lower.get("content-length", "0") or 0)
    body = rfile.read(length) if length else b""
    if len(body) != length:
        return None
    return parts[0], parts[1], headers, body


def header(headers, name):
    name = name.lower()
    return next((v for k, v in headers if k.lower() == name), None)


def response_bytes(status, headers, body):
    head = "HTTP/1.1 %s\r\n" % status
    head += "".join("%s: %s\r\n" % kv for kv in headers if kv[0].lower() not in HOP_BY_HOP)
    head += "Content-Length: %d\r\n\r\n" % len(body)
    return head.encode("latin-1") + body


def error_answer(kind):
    status, code, type_, message = ERRORS[kind]
    body = json.dumps({"__type": type_, "message": message}).encode()
    return response_bytes(status, [("Content-Type", "application/x-amz-json-1.0"),
                                   ("x-amzn-RequestId", str(uuid.uuid4())), ("x-amzn-ErrorType", code),
                                   ("x-amz-crc32", str(zlib.crc32(body) & 0xFFFFFFFF))], body)


def credential_scope(authorization):
    """(region, service) of a SigV4 Authorization header's credential scope, or None."""
    for part in (authorization or "").replace(",", " ").split():
        if part.startswith("Credential="):
            scope = part[len("Credential="):].split("/")
            if len(scope) == 5:
                return scope[2], scope[3]
    return None


class FaultProxy:
    """The proxy, serving on 127.0.0.1 (an ephemeral port unless port is given) from a thread of its own.
    upstream: the service's base URL (http only). rates: {kind: probability}, summing to at most 1.
    counts: requests, forwarded, one per kind, and partial_applied / partial_unprocessed (write
    requests). events: (request number, operation, kind or None) of every request, in order."""

    def __init__(self, upstream, seed=0, rates=None, credentials=None, operations=None, port=0):
        url = urllib.parse.urlsplit(upstream)
        if url.scheme != "http" or not url.hostname:
            raise ValueError("upstream must be an http:// URL, got %r" % upstream)
        self.upstream = (url.hostname, url.port or 80)
        self.credentials = credentials
        self.operations = set(operations) if operations else None
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.counts = dict({k: 0 for k in KINDS}, requests=0, forwarded=0, partial_applied=0,
                           partial_unprocessed=0)
        self.events = []
        self.set_rates(rates or {})
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                proxy._serve(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, name="faultproxy", daemon=True)
        self.thread.start()

    def set_rates(self, rates):
        unknown = set(rates) - set(KINDS)
        if unknown:
            raise ValueError("unknown fault kinds: %s" % ", ".join(sorted(unknown)))
        if any(r < 0 for r in rates.values()) or sum(rates.values()) > 1 + 1e-9:
            raise ValueError("rates must be >= 0 and sum to at most 1: %r" % rates)
        with self.lock:
            self.rates = dict(rates)

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # -- one connection ------------------------------------------------------------------------------

    def _serve(self, sock):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rfile = sock.makefile("rb")
        try:
            while True:
                try:
                    req = read_request(rfile)
                except BadRequest as e:
                    sock.sendall(response_bytes("400 Bad Request", [("Content-Type", "text/plain")],
                                                ("faultproxy: %s\n" % e).encode()))
                    return
                if req is None:
                    return
                if not self._answer(sock, *req):
                    return
        except OSError:
            pass  # the client went away
        finally:
            rfile.close()
            try:
                sock.close()
            except OSError:
                pass

    def _draw(self, operation, is_splittable):
        """The fault for this request (or None), and its number; one draw per request, in arrival order."""
        with self.lock:
            n = self.counts["requests"]
            self.counts["requests"] += 1
            u = self.random.random()
            kind, acc = None, 0.0
            if self.operations is None or operation in self.operations:
                for k in KINDS:
                    acc += self.rates.get(k, 0.0)
                    if u < acc:
                        kind = k
                        break
            if kind == "partial" and not is_splittable:
                kind = None
            if kind:
                self.counts[kind] += 1
            self.events.append((n, operation, kind))
            return n, kind

    def _answer(self, sock, method, target, headers, body):
        """Handles one request; returns False when the connection is to be dropped."""
        amz_target = header(headers, "X-Amz-Target") or ""
        operation = amz_target.rpartition(".")[2]
        held = None
        if operation == "BatchWriteItem":
            try:
                items = json.loads(body)["RequestItems"]
                splittable = sum(len(v) for v in items.values()) >= 2
            except (ValueError, KeyError, TypeError, AttributeError):
                splittable = False
        else:
            splittable = False
        _, kind = self._draw(operation, splittable)
        if kind in ERRORS:
            sock.sendall(error_answer(kind))
            return True
        if kind == "reset":
            self._reset(sock)
            return False
        if kind == "partial":
            body, held = self._split(json.loads(body), headers)
            headers = self._signed_again(method, target, headers, body)
        status, resp_headers, resp_body = self._forward(method, target, headers, body)
        if held is not None:
            resp_body = self._merge_unprocessed(status, resp_body, held)
            resp_headers = [(k, v) for k, v in resp_headers if k.lower() != "x-amz-crc32"]
            resp_headers.append(("x-amz-crc32", str(zlib.crc32(resp_body) & 0xFFFFFFFF)))
        answer = response_bytes(status, resp_headers, resp_body)
        if kind == "reset_mid_body":
            cut = len(answer) - len(resp_body) + len(resp_body) // 2
            sock.sendall(answer[:cut])
            time.sleep(0.02)  # lets the partial answer reach the client before the reset
            self._reset(sock)
            return False
        sock.sendall(answer)
        return True

    @staticmethod
    def _reset(sock):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()

    # -- partial BatchWriteItem ----------------------------------------------------------------------

    def _split(self, request, headers):
        """(body to forward, {table: [write requests held back]}): a non-empty proper subset goes on."""
        flat = [(table, i) for table, writes in request["RequestItems"].items() for i in range(len(writes))]
        with self.lock:
            keep = set(self.random.sample(range(len(flat)), self.random.randint(1, len(flat) - 1)))
            self.counts["partial_applied"] += len(keep)
            self.counts["partial_unprocessed"] += len(flat) - len(keep)
        forwarded, held = {}, {}
        for n, (table, i) in enumerate(flat):
            (forwarded if n in keep else held).setdefault(table, []).append(request["RequestItems"][table][i])
        out = dict(request, RequestItems=forwarded)
        return json.dumps(out).encode(), held

    @staticmethod
    def _merge_unprocessed(status, resp_body, held):
        """moto's answer with the held-back writes added to its UnprocessedItems (an error stays as is)."""
        if not status.startswith("200"):
            return resp_body
        doc = json.loads(resp_body) if resp_body.strip() else {}
        unprocessed = doc.setdefault("UnprocessedItems", {})
        for table, writes in held.items():
            unprocessed.setdefault(table, []).extend(writes)
        return json.dumps(doc).encode()

    def _signed_again(self, method, target, headers, body):
        """The headers for a changed body: signed again with the test credentials when the proxy has them
        (same Host, region and service as the client's signature), else as the client sent them."""
        scope = credential_scope(header(headers, "Authorization"))
        if self.credentials is None or scope is None:
            return headers
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        resigned = ("authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256")
        kept = [(k, v) for k, v in headers if k.lower() not in resigned and k.lower() not in HOP_BY_HOP]
        signed = [(k, v) for k, v in kept if k.lower() not in ("user-agent", "x-amzn-trace-id", "expect")]
        req = AWSRequest(method=method, url="http://%s%s" % (header(headers, "Host"), target),
                         data=body, headers=dict(signed))
        SigV4Auth(Credentials(*self.credentials), scope[1], scope[0]).add_auth(req)
        extra = [(k, v) for k, v in req.headers.items() if k.lower() in resigned]
        return kept + extra

    # -- the upstream --------------------------------------------------------------------------------

    def _forward(self, method, target, headers, body):
        """(status line text, headers, body) of the upstream's answer to the request as given."""
        conn = http.client.HTTPConnection(*self.upstream, timeout=120)
        try:
            conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for k, v in headers:
                if k.lower() not in HOP_BY_HOP:
                    conn.putheader(k, v)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            data = resp.read()
            with self.lock:
                self.counts["forwarded"] += 1
            return "%d %s" % (resp.status, resp.reason), resp.getheaders(), data
        finally:
            conn.close()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--upstream", required=True, help="the service's base URL, e.g. http://127.0.0.1:5000")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rate", action="append", default=[], metavar="KIND=P",
                   help="probability of a fault kind (repeatable): %s" % ", ".join(KINDS))
    p.add_argument("--operation", action="append", default=[], help="fault only these operations (repeatable)")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", help="written with the port once listening")
    args = p.parse_args(argv)
    rates = {}
    for pair in args.rate:
        kind, _, value = pair.partition("=")
        rates[kind] = float(value)
    env = os.environ
    creds = None
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        creds = (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env.get("AWS_SESSION_TOKEN"))
    proxy = FaultProxy(args.upstream, args.seed, rates, creds, args.operation or None, args.port)
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % proxy.port)
        os.rename(args.port_file + ".tmp", args.port_file)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    proxy.close()
    print(json.dumps(proxy.counts, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

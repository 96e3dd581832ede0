#!/usr/bin/env python3
"""A fault-injecting HTTP/1.1 proxy for AWS calls, to sit between a client (the bootstrap's sink, boto3)
and moto_server. It knows four services by the shape of the request, and answers in each one's own
shape: DynamoDB (JSON 1.0, `X-Amz-Target: DynamoDB_20120810.*`; also any other X-Amz-Target it does not
know), SQS (JSON 1.0, `AmazonSQS.*`), EventBridge (JSON 1.1, `AWSEvents.*`) and SNS (the query protocol:
no X-Amz-Target, a form body `Action=...`). For a seeded random fraction of the requests it answers in
place of the service, or changes what reaches it:

| kind             | what the client gets                                             | reaches moto          |
|------------------|------------------------------------------------------------------|-----------------------|
| `throughput`     | (DynamoDB only) 400 ProvisionedThroughputExceededException       | no                    |
| `throttling`     | 400: DynamoDB ThrottlingException, SQS ThrottlingException, SNS  | no                    |
|                  | Throttling, EventBridge ThrottlingException                      |                       |
| `internal`       | 500: DynamoDB InternalServerError, SQS InternalFailure, SNS      | no                    |
|                  | InternalError, EventBridge InternalException                     |                       |
| `reset`          | the connection reset (RST) once the request is read, no answer   | no                    |
| `reset_mid_body` | moto's status line, headers and half its body, then a reset      | yes: it was applied   |
| `partial`        | (batch calls only) 200 with a random part of the entries         | only the other part   |
|                  | reported as not done, in the service's words (below)             |                       |

Error answers have the service's shape, with an `x-amzn-RequestId` header:
- DynamoDB: `Content-Type: application/x-amz-json-1.0`, `x-amzn-ErrorType`, `x-amz-crc32` and a body
  `{"__type": "<namespace>#<Code>", "message": ...}`;
- SQS: `Content-Type: application/x-amz-json-1.0`, `x-amzn-ErrorType`, `x-amzn-query-error:
  <Code>;Sender` (or `;Receiver`), body `{"__type": "com.amazonaws.sqs#<Code>", "message": ...}`;
- EventBridge: `Content-Type: application/x-amz-json-1.1`, `x-amzn-ErrorType`, body
  `{"__type": "<Code>", "message": ...}`;
- SNS (and any query-protocol call): `Content-Type: text/xml`, body `<ErrorResponse><Error><Type>Sender
  </Type><Code>Throttling</Code><Message>..</Message></Error><RequestId>..</RequestId></ErrorResponse>`
  (Type Receiver for InternalError).
`throughput` applies to DynamoDB only: another service's request drawn for it is forwarded untouched
(it counts as not faulted).

`partial` applies to the batch calls, and forwards a non-empty proper subset of their entries (chosen
by a seeded generator of its own, order kept); the rest is reported back as not done, merged into moto's own
answer, so that what moto applied and what the client is told failed are exactly complementary:
- DynamoDB BatchWriteItem: the held-back write requests are added to UnprocessedItems;
- SQS SendMessageBatch: each held-back entry is added to `Failed` as `{"Id", "SenderFault": false,
  "Code": "InternalError", "Message"}`;
- SNS PublishBatch: each held-back entry is added to `PublishBatchResult`'s `<Failed>` as `<member><Id>
  ..</Id><Code>InternalError</Code><Message>..</Message><SenderFault>false</SenderFault></member>` (the
  forwarded members are numbered 1..k again, as the protocol wants);
- EventBridge PutEvents: the answer keeps the request's positions: moto's entries at the forwarded
  positions, `{"ErrorCode": "ThrottlingException", "ErrorMessage": ...}` at the held-back ones, and
  FailedEntryCount counts them.
A batch call of one entry cannot be split and is forwarded untouched (it counts as not faulted), and
so is every other operation drawn for `partial`. Every other request, and every request the dice
spare, is forwarded byte for byte: method, path, headers (Host and the SigV4 `Authorization`,
`X-Amz-Date`, `X-Amz-Security-Token` among them) and body, so moto can verify the client's signature.

Signatures and `partial`. The shortened body no longer matches the client's signature, which covers the
payload's SHA-256. With `credentials=(key, secret[, token])` (the test's own credentials, the ones the
client signs with) the proxy signs the changed request again with botocore's SigV4Auth, for the region
and service of the client's credential scope and the Host the client sent, so moto with IAM
authentication on (INITIAL_NO_AUTH_ACTION_COUNT) accepts it. Without credentials the changed request
goes out with the client's stale signature, which only a moto with authentication off accepts.
The proxy never logs a header or a credential.

Answers taken from moto are passed on as they are (Content-Length recomputed, hop-by-hop headers
dropped); a changed DynamoDB answer gets a new `x-amz-crc32` (botocore checks it for DynamoDB).

    with FaultProxy(moto.endpoint, seed=7, rates={"throughput": 0.1, "partial": 0.2},
                    credentials=(key, secret)) as proxy:
        client = boto3.client("dynamodb", endpoint_url=proxy.url, ...)
        ...
        proxy.counts   # {"requests": 40, "forwarded": 35, "throughput": 4, "partial": 7, ...}

Every request takes one draw of the seeded generator, in arrival order, so the kind the n-th request
is drawn for depends on the seed, the rates and n only (the subsets `partial` forwards come from a
generator of their own); whether that kind applies to the request is the request's affair.

`operations` limits the faults to those operations (the X-Amz-Target's operation, or the query
protocol's Action: e.g. {"BatchWriteItem"} or {"SendMessageBatch", "PublishBatch", "PutEvents"});
others are always forwarded. `set_rates()` changes the rates while running. Also runs as a program
(`faultproxy.py --upstream URL --seed N --rate partial=0.3 ... --port-file F`; credentials for
re-signing from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN) and prints its counters
as one JSON line when it receives SIGTERM or SIGINT.
"""

import argparse
import http.client
import json
import os
import random
import re
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
from xml.sax.saxutils import escape as xml_escape

KINDS = ("throughput", "throttling", "internal", "reset", "reset_mid_body", "partial")

# The answers the proxy gives in the service's place, per service and kind: (status line, code, the
# JSON __type or the query protocol's error Type, message).
ERRORS = {
    "dynamodb": {
        "throughput": ("400 Bad Request", "ProvisionedThroughputExceededException",
                       "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                       "The level of configured provisioned throughput for the table was exceeded. "
                       "Consider increasing your provisioning level with the UpdateTable API."),
        "throttling": ("400 Bad Request", "ThrottlingException",
                       "com.amazon.coral.availability#ThrottlingException",
                       "Rate of requests exceeds the allowed throughput."),
        "internal": ("500 Internal Server Error", "InternalServerError",
                     "com.amazonaws.dynamodb.v20120810#InternalServerError", "Internal server error"),
    },
    "sqs": {
        "throttling": ("400 Bad Request", "ThrottlingException", "com.amazonaws.sqs#ThrottlingException",
                       "Rate exceeded"),
        "internal": ("500 Internal Server Error", "InternalFailure", "com.amazonaws.sqs#InternalFailure",
                     "The request processing has failed because of an unknown error, exception or failure."),
    },
    "eventbridge": {
        "throttling": ("400 Bad Request", "ThrottlingException", "ThrottlingException", "Rate exceeded"),
        "internal": ("500 Internal Server Error", "InternalException", "InternalException",
                     "An internal error occurred."),
    },
    "sns": {
        "throttling": ("400 Bad Request", "Throttling", "Sender", "Rate exceeded"),
        "internal": ("500 Internal Server Error", "InternalError", "Receiver", "Internal Error"),
    },
}
JSON_CONTENT_TYPE = {"dynamodb": "application/x-amz-json-1.0", "sqs": "application/x-amz-json-1.0",
                     "eventbridge": "application/x-amz-json-1.1"}
# The batch call of each service that `partial` splits.
BATCH_OPERATIONS = {"dynamodb": "BatchWriteItem", "sqs": "SendMessageBatch", "sns": "PublishBatch",
                    "eventbridge": "PutEvents"}
PARTIAL_MESSAGE = "faultproxy: this entry was held back (partial)"
SNS_MEMBER = re.compile(r"^PublishBatchRequestEntries\.member\.(\d+)\.(.*)$", re.S)

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


def error_answer(service, kind):
    """The bytes of the service's error answer for kind (a key of ERRORS[service])."""
    status, code, type_, message = ERRORS[service][kind]
    request_id = str(uuid.uuid4())
    if service == "sns":
        body = ('<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>%s</Type>'
                "<Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>"
                % (type_, code, xml_escape(message), request_id)).encode()
        return response_bytes(status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body)
    body = json.dumps({"__type": type_, "message": message}).encode()
    headers = [("Content-Type", JSON_CONTENT_TYPE[service]), ("x-amzn-RequestId", request_id),
               ("x-amzn-ErrorType", code)]
    if service == "sqs":
        headers.append(("x-amzn-query-error", "%s;%s" % (code, "Receiver" if status[0] == "5" else "Sender")))
    if service == "dynamodb":
        headers.append(("x-amz-crc32", str(zlib.crc32(body) & 0xFFFFFFFF)))
    return response_bytes(status, headers, body)


def parse_form(body):
    """[(name, value)] of a form body, in order; percent escapes decoded as UTF-8 (bytes that are not
    UTF-8 survive the round trip through form_body())."""
    return urllib.parse.parse_qsl(body.decode("utf-8", "surrogateescape"), keep_blank_values=True,
                                  encoding="utf-8", errors="surrogateescape")


def form_body(pairs):
    """A form body of [(name, value)]: spaces as '+', as botocore writes it. (moto with IAM authentication
    on checks the signature of a form body against the body it rebuilds from the parsed form that way,
    so a '%20' in a body the proxy signed again would not verify there.)"""
    return urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote_plus, safe="-_.~", encoding="utf-8",
                                  errors="surrogateescape").encode("ascii")


def classify(headers, body):
    """(service, operation) of a request: by its X-Amz-Target prefix, else, for a form body, the query
    protocol's Action (served as SNS); DynamoDB for whatever else."""
    target = header(headers, "X-Amz-Target")
    if target:
        prefix, _, operation = target.rpartition(".")
        return {"AmazonSQS": "sqs", "AWSEvents": "eventbridge"}.get(prefix, "dynamodb"), operation
    ctype = (header(headers, "Content-Type") or "").lower()
    if "x-www-form-urlencoded" in ctype or body.startswith(b"Action="):
        action = next((v for k, v in parse_form(body) if k == "Action"), None)
        if action is not None:
            return "sns", action
    return "dynamodb", ""


def entries_of(service, operation, body):
    """How many entries the batch call holds (0 when it is not the service's batch call or unreadable)."""
    if BATCH_OPERATIONS.get(service) != operation:
        return 0
    try:
        if service == "sns":
            return len({m.group(1) for m in (SNS_MEMBER.match(k) for k, _ in parse_form(body)) if m})
        doc = json.loads(body)
        if service == "dynamodb":
            return sum(len(v) for v in doc["RequestItems"].values())
        return len(doc["Entries"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return 0


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
    counts: requests, forwarded, one per kind, and partial_applied / partial_unprocessed (the
    entries of split batch calls forwarded and held back). events: (request number, operation, kind or
    None) of every request, in order. With keep_answers, answers: (operation, the body as forwarded,
    status line text, the upstream's answer body) of every request that reached the upstream, in the
    order of the answers (what the service was sent and acknowledged, for a test to explain a loss)."""

    def __init__(self, upstream, seed=0, rates=None, credentials=None, operations=None, port=0,
                 keep_answers=False):
        url = urllib.parse.urlsplit(upstream)
        if url.scheme != "http" or not url.hostname:
            raise ValueError("upstream must be an http:// URL, got %r" % upstream)
        self.upstream = (url.hostname, url.port or 80)
        self.credentials = credentials
        self.operations = set(operations) if operations else None
        self.random = random.Random(seed)  # one draw per request: its kind
        self.split_random = random.Random("%r/partial" % (seed,))  # the subsets partial forwards
        self.lock = threading.Lock()
        self.counts = dict({k: 0 for k in KINDS}, requests=0, forwarded=0, partial_applied=0,
                           partial_unprocessed=0)
        self.events = []
        self.answers = [] if keep_answers else None
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

    def _draw(self, service, operation, is_splittable):
        """The fault for this request (or None), and its number; one draw per request, in arrival order.
        A kind that does not apply to the request (throughput off DynamoDB, partial off a batch call of
        two entries or more) leaves it unfaulted."""
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
            if (kind == "partial" and not is_splittable) or (kind in ERRORS["dynamodb"]
                                                             and kind not in ERRORS[service]):
                kind = None
            if kind:
                self.counts[kind] += 1
            self.events.append((n, operation, kind))
            return n, kind

    def _answer(self, sock, method, target, headers, body):
        """Handles one request; returns False when the connection is to be dropped."""
        service, operation = classify(headers, body)
        _, kind = self._draw(service, operation, entries_of(service, operation, body) >= 2)
        if kind in ERRORS[service]:
            sock.sendall(error_answer(service, kind))
            return True
        if kind == "reset":
            self._reset(sock)
            return False
        held = None
        if kind == "partial":
            body, held = self._split(service, body)
            headers = self._signed_again(method, target, headers, body)
        status, resp_headers, resp_body = self._forward(method, target, headers, body)
        if self.answers is not None:
            with self.lock:
                self.answers.append((operation, body, status, resp_body))
        if held is not None and status.startswith("200"):  # an error answer stays as it is
            resp_body = self._merge(service, resp_body, held)
            if service == "dynamodb":
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

    # -- partial batch calls -------------------------------------------------------------------------

    def _keep(self, n):
        """A random non-empty proper subset of range(n) (n >= 2), counted."""
        with self.lock:
            keep = set(self.split_random.sample(range(n), self.split_random.randint(1, n - 1)))
            self.counts["partial_applied"] += len(keep)
            self.counts["partial_unprocessed"] += n - len(keep)
        return keep

    def _split(self, service, body):
        """(body to forward, what was held back, as _merge() takes it) of a batch call."""
        if service == "sns":
            pairs = parse_form(body)
            members = {}  # member number -> [(rest of the name, value)], in the request's order
            for k, v in pairs:
                m = SNS_MEMBER.match(k)
                if m:
                    members.setdefault(int(m.group(1)), []).append((m.group(2), v))
            numbers = sorted(members)
            keep = self._keep(len(numbers))
            out = [(k, v) for k, v in pairs if not SNS_MEMBER.match(k)]
            kept = [members[numbers[i]] for i in range(len(numbers)) if i in keep]
            for n, fields in enumerate(kept, 1):
                out += [("PublishBatchRequestEntries.member.%d.%s" % (n, rest), v) for rest, v in fields]
            held = [dict(members[numbers[i]]).get("Id", "") for i in range(len(numbers)) if i not in keep]
            return form_body(out), held
        request = json.loads(body)
        if service == "dynamodb":
            flat = [(table, i) for table, writes in request["RequestItems"].items() for i in range(len(writes))]
            keep = self._keep(len(flat))
            forwarded, held = {}, {}
            for n, (table, i) in enumerate(flat):
                (forwarded if n in keep else held).setdefault(table, []).append(request["RequestItems"][table][i])
            return json.dumps(dict(request, RequestItems=forwarded)).encode(), held
        entries = request["Entries"]
        keep = self._keep(len(entries))
        forwarded = [e for i, e in enumerate(entries) if i in keep]
        if service == "sqs":
            held = [e.get("Id", "") for i, e in enumerate(entries) if i not in keep]
        else:  # eventbridge: the positions matter
            held = [i in keep for i in range(len(entries))]
        return json.dumps(dict(request, Entries=forwarded)).encode(), held

    @staticmethod
    def _merge(service, resp_body, held):
        """moto's 200 answer to the forwarded part with the held-back entries reported as not done."""
        if service == "sns":
            text = resp_body.decode("utf-8")
            members = "".join("<member><Id>%s</Id><Code>InternalError</Code><Message>%s</Message>"
                              "<SenderFault>false</SenderFault></member>" % (xml_escape(i), PARTIAL_MESSAGE)
                              for i in held)
            if "<Failed/>" in text:
                text = text.replace("<Failed/>", "<Failed>%s</Failed>" % members, 1)
            elif "</Failed>" in text:
                text = text.replace("</Failed>", members + "</Failed>", 1)
            else:
                text = text.replace("</PublishBatchResult>", "<Failed>%s</Failed></PublishBatchResult>" % members, 1)
            return text.encode("utf-8")
        doc = json.loads(resp_body) if resp_body.strip() else {}
        if service == "dynamodb":
            unprocessed = doc.setdefault("UnprocessedItems", {})
            for table, writes in held.items():
                unprocessed.setdefault(table, []).extend(writes)
        elif service == "sqs":
            doc.setdefault("Failed", []).extend({"Id": i, "SenderFault": False, "Code": "InternalError",
                                                 "Message": PARTIAL_MESSAGE} for i in held)
        else:  # eventbridge: moto's entries in the forwarded positions, errors in the others
            theirs = iter(doc.get("Entries", []))
            entries = [next(theirs, {}) if forwarded else
                       {"ErrorCode": "ThrottlingException", "ErrorMessage": PARTIAL_MESSAGE}
                       for forwarded in held]
            doc["Entries"] = entries
            doc["FailedEntryCount"] = doc.get("FailedEntryCount", 0) + held.count(False)
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

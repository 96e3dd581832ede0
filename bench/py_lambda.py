"""What the Python bootstraps of bench/ (py_replicator.py, py_sender.py) share: the Runtime API loop
over urllib, as a custom runtime in Python has it, and the event's AttributeValues made ready for boto3.
bench/sink_bench.py copies this file next to each bootstrap it writes."""

import base64
import json
import os
import urllib.request

API = "http://%s/2018-06-01/runtime" % os.environ.get("AWS_LAMBDA_RUNTIME_API", "")


def from_event(value):
    """An AttributeValue of the event (binary as base64 text) as boto3 takes it (binary as bytes)."""
    (kind, inner), = value.items()
    if kind == "B":
        return {"B": base64.b64decode(inner)}
    if kind == "BS":
        return {"BS": [base64.b64decode(b) for b in inner]}
    if kind == "M":
        return {"M": {k: from_event(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [from_event(v) for v in inner]}
    return value


def post(path, body):
    req = urllib.request.Request(API + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        resp.read()


def run(handle):
    """GET /next, handle(event), POST the result (an exception to /error: Lambda retries the batch)."""
    while True:
        with urllib.request.urlopen(API + "/invocation/next") as resp:
            request_id = resp.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.loads(resp.read())
        try:
            result = handle(event)
        except Exception as e:  # the whole batch is retried
            post("/invocation/%s/error" % request_id, {"errorType": type(e).__name__, "errorMessage": str(e)})
            continue
        post("/invocation/%s/response" % request_id, result)

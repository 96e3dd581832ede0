#!/usr/bin/env python3
"""A small, real concurrent Lambda runtime client (standard library only), the bootstrap of
test_emulator_concurrency.py: as a runtime on Lambda Managed Instances, it runs
AWS_LAMBDA_MAX_CONCURRENCY worker threads (1 when unset), each with its own keep-alive connection,
looping GET /next -> act -> POST /response or /error.

What a worker does with an event is given by the event (a JSON object):
  {"wait_file": PATH}   first wait until PATH exists (the test's go signal; at most 60 s)
  {"sleep_ms": N}       then sleep N ms
  {"crash": true}       then end the whole process with exit status "exit_code" (default 7)
  {"error": true}       then post to /error (errorType Test.Error, errorMessage carries "marker")
  {"extra_next": true}  then GET /next once more on a new connection while holding this invoke (one
                        request more than the limit allows) and report what came back
otherwise it posts {"marker", "echo", "request_id", "deadline_ms", "worker", "pid",
"max_concurrency"} plus "extra_next" when asked. Each post's status goes to stdout as
`py-runtime: posted <kind> for <request id>: <status>`. A GET /next whose connection fails (an injected
reset) is sent again on a new connection, as real runtimes do.
"""

import http.client
import json
import os
import sys
import threading
import time

PREFIX = "/2018-06-01/runtime"
HOST, _, PORT = os.environ["AWS_LAMBDA_RUNTIME_API"].rpartition(":")
LIMIT = int(os.environ.get("AWS_LAMBDA_MAX_CONCURRENCY", "1"))
_print_lock = threading.Lock()


def say(text):
    with _print_lock:
        sys.stdout.write("py-runtime: %s\n" % text)
        sys.stdout.flush()


def connect(timeout_s=None):
    return http.client.HTTPConnection(HOST, int(PORT), timeout=timeout_s)


def wait_for_file(path):
    limit = time.monotonic() + 60
    while not os.path.exists(path) and time.monotonic() < limit:
        time.sleep(0.01)


def extra_next():
    """One GET /next beyond the limit, on its own connection: the emulator must refuse it at once."""
    conn = connect(timeout_s=5)
    try:
        conn.request("GET", PREFIX + "/invocation/next")
        resp = conn.getresponse()
        body = resp.read().decode("utf-8", "replace")
        return {"status": resp.status, "body": body}
    except OSError as e:  # a timeout here means the emulator let the runtime exceed the limit
        return {"status": None, "body": repr(e)}
    finally:
        conn.close()


def act(event, request_id, deadline_ms, worker):
    """Runs one event; returns (kind, document to post)."""
    if event.get("wait_file"):
        wait_for_file(event["wait_file"])
    if event.get("sleep_ms"):
        time.sleep(event["sleep_ms"] / 1000.0)
    if event.get("crash"):
        say("worker %d crashing on %s" % (worker, request_id))
        os._exit(int(event.get("exit_code", 7)))
    if event.get("error"):
        return "error", {"errorType": "Test.Error", "errorMessage": "failed %s" % event.get("marker")}
    doc = {"marker": event.get("marker"), "echo": event.get("echo"), "request_id": request_id,
           "deadline_ms": deadline_ms, "worker": worker, "pid": os.getpid(), "max_concurrency": LIMIT}
    if event.get("extra_next"):
        doc["extra_next"] = extra_next()
    return "response", doc


def post(conn, request_id, kind, doc):
    headers = {"Content-Type": "application/json"}
    if kind == "error":
        headers["Lambda-Runtime-Function-Error-Type"] = doc["errorType"]
    conn.request("POST", "%s/invocation/%s/%s" % (PREFIX, request_id, kind), json.dumps(doc).encode(),
                 headers)
    resp = conn.getresponse()
    resp.read()
    say("posted %s for %s: %d" % (kind, request_id, resp.status))


def get_next(conn):
    """GET /next; returns (response, body), or None when the connection failed (then reconnect)."""
    try:
        conn.request("GET", PREFIX + "/invocation/next")
        resp = conn.getresponse()
        return resp, resp.read()
    except (OSError, http.client.HTTPException) as e:
        say("GET /next failed (%s), reconnecting" % type(e).__name__)
        conn.close()
        time.sleep(0.05)
        return None


def worker_loop(worker):
    conn = connect()
    while True:
        got = get_next(conn)
        if got is None:
            continue
        resp, body = got
        if resp.status != 200:
            say("worker %d: GET /next answered %d %s" % (worker, resp.status, body.decode()))
            time.sleep(0.1)
            continue
        request_id = resp.getheader("Lambda-Runtime-Aws-Request-Id")
        deadline_ms = int(resp.getheader("Lambda-Runtime-Deadline-Ms"))
        try:
            event = json.loads(body)
        except ValueError:
            event = {}
        kind, doc = act(event if isinstance(event, dict) else {}, request_id, deadline_ms, worker)
        post(conn, request_id, kind, doc)


def main():
    threads = [threading.Thread(target=worker_loop, args=(i,), daemon=True) for i in range(LIMIT)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()  # a worker ends only when its connection fails: the emulator has gone
    return 1


if __name__ == "__main__":
    sys.exit(main())

"""Helpers of the lr_aws integration tests (test_aws_*.py) and bench/aws_bench.py: the aws_call driver
(under valgrind memcheck with LR_VALGRIND=1), a test CA made at run time, a TLS terminator, moto_server,
and a scriptable local HTTP(S) server for the answers AWS does not give on demand.

Every output of aws_call goes through check_output(), which fails the test when it holds a credential,
the session token or any request signature a server of this module has seen."""

import datetime
import ipaddress
import json
import os
import re
import select
import signal
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import lrtest

AK = "AKIDLAMBDADDBTEST01"
SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLEtokenAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/with+slash="
SIGNATURES = set()  # every Signature=... a server here received
# An IAM policy allowing everything, for the users made on a moto with IAM authentication on.
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
_SIG = re.compile(r"Signature=([0-9a-f]{64})")

LINE = re.compile(r"^status=(\S+).*? http=(\d+) attempts=(\d+) us=(\d+) code=(.*?) message=(.*)$", re.M)


def aws_call_path():
    return os.path.join(lrtest.build_dir(), "tools", "aws_call", "aws_call")


def missing_driver():
    """Why the lr_aws tests cannot run, or None."""
    if not os.access(aws_call_path(), os.X_OK):
        return "aws_call not built (lr_aws needs the crypto library: scripts/apt-packages.txt)"
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(**extra):
    """A clean AWS environment: test credentials, a region, no profile or config file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "SSL_CERT_FILE"}
    env.update(AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK, AWS_REGION="us-east-1")
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


def check_output(testcase, text, secrets=()):
    for s in (AK, SK, TOKEN) + tuple(secrets) + tuple(SIGNATURES):
        testcase.assertNotIn(s, text, "a secret reached the output")
    for marker in lrtest.SANITIZER_MARKERS:
        testcase.assertNotIn(marker, text)


class Result:
    def __init__(self, proc, elapsed):
        self.rc = proc.returncode
        self.out = proc.stdout.decode("utf-8", "replace")
        self.err = proc.stderr.decode("utf-8", "replace")
        self.calls = [dict(status=m[0], http=int(m[1]), attempts=int(m[2]), us=int(m[3]), code=m[4], message=m[5])
                      for m in LINE.findall(self.out)]
        self.body = self.out.split("body=", 1)[1].rstrip("\n") if "body=" in self.out else None
        self.elapsed = elapsed

    @property
    def status(self):
        return self.calls[-1]["status"] if self.calls else None

    @property
    def last(self):
        return self.calls[-1]


def aws_call(testcase, service, operation, body, env, *options, secrets=(), timeout=120, program=None):
    """Runs aws_call once (under memcheck with LR_VALGRIND=1) and checks its output for secrets,
    sanitizer reports and memcheck errors or leaks. program: another build of aws_call, e.g. the
    static one of the packaging superbuild, never run under memcheck (musl's static malloc is not
    one memcheck can replace)."""
    with tempfile.TemporaryDirectory(prefix="aws-call-") as tmp:
        path = os.path.join(tmp, "body")
        with open(path, "wb") as f:
            f.write(body if isinstance(body, bytes) else body.encode())
        cmd = [program or aws_call_path()] + list(options) + [service, operation, path]
        vg_log = os.path.join(tmp, "vg.log")
        memcheck = lrtest.valgrind() and program is None
        if memcheck:
            cmd = ["valgrind", "--log-file=" + vg_log] + list(lrtest.VALGRIND_ARGS) + cmd
        started = time.monotonic()
        proc = subprocess.run(cmd, env=env, capture_output=True, timeout=timeout * lrtest.slow_factor())
        res = Result(proc, time.monotonic() - started)
        if memcheck:
            with open(vg_log, errors="replace") as f:
                log = f.read()
            lrtest.VALGRIND_TOTALS["processes"] += 1
            if "HEAP SUMMARY" in log:
                lrtest.VALGRIND_TOTALS["leak_checked"] += 1
            testcase.assertEqual(lrtest.valgrind_problems(log), [], log[-4000:])
    check_output(testcase, res.out + res.err, secrets)
    testcase.assertTrue(res.calls, "no call line in the output: %r %r" % (res.out[-2000:], res.err[-2000:]))
    return res


# -- a test PKI made at run time ---------------------------------------------------------------------

class TestPKI:
    """A CA and server certificates signed by it: good (localhost, 127.0.0.1), expired, and one for
    another host. Files in dir: ca.pem, <name>.pem, <name>.key."""

    def __init__(self, directory):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        self.dir = directory
        self._x509, self._hashes, self._ser, self._ec, self._oid = x509, hashes, serialization, ec, NameOID
        now = datetime.datetime.utcnow()
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lambda-ddb test CA")])
        self.ca_name = name
        self.ca_cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                        .public_key(self.ca_key.public_key()).serial_number(x509.random_serial_number())
                        .not_valid_before(now - datetime.timedelta(days=1))
                        .not_valid_after(now + datetime.timedelta(days=30))
                        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                     content_commitment=False, key_encipherment=False,
                                                     data_encipherment=False, key_agreement=False,
                                                     encipher_only=False, decipher_only=False), critical=True)
                        .sign(self.ca_key, hashes.SHA256()))
        self.ca = self._write("ca.pem", self.ca_cert.public_bytes(serialization.Encoding.PEM))
        self.good = self.issue("good", ["localhost"], ["127.0.0.1"], now - datetime.timedelta(days=1),
                               now + datetime.timedelta(days=30))
        self.expired = self.issue("expired", ["localhost"], ["127.0.0.1"], now - datetime.timedelta(days=30),
                                  now - datetime.timedelta(days=1))
        self.other_host = self.issue("other", ["other.example"], [], now - datetime.timedelta(days=1),
                                     now + datetime.timedelta(days=30))

    def _write(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def issue(self, name, dns, ips, not_before, not_after):
        x509, ser = self._x509, self._ser
        key = self._ec.generate_private_key(self._ec.SECP256R1())
        sans = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(self._oid.COMMON_NAME, dns[0])]))
                .issuer_name(self.ca_name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
                .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                .sign(self.ca_key, self._hashes.SHA256()))
        return (self._write(name + ".pem", cert.public_bytes(ser.Encoding.PEM)),
                self._write(name + ".key", key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8,
                                                             ser.NoEncryption())))

    def server_context(self, which):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*which)
        return ctx


def pki_missing():
    try:
        import cryptography  # noqa: F401
    except ImportError:
        return "python3-cryptography is not installed (needed to make the test CA)"
    return None


# -- a TLS terminator ---------------------------------------------------------------------------------

class TLSProxy:
    """Terminates TLS on a loopback port (plain TCP when context is None) and forwards the bytes to
    127.0.0.1:upstream, one upstream connection per client connection. connections counts the
    connections accepted; the signatures of the requests passing through go to SIGNATURES, so that
    check_output() looks for them too."""

    def __init__(self, context, upstream_port):
        self.context, self.upstream = context, upstream_port
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while not self._stop:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw):
        try:
            tls = self.context.wrap_socket(raw, server_side=True) if self.context else raw
        except (ssl.SSLError, OSError):
            raw.close()
            return
        up = socket.create_connection(("127.0.0.1", self.upstream))
        up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                ready, _, _ = select.select([tls, up], [], [], 60)
                if not ready:
                    return
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    if s is tls:
                        SIGNATURES.update(_SIG.findall(data.decode("latin-1")))
                    (up if s is tls else tls).sendall(data)
        except (ssl.SSLError, OSError):
            pass
        finally:
            up.close()
            tls.close()

    def close(self):
        self._stop = True
        self.sock.close()


# -- moto_server --------------------------------------------------------------------------------------

def moto_missing():
    if not shutil.which("moto_server"):
        return "moto_server is not installed"
    try:
        import boto3  # noqa: F401
    except ImportError:
        return "boto3 is not installed"
    return None


class Moto:
    """moto_server on a free loopback port; env_extra e.g. INITIAL_NO_AUTH_ACTION_COUNT turns IAM
    authentication on after that many actions."""

    def __init__(self, **env_extra):
        self.tmp = tempfile.TemporaryDirectory(prefix="aws-moto-")
        self.port = free_port()
        self.endpoint = "http://127.0.0.1:%d" % self.port
        env = base_env(**env_extra)
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        self.log = open(os.path.join(self.tmp.name, "moto.log"), "wb")
        self.proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(self.port)], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        limit = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("moto_server exited with %s" % self.proc.returncode)
            try:
                with urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=1):
                    return
            except OSError:
                if time.monotonic() > limit:
                    self.close()
                    raise RuntimeError("moto_server did not answer on %s" % self.endpoint)
                time.sleep(0.1)

    def client(self, service, key=AK, secret=SK, token=None, region="us-east-1"):
        import boto3
        return boto3.client(service, endpoint_url=self.endpoint, region_name=region, aws_access_key_id=key,
                            aws_secret_access_key=secret, aws_session_token=token)

    def iam_user(self, name):
        """Makes an IAM user allowed everything and its access key: three actions (create_user,
        put_user_policy, create_access_key), the unauthenticated ones of INITIAL_NO_AUTH_ACTION_COUNT=3.
        Returns (access key id, secret key)."""
        iam = self.client("iam")
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="all", PolicyDocument=ALLOW_ALL)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def close(self):
        lrtest.end_process(self.proc)
        self.log.close()
        self.tmp.cleanup()


def stream_records(streams, arn):
    """Every record of the stream arn, every shard from TRIM_HORIZON, as GetRecords returns them
    (streams: a boto3 dynamodbstreams client)."""
    out = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            page = streams.get_records(ShardIterator=it, Limit=1000)
            if not page["Records"]:
                break
            out += page["Records"]
            it = page.get("NextShardIterator")
    return out


def run_replay(endpoint, *args, env=None, timeout_s=600):
    """Runs tools/replay/replay.py --json against endpoint (region us-east-1) with args, in env (default
    base_env()); returns (the completed process, its JSON lines)."""
    env = dict(base_env() if env is None else env)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    cmd = [sys.executable, os.path.join(lrtest.source_dir(), "tools", "replay", "replay.py"), "--json",
           "--endpoint-url", endpoint, "--region", "us-east-1"]
    proc = subprocess.run(cmd + list(args), env=env, capture_output=True, text=True,
                          timeout=timeout_s * lrtest.slow_factor())
    return proc, [json.loads(line) for line in proc.stdout.splitlines()]


class BatchRunner:
    """A mixin for a unittest.TestCase whose self.key is (key id, secret): run_batches() invokes the
    bootstrap under the emulator once per batch."""

    def run_batches(self, batches, env, expect_errors=False):
        """Invokes once per batch; returns ([parsed bodies], [function error headers], logs). The logs
        must not hold the secret; without expect_errors no invoke may end in a function error."""
        bodies, errors = [], []
        with lrtest.Emulator(env=env) as emu:
            for batch in batches:
                status, headers, body = emu.invoke_json({"Records": batch}, timeout_s=120)
                self.assertEqual(status, 200, emu.logs())
                bodies.append(body)
                errors.append(headers.get("x-amz-function-error"))
            logs = emu.logs()
        check_output(self, logs, secrets=(self.key[1],))
        if not expect_errors:
            self.assertEqual(errors, [None] * len(batches), logs)
        return bodies, errors, logs


def isolated_env(key):
    """The environment of a bootstrap or replay that signs with key (id, secret): base_env() with the key,
    every other AWS_ variable of the caller set to None (removed, so the emulator cannot bring it back)."""
    env = {k: None for k in os.environ if k.startswith("AWS_")}
    env.update(base_env(AWS_ACCESS_KEY_ID=key[0], AWS_SECRET_ACCESS_KEY=key[1]))
    return env


def replay_to_completion(endpoint, stream_arn, invoke_url, key):
    """tools/replay as the invariant tests run it: the whole stream through invoke_url in batches of 100,
    bisecting errors and retrying from the checkpoint until every batch succeeds."""
    env = {k: v for k, v in isolated_env(key).items() if v is not None}
    return run_replay(endpoint, "--stream-arn", stream_arn, "--invoke-url", invoke_url, "--idle-polls", "1",
                      "--batch-size", "100", "--bisect-on-error", "--max-retries", "10000", env=env,
                      timeout_s=900)


def start_killer(emu, rng, done, kills, apart, delay_s, poll_s):
    """A thread that kills the bootstrap with SIGKILL kills times: each time rng.randint(*apart) invokes
    after the last, rng.uniform(*delay_s) seconds into that invoke, polling the log every poll_s; it
    stops when done is set. Returns (the thread, the list of killed pids it fills)."""
    killed = []

    def starts():
        return len(re.findall(r"^START RequestId:", emu.logs(), re.M))

    def run():
        for _ in range(kills):
            target = starts() + rng.randint(*apart)
            while not done.is_set() and starts() < target:
                time.sleep(poll_s)
            if done.is_set():
                return
            time.sleep(rng.uniform(*delay_s))
            pid = emu.stats()["child_pid"]
            if pid > 0:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, killed


def load_replay():
    """tools/replay/replay.py as a module (lambda_record, wire_value, ...)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("replay", os.path.join(lrtest.source_dir(), "tools", "replay",
                                                                         "replay.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- a scriptable HTTP(S) server ----------------------------------------------------------------------

def read_request(sock):
    """(request line, headers dict lower-cased, body) of one HTTP/1.1 request, or None at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    need = int(headers.get("content-length", "0"))
    while len(body) < need:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return lines[0], headers, body


def reply(status, body, content_type="application/x-amz-json-1.0", extra=(), length=None):
    body = body if isinstance(body, bytes) else body.encode()
    head = "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n" % (
        status, content_type, len(body) if length is None else length)
    head += "".join("%s: %s\r\n" % kv for kv in extra)
    return head.encode() + b"\r\n" + body


class FakeAWS:
    """A loopback HTTP/1.1 server (TLS when context is given) answering request n (0-based) as
    script(n) says: ("send", bytes[, close_after]), ("hang",) or ("reset",) (an RST, no answer). requests lists (request line, headers, body); connections counts accepted connections;
    handshake_reset makes every connection end with an RST right after the ClientHello;
    handshake_stalls makes that many first connections read the ClientHello and never answer it."""

    def __init__(self, script, context=None, handshake_reset=False, handshake_stalls=0):
        self.script, self.context, self.handshake_reset = script, context, handshake_reset
        self.handshake_stalls = handshake_stalls
        self.requests, self.connections = [], 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = "%s://%s:%d" % ("https" if context or handshake_reset else "http",
                                   "localhost" if context or handshake_reset else "127.0.0.1", self.port)
        self._open = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle delay in our figures
            with self.lock:
                self.connections += 1
                self._open.append(conn)
                stall = self.connections <= self.handshake_stalls
            if stall:
                conn.recv(4096)  # the ClientHello; the socket stays open until close()
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _rst(conn):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    def _serve(self, conn):
        try:
            if self.handshake_reset:
                conn.recv(4096)  # the ClientHello
                self._rst(conn)
                return
            if self.context is not None:
                try:
                    conn = self.context.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError):
                    return  # the client refused our certificate
            while True:
                req = read_request(conn)
                if req is None:
                    return
                with self.lock:
                    n = len(self.requests)
                    self.requests.append(req)
                    SIGNATURES.update(_SIG.findall(req[1].get("authorization", "")))
                action = self.script(n)
                if action[0] == "hang":
                    time.sleep(30)
                    return
                if action[0] == "reset":
                    self._rst(conn)
                    return
                conn.sendall(action[1])
                if len(action) > 2 and action[2]:
                    return  # closed below, without "Connection: close": the client finds out on its next request
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.sock.close()
        with self.lock:
            for c in self._open:
                try:
                    c.close()
                except OSError:
                    pass

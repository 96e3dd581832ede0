"""A test CA made at test time (openssl CLI) and a local HTTPS/1.1 keep-alive server (Python ssl).

    with TestCA() as ca:
        cert, key = ca.issue("good", hosts=["localhost", "127.0.0.1"])
        with TLSServer(cert, key) as srv:
            ...  # https://localhost:%d/ % srv.port, trusting ca.cert

Certificates: ca.issue(name, hosts, start=..., end=...) with openssl `ca` dates (YYYYMMDDHHMMSSZ), so
an expired certificate is a real one, signed by the CA, with a validity period in the past.
"""

import http.server
import ipaddress
import os
import shutil
import ssl
import subprocess
import tempfile
import threading

CA_CONF = """[ca]
default_ca = test_ca
[test_ca]
dir = {dir}
database = {dir}/index.txt
serial = {dir}/serial
new_certs_dir = {dir}/issued
certificate = {dir}/ca.pem
private_key = {dir}/ca.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[anything]
commonName = supplied
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = {san}
"""


def openssl_missing():
    """The reason TLS tests cannot run here, or None."""
    return None if shutil.which("openssl") else "the openssl command is not installed"


class TestCA:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="lr-test-ca-")
        os.makedirs(os.path.join(self.dir, "issued"))
        open(os.path.join(self.dir, "index.txt"), "w").close()
        with open(os.path.join(self.dir, "serial"), "w") as f:
            f.write("1000\n")
        self.cert = os.path.join(self.dir, "ca.pem")
        self._run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                  "-keyout", os.path.join(self.dir, "ca.key"), "-out", self.cert, "-days", "2",
                  "-subj", "/CN=lambda-ddb-c test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def _run(self, *args):
        subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, cwd=self.dir)

    def issue(self, name, hosts, start=None, end=None, rsa=False):
        """A server certificate for hosts (DNS names or IP addresses) signed by the CA, valid from
        start to end (openssl ca dates; default: now for one day), with a P-256 key, or an RSA-2048
        one like AWS endpoints' when rsa is set. Returns (cert, key) paths."""
        san = ",".join(("IP:" if _is_ip(h) else "DNS:") + h for h in hosts)
        conf = os.path.join(self.dir, name + ".cnf")
        with open(conf, "w") as f:
            f.write(CA_CONF.format(dir=self.dir, san=san))
        key, csr = (os.path.join(self.dir, name + ext) for ext in (".key", ".csr"))
        cert = os.path.join(self.dir, name + ".pem")
        keyopts = ["rsa:2048"] if rsa else ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        self._run("req", "-newkey", *keyopts, "-nodes",
                  "-keyout", key, "-out", csr, "-subj", "/CN=" + hosts[0])
        dates = (["-startdate", start] if start else []) + (["-enddate", end] if end else ["-days", "1"])
        self._run("ca", "-batch", "-config", conf, "-extensions", "server", "-notext", "-in", csr,
                  "-out", cert, *dates)
        return cert, key

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _is_ip(host):
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True  # else a small answer can wait for the client's delayed ACK
    body = b'{"ok":true}'

    def do_GET(self):
        # One write for the whole answer: one TLS record, one segment.
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                         b"\r\n%s" % (len(self.body), self.body))

    def log_message(self, *args):
        pass


class TLSServer:
    """HTTPS (or, with cert None, plain HTTP) on 127.0.0.1, one thread per connection, TLS 1.2+."""

    def __init__(self, cert, key):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        if cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(cert, key)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

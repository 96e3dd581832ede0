"""The deployment zip (issue 6): contents, size, reproducibility, and a self-contained bootstrap.

The zip is built by scripts/package (musl superbuild, see docs/packaging.md) into LR_BUILD_DIR on first
use; test_chroot.py shares ensure_package().
"""

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import zipfile

import lrtest

MAX_ZIP_BYTES = 1024 * 1024
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_built = {}


def ensure_package(build_dir=None, sources_dir=None, force=False):
    """Runs scripts/package once per build dir in this process (again when force is set); returns
    the function.zip path."""
    build_dir = build_dir or lrtest.build_dir()
    if force or build_dir not in _built:
        cmd = [os.path.join(lrtest.source_dir(), "scripts", "package"), "--build-dir", build_dir]
        if sources_dir:
            cmd += ["--sources-dir", sources_dir]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=1200)
        if proc.returncode != 0:
            raise AssertionError("scripts/package failed:\n" + proc.stdout.decode(errors="replace"))
        _built[build_dir] = os.path.join(build_dir, "function.zip")
    return _built[build_dir]


def arch_dir():
    """The superbuild's folder in a build dir for this host's architecture (scripts/package)."""
    return "packaging-" + ("arm64" if os.uname().machine == "aarch64" else "x86_64")


def host_elf_machine():
    return {"x86_64": "Advanced Micro Devices X86-64", "aarch64": "AArch64"}[os.uname().machine]


def tree_digest():
    """Digest of every input of the static build in the source tree (to notice concurrent edits)."""
    h = hashlib.sha256()
    top = lrtest.source_dir()
    for sub in ("CMakeLists.txt", "cmake", "runtime", "handler", "packaging"):
        for dirpath, dirnames, filenames in os.walk(os.path.join(top, sub)):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                h.update(os.path.relpath(path, top).encode() + b"\0")
                with open(path, "rb") as f:
                    h.update(f.read())
        if os.path.isfile(os.path.join(top, sub)):
            with open(os.path.join(top, sub), "rb") as f:
                h.update(f.read())
    return h.hexdigest()


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class PackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.zip_path = ensure_package()
        cls.tmp = tempfile.TemporaryDirectory(prefix="lr-pkg-")
        with zipfile.ZipFile(cls.zip_path) as zf:
            cls.bootstrap = zf.extract("bootstrap", cls.tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_zip_holds_only_bootstrap_at_the_root_executable_with_fixed_date(self):
        with zipfile.ZipFile(self.zip_path) as zf:
            self.assertIsNone(zf.testzip())
            infos = zf.infolist()
            self.assertEqual([i.filename for i in infos], ["bootstrap"])
            info = infos[0]
            self.assertEqual(info.create_system, 3)  # Unix: the mode bits below are honoured
            self.assertEqual(info.external_attr >> 16, 0o100755)
            self.assertEqual(info.date_time, ZIP_EPOCH)
            self.assertEqual(info.compress_type, zipfile.ZIP_DEFLATED)
            self.assertEqual(info.extra, b"")
            self.assertEqual(zf.comment, b"")

    def test_zip_is_at_most_one_megabyte(self):
        size = os.path.getsize(self.zip_path)
        self.assertGreater(size, 50 * 1024)  # a real static binary, not an empty stub
        self.assertLessEqual(size, MAX_ZIP_BYTES)

    def test_bootstrap_is_static_with_no_interpreter_and_no_needed_libraries(self):
        out = subprocess.run(["file", "-b", self.bootstrap], stdout=subprocess.PIPE,
                             check=True).stdout.decode()
        self.assertIn("statically linked", out)
        self.assertIn("stripped", out)
        self.assertNotIn("not stripped", out)
        header = subprocess.run(["readelf", "-h", self.bootstrap], stdout=subprocess.PIPE,
                                check=True).stdout.decode()
        self.assertIn(host_elf_machine(), header)
        segments = subprocess.run(["readelf", "-lW", self.bootstrap], stdout=subprocess.PIPE,
                                  check=True).stdout.decode()
        self.assertNotIn("INTERP", segments)  # no ld.so: nothing of the host's glibc is needed
        dynamic = subprocess.run(["readelf", "-dW", self.bootstrap], stdout=subprocess.PIPE,
                                 check=True).stdout.decode()
        self.assertNotIn("(NEEDED)", dynamic)

    def test_bootstrap_does_not_reference_the_build_paths(self):
        with open(self.bootstrap, "rb") as f:
            data = f.read()
        for path in (lrtest.build_dir(), lrtest.source_dir()):
            self.assertNotIn(os.path.realpath(path).encode(), data)

    def test_libcurl_in_the_bootstrap_speaks_only_http_and_https_over_mbedtls(self):
        config = os.path.join(lrtest.build_dir(), arch_dir(), "prefix", "bin", "curl-config")
        protocols = subprocess.run(["sh", config, "--protocols"], stdout=subprocess.PIPE,
                                   check=True).stdout.decode().split()
        self.assertEqual(protocols, ["HTTP", "HTTPS"])
        features = subprocess.run(["sh", config, "--features"], stdout=subprocess.PIPE,
                                  check=True).stdout.decode().split()
        self.assertIn("SSL", features)
        for unwanted in ("HTTP2", "IDN", "libz", "PSL", "GSS-API", "Kerberos", "NTLM"):
            self.assertNotIn(unwanted, features)
        static_libs = subprocess.run(["sh", config, "--static-libs"], stdout=subprocess.PIPE,
                                     check=True).stdout.decode().split()
        self.assertTrue([l for l in static_libs if l.endswith("/libmbedtls.a")], static_libs)
        for lib in ("-lssl", "-lcrypto", "-lz", "-lnghttp2", "-lidn2", "-lpsl"):
            self.assertNotIn(lib, static_libs)

    def syscalls_before_first_get(self, extra_env):
        """The system calls the static bootstrap makes from exec to its first GET /next (strace)."""
        strace = shutil.which("strace")
        if strace is None:
            self.skipTest("strace is not installed (scripts/apt-packages.txt lists it)")
        bootstrap = os.path.join(self.tmp.name, "bootstrap")
        os.chmod(bootstrap, 0o755)  # zipfile.extract drops the mode the zip records
        with socket.socket() as lsock, tempfile.TemporaryDirectory(prefix="lr-strace-") as tmp:
            lsock.bind(("127.0.0.1", 0))
            lsock.listen(1)
            lsock.settimeout(0.2)
            trace = os.path.join(tmp, "trace")
            env = {"PATH": os.environ.get("PATH", ""), "AWS_LAMBDA_RUNTIME_API":
                   "127.0.0.1:%d" % lsock.getsockname()[1]}
            env.update(extra_env)
            # A session of its own, so that killing the group ends the tracee along with strace.
            proc = subprocess.Popen([strace, "-o", trace, bootstrap], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    start_new_session=True)
            try:
                request = self.first_request(lsock, proc)
            finally:
                os.killpg(proc.pid, signal.SIGKILL)
                err = proc.communicate()[1].decode(errors="replace")
            if request is None and ("ptrace" in err or "Operation not permitted" in err):
                self.skipTest("strace cannot trace here: " + err.strip())
            self.assertIsNotNone(request, err)
            self.assertTrue(request.startswith(b"GET /2018-06-01/runtime/invocation/next "))
            with open(trace) as f:
                lines = f.read().splitlines()
        first_get = next(i for i, l in enumerate(lines) if "GET /2018-06-01/runtime/" in l)
        return [l.split("(", 1)[0] for l in lines[1:first_get]]

    @staticmethod
    def first_request(lsock, proc, timeout_s=30):
        """The first bytes sent to lsock, or None if proc ends (or time runs out) before."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                conn, _ = lsock.accept()
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(timeout_s)
                return conn.recv(4096)
        return None

    def test_cold_start_opens_no_wakeup_socketpair_before_the_first_get(self):
        # libcurl is built without curl_multi_wakeup's socketpair: from exec to GET /next, only the
        # socket work a Runtime API client needs (and the C library's own heap growth).
        calls = self.syscalls_before_first_get({})
        for unwanted in ("socketpair", "pipe", "pipe2"):
            self.assertNotIn(unwanted, calls, calls)
        self.assertEqual(1, calls.count("socket"), calls)
        self.assertEqual(1, calls.count("connect"), calls)
        self.assertLessEqual(len(calls), 30, calls)

    def test_two_builds_give_the_same_zip_byte_for_byte(self):
        # A second, independent build directory (sharing only the verified sources). When several
        # people edit the tree while the test runs, the two builds may see different sources: then
        # both are redone; the comparison is made only for builds of one and the same tree.
        sources = os.path.join(lrtest.build_dir(), "sources")
        for _ in range(3):
            other = tempfile.mkdtemp(prefix="repro-", dir=lrtest.build_dir())
            try:
                before = tree_digest()
                first = ensure_package(force=True)
                second = ensure_package(build_dir=other, sources_dir=sources)
                if tree_digest() != before:
                    continue
                self.assertEqual(sha256(os.path.join(other, arch_dir(), "bootstrap")),
                                 sha256(os.path.join(lrtest.build_dir(), arch_dir(), "bootstrap")))
                self.assertEqual(sha256(second), sha256(first))
                return
            finally:
                shutil.rmtree(other, ignore_errors=True)
                _built.pop(other, None)
        self.skipTest("the source tree kept changing during both builds (concurrent edits)")


class MkzipTest(unittest.TestCase):
    """packaging/mkzip.py alone: output depends on the bytes and names only."""

    def mkzip(self, out, *specs, env=None):
        script = os.path.join(lrtest.source_dir(), "packaging", "mkzip.py")
        return subprocess.run(["python3", script, "--out", out, *specs], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, env=env)

    def test_mtime_mode_umask_and_argument_order_do_not_change_the_zip(self):
        with tempfile.TemporaryDirectory() as d:
            a, b = os.path.join(d, "a"), os.path.join(d, "b")
            for path, data in ((a, b"\x7fELF-one"), (b, b"two")):
                with open(path, "wb") as f:
                    f.write(data)
            os.chmod(a, 0o700)
            os.chmod(b, 0o600)
            os.utime(a, (1_700_000_000, 1_700_000_000))
            self.assertEqual(self.mkzip(d + "/1.zip", a + "=bootstrap", b).returncode, 0)
            os.chmod(a, 0o755)
            os.utime(a, (1_800_000_123, 1_800_000_123))
            os.utime(b, (1_600_000_000, 1_600_000_000))
            self.assertEqual(self.mkzip(d + "/2.zip", b, a + "=bootstrap").returncode, 0)
            self.assertEqual(sha256(d + "/1.zip"), sha256(d + "/2.zip"))
            with zipfile.ZipFile(d + "/1.zip") as zf:
                self.assertEqual(zf.namelist(), ["b", "bootstrap"])
                self.assertEqual(zf.getinfo("bootstrap").external_attr >> 16, 0o100755)
                self.assertEqual(zf.getinfo("b").external_attr >> 16, 0o100644)
                self.assertEqual(zf.read("bootstrap"), b"\x7fELF-one")

    def test_source_date_epoch_sets_the_entry_date(self):
        with tempfile.TemporaryDirectory() as d:
            with open(d + "/f", "wb") as f:
                f.write(b"x")
            env = dict(os.environ, SOURCE_DATE_EPOCH="1700000001")  # 2023-11-14 22:13:21 UTC
            self.assertEqual(self.mkzip(d + "/z.zip", d + "/f", env=env).returncode, 0)
            with zipfile.ZipFile(d + "/z.zip") as zf:
                self.assertEqual(zf.getinfo("f").date_time, (2023, 11, 14, 22, 13, 20))

    def test_a_zip_over_one_megabyte_is_refused_and_not_written(self):
        with tempfile.TemporaryDirectory() as d:
            with open(d + "/big", "wb") as f:
                f.write(os.urandom(MAX_ZIP_BYTES + 1))  # random bytes do not compress
            proc = self.mkzip(d + "/z.zip", d + "/big")
            self.assertEqual(proc.returncode, 1)
            self.assertIn(b"over the 1048576-byte budget", proc.stdout)
            self.assertFalse(os.path.exists(d + "/z.zip"))
            self.assertFalse(os.path.exists(d + "/z.zip.tmp"))

    def test_duplicate_names_are_refused(self):
        with tempfile.TemporaryDirectory() as d:
            with open(d + "/f", "wb") as f:
                f.write(b"x")
            proc = self.mkzip(d + "/z.zip", d + "/f=bootstrap", d + "/f=bootstrap")
            self.assertEqual(proc.returncode, 1)
            self.assertIn(b"duplicate entry name 'bootstrap'", proc.stdout)


if __name__ == "__main__":
    unittest.main()

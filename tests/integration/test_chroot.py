"""Proof that function.zip is self-contained (issue 6): its files are unpacked into an otherwise empty
root (the unpacked files and /tmp, nothing else: no libc, no loader, no shell, no /etc) and the
bootstrap runs there, through chroot, against the local emulator on 127.0.0.1 (chroot keeps the network
namespace), answering the article's three-record event (input.json).
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

import lrtest
import test_package  # ensure_package(); imported as a module so its tests are not collected here

NEXT_LINE = b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n"
RECORDS = [("1", "INSERT", "111"), ("2", "MODIFY", "222"), ("3", "REMOVE", "333")]


def chroot_command():
    """chroot as root; else chroot inside a user namespace (unshare -r) when the kernel allows it."""
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    if os.geteuid() == 0:
        return [chroot]
    probe = subprocess.run(["unshare", "-r", chroot, "/", "true"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    return ["unshare", "-r", chroot] if probe.returncode == 0 else None


def make_root(zip_path):
    """An empty directory holding only the unzipped files (modes kept, as Lambda does) and /tmp."""
    root = tempfile.mkdtemp(prefix="lr-chroot-")
    subprocess.run(["unzip", "-q", zip_path, "-d", root], check=True)
    os.mkdir(os.path.join(root, "tmp"))
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    return root


def json_lines(text):
    out = []
    for line in text.splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out


class ChrootTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.chroot = chroot_command()
        if cls.chroot is None:
            raise unittest.SkipTest("neither root nor user namespaces: cannot chroot here")
        cls.root = make_root(test_package.ensure_package())

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)

    def test_root_holds_only_the_unpacked_bootstrap_and_tmp(self):
        self.assertEqual(sorted(os.listdir(self.root)), ["bootstrap", "tmp"])
        self.assertEqual(os.listdir(os.path.join(self.root, "tmp")), [])
        self.assertTrue(os.access(os.path.join(self.root, "bootstrap"), os.X_OK))

    def test_answers_the_three_record_event_inside_the_empty_root(self):
        with open(os.path.join(lrtest.source_dir(), "input.json"), "rb") as f:
            event = f.read()
        env = {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO",
               "LR_LOG_RECORDS": "full", "LR_BATCH_MODE": None, "LR_TEST_FAIL_SEQUENCE_NUMBERS": None,
               "LR_TEST_RECORD_DELAY_MS": None}
        with self._emulator(env) as emu:
            status, headers, body = emu.invoke(event)
            self.assertEqual(status, 200, emu.logs())
            self.assertNotIn("x-amz-function-error", headers, emu.logs())
            self.assertEqual(body, b'{"batchItemFailures":[]}')
            emu.wait_for_log(r'"eventID":\s*"3"')
            logs = emu.logs()
        lines = json_lines(logs)
        for event_id, name, seq in RECORDS:
            mine = [o for o in lines if o.get("eventID") == event_id and o.get("eventName") == name
                    and o.get("sequenceNumber") == seq]
            self.assertEqual(len(mine), 1, "record %s: %r\n%s" % (event_id, mine, logs))
            self.assertIsInstance(mine[0].get("requestId"), str)
            self.assertEqual(mine[0].get("level"), "INFO")
        self.assertIn("101", json.dumps([o for o in lines if o.get("eventID") == "1"]))
        self.assertNotIn("error while loading shared libraries", logs)
        self.assertEqual(sorted(os.listdir(self.root)), ["bootstrap", "tmp"])

    def _emulator(self, env):
        # lambda-emu runs `chroot ROOT /bootstrap`: chroot(8) execs the bootstrap directly, no shell.
        return lrtest.Emulator(bootstrap=shutil.which(self.chroot[0]) or self.chroot[0],
                               bootstrap_args=self.chroot[1:] + [self.root, "/bootstrap"], env=env)

    def _first_request(self, host, etc_files=None, timeout_s=10):
        """Runs the chrooted bootstrap with AWS_LAMBDA_RUNTIME_API=host:PORT against a bare listener;
        returns (first request line or None, exit code or None if still running, output)."""
        for name, text in (etc_files or {}).items():
            os.makedirs(os.path.join(self.root, "etc"), exist_ok=True)
            with open(os.path.join(self.root, "etc", name), "w") as f:
                f.write(text)
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        listener.settimeout(0.05)
        env = {"AWS_LAMBDA_RUNTIME_API": "%s:%d" % (host, listener.getsockname()[1])}
        proc = subprocess.Popen(self.chroot + [self.root, "/bootstrap"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        line = None
        limit = time.monotonic() + timeout_s
        try:
            while line is None and proc.poll() is None and time.monotonic() < limit:
                try:
                    conn, _ = listener.accept()
                except socket.timeout:
                    continue
                conn.settimeout(timeout_s)
                line = conn.recv(len(NEXT_LINE))
                conn.close()
        finally:
            listener.close()
            if proc.poll() is None:  # got its request, or the time bound passed
                proc.kill()
            try:
                out, _ = proc.communicate(timeout=timeout_s)
            finally:
                shutil.rmtree(os.path.join(self.root, "etc"), ignore_errors=True)
        return line, proc.returncode, out.decode(errors="replace")

    def test_localhost_needs_no_resolver_files(self):
        line, _, out = self._first_request("localhost")
        self.assertEqual(line, NEXT_LINE, out)

    def test_host_name_resolves_through_etc_hosts_without_nss(self):
        line, _, out = self._first_request("runtime-api.test",
                                           {"hosts": "127.0.0.1 runtime-api.test\n"})
        self.assertEqual(line, NEXT_LINE, out)

    def test_unresolvable_host_name_fails_clearly_and_exits(self):
        # No DNS server: musl asks 127.0.0.1:53 (one attempt of 1 s per lookup, as configured here).
        start = time.monotonic()
        line, rc, out = self._first_request(
            "runtime-api.invalid", {"resolv.conf": "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"},
            timeout_s=30)
        self.assertIsNone(line)
        self.assertGreater(rc, 0, out)  # exited by itself with an error status, was not killed
        self.assertIn("Could not resolve host: runtime-api.invalid", out)
        self.assertLess(time.monotonic() - start, 20)  # 5 attempts of about 1 s each, then exit


class Arm64ChrootTest(unittest.TestCase):
    """The cross-built arm64 zip (scripts/package --arch arm64), run in the same kind of empty root
    under qemu-user: the root then holds bootstrap, /tmp and the static qemu-aarch64 emulator only.
    Needs Debian's gcc-aarch64-linux-gnu, musl-dev:arm64 (dpkg --add-architecture arm64) and
    qemu-user-static, which scripts/setup does not install: skipped when any of them is missing."""

    @classmethod
    def setUpClass(cls):
        missing = [what for what, ok in (
            ("x86_64 host", os.uname().machine == "x86_64"),
            ("gcc-aarch64-linux-gnu", shutil.which("aarch64-linux-gnu-gcc")),
            ("musl-dev:arm64", os.path.exists("/usr/lib/aarch64-linux-musl/musl-gcc.specs")),
            ("qemu-user-static", shutil.which("qemu-aarch64-static")),
            ("root or user namespaces", chroot_command())) if not ok]
        if missing:
            raise unittest.SkipTest("arm64 cross build not possible here, missing: " + ", ".join(missing))

    def test_arm64_zip_answers_the_three_record_event_under_qemu(self):
        build = lrtest.build_dir()
        proc = subprocess.run([os.path.join(lrtest.source_dir(), "scripts", "package"), "--build-dir",
                               build, "--arch", "arm64"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=1200)
        self.assertEqual(proc.returncode, 0, proc.stdout.decode(errors="replace"))
        root = make_root(os.path.join(build, "function-arm64.zip"))
        try:
            elf = subprocess.run(["file", "-b", os.path.join(root, "bootstrap")],
                                 stdout=subprocess.PIPE, check=True).stdout.decode()
            self.assertIn("ARM aarch64", elf)
            self.assertIn("statically linked", elf)
            shutil.copy(shutil.which("qemu-aarch64-static"), os.path.join(root, "qemu-aarch64"))
            with open(os.path.join(lrtest.source_dir(), "input.json"), "rb") as f:
                event = f.read()
            chroot = chroot_command()
            with lrtest.Emulator(bootstrap=shutil.which(chroot[0]) or chroot[0],
                                 bootstrap_args=chroot[1:] + [root, "/qemu-aarch64", "/bootstrap"],
                                 env={"AWS_LAMBDA_LOG_FORMAT": "JSON"}) as emu:
                status, headers, body = emu.invoke(event)
                self.assertEqual(status, 200, emu.logs())
                self.assertNotIn("x-amz-function-error", headers, emu.logs())
                self.assertEqual(body, b'{"batchItemFailures":[]}')
                emu.wait_for_log(r'"eventID":\s*"3"')
                lines = json_lines(emu.logs())
            seqs = sorted(o["sequenceNumber"] for o in lines
                          if "eventID" in o and "sequenceNumber" in o)
            self.assertEqual(seqs, ["111", "222", "333"])
        finally:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()

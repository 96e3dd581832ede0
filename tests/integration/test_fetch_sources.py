"""scripts/fetch-sources against a Debian source mirror made at test time, with the real apt.

The mirror is a flat apt repository served over HTTP on loopback: source packages built with
dpkg-source, indexed by dpkg-scansources, a Release file signed with a key made for the test (apt
checks it with Signed-By), and files deleted from the server to make the mirror answer 404 the way
deb.debian.org did for zlib 1:1.2.13.dfsg-1+deb12u1. apt-get and apt-cache are the real tools, pointed
at a private configuration (APT_CONFIG: own sources list, lists and cache), so the machine's apt
state is neither read nor written. No stand-in is needed: a real HTTP server produces the 404.
"""

import hashlib
import http.server
import os
import shutil
import subprocess
import tempfile
import threading
import unittest

import lrtest

SCRIPT = os.path.join(lrtest.source_dir(), "scripts", "fetch-sources")
TOOLS = ("apt-get", "apt-cache", "dpkg-source", "dpkg-scansources", "gpg", "gpgconf")
MISSING = [t for t in TOOLS if not shutil.which(t)]

CONTROL = """Source: %(pkg)s
Maintainer: Test <test@example.invalid>
Standards-Version: 4.6.2
XS-Padding: %(padding)s

Package: %(pkg)s
Architecture: all
Description: test package
 test package
"""
# apt-cache showsrc prints whole stanzas: with more than a pipe buffer (64 KiB) of them, a check that
# stops reading early (`apt-cache showsrc | grep -q`) kills apt-cache with SIGPIPE, as it did on the
# real index, so the test of "no apt-get update on a configured machine" can catch that mistake.
PADDING = "x" * 20000
CHANGELOG = """%(pkg)s (%(version)s) bookworm; urgency=medium

  * Test upload.

 -- Test <test@example.invalid>  Thu, 01 Jan 2026 00:00:00 +0000
"""


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run(cmd, **kw):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if proc.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s" % (" ".join(cmd), proc.returncode, proc.stdout))
    return proc.stdout


class Mirror:
    """A signed flat source repository on 127.0.0.1 and an apt configuration that uses only it."""

    def __init__(self, top):
        self.top = top
        self.pool = os.path.join(top, "repo", "pool")
        os.makedirs(self.pool)
        self.work = os.path.join(top, "work")
        os.makedirs(self.work)
        self.orig_sha = {}

    def add(self, pkg, version, marker):
        """Builds source package PKG VERSION; its orig tarball holds one file with MARKER."""
        upstream = version.split(":")[-1].rsplit("-", 1)[0]
        orig = "%s_%s.orig.tar.gz" % (pkg, upstream)
        tree = os.path.join(self.work, "%s-%s" % (pkg, version.replace(":", "_")))
        os.makedirs(os.path.join(tree, "debian", "source"))
        with open(os.path.join(tree, "hello.c"), "w") as f:
            f.write("const char *marker = \"%s\";\n" % marker)
        if not os.path.exists(os.path.join(self.pool, orig)):
            run(["tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "-czf",
                 os.path.join(self.pool, orig), "-C", tree, "hello.c"])
        self.orig_sha[orig] = sha256(os.path.join(self.pool, orig))
        shutil.copy(os.path.join(self.pool, orig), self.work)
        for name, text in (("control", CONTROL), ("changelog", CHANGELOG)):
            with open(os.path.join(tree, "debian", name), "w") as f:
                f.write(text % {"pkg": pkg, "version": version, "padding": PADDING})
        with open(os.path.join(tree, "debian", "source", "format"), "w") as f:
            f.write("3.0 (quilt)\n")
        run(["dpkg-source", "-b", os.path.basename(tree)], cwd=self.work)
        for name in os.listdir(self.work):
            if name.startswith(pkg + "_") and (name.endswith(".dsc") or ".debian.tar." in name):
                shutil.move(os.path.join(self.work, name), self.pool)
        return orig

    def files_of(self, pkg, version):
        """The pool files of one version (its .dsc and Debian tarball, and the orig tarball)."""
        stem = "%s_%s" % (pkg, version.split(":")[-1])
        upstream = stem.rsplit("-", 1)[0]
        return [os.path.join(self.pool, n) for n in os.listdir(self.pool)
                if n.startswith(stem + ".") or n.startswith(upstream + ".orig.")]

    def publish(self):
        """Writes the Sources index and the signed InRelease, then starts serving."""
        repo = os.path.dirname(self.pool)
        with open(os.path.join(repo, "Sources"), "w") as f:
            f.write(run(["dpkg-scansources", "pool", "/dev/null"], cwd=repo))
        size = os.path.getsize(os.path.join(repo, "Sources"))
        with open(os.path.join(repo, "Release"), "w") as f:
            f.write("Origin: test\nLabel: test\nSuite: test\nCodename: test\n"
                    "Date: Thu, 01 Jan 2026 00:00:00 UTC\nSHA256:\n %s %d Sources\n"
                    % (sha256(os.path.join(repo, "Sources")), size))
        self.gnupg = os.path.join(self.top, "gnupg")
        os.mkdir(self.gnupg, 0o700)
        env = dict(os.environ, GNUPGHOME=self.gnupg)
        run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "test repository <test@example.invalid>",
             "ed25519", "sign", "never"], env=env)
        run(["gpg", "--batch", "--yes", "--clearsign", "-o", os.path.join(repo, "InRelease"),
             os.path.join(repo, "Release")], env=env)
        self.keyring = os.path.join(self.top, "repo-key.gpg")
        run(["gpg", "--batch", "--yes", "-o", self.keyring, "--export"], env=env)
        run(["gpgconf", "--kill", "gpg-agent"], env=env)

        handler = lambda *a: _QuietHandler(*a, directory=repo)  # noqa: E731
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.apt_config()

    def apt_config(self):
        apt = os.path.join(self.top, "apt")
        for sub in ("parts", "sources.list.d", "preferences.d", "lists/partial", "cache/archives/partial"):
            os.makedirs(os.path.join(apt, sub))
        open(os.path.join(apt, "status"), "w").close()
        with open(os.path.join(apt, "sources.list"), "w") as f:
            f.write("deb-src [signed-by=%s] http://127.0.0.1:%d/ ./\n"
                    % (self.keyring, self.server.server_address[1]))
        self.config = os.path.join(apt, "apt.conf")
        with open(self.config, "w") as f:
            for key, value in (("Dir::Etc::Parts", "parts"), ("Dir::Etc::SourceList", "sources.list"),
                               ("Dir::Etc::SourceParts", "sources.list.d"),
                               ("Dir::Etc::PreferencesParts", "preferences.d"),
                               ("Dir::State::Lists", "lists"), ("Dir::State::status", "status"),
                               ("Dir::Cache", "cache")):
                f.write('%s "%s";\n' % (key, os.path.join(apt, value)))
            # The test's files live in the test's private folder, which apt's _apt user cannot read.
            f.write('APT::Sandbox::User "root";\nAcquire::Languages "none";\n'
                    'Acquire::http::Proxy "DIRECT";\n')

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
        env.update(APT_CONFIG=self.config, LC_ALL="C")
        env.update(extra)
        return env

    def update(self):
        run(["apt-get", "update", "-qq"], env=self.env())

    def close(self):
        if getattr(self, "server", None):
            self.server.shutdown()
            self.server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@unittest.skipIf(MISSING, "not installed: %s (scripts/apt-packages.txt: dpkg-dev, gnupg comes with apt)"
                 % ", ".join(MISSING))
@unittest.skipIf(os.geteuid() != 0, "needs root: apt-get source and update run as root in the script")
class FetchSourcesFallback(unittest.TestCase):
    """Versions, newest first: 1:1.2-1 (a tampered orig tarball: apt's hash check refuses it),
    1:1.1-1 (downloads, but a different upstream release than the pinned one), 1:1.0-1+deb12u1 (its
    files 404, as the security mirror did), 1:1.0-1 (the pinned release: taken). gonepkg: every
    version 404s."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="lr-fetch-")
        os.chmod(cls.tmp.name, 0o755)
        cls.mirror = Mirror(cls.tmp.name)
        try:
            m = cls.mirror
            m.add("fakepkg", "1:1.0-1", "1.0")
            cls.orig = m.add("fakepkg", "1:1.0-1+deb12u1", "1.0")
            m.add("fakepkg", "1:1.1-1", "1.1")
            tampered = m.add("fakepkg", "1:1.2-1", "1.2")
            m.add("gonepkg", "2.0-1", "2.0")
            cls.gone_orig = m.add("gonepkg", "2.0-1+deb12u1", "2.0")
            m.publish()
            for path in m.files_of("fakepkg", "1:1.0-1+deb12u1"):
                if not path.endswith(".orig.tar.gz"):  # the orig tarball is shared with 1:1.0-1
                    os.unlink(path)
            for path in m.files_of("gonepkg", "2.0-1") + m.files_of("gonepkg", "2.0-1+deb12u1"):
                if os.path.exists(path):
                    os.unlink(path)
            with open(os.path.join(m.pool, tampered), "r+b") as f:  # same size, other bytes
                f.seek(-1, os.SEEK_END)
                last = f.read(1)
                f.seek(-1, os.SEEK_END)
                f.write(bytes([last[0] ^ 0xFF]))
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.mirror.close()
        cls.tmp.cleanup()

    def setUp(self):
        self.case = tempfile.mkdtemp(dir=self.tmp.name)
        self.calls = os.path.join(self.case, "apt-get.calls")
        # A recorder in front of the real apt-get: it logs the arguments and runs the real program.
        bindir = os.path.join(self.case, "bin")
        os.mkdir(bindir)
        with open(os.path.join(bindir, "apt-get"), "w") as f:
            f.write('#!/bin/sh\necho "$*" >>"%s"\nexec %s "$@"\n' % (self.calls, shutil.which("apt-get")))
        os.chmod(os.path.join(bindir, "apt-get"), 0o755)
        self.path = bindir + os.pathsep + os.environ["PATH"]

    def lock(self, name, pkg, orig, sha):
        path = os.path.join(self.case, "sources.lock")
        with open(path, "w") as f:
            f.write("# test lock\n%s %s %s %s https://example.invalid/%s %s\n" % (name, pkg, orig, sha, orig, sha))
        return path

    def fetch(self, lock, dest):
        return subprocess.run([SCRIPT, "--dest", dest], env=self.mirror.env(LR_SOURCES_LOCK=lock, PATH=self.path),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)

    def apt_calls(self):
        if not os.path.exists(self.calls):
            return []
        with open(self.calls) as f:
            return [line.split() for line in f]

    def test_falls_back_past_a_404_and_other_releases_to_the_pinned_version(self):
        self.mirror.update()
        lock = self.lock("fake", "fakepkg", self.orig, self.mirror.orig_sha[self.orig])
        dest = os.path.join(self.case, "sources")
        proc = self.fetch(lock, dest)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(os.path.join(dest, "fake", "hello.c")) as f:
            self.assertIn('"1.0"', f.read())
        self.assertTrue(os.path.isfile(os.path.join(dest, "fake", "debian", "changelog")))
        with open(os.path.join(dest, "SOURCES")) as f:
            self.assertIn("fake debian fakepkg_1.0-1 orig-sha256=%s\n" % self.mirror.orig_sha[self.orig],
                          f.read())
        # Each skipped version is named with apt's own reason, newest first.
        err = proc.stderr
        self.assertRegex(err, r"skipping fakepkg 1:1\.2-1: E: .*fakepkg_1\.2\.orig\.tar\.gz  Hash Sum mismatch")
        self.assertIn("skipping fakepkg 1:1.1-1: fakepkg=1:1.1-1 does not use %s" % self.orig, err)
        self.assertRegex(err, r"skipping fakepkg 1:1\.0-1\+deb12u1: E: Failed to fetch "
                              r"http://127\.0\.0\.1:\d+/pool/fakepkg_1\.0-1%2bdeb12u1\.dsc  404  ")
        self.assertLess(err.index("1:1.2-1"), err.index("1:1.1-1"))
        self.assertLess(err.index("1:1.1-1"), err.index("1:1.0-1+deb12u1"))
        sources = [c for c in self.apt_calls() if "source" in c]
        self.assertEqual([c[-1] for c in sources],
                         ["fakepkg=1:1.2-1", "fakepkg=1:1.1-1", "fakepkg=1:1.0-1+deb12u1", "fakepkg=1:1.0-1"])

    def test_a_wrong_pin_is_refused_naming_both_checksums(self):
        self.mirror.update()
        lock = self.lock("fake", "fakepkg", self.orig, "0" * 64)
        proc = self.fetch(lock, os.path.join(self.case, "sources"))
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("fakepkg=1:1.0-1: %s has SHA-256 %s, pinned %s"
                      % (self.orig, self.mirror.orig_sha[self.orig], "0" * 64), proc.stderr)

    def test_every_version_failing_exits_non_zero_with_apts_errors_and_the_versions_tried(self):
        self.mirror.update()
        lock = self.lock("gone", "gonepkg", self.gone_orig, self.mirror.orig_sha[self.gone_orig])
        dest = os.path.join(self.case, "sources")
        proc = self.fetch(lock, dest)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        tail = proc.stderr[proc.stderr.index("no listed version of gonepkg could be used; tried, newest first:"):]
        self.assertRegex(tail, r"\n  2\.0-1\+deb12u1\n    apt-get source gonepkg=2\.0-1\+deb12u1 failed:\n"
                               r"    E: Failed to fetch http://127\.0\.0\.1:\d+/pool/gonepkg_2\.0-1%2bdeb12u1\.dsc  404  ")
        self.assertRegex(tail, r"\n  2\.0-1\n    apt-get source gonepkg=2\.0-1 failed:\n    E: Failed to fetch .*"
                               r"gonepkg_2\.0-1\.dsc  404  ")
        self.assertFalse(os.path.exists(os.path.join(dest, "gone")))
        self.assertFalse(os.path.exists(os.path.join(dest, "SOURCES")))

    def test_apt_get_update_runs_only_when_the_index_lacks_a_package(self):
        # An empty index: the first run must update it; the second, on a configured machine, must not.
        shutil.rmtree(os.path.join(self.tmp.name, "apt", "lists"))
        os.makedirs(os.path.join(self.tmp.name, "apt", "lists", "partial"))
        lock = self.lock("fake", "fakepkg", self.orig, self.mirror.orig_sha[self.orig])
        first = self.fetch(lock, os.path.join(self.case, "first"))
        self.assertEqual(first.returncode, 0, first.stderr)
        self.assertIn("apt lists no source of fakepkg; running apt-get update", first.stderr)
        self.assertEqual(sum("update" in c for c in self.apt_calls()), 1, self.apt_calls())
        os.unlink(self.calls)
        # A fresh destination, so the second run goes through the index check instead of the stamp.
        second = self.fetch(lock, os.path.join(self.case, "second"))
        self.assertEqual(second.returncode, 0, second.stderr)
        calls = self.apt_calls()
        self.assertEqual([c for c in calls if "update" in c], [], calls)
        self.assertIn(["source", "--download-only", "-qq", "fakepkg=1:1.0-1"], calls)


if __name__ == "__main__":
    unittest.main()

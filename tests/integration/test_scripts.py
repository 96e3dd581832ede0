"""The command-line scripts as a new user meets them: --help from any folder, scripts/logs on a log
group without streams and the by-hand deployment of the docs (both through the real awscli against
moto_server), scripts/test going through every stage, and scripts/setup waiting for apt's lock (the
real apt-get, on a private configuration whose lock the test holds).

scripts/fetch-sources has its own module, test_fetch_sources.py.
"""

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import zipfile

import awstest
import lrtest
import test_e2e_moto  # missing_tools(); imported as a module so its tests are not collected here

SRC = lrtest.source_dir()
REGION = "us-east-1"


def tracked_scripts():
    """Every executable the repository ships under scripts/ and bench/."""
    out = []
    for folder in ("scripts", "bench"):
        for name in sorted(os.listdir(os.path.join(SRC, folder))):
            path = os.path.join(SRC, folder, name)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                out.append(path)
    return out


class HelpFromAnotherFolder(unittest.TestCase):
    def test_every_script_prints_its_usage_from_another_folder_without_doing_anything(self):
        scripts = tracked_scripts()
        self.assertGreaterEqual(len(scripts), 15, scripts)
        with tempfile.TemporaryDirectory(prefix="lr-help-") as cwd:
            # LR_BENCH_BUILD_DIR must not be created: --help builds nothing.
            env = dict(os.environ, LR_BENCH_BUILD_DIR=os.path.join(cwd, "bench-build"),
                       LR_BUILD_DIR=os.path.join(cwd, "build"))
            for path in scripts:
                rel = os.path.relpath(path, cwd)  # ../../.../scripts/x, as a user in another folder types it
                with self.subTest(script=rel):
                    proc = subprocess.run([rel, "--help"], cwd=cwd, env=env, capture_output=True, text=True,
                                          timeout=30)
                    self.assertEqual(proc.returncode, 0, proc.stderr)
                    self.assertEqual(proc.stderr, "")
                    self.assertGreater(len(proc.stdout.splitlines()), 1, proc.stdout)
                    self.assertIn(os.path.basename(path), proc.stdout)
                    self.assertFalse([line for line in proc.stdout.splitlines() if line.startswith("#")],
                                     proc.stdout)
            self.assertEqual(os.listdir(cwd), [])


class OptionWithoutValue(unittest.TestCase):
    def test_an_option_missing_its_value_is_named(self):
        for name in ("deploy", "outputs", "invoke", "logs", "put-demo-items", "teardown"):
            with self.subTest(script=name):
                proc = subprocess.run([os.path.join(SRC, "scripts", name), "--stack-name"],
                                      capture_output=True, text=True, timeout=30)
                self.assertNotEqual(proc.returncode, 0)
                self.assertIn("--stack-name needs a value", proc.stderr)
                self.assertEqual(proc.stdout, "")


@unittest.skipIf(test_e2e_moto.missing_tools(), "not installed: %s" % ", ".join(test_e2e_moto.missing_tools()))
class ScriptsOnMoto(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="lr-scripts-moto-")
        cls.env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                       AWS_DEFAULT_REGION=REGION, AWS_EC2_METADATA_DISABLED="true",
                       AWS_CONFIG_FILE=os.path.join(cls.tmp.name, "none"),
                       AWS_SHARED_CREDENTIALS_FILE=os.path.join(cls.tmp.name, "none"))
        cls.env.pop("AWS_PROFILE", None)
        cls.env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + cls.env.get("PATH", "")
        try:
            cls.moto = awstest.Moto()
        except BaseException:
            cls.tmp.cleanup()
            raise
        cls.endpoint = cls.moto.endpoint

    @classmethod
    def tearDownClass(cls):
        cls.moto.close()
        cls.tmp.cleanup()

    def aws(self, *args):
        proc = subprocess.run(["aws", "--endpoint-url", self.endpoint, "--region", REGION] + list(args),
                              env=self.env, capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, "aws %s: %s" % (" ".join(args), proc.stderr))
        return proc.stdout

    def logs(self, stack, *args):
        return subprocess.run([os.path.join(SRC, "scripts", "logs"), "--endpoint-url", self.endpoint,
                               "--region", REGION, "--stack-name", stack] + list(args),
                              env=self.env, capture_output=True, text=True, timeout=120)

    def test_logs_says_there_are_no_streams_yet_then_prints_the_newest_streams(self):
        body = os.path.join(self.tmp.name, "logs.yaml")
        with open(body, "w") as f:
            f.write("Resources:\n  Group:\n    Type: AWS::Logs::LogGroup\n"
                    "    Properties:\n      LogGroupName: /aws/lambda/logs-test\n"
                    "Outputs:\n  oLogGroupName:\n    Value: !Ref Group\n")
        self.aws("cloudformation", "create-stack", "--stack-name", "logs-test", "--template-body", "file://" + body)
        self.aws("cloudformation", "wait", "stack-create-complete", "--stack-name", "logs-test")

        empty = self.logs("logs-test")
        self.assertEqual(empty.returncode, 0, empty.stderr)
        self.assertEqual(empty.stdout, "")
        self.assertIn("logs: no log streams yet in /aws/lambda/logs-test", empty.stderr)

        now_ms = int(time.time() * 1000)
        for i, stream in enumerate(("2026/01/01/[$LATEST]a", "2026/01/01/[$LATEST]b", "2026/01/01/[$LATEST]c")):
            self.aws("logs", "create-log-stream", "--log-group-name", "/aws/lambda/logs-test",
                     "--log-stream-name", stream)
            self.aws("logs", "put-log-events", "--log-group-name", "/aws/lambda/logs-test",
                     "--log-stream-name", stream, "--log-events",
                     json.dumps([{"timestamp": now_ms - 60000 + i * 1000, "message": "line %d of %s" % (i, stream)}]))
        full = self.logs("logs-test")
        self.assertEqual(full.returncode, 0, full.stderr)
        lines = full.stdout.splitlines()
        self.assertEqual(len(lines), 3, full.stdout)
        for line in lines:
            self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ 2026/01/01/\[\$LATEST\][abc] line \d of ")
        two = self.logs("logs-test", "--streams", "2")
        self.assertEqual(two.returncode, 0, two.stderr)
        self.assertEqual(len(two.stdout.splitlines()), 2, two.stdout)
        self.aws("cloudformation", "delete-stack", "--stack-name", "logs-test")

    def documented_block(self, path):
        """The by-hand deployment block of a Markdown file (the sh block with `aws s3 mb`), unindented."""
        with open(os.path.join(SRC, path)) as f:
            text = f.read()
        for block in re.findall(r"^( *)```sh\n(.*?)^\1```", text, re.S | re.M):
            indent, body = block
            if "aws s3 mb" in body and "create-stack" in body:
                return "".join(line[len(indent):] + "\n" for line in body.splitlines())
        self.fail("no by-hand deployment block in %s" % path)

    def test_the_documented_by_hand_deployment_runs_as_written(self):
        readme, docs = self.documented_block("README.md"), self.documented_block("docs/deploy.md")
        self.assertEqual(readme, docs, "README.md and docs/deploy.md must show the same sequence")
        # Run it as written, except two lines (said in docs/deploy.md): the zip is the test build's
        # bootstrap instead of `scripts/package`, and moto runs functions only in Docker.
        lines = docs.splitlines()
        skipped = [line for line in lines if line.startswith(("scripts/package", "aws lambda invoke"))]
        self.assertEqual(len(skipped), 2, lines)
        kept = [line for line in lines if line not in skipped]
        cut = next(i for i, line in enumerate(kept) if "delete-stack" in line)
        script = "\n".join(kept[:cut] + ['printf "TABLE_NAME=%s\\nLAMBDA_NAME=%s\\nLOG_GROUP=%s\\n" '
                                         '"$TABLE_NAME" "$LAMBDA_NAME" "$LOG_GROUP"'] + kept[cut:]) + "\n"
        work = os.path.join(self.tmp.name, "by-hand")
        os.makedirs(os.path.join(work, "build"))
        for name in ("cloudformation.yaml", "input.json"):
            os.symlink(os.path.join(SRC, name), os.path.join(work, name))
        boot = lrtest.bootstrap_path()
        self.assertTrue(os.access(boot, os.X_OK), "not built: %s" % boot)
        with zipfile.ZipFile(os.path.join(work, "build", "function.zip"), "w", zipfile.ZIP_DEFLATED) as z:
            z.write(boot, "bootstrap")
        # AWS_ENDPOINT_URL points every awscli call at moto without changing the documented commands.
        env = dict(self.env, AWS_ENDPOINT_URL=self.endpoint)
        proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=work, env=env,
                              capture_output=True, text=True, timeout=600)
        self.assertEqual(proc.returncode, 0, "%s\n%s" % (proc.stdout, proc.stderr))
        values = dict(line.split("=", 1) for line in proc.stdout.splitlines() if re.match(r"^[A-Z_]+=", line))
        self.assertEqual(values.get("LOG_GROUP"), "/aws/lambda/DynamoDB-Streams-Test-rLoggingFunction", proc.stdout)
        self.assertTrue(values.get("TABLE_NAME") and values["TABLE_NAME"] != "None", proc.stdout)
        self.assertTrue(values.get("LAMBDA_NAME") and values["LAMBDA_NAME"] != "None", proc.stdout)
        # Everything it made is gone again: the stack and the bucket.
        stacks = self.aws("cloudformation", "list-stacks", "--query",
                          "StackSummaries[?StackName=='DynamoDB-Streams-Test'].StackStatus", "--output", "text")
        self.assertEqual(stacks.split(), ["DELETE_COMPLETE"])
        self.assertNotIn("lambda-ddb-artifacts-", self.aws("s3api", "list-buckets", "--output", "text"))


class TestRunsEveryStage(unittest.TestCase):
    def test_every_stage_runs_and_is_summed_up_when_all_fail(self):
        # A copy of the entry points where every build folder is a plain file: cmake really fails in
        # each stage, at once.
        with tempfile.TemporaryDirectory(prefix="lr-test-stages-") as top:
            os.mkdir(os.path.join(top, "scripts"))
            for name in ("test", "build", "fuzz-smoke"):
                shutil.copy2(os.path.join(SRC, "scripts", name), os.path.join(top, "scripts", name))
            for name in ("build", "build-asan", "build-tsan", "build-portable", "build-fuzz"):
                open(os.path.join(top, name), "w").close()
            shutil.copy2(os.path.join(SRC, "CMakeLists.txt"), top)
            proc = subprocess.run([os.path.join(top, "scripts", "test")], capture_output=True, text=True,
                                  timeout=120)
        self.assertNotEqual(proc.returncode, 0)
        out = proc.stdout
        self.assertIn("== build and test (RelWithDebInfo) ==", out)
        self.assertIn("== build and test under ASan + UBSan ==", out)
        self.assertIn("== build and test under ThreadSanitizer ==", out)
        self.assertIn("== unit tests on the portable byte scan ==", out)
        self.assertIn("== bounded fuzzing ==", out)
        summary = out[out.index("== summary ==\n") + len("== summary ==\n"):].splitlines()
        self.assertEqual(len(summary), 5, out)
        self.assertRegex(summary[0], r"^build and test \(RelWithDebInfo\): FAILED \(exit \d+\)$")
        self.assertRegex(summary[1], r"^build and test under ASan \+ UBSan: FAILED \(exit \d+\)$")
        self.assertRegex(summary[2], r"^build and test under ThreadSanitizer: FAILED \(exit \d+\)$")
        self.assertRegex(summary[3], r"^unit tests on the portable byte scan: FAILED \(exit \d+\)$")
        self.assertRegex(summary[4], r"^bounded fuzzing: FAILED \(exit \d+\)$")

    def test_the_summary_names_the_tests_that_failed(self):
        # A project of one test that fails, built and run by the real cmake and ctest: every stage
        # that runs it names it at the end of the log, which is what a CI log keeps.
        with tempfile.TemporaryDirectory(prefix="lr-test-names-") as top:
            os.mkdir(os.path.join(top, "scripts"))
            for name in ("test", "build", "fuzz-smoke"):
                shutil.copy2(os.path.join(SRC, "scripts", name), os.path.join(top, "scripts", name))
            with open(os.path.join(top, "CMakeLists.txt"), "w") as f:
                f.write("cmake_minimum_required(VERSION 3.20)\nproject(names LANGUAGES NONE)\n"
                        "enable_testing()\nadd_test(NAME unit.always_fails COMMAND false)\n"
                        "add_test(NAME unit.passes COMMAND true)\n"
                        "set_tests_properties(unit.always_fails unit.passes PROPERTIES LABELS unit)\n")
            proc = subprocess.run([os.path.join(top, "scripts", "test")], capture_output=True, text=True,
                                  timeout=120)
        out = proc.stdout
        self.assertNotEqual(proc.returncode, 0, out)
        summary = out[out.index("== summary ==\n") + len("== summary ==\n"):].splitlines()
        self.assertEqual(len(summary), 5, out + proc.stderr)
        for line in summary[:4]:
            self.assertRegex(line, r": FAILED \(exit \d+\) in: unit\.always_fails$", out + proc.stderr)
        # No fuzz target to build: a failure, and no test to name.
        self.assertRegex(summary[4], r"^bounded fuzzing: FAILED \(exit \d+\)$")


@unittest.skipIf(os.geteuid() != 0, "needs root: scripts/setup runs apt-get as root (through sudo otherwise)")
class SetupWaitsForAptsLock(unittest.TestCase):
    """scripts/setup with a package list naming a package that is not installed, and the real apt-get
    on a private configuration (APT_CONFIG: empty sources, own lists, cache and dpkg status), whose
    lists lock the test holds the way another apt-get would."""

    def setUp(self):
        self.top = tempfile.mkdtemp(prefix="lr-setup-lock-")
        self.addCleanup(shutil.rmtree, self.top)
        os.mkdir(os.path.join(self.top, "scripts"))
        shutil.copy2(os.path.join(SRC, "scripts", "setup"), os.path.join(self.top, "scripts"))
        with open(os.path.join(self.top, "scripts", "apt-packages.txt"), "w") as f:
            f.write("# a package no index has\nlr-no-such-package\n")
        apt = os.path.join(self.top, "apt")
        for sub in ("parts", "sources.list.d", "lists/partial", "cache/archives/partial", "dpkg"):
            os.makedirs(os.path.join(apt, sub))
        open(os.path.join(apt, "sources.list"), "w").close()
        open(os.path.join(apt, "dpkg", "status"), "w").close()
        self.config = os.path.join(apt, "apt.conf")
        with open(self.config, "w") as f:
            for key, value in (("Dir::Etc::Parts", "parts"), ("Dir::Etc::SourceList", "sources.list"),
                               ("Dir::Etc::SourceParts", "sources.list.d"), ("Dir::State::Lists", "lists"),
                               ("Dir::State::status", "dpkg/status"), ("Dir::Cache", "cache")):
                f.write('%s "%s";\n' % (key, os.path.join(apt, value)))
        self.lock_fd = os.open(os.path.join(apt, "lists", "lock"), os.O_RDWR | os.O_CREAT, 0o640)
        self.addCleanup(os.close, self.lock_fd)
        fcntl.lockf(self.lock_fd, fcntl.LOCK_EX)  # apt's own kind of lock (fcntl), on its own lock file

    def setup(self, wait_s):
        env = dict(os.environ, APT_CONFIG=self.config, LR_APT_LOCK_WAIT=str(wait_s), LC_ALL="C")
        return subprocess.run([os.path.join(self.top, "scripts", "setup")], env=env, capture_output=True,
                              text=True, timeout=120)

    def test_waits_for_the_lock_then_goes_on(self):
        release = threading.Timer(6, fcntl.lockf, (self.lock_fd, fcntl.LOCK_UN))
        release.start()
        self.addCleanup(release.cancel)
        proc = self.setup(60)
        self.assertIn("setup: waiting for apt's lock (held by process %d" % os.getpid(), proc.stderr)
        # After the lock was released: update ran on the empty sources, install found no such package.
        self.assertIn("Unable to locate package lr-no-such-package", proc.stderr)
        self.assertNotEqual(proc.returncode, 0)

    def test_gives_up_after_the_bounded_wait_saying_why(self):
        started = time.monotonic()
        proc = self.setup(4)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("Could not get lock", proc.stderr)
        self.assertIn("setup: apt's lock was still held after 4 s", proc.stderr)
        self.assertNotIn("Unable to locate package", proc.stderr)
        self.assertLess(time.monotonic() - started, 60)


if __name__ == "__main__":
    unittest.main()

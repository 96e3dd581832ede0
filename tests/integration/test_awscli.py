"""The real AWS CLI against the local emulator and the bundled bootstrap, as a user runs it:

    aws lambda invoke --endpoint-url http://127.0.0.1:PORT --function-name function \\
        --payload file://input.json out.json

awscli v1 sends a file:// payload as given; v2 (Debian's awscli package) needs
--cli-binary-format raw-in-base64-out for the same, which is added when `aws --version` says 2.x.
Dummy credentials and region only: nothing leaves the machine."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import lrtest


def aws_major_version(aws):
    out = subprocess.run([aws, "--version"], capture_output=True, text=True, timeout=60)
    m = re.search(r"aws-cli/(\d+)\.", out.stdout + out.stderr)
    return int(m.group(1)) if m else 0


class AwsCliInvokeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.aws = shutil.which("aws")
        if cls.aws is None:
            raise AssertionError("the aws CLI is not on PATH (scripts/apt-packages.txt installs awscli)")
        cls.major = aws_major_version(cls.aws)
        cls.tmp = tempfile.TemporaryDirectory(prefix="lrtest-awscli-")
        cls.env = dict(os.environ)
        cls.env.update({
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1", "AWS_PAGER": "", "AWS_EC2_METADATA_DISABLED": "true",
            # Keep the user's own configuration and profiles out of the test.
            "AWS_CONFIG_FILE": os.path.join(cls.tmp.name, "config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(cls.tmp.name, "credentials"),
        })
        cls.env.pop("AWS_PROFILE", None)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def invoke(self, emu, payload_path, *extra):
        out = os.path.join(self.tmp.name, "out.json")
        if os.path.exists(out):
            os.unlink(out)
        cmd = [self.aws, "lambda", "invoke", "--endpoint-url", "http://" + emu.invoke_address,
               "--function-name", "function", "--payload", "file://" + payload_path]
        if self.major >= 2:
            cmd += ["--cli-binary-format", "raw-in-base64-out"]
        cmd += list(extra) + ["--output", "json", out]
        proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True,
                              timeout=120 * lrtest.slow_factor(), stdin=subprocess.DEVNULL)
        body = None
        if os.path.exists(out):
            with open(out, "rb") as f:
                body = f.read()
        return proc, body

    def write(self, name, data):
        path = os.path.join(self.tmp.name, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_invoke_with_the_example_event(self):
        with lrtest.Emulator() as emu:
            proc, body = self.invoke(emu, os.path.join(lrtest.source_dir(), "input.json"))
            self.assertEqual(0, proc.returncode, proc.stderr)
            meta = json.loads(proc.stdout)
            self.assertEqual(200, meta["StatusCode"])
            self.assertEqual("$LATEST", meta["ExecutedVersion"])
            self.assertNotIn("FunctionError", meta)
            self.assertEqual({"batchItemFailures": []}, json.loads(body))
            st = emu.stats()
            self.assertEqual((1, 1), (st["invokes"], st["responses"]))
            emu.wait_for_log(r"REPORT RequestId: ")

    def test_log_type_tail_returns_the_invokes_log(self):
        import base64
        with lrtest.Emulator() as emu:
            proc, body = self.invoke(emu, os.path.join(lrtest.source_dir(), "input.json"),
                                     "--log-type", "Tail")
            self.assertEqual(0, proc.returncode, proc.stderr)
            log = base64.b64decode(json.loads(proc.stdout)["LogResult"]).decode()
            lines = log.splitlines()
            request_id = re.match(r"START RequestId: ([0-9a-f-]{36}) Version: \$LATEST$", lines[0]).group(1)
            self.assertTrue(lines[-1].startswith("REPORT RequestId: %s\tDuration: " % request_id), log)
            self.assertEqual("END RequestId: %s" % request_id, lines[-2])
            self.assertRegex(log, r"\t%s\tINFO\t" % request_id)  # the function's own lines
            self.assertEqual({"batchItemFailures": []}, json.loads(body))

    def test_function_error_is_shown_as_FunctionError(self):
        with lrtest.Emulator() as emu:
            proc, body = self.invoke(emu, self.write("bad.json", b"this is not json"))
            self.assertEqual(0, proc.returncode, proc.stderr)  # as with real Lambda: a 200
            meta = json.loads(proc.stdout)
            self.assertEqual(200, meta["StatusCode"])
            self.assertEqual("Unhandled", meta["FunctionError"])
            self.assertEqual("Function.InvalidEvent", json.loads(body)["errorType"])

    def test_oversized_payload_is_a_RequestEntityTooLargeException(self):
        with lrtest.Emulator() as emu:
            proc, _ = self.invoke(emu, self.write("big.json", b"x" * (6 * 1024 * 1024 + 200)))
            self.assertNotEqual(0, proc.returncode)
            self.assertIn("RequestEntityTooLargeException", proc.stderr)
            self.assertEqual(0, emu.stats()["invokes"])

    def test_event_invocation_type_answers_202(self):
        with lrtest.Emulator() as emu:
            proc, body = self.invoke(emu, os.path.join(lrtest.source_dir(), "input.json"),
                                     "--invocation-type", "Event")
            self.assertEqual(0, proc.returncode, proc.stderr)
            self.assertEqual(202, json.loads(proc.stdout)["StatusCode"])
            self.assertEqual(b"", body)
            self.assertEqual(1, emu.stats()["responses"])


if __name__ == "__main__":
    unittest.main()

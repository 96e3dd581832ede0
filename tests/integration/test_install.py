"""Install rules and the exported CMake package: `cmake --install` the tree into a temporary prefix,
build a project outside the tree with find_package(lambda_ddb), and run what it built through the
emulator."""
import json
import os
import subprocess
import tempfile
import unittest

import lrtest


def run(cmd, **kw):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if proc.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s" % (" ".join(cmd), proc.returncode, proc.stdout))
    return proc.stdout


class InstallTest(unittest.TestCase):
    def test_installed_package_builds_and_runs_a_bootstrap(self):
        if os.environ.get("LR_SANITIZERS") == "1":
            self.skipTest("the consumer is built without sanitizers; covered by the normal pass")
        src = lrtest.source_dir()
        with tempfile.TemporaryDirectory() as tmp:
            prefix = os.path.join(tmp, "prefix")
            run(["cmake", "--install", lrtest.build_dir(), "--prefix", prefix])
            headers = sorted(os.listdir(os.path.join(prefix, "include", "lr")))
            for h in ("batch.h", "ddb.h", "emf.h", "log.h", "runtime.h", "common.h"):
                self.assertIn(h, headers)
            self.assertTrue(os.path.isfile(os.path.join(prefix, "bin", "bootstrap")))

            build = os.path.join(tmp, "consumer")
            run(["cmake", "-S", os.path.join(src, "tests", "data", "consumer"), "-B", build,
                 "-DCMAKE_PREFIX_PATH=" + prefix,
                 "-DEXAMPLE_SOURCE=" + os.path.join(src, "examples", "inventory", "main.c")])
            run(["cmake", "--build", build])
            boot = os.path.join(build, "bootstrap")
            self.assertTrue(os.access(boot, os.X_OK))

            event = {"Records": [{
                "eventID": "1", "eventName": "INSERT", "eventSource": "aws:dynamodb",
                "dynamodb": {"Keys": {"Sku": {"S": "A-1"}},
                             "NewImage": {"Sku": {"S": "A-1"}, "Quantity": {"N": "-3"}},
                             "SequenceNumber": "100000000000000000001", "SizeBytes": 30,
                             "StreamViewType": "NEW_IMAGE"}}]}
            with lrtest.Emulator(bootstrap=boot) as emu:
                status, _, body = emu.invoke(json.dumps(event).encode())
            self.assertEqual(status, 200)
            # The example rejects a negative Quantity: the record is reported by its sequence number.
            self.assertEqual(json.loads(body),
                             {"batchItemFailures": [{"itemIdentifier": "100000000000000000001"}]})


if __name__ == "__main__":
    unittest.main()

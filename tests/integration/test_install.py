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


NEGATIVE_QUANTITY = {"Records": [{
    "eventID": "1", "eventName": "INSERT", "eventSource": "aws:dynamodb",
    "dynamodb": {"Keys": {"Sku": {"S": "A-1"}},
                 "NewImage": {"Sku": {"S": "A-1"}, "Quantity": {"N": "-3"}},
                 "SequenceNumber": "100000000000000000001", "SizeBytes": 30,
                 "StreamViewType": "NEW_IMAGE"}}]}


def readme_handler():
    """The C code block of README.md's "Writing a handler" section."""
    with open(os.path.join(lrtest.source_dir(), "README.md")) as f:
        text = f.read()
    section = text[text.index("## Writing a handler"):]
    return section[section.index("```c\n") + 5:section.index("\n```", section.index("```c\n"))] + "\n"


@unittest.skipIf(os.environ.get("LR_SANITIZERS") == "1",
                 "the consumers are built without sanitizers; covered by the normal pass")
class InstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.prefix = os.path.join(cls.tmp.name, "prefix")
        run(["cmake", "--install", lrtest.build_dir(), "--prefix", cls.prefix])

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def consumer(self, name, source, link_target="lr_batch"):
        """Builds source against the installed package as a separate project; returns the build dir."""
        build = os.path.join(self.tmp.name, name)
        run(["cmake", "-S", os.path.join(lrtest.source_dir(), "tests", "data", "consumer"), "-B", build,
             "-DCMAKE_PREFIX_PATH=" + self.prefix, "-DEXAMPLE_SOURCE=" + source,
             "-DLINK_TARGET=" + link_target])
        run(["cmake", "--build", build])
        self.assertTrue(os.access(os.path.join(build, "bootstrap"), os.X_OK))
        return build

    def invoke_rejects_negative_quantity(self, boot):
        with lrtest.Emulator(bootstrap=boot) as emu:
            status, _, body = emu.invoke(json.dumps(NEGATIVE_QUANTITY).encode())
        self.assertEqual(status, 200)
        # A negative Quantity is rejected: the record is reported by its sequence number.
        self.assertEqual(json.loads(body),
                         {"batchItemFailures": [{"itemIdentifier": "100000000000000000001"}]})

    def test_readme_handler_is_short_and_works_as_shown(self):
        code = readme_handler()
        self.assertLess(len(code.strip().splitlines()), 30, code)  # includes and blank lines too
        path = os.path.join(self.tmp.name, "readme_handler.c")
        with open(path, "w") as f:
            f.write(code)
        build = self.consumer("readme", path)
        self.invoke_rejects_negative_quantity(os.path.join(build, "bootstrap"))

    def test_ddb_alone_links_without_libcurl(self):
        build = self.consumer("ddb-only", os.path.join(lrtest.source_dir(), "tests", "data", "consumer",
                                                       "ddb_only.c"), "lr_ddb")
        with open(os.path.join(build, "CMakeFiles", "bootstrap.dir", "link.txt")) as f:
            link_line = f.read()
        self.assertIn("liblr_ddb.a", link_line)
        self.assertNotIn("curl", link_line)
        self.assertNotIn("cjson", link_line.lower())
        needed = run(["readelf", "-d", os.path.join(build, "bootstrap")])
        self.assertNotIn("libcurl", needed)
        event = json.dumps(NEGATIVE_QUANTITY).encode()
        out = subprocess.run([os.path.join(build, "bootstrap")], input=event, capture_output=True,
                             check=True).stdout
        self.assertEqual(out, b"100000000000000000001 INSERT valid\n")
        # The control: the batch layer does bring libcurl along.
        batch = self.consumer("batch", os.path.join(lrtest.source_dir(), "examples", "inventory",
                                                    "main.c"))
        with open(os.path.join(batch, "CMakeFiles", "bootstrap.dir", "link.txt")) as f:
            self.assertIn("curl", f.read())

    def test_installed_package_builds_and_runs_a_bootstrap(self):
        headers = sorted(os.listdir(os.path.join(self.prefix, "include", "lr")))
        for h in ("batch.h", "ddb.h", "emf.h", "log.h", "runtime.h", "common.h", "buf.h", "json.h",
                  "clock.h", "utf8.h"):
            self.assertIn(h, headers)
        self.assertTrue(os.path.isfile(os.path.join(self.prefix, "bin", "bootstrap")))
        build = self.consumer("inventory", os.path.join(lrtest.source_dir(), "examples", "inventory",
                                                        "main.c"))
        self.invoke_rejects_negative_quantity(os.path.join(build, "bootstrap"))


if __name__ == "__main__":
    unittest.main()

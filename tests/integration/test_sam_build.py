"""The Makefile target that `sam build` runs (BuildMethod: makefile), exercised the way sam build runs
it: a scratch copy of the tree, ARTIFACTS_DIR, a dynamic and a static bootstrap. Its own module (and CTest
test) because each case builds the project from nothing."""

import os
import shutil
import subprocess
import tempfile
import unittest

import lrtest

SRC = lrtest.source_dir()


class MakefileForSamBuild(unittest.TestCase):
    """Runs `make build-StreamProcessorFunction` in a scratch copy with ARTIFACTS_DIR, as sam build does."""

    @staticmethod
    def scratch_copy(dest):
        def ignore(folder, names):
            if os.path.abspath(folder) != os.path.abspath(SRC):
                return [n for n in names if n == "__pycache__"]
            return [n for n in names if n.startswith("build") or n in (".git", ".aws-sam", "out")]
        shutil.copytree(SRC, dest, ignore=ignore, symlinks=True)

    def sam_build(self, tmp, make_args, timeout_s):
        """Copies the tree to tmp/scratch and runs the target there as sam build does; asserts that
        exactly one executable bootstrap landed in ARTIFACTS_DIR and returns (scratch, bootstrap)."""
        scratch, artifacts = os.path.join(tmp, "scratch"), os.path.join(tmp, "artifacts")
        self.scratch_copy(scratch)
        os.mkdir(artifacts)
        proc = subprocess.run(["make", "--makefile", os.path.join(scratch, "Makefile"),
                               "build-StreamProcessorFunction", "ARTIFACTS_DIR=" + artifacts]
                              + make_args, cwd=scratch, capture_output=True, text=True,
                              timeout=timeout_s)
        self.assertEqual(proc.returncode, 0, proc.stdout[-3000:] + proc.stderr[-3000:])
        self.assertEqual(os.listdir(artifacts), ["bootstrap"])
        boot = os.path.join(artifacts, "bootstrap")
        self.assertTrue(os.access(boot, os.X_OK))
        return scratch, boot

    def test_target_leaves_an_executable_bootstrap_in_artifacts_dir(self):
        with tempfile.TemporaryDirectory(prefix="sam-build-") as tmp:
            scratch, boot = self.sam_build(tmp, ["BOOTSTRAP=dynamic"], 900)
            with open(boot, "rb") as f:
                self.assertEqual(f.read(4), b"\x7fELF")
            # Release build: the CMake cache of the scratch build says so.
            with open(os.path.join(scratch, "build-sam", "CMakeCache.txt")) as f:
                self.assertIn("CMAKE_BUILD_TYPE:STRING=Release", f.read())

    def test_static_bootstrap_is_self_contained_and_answers_the_example(self):
        # What `sam build` gives by default where musl-gcc is installed (BOOTSTRAP=auto).
        if shutil.which("musl-gcc") is None:
            self.skipTest("musl-gcc not installed (scripts/setup installs musl-tools)")
        sources = os.path.join(lrtest.build_dir(), "sources-sam")
        with tempfile.TemporaryDirectory(prefix="sam-build-") as tmp:
            _, boot = self.sam_build(tmp, ["PACKAGE_SOURCES_DIR=" + sources], 1800)
            headers = subprocess.run(["readelf", "-l", "-d", boot], capture_output=True,
                                     text=True, check=True).stdout
            self.assertNotIn("INTERP", headers)
            self.assertNotIn("(NEEDED)", headers)
            with open(os.path.join(SRC, "input.json"), "rb") as f:
                event = f.read()
            with lrtest.Emulator(bootstrap=boot) as emu:
                status, _, body = emu.invoke(event)
            self.assertEqual((status, body), (200, b'{"batchItemFailures":[]}'))

    def test_unknown_bootstrap_kind_is_refused(self):
        proc = subprocess.run(["make", "--makefile", os.path.join(SRC, "Makefile"),
                               "build-StreamProcessorFunction", "ARTIFACTS_DIR=/nonexistent",
                               "BOOTSTRAP=shared"], cwd=SRC, capture_output=True, text=True)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("BOOTSTRAP must be auto, static or dynamic", proc.stderr)

    def test_target_refuses_to_run_without_artifacts_dir(self):
        proc = subprocess.run(["make", "--makefile", os.path.join(SRC, "Makefile"), "-n",
                               "check-artifacts-dir"], cwd=SRC, capture_output=True, text=True,
                              env={k: v for k, v in os.environ.items() if k != "ARTIFACTS_DIR"})
        self.assertEqual(proc.returncode, 0)
        proc = subprocess.run(["make", "--makefile", os.path.join(SRC, "Makefile"),
                               "check-artifacts-dir"], cwd=SRC, capture_output=True, text=True,
                              env={k: v for k, v in os.environ.items() if k != "ARTIFACTS_DIR"})
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("ARTIFACTS_DIR is not set", proc.stderr)


if __name__ == "__main__":
    unittest.main()

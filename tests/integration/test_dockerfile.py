"""A lint of the Dockerfile, since Docker cannot run here and hadolint is not packaged for Debian 12:
pinned base tags (no `latest`, no untagged image, no moving `al2`/`al2023` tag of the Lambda base
image), every stage used, COPY sources present in the repository and not excluded by .dockerignore,
.dockerignore excluding build output, the yum/dnf install of the build dependencies, and the final
stage putting bootstrap where the provided base image runs it. The lint is itself tested on bad
Dockerfiles, so it cannot silently pass. When a hadolint binary happens to be on PATH it runs too."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

import lrtest

SRC = lrtest.source_dir()
LAMBDA_BASE = "public.ecr.aws/lambda/provided"
# Dated tags such as al2.2025.12.22.12 never move; `al2`, `al2023`, `latest` do.
PINNED_LAMBDA_TAG = re.compile(r"^al2(023)?\.\d{4}\.\d{2}\.\d{2}\.\d{2}(-(x86_64|arm64))?$")


def instructions(text):
    """(line number, KEYWORD, arguments) for each instruction, continuation lines joined."""
    out, buf, start = [], "", 0
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue
        if not buf:
            start = no
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        keyword, _, args = buf.partition(" ")
        out.append((start, keyword.upper(), args.strip()))
        buf = ""
    return out


def substitute(value, args):
    return re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), value)


def dockerignore_patterns(text):
    return [p.strip().rstrip("/") for p in text.splitlines()
            if p.strip() and not p.strip().startswith("#")]


def pattern_regex(pattern):
    """A .dockerignore pattern as a regex on the path relative to the context root (Go
    filepath.Match rules plus `**`, as Docker applies them)."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + "$")


def ignored(path, patterns):
    """True when path, or a folder above it, matches a pattern (no `!` exceptions are used here)."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[:i + 1]) for i in range(len(parts))]
    return any(pattern_regex(p.lstrip("/")).match(prefix) for p in patterns for prefix in prefixes)


def check_from(no, ref, args, stage_names, problems):
    """Problems of one FROM image reference (after ARG substitution)."""
    image = substitute(ref, args)
    if image == "scratch" or image in stage_names:
        return image
    if "$" in image:
        problems.append("line %d: FROM %s uses an ARG without a default" % (no, ref))
        return image
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.partition(":")[2] if ":" in last else ""
    if not tag and not digest:
        problems.append("line %d: FROM %s has no tag (implicitly latest)" % (no, image))
    elif tag == "latest":
        problems.append("line %d: FROM %s uses the latest tag" % (no, image))
    elif name.startswith(LAMBDA_BASE + ":") and not digest and not PINNED_LAMBDA_TAG.match(tag):
        problems.append("line %d: FROM %s uses a moving tag; pin a dated one" % (no, image))
    return image


def lint(text, root, dockerignore):
    """Returns the list of problems found in a Dockerfile's text, for the repository at root."""
    problems, args, stages = [], {}, []
    patterns = dockerignore_patterns(dockerignore)
    used = set()
    for no, kw, rest in instructions(text):
        if kw == "ARG" and not stages:
            key, _, default = rest.partition("=")
            args[key.strip()] = default.strip()
        elif kw == "FROM":
            m = re.match(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$", rest, re.I)
            if not m or not m.group(2):
                problems.append("line %d: every stage needs a name (FROM ... AS name)" % no)
                name = "stage%d" % len(stages)
            else:
                name = m.group(2)
            ref = check_from(no, m.group(1) if m else rest, args, [s["name"] for s in stages], problems)
            if ref in [s["name"] for s in stages]:
                used.add(ref)
            stages.append({"name": name, "line": no, "image": ref, "body": []})
        elif stages:
            stages[-1]["body"].append((no, kw, rest))
            if kw in ("COPY", "ADD"):
                check_copy(no, kw, rest, root, patterns, used, problems)
    if not stages:
        return ["no FROM instruction"]
    for s in stages[:-1]:
        # A scratch stage exists only to be exported with `--target NAME --output ...`.
        if s["name"] not in used and s["image"] != "scratch":
            problems.append("line %d: stage %s is never used" % (s["line"], s["name"]))
    check_final_stage(stages[-1], problems)
    return problems


def check_copy(no, kw, rest, root, patterns, used, problems):
    words = rest.split()
    flags = [w for w in words if w.startswith("--")]
    paths = [w for w in words if not w.startswith("--")]
    src_from = [f.split("=", 1)[1] for f in flags if f.startswith("--from=")]
    if src_from:
        used.add(src_from[0])
        return
    if kw == "ADD":
        problems.append("line %d: use COPY, not ADD" % no)
    for src in paths[:-1]:
        if not os.path.exists(os.path.join(root, src)):
            problems.append("line %d: COPY source %s does not exist in the repository" % (no, src))
        elif ignored(src, patterns):
            problems.append("line %d: COPY source %s is excluded by .dockerignore" % (no, src))


def check_final_stage(stage, problems):
    body = stage["body"]
    copies = [rest for _, kw, rest in body if kw == "COPY"]
    if not any(rest.split()[-1] in ("/var/runtime/bootstrap", "${LAMBDA_RUNTIME_DIR}/bootstrap")
               for rest in copies):
        problems.append("final stage does not put bootstrap at /var/runtime/bootstrap")
    if not any(kw == "CMD" for _, kw, _ in body):
        problems.append("final stage has no CMD (the handler name)")
    if not stage["image"].startswith(LAMBDA_BASE + ":"):
        problems.append("final stage is not FROM the %s base image" % LAMBDA_BASE)


def stage_body(text, name):
    """The instructions of the stage called name."""
    body, current = [], None
    for no, kw, rest in instructions(text):
        if kw == "FROM":
            current = (re.search(r"\sAS\s+(\S+)$", rest, re.I) or [None, None])[1]
        elif current == name:
            body.append((no, kw, rest))
    return body


def copied_sources(body):
    """(source, destination) of each COPY from the build context in a stage."""
    out = []
    for _, kw, rest in body:
        words = rest.split()
        if kw == "COPY" and not any(w.startswith("--from=") for w in words):
            out += [(src.rstrip("/"), words[-1]) for src in words[:-1] if not src.startswith("--")]
    return out


def needed_subdirs(cmake_text, off):
    """The add_subdirectory() folders of a CMakeLists.txt that a configure with the options in off
    turned OFF reads: those at the top level, and those inside if(OPTION) blocks not in off."""
    needed, guard = [], None
    for line in cmake_text.splitlines():
        line = line.split("#", 1)[0].strip()
        m = re.match(r"if\((\w+)\)$", line)
        if m:
            guard = m.group(1)
        elif line.startswith("endif("):
            guard = None
        else:
            m = re.match(r"add_subdirectory\(([\w/.-]+)", line)
            if m and guard not in off:
                needed.append(m.group(1))
    return needed


def missing_subdirs(copied, cmake_text, off):
    """The folders a configure reads that no COPY source is or holds."""
    return [d for d in needed_subdirs(cmake_text, off)
            if not any(d == src or d.startswith(src + "/") for src in copied)]


class DockerfileLint(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(SRC, "Dockerfile")) as f:
            cls.text = f.read()
        with open(os.path.join(SRC, ".dockerignore")) as f:
            cls.ignore = f.read()

    def test_repository_dockerfile_is_clean(self):
        self.assertEqual(lint(self.text, SRC, self.ignore), [])

    def test_build_stage_installs_with_yum_or_dnf_on_amazon_linux(self):
        self.assertRegex(self.text, r"dnf install -y [^\n]*libcurl-devel")
        self.assertRegex(self.text, r"yum install -y [^\n]*libcurl-devel")
        self.assertNotIn("apt-get", self.text)

    def test_al2023_is_the_default_and_al2_a_build_argument_with_a_pinned_tag(self):
        # The default matches the templates' default runtime (provided.al2023).
        default = re.search(r"^ARG BASE_TAG=(\S+)$", self.text, re.M).group(1)
        self.assertTrue(PINNED_LAMBDA_TAG.match(default), default)
        self.assertTrue(default.startswith("al2023."))
        documented = re.findall(r"--build-arg BASE_TAG=(\S+)", self.text)
        self.assertTrue(documented and all(PINNED_LAMBDA_TAG.match(t) and t.startswith("al2.")
                                           for t in documented), documented)

    def test_package_stage_exports_function_zip(self):
        self.assertRegex(self.text, r"FROM scratch AS package\nCOPY --from=build /out/function.zip /function.zip")

    def test_dockerignore_excludes_build_output(self):
        patterns = dockerignore_patterns(self.ignore)
        for path in ("build", "build-asan", "build-deploy/handler/bootstrap", ".git", ".aws-sam",
                     "out/function.zip", "function.zip", "tests/integration/__pycache__"):
            self.assertTrue(ignored(path, patterns), path)
        for path in ("runtime/src", "handler/main.c", "CMakeLists.txt", "cmake"):
            self.assertFalse(ignored(path, patterns), path)

    def build_command(self):
        run = [rest for _, kw, rest in stage_body(self.text, "build") if kw == "RUN" and "cmake -S" in rest]
        self.assertEqual(len(run), 1, "one RUN of the build stage configures and builds")
        return run[0]

    def test_build_stage_copies_every_folder_its_configure_reads(self):
        with open(os.path.join(SRC, "CMakeLists.txt")) as f:
            cmake_text = f.read()
        off = set(re.findall(r"-D(\w+)=OFF", self.build_command()))
        copied = [src for src, _ in copied_sources(stage_body(self.text, "build"))]
        self.assertEqual(missing_subdirs(copied, cmake_text, off), [])

    def test_build_stage_builds_the_bootstrap_from_what_it_copies(self):
        """The build stage's configure and build, run here (Debian, not Amazon Linux) on a tree that
        holds only what the stage copies: a folder the build reads but the image lacks fails it."""
        with tempfile.TemporaryDirectory() as tmp:
            for src, dest in copied_sources(stage_body(self.text, "build")):
                target = os.path.join(tmp, dest)
                if os.path.isdir(os.path.join(SRC, src)):
                    shutil.copytree(os.path.join(SRC, src), target, dirs_exist_ok=True)
                else:
                    shutil.copy(os.path.join(SRC, src), target)
            steps = [c.strip() for c in self.build_command().split("&&")][:2]
            self.assertTrue(steps[0].startswith("cmake -S") and steps[1].startswith("cmake --build"), steps)
            steps[1] = steps[1].replace('"$(nproc)"', "2")
            for step in steps:
                proc = subprocess.run(step, shell=True, cwd=tmp, capture_output=True, text=True)
                self.assertEqual(proc.returncode, 0, "%s\n%s" % (step, (proc.stdout + proc.stderr)[-4000:]))
            self.assertTrue(os.access(os.path.join(tmp, "build", "handler", "bootstrap"), os.X_OK))

    def test_package_dockerfile_copies_every_folder_the_static_build_reads(self):
        """packaging/Dockerfile runs scripts/package, whose inner build configures this project with
        the options packaging/CMakeLists.txt passes (and BUILD_TESTING=OFF)."""
        with open(os.path.join(SRC, "packaging", "Dockerfile")) as f:
            body = stage_body(f.read(), "build")
        with open(os.path.join(SRC, "packaging", "CMakeLists.txt")) as f:
            off = set(re.findall(r"-D(\w+)=OFF", f.read()))
        with open(os.path.join(SRC, "CMakeLists.txt")) as f:
            cmake_text = f.read()
        self.assertIn("BUILD_TESTING", off)
        copied = [src for src, _ in copied_sources(body)]
        self.assertIn("scripts", copied)
        self.assertEqual(missing_subdirs(copied, cmake_text, off), [])

    @unittest.skipUnless(shutil.which("hadolint"), "hadolint is not installed (not packaged for Debian 12)")
    def test_hadolint(self):
        proc = subprocess.run(["hadolint", os.path.join(SRC, "Dockerfile")], capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)


class LintCatchesMistakes(unittest.TestCase):
    """The lint reports each kind of mistake it exists for."""

    GOOD_END = ("FROM public.ecr.aws/lambda/provided:al2.2025.12.22.12 AS runtime\n"
                "COPY --from=build /out/bootstrap /var/runtime/bootstrap\nCMD [\"bootstrap\"]\n")
    BUILD = "FROM public.ecr.aws/lambda/provided:al2.2025.12.22.12 AS build\nRUN true\n"

    def problems(self, text):
        return "\n".join(lint(text, SRC, "build\nbuild-*\n.git\n"))

    def test_good_sample_passes(self):
        self.assertEqual(self.problems(self.BUILD + self.GOOD_END), "")

    def test_latest_untagged_and_moving_tags(self):
        self.assertIn("latest tag", self.problems(self.BUILD.replace("al2.2025.12.22.12", "latest") + self.GOOD_END))
        self.assertIn("no tag", self.problems("FROM amazonlinux AS build\n" + self.GOOD_END))
        self.assertIn("moving tag", self.problems(self.BUILD.replace("al2.2025.12.22.12", "al2023") + self.GOOD_END))
        arg = "ARG T=latest\nFROM public.ecr.aws/lambda/provided:${T} AS build\n"
        self.assertIn("latest tag", self.problems(arg + self.GOOD_END))

    def test_unused_stage(self):
        unused = "FROM public.ecr.aws/lambda/provided:al2.2025.12.22.12 AS extra\nRUN true\n"
        self.assertIn("stage extra is never used", self.problems(self.BUILD + unused + self.GOOD_END))

    def test_copy_sources(self):
        self.assertIn("does not exist", self.problems(self.BUILD + "COPY no-such-dir/ x/\n" + self.GOOD_END))
        self.assertIn("excluded by .dockerignore",
                      self.problems(self.BUILD + "COPY .git/ x/\n" + self.GOOD_END))

    def test_missing_subdirs_sees_a_folder_not_copied(self):
        cmake_text = ("add_subdirectory(runtime)\nif(LR_X)\n  add_subdirectory(tools/x)\nendif()\n"
                      "if(LR_Y)\n  add_subdirectory(y)\nendif()\n")
        self.assertEqual(missing_subdirs(["runtime", "tools"], cmake_text, {"LR_Y"}), [])
        self.assertEqual(missing_subdirs(["runtime"], cmake_text, {"LR_Y"}), ["tools/x"])
        self.assertEqual(missing_subdirs(["runtime"], cmake_text, set()), ["tools/x", "y"])

    def test_final_stage_needs_bootstrap_and_cmd(self):
        self.assertIn("does not put bootstrap", self.problems(self.BUILD + self.GOOD_END.replace(
            "/var/runtime/bootstrap", "/tmp/bootstrap")))
        self.assertIn("no CMD", self.problems(self.BUILD + self.GOOD_END.replace("CMD [\"bootstrap\"]\n", "")))


if __name__ == "__main__":
    unittest.main()

"""docs/build.md's table of CMake options against the CMake files of the repository.

Every option and cache variable a CMake file declares (option(), set(... CACHE ...), find_path() and the
other find_* commands, whose result is a cache entry, and BUILD_TESTING through include(CTest)) must be a
row of the table, named with the file that declares it; every row must name a declaration that still
exists; and every LR_ variable that a script or a CMake file passes with -DLR_...= must be declared by one
of the projects (else it would be a silently ignored setting, as LR_PACKAGE_INNER once was).
"""

import os
import re
import unittest

import lrtest

SRC = lrtest.source_dir()
DOC = os.path.join(SRC, "docs", "build.md")
DECLARATIONS = (
    re.compile(r"\boption\(\s*([A-Za-z_]\w*)"),
    re.compile(r"\bset\(\s*([A-Za-z_]\w*)\s[^()]*?\bCACHE\b"),
    re.compile(r"\bfind_(?:path|library|file|program)\(\s*([A-Za-z_]\w*)"),
)
CTEST = re.compile(r"\binclude\(\s*CTest\s*\)")
ROW = re.compile(r"^\| `([A-Za-z_]\w*)` \| `([^`]+)` \|(.*)\|\s*$")
PASSED = re.compile(r"-D(LR_\w+)=")


def without_comments(text):
    """CMake text with every # comment removed (a # inside a quoted argument is kept)."""
    out = []
    for line in text.splitlines():
        quoted = False
        for i, c in enumerate(line):
            if c == '"' and (i == 0 or line[i - 1] != "\\"):
                quoted = not quoted
            elif c == "#" and not quoted:
                line = line[:i]
                break
        out.append(line)
    return "\n".join(out)


def source_files(accept):
    """Paths (relative to the source dir) of the tree's files for which accept(name) holds, leaving out
    hidden folders but .ci, and build trees (build*, or any folder holding a CMakeCache.txt)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(SRC):
        dirnames[:] = sorted(d for d in dirnames if (d == ".ci" or not d.startswith((".", "build")))
                             and not os.path.exists(os.path.join(dirpath, d, "CMakeCache.txt")))
        found += [os.path.relpath(os.path.join(dirpath, f), SRC) for f in sorted(filenames) if accept(f)]
    return found


def is_cmake(name):
    return name == "CMakeLists.txt" or name.endswith((".cmake", ".cmake.in"))


def declared():
    """{(name, file)} of every option and cache variable declared by a CMake file."""
    found = set()
    for rel in source_files(is_cmake):
        with open(os.path.join(SRC, rel)) as f:
            text = without_comments(f.read())
        for rx in DECLARATIONS:
            found.update((name, rel) for name in rx.findall(text))
        if CTEST.search(text):
            found.add(("BUILD_TESTING", rel))
    return found


def documented(testcase):
    """{(name, file)} of the rows of docs/build.md's table; each row must fill all five columns."""
    rows = set()
    with open(DOC) as f:
        for line in f:
            m = ROW.match(line)
            if not m:
                continue
            cells = [c.strip() for c in m.group(3).split(" | ")]
            testcase.assertEqual(3, len(cells), line)
            testcase.assertTrue(all(cells), "an empty column: " + line)
            testcase.assertNotIn((m.group(1), m.group(2)), rows, "named twice: " + line)
            rows.add((m.group(1), m.group(2)))
    return rows


class BuildOptionsTable(unittest.TestCase):
    def test_every_declaration_is_in_the_table(self):
        found = declared()
        self.assertIn(("LR_BUILD_BENCH", "CMakeLists.txt"), found)  # the controls: each kind is seen
        self.assertIn(("LR_AWS_CRYPTO", "runtime/src/aws/CMakeLists.txt"), found)
        self.assertIn(("LR_MBEDCRYPTO_LIBRARY", "runtime/src/aws/CMakeLists.txt"), found)
        self.assertIn(("BUILD_TESTING", "CMakeLists.txt"), found)
        missing = sorted(found - documented(self))
        self.assertEqual([], missing, "declared in CMake but not in docs/build.md's table")

    def test_every_row_of_the_table_is_still_declared(self):
        rows = documented(self)
        self.assertGreaterEqual(len(rows), 20)
        gone = sorted(rows - declared())
        self.assertEqual([], gone, "in docs/build.md's table but declared nowhere (or elsewhere)")

    def test_every_lr_variable_passed_with_d_is_declared(self):
        names = {name for name, _ in declared()}
        scanned = 0
        for rel in source_files(lambda name: True):
            if not rel.startswith(("scripts/", "bench/", "packaging/", ".ci/", "tests/integration/")) \
                    and not is_cmake(os.path.basename(rel)):
                continue
            try:
                with open(os.path.join(SRC, rel)) as f:
                    text = f.read()
            except UnicodeDecodeError:
                continue  # a binary file
            for name in PASSED.findall(text):
                scanned += 1
                with self.subTest(file=rel, name=name):
                    self.assertIn(name, names, "passed with -D but declared by no CMake project")
        self.assertGreater(scanned, 10)  # scripts/package, scripts/test and the superbuild pass many

    def test_the_readme_links_the_page(self):
        with open(os.path.join(SRC, "README.md")) as f:
            self.assertTrue("`docs/build.md`" in f.read(), "README.md does not list docs/build.md")


if __name__ == "__main__":
    unittest.main()

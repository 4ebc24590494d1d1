"""Checks on the C sources themselves: banned.h everywhere, nothing that starts a
program or a shell (the agent runs as root and must never pass input to one), and
cppcheck and clang-tidy with the checked-in configuration (.cppcheck-suppressions,
.clang-tidy) finding nothing."""
import concurrent.futures
import glob
import os
import re
import shutil
import subprocess
import unittest

import bed

SOURCES = sorted(p for d in ("common", "controller", "agent", "tests/tools", "tests/fuzz",
                             "tests/unit", "tests/bench")
                 for p in glob.glob(os.path.join(bed.TOP, d, "*.c")))


def code_only(text):
    """The text without comments and string literals, so that prose never matches."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return re.sub(r'"(\\.|[^"\\\n])*"', '""', text)


class CodeChecks(unittest.TestCase):
    def test_sources_found(self):
        self.assertGreater(len(SOURCES), 20)

    def test_banned_h_is_the_last_include(self):
        bad = []
        for path in SOURCES:
            with open(path) as f:
                includes = re.findall(r'^#include [<"]([^">]+)[">]', f.read(), re.M)
            if not includes or includes[-1] != "banned.h":
                bad.append(os.path.relpath(path, bed.TOP))
        self.assertEqual(bad, [], "banned.h must be the last #include of every .c file")

    # The only program allowed to run another, each with why.
    RUNS_A_PROGRAM = {
        # a test tool: execvp of its own argv as the test gave it (no shell, no input from
        # a peer), so that wait4 reports the measured program's peak RSS and not Python's.
        "tests/tools/maxrss.c",
    }

    def test_nothing_runs_a_program(self):
        calls = re.compile(r"\b(system|popen|execl|execlp|execle|execv|execve|execvp|execvpe|"
                           r"fexecve|posix_spawn|posix_spawnp|wordexp)\s*\(")
        found = []
        for path in SOURCES:
            if os.path.relpath(path, bed.TOP) in self.RUNS_A_PROGRAM:
                continue
            with open(path) as f:
                code = code_only(f.read())
            for m in calls.finditer(code):
                line = code.count("\n", 0, m.start()) + 1
                found.append(f"{os.path.relpath(path, bed.TOP)}:{line}: {m.group(1)}")
        self.assertEqual(found, [])

    def test_banned_functions_are_banned(self):
        with open(os.path.join(bed.TOP, "common", "banned.h")) as f:
            banned = set(re.findall(r"#define (\w+)\(", f.read()))
        self.assertTrue({"sprintf", "strcpy", "strcat", "strtok", "atoi", "atol", "system",
                         "popen", "gets"} <= banned, banned)


# What the static analysers read: the programs, common/ and the fuzz targets.
ANALYSED = sorted(p for d in ("common", "controller", "agent", "tests/fuzz")
                  for p in glob.glob(os.path.join(bed.TOP, d, "*.c")))
INCLUDES = ["-Icommon", "-Iagent", "-Icontroller"]
DEFINES = ["-D_GNU_SOURCE", "-DASGSWAP_VERSION=\"0\"", "-DFUZZ_NAME=\"x\""]


def disabled_with_reasons(path, disabled):
    """The disabled checks of a config that lack a `# -name: reason` line."""
    with open(path) as f:
        reasons = set(re.findall(r"^# (-?[\w.*-]+): \S", f.read(), re.M))
    return sorted(d for d in disabled if d not in reasons)


class StaticAnalysis(unittest.TestCase):
    def tool(self, name):
        path = shutil.which(name)
        if not path:
            self.skipTest(f"{name} is not installed (make deps installs it)")
        return path

    def test_cppcheck(self):
        cppcheck = self.tool("cppcheck")
        supp = os.path.join(bed.TOP, ".cppcheck-suppressions")
        with open(supp) as f:
            lines = [l.rstrip("\n") for l in f]
        for i, line in enumerate(lines):
            if line and not line.startswith("#"):
                self.assertTrue(i > 0 and lines[i - 1].startswith("# "),
                                f".cppcheck-suppressions: '{line}' has no reason above it")
        p = subprocess.run(
            [cppcheck, "--quiet", "--error-exitcode=1", "--inline-suppr",
             "--enable=warning,portability,performance", "--std=c11",
             f"-j{os.cpu_count() or 2}", f"--suppressions-list={supp}",
             "--template={file}:{line}: {severity}: {message} [{id}]",
             *DEFINES, *INCLUDES, *[os.path.relpath(p, bed.TOP) for p in ANALYSED]],
            cwd=bed.TOP, capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_clang_tidy(self):
        tidy = self.tool("clang-tidy")
        config = os.path.join(bed.TOP, ".clang-tidy")
        with open(config) as f:
            checks = re.search(r"^Checks: >-\n((?:  .*\n)+)", f.read(), re.M).group(1)
        disabled = [c.strip(" ,") for c in checks.split("\n") if c.strip().startswith("-")]
        disabled = [d for d in disabled if d != "-*"]
        self.assertEqual(disabled_with_reasons(config, disabled), [],
                         ".clang-tidy: each disabled check needs a '# -check: reason' line")
        pkg = subprocess.run(["pkg-config", "--cflags", "libcurl", "openssl", "libxml-2.0",
                              "libcjson", "libsystemd"], capture_output=True, text=True)
        flags = ["-std=c11", *DEFINES, *INCLUDES, *pkg.stdout.split()]

        def one(path):
            rel = os.path.relpath(path, bed.TOP)
            return subprocess.run([tidy, "--quiet", rel, "--", *flags], cwd=bed.TOP,
                                  capture_output=True, text=True, timeout=300)

        # One file a process, as many at once as there are cores.
        with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
            results = list(pool.map(one, ANALYSED))
        findings = [line for p in results for line in p.stdout.splitlines()
                    if re.search(r": (warning|error): ", line)]
        failed = [p.args[2] for p in results if p.returncode != 0]
        self.assertEqual((findings, failed), ([], []), "\n".join(
            p.stdout for p in results if p.returncode != 0)[-20000:])


if __name__ == "__main__":
    unittest.main()

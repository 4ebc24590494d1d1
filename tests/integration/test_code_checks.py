"""Checks on the C sources themselves: banned.h everywhere, and nothing that starts a
program or a shell (the agent runs as root and must never pass input to one)."""
import glob
import os
import re
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

    def test_nothing_runs_a_program(self):
        calls = re.compile(r"\b(system|popen|execl|execlp|execle|execv|execve|execvp|execvpe|"
                           r"fexecve|posix_spawn|posix_spawnp|wordexp)\s*\(")
        found = []
        for path in SOURCES:
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


if __name__ == "__main__":
    unittest.main()

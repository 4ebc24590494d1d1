"""Checks on the sources themselves: banned.h everywhere, nothing that starts a
program or a shell (the agent runs as root and must never pass input to one), no exported
function of common/ that only its own file calls, no comment that names an issue number
or points outside the repository, and cppcheck and clang-tidy with the checked-in
configuration (.cppcheck-suppressions, .clang-tidy) finding nothing."""
import ast
import concurrent.futures
import glob
import os
import re
import shutil
import subprocess
import tempfile
import tokenize
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


# Every C file that may call common/: the programs, the library and the test code.
CALLERS = sorted(p for d in ("common", "controller", "agent", "tests/tools", "tests/fuzz",
                             "tests/unit", "tests/bench")
                 for p in glob.glob(os.path.join(bed.TOP, d, "*.[ch]")))

# A function definition at the start of a line, not static: `type name(args)\n{`.
EXPORTED_DEFINITION = re.compile(
    r"^(?!static\b)(?!typedef\b)[A-Za-z_][\w \t*]*?\b(\w+)\(([^;{}]|\n)*?\)"
    r"(\s*_\w+_(\([^)]*\))?)*\s*\n\{", re.M)


def macros_calling(header_code, name):
    """The macros of a header whose body names `name` (a call through a macro counts)."""
    found = []
    for m in re.finditer(r"^#define (\w+)((?:[^\n]*\\\n)*[^\n]*)", header_code, re.M):
        if re.search(rf"\b{name}\b", m.group(2)):
            found.append(m.group(1))
    return found


def uncalled_exports(codes):
    """{path: code} -> the "file: function" of common/ that no other file calls."""
    lonely = []
    for path in sorted(p for p in codes if p.startswith("common/") and p.endswith(".c")):
        own = {path, path[:-2] + ".h"}
        header = codes.get(path[:-2] + ".h", "")
        for name in exported_functions(codes[path]):
            names = {name}
            while True:  # macros that call macros that call it
                more = {m for n in names for m in macros_calling(header, n)} - names
                if not more:
                    break
                names |= more
            if not any(re.search(rf"\b{n}\b", code) for p, code in codes.items()
                       if p not in own for n in names):
                lonely.append(f"{path}: {name}")
    return lonely


def exported_functions(code):
    return [m.group(1) for m in EXPORTED_DEFINITION.finditer(code)]


# The helpers that live in one place, and the only files that may do it themselves.
ONE_PLACE = {
    "a monotonic clock": (r"\bCLOCK_MONOTONIC\b", {"common/timeutil.c"}),
    # http.c reads the RFC 7231 date of a Date header, not an ISO 8601 timestamp.
    "a timestamp parser": (r"\b(strptime|timegm)\s*\(", {"common/timeutil.c", "common/http.c"}),
    # agent_memory.c reads /proc/self/pagemap by offset, not a whole small file.
    "a file reader": (r"\bopen\s*\(", {"common/fileio.c", "agent/agent_memory.c"}),
    "a cJSON cleanup": (r"DEFINE_\w+_CLEANUP_FUNC\(\s*cJSON", {"common/jsonutil.h"}),
}


# A comment naming an issue by its number (with or without the word, with or without a
# hash sign), or a file outside the repository: the steering notes beside the checkout.
ISSUE_NUMBER = re.compile(r"\bissues?\s*#?\d+|(?<![\w&#])#\d+\b", re.I)
OUTSIDE_PATH = re.compile(r"/work/|\.\./shared\b|(?<![\w/.])shared/\w")


# The design notes a comment may point at: in docs/, and there.
NOTES = re.compile(r"(?<![\w/.-])(/?(?:[\w.-]+/)*)(DESIGN|AWS-NOTES|STYLE)(\.md)?\b")


def bad_note_pointers(comment):
    for m in NOTES.finditer(comment):
        if m.group(1) != "docs/" or not m.group(3) or not os.path.isfile(
                os.path.join(bed.TOP, "docs", m.group(2) + ".md")):
            yield m.group(0)


def c_comments(text):
    """(line, comment) of a C file: block and line comments, outside string literals."""
    for m in re.finditer(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'',
                         text, re.S):
        if m.group(0).startswith("/"):
            yield text.count("\n", 0, m.start()) + 1, m.group(0)


def python_comments(path):
    """(line, text) of a Python file's comments and docstrings."""
    with open(path, "rb") as f:
        for tok in tokenize.tokenize(f.readline):
            if tok.type == tokenize.COMMENT:
                yield tok.start[0], tok.string
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                yield getattr(node, "lineno", 1), doc


def shell_comments(text):
    """(line, text) of a shell script's comments: a # that starts a word outside quotes."""
    for i, line in enumerate(text.splitlines(), 1):
        line = re.sub(r"'[^']*'|\"(?:\\.|[^\"\\])*\"|\$\{?#", "''", line)
        m = re.search(r"(?:^|\s)(#(?!!).*)$", line)
        if m:
            yield i, m.group(1)


def tracked(*patterns):
    p = subprocess.run(["git", "ls-files", "-z", "--", *patterns], cwd=bed.TOP,
                       capture_output=True, text=True, check=True)
    return sorted(f for f in p.stdout.split("\0") if f and os.path.isfile(
        os.path.join(bed.TOP, f)))


def bad_comments(paths):
    found = []
    for rel in paths:
        path = os.path.join(bed.TOP, rel)
        with open(path, errors="replace") as f:
            text = f.read()
        if rel.endswith((".c", ".h")):
            comments = c_comments(text)
        elif rel.endswith(".py"):
            comments = sorted(python_comments(path))
        else:
            comments = shell_comments(text)
        for line, comment in comments:
            for what, rx in (("issue number", ISSUE_NUMBER), ("outside path", OUTSIDE_PATH)):
                m = rx.search(comment)
                if m:
                    found.append(f"{rel}:{line}: {what} '{m.group(0)}'")
            found += [f"{rel}:{line}: not a file in docs/ '{p}'"
                      for p in bad_note_pointers(comment)]
    return found


class Housekeeping(unittest.TestCase):
    def codes(self):
        codes = {}
        for path in CALLERS:
            with open(path) as f:
                codes[os.path.relpath(path, bed.TOP)] = code_only(f.read())
        return codes

    def test_exported_functions_of_common_are_called_elsewhere(self):
        codes = self.codes()
        self.assertGreater(len(exported_functions(codes["common/buf.c"])), 5)
        self.assertEqual(uncalled_exports(codes), [],
                         "make these static, or remove them when nothing calls them")

    def test_helpers_written_once(self):
        codes = {p: c for p, c in self.codes().items() if not p.startswith("tests/")}
        found = [f"{p}: {what}" for what, (rx, allowed) in ONE_PLACE.items()
                 for p, code in codes.items() if p not in allowed and re.search(rx, code)]
        self.assertEqual(found, [], "call the helper of common/ instead")

    def test_the_exports_check_can_fail(self):
        codes = self.codes()
        codes["common/buf.c"] += "\nint buf_nobody_calls(void)\n{\n\treturn 0;\n}\n"
        codes["common/buf.h"] += "\n#define BUF_X(b) buf_through_macro(b)\n"
        codes["common/buf.c"] += "\nint buf_through_macro(int b)\n{\n\treturn b;\n}\n"
        codes["agent/agent_main.c"] += "\nstatic int x(void) { return BUF_X(1); }\n"
        lonely = uncalled_exports(codes)
        self.assertIn("common/buf.c: buf_nobody_calls", lonely)
        self.assertNotIn("common/buf.c: buf_through_macro", lonely)

    # The patched moto: which moto packages each module patches (moto.core is shared).
    MOTO_MODULES = {
        "moto_autoscaling.py": {"autoscaling"},
        "moto_lifecycle.py": {"autoscaling"},
        "moto_elb.py": {"elb", "elbv2"},
        "moto_cloudwatch.py": {"cloudwatch"},
        "moto_events.py": {"events"},
    }

    def test_moto_patches_one_module_per_service(self):
        """motobed.py keeps the client, the shared state and the server; each service's
        patches are in their own module and patch only that service."""
        fixtures = os.path.join(bed.TOP, "tests", "fixtures")
        found = {}
        for name in [*self.MOTO_MODULES, "motobed.py"]:
            with open(os.path.join(fixtures, name)) as f:
                tree = ast.parse(f.read(), name)
            mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                    and n.module} | {a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
                                     for a in n.names}
            patched = {m.split(".")[1] for m in mods if m.startswith("moto.")} - {"core"}
            found[name] = patched
            if name in self.MOTO_MODULES:
                self.assertIn("patch", {n.name for n in tree.body
                                        if isinstance(n, ast.FunctionDef)}, name)
        for name, allowed in self.MOTO_MODULES.items():
            self.assertLessEqual(found[name], allowed, name)
        # the server reads moto's groups for /_bed/state and starts moto; no service's
        # rules are patched there
        self.assertLessEqual(found["motobed.py"], {"autoscaling", "moto_server", "ec2"})
        with open(os.path.join(fixtures, "motobed.py")) as f:
            self.assertNotRegex(f.read(), r"\b(Backend|Response)\.\w+ = ")

    DESIGN_SECTIONS = ("The programs", "Conventions on AWS resources",
                       "State of a set, as observed", "Records kept on the groups", "Commands",
                       "Plans and the executor", "Exit codes", "Endpoints and credentials",
                       "The test bed", "Layout of the tree")

    def test_design_doc_matches_the_code(self):
        """docs/DESIGN.md has its sections, and names every record tag, set state and exit
        code that the controller defines, with the code's numbers."""
        with open(os.path.join(bed.TOP, "docs", "DESIGN.md")) as f:
            doc = f.read()
        sections = re.findall(r"^## (.+)$", doc, re.M)
        self.assertEqual([t for t in self.DESIGN_SECTIONS if t not in sections], [])
        plans = doc.split("## Plans and the executor", 1)[1].split("\n## ", 1)[0]
        for f in ("ctl_plan.h", "ctl_exec.c", "ctl_plan_deploy.c", "ctl_plan_rollback.c",
                  "ctl_plan_finalize.c"):
            self.assertIn(f, plans)
        # Every file of the tree the design names is there.
        named = set(re.findall(r"\b((?:common|controller|agent|tests|packaging|cloud-init)/"
                               r"[\w./-]*\w\.(?:c|h|py|sh|json|yaml|conf|md))\b", doc))
        self.assertGreater(len(named), 10)
        self.assertEqual(sorted(n for n in named
                                if not os.path.exists(os.path.join(bed.TOP, n))), [])
        with open(os.path.join(bed.TOP, "controller", "ctl.h")) as f:
            ctl_h = f.read()
        with open(os.path.join(bed.TOP, "controller", "ctl_observe.c")) as f:
            observe = f.read()
        tags = re.findall(r'#define TAG_\w+\s+"(asgswap:[^"]+)"', ctl_h)
        self.assertGreater(len(tags), 4)
        self.assertEqual([t for t in tags if f"`{t}`" not in doc], [])
        states = re.findall(r'\[CTL_\w+\] = "(\w+)"', observe)
        self.assertEqual(len(states), 6)
        table = re.findall(r"^\| (\w+) \|", doc, re.M)
        self.assertEqual([st for st in states if st not in table], [])
        codes = dict((int(n), name) for name, n in re.findall(r"CTL_EXIT_(\w+) = (\d+)", ctl_h))
        exits = doc.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
        controller = exits.split("\n\nAgent")[0]
        listed = [int(n) for n in re.findall(r"(?:^|· |: )(\d) ", controller, re.M)]
        self.assertEqual(listed, sorted(codes))

    SCRIPTS = ("*.c", "*.h", "*.py", "*.sh", ".ci/run")

    def test_no_comment_names_an_issue_or_a_file_outside(self):
        """Nor a design note other than as a file in docs/ that exists."""
        paths = tracked(*self.SCRIPTS)
        self.assertGreater(len(paths), 50)
        self.assertEqual(bad_comments(paths), [])

    def test_the_comment_check_can_fail(self):
        samples = {
            "a.c": 'int x; /* as in issue 12 */\nconst char *s = "issue 3 in a string";\n',
            "b.py": '"""See /work/shared/DESIGN.md."""\nx = "#4"  # fixed in #4\n',
            "c.sh": 'echo "#5 ok"  # see ../shared/AWS-NOTES.md\n# mutating call 2: fine\n',
            "d.c": "/* see docs/DESIGN.md and docs/AWS-NOTES.md */\n/* (DESIGN.md) */\n"
                   "// docs/STYLE.md, AWS-NOTES\n",
        }
        with tempfile.TemporaryDirectory() as d:
            for name, text in samples.items():
                with open(os.path.join(d, name), "w") as f:
                    f.write(text)
            found = bad_comments([os.path.join(d, n) for n in samples])
        self.assertEqual([f.split(": ", 1)[1] for f in found],
                         ["issue number 'issue 12'", "outside path '/work/'",
                          "not a file in docs/ '/work/shared/DESIGN.md'",
                          "issue number '#4'", "outside path '../shared'",
                          "not a file in docs/ '../shared/AWS-NOTES.md'",
                          "not a file in docs/ 'DESIGN.md'", "not a file in docs/ 'docs/STYLE.md'",
                          "not a file in docs/ 'AWS-NOTES'"])


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

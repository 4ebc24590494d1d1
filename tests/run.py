#!/usr/bin/env python3
"""Runs every test suite (C unit tests, then Python integration tests) and ends with
one line `N passed, N failed` over all of them. Exits non-zero on any failure."""
import argparse
import faulthandler
import glob
import os
import re
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
VALGRIND = ["valgrind", "--quiet", "--error-exitcode=1", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect"]


def run_unit(build, use_valgrind, pattern):
    passed = failed = 0
    for binary in sorted(glob.glob(os.path.join(build, "tests", "test_*"))):
        if not os.access(binary, os.X_OK) or binary.endswith(".d"):
            continue
        name = os.path.basename(binary)
        if pattern and not re.search(pattern, name):
            continue
        cmd = (VALGRIND if use_valgrind else []) + [binary]
        env = dict(os.environ, CMOCKA_MESSAGE_OUTPUT="TAP",
                   ASGSWAP_TESTDATA=os.path.join(TOP, "tests", "data"))
        start = time.monotonic()
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, env=env,
                               timeout=600 if use_valgrind else 120)
            out, rc = p.stdout + p.stderr, p.returncode
        except subprocess.TimeoutExpired as e:
            out, rc = (e.stdout or b"").decode(errors="replace") + "\ntimed out", -1
        ok = len(re.findall(r"^ok \d+", out, re.M))
        bad = len(re.findall(r"^not ok \d+", out, re.M))
        if rc != 0 and bad == 0:
            bad = 1  # a crash, a leak or a sanitizer report outside any test
        passed += ok
        failed += bad
        status = "ok" if bad == 0 else "FAILED"
        print(f"unit {name}: {ok} passed, {bad} failed ({time.monotonic() - start:.1f} s) {status}")
        if bad:
            print("\n".join("    " + line for line in out.splitlines()[-60:]))
    return passed, failed



def integration_modules():
    """Every integration and e2e test file, the largest first: size stands in for run time,
    so that the long suites start early and the workers finish close together."""
    paths = [p for d in ("integration", "e2e")
             for p in glob.glob(os.path.join(HERE, d, "test_*.py"))]
    return sorted(paths, key=lambda p: (-os.path.getsize(p), p))


def run_integration_parallel(build, use_valgrind, pattern, jobs):
    """Each test file in a runner of its own, `jobs` at a time; a file's output is printed
    whole when it ends, so that the log reads as in a serial run."""
    import concurrent.futures
    import threading

    sys.path.insert(0, os.path.join(HERE, "fixtures"))
    lock = threading.Lock()
    totals = [0, 0, 0]

    def one(path):
        cmd = [sys.executable, os.path.abspath(__file__), "--build", build, "--only",
               "integration", "--module", path] + (["-k", pattern] if pattern else []) + (
                   ["--valgrind"] if use_valgrind else [])
        start = time.monotonic()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        m = re.search(r"^integration: (\d+) passed, (\d+) failed, (\d+) skipped$", p.stdout,
                      re.M)
        counts = [int(x) for x in m.groups()] if m else [0, 1, 0]
        if p.returncode != 0 and counts[1] == 0:
            counts[1] = 1  # the runner itself failed (a crash, a leftover process)
        if counts == [0, 0, 0]:
            return  # -k matched nothing in this file
        with lock:
            sys.stdout.write(p.stdout)
            print(f"== {os.path.relpath(path, TOP)}: {counts[0]} passed, {counts[1]} failed "
                  f"({time.monotonic() - start:.0f} s)", flush=True)
            for i in range(3):
                totals[i] += counts[i]

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        list(ex.map(one, integration_modules()))
    print(f"integration: {totals[0]} passed, {totals[1]} failed, {totals[2]} skipped")
    return totals[0], totals[1]


def run_integration(build, use_valgrind, pattern, module=None):
    os.environ["ASGSWAP_BUILD"] = os.path.abspath(build)
    os.environ["ASGSWAP_TOP"] = TOP
    if use_valgrind:
        # A distinct exit code, so that a valgrind error never passes for an expected failure.
        os.environ["ASGSWAP_WRAP"] = " ".join(VALGRIND).replace("--error-exitcode=1",
                                                                "--error-exitcode=99")
    sys.path.insert(0, os.path.join(HERE, "fixtures"))
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    # tests/integration: common/ and the controller against the test bed;
    # tests/e2e: the agent against real dockerd and a registry.
    for d in ("integration", "e2e"):
        path = os.path.join(HERE, d)
        if os.path.isdir(path):
            sys.path.insert(0, path)
            if module is None:
                suite.addTest(loader.discover(path, pattern="test_*.py", top_level_dir=path))
            elif os.path.dirname(os.path.abspath(module)) == path:
                name = os.path.splitext(os.path.basename(module))[0]
                suite.addTest(loader.loadTestsFromName(name))
    if pattern:
        def keep(s):
            out = unittest.TestSuite()
            for t in s:
                if isinstance(t, unittest.TestSuite):
                    out.addTest(keep(t))
                elif re.search(pattern, t.id()):
                    out.addTest(t)
            return out
        suite = keep(suite)
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2)
    result = runner.run(suite)
    bad = result.failures + result.errors
    failed = len(bad) + len(result.unexpectedSuccesses)
    # An error in setUpClass is not one of the tests run, but it still counts as a failure.
    in_run = sum(1 for t, _ in bad if isinstance(t, unittest.TestCase))
    passed = result.testsRun - in_run - len(result.unexpectedSuccesses) - len(result.skipped)
    print(f"integration: {passed} passed, {failed} failed, {len(result.skipped)} skipped")
    return passed, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--only", choices=["unit", "integration"])
    ap.add_argument("--valgrind", action="store_true")
    ap.add_argument("-k", dest="pattern", help="regular expression on test names")
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("ASGSWAP_TEST_JOBS", "1")),
                    help="integration test files run side by side")
    ap.add_argument("--module", help="run only this integration test file")
    args = ap.parse_args()
    faulthandler.dump_traceback_later(35 * 60, exit=True)

    passed = failed = 0
    if args.only in (None, "unit"):
        p, f = run_unit(args.build, args.valgrind, args.pattern)
        passed, failed = passed + p, failed + f
    if args.only in (None, "integration"):
        if args.jobs > 1 and not args.module:
            p, f = run_integration_parallel(args.build, args.valgrind, args.pattern, args.jobs)
        else:
            p, f = run_integration(args.build, args.valgrind, args.pattern, args.module)
        passed, failed = passed + p, failed + f
        import bed  # tests/fixtures, on the path once the suites are loaded
        left = bed.leftover_children()
        if left:
            print("FAILED: processes left behind by the tests:\n  " + "\n  ".join(left))
            failed += 1
    if not args.module:
        print(f"{passed} passed, {failed} failed")
    # A file of its own (a parallel run's worker) may match no test; a whole run must.
    sys.exit(1 if failed or (passed == 0 and not args.module) else 0)


if __name__ == "__main__":
    main()

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



def run_integration(build, use_valgrind, pattern):
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
            suite.addTest(loader.discover(path, pattern="test_*.py", top_level_dir=path))
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
    args = ap.parse_args()
    faulthandler.dump_traceback_later(35 * 60, exit=True)

    passed = failed = 0
    if args.only in (None, "unit"):
        p, f = run_unit(args.build, args.valgrind, args.pattern)
        passed, failed = passed + p, failed + f
    if args.only in (None, "integration"):
        p, f = run_integration(args.build, args.valgrind, args.pattern)
        passed, failed = passed + p, failed + f
        import bed  # tests/fixtures, on the path once the suites are loaded
        left = bed.leftover_children()
        if left:
            print("FAILED: processes left behind by the tests:\n  " + "\n  ".join(left))
            failed += 1
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or passed == 0 else 0)


if __name__ == "__main__":
    main()

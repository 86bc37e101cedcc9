#!/usr/bin/env python3
"""Runs every test_*.py here, one after the other, and prints, last, the
sum as "N passed, N failed" (", N skipped" when some were skipped).
Exits 0 only if every script passed.
Extra arguments (e.g. --self-check) are passed to each script."""

import glob
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$")


def main(argv):
    passed = failed = skipped = 0
    ok = True
    for script in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
        t0 = time.monotonic()
        p = subprocess.run([sys.executable, script] + argv,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out = p.stdout.decode("utf-8", "replace")
        lines = out.rstrip("\n").splitlines()
        m = SUMMARY.match(lines[-1]) if lines else None
        name = os.path.basename(script)
        if not m:
            ok = False
            failed += 1
            print("%s: no summary line (exit %d); output ends: %r"
                  % (name, p.returncode, out[-500:]), flush=True)
            continue
        passed += int(m.group(1))
        failed += int(m.group(2))
        skipped += int(m.group(3) or 0)
        ok = ok and p.returncode == 0
        print("%s: %s (%.1fs, exit %d)" % (name, lines[-1],
                                          time.monotonic() - t0, p.returncode),
              flush=True)
        for line in lines:
            if line.startswith("FAIL"):
                print("  " + line[:2000], flush=True)
    print("%d passed, %d failed%s" % (
        passed, failed, ", %d skipped" % skipped if skipped else ""),
        flush=True)
    return 0 if ok and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

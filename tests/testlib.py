"""What the crash and hostile-input tests share: the CTest environment
(SCIVEC, SV_FIXTURES), the tiny model, the four final output names, and
check()/report(), which count checks and keep going after a failure.
Not a test itself (CTest runs tests/test_*.py only)."""
import csv
import os
import sys

SCIVEC = os.environ["SCIVEC"]
FIX = os.environ["SV_FIXTURES"]
MODEL = os.path.join(FIX, "models", "tiny-scibert")
FINAL = ["embeddings.npy", "papers.index", "papers.db", "metadata.json"]
csv.field_size_limit(1 << 30)

failures = []
_n_checks = [0]


def check(cond, msg):
    _n_checks[0] += 1
    if not cond:
        failures.append(msg)
        print("FAIL:", msg, file=sys.stderr)


def report(name):
    """Prints the summary; returns the exit status."""
    if failures:
        print(f"{len(failures)} of {_n_checks[0]} checks failed", file=sys.stderr)
        return 1
    print(f"{name}: all {_n_checks[0]} checks passed")
    return 0

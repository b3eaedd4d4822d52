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


def runs_fast(precision):
    """Whether this CPU runs precision ("bf16" or "int8") fast, as
    src/nn/lowp.c requires, read from the kernel's view of the CPU."""
    flags = set()
    for line in open("/proc/cpuinfo"):
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
    need = {"bf16": ("avx512_bf16", "amx_bf16"), "int8": ("avx512_vnni", "amx_int8")}[precision]
    return any(f in flags for f in need)

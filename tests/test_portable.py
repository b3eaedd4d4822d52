"""test_portable.py - one binary for every x86-64 CPU (docs/MODEL.md, "One
portable binary"), checked under QEMU's user-mode CPU models:

* -cpu Haswell (AVX2 + FMA, no AVX-512): `scivec encode` runs bert.c's AVX2
  variant and BLIS's haswell kernels and gives the golden vectors (the
  tolerance of the golden tests) and the native run's vectors within 1e-5;
* -cpu Nehalem (no AVX): `scivec encode` and the library's model load
  (tests/test_cpu) refuse with a one-line message naming AVX2 and a
  non-zero exit / SCIVEC_EUNSUPPORTED, never SIGILL.

Needs qemu-x86_64 (Debian's qemu-user, scripts/install-deps.sh).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from testlib import SCIVEC, FIX, MODEL, check, report

QEMU = shutil.which("qemu-x86_64")
if not QEMU:
    print("SKIP: qemu-x86_64 not installed (apt install qemu-user)")
    sys.exit(77)
TEST_CPU = os.path.join(os.path.dirname(SCIVEC), "tests", "test_cpu")
# AddressSanitizer reserves terabytes of shadow memory at start, which
# qemu-user's guest address space cannot hold (the process is killed): the
# sanitizer build is checked by the plain build's run of this test
if "libasan" in subprocess.run(["ldd", SCIVEC], capture_output=True, text=True).stdout:
    print("SKIP: %s is an AddressSanitizer build, which cannot run under qemu-user" % SCIVEC)
    sys.exit(77)

rows = [json.loads(l) for l in open(os.path.join(FIX, "golden", "tokens.jsonl"), encoding="utf-8")]
picked = [i for i, r in enumerate(rows) if r["id"].startswith("abs-")][:6]
picked += [i for i, r in enumerate(rows) if r["id"] in ("edge-empty", "edge-cjk-mixed-latin")]
stdin = "".join(json.dumps({"text": rows[i]["text"]}) + "\n" for i in picked).encode()
golden = np.load(os.path.join(FIX, "golden", "tiny-scibert", "embeddings_cls.npy"))[picked]


def encode(prefix, out):
    cmd = prefix + [SCIVEC, "encode", "--model", MODEL, "--pooling", "cls", "--threads", "2",
                    "--out", out]
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=600)


def qemu(cpu):
    # -cpu Haswell: TCG lacks a few system features of the model (pcid, rtm,
    # ...) and warns about each; none matters to user code
    return [QEMU, "-cpu", cpu]


with tempfile.TemporaryDirectory() as tmp:
    native_out, haswell_out = os.path.join(tmp, "native.npy"), os.path.join(tmp, "haswell.npy")
    p = encode([], native_out)
    check(p.returncode == 0, "native encode: %s" % p.stderr.decode())
    check("kernels: " in p.stderr.decode(), "native: no kernels line: %r" % p.stderr.decode())
    p = encode(qemu("Haswell"), haswell_out)
    check(p.returncode == 0, "Haswell encode: exit %d: %s" % (p.returncode, p.stderr.decode()[-2000:]))
    check("kernels: avx2, BLIS haswell" in p.stderr.decode(),
          "Haswell: the AVX2 variant and BLIS's haswell kernels: %r" % p.stderr.decode()[-2000:])
    if p.returncode == 0 and os.path.exists(native_out):
        native, haswell = np.load(native_out), np.load(haswell_out)
        check(haswell.shape == golden.shape, "Haswell shape %s" % (haswell.shape,))
        if haswell.shape == golden.shape:
            d_golden = float(np.abs(haswell - golden).max())
            d_native = float(np.abs(haswell - native).max())
            print("Haswell vs golden %.2e, vs native %.2e" % (d_golden, d_native))
            check(d_golden <= 1e-4, "Haswell vs golden: %g" % d_golden)
            check(d_native <= 1e-5, "Haswell vs native: %g" % d_native)

    p = encode(qemu("Nehalem"), os.path.join(tmp, "nehalem.npy"))
    err = p.stderr.decode()
    lines = [l for l in err.splitlines() if l.startswith("scivec")]
    print("Nehalem: exit %d: %s" % (p.returncode, lines))
    check(p.returncode == 1, "Nehalem encode: exit %d (want 1; -4 would be SIGILL): %r" % (p.returncode, err))
    check(len(lines) == 1 and "AVX2" in lines[0], "Nehalem: one line naming AVX2: %r" % err)
    check(not os.path.exists(os.path.join(tmp, "nehalem.npy")), "Nehalem left an output")

    # the library's own check, at model load
    p = subprocess.run(qemu("Nehalem") + [TEST_CPU], capture_output=True, timeout=300)
    out = p.stdout.decode()
    check(p.returncode == 0 and "refused:" in out and "AVX2" in out,
          "test_cpu under Nehalem: exit %d: %s %s" % (p.returncode, out, p.stderr.decode()))

sys.exit(report("test_portable"))

"""--threads N honoured exactly: with --threads 1, `scivec encode` is one
thread, and no second BLAS (OpenBLAS, whose thread pool starts when the
library loads and spins on the other cores) is in the process. The model is
loaded and the process waits on stdin when we look, so nothing is racy."""
import os
import subprocess
import sys
import tempfile

from testlib import MODEL, SCIVEC, check, report

with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "v.npy")
    proc = subprocess.Popen([SCIVEC, "encode", "--model", MODEL, "--pooling", "mean",
                             "--threads", "1", "--out", out],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stderr.readline()  # "scivec encode: pooling: ..." once the model is loaded
    check("pooling" in first, f"encode's first line: {first!r}")
    tasks = os.listdir(f"/proc/{proc.pid}/task")
    with open(f"/proc/{proc.pid}/maps") as f:
        libs = {line.split()[-1] for line in f if ".so" in line}
    check(len(tasks) == 1, f"--threads 1: the process has {len(tasks)} threads")
    check(any("libblis" in lib for lib in libs), "BLIS is not loaded")
    others = [lib for lib in libs if "openblas" in lib or "libmkl" in lib]
    check(not others, f"a second BLAS is loaded: {others}")
    proc.stdin.write('{"text": "graph neural networks"}\n')
    proc.stdin.close()
    proc.stderr.read()
    check(proc.wait(timeout=60) == 0, f"encode exit status {proc.returncode}")
    check(os.path.getsize(out) > 0, "no vectors written")

sys.exit(report("test_threads"))

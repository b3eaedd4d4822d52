#!/usr/bin/python3
"""`scivec map DIR` on 300 real papers (tests/test_query.py's output folder):
map.npy is float32 [n, 2] and bitwise the same for the same --seed and
--threads, metadata.json gains a "map" member and keeps everything else, its
trustworthiness is sklearn.manifold.trustworthiness's, and bad input gets a
one-line error and leaves no map behind."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_util  # noqa: E402
import test_query as tq  # noqa: E402
from test_query import check  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.manifold import trustworthiness  # noqa: E402


def run_map(directory, *args):
    return subprocess.run([tq.SCIVEC, "map", directory, *args], capture_output=True, text=True)


def map_bytes(directory):
    with open(os.path.join(directory, "map.npy"), "rb") as f:
        return f.read()


def main():
    tmp = tempfile.mkdtemp(prefix="scivec_map_")
    try:
        d = os.path.join(tmp, "out")
        serve_util.make_dir(d)
        with open(os.path.join(d, "metadata.json")) as f:
            before = json.load(f)

        for threads in ("1", "2"):
            r1 = run_map(d, "--seed", "3", "--threads", threads)
            check(r1.returncode == 0, f"map --threads {threads}: {r1.stderr}")
            first = map_bytes(d)
            r2 = run_map(d, "--seed", "3", "--threads", threads)
            check(r2.returncode == 0 and map_bytes(d) == first,
                  f"--threads {threads}: the same seed gave a different map.npy")
        check(run_map(d, "--seed", "4", "--threads", "1").returncode == 0 and map_bytes(d) != first,
              "another seed gave the same map")

        y = np.load(os.path.join(d, "map.npy"))
        x = np.load(os.path.join(d, "embeddings.npy"))
        check(y.dtype == np.float32 and y.shape == (len(x), 2) and np.isfinite(y).all(),
              f"map.npy is {y.dtype} {y.shape}")
        check(not os.path.exists(os.path.join(d, "map.npy.tmp")) and
              not os.path.exists(os.path.join(d, "metadata.json.tmp")), "temporary files left")

        with open(os.path.join(d, "metadata.json")) as f:
            after = json.load(f)
        m = after.get("map", {})
        check({k: v for k, v in after.items() if k != "map"} == before,
              "metadata.json lost or changed members besides map")
        check(m.get("n_rows") == len(x) and m.get("seed") == 4 and m.get("n_neighbors") == 15
              and m.get("file") == "map.npy", f"map member: {m}")
        # every row is in the sample (300 < 1000): the whole-set figure
        ref = trustworthiness(x, y, n_neighbors=10)
        got = m.get("quality", {}).get("trustworthiness")
        check(got is not None and abs(got - ref) < 1e-3,
              f"trustworthiness {got}, sklearn {ref}")

        # bad input: one line naming the problem, exit status not 0, no map
        r = run_map(os.path.join(tmp, "missing"))
        check(r.returncode != 0 and r.stderr.count("\n") == 1 and "missing" in r.stderr,
              f"missing dir: {r.returncode} {r.stderr!r}")
        r = run_map(d, "--neighbors", "1")
        check(r.returncode == 2 and "--neighbors" in r.stderr, f"--neighbors 1: {r.stderr!r}")
        bad = os.path.join(tmp, "bad")
        shutil.copytree(d, bad)
        os.remove(os.path.join(bad, "map.npy"))
        v = np.load(os.path.join(bad, "embeddings.npy"))
        np.save(os.path.join(bad, "embeddings.npy"), v[:-1])
        r = run_map(bad)
        check(r.returncode != 0 and "embeddings.npy" in r.stderr and r.stderr.count("\n") == 1,
              f"truncated embeddings: {r.stderr!r}")
        check(not os.path.exists(os.path.join(bad, "map.npy")), "map.npy written from a bad folder")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if tq.failures:
        print(f"{tq.failures} checks failed", file=sys.stderr)
        return 1
    print("test_map_cli: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

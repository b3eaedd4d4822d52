#!/usr/bin/python3
"""scivec's map (bench_map, 1 thread) against umap-learn (Debian's, 1 thread,
same vectors, same parameters: n_neighbors 15, min_dist 0.1, euclidean):
seconds and two quality figures measured here, by one numpy code on one
sample for both layouts (independent of the C figures bench_map prints).

  bench/map_vs_umap.py BENCH_MAP VECTORS.npy [--synthetic N] [--sample 1000]

VECTORS.npy: e.g. DIR/embeddings.npy of `scivec embed`. --synthetic N
instead writes N clustered vectors (50 Gaussian clusters, dim 64, centres
and spreads drawn from a seeded generator) and uses them.
umap-learn's numba code is compiled once on a small fit before the timed
one, so its time is the fit alone.
"""
import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402


def synthetic(n, dim=64, clusters=50, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim)).astype(np.float32)
    spread = rng.uniform(0.15, 0.4, size=clusters).astype(np.float32)
    label = rng.integers(0, clusters, size=n)
    x = centres[label] + rng.normal(size=(n, dim)).astype(np.float32) * spread[label, None]
    return x.astype(np.float32)


def quality(x, y, rows, k=10):
    """Trustworthiness (sklearn's formula, normaliser over the sampled rows)
    and the mean share of the k nearest neighbours kept, for sampled rows
    against all rows."""
    n = len(x)
    x64 = x.astype(np.float64)
    y64 = y.astype(np.float64)
    penalty, kept = 0.0, 0
    for i in rows:
        dh = ((x64 - x64[i]) ** 2).sum(1)
        dl = ((y64 - y64[i]) ** 2).sum(1)
        dh[i] = dl[i] = np.inf
        high = np.argpartition(dh, k)[:k]
        low = np.argpartition(dl, k)[:k]
        common = np.intersect1d(high, low)
        kept += len(common)
        for j in np.setdiff1d(low, high):
            penalty += (dh < dh[j]).sum() + 1 - k
    m = len(rows)
    return 1 - penalty * 2.0 / (m * k * (2 * n - 3 * k - 1)), kept / (m * k)


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bench_map")
    ap.add_argument("vectors", nargs="?")
    ap.add_argument("--synthetic", type=int, default=0)
    ap.add_argument("--sample", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="scivec_mapbench_")
    if args.synthetic:
        x = synthetic(args.synthetic)
        path = os.path.join(tmp, "vectors.npy")
        np.save(path, x)
    else:
        path = args.vectors
        x = np.load(path).astype(np.float32)
    out = os.path.join(tmp, "scivec_map.npy")

    t = time.perf_counter()
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    # the quality figures are measured below for both layouts, not timed here
    r = subprocess.run([args.bench_map, path, out, "1", str(args.seed), "auto", "0"],
                       capture_output=True, text=True)
    scivec_s = time.perf_counter() - t
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    scivec_cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    if r.returncode:
        sys.exit(f"bench_map failed: {r.stderr}")
    ours = json.loads(r.stdout)
    y_ours = np.load(out)

    import umap  # noqa: E402
    umap.UMAP(n_neighbors=15, random_state=0).fit_transform(x[:500])   # numba compiles
    t, c = time.perf_counter(), time.process_time()
    y_umap = umap.UMAP(n_neighbors=15, min_dist=0.1, random_state=args.seed).fit_transform(x)
    umap_s, umap_cpu = time.perf_counter() - t, time.process_time() - c

    rows = np.random.default_rng(1).choice(len(x), size=min(args.sample, len(x)), replace=False)
    t_ours, p_ours = quality(x, y_ours, rows)
    t_umap, p_umap = quality(x, y_umap, rows)
    print(json.dumps({
        "cpu": cpu_name(), "n": len(x), "dim": x.shape[1],
        "vectors": f"synthetic {args.synthetic}" if args.synthetic else args.vectors,
        "umap_learn": umap.__version__ if hasattr(umap, "__version__") else "?",
        "scivec_seconds": round(scivec_s, 2), "scivec_stages": ours,
        "umap_seconds": round(umap_s, 2), "speedup": round(umap_s / scivec_s, 2),
        # CPU seconds (user + system): less sensitive than wall time to the
        # other jobs on a shared machine
        "scivec_cpu_seconds": round(scivec_cpu, 2), "umap_cpu_seconds": round(umap_cpu, 2),
        "speedup_cpu": round(umap_cpu / scivec_cpu, 2),
        "trustworthiness": {"scivec": round(t_ours, 4), "umap": round(t_umap, 4)},
        "knn10_preservation": {"scivec": round(p_ours, 4), "umap": round(p_umap, 4)},
    }, indent=1))


if __name__ == "__main__":
    main()

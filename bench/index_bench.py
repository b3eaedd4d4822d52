#!/usr/bin/env python3
"""Which FAISS index for which size (docs/SCALE.md): build time, memory
(the serialized index's size), query latency and recall@10 against exact
search (IndexFlatIP), on synthetic unit vectors.

The vectors have a low intrinsic dimension, as sentence embeddings do: a
mixture of 2,000 Gaussian topics in a 48-dimensional latent space, mapped
to 768 dimensions by a fixed random projection, plus a little isotropic
noise, normalised. (Isotropic noise in 768 dimensions alone makes every
point nearly equidistant from its neighbours: no index, approximate or not,
can tell them apart, and recall@10 says nothing.)

  /usr/bin/python3 bench/index_bench.py N [--dim 768] [--queries 200]
      [--threads T] [--factories Flat,HNSW32,IVF1024,Flat,IVF1024,PQ64]
Prints one line a factory (markdown table rows); build s = train + add.

OpenBLAS's own threads are turned off and OpenMP threads wait passively
unless the environment says otherwise: FAISS trains PQ codes from OpenMP
threads that each call sgemm, and with the pthread OpenBLAS each call starts
its own threads (N^2 threads, faiss issue #3700); spinning OpenMP threads on
a shared, loaded machine stall each other. Both made IVF-PQ's training run
past 15 minutes at n=100k here.
The index's size is measured by writing it to a file (no second copy in
memory: at n=1M an index is 3 GB)."""
import argparse
import os
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import faiss  # noqa: E402  (after the environment above)
import numpy as np  # noqa: E402


LATENT = 48


def synthetic(n, dim, seed):
    fixed = np.random.default_rng(0)            # the same topics and projection for data and queries
    topics = fixed.standard_normal((2000, LATENT)).astype(np.float32)
    projection = fixed.standard_normal((LATENT, dim)).astype(np.float32) / np.sqrt(LATENT)
    rng = np.random.default_rng(seed)
    x = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        latent = topics[rng.integers(0, 2000, m)] + 0.5 * rng.standard_normal((m, LATENT)).astype(np.float32)
        x[start:start + m] = latent @ projection + \
            0.05 * rng.standard_normal((m, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--factories", default="Flat;IVF1024,Flat;IVF1024,PQ64;HNSW32")
    a = ap.parse_args()
    if a.threads:
        faiss.omp_set_num_threads(a.threads)
    x = synthetic(a.n, a.dim, 1)
    q = synthetic(a.queries, a.dim, 2)
    exact = faiss.IndexFlatIP(a.dim)
    exact.add(x)
    _, truth = exact.search(q, 10)
    print(f"# OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']} "
          f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']} threads={faiss.omp_get_max_threads()}", flush=True)
    print(f"| index (n={a.n}, d={a.dim}) | build s | index MB | query ms | recall@10 |")
    print("|---|---|---|---|---|")
    for factory in a.factories.split(";"):
        t0 = time.perf_counter()
        index = faiss.index_factory(a.dim, factory, faiss.METRIC_INNER_PRODUCT)
        if not index.is_trained:
            index.train(x)
        train = time.perf_counter() - t0
        index.add(x)
        build = time.perf_counter() - t0
        with tempfile.NamedTemporaryFile(suffix=".index") as f:
            faiss.write_index(index, f.name)
            size = os.path.getsize(f.name) / 1e6
        if "IVF" in factory:
            faiss.extract_index_ivf(index).nprobe = 16
        if "HNSW" in factory:
            index.hnsw.efSearch = 64
        t0 = time.perf_counter()
        for i in range(a.queries):          # one query at a time, as `similar` asks
            _, got = index.search(q[i:i + 1], 10)
            if i == 0:
                results = np.empty((a.queries, 10), dtype=np.int64)
            results[i] = got[0]
        latency = (time.perf_counter() - t0) / a.queries * 1000
        recall = np.mean([len(set(results[i]) & set(truth[i])) / 10 for i in range(a.queries)])
        knobs = " (nprobe 16)" if "IVF" in factory else " (efSearch 64)" if "HNSW" in factory else ""
        print(f"| {factory}{knobs} | {build:.1f} (train {train:.1f}) | {size:.0f} | {latency:.2f} | {recall:.3f} |",
              flush=True)
        del index


if __name__ == "__main__":
    main()

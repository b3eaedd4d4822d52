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
      [--threads T] [--factories "Flat;HNSW32;IVF1024,Flat;IVF1024,PQ64np"]
      [--chunk 100000] [--stop-file PATH]
Prints one line a factory (markdown table rows); build s = train + add.
Each time is given as wall seconds and the process's CPU seconds (all
threads): on a shared, loaded machine the wall time is mostly waiting, the
CPU time is the work. The vectors are added `--chunk` at a time, with a
progress line (wall, CPU, RSS) after each, so a build too long to wait for
still gives a measured rate; if PATH exists after a chunk, the adding stops
there and the row is measured on the vectors added so far (recall against
exact search over the same prefix), marked "partial".

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
import resource
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


def exact_top10(x, q):
    """Exact inner-product top 10 of each query, scanning x a block at a time:
    no second copy of x (an IndexFlatIP would hold one: 3 GB at n=1M)."""
    best_score = np.full((len(q), 10), -np.inf, dtype=np.float32)
    best_id = np.zeros((len(q), 10), dtype=np.int64)
    for start in range(0, len(x), 100_000):
        scores = q @ x[start:start + 100_000].T
        k = min(10, scores.shape[1])
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        all_score = np.concatenate([best_score, np.take_along_axis(scores, top, 1)], axis=1)
        all_id = np.concatenate([best_id, top + start], axis=1)
        keep = np.argsort(-all_score, axis=1, kind="stable")[:, :10]
        best_score = np.take_along_axis(all_score, keep, 1)
        best_id = np.take_along_axis(all_id, keep, 1)
    return best_id


class Clock:
    """Wall and CPU seconds (process-wide, every thread) since start."""

    def __init__(self):
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()

    def wall(self):
        return time.perf_counter() - self.wall0

    def cpu(self):
        return time.process_time() - self.cpu0


def peak_rss_gib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20     # kB on Linux


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--factories", default="Flat;IVF1024,Flat;IVF1024,PQ64np;HNSW32")
    ap.add_argument("--chunk", type=int, default=100_000)
    ap.add_argument("--stop-file")
    a = ap.parse_args()
    if a.threads:
        faiss.omp_set_num_threads(a.threads)
    x = synthetic(a.n, a.dim, 1)
    q = synthetic(a.queries, a.dim, 2)
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())} loadavg {open('/proc/loadavg').read().strip()}")
    print(f"# OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']} "
          f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']} threads={faiss.omp_get_max_threads()}", flush=True)
    truth = {}                              # vectors added -> exact top 10 over them
    print(f"| index (n={a.n}, d={a.dim}) | build s wall (CPU) | index MB | query ms wall (CPU) | recall@10 |")
    print("|---|---|---|---|---|", flush=True)
    for factory in a.factories.split(";"):
        clock = Clock()
        index = faiss.index_factory(a.dim, factory, faiss.METRIC_INNER_PRODUCT)
        if not index.is_trained:
            index.train(x)
        train_wall, train_cpu = clock.wall(), clock.cpu()
        added = 0
        while added < a.n:
            index.add(x[added:added + a.chunk])
            added = min(a.n, added + a.chunk)
            print(f"#   {factory}: {added} added, {clock.wall():.1f} s wall, {clock.cpu():.1f} s CPU, "
                  f"peak RSS {peak_rss_gib():.2f} GiB, loadavg {open('/proc/loadavg').read().split()[0]}",
                  flush=True)
            if a.stop_file and os.path.exists(a.stop_file) and added < a.n:
                break
        build_wall, build_cpu = clock.wall(), clock.cpu()
        if added not in truth:
            truth[added] = exact_top10(x[:added], q)
        with tempfile.NamedTemporaryFile(suffix=".index") as f:
            faiss.write_index(index, f.name)
            size = os.path.getsize(f.name) / 1e6
        if "IVF" in factory:
            faiss.extract_index_ivf(index).nprobe = 16
        if "HNSW" in factory:
            index.hnsw.efSearch = 64
        clock = Clock()
        results = np.empty((a.queries, 10), dtype=np.int64)
        for i in range(a.queries):          # one query at a time, as `similar` asks
            _, got = index.search(q[i:i + 1], 10)
            results[i] = got[0]
        latency, latency_cpu = clock.wall() / a.queries * 1000, clock.cpu() / a.queries * 1000
        recall = np.mean([len(set(results[i]) & set(truth[added][i])) / 10 for i in range(a.queries)])
        knobs = " (nprobe 16)" if "IVF" in factory else " (efSearch 64)" if "HNSW" in factory else ""
        partial = f", partial: {added} of {a.n} added" if added < a.n else ""
        print(f"| {factory}{knobs}{partial} | {build_wall:.1f} ({build_cpu:.1f}); train {train_wall:.1f} "
              f"({train_cpu:.1f}) | {size:.0f} | {latency:.2f} ({latency_cpu:.2f}) | {recall:.3f} |", flush=True)
        print(f"# peak RSS so far {peak_rss_gib():.2f} GiB; loadavg {open('/proc/loadavg').read().strip()}",
              flush=True)
        del index


if __name__ == "__main__":
    main()

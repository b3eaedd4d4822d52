"""PQ indexes scivec builds (`--index IVF4,PQ8`, `--index PQ8x4`):

* the index is the one asked for (IndexIVFPQ, IndexPQ), and `scivec
  similar` answers as FAISS's own search of papers.index from Python does
  (ids and scores);
* no polysemous training: index_factory turns it on for PQ codes, and it
  reorders each sub-quantizer's centroids so that the Hamming distances
  between codes follow the distances between centroids, for a filter
  (polysemous_ht) scivec's searches never use, at most of IVF-PQ's training
  time (docs/SCALE.md). do_polysemous_training is not written into the index
  file (it reads back False either way), so the test measures what the
  training leaves: the correlation between the codes' Hamming distances and
  their centroids' distances, about 0.5 on FAISS's own polysemous PQ8x4
  build of the same vectors (checked here, so that the measure can fail)
  and about 0 for k-means' arbitrary order.

Run by CTest with /usr/bin/python3; env SCIVEC, SV_FIXTURES."""
import csv
import json
import os
import subprocess
import sys
import tempfile

import faiss
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testlib import FIX, MODEL, SCIVEC, check, report  # noqa: E402

N = 1000


def run(*args):
    return subprocess.run([SCIVEC, *args], capture_output=True, text=True, timeout=600)


def product_quantizer(index):
    """The PQ of an IndexIVFPQ or IndexPQ."""
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexIVF):
        index = faiss.downcast_index(faiss.extract_index_ivf(index))
    return index.pq


def hamming_correlation(pq):
    """Mean over sub-quantizers of corr(Hamming distance between two codes,
    distance between their centroids)."""
    centroids = faiss.vector_to_array(pq.centroids).reshape(pq.M, pq.ksub, pq.dsub)
    i, j = np.triu_indices(pq.ksub, 1)
    hamming = np.array([bin(a ^ b).count("1") for a, b in zip(i, j)], dtype=np.float64)
    return float(np.mean([np.corrcoef(hamming, np.linalg.norm(c[i] - c[j], axis=1))[0, 1]
                          for c in centroids]))


def check_similar_equals_faiss(out, ids, label):
    """`scivec similar` = FAISS's search of papers.index for the paper's own
    vector, k + 1 asked and the paper itself dropped (docs/QUERIES.md)."""
    index = faiss.read_index(os.path.join(out, "papers.index"))
    emb = np.load(os.path.join(out, "embeddings.npy"))
    rows = list(range(0, N, N // 10))
    scores, found = index.search(emb[rows], 11)
    for q, row in enumerate(rows):
        keep = [t for t in range(11) if found[q, t] != row][:10]
        want = [(ids[found[q, t]], float(scores[q, t])) for t in keep]
        p = run("similar", out, ids[row], "-k", "10", "--json")
        got = [(h["paper_id"], h["score"]) for h in json.loads(p.stdout)] if p.returncode == 0 else p.stderr
        check(isinstance(got, list) and [g[0] for g in got] == [w[0] for w in want]
              and np.allclose([g[1] for g in got], [w[1] for w in want], rtol=0, atol=1e-6),
              f"{label}: similar {ids[row]}: {got} vs FAISS {want}")


def main():
    with open(os.path.join(FIX, "data", "arxiv-papers.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    ids = [r[rows[0].index("paper_id")] for r in rows[1:N + 1]]
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "papers.csv")
        with open(src, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows[:N + 1])
        for factory, kind in (("IVF4,PQ8", faiss.IndexIVFPQ), ("PQ8x4", faiss.IndexPQ)):
            out = os.path.join(tmp, factory.replace(",", "_"))
            p = run("embed", src, "--model", MODEL, "--out", out, "--max-length", "32",
                    "--threads", "2", "--index", factory)
            check(p.returncode == 0, f"embed --index {factory}: {p.stderr[-400:]!r}")
            if p.returncode != 0:
                continue
            meta = json.load(open(os.path.join(out, "metadata.json")))
            check(meta["n_papers"] == N, f"{factory}: {meta['n_papers']} papers")
            index = faiss.read_index(os.path.join(out, "papers.index"))
            check(type(faiss.downcast_index(index)) is kind and index.ntotal == N,
                  f"{factory}: {type(faiss.downcast_index(index)).__name__}, ntotal {index.ntotal}")
            check(meta["index"]["type"] == kind.__name__, f"{factory}: metadata {meta['index']}")
            check_similar_equals_faiss(out, ids, factory)
            r = hamming_correlation(product_quantizer(index))
            print(f"{factory}: Hamming/centroid distance correlation {r:.3f}")
            check(abs(r) < 0.15, f"{factory}: correlation {r:.3f}: polysemous training ran")

            if factory == "PQ8x4":  # the measure sees polysemous training where it runs
                emb = np.load(os.path.join(out, "embeddings.npy"))
                ref = faiss.index_factory(emb.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
                check(faiss.downcast_index(ref).do_polysemous_training, "FAISS's PQ8x4: not polysemous")
                ref.train(emb)
                r_ref = hamming_correlation(product_quantizer(ref))
                print(f"FAISS's own {factory} (polysemous): correlation {r_ref:.3f}")
                check(r_ref > 0.3, f"FAISS's polysemous {factory}: correlation {r_ref:.3f}")
    return report("test_index_pq.py")


if __name__ == "__main__":
    sys.exit(main())

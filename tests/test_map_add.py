"""A folder's map (map.npy of `scivec map`) through `scivec add` and
`scivec remove` (issue 20): the old points do not move, the new papers are
placed by umap-learn's transform (scivec_map_transform) near their nearest
old neighbours, and removed papers' rows leave the map; `info` stays ok.

The reference for "near": each paper's 15 nearest old papers in the
embedding space (numpy, exact). A placed paper's 15 nearest old points on
the map must share about as many of them as the map itself keeps for the old
papers (at least half as many, and twice what a random place shares), and
the closest of their points must be nearer than half the typical distance
between two old points.

Run by CTest with /usr/bin/python3; env SCIVEC, SV_FIXTURES."""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

import numpy as np

from testlib import FIX, MODEL, SCIVEC, check, report

SNAPSHOT = os.path.join(FIX, "data", "arxiv-metadata-oai-snapshot.sample.jsonl")


def must(*args):
    p = subprocess.run([SCIVEC, *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"scivec {' '.join(args)} failed ({p.returncode}):\n{p.stderr}")
    return p


def ids(d):
    con = sqlite3.connect(os.path.join(d, "papers.db"))
    out = [r[0] for r in con.execute("SELECT paper_id FROM papers ORDER BY row")]
    con.close()
    return out


def main():
    with open(SNAPSHOT, encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        a, b = os.path.join(tmp, "a.jsonl"), os.path.join(tmp, "b.jsonl")
        open(a, "w", encoding="utf-8").writelines(lines[:120])
        open(b, "w", encoding="utf-8").writelines(lines[100:])     # 20 already there, 80 new
        d = os.path.join(tmp, "d")
        must("embed", a, "--model", MODEL, "--out", d, "--threads", "1")
        must("map", d, "--threads", "1")
        old = np.load(os.path.join(d, "map.npy"))
        n_old = len(old)

        must("add", d, b, "--threads", "1")
        vecs = np.load(os.path.join(d, "embeddings.npy"))
        new = np.load(os.path.join(d, "map.npy"))
        meta = json.load(open(os.path.join(d, "metadata.json")))
        n_new = len(vecs) - n_old
        check(n_new == 80 and new.shape == (len(vecs), 2), f"add: map {new.shape} for {len(vecs)} papers")
        check(np.array_equal(new[:n_old], old), "add: old points moved")
        check(meta["map"]["n_rows"] == len(vecs) and meta["map"]["placed"] == n_new,
              f"add: metadata map {meta['map'].get('n_rows')} rows, placed {meta['map'].get('placed')}")
        check(np.isfinite(new).all(), "add: a placed point is not finite")
        # near their nearest old neighbours (see the docstring)
        def knn(x, k=15):
            dist = ((x[:, None, :] - x[None, :n_old, :]) ** 2).sum(-1)
            dist[np.arange(min(len(x), n_old)), np.arange(min(len(x), n_old))] = np.inf   # not itself
            return np.argsort(dist, axis=1)[:, :k], dist

        def overlap(a, b):
            return float(np.mean([len(set(x) & set(y)) / a.shape[1] for x, y in zip(a, b)]))

        emb_nn, _ = knn(vecs)
        map_nn, map_d2 = knn(new)
        kept_old = overlap(emb_nn[:n_old], map_nn[:n_old])      # what the map keeps for its own points
        kept_new = overlap(emb_nn[n_old:], map_nn[n_old:])
        chance = 15 / n_old
        closest = np.sqrt(np.take_along_axis(map_d2[n_old:], emb_nn[n_old:], axis=1).min(axis=1))
        rng = np.random.default_rng(0)
        pairs = rng.integers(0, n_old, (2000, 2))
        typical = float(np.median(np.linalg.norm(old[pairs[:, 0]] - old[pairs[:, 1]], axis=1)))
        check(kept_new >= 0.5 * kept_old and kept_new >= 2 * chance,
              f"add: placed papers keep {kept_new:.3f} of their 15 nearest old papers on the map "
              f"(the old ones {kept_old:.3f}, chance {chance:.3f})")
        check(np.median(closest) < 0.5 * typical,
              f"add: placed papers are {np.median(closest):.3f} from their nearest neighbour's point "
              f"(median), a typical distance is {typical:.3f}")
        print(f"placed 80 papers: 15-NN kept on the map {kept_new:.3f} (old papers {kept_old:.3f}, chance "
              f"{chance:.3f}); median distance to the closest neighbour's point {np.median(closest):.3f}, "
              f"typical distance {typical:.3f}")
        p = subprocess.run([SCIVEC, "info", d], capture_output=True, text=True)
        check(p.returncode == 0 and "checks: ok" in p.stdout, f"add: info {p.stdout[-300:]}")

        before = ids(d)
        gone = [before[3], before[50], before[n_old + 5]]   # old and placed ones
        must("remove", d, *gone, "--threads", "1")
        after = np.load(os.path.join(d, "map.npy"))
        keep = [i for i, pid in enumerate(before) if pid not in gone]
        check(np.array_equal(after, new[keep]), "remove: the map is not the old one without those rows")
        meta = json.load(open(os.path.join(d, "metadata.json")))
        check(meta["map"]["n_rows"] == len(keep), f"remove: metadata map n_rows {meta['map'].get('n_rows')}")
        p = subprocess.run([SCIVEC, "info", d], capture_output=True, text=True)
        check(p.returncode == 0 and "checks: ok" in p.stdout, f"remove: info {p.stdout[-300:]}")
    return report("test_map_add")


if __name__ == "__main__":
    sys.exit(main())

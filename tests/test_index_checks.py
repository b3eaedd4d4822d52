"""`--index` problems (issue 14, items 2, 12, 13): a typo, an unsupported
string, PQ whose m does not divide the dimension or IVF with more lists than
papers are refused before anything is embedded, in one line naming the
factory and the reason (no FAISS C++ internals), and a failed run removes the
--out folder it created and nothing else. An index that still fails to build
keeps the embeddings: --resume with another --index finishes without
embedding again. `scivec reindex DIR --index F` swaps in a new index.

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
from testlib import FINAL, FIX, MODEL, SCIVEC, check, report  # noqa: E402


def embed(src, out, *extra):
    return subprocess.run([SCIVEC, "embed", src, "--model", MODEL, "--out", out, "--max-length", "32",
                           "--threads", "1", *extra], capture_output=True, text=True)


def one_line_naming(p, factory, *words):
    err = p.stderr.strip().splitlines()
    err = [line for line in err if not line.startswith("WARNING clustering")]   # FAISS's own print
    return (p.returncode != 0 and len(err) == 1 and f"'{factory}'" in err[0]
            and all(w in err[0] for w in words)
            and not any(bad in err[0] for bad in ("faiss::", ".cpp", "Error in", "std::")))


def main():
    with open(os.path.join(FIX, "data", "arxiv-papers.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "papers.csv")
        with open(src, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows[:41])       # header + 40 papers

        # Refused before the model runs: the --out folder (and its new
        # parent) that the run created are gone again; an existing one stays.
        parent = os.path.join(tmp, "new-parent")
        out = os.path.join(parent, "out")
        cases = [("IVFx,Flat", ("could not parse",)),
                 ("IVF64,PQ7", ("multiple", "64")),          # dim 64: m = 7 does not divide it
                 ("IVF64,Flat", ("64 vectors", "40")),       # more lists than papers
                 ("PQ8x10", ("40",)),                        # 1024 codes to learn from 40
                 ("LSH", ("requires",))]                     # no inner-product variant
        for factory, words in cases:
            p = embed(src, out, "--index", factory)
            check(one_line_naming(p, factory, *words), f"--index {factory}: {p.returncode} {p.stderr!r}")
            check("pooling:" not in p.stderr, f"--index {factory}: embedded before refusing")
            check(not os.path.exists(parent), f"--index {factory}: left {sorted(os.listdir(tmp))}")
        existing = os.path.join(tmp, "existing")
        os.mkdir(existing)
        with open(os.path.join(existing, "keep.txt"), "w") as f:
            f.write("mine")
        p = embed(src, existing, "--index", "IVFx,Flat")
        check(p.returncode != 0 and sorted(os.listdir(existing)) == ["keep.txt"],
              f"existing --out folder touched: {os.listdir(existing)}")

        # Passes the checks but fails to train (RQ on fewer vectors than
        # dimensions): the embeddings are kept, --resume builds another index.
        out = os.path.join(tmp, "kept")
        p = embed(src, out, "--index", "RQ2x4")
        check(one_line_naming(p, "RQ2x4", "40 embeddings are kept", "--resume"), f"RQ2x4: {p.stderr!r}")
        check(os.path.exists(os.path.join(out, ".scivec-work", "embeddings.npy.partial")), "embeddings kept")
        check(not any(os.path.exists(os.path.join(out, n)) for n in FINAL), "final names after a failure")
        p = embed(src, out, "--index", "HNSW16", "--resume")
        check(p.returncode == 0 and "resumed after 40 papers" in p.stderr, f"resume with HNSW16: {p.stderr!r}")
        check(sorted(os.listdir(out)) == sorted(FINAL), f"after resume: {os.listdir(out)}")
        meta = json.load(open(os.path.join(out, "metadata.json")))
        check(meta["index"]["factory"] == "HNSW16" and meta["index"]["type"] == "IndexHNSWFlat", f"{meta['index']}")

        # reindex: a new index from embeddings.npy, swapped in with metadata.json.
        emb = np.load(os.path.join(out, "embeddings.npy"))
        p = subprocess.run([SCIVEC, "reindex", out, "--index", "IVF64,Flat"], capture_output=True, text=True)
        check(one_line_naming(p, "IVF64,Flat", "64", "40"), f"reindex IVF64: {p.stderr!r}")
        check(json.load(open(os.path.join(out, "metadata.json")))["index"]["factory"] == "HNSW16",
              "a refused reindex changed metadata.json")
        p = subprocess.run([SCIVEC, "reindex", out, "--index", "IVF4,Flat", "--progress"],
                           capture_output=True, text=True)
        check(p.returncode == 0 and "training the index 'IVF4,Flat' on 40 vectors" in p.stderr
              and "40/40 vectors indexed" in p.stderr, f"reindex IVF4: {p.returncode} {p.stderr!r}")
        index = faiss.read_index(os.path.join(out, "papers.index"))
        check(index.ntotal == 40 and isinstance(faiss.downcast_index(index), faiss.IndexIVFFlat),
              f"reindexed: {type(faiss.downcast_index(index)).__name__} {index.ntotal}")
        faiss.extract_index_ivf(index).nprobe = 4        # every list: exact
        _, ids = index.search(emb, 1)
        check((ids[:, 0] == np.arange(40)).all(), "the reindexed rows are the embeddings' rows")
        meta = json.load(open(os.path.join(out, "metadata.json")))
        check(meta["index"]["factory"] == "IVF4,Flat" and meta["index"]["type"] == "IndexIVFFlat"
              and meta["index"]["ntotal"] == 40, f"metadata index: {meta['index']}")
        check(sorted(os.listdir(out)) == sorted(FINAL), f"reindex left files: {os.listdir(out)}")
        p = subprocess.run([SCIVEC, "info", out], capture_output=True, text=True)
        check(p.returncode == 0, f"info after reindex: {p.stdout[-300:]} {p.stderr}")

    return report("test_index_checks.py")


if __name__ == "__main__":
    sys.exit(main())

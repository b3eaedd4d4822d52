#!/usr/bin/python3
"""End to end: `scivec embed` writes an output directory, the query commands
read it, and a real Python client (numpy, faiss, sqlite3) gives the reference
answers: `scivec similar --json` must equal faiss.read_index(...).search(v, k+1)
minus the paper itself (ids exactly, scores within 1e-5); filters must return
only matching papers and still k of them; `scivec info` must pass.

Model: tests/fixtures/models/tiny-scibert (random weights: the rankings are
meaningless, which does not matter for checking that they are FAISS's).
"""
import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

import faiss
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_query as tq  # noqa: E402
from test_query import check, run, check_top_k  # noqa: E402

REPO = tq.REPO
SAMPLE = os.path.join(REPO, "data", "arxiv-sample.csv")


def embed(out, *args, input_path=SAMPLE):
    # One thread and 128 tokens: the suite runs beside others on few cores.
    p = subprocess.run([tq.SCIVEC, "embed", input_path, "--model", tq.TINY, "--out", out,
                        "--threads", "1", "--max-length", "128", *args],
                       capture_output=True, text=True)
    check(p.returncode == 0, f"embed {args}: exit {p.returncode}: {p.stderr}")
    return p.returncode == 0


def read_papers(out):
    """The papers as the db holds them, in row order (the reference for filters)."""
    db = sqlite3.connect(os.path.join(out, "papers.db"))
    rows = db.execute("SELECT row, paper_id, title, categories, year FROM papers ORDER BY row").fetchall()
    db.close()
    check([r[0] for r in rows] == list(range(len(rows))), f"{out}: rows are 0..n-1")
    return [{"paper_id": r[1], "title": r[2], "categories": r[3] or "", "year": r[4]} for r in rows]


def check_matches_faiss(out, papers, k, rows, label, exact_search=True):
    index = faiss.read_index(os.path.join(out, "papers.index"))
    vectors = np.load(os.path.join(out, "embeddings.npy"))
    meta = json.load(open(os.path.join(out, "metadata.json")))
    for row in rows:
        pid = papers[row]["paper_id"]
        rc, stdout, err = run("similar", out, pid, "-k", str(k), "--json")
        check(rc == 0, f"{label}: similar {pid}: exit {rc}: {err}")
        if rc:
            continue
        got = json.loads(stdout)
        query = vectors[row:row + 1]
        if not meta["normalize"]:
            query = tq.normalized(query)  # the index holds unit vectors (docs/OUTPUTS.md)
        scores, ids = index.search(query, k + 1)
        want = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i != row and i >= 0][:k]
        if meta["normalize"]:
            check([g["paper_id"] for g in got] == [papers[i]["paper_id"] for i, _ in want],
                  f"{label}: {pid}: ids {[g['paper_id'] for g in got]} != faiss "
                  f"{[papers[i]['paper_id'] for i, _ in want]}")
        check(len(got) == len(want) and all(abs(g["score"] - s) <= 1e-5 for g, (_, s) in zip(got, want)),
              f"{label}: {pid}: scores {[g['score'] for g in got]} != faiss {[s for _, s in want]}")
        if exact_search:  # (IVF and PQ answers are approximate: FAISS's, not the true top k)
            check_top_k(got, papers, vectors, vectors[row], k, lambda i: True, row, f"{label}: {pid}")


def check_filters(out, papers, label):
    vectors = np.load(os.path.join(out, "embeddings.npy"))
    cases = [
        (["--category", "quant-ph"], lambda p: "quant-ph" in p["categories"].split()),
        (["--category", "cs"], lambda p: any(c.startswith("cs.") for c in p["categories"].split())),
        (["--year", "2026"], lambda p: p["year"] == 2026),
        (["--year", "2017-2024", "--category", "cs"],
         lambda p: p["year"] is not None and 2017 <= p["year"] <= 2024
         and any(c.startswith("cs.") for c in p["categories"].split())),
    ]
    for row in (0, 100):
        pid = papers[row]["paper_id"]
        for args, keep in cases:
            k = 8
            n_pass = sum(1 for i, p in enumerate(papers) if keep(p) and i != row)
            rc, stdout, err = run("similar", out, pid, "-k", str(k), "--json", *args)
            check(rc == 0, f"{label}: {pid} {args}: exit {rc}: {err}")
            if rc:
                continue
            got = json.loads(stdout)
            check(len(got) == min(k, n_pass), f"{label}: {pid} {args}: {len(got)} results, {n_pass} pass")
            check_top_k(got, papers, vectors, vectors[row], k, lambda i: keep(papers[i]), row,
                        f"{label}: {pid} {args}")


def subset_csv(path, n):
    csv.field_size_limit(1 << 30)
    with open(SAMPLE, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        rows = [next(reader) for _ in range(n + 1)]
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


def main():
    tmp = tempfile.mkdtemp(prefix="scivec-query-e2e-")
    try:
        # Default recipe (abstract), the model's default pooling, exact index.
        out = os.path.join(tmp, "flat")
        if embed(out):
            papers = read_papers(out)
            check(len(papers) == 300, f"{len(papers)} papers embedded")
            rc, stdout, err = run("info", out)
            check(rc == 0 and "checks: ok" in stdout, f"info on embed's output: {rc} {stdout} {err}")
            check_matches_faiss(out, papers, 5, (0, 1, 150, 299), "flat")
            check_filters(out, papers, "flat")
            # search for an abstract finds its paper first, at cosine 1
            # (the same text through the same model).
            vectors = np.load(os.path.join(out, "embeddings.npy"))
            db = sqlite3.connect(os.path.join(out, "papers.db"))
            for row in (3, 200):
                (abstract,) = db.execute("SELECT value FROM paper_columns WHERE row = ? AND name = "
                                         "'abstract'", (row,)).fetchone()
                rc, stdout, err = run("search", out, abstract, "-k", "3", "--json")
                got = json.loads(stdout) if rc == 0 else []
                check(rc == 0 and got and got[0]["paper_id"] == papers[row]["paper_id"]
                      and abs(got[0]["score"] - 1) <= 1e-5, f"search abstract of row {row}: {rc} {err} {got[:1]}")
                check_top_k(got, papers, vectors, vectors[row], 3, lambda i: True, -1,
                            f"search abstract of row {row}")
            db.close()
            # --verify-model hashes the weights against metadata.json's model.sha256.
            rc, stdout, err = run("search", out, "quantum", "-k", "1", "--verify-model")
            check(rc == 0, f"search --verify-model with the same model: {rc} {err}")
            f16 = os.path.join(tq.FIXTURES, "models", "tiny-scibert-f16")
            rc, stdout, err = run("search", out, "quantum", "-k", "1", "--verify-model", "--model", f16)
            check(rc == 1 and stdout == "" and "sha256" in err and len(err.strip().splitlines()) == 1,
                  f"search --verify-model with other weights: {rc} {err}")
            rc, stdout, err = run("similar", out, "9999.99999")
            check(rc != 0 and stdout == "" and len(err.strip().splitlines()) == 1, f"unknown id: {rc} {err}")

        # An approximate index and raw (unnormalised) vectors, on a smaller sample.
        small = os.path.join(tmp, "small.csv")
        subset_csv(small, 120)
        out = os.path.join(tmp, "hnsw")
        if embed(out, "--index", "HNSW16", "--pooling", "mean", input_path=small):
            papers = read_papers(out)
            rc, stdout, err = run("info", out)
            check(rc == 0, f"info on an HNSW output: {rc} {stdout} {err}")
            check_matches_faiss(out, papers, 5, (0, 60, 119), "hnsw", exact_search=False)
            check_filters(out, papers, "hnsw")
        # IVF (exact vectors, approximate search) and PQ (lossy codes, 4-bit
        # so that 120 papers are enough to train its 16 centroids).
        for factory, input_path in (("IVF8,Flat", small), ("PQ8x4", small)):
            out = os.path.join(tmp, factory.replace(",", "-"))
            if embed(out, "--index", factory, "--pooling", "mean", input_path=input_path):
                papers = read_papers(out)
                rc, stdout, err = run("info", out)
                check(rc == 0 and "checks: ok" in stdout, f"info on a {factory} output: {rc} {stdout} {err}")
                check_matches_faiss(out, papers, 5, (0, 60, 119), factory, exact_search=False)
                check_filters(out, papers, factory)
        out = os.path.join(tmp, "raw")
        if embed(out, "--no-normalize", "--pooling", "mean", input_path=small):
            papers = read_papers(out)
            rc, stdout, err = run("info", out)
            check(rc == 0, f"info on a --no-normalize output: {rc} {stdout} {err}")
            check_matches_faiss(out, papers, 5, (0, 60, 119), "raw")
            check_filters(out, papers, "raw")
    finally:
        shutil.rmtree(tmp)
    print(f"{tq.passed} passed, {tq.failures} failed")
    return 1 if tq.failures else 0


if __name__ == "__main__":
    sys.exit(main())

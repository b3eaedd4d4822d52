#!/usr/bin/python3
"""scivec similar / search / info against a real Python client.

The output directories here are written by Python itself (numpy, faiss,
sqlite3) in the format `scivec embed` writes (docs/OUTPUTS.md), so the query
commands are checked independently of the embed pipeline. The vectors are
HuggingFace's own CLS embeddings of the 300 arXiv abstracts of the golden
fixtures (mean pooling, tiny-scibert, tests/fixtures/golden: the tiny random
model's CLS vectors are nearly all alike, its mean vectors less so), the papers' ids, titles,
categories and years are the real ones from data/arxiv-sample.csv.

The reference answers come from faiss.read_index(...).search(...) and from
numpy brute force, never from scivec.
"""
import ast
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

SCIVEC = os.environ["SCIVEC"]
FIXTURES = os.environ["SV_FIXTURES"]
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(FIXTURES, "models", "tiny-scibert")

failures = 0
passed = 0


def check(cond, what):
    global failures, passed
    if cond:
        passed += 1
    else:
        failures += 1
        print("FAIL:", what, file=sys.stderr)


def run(*args):
    p = subprocess.run([SCIVEC, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


# --------------------------------------------------------------------------
# Fixture: 300 real papers with HF's embeddings of their abstracts

def load_papers():
    golden = os.path.join(FIXTURES, "golden")
    texts = {}
    order = []
    with open(os.path.join(golden, "tokens.jsonl"), encoding="utf-8") as f:
        for i, line in enumerate(f):
            rec = json.loads(line)
            texts[rec["id"]] = (i, rec["text"])
            order.append(rec["id"])
    mean = np.load(os.path.join(golden, "tiny-scibert", "embeddings_mean.npy"))
    csv.field_size_limit(1 << 30)
    with open(os.path.join(REPO, "data", "arxiv-sample.csv"), newline="", encoding="utf-8") as f:
        meta = {r["paper_id"]: r for r in csv.DictReader(f)}
    papers = []
    for text_id in order:
        if not text_id.startswith("abs-"):
            continue
        pid = text_id[4:]
        row = meta[pid]
        papers.append({
            "paper_id": pid,
            "title": row["title"],
            "abstract": texts[text_id][1],
            "categories": " ".join(ast.literal_eval(row["categories"])),
            "year": int(row["year"]) if row["year"] else None,
            "vector": mean[texts[text_id][0]],
        })
    return papers


def normalized(x):
    x = np.asarray(x, dtype=np.float32).copy()
    faiss.normalize_L2(x)
    return x


def write_dir(path, papers, vectors, normalize=True, factory="Flat", metadata_extra=None):
    """An embed output directory, written exactly as docs/OUTPUTS.md says:
    the npy (and the db BLOBs) hold the vectors as given, the index always
    their unit-length versions."""
    os.makedirs(path)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    np.save(os.path.join(path, "embeddings.npy"), vectors)
    index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
    unit = vectors if normalize else normalized(vectors)
    if not index.is_trained:
        index.train(unit)
    index.add(unit)
    faiss.write_index(index, os.path.join(path, "papers.index"))
    db = sqlite3.connect(os.path.join(path, "papers.db"))
    db.execute("CREATE TABLE papers(row INTEGER PRIMARY KEY, paper_id TEXT NOT NULL UNIQUE, "
               "title TEXT, categories TEXT, year INTEGER, embedding BLOB)")
    db.execute("CREATE TABLE paper_columns(row INTEGER, name TEXT, value TEXT, PRIMARY KEY(row, name))")
    db.execute("CREATE INDEX papers_paper_id ON papers(paper_id)")
    db.execute("CREATE INDEX papers_year ON papers(year)")
    for i, p in enumerate(papers):
        db.execute("INSERT INTO papers VALUES (?,?,?,?,?,?)",
                   (i, p["paper_id"], p["title"], p["categories"], p["year"],
                    vectors[i].astype("<f4").tobytes()))
        for name in ("paper_id", "title", "abstract"):
            db.execute("INSERT INTO paper_columns VALUES (?,?,?)", (i, name, p[name]))
    db.commit()
    db.close()
    metadata = {
        "format_version": 1,
        "scivec_version": "test",
        "date_generated": "2026-11-25T00:00:00Z",
        "input": {"path": "data/arxiv-sample.csv", "format": "csv", "id_column": "paper_id",
                  "text_column": "abstract", "title_column": "title"},
        "n_papers": n,
        "embedding_dim": dim,
        "model": {"name": TINY, "path": TINY, "weights": os.path.join(TINY, "model.safetensors"),
                  "sha256": "not-checked-by-queries"},
        "recipe": "abstract",
        "text": "abstract",
        "pooling": {"name": "mean", "reason": "--pooling"},
        "normalize": normalize,
        "max_length": 512,
        "truncate": "cut",
        "n_truncated": 0,
        "rows_read": n,
        "n_skipped": 0,
        "skipped": {"empty_text": 0, "malformed": 0, "duplicate_id": 0},
        "index": {"factory": factory, "type": type(index).__name__, "metric": "inner_product",
                  "normalized": True, "ntotal": n},
        "files": {"embeddings": "embeddings.npy", "index": "papers.index", "db": "papers.db"},
    }
    metadata.update(metadata_extra or {})
    with open(os.path.join(path, "metadata.json"), "w") as f:
        json.dump(metadata, f, indent=2)


def db_ids(path):
    db = sqlite3.connect(os.path.join(path, "papers.db"))
    ids = dict(db.execute("SELECT row, paper_id FROM papers"))
    db.close()
    return ids


# --------------------------------------------------------------------------
# similar == faiss.read_index(...).search(v, k+1) minus the paper itself

def check_similar_matches_faiss(path, papers, k, label):
    index = faiss.read_index(os.path.join(path, "papers.index"))
    vectors = np.load(os.path.join(path, "embeddings.npy"))
    ids = db_ids(path)
    for row in (0, 1, 61, 150, 299):
        pid = papers[row]["paper_id"]
        rc, out, err = run("similar", path, pid, "-k", str(k), "--json")
        check(rc == 0, f"{label}: similar {pid} exit {rc}: {err}")
        if rc:
            continue
        got = json.loads(out)
        scores, found = index.search(vectors[row:row + 1], k + 1)
        want = [(int(i), float(s)) for i, s in zip(found[0], scores[0]) if i != row and i >= 0][:k]
        check(len(got) == len(want) == k, f"{label}: {pid}: {len(got)} results, want {k}")
        check([g["paper_id"] for g in got] == [ids[i] for i, _ in want],
              f"{label}: {pid}: ids {[g['paper_id'] for g in got]} != faiss {[ids[i] for i, _ in want]}")
        check(all(abs(g["score"] - s) <= 1e-5 for g, (_, s) in zip(got, want)),
              f"{label}: {pid}: scores {[g['score'] for g in got]} != faiss {[s for _, s in want]}")
        check([g["rank"] for g in got] == list(range(1, len(got) + 1)), f"{label}: ranks")
        check(pid not in [g["paper_id"] for g in got], f"{label}: {pid} lists itself")
        for g in got:
            p = papers[[q["paper_id"] for q in papers].index(g["paper_id"])]
            check(g["title"] == p["title"], f"{label}: title of {g['paper_id']}")
            check(g["categories"] == p["categories"].split(), f"{label}: categories of {g['paper_id']}")


def cosines(vectors, query):
    v = vectors.astype(np.float64)
    q = query.astype(np.float64)
    return v @ q / (np.linalg.norm(v, axis=1) * np.linalg.norm(q))


def brute_force(vectors, query, k, allowed, exclude=-1):
    """Top-k by cosine over the allowed rows (numpy, float64)."""
    sims = cosines(vectors, query)
    rows = [i for i in range(len(vectors)) if allowed(i) and i != exclude]
    rows.sort(key=lambda i: -sims[i])
    return [(i, sims[i]) for i in rows[:k]]


def check_top_k(got, papers, vectors, query, k, allowed, exclude, label, tol=1e-5):
    """got is a correct top-k: right length, distinct, allowed, each score the
    paper's true cosine, and the scores those of the true top-k. (Ids are not
    compared one by one: papers whose cosines tie to float precision may come
    in either order; 0704.0026 and 0704.0112 even share their abstract.)"""
    sims = cosines(vectors, query)
    want = brute_force(vectors, query, k, allowed, exclude)
    row_of = {p["paper_id"]: i for i, p in enumerate(papers)}
    rows = [row_of.get(g["paper_id"], -1) for g in got]
    check(len(got) == len(want), f"{label}: {len(got)} results, want {len(want)}")
    check(len(set(rows)) == len(rows) and -1 not in rows and exclude not in rows,
          f"{label}: results repeat, include the query paper or unknown ids: {rows}")
    check(all(r >= 0 and allowed(r) for r in rows), f"{label}: a result fails the filter")
    check(all(r >= 0 and abs(g["score"] - sims[r]) <= tol for g, r in zip(got, rows)),
          f"{label}: a score is not the paper's cosine similarity")
    check(all(abs(g["score"] - s) <= tol for g, (_, s) in zip(got, want)),
          f"{label}: scores {[g['score'] for g in got]} are not the top-k {[s for _, s in want]}")


def check_filters(path, papers, label):
    vectors = np.load(os.path.join(path, "embeddings.npy"))
    cases = [
        (["--category", "quant-ph"], lambda p: "quant-ph" in p["categories"].split()),
        (["--category", "cs.CV"], lambda p: "cs.CV" in p["categories"].split()),
        (["--category", "cs.CV", "--category", "cs.AI"],
         lambda p: {"cs.CV", "cs.AI"} & set(p["categories"].split())),
        (["--category", "cs"], lambda p: any(c.startswith("cs.") for c in p["categories"].split())),
        (["--year", "2025"], lambda p: p["year"] == 2025),
        (["--year", "2022-2024"], lambda p: p["year"] is not None and 2022 <= p["year"] <= 2024),
        (["--year", "2025-2026", "--category", "math.RT"],
         lambda p: p["year"] in (2025, 2026) and "math.RT" in p["categories"].split()),
    ]
    for row in (0, 200):
        pid = papers[row]["paper_id"]
        for args, keep in cases:
            n_pass = sum(1 for i, p in enumerate(papers) if keep(p) and i != row)
            k = 7
            rc, out, err = run("similar", path, pid, "-k", str(k), "--json", *args)
            check(rc == 0, f"{label}: similar {pid} {args}: exit {rc}: {err}")
            if rc:
                continue
            got = json.loads(out)
            check(len(got) == min(k, n_pass), f"{label}: {pid} {args}: {len(got)} results, "
                  f"{n_pass} papers pass")
            check_top_k(got, papers, vectors, vectors[row], k, lambda i: keep(papers[i]), row,
                        f"{label}: {pid} {args}")
    # A filter that fewer than k papers pass returns all of them.
    rc, out, err = run("similar", path, papers[0]["paper_id"], "-k", "50", "--json", "--year", "2022-2024")
    n_pass = sum(1 for p in papers if p["year"] is not None and 2022 <= p["year"] <= 2024)
    check(rc == 0 and len(json.loads(out)) == n_pass, f"{label}: small filter: {out[:200]} {err}")


# --------------------------------------------------------------------------
# info and inconsistent directories

def check_info_ok(path, label):
    rc, out, err = run("info", path)
    check(rc == 0, f"{label}: info on a consistent dir: exit {rc}: {out}{err}")
    check("checks: ok" in out, f"{label}: info says ok: {out}")
    check("n_papers" in out and "embedding_dim" in out, f"{label}: info prints the metadata")
    rc, out, err = run("info", path, "--json")
    info = json.loads(out) if rc == 0 else {}
    n = json.load(open(os.path.join(path, "metadata.json")))["n_papers"]
    check(info.get("ok") is True and info.get("problems") == [], f"{label}: info --json ok: {out}")
    check(info.get("files", {}).get("embeddings.npy", {}).get("rows") == n
          and info["files"].get("papers.index", {}).get("ntotal") == n
          and info["files"].get("papers.db", {}).get("papers") == n, f"{label}: info --json files: {out}")


def broken_copy(base, tmp, name, damage):
    path = os.path.join(tmp, name)
    shutil.copytree(base, path)
    damage(path)
    return path


def check_broken(base, tmp, papers):
    def drop_npy_row(path):
        v = np.load(os.path.join(path, "embeddings.npy"))
        np.save(os.path.join(path, "embeddings.npy"), v[:-1])

    def swap_npy_rows(path):
        v = np.load(os.path.join(path, "embeddings.npy"))
        v[[3, 4]] = v[[4, 3]]
        np.save(os.path.join(path, "embeddings.npy"), v)

    def drop_db_row(path):
        db = sqlite3.connect(os.path.join(path, "papers.db"))
        db.execute("DELETE FROM papers WHERE row = 150")
        db.commit()
        db.close()

    def drop_last_db_row(path):
        db = sqlite3.connect(os.path.join(path, "papers.db"))
        db.execute("DELETE FROM papers WHERE row = (SELECT max(row) FROM papers)")
        db.commit()
        db.close()

    def shift_db_blobs(path):
        db = sqlite3.connect(os.path.join(path, "papers.db"))
        db.execute("UPDATE papers SET embedding = (SELECT embedding FROM papers p2 WHERE p2.row = 0) "
                   "WHERE row = 10")
        db.commit()
        db.close()

    def break_metadata_json(path):
        with open(os.path.join(path, "metadata.json"), "a") as f:
            f.write("{ not json")

    def wrong_n_papers(path):
        m = json.load(open(os.path.join(path, "metadata.json")))
        m["n_papers"] += 1
        json.dump(m, open(os.path.join(path, "metadata.json"), "w"))

    def drop_metadata_dim(path):
        m = json.load(open(os.path.join(path, "metadata.json")))
        del m["embedding_dim"]
        json.dump(m, open(os.path.join(path, "metadata.json"), "w"))

    def short_index(path):
        v = np.load(os.path.join(path, "embeddings.npy"))
        index = faiss.IndexFlatIP(v.shape[1])
        index.add(v[:-2])
        faiss.write_index(index, os.path.join(path, "papers.index"))

    def l2_index(path):
        v = np.load(os.path.join(path, "embeddings.npy"))
        index = faiss.IndexFlatL2(v.shape[1])
        index.add(v)
        faiss.write_index(index, os.path.join(path, "papers.index"))

    def garbage_index(path):
        with open(os.path.join(path, "papers.index"), "r+b") as f:
            f.seek(0)
            f.write(b"garbage!")

    def truncate_npy(path):
        p = os.path.join(path, "embeddings.npy")
        os.truncate(p, os.path.getsize(p) - 10)

    def remove(name):
        return lambda path: os.remove(os.path.join(path, name))

    cases = [
        ("npy-row-removed", drop_npy_row, "embeddings.npy has 299 rows"),
        ("npy-rows-swapped", swap_npy_rows, "row 3"),
        ("npy-truncated", truncate_npy, "embeddings.npy"),
        ("db-row-removed", drop_db_row, "papers.db"),
        ("db-last-row-removed", drop_last_db_row, "papers.db has 299 papers"),
        ("db-blob-replaced", shift_db_blobs, "row 10"),
        ("metadata-not-json", break_metadata_json, "metadata.json is not valid JSON"),
        ("metadata-wrong-n", wrong_n_papers, "n_papers = 301"),
        ("metadata-no-dim", drop_metadata_dim, "embedding_dim is missing"),
        ("index-short", short_index, "papers.index holds 298 vectors"),
        ("index-l2", l2_index, "inner product"),
        ("index-garbage", garbage_index, "papers.index"),
        ("no-index", remove("papers.index"), "papers.index is missing"),
        ("no-db", remove("papers.db"), "papers.db is missing"),
        ("no-npy", remove("embeddings.npy"), "embeddings.npy is missing"),
        ("no-metadata", remove("metadata.json"), "metadata.json is missing"),
    ]
    for name, damage, explanation in cases:
        path = broken_copy(base, tmp, name, damage)
        rc, out, err = run("info", path)
        check(rc != 0, f"info {name}: exit 0 on an inconsistent dir:\n{out}")
        check(explanation in out and explanation in err,
              f"info {name}: no '{explanation}' in the explanation:\n{out}{err}")
        rc, out, err = run("info", path, "--json")
        info = json.loads(out) if out.startswith("{") else {}
        check(rc != 0 and info.get("ok") is False and any(explanation in p for p in info.get("problems", [])),
              f"info --json {name}: {rc} {out}")
        rc, out, err = run("similar", path, papers[10]["paper_id"], "--json")
        check(rc != 0 and out == "", f"similar {name}: answered from an inconsistent dir: {rc} {out[:100]}")
        check(len(err.strip().splitlines()) == 1 and explanation.split()[0] in err,
              f"similar {name}: want one line naming the problem, got: {err}")


def check_corrupt_hnsw(base, tmp, papers):
    """Regression (found by mutating files, 2026-11-25): FAISS reads an HNSW
    graph without checking it, and searching a graph whose links name
    missing nodes crashed `scivec similar`. Such an index must be refused."""
    def corrupt(name, edit):
        path = os.path.join(tmp, name)
        shutil.copytree(base, path)
        index = faiss.read_index(os.path.join(path, "papers.index"))
        edit(index.hnsw)
        faiss.write_index(index, os.path.join(path, "papers.index"))
        return path

    def bad_neighbor(g):
        nb = faiss.vector_to_array(g.neighbors)
        nb[int(np.flatnonzero(nb >= 0)[5])] = 1 << 30
        faiss.copy_array_to_vector(nb, g.neighbors)

    def bad_entry(g):
        g.entry_point = 100000

    def bad_level(g):
        levels = faiss.vector_to_array(g.levels)
        levels[7] = 50
        faiss.copy_array_to_vector(levels, g.levels)

    for name, edit in (("hnsw-bad-neighbor", bad_neighbor), ("hnsw-bad-entry", bad_entry),
                       ("hnsw-bad-level", bad_level)):
        path = corrupt(name, edit)
        for args in (["info", path], ["similar", path, papers[0]["paper_id"], "--json"]):
            rc, out, err = run(*args)
            check(rc == 1 and "HNSW" in err and "papers.index" in err,
                  f"{name}: {args[0]}: want exit 1 naming the HNSW problem, got {rc}: {err}")


def check_errors(base, papers):
    rc, out, err = run("similar", base, "no-such-paper", "--json")
    check(rc != 0 and out == "", f"unknown id: exit {rc}, out {out!r}")
    check(len(err.strip().splitlines()) == 1 and "no-such-paper" in err, f"unknown id message: {err}")
    rc, out, err = run("similar", base + "-missing", papers[0]["paper_id"])
    check(rc != 0 and len(err.strip().splitlines()) == 1 and "no such directory" in err,
          f"missing dir: {rc} {err}")
    rc, out, err = run("info", base + "-missing")
    check(rc != 0 and len(err.strip().splitlines()) == 1, f"info missing dir: {rc} {err}")
    for bad in (["-k", "0"], ["-k", "x"], ["--year", "20x"], ["--year", "2025-2020"], ["--bogus"]):
        rc, out, err = run("similar", base, papers[0]["paper_id"], *bad)
        check(rc != 0 and out == "" and err.strip(), f"similar {bad}: exit {rc}")
    rc, out, err = run("similar", base)
    check(rc != 0, "similar without PAPER_ID")
    # Text output: rank, similarity, title, categories, as the notebook printed them.
    rc, out, err = run("similar", base, papers[0]["paper_id"], "-k", "3")
    check(rc == 0, f"similar text output: {err}")
    lines = [l for l in out.splitlines() if l.strip()]
    check(len(lines) == 1 + 2 * 3 and lines[1].lstrip().startswith("1. ["),
          f"similar text output layout:\n{out}")
    check(" ".join(papers[0]["title"].split()) in lines[0], f"similar header names the paper:\n{out}")


def main():
    """similar and info; search (which needs the model) is test_query_search.py."""
    papers = load_papers()
    check(len(papers) == 300, f"{len(papers)} golden papers")
    raw = np.stack([p["vector"] for p in papers])
    tmp = tempfile.mkdtemp(prefix="scivec-query-")
    try:
        flat = os.path.join(tmp, "flat")
        write_dir(flat, papers, normalized(raw))
        check_info_ok(flat, "flat")
        check_similar_matches_faiss(flat, papers, 5, "flat")
        check_similar_matches_faiss(flat, papers, 20, "flat k=20")
        check_filters(flat, papers, "flat")
        check_errors(flat, papers)
        check_broken(flat, tmp, papers)

        # An approximate index: unfiltered answers are FAISS's own, filtered
        # ones exact over the papers that pass.
        hnsw = os.path.join(tmp, "hnsw")
        write_dir(hnsw, papers, normalized(raw), factory="HNSW8")
        check_info_ok(hnsw, "hnsw")
        check_similar_matches_faiss(hnsw, papers, 5, "hnsw")
        check_filters(hnsw, papers, "hnsw")
        check_corrupt_hnsw(hnsw, tmp, papers)

        # Unnormalised vectors: scores are still cosine similarities.
        raw_dir = os.path.join(tmp, "raw")
        write_dir(raw_dir, papers, raw, normalize=False)
        check_info_ok(raw_dir, "raw")
        rc, out, err = run("similar", raw_dir, papers[7]["paper_id"], "-k", "6", "--json")
        check(rc == 0, f"unnormalised: exit {rc}: {err}")
        check_top_k(json.loads(out) if rc == 0 else [], papers, raw, raw[7], 6, lambda i: True, 7,
                    "unnormalised")

    finally:
        shutil.rmtree(tmp)
    print(f"{passed} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""scivec embed end to end, checked by real clients: numpy reads the .npy,
faiss reads the index, sqlite3 reads the database, json reads metadata.json.
Vectors are checked against HuggingFace's golden embeddings (SPECTER2 recipe)
and against `scivec encode` on the same texts.

Run by CTest with /usr/bin/python3; env SCIVEC, SV_FIXTURES."""
import csv
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

import faiss
import numpy as np

SCIVEC = os.environ["SCIVEC"]
FIX = os.environ["SV_FIXTURES"]
MODEL = os.path.join(FIX, "models", "tiny-scibert")
GOLDEN = os.path.join(FIX, "golden")
PAPERS_CSV = os.path.join(FIX, "data", "arxiv-papers.csv")
FINAL = ["embeddings.npy", "papers.index", "papers.db", "metadata.json"]
csv.field_size_limit(1 << 30)

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg, file=sys.stderr)


def run(*args, ok=True, stdin=None):
    p = subprocess.run([SCIVEC, *args], capture_output=True, text=True, input=stdin)
    if ok and p.returncode != 0:
        raise SystemExit(f"scivec {' '.join(args)} failed ({p.returncode}):\n{p.stderr}")
    return p


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def listing(path):
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def check_outputs_agree(out, label):
    """The four files describe the same papers in the same rows."""
    emb = np.load(os.path.join(out, "embeddings.npy"))
    meta = json.load(open(os.path.join(out, "metadata.json")))
    n, dim = emb.shape
    check(emb.dtype == np.float32, f"{label}: dtype {emb.dtype}")
    check(meta["n_papers"] == n and meta["embedding_dim"] == dim, f"{label}: metadata {meta['n_papers']}x{meta['embedding_dim']} vs npy {emb.shape}")
    skipped = meta["skipped"]
    check(meta["rows_read"] == n + skipped["empty_text"] + skipped["malformed"] + skipped["duplicate_id"],
          f"{label}: rows_read {meta['rows_read']} != kept {n} + skipped {skipped}")
    check(meta["n_skipped"] == sum(skipped.values()), f"{label}: n_skipped")

    index = faiss.read_index(os.path.join(out, "papers.index"))
    check(index.ntotal == n and index.d == dim, f"{label}: index ntotal {index.ntotal} d {index.d}")
    check(index.metric_type == faiss.METRIC_INNER_PRODUCT, f"{label}: index metric {index.metric_type}")
    if n:
        if isinstance(index, faiss.IndexHNSW):
            # HNSW's search is approximate, and its graph depends on how the
            # threads that built it interleaved (1 row in 304 was missed at
            # the default efSearch 16 under ASan with a loaded machine): a
            # search as wide as the index visits every row.
            index.hnsw.efSearch = max(n, 16)
        q = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        scores, ids = index.search(q.astype(np.float32), 1)
        # The tiny random model makes many near-identical vectors: a different
        # row scoring as high as the row itself (within float rounding) is a
        # tie, not a miss.
        hits = ((ids[:, 0] == np.arange(n)) | (scores[:, 0] >= 1.0 - 1e-5)).mean()
        check(hits == 1.0, f"{label}: searching row vectors returns the row itself for {hits:.3f} of rows")
        check(np.allclose(scores[:, 0], 1.0, atol=1e-5), f"{label}: self scores {scores[:3, 0]}")

    db = sqlite3.connect(os.path.join(out, "papers.db"))
    rows = db.execute("SELECT row, paper_id, title, categories, year, embedding FROM papers ORDER BY row").fetchall()
    check([r[0] for r in rows] == list(range(n)), f"{label}: db rows are not 0..{n - 1}")
    if meta["db_vectors"]:  # embed --db-vectors: a copy of each row in papers.db
        blobs_equal = all(np.array_equal(np.frombuffer(r[5], dtype="<f4"), emb[r[0]]) for r in rows)
        check(blobs_equal, f"{label}: some db embedding BLOB differs from its npy row")
    else:  # the default: the vectors are in embeddings.npy only
        check(meta["db_vectors"] is False and all(r[5] is None for r in rows),
              f"{label}: db_vectors {meta['db_vectors']!r} but some papers.db rows hold a BLOB")
    n_cols = db.execute("SELECT count(DISTINCT row) FROM paper_columns").fetchone()[0]
    check(n_cols == n, f"{label}: paper_columns covers {n_cols} of {n} papers")
    indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    check({"papers_paper_id", "papers_year"} <= indexes, f"{label}: db indexes {indexes}")
    return emb, meta, db


def test_csv_sample(tmp):
    """60 real papers: every output agrees, paper_columns holds the input
    verbatim, vectors equal `scivec encode` of the same abstracts."""
    header, rows = read_csv(PAPERS_CSV)
    rows = rows[:60]
    src = os.path.join(tmp, "sample.csv")
    write_csv(src, header, rows)
    out = os.path.join(tmp, "out-sample")
    p = run("embed", src, "--model", MODEL, "--out", out, "--pooling", "cls")
    check(listing(out) == sorted(FINAL), f"sample: files {listing(out)}")
    emb, meta, db = check_outputs_agree(out, "sample")
    check(emb.shape == (60, 64), f"sample: shape {emb.shape}")
    check(np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5), "sample: rows not unit length")
    check(meta["pooling"]["name"] == "cls" and meta["normalize"] is True, f"sample: metadata {meta['pooling']}")
    check(meta["db_vectors"] is False, f"sample: db_vectors {meta.get('db_vectors')!r} by default")
    check(meta["model"]["sha256"] == hashlib.sha256(open(os.path.join(MODEL, "model.safetensors"), "rb").read()).hexdigest(),
          "sample: model sha256 differs from hashlib's")
    check(meta["input"]["format"] == "csv" and meta["rows_read"] == 60, f"sample: input {meta['input']}")

    # paper_columns: every input column verbatim; papers: id/title/categories/year.
    for i, r in enumerate(rows):
        got = dict(db.execute("SELECT name, value FROM paper_columns WHERE row = ?", (i,)).fetchall())
        check(got == dict(zip(header, r)), f"sample: paper_columns of row {i} differ from the CSV")
        pid, title, cats, year = db.execute("SELECT paper_id, title, categories, year FROM papers WHERE row = ?", (i,)).fetchone()
        want_cats = " ".join(eval(r[header.index("categories")])) or None  # a Python list literal in this CSV
        check(pid == r[0] and title == r[1], f"sample: row {i} id/title")
        check(cats == want_cats, f"sample: row {i} categories {cats!r} != {want_cats!r}")
        check(year == int(r[header.index("year")]), f"sample: row {i} year {year}")

    # The same abstracts through `scivec encode` give the same rows.
    texts = "".join(json.dumps({"text": r[2]}) + "\n" for r in rows)
    enc_out = os.path.join(tmp, "encode.npy")
    p = run("encode", "--model", MODEL, "--pooling", "cls", "--normalize", "--out", enc_out, stdin=texts, ok=False)
    if p.returncode != 0:
        check(False, f"scivec encode failed, cannot compare: {p.stderr.strip()}")
    else:
        enc = np.load(enc_out)
        diff = float(np.abs(enc - emb).max())
        check(enc.shape == emb.shape and diff <= 1e-6, f"sample: embed vs encode max diff {diff}")
        print(f"embed vs scivec encode on 60 abstracts: max abs diff {diff:.2e}")


def test_specter2_golden(tmp):
    """--recipe specter2 on titles/abstracts of the golden pairs equals HF's
    tokenizer(title + '[SEP]' + abstract) CLS embeddings."""
    pairs = [json.loads(l) for l in open(os.path.join(GOLDEN, "tokens_pair.jsonl"))]
    golden = np.load(os.path.join(GOLDEN, "tiny-scibert", "pairs_single_sep_embeddings_cls.npy"))
    # Only pairs with both parts: for an empty abstract our recipe uses the title alone.
    keep = [i for i, p in enumerate(pairs) if p["title"].strip() and p["abstract"].strip()
            and p["single_sep_text"] == p["title"] + "[SEP]" + p["abstract"]]
    check(len(keep) > 100, f"specter2: only {len(keep)} usable golden pairs")
    src = os.path.join(tmp, "pairs.csv")
    write_csv(src, ["paper_id", "title", "abstract"], [[f"p{i}", pairs[i]["title"], pairs[i]["abstract"]] for i in keep])
    out = os.path.join(tmp, "out-specter2")
    run("embed", src, "--model", MODEL, "--out", out, "--recipe", "specter2")
    emb, meta, db = check_outputs_agree(out, "specter2")
    check(meta["recipe"] == "specter2" and meta["pooling"]["name"] == "cls" and meta["max_length"] == 512,
          f"specter2: metadata {meta['recipe']} {meta['pooling']} {meta['max_length']}")
    want = golden[keep]
    want = want / np.linalg.norm(want, axis=1, keepdims=True)
    diff = float(np.abs(emb - want).max())
    check(emb.shape == want.shape and diff <= 1e-4, f"specter2: max diff from golden {diff}")
    print(f"specter2 recipe vs HF golden: {len(keep)} papers, max abs diff {diff:.2e}")

    # Unnormalised: the raw golden vectors; the index still ranks by cosine.
    out = os.path.join(tmp, "out-specter2-raw")
    run("embed", src, "--model", MODEL, "--out", out, "--recipe", "specter2", "--no-normalize", "--index", "HNSW32")
    emb, meta, _ = check_outputs_agree(out, "specter2 raw")
    diff = float(np.abs(emb - golden[keep]).max())
    check(diff <= 1e-4, f"specter2 raw: max diff from golden {diff}")
    check(meta["normalize"] is False and meta["index"]["factory"] == "HNSW32" and meta["index"]["type"] == "IndexHNSWFlat",
          f"specter2 raw: metadata {meta['normalize']} {meta['index']}")


def test_skips(tmp):
    """Empty text, malformed rows and duplicate ids are skipped, counted and
    warned about; --strict refuses; alignment never shifts."""
    src = os.path.join(tmp, "messy.csv")
    with open(src, "w", newline="", encoding="utf-8") as f:
        f.write("\ufeffpaper_id,title,abstract,categories\r\n")
        f.write('a1,First,"An abstract, with a comma",cs.CL cs.AI\r\n')
        f.write('a2,No abstract,,cs.CL\r\n')
        f.write('a3,Too,many,fields,here\r\n')
        f.write('a1,Duplicate,"Another abstract",cs.LG\r\n')
        f.write(',No id,"Has an abstract",cs.LG\r\n')
        f.write('a4,"Quoted ""title""","Line one\r\nline two",\r\n')
    out = os.path.join(tmp, "out-messy")
    p = run("embed", src, "--model", MODEL, "--out", out)
    emb, meta, db = check_outputs_agree(out, "messy")
    check(meta["n_papers"] == 2 and meta["rows_read"] == 6, f"messy: {meta['n_papers']} kept of {meta['rows_read']}")
    check(meta["skipped"] == {"empty_text": 1, "malformed": 2, "duplicate_id": 1, "wrong_type": 0}, f"messy: skipped {meta['skipped']}")
    ids = [r[0] for r in db.execute("SELECT paper_id FROM papers ORDER BY row")]
    check(ids == ["a1", "a4"], f"messy: kept ids {ids}")
    check("messy.csv:4" in p.stderr and "duplicate" in p.stderr, f"messy: warnings {p.stderr!r}")
    cats = [r[0] for r in db.execute("SELECT categories FROM papers ORDER BY row")]
    check(cats == ["cs.CL cs.AI", None], f"messy: categories {cats}")
    title = db.execute("SELECT value FROM paper_columns WHERE row = 1 AND name = 'abstract'").fetchone()[0]
    check(title == "Line one\r\nline two", f"messy: abstract not verbatim: {title!r}")

    # The same in JSON Lines: a broken line, a missing abstract, a null id, a
    # duplicate, a key first seen later (kept verbatim in paper_columns).
    src_jsonl = os.path.join(tmp, "messy.jsonl")
    with open(src_jsonl, "w", encoding="utf-8") as f:
        f.write('{"id": "j1", "title": "T1", "abstract": "First abstract", "categories": "cs.CL cs.AI"}\n')
        f.write('{"id": "j2", "title": "T2", "abstract": \n')
        f.write('{"id": "j3", "title": "No abstract key"}\n')
        f.write('{"id": null, "abstract": "No id"}\n')
        f.write('\n')
        f.write('{"id": "j1", "abstract": "Duplicate"}\n')
        f.write('{"id": "j4", "abstract": "Fourth", "extra": {"k": [1, 2]}}\n')
    out_j = os.path.join(tmp, "out-messy-jsonl")
    p = run("embed", src_jsonl, "--model", MODEL, "--out", out_j)
    emb, meta, db = check_outputs_agree(out_j, "messy jsonl")
    check(meta["rows_read"] == 6 and meta["n_papers"] == 2, f"messy jsonl: {meta['n_papers']} of {meta['rows_read']}")
    check(meta["skipped"] == {"empty_text": 1, "malformed": 2, "duplicate_id": 1, "wrong_type": 0}, f"messy jsonl: {meta['skipped']}")
    check("messy.jsonl:2" in p.stderr, f"messy jsonl: warnings {p.stderr!r}")
    extra = db.execute("SELECT value FROM paper_columns WHERE row = 1 AND name = 'extra'").fetchone()
    check(extra is not None and json.loads(extra[0]) == {"k": [1, 2]}, f"messy jsonl: extra column {extra}")

    out2 = os.path.join(tmp, "out-messy-strict")
    p = run("embed", src, "--model", MODEL, "--out", out2, "--strict", ok=False)
    check(p.returncode != 0 and "strict" in p.stderr, f"strict: rc {p.returncode} {p.stderr!r}")
    check(not any(os.path.exists(os.path.join(out2, f)) for f in FINAL + [".scivec-work"]),
          f"strict: left files {listing(out2)}")


def test_failures_leave_nothing(tmp):
    header, rows = read_csv(PAPERS_CSV)
    src = os.path.join(tmp, "ten.csv")
    write_csv(src, header, rows[:10])
    out = os.path.join(tmp, "out-fail")
    p = run("embed", src, "--model", os.path.join(tmp, "no-such-model"), "--out", out, ok=False)
    check(p.returncode != 0 and p.stderr.count("\n") == 1, f"bad model: rc {p.returncode} {p.stderr!r}")
    check(not os.path.exists(out) or os.listdir(out) == [], f"bad model: left {listing(out)}")

    p = run("embed", src, "--model", MODEL, "--out", out, "--truncate", "error", "--max-length", "16", ok=False)
    check(p.returncode != 0 and "tokens" in p.stderr and rows[0][0] in p.stderr,
          f"truncate error: rc {p.returncode} {p.stderr!r}")
    check(not os.path.exists(out) or os.listdir(out) == [], f"truncate error: left {listing(out)}")

    p = run("embed", src, "--model", MODEL, "--out", out, "--index", "NoSuchIndex", ok=False)
    check(p.returncode != 0 and "NoSuchIndex" in p.stderr, f"bad index: {p.stderr!r}")
    check(not os.path.exists(out) or os.listdir(out) == [], f"bad index: left {listing(out)}")

    p = run("embed", src, "--model", MODEL, "--out", out, "--text-column", "nope", ok=False)
    check(p.returncode != 0 and "nope" in p.stderr, f"bad column: {p.stderr!r}")

    # A leftover work dir needs --resume (or removing it).
    os.makedirs(os.path.join(out, ".scivec-work"))
    p = run("embed", src, "--model", MODEL, "--out", out, ok=False)
    check(p.returncode != 0 and "--resume" in p.stderr, f"work dir: {p.stderr!r}")
    check(sorted(os.listdir(out)) == [".scivec-work"], f"work dir: left {listing(out)}")

    # Long texts are cut and counted by default.
    p = run("embed", src, "--model", MODEL, "--out", os.path.join(tmp, "out-cut"), "--max-length", "16")
    meta = json.load(open(os.path.join(tmp, "out-cut", "metadata.json")))
    check(meta["n_truncated"] == 10 and meta["max_length"] == 16, f"cut: {meta['n_truncated']} truncated")


def test_jsonl_sample(tmp):
    """arXiv's JSON Lines snapshot format: every row accounted for, versions
    kept as JSON text, years from versions."""
    src = os.path.join(FIX, "data", "arxiv-metadata-oai-snapshot.sample.jsonl")
    records = [json.loads(l) for l in open(src, encoding="utf-8") if l.strip()]
    out = os.path.join(tmp, "out-jsonl")
    run("embed", src, "--model", MODEL, "--out", out, "--text", "title+abstract", "--max-length", "64",
        "--db-vectors")
    emb, meta, db = check_outputs_agree(out, "jsonl")
    check(meta["db_vectors"] is True, f"jsonl: --db-vectors recorded as {meta.get('db_vectors')!r}")
    check(meta["rows_read"] == len(records), f"jsonl: read {meta['rows_read']} of {len(records)}")
    kept = [r for r in records if (r.get("abstract") or "").strip() or (r.get("title") or "").strip()]
    check(meta["n_papers"] == len({r["id"] for r in kept}), f"jsonl: kept {meta['n_papers']}")
    check(meta["input"]["id_column"] == "id", f"jsonl: id column {meta['input']}")
    first = records[0]
    row = db.execute("SELECT row, year, categories FROM papers WHERE paper_id = ?", (first["id"],)).fetchone()
    versions = db.execute("SELECT value FROM paper_columns WHERE row = ? AND name = 'versions'", (row[0],)).fetchone()[0]
    check(json.loads(versions) == first["versions"], "jsonl: versions JSON text")
    check(row[1] == int(first["versions"][0]["created"].split()[3]), f"jsonl: year {row[1]}")
    check(row[2] == " ".join(first["categories"].split()), f"jsonl: categories {row[2]}")


def test_all_csv_rows(tmp):
    """Every row of the full arXiv CSV accounted for: read == Python's csv count."""
    header, rows = read_csv(PAPERS_CSV)
    out = os.path.join(tmp, "out-all")
    run("embed", PAPERS_CSV, "--model", MODEL, "--out", out, "--max-length", "32", "--pooling", "cls")
    meta = json.load(open(os.path.join(out, "metadata.json")))
    check(meta["rows_read"] == len(rows), f"all: read {meta['rows_read']}, python csv says {len(rows)}")
    ids = [r[header.index("paper_id")] for r in rows]
    empty = sum(1 for r in rows if not r[header.index("abstract")].strip())
    check(meta["n_papers"] == len(set(ids)) - empty or meta["n_papers"] + meta["n_skipped"] == len(rows),
          f"all: kept {meta['n_papers']}")
    check(meta["n_papers"] + meta["n_skipped"] == len(rows), f"all: kept + skipped != read")
    emb = np.load(os.path.join(out, "embeddings.npy"), mmap_mode="r")
    check(emb.shape[0] == meta["n_papers"], f"all: npy rows {emb.shape}")
    db = sqlite3.connect(os.path.join(out, "papers.db"))
    got_ids = [r[0] for r in db.execute("SELECT paper_id FROM papers ORDER BY row")]
    check(got_ids == [i for i in ids if i][: len(got_ids)] or len(got_ids) == meta["n_papers"], "all: ids")
    check(faiss.read_index(os.path.join(out, "papers.index")).ntotal == meta["n_papers"], "all: index ntotal")
    print(f"full CSV: {meta['rows_read']} rows read, {meta['n_papers']} embedded, skipped {meta['skipped']}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        for test in (test_csv_sample, test_specter2_golden, test_skips, test_failures_leave_nothing,
                     test_jsonl_sample, test_all_csv_rows):
            test(tmp)
    if failures:
        print(f"{len(failures)} checks failed", file=sys.stderr)
        return 1
    print("test_embed.py: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

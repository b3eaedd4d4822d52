"""scivec embed --shard K/N + scivec merge == one scivec embed of the whole
input: same ids in the same rows, rows within 1e-6, the same database rows,
the same counts, and identical `similar` answers with the Flat index. And
merge refuses a missing, duplicated, mismatched or foreign shard.

The reference is a single-machine `scivec embed` of the same input (the
contract of issue 16 is equality with it; its own correctness is what
test_embed.py checks against HuggingFace).

Run by CTest with /usr/bin/python3; env SCIVEC, SV_FIXTURES."""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

import numpy as np

from testlib import FIX, MODEL, SCIVEC, check, report

SNAPSHOT = os.path.join(FIX, "data", "arxiv-metadata-oai-snapshot.sample.jsonl")


def run(*args):
    return subprocess.run([SCIVEC, *args], capture_output=True, text=True)


def must(*args):
    p = run(*args)
    if p.returncode != 0:
        raise SystemExit(f"scivec {' '.join(args)} failed ({p.returncode}):\n{p.stderr}")
    return p


def make_input(path):
    """The snapshot sample plus every kind of skipped record, spread over
    the file so that they fall into different shards."""
    with open(SNAPSHOT, encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    first = json.loads(lines[0])
    dup = dict(first, abstract="a later copy of the first paper, skipped as a duplicate")
    empty = dict(first, id="9999.00001", abstract="   ")
    no_id = dict(first, id="")
    out = lines[:50] + [json.dumps(dup) + "\n", "{not json\n"] + lines[50:120] + \
        [json.dumps(empty) + "\n", json.dumps(no_id) + "\n"] + lines[120:]
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(out)


def db_rows(path):
    con = sqlite3.connect(path)
    papers = con.execute("SELECT row, paper_id, title, categories, year, embedding FROM papers "
                         "ORDER BY row").fetchall()
    columns = con.execute("SELECT row, name, value FROM paper_columns ORDER BY row, name").fetchall()
    source = con.execute("SELECT row, record, text_sha256 FROM paper_source ORDER BY row").fetchall()
    con.close()
    return papers, columns, source


def similar(d, pid):
    p = must("similar", d, pid, "-k", "10", "--json")
    return [(r["paper_id"], r["score"]) for r in json.loads(p.stdout)]


def shard_dirs(tmp, inp, n, extra=None):
    dirs = []
    for k in range(n):
        d = os.path.join(tmp, f"shard{n}_{k}")
        must("embed", inp, "--model", MODEL, "--out", d, "--shard", f"{k}/{n}", "--threads", "1",
             *(extra or []))
        dirs.append(d)
    return dirs


def check_merge_equals_single(tmp, inp, single, n):
    dirs = shard_dirs(tmp, inp, n)
    metas = [json.load(open(os.path.join(d, "metadata.json"))) for d in dirs]
    check([m["shard"] for m in metas] == [{"k": k, "n": n} for k in range(n)],
          f"{n} shards: metadata.json records K and N: {[m.get('shard') for m in metas]}")
    # each shard holds exactly the ids that hash to it, so none is in two
    ids = [set(r[1] for r in db_rows(os.path.join(d, "papers.db"))[0]) for d in dirs]
    check(sum(len(s) for s in ids) == len(set().union(*ids)), f"{n} shards: an id is in two shards")
    merged = os.path.join(tmp, f"merged{n}")
    must("merge", merged, *reversed(dirs))      # the order of the folders does not matter
    label = f"merge of {n} shards"

    a, b = np.load(os.path.join(single, "embeddings.npy")), np.load(os.path.join(merged, "embeddings.npy"))
    check(a.shape == b.shape, f"{label}: shape {b.shape} vs single {a.shape}")
    if a.shape == b.shape:
        check(float(np.abs(a - b).max()) <= 1e-6, f"{label}: rows differ by {float(np.abs(a - b).max())}")
    pa, ca, sa = db_rows(os.path.join(single, "papers.db"))
    pb, cb, sb = db_rows(os.path.join(merged, "papers.db"))
    check([r[:5] for r in pa] == [r[:5] for r in pb], f"{label}: papers rows (id, title, categories, year) differ")
    check(ca == cb, f"{label}: paper_columns differ")
    check(sa == sb, f"{label}: paper_source (record, text hash) differs")
    ma = json.load(open(os.path.join(single, "metadata.json")))
    mb = json.load(open(os.path.join(merged, "metadata.json")))
    for key in ["n_papers", "rows_read", "n_skipped", "skipped", "n_truncated", "embedding_dim", "recipe",
                "pooling", "normalize", "max_length", "index"]:
        check(ma.get(key) == mb.get(key), f"{label}: metadata {key}: {mb.get(key)} vs single {ma.get(key)}")
    check("shard" not in mb and mb.get("merged") == {"n_shards": n}, f"{label}: metadata shard/merged {mb}")
    p = run("info", merged)
    check(p.returncode == 0 and "checks: ok" in p.stdout, f"{label}: info: {p.stdout[-300:]} {p.stderr}")
    for pid in [pa[0][1], pa[len(pa) // 2][1], pa[-1][1]]:
        check(similar(single, pid) == similar(merged, pid), f"{label}: similar {pid} differs")


def check_index_and_db_vectors(tmp, inp):
    """merge --index IVF builds through embed's one index builder: the same
    index member (nprobe tuned, its recall recorded) as one embed with that
    index. Shards made with --db-vectors merge into a folder that keeps the
    BLOBs; shards that differ in it are refused."""
    single = os.path.join(tmp, "single-ivf")
    must("embed", inp, "--model", MODEL, "--out", single, "--index", "IVF4,Flat", "--threads", "1")
    dirs = shard_dirs(os.path.join(tmp, "dbv"), inp, 2, ["--db-vectors"])
    merged = os.path.join(tmp, "merged-ivf")
    must("merge", merged, *dirs, "--index", "IVF4,Flat", "--threads", "1")
    ms = json.load(open(os.path.join(single, "metadata.json")))
    mm = json.load(open(os.path.join(merged, "metadata.json")))
    check("nprobe" in mm["index"].get("search_params", {}) and "recall_at_10" in mm["index"],
          f"merge --index IVF4,Flat: no tuned nprobe recorded: {mm['index']}")
    check(mm["index"] == ms["index"], f"merge --index IVF4,Flat: index {mm['index']} vs one embed {ms['index']}")
    check(mm.get("db_vectors") is True, f"merge of --db-vectors shards: db_vectors {mm.get('db_vectors')!r}")
    vecs = np.load(os.path.join(merged, "embeddings.npy"))
    rows = db_rows(os.path.join(merged, "papers.db"))[0]
    check(all(np.array_equal(np.frombuffer(r[5], dtype="<f4"), vecs[r[0]]) for r in rows),
          "merge of --db-vectors shards: BLOBs differ from the npy rows")
    p = run("info", merged)
    check(p.returncode == 0 and "checks: ok" in p.stdout, f"merged IVF: info: {p.stdout[-300:]} {p.stderr}")
    plain = shard_dirs(os.path.join(tmp, "plain"), inp, 2)   # no BLOBs
    out = os.path.join(tmp, "mixed")
    p = run("merge", out, dirs[0], plain[1])
    check(p.returncode != 0 and "db_vectors differs between the shards" in p.stderr,
          f"shards with and without --db-vectors: {p.returncode} {p.stderr}")


def check_refusals(tmp, inp):
    dirs = shard_dirs(tmp, inp, 2)

    def refused(label, args, words):
        out = os.path.join(tmp, "refused")
        shutil.rmtree(out, ignore_errors=True)
        p = run("merge", out, *args)
        msg = p.stderr.strip()
        check(p.returncode != 0 and all(w in msg for w in words) and msg.count("\n") == 0,
              f"{label}: exit {p.returncode}, message {msg!r}, wanted {words}")
        check(not os.path.exists(os.path.join(out, "metadata.json")), f"{label}: wrote an output")

    refused("missing shard", [dirs[0]], ["shard 1/2 is missing"])
    refused("duplicated shard", [dirs[0], dirs[0], dirs[1]], ["both shard 0/2"])
    other = shard_dirs(os.path.join(tmp, "maxlen"), inp, 2, ["--max-length", "16"])
    refused("different options", [dirs[0], other[1]], ["embedded differently", "max_length was 512, now 16"])
    three = shard_dirs(os.path.join(tmp, "three"), inp, 3)
    refused("different splits", [dirs[0], three[1]], ["shard 1/3", "shard 0/2"])
    single = os.path.join(tmp, "single")
    refused("not a shard", [single, dirs[1]], ["was not made by `scivec embed --shard K/N`"])
    # a paper id in two shards: only a hand-edited shard can hold one
    tampered = os.path.join(tmp, "tampered")
    shutil.copytree(dirs[1], tampered)
    pid0 = db_rows(os.path.join(dirs[0], "papers.db"))[0][0][1]
    con = sqlite3.connect(os.path.join(tampered, "papers.db"))
    con.execute("UPDATE papers SET paper_id = ? WHERE row = 0", (pid0,))
    con.commit()
    con.close()
    refused("duplicate id", [dirs[0], tampered], [f"paper id {pid0} is in 2 shards"])
    # an existing output is not overwritten
    merged = os.path.join(tmp, "merged3")
    p = run("merge", merged, *dirs)
    check(p.returncode != 0 and "already holds an output" in p.stderr, f"merge into an output: {p.stderr}")
    p = run("embed", inp, "--model", MODEL, "--out", os.path.join(tmp, "bad"), "--shard", "2/2")
    check(p.returncode == 2 and "0 <= K < N" in p.stderr, f"--shard 2/2: {p.returncode} {p.stderr}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        inp = os.path.join(tmp, "papers.jsonl")
        make_input(inp)
        single = os.path.join(tmp, "single")
        must("embed", inp, "--model", MODEL, "--out", single, "--threads", "1")
        meta = json.load(open(os.path.join(single, "metadata.json")))
        check(meta["skipped"] == {"empty_text": 1, "malformed": 2, "duplicate_id": 1, "wrong_type": 0},
              f"the input's skipped records: {meta['skipped']}")
        for n in (1, 3):
            check_merge_equals_single(tmp, inp, single, n)
        check_index_and_db_vectors(tmp, inp)
        check_refusals(tmp, inp)
    return report("test_shard_merge")


if __name__ == "__main__":
    sys.exit(main())

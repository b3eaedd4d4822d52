"""scivec add DIR INPUT:
  - the contract: embed A, then add B == one embed of A followed by B (same
    ids in the same rows, rows within 1e-6, the same database rows and
    counts, identical `similar` answers with Flat);
  - IVF: the new vectors go into the trained lists (centroids unchanged, no
    retraining); HNSW: added;
  - refusals naming what differs: a changed model file, a shard folder;
    nothing new leaves the folder untouched;
  - remove: embed A+B, remove B's new papers == embed A; an unknown id
    removes nothing;
  - --update: papers whose text changed are re-embedded (as an embed of the
    new text gives them), the rest stay as they were;
  - kill -9 at random moments leaves DIR as it was or as it is after (info
    ok, the same bytes as one or the other), and add again finishes it.

The reference is a single `scivec embed` of the concatenated input.
Run by CTest with /usr/bin/python3; env SCIVEC, SV_FIXTURES."""
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

import faiss
import numpy as np

from testlib import FIX, MODEL, SCIVEC, check, report

SNAPSHOT = os.path.join(FIX, "data", "arxiv-metadata-oai-snapshot.sample.jsonl")
FILES = ["embeddings.npy", "papers.index", "papers.db", "metadata.json"]


def run(*args):
    return subprocess.run([SCIVEC, *args], capture_output=True, text=True)


def must(*args):
    p = run(*args)
    if p.returncode != 0:
        raise SystemExit(f"scivec {' '.join(args)} failed ({p.returncode}):\n{p.stderr}")
    return p


def write_lines(path, lines):
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(lines)


def db_rows(d):
    con = sqlite3.connect(os.path.join(d, "papers.db"))
    papers = con.execute("SELECT row, paper_id, title, categories, year FROM papers ORDER BY row").fetchall()
    columns = con.execute("SELECT row, name, value FROM paper_columns ORDER BY row, name").fetchall()
    source = con.execute("SELECT row, record, text_sha256 FROM paper_source ORDER BY row").fetchall()
    con.close()
    return papers, columns, source


def similar(d, pid):
    return [(r["paper_id"], r["score"]) for r in json.loads(must("similar", d, pid, "-k", "10", "--json").stdout)]


def snapshot(d):
    return {name: open(os.path.join(d, name), "rb").read() for name in FILES}


def check_contract(tmp, a, b, ab):
    single = os.path.join(tmp, "single")
    must("embed", ab, "--model", MODEL, "--out", single, "--threads", "1")
    d = os.path.join(tmp, "grown")
    must("embed", a, "--model", MODEL, "--out", d, "--threads", "1")
    p = must("add", d, b, "--threads", "1")
    label = "embed A + add B vs embed A+B"
    x, y = np.load(os.path.join(single, "embeddings.npy")), np.load(os.path.join(d, "embeddings.npy"))
    check(x.shape == y.shape, f"{label}: shape {y.shape} vs {x.shape}")
    if x.shape == y.shape:
        check(float(np.abs(x - y).max()) <= 1e-6, f"{label}: rows differ by {float(np.abs(x - y).max())}")
    check(db_rows(single) == db_rows(d), f"{label}: papers.db rows differ")
    ms, md = (json.load(open(os.path.join(o, "metadata.json"))) for o in (single, d))
    for key in ["n_papers", "rows_read", "n_skipped", "skipped", "n_truncated", "index", "fingerprint"]:
        check(ms.get(key) == md.get(key), f"{label}: metadata {key}: {md.get(key)} vs {ms.get(key)}")
    info = run("info", d)
    check(info.returncode == 0 and "checks: ok" in info.stdout, f"{label}: info {info.stdout[-300:]}")
    papers = db_rows(single)[0]
    for pid in [papers[0][1], papers[len(papers) // 2][1], papers[-1][1]]:
        check(similar(single, pid) == similar(d, pid), f"{label}: similar {pid} differs")
    check("80 papers added" in p.stderr, f"{label}: add says {p.stderr!r}")
    # the same input again: nothing new, the folder is untouched
    before = snapshot(d)
    p = must("add", d, b, "--threads", "1")
    check("0 papers added" in p.stderr and snapshot(d) == before, f"add of nothing new: {p.stderr!r}")
    return d


def check_indexes(tmp, a, b):
    for factory in ["IVF4,Flat", "HNSW16"]:
        d = os.path.join(tmp, "idx-" + factory.replace(",", "_"))
        must("embed", a, "--model", MODEL, "--out", d, "--index", factory, "--threads", "1")
        before = faiss.read_index(os.path.join(d, "papers.index"))
        must("add", d, b, "--threads", "1")
        after = faiss.read_index(os.path.join(d, "papers.index"))
        vecs = np.load(os.path.join(d, "embeddings.npy"))
        check(after.ntotal == len(vecs) == before.ntotal + 80, f"{factory}: ntotal {after.ntotal}")
        if factory.startswith("IVF"):
            c0 = faiss.extract_index_ivf(before).quantizer.reconstruct_n(0, 4)
            c1 = faiss.extract_index_ivf(after).quantizer.reconstruct_n(0, 4)
            check(np.array_equal(c0, c1), "IVF: the centroids changed (retrained)")
            faiss.extract_index_ivf(after).nprobe = 4   # every list: exact
        else:
            after.hnsw.efSearch = 256
        _, ids = after.search(vecs[-80:], 1)
        check((ids[:, 0] == np.arange(len(vecs) - 80, len(vecs))).all(), f"{factory}: new rows not found as themselves")
        info = run("info", d)
        check(info.returncode == 0, f"{factory}: info {info.stdout[-300:]}")
        if factory.startswith("IVF"):
            # remove builds the index again, through embed's builder: the
            # nprobe is tuned again and recorded, as embed records it
            must("remove", d, db_rows(d)[0][0][1], "--threads", "1")
            meta = json.load(open(os.path.join(d, "metadata.json")))
            check("nprobe" in meta["index"].get("search_params", {}) and "recall_at_10" in meta["index"]
                  and meta["index"]["ntotal"] == len(vecs) - 1, f"{factory}: remove's index {meta['index']}")


def check_refusals(tmp, a, b):
    model = os.path.join(tmp, "model-copy")
    shutil.copytree(MODEL, model)
    d = os.path.join(tmp, "refuse")
    must("embed", a, "--model", model, "--out", d, "--threads", "1")
    before = snapshot(d)
    with open(os.path.join(model, "config.json"), "a") as f:
        f.write("\n")
    p = run("add", d, b)
    check(p.returncode != 0 and "embedded differently" in p.stderr and "config.json" in p.stderr
          and p.stderr.count("\n") == 1, f"changed model: {p.returncode} {p.stderr!r}")
    check(snapshot(d) == before and not os.path.exists(os.path.join(d, ".scivec-update")),
          "a refused add changed the folder")
    shard = os.path.join(tmp, "a-shard")
    must("embed", a, "--model", MODEL, "--out", shard, "--shard", "0/2")
    p = run("add", shard, b)
    check(p.returncode != 0 and "one shard of a split" in p.stderr, f"add to a shard: {p.stderr!r}")


def vectors_by_id(d):
    ids = [r[1] for r in db_rows(d)[0]]
    return dict(zip(ids, np.load(os.path.join(d, "embeddings.npy"))))


def check_remove(tmp, a, b, ab):
    d = os.path.join(tmp, "remove")
    must("embed", ab, "--model", MODEL, "--out", d, "--threads", "1")
    only_a = os.path.join(tmp, "only-a")
    must("embed", a, "--model", MODEL, "--out", only_a, "--threads", "1")
    a_ids = {r[1] for r in db_rows(only_a)[0]}
    new_ids = [r[1] for r in db_rows(d)[0] if r[1] not in a_ids]
    before = snapshot(d)
    p = run("remove", d, new_ids[0], "no-such-paper")
    check(p.returncode != 0 and "no paper 'no-such-paper'" in p.stderr and snapshot(d) == before,
          f"remove of an unknown id: {p.returncode} {p.stderr!r}")
    must("remove", d, *new_ids)
    x, y = np.load(os.path.join(only_a, "embeddings.npy")), np.load(os.path.join(d, "embeddings.npy"))
    check(x.shape == y.shape and float(np.abs(x - y).max()) <= 1e-6, f"remove: rows {y.shape} vs {x.shape}")
    check(db_rows(only_a) == db_rows(d), "remove: papers.db rows differ from embed A's")
    m = json.load(open(os.path.join(d, "metadata.json")))
    check(m["n_papers"] == len(a_ids) and m["n_removed"] == len(new_ids) and
          m["rows_read"] == m["n_papers"] + m["n_skipped"] + m["n_removed"], f"remove: metadata counts {m}")
    info = run("info", d)
    check(info.returncode == 0 and "checks: ok" in info.stdout, f"remove: info {info.stdout[-300:]}")
    for pid in sorted(a_ids)[:3]:
        check(similar(only_a, pid) == similar(d, pid), f"remove: similar {pid} differs")


def check_update(tmp, lines):
    a = os.path.join(tmp, "upd-a.jsonl")
    write_lines(a, lines[:60])
    changed = []
    for line in lines[:10]:
        rec = json.loads(line)
        rec["abstract"] = "A revised abstract: " + rec["abstract"][::-1]
        changed.append(json.dumps(rec) + "\n")
    b = os.path.join(tmp, "upd-b.jsonl")
    write_lines(b, changed + lines[10:60])
    d = os.path.join(tmp, "update")
    must("embed", a, "--model", MODEL, "--out", d, "--threads", "1")
    old = vectors_by_id(d)
    p = must("add", d, b, "--threads", "1")
    check("0 papers added" in p.stderr and "0 updated" in p.stderr, f"add without --update: {p.stderr!r}")
    p = must("add", d, b, "--update", "--threads", "1")
    check("0 papers added" in p.stderr and "10 updated" in p.stderr, f"add --update: {p.stderr!r}")
    ref = os.path.join(tmp, "update-ref")
    must("embed", b, "--model", MODEL, "--out", ref, "--threads", "1")
    new, want = vectors_by_id(d), vectors_by_id(ref)
    changed_ids = {json.loads(line)["id"] for line in changed}
    check(set(new) == set(old), "add --update: the set of papers changed")
    for pid, vec in new.items():
        expect = want[pid] if pid in changed_ids else old[pid]
        check(float(np.abs(vec - expect).max()) <= 1e-6, f"add --update: {pid} has the wrong vector")
    check([r[1] for r in db_rows(d)[0]][-10:] == [json.loads(line)["id"] for line in changed],
          "add --update: the re-embedded papers are not at the end")
    info = run("info", d)
    check(info.returncode == 0 and "checks: ok" in info.stdout, f"add --update: info {info.stdout[-300:]}")


def check_kills(tmp, a, b, expected_after):
    base = os.path.join(tmp, "kill-base")
    must("embed", a, "--model", MODEL, "--out", base, "--threads", "1")
    before = snapshot(base)
    after = snapshot(expected_after)
    # how long an add takes, to spread the kills over it
    probe = os.path.join(tmp, "kill-probe")
    shutil.copytree(base, probe)
    t0 = time.monotonic()
    must("add", probe, b, "--threads", "1")
    took = time.monotonic() - t0
    rng = random.Random(16)
    outcomes = {"before": 0, "after": 0}
    for i in range(12):
        d = os.path.join(tmp, f"kill{i}")
        shutil.copytree(base, d)
        proc = subprocess.Popen([SCIVEC, "add", d, b, "--threads", "1"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        # half of them near the end, where the index, metadata and commit are
        time.sleep(rng.uniform(0, took * 1.1) if i % 2 else rng.uniform(took * 0.7, took * 1.05))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        info = run("info", d)     # finishes a commit the kill interrupted
        check(info.returncode == 0 and "checks: ok" in info.stdout, f"kill {i}: info {info.stdout[-300:]}")
        now = snapshot(d)
        state = "before" if same_papers(now, before) else "after" if same_papers(now, after) else None
        check(state is not None, f"kill {i}: the folder is neither as before nor as after")
        if state:
            outcomes[state] += 1
        must("add", d, b, "--threads", "1")
        check(same_papers(snapshot(d), after), f"kill {i}: add again did not finish it")
        shutil.rmtree(d)
    print("kill outcomes:", outcomes)


def check_commit_window(tmp, a, expected_after):
    """The states a kill in the commit leaves, made by hand (a random kill
    rarely lands in those milliseconds): the new files built in
    .scivec-update, with or without COMMIT, j of them renamed already."""
    base = os.path.join(tmp, "window-base")
    must("embed", a, "--model", MODEL, "--out", base, "--threads", "1")
    before, after = snapshot(base), snapshot(expected_after)
    order = ["embeddings.npy", "papers.index", "papers.db", "metadata.json"]   # the commit's order
    for committed in (False, True):
        for j in range(5 if committed else 1):
            d = os.path.join(tmp, f"window-{committed}-{j}")
            shutil.copytree(base, d)
            work = os.path.join(d, ".scivec-update")
            os.mkdir(work)
            for name in order:
                shutil.copy(os.path.join(expected_after, name), os.path.join(work, name))
            if committed:
                open(os.path.join(work, "COMMIT"), "w").close()
            for name in order[:j]:
                os.replace(os.path.join(work, name), os.path.join(d, name))
            info = run("info", d)
            label = f"killed {'after' if committed else 'before'} COMMIT, {j} renamed"
            check(info.returncode == 0 and "checks: ok" in info.stdout, f"{label}: info {info.stdout[-300:]}")
            check(same_papers(snapshot(d), after if committed else before), f"{label}: wrong state")
            check(not os.path.exists(work), f"{label}: the work dir is left")


def check_append_window(tmp, a, expected_after):
    """The states a kill leaves while `add` appends in place (no rows
    dropped: DIR's npy and papers.db grow where they are, an UNDO record
    in .scivec-update says how many rows there were): made by hand, as
    above. Without COMMIT, recovery takes the rows back (before); with
    it, it finishes (after)."""
    base = os.path.join(tmp, "window-base")      # check_commit_window's: A embedded
    before, after = snapshot(base), snapshot(expected_after)
    meta = json.load(open(os.path.join(base, "metadata.json")))
    states = [  # (label, npy appended, db appended, COMMIT, files renamed)
        ("UNDO written", False, False, False, 0),
        ("npy appended", True, False, False, 0),
        ("npy and db appended", True, True, False, 0),
    ] + [(f"COMMIT, {j} renamed", True, True, True, j) for j in range(3)]
    for i, (label, npy, db, committed, renamed) in enumerate(states):
        d = os.path.join(tmp, f"append-window-{i}")
        shutil.copytree(base, d)
        work = os.path.join(d, ".scivec-update")
        os.mkdir(work)
        with open(os.path.join(work, "UNDO"), "w") as f:
            f.write(f"{meta['n_papers']} {meta['embedding_dim']}\n")
        for name, done in (("embeddings.npy", npy), ("papers.db", db)):
            if done:
                shutil.copy(os.path.join(expected_after, name), os.path.join(d, name))
        for name in ("papers.index", "metadata.json"):
            shutil.copy(os.path.join(expected_after, name), os.path.join(work, name))
        if committed:
            open(os.path.join(work, "COMMIT"), "w").close()
        for name in ("papers.index", "metadata.json")[:renamed]:
            os.replace(os.path.join(work, name), os.path.join(d, name))
        info = run("info", d)
        label = f"in-place add killed: {label}"
        check(info.returncode == 0 and "checks: ok" in info.stdout, f"{label}: info {info.stdout[-300:]}")
        check(same_papers(snapshot(d), after if committed else before), f"{label}: wrong state")
        check(db_rows(d) == db_rows(expected_after if committed else base), f"{label}: papers.db rows")
        check(not os.path.exists(work), f"{label}: the work dir is left")


def check_db_vectors(tmp, a, b, ab):
    """A folder made with --db-vectors keeps a BLOB of each row in papers.db
    through add and remove (the folder's choice, metadata.json db_vectors);
    the default folders hold none (check_contract compares those)."""
    single = os.path.join(tmp, "dbv-single")
    must("embed", ab, "--model", MODEL, "--out", single, "--threads", "1", "--db-vectors")
    d = os.path.join(tmp, "dbv-grown")
    must("embed", a, "--model", MODEL, "--out", d, "--threads", "1", "--db-vectors")
    must("add", d, b, "--threads", "1")

    def blobs(folder):
        con = sqlite3.connect(os.path.join(folder, "papers.db"))
        rows = con.execute("SELECT row, embedding FROM papers ORDER BY row").fetchall()
        con.close()
        return rows

    def check_blobs(folder, label):
        meta = json.load(open(os.path.join(folder, "metadata.json")))
        vecs = np.load(os.path.join(folder, "embeddings.npy"))
        rows = blobs(folder)
        check(meta.get("db_vectors") is True, f"{label}: db_vectors {meta.get('db_vectors')!r}")
        check(len(rows) == len(vecs) and all(
            r[1] is not None and np.array_equal(np.frombuffer(r[1], dtype="<f4"), vecs[r[0]]) for r in rows),
            f"{label}: papers.db BLOBs differ from the npy rows")
        info = run("info", folder)
        check(info.returncode == 0 and "checks: ok" in info.stdout, f"{label}: info {info.stdout[-300:]}")

    check_blobs(d, "--db-vectors + add")
    check(blobs(d) == blobs(single) and db_rows(d) == db_rows(single), "--db-vectors: add differs from one embed")
    must("remove", d, db_rows(d)[0][5][1])
    check_blobs(d, "--db-vectors + remove")
    plain = os.path.join(tmp, "grown")   # check_contract's folder: no BLOBs, and add kept none
    check(all(r[1] is None for r in blobs(plain)), "default folder: add wrote BLOBs")


def same_papers(x, y):
    """The same npy and index bytes and metadata counts (the date differs)."""
    mx, my = json.loads(x["metadata.json"]), json.loads(y["metadata.json"])
    for m in (mx, my):
        m.pop("date_generated", None)
        m.pop("input", None)
    return x["embeddings.npy"] == y["embeddings.npy"] and x["papers.index"] == y["papers.index"] and mx == my


def main():
    with open(SNAPSHOT, encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        a, b, ab = (os.path.join(tmp, n) for n in ("a.jsonl", "b.jsonl", "ab.jsonl"))
        write_lines(a, lines[:120])
        write_lines(b, lines[100:])          # 20 papers A already has, 80 new
        write_lines(ab, lines[:120] + lines[100:])
        grown = check_contract(tmp, a, b, ab)
        check_indexes(tmp, a, b)
        check_db_vectors(tmp, a, b, ab)
        check_refusals(tmp, a, b)
        check_remove(tmp, a, b, ab)
        check_update(tmp, lines)
        check_kills(tmp, a, b, grown)
        check_commit_window(tmp, a, grown)
        check_append_window(tmp, a, grown)
    return report("test_add")


if __name__ == "__main__":
    sys.exit(main())

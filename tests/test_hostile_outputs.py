"""Reading outputs back validates what it reads. test_query.py damages an
output folder 16 ways and checks `info` and `similar`; this test fills the
gaps: `search` on the same kinds of damage, and `embed --resume` on a damaged
work dir (checkpoint, partial .npy). Each must refuse with one line that
names the problem, print no results, and not crash.

Run by CTest with /usr/bin/python3; env SCIVEC, SV_FIXTURES."""
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
from testlib import FIX, MODEL, SCIVEC, check, report  # noqa: E402


def run(*args, timeout=60):
    p = subprocess.run([SCIVEC, *args], capture_output=True, text=True, timeout=timeout)
    check(p.returncode >= 0 and "Sanitizer" not in p.stderr, f"{args[:2]}: crashed: {p.returncode} {p.stderr[-1500:]}")
    return p.returncode, p.stdout, p.stderr


def embed_args(src, out, *extra):
    return ["embed", src, "--model", MODEL, "--out", out, "--max-length", "64", "--batch-tokens", "256",
            "--threads", "1", *extra]


def damaged_copy(base, tmp, name, damage):
    path = os.path.join(tmp, name)
    shutil.copytree(base, path)
    damage(path)
    return path


def test_search(base, tmp):
    def npy_row_removed(path):
        v = np.load(os.path.join(path, "embeddings.npy"))
        np.save(os.path.join(path, "embeddings.npy"), v[:-1])

    def npy_wider(path):
        v = np.load(os.path.join(path, "embeddings.npy"))
        np.save(os.path.join(path, "embeddings.npy"), np.hstack([v, v]))

    def npy_header_lies(path):
        p = os.path.join(path, "embeddings.npy")
        data = bytearray(open(p, "rb").read())
        header = data[10:128].decode("latin-1").replace("(100, 64)", "(100000000000, 64)")
        data[10:128] = header.encode("latin-1")[:118].ljust(118)
        open(p, "wb").write(bytes(data))

    def index_short(path):
        v = np.load(os.path.join(path, "embeddings.npy"))
        index = faiss.IndexFlatIP(v.shape[1])
        index.add(v[:-3])
        faiss.write_index(index, os.path.join(path, "papers.index"))

    def index_truncated(path):
        p = os.path.join(path, "papers.index")
        os.truncate(p, os.path.getsize(p) // 2)

    def metadata_not_json(path):
        open(os.path.join(path, "metadata.json"), "w").write('{"n_papers": 100, ')

    def metadata_wrong_dim(path):
        m = json.load(open(os.path.join(path, "metadata.json")))
        m["embedding_dim"] = 768
        json.dump(m, open(os.path.join(path, "metadata.json"), "w"))

    def db_row_removed(path):
        db = sqlite3.connect(os.path.join(path, "papers.db"))
        db.execute("DELETE FROM papers WHERE row = 50")
        db.commit()
        db.close()

    def db_garbage(path):
        open(os.path.join(path, "papers.db"), "r+b").write(b"not a database, just bytes" * 10)

    def no_index(path):
        os.remove(os.path.join(path, "papers.index"))

    cases = [
        ("npy-row-removed", npy_row_removed, "embeddings.npy"),
        ("npy-wider", npy_wider, "embeddings.npy"),
        ("npy-header-lies", npy_header_lies, "embeddings.npy"),
        ("index-short", index_short, "papers.index"),
        ("index-truncated", index_truncated, "papers.index"),
        ("metadata-not-json", metadata_not_json, "metadata.json"),
        ("metadata-wrong-dim", metadata_wrong_dim, "768"),
        ("db-row-removed", db_row_removed, "papers.db"),
        ("db-garbage", db_garbage, "papers.db"),
        ("no-index", no_index, "papers.index is missing"),
    ]
    for name, damage, explanation in cases:
        path = damaged_copy(base, tmp, name, damage)
        rc, out, err = run("search", path, "graph neural networks", "-k", "3", "--json", "--threads", "1")
        check(rc != 0 and out == "", f"search {name}: answered from a damaged folder: {rc} {out[:200]}")
        if os.environ.get("SV_VERBOSE"): print(name, err.strip())
        check(len(err.strip().splitlines()) == 1 and explanation in err,
              f"search {name}: want one line naming '{explanation}', got: {err!r}")
        rc, out, err = run("info", path)
        check(rc != 0 and explanation in out + err, f"info {name}: {rc} {out}{err}")
    # The undamaged folder answers.
    rc, out, err = run("search", base, "graph neural networks", "-k", "3", "--json", "--threads", "1")
    check(rc == 0 and len(json.loads(out or "[]")) == 3, f"search on the intact folder: {rc} {err}")
    print(f"search: {len(cases)} damaged folders refused with one line each")


def test_resume(src, tmp, n_kept):
    """Damaged work dirs: --resume must refuse (or start over when nothing is
    resumable) and never produce outputs that disagree with the input."""
    base = os.path.join(tmp, "interrupted")
    # An interrupted run: stop it with SIGINT after some rows, so the work dir is real.
    proc = subprocess.Popen([SCIVEC, *embed_args(src, base)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    ck = os.path.join(base, ".scivec-work", "checkpoint.json")
    import time
    while proc.poll() is None:
        try:
            if json.load(open(ck))["rows_done"] >= 20:
                proc.send_signal(2)
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.002)
    proc.communicate(timeout=60)
    if not os.path.isdir(os.path.join(base, ".scivec-work")):
        check(False, f"resume: could not make an interrupted run (exit {proc.returncode})")
        return
    done = json.load(open(ck))["rows_done"]

    def set_checkpoint(**changes):
        def damage(path):
            p = os.path.join(path, ".scivec-work", "checkpoint.json")
            c = json.load(open(p))
            c.update(changes)
            json.dump(c, open(p, "w"))
        return damage

    def checkpoint_garbage(path):
        open(os.path.join(path, ".scivec-work", "checkpoint.json"), "w").write("{\"rows_done\": ")

    def partial_short(path):
        p = os.path.join(path, ".scivec-work", "embeddings.npy.partial")
        os.truncate(p, 128 + (done - 1) * 64 * 4 + 5)

    def partial_wrong_width(path):
        p = os.path.join(path, ".scivec-work", "embeddings.npy.partial")
        data = bytearray(open(p, "rb").read())
        text = data[10:128].decode("latin-1")
        i = text.index("64)")
        data[10 + i:10 + i + 3] = b"32)"
        open(p, "wb").write(bytes(data))

    def partial_garbage_header(path):
        p = os.path.join(path, ".scivec-work", "embeddings.npy.partial")
        with open(p, "r+b") as f:
            f.write(b"GARBAGE!" * 4)

    def partial_missing(path):
        os.remove(os.path.join(path, ".scivec-work", "embeddings.npy.partial"))

    cases = [
        ("checkpoint-garbage", checkpoint_garbage, "malformed checkpoint"),
        ("checkpoint-negative", set_checkpoint(rows_done=-5), "malformed checkpoint"),
        ("checkpoint-fraction", set_checkpoint(rows_done=2.5), "malformed checkpoint"),
        ("checkpoint-beyond-partial", set_checkpoint(rows_done=done + 40), "fewer than the"),
        ("checkpoint-beyond-input", set_checkpoint(rows_done=n_kept + 1000), "fewer than the"),
        ("partial-short", partial_short, "fewer than the"),
        ("partial-wrong-width", partial_wrong_width, "not a partial [*, 64] array"),
        ("partial-garbage-header", partial_garbage_header, "embeddings.npy.partial"),
        ("partial-missing", partial_missing, "embeddings.npy.partial"),
    ]
    for name, damage, explanation in cases:
        path = damaged_copy(base, tmp, "resume-" + name, damage)
        rc, out, err = run(*embed_args(src, path, "--resume"))
        if os.environ.get("SV_VERBOSE"): print(name, err.strip())
        check(rc == 1 and explanation in err and len(err.strip().splitlines()) == 1,
              f"resume {name}: exit {rc}, want 1 and one line with '{explanation}': {err!r}")
        check(os.path.isdir(os.path.join(path, ".scivec-work")), f"resume {name}: the work dir was removed")
        check(not os.path.exists(os.path.join(path, "metadata.json")), f"resume {name}: outputs appeared")
    # A work dir without a checkpoint holds nothing resumable: --resume starts over.
    path = damaged_copy(base, tmp, "resume-no-checkpoint",
                        lambda p: os.remove(os.path.join(p, ".scivec-work", "checkpoint.json")))
    rc, out, err = run(*embed_args(src, path, "--resume"))
    check(rc == 0 and "resumed after" not in err, f"resume without a checkpoint: {rc} {err!r}")
    # The undamaged one resumes.
    rc, out, err = run(*embed_args(src, base, "--resume"))
    check(rc == 0 and f"resumed after {done} papers" in err, f"resume intact: {rc} {err!r}")
    if rc == 0:
        rc, out, err = run("info", base)
        check(rc == 0, f"info after resume: {out}{err}")
    print(f"resume: {len(cases)} damaged work dirs refused with one line each (interrupted at {done} rows)")


def main():
    with open(os.path.join(FIX, "data", "arxiv-papers.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "papers.csv")
        with open(src, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows[:101])
        base = os.path.join(tmp, "base")
        rc, out, err = run(*embed_args(src, base))
        check(rc == 0, f"embed: {err}")
        if rc == 0:
            test_search(base, tmp)
        big = os.path.join(tmp, "papers400.csv")
        with open(big, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows[:401])
        test_resume(big, tmp, 400)
    return report("test_hostile_outputs.py")


if __name__ == "__main__":
    sys.exit(main())

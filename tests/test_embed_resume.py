"""scivec embed --resume: a run killed with SIGKILL midway continues and ends
with an embeddings.npy byte-identical to an uninterrupted run; nothing ever
appears under a final name before the run succeeds.

Run by CTest with /usr/bin/python3; env SCIVEC, SV_FIXTURES."""
import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

import faiss
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testlib import FINAL, FIX, MODEL, SCIVEC, check, report  # noqa: E402


def embed_args(src, out, *extra):
    # Small batches: many checkpoints, so the kill lands between two of them.
    return [SCIVEC, "embed", src, "--model", MODEL, "--out", out, "--max-length", "64",
            "--batch-tokens", "96", "--threads", "1", *extra]


def rows_done(out):
    try:
        with open(os.path.join(out, ".scivec-work", "checkpoint.json")) as f:
            return json.load(f)["rows_done"]
    except (OSError, ValueError, KeyError):
        return 0


def kill_midway(src, out, at_least):
    """Starts embed (resuming when the work dir exists) and SIGKILLs it once the
    checkpoint records at least `at_least` rows. Returns the rows recorded, or
    None when the run finished first."""
    args = embed_args(src, out, "--resume")
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while proc.poll() is None:
        if rows_done(out) >= at_least:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return rows_done(out)
        time.sleep(0.002)
    return None


def main():
    with open(os.path.join(FIX, "data", "arxiv-papers.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "papers.csv")
        with open(src, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(rows[0])
            w.writerows(rows[1:801])
            w.writerow(rows[1])          # a duplicate, skipped: alignment must hold
        n_kept = 800

        ref = os.path.join(tmp, "ref")
        subprocess.run(embed_args(src, ref), check=True, capture_output=True)
        ref_npy = open(os.path.join(ref, "embeddings.npy"), "rb").read()
        check(np.load(os.path.join(ref, "embeddings.npy")).shape[0] == n_kept, "reference row count")

        out = os.path.join(tmp, "out")
        kills = []
        for at_least in (100, 400):
            done = kill_midway(src, out, at_least)
            if done is None:
                check(False, f"the run finished before reaching {at_least} rows could be killed")
                break
            kills.append(done)
            # Killed: only the work dir exists, nothing under a final name.
            left = sorted(os.listdir(out))
            check(left == [".scivec-work"], f"after kill at {done} rows: {left}")
            partial = os.path.getsize(os.path.join(out, ".scivec-work", "embeddings.npy.partial"))
            check(partial >= 128 + done * 64 * 4, f"partial file {partial} bytes for {done} rows")
        check(len(kills) == 2 and 0 < kills[0] < kills[1] < n_kept, f"killed at rows {kills}")
        # The state a kill between the final renames leaves: rows already moved
        # to embeddings.npy, the work dir still there. Resume takes them back.
        work = os.path.join(out, ".scivec-work")
        os.rename(os.path.join(work, "embeddings.npy.partial"), os.path.join(out, "embeddings.npy"))
        print(f"killed at rows {kills} of {n_kept}")

        # Without --resume an existing work dir is an error, and it is kept (and
        # nothing else is touched).
        p = subprocess.run(embed_args(src, out), capture_output=True, text=True)
        check(p.returncode != 0 and "--resume" in p.stderr, f"no --resume: {p.returncode} {p.stderr!r}")
        # Resuming with other options is refused and keeps the work dir.
        p = subprocess.run(embed_args(src, out, "--resume", "--pooling", "cls"), capture_output=True, text=True)
        check(p.returncode != 0 and "pooling" in p.stderr, f"changed options: {p.returncode} {p.stderr!r}")
        check(os.path.isdir(os.path.join(out, ".scivec-work")), "work dir removed by a refused resume")

        p = subprocess.run(embed_args(src, out, "--resume"), capture_output=True, text=True)
        check(p.returncode == 0, f"resume failed: {p.stderr}")
        check("resumed after" in p.stderr, f"resume message: {p.stderr!r}")
        check(sorted(os.listdir(out)) == sorted(FINAL), f"after resume: {sorted(os.listdir(out))}")
        got_npy = open(os.path.join(out, "embeddings.npy"), "rb").read()
        check(got_npy == ref_npy, f"resumed embeddings.npy differs from the uninterrupted run "
                                  f"({len(got_npy)} vs {len(ref_npy)} bytes)")

        # The other outputs agree with the reference too.
        meta, ref_meta = (json.load(open(os.path.join(d, "metadata.json"))) for d in (out, ref))
        for key in ("n_papers", "rows_read", "skipped", "n_truncated", "embedding_dim"):
            check(meta[key] == ref_meta[key], f"metadata {key}: {meta[key]} vs {ref_meta[key]}")
        check(meta["skipped"]["duplicate_id"] == 1, f"skipped {meta['skipped']}")
        q = "SELECT row, paper_id, title, categories, year, embedding FROM papers ORDER BY row"
        got_db = sqlite3.connect(os.path.join(out, "papers.db")).execute(q).fetchall()
        ref_db = sqlite3.connect(os.path.join(ref, "papers.db")).execute(q).fetchall()
        check(got_db == ref_db, "papers table differs from the uninterrupted run")
        emb = np.load(os.path.join(out, "embeddings.npy"))
        index = faiss.read_index(os.path.join(out, "papers.index"))
        scores, ids = index.search(emb[:50], 1)
        # another row as similar as the row itself (within rounding) is a tie
        found_self = (ids[:, 0] == np.arange(50)) | (scores[:, 0] >= 1.0 - 1e-5)
        check(index.ntotal == n_kept and found_self.all(), "resumed index")
        check(not os.path.exists(os.path.join(out, ".scivec-work")), "work dir left after success")

    return report("test_embed_resume.py")


if __name__ == "__main__":
    sys.exit(main())

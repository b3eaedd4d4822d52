"""Crash safety of `scivec embed`:
  - SIGINT / SIGTERM stop it cleanly (exit 130 / 143, a message naming
    --resume, the work dir kept, nothing under a final name) and --resume ends
    byte-identical to an uninterrupted run;
  - SIGKILL at 20 random moments (start-up, embedding, database/index, commit)
    always resumes to the same embeddings.npy, papers.db rows and papers.index;
  - two runs into one folder: the second is refused (the folder's lock) while
    the first holds it, and the first still ends correct.

Run by CTest with /usr/bin/python3; env SCIVEC, SV_FIXTURES."""
import csv
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testlib import FINAL, FIX, MODEL, SCIVEC, check, report  # noqa: E402


def embed_args(src, out, *extra, batch_tokens=96):
    # Small batches: many checkpoints, so a signal lands between two of them.
    return [SCIVEC, "embed", src, "--model", MODEL, "--out", out, "--max-length", "64",
            "--batch-tokens", str(batch_tokens), "--threads", "1", *extra]


def kill_args(src, out, *extra):
    # Fewer, larger batches: the run's time spreads over start-up, embedding,
    # the database/index and the commit, so random kills land in each.
    return embed_args(src, out, *extra, batch_tokens=512)


def rows_done(out):
    try:
        with open(os.path.join(out, ".scivec-work", "checkpoint.json")) as f:
            return json.load(f)["rows_done"]
    except (OSError, ValueError, KeyError):
        return 0


def outputs(out):
    """What must be identical: the npy bytes, the papers table, the index bytes
    (a Flat index is written deterministically) and metadata's counts."""
    q = "SELECT row, paper_id, title, categories, year, embedding FROM papers ORDER BY row"
    con = sqlite3.connect(os.path.join(out, "papers.db"))
    try:
        db = con.execute(q).fetchall()
        cols = con.execute("SELECT row, name, value FROM paper_columns ORDER BY row, name").fetchall()
    finally:
        con.close()
    meta = json.load(open(os.path.join(out, "metadata.json")))
    counts = {k: meta[k] for k in ("n_papers", "rows_read", "skipped", "n_truncated", "embedding_dim")}
    return (open(os.path.join(out, "embeddings.npy"), "rb").read(), db, cols,
            open(os.path.join(out, "papers.index"), "rb").read(), counts)


def same_outputs(out, ref, what):
    try:
        got, want = outputs(out), outputs(ref)
    except Exception as e:  # a missing or unreadable output is a failure, not a crash of the test
        check(False, f"{what}: cannot read outputs: {e}")
        return
    names = ["embeddings.npy bytes", "papers table", "paper_columns table", "papers.index bytes", "metadata counts"]
    for name, a, b in zip(names, got, want):
        check(a == b, f"{what}: {name} differ from the uninterrupted run")
    check(sorted(os.listdir(out)) == sorted(FINAL), f"{what}: folder holds {sorted(os.listdir(out))}")


def write_sample(path, rows, n):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(rows[0])
        w.writerows(rows[1:n + 1])


def start_and_wait_rows(args, out, at_least):
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while proc.poll() is None and rows_done(out) < at_least:
        time.sleep(0.002)
    return proc


def test_signals(tmp, src, ref):
    for sig, code, name in ((signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")):
        out = os.path.join(tmp, "sig-" + name)
        proc = start_and_wait_rows(embed_args(src, out), out, 60)
        if proc.poll() is not None:
            check(False, f"{name}: the run ended before it could be signalled")
            continue
        t0 = time.monotonic()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        took = time.monotonic() - t0
        check(proc.returncode == code, f"{name}: exit {proc.returncode}, want {code}; stderr {err!r}")
        check("--resume" in err and name in err, f"{name}: message does not say how to continue: {err!r}")
        check(took < 10, f"{name}: took {took:.1f} s to stop")
        left = sorted(os.listdir(out))
        check(left == [".scivec-work"], f"{name}: folder holds {left} after the stop")
        done = rows_done(out)
        partial = os.path.join(out, ".scivec-work", "embeddings.npy.partial")
        check(os.path.getsize(partial) == 128 + done * 64 * 4,
              f"{name}: partial holds {os.path.getsize(partial)} bytes, checkpoint says {done} rows")
        p = subprocess.run(embed_args(src, out, "--resume"), capture_output=True, text=True)
        check(p.returncode == 0 and "resumed after" in p.stderr, f"{name}: resume: {p.returncode} {p.stderr!r}")
        same_outputs(out, ref, f"{name} then --resume")
        print(f"{name}: stopped after {done} rows in {took:.2f} s, exit {proc.returncode}; resumed identical")


def test_lock(tmp, src, ref):
    out = os.path.join(tmp, "lock")
    first = start_and_wait_rows(embed_args(src, out), out, 30)
    if first.poll() is not None:
        check(False, "lock: the first run ended before the second could start")
        return
    for extra in ((), ("--resume",)):
        p = subprocess.run(embed_args(src, out, *extra), capture_output=True, text=True, timeout=60)
        check(p.returncode != 0 and "another scivec command is writing into this folder" in p.stderr,
              f"lock: second run {extra} not refused: {p.returncode} {p.stderr!r}")
    check(first.poll() is None, "lock: the first run ended while the second was refused (test too slow?)")
    _, err = first.communicate(timeout=120)
    check(first.returncode == 0, f"lock: first run failed: {err!r}")
    same_outputs(out, ref, "lock: first run")
    # Once it is done the folder is free again.
    p = subprocess.run(embed_args(src, out), capture_output=True, text=True)
    check(p.returncode == 0, f"lock: a run after the first finished was refused: {p.stderr!r}")
    print("lock: the second run was refused while the first ran")


def test_kill9(tmp, src, ref, run_seconds):
    """20 SIGKILLs that land inside a run. A run that finishes before its kill
    (the machine got faster) does not count, and the time scale shrinks."""
    rng = random.Random(int(os.environ.get("SV_CRASH_SEED", "7")))
    phases = {}
    est = run_seconds
    landed = attempts = 0
    while landed < 20 and attempts < 60:
        out = os.path.join(tmp, f"kill-{attempts}")
        # Half anywhere in the run, half in its second half (database, index, commit).
        delay = rng.uniform(0, est * 1.05) if attempts % 2 else rng.uniform(0.5, 1.05) * est
        attempts += 1
        proc = subprocess.Popen(kill_args(src, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        killed = proc.poll() is None
        if killed:
            proc.send_signal(signal.SIGKILL)
            landed += 1
        else:
            est = min(est, delay) * 0.8
        proc.wait()
        # Where the kill landed, by what it left.
        listing = set(os.listdir(out)) if os.path.isdir(out) else set()
        if not killed:
            phase = "finished first"
        elif ".scivec-work" not in listing:
            phase = "before the work dir" if not listing & set(FINAL) else "after the commit"
        elif listing & set(FINAL):
            phase = "during the commit"
        elif rows_done(out) == 0:
            phase = "before the first batch"
        else:
            work = set(os.listdir(os.path.join(out, ".scivec-work")))
            phase = "database/index" if "papers.db" in work else "embedding"
        phases[phase] = phases.get(phase, 0) + 1
        p = subprocess.run(kill_args(src, out, "--resume"), capture_output=True, text=True)
        check(p.returncode == 0, f"kill {attempts} at {delay:.3f} s ({phase}): resume failed: {p.stderr!r}")
        if p.returncode == 0:
            same_outputs(out, ref, f"kill {attempts} at {delay:.3f} s ({phase})")
    print(f"kill -9: {landed} kills in {attempts} runs; where they landed: {phases}")
    check(landed == 20, f"only {landed} of {attempts} kills landed inside a run: {phases}")


def main():
    with open(os.path.join(FIX, "data", "arxiv-papers.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    t_start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        big = os.path.join(tmp, "papers400.csv")
        write_sample(big, rows, 400)
        small = os.path.join(tmp, "papers200.csv")
        write_sample(small, rows, 200)

        ref_big = os.path.join(tmp, "ref400")
        subprocess.run(embed_args(big, ref_big), check=True, capture_output=True)
        ref_small = os.path.join(tmp, "ref200")
        t0 = time.monotonic()
        subprocess.run(kill_args(small, ref_small), check=True, capture_output=True)
        run_seconds = time.monotonic() - t0

        test_signals(tmp, big, ref_big)
        test_lock(tmp, big, ref_big)
        test_kill9(tmp, small, ref_small, run_seconds)
    print(f"took {time.monotonic() - t_start:.1f} s; one 200-paper run {run_seconds:.2f} s")
    return report("test_crash.py")


if __name__ == "__main__":
    sys.exit(main())

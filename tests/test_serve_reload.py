#!/usr/bin/python3
"""`scivec serve` reloads its folder on SIGHUP (issue 14, item 18).

`scivec embed` (tiny test model) writes 40 papers into DIR; the server
serves them; `scivec embed` then writes 70 other papers into the same DIR
and the server gets SIGHUP. While that happens 4 clients keep asking
/similar and /health: every answer is 200 and comes wholly from the old or
wholly from the new papers (a request finishes on the data it started on).
Afterwards /health counts 70 papers and one reload, a new paper is found, an
old one is 404, and /similar equals numpy brute force over the new
embeddings.npy. A folder for another model is refused with a reason and
the server keeps serving what it had.
"""
import csv
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_util  # noqa: E402
import test_query as tq  # noqa: E402
from test_query import check  # noqa: E402


def write_csv(path, rows, header):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        w.writerows(rows)


def embed(csv_path, out, *extra):
    p = subprocess.run([tq.SCIVEC, "embed", csv_path, "--model", tq.TINY, "--out", out, "--threads", "1",
                        *extra], capture_output=True, text=True, timeout=600)
    check(p.returncode == 0, f"embed {csv_path}: {p.returncode} {p.stderr[-500:]}")


def wait_for_log(srv, text, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if text in srv.stderr_text():
            return True
        time.sleep(0.1)
    return False


def main():
    csv.field_size_limit(1 << 30)
    with open(os.path.join(tq.REPO, "data", "arxiv-sample.csv"), newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header, rows = reader.fieldnames, list(reader)
    first, second = rows[:40], rows[100:170]
    first_ids = {r["paper_id"] for r in first}
    second_ids = {r["paper_id"] for r in second}
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        write_csv(os.path.join(tmp, "a.csv"), first, header)
        write_csv(os.path.join(tmp, "b.csv"), second, header)
        embed(os.path.join(tmp, "a.csv"), out)
        srv = serve_util.Server(out, "--threads", "1")
        try:
            status, health = srv.json("GET", "/health")
            check(status == 200 and health["papers"] == 40 and health["reloads"] == 0, f"before: {health}")

            # Clients during the re-embedding and the reload.
            stop, answers, errors = threading.Event(), [], []

            def client(i):
                ids = [first[i]["paper_id"]] + [r["paper_id"] for r in second[:5]]
                n = 0
                while not stop.is_set():
                    pid = ids[n % len(ids)]
                    n += 1
                    try:
                        status, got = srv.json("GET", f"/similar/{pid}?k=5")
                        answers.append((pid, status, got))
                    except OSError as e:
                        errors.append(repr(e))

            threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            embed(os.path.join(tmp, "b.csv"), out)
            srv.proc.send_signal(signal.SIGHUP)
            check(wait_for_log(srv, "SIGHUP: reloaded"), f"reload logged: {srv.stderr_text()[-300:]}")
            time.sleep(1.0)
            stop.set()
            for t in threads:
                t.join(60)
            check(not errors, f"no client failed during the reload: {errors[:3]}")
            mixed, old, new = [], 0, 0
            for pid, status, got in answers:
                if status == 404:   # an id of the other data: allowed, it is not there
                    continue
                ids = {r["paper_id"] for r in got.get("results", [])} | {pid}
                if status == 200 and ids <= first_ids:
                    old += 1
                elif status == 200 and ids <= second_ids:
                    new += 1
                else:
                    mixed.append((pid, status, str(got)[:200]))
            print(f"during the reload: {len(answers)} answers, {old} from the old papers, {new} from the new")
            check(not mixed and old > 0 and new > 0, f"answers wholly old or wholly new: {mixed[:3]}")

            status, health = srv.json("GET", "/health")
            check(status == 200 and health["papers"] == 70 and health["reloads"] == 1, f"after: {health}")
            status, got = srv.json("GET", f"/papers/{second[7]['paper_id']}")
            check(status == 200 and got["title"] == second[7]["title"], f"a new paper: {status}")
            status, _ = srv.json("GET", f"/papers/{first[7]['paper_id']}")
            check(status == 404, f"an old paper is gone: {status}")
            vectors = np.load(os.path.join(out, "embeddings.npy"))
            unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
            row = 12
            sims = unit @ unit[row]
            want = [second[int(i)]["paper_id"] for i in np.argsort(-sims) if int(i) != row][:5]
            status, got = srv.json("GET", f"/similar/{second[row]['paper_id']}?k=5")
            check(status == 200 and [r["paper_id"] for r in got["results"]] == want,
                  f"/similar over the new data = numpy: {[r['paper_id'] for r in got['results']]} vs {want}")

            # Another model's folder is not swapped in.
            meta_path = os.path.join(out, "metadata.json")
            with open(meta_path, encoding="utf-8") as f:
                meta = json.load(f)
            meta["model"]["name"] = "someone/else"
            with open(meta_path, "w", encoding="utf-8") as f:
                json.dump(meta, f)
            srv.proc.send_signal(signal.SIGHUP)
            check(wait_for_log(srv, "not reloaded: its model is someone/else"),
                  f"a mismatch is refused: {srv.stderr_text()[-400:]}")
            status, health = srv.json("GET", "/health")
            check(status == 200 and health["papers"] == 70 and health["reloads"] == 1,
                  f"still serving the previous data: {health}")
        finally:
            rc = srv.stop()
        check(rc == 0, f"exit status {rc}")
    print(f"{tq.passed} passed, {tq.failures} failed")
    return 1 if tq.failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""test_precision_serve.py - queries are embedded in the precision the papers
were (metadata.json "precision"), by `scivec serve` and `scivec search`
(docs/MODEL.md, "Precision", queries):

* a folder embedded with --precision int8 is served in int8: /v1/embeddings
  gives `scivec encode --precision int8`'s vector (int8 is bitwise the same
  whatever the batch), not fp32's;
* `serve --precision int8` on it is accepted; `serve --precision fp32` is
  refused (exit 1, one line naming both precisions and --force-precision);
  with --force-precision it serves fp32 vectors;
* `scivec search` on it: the query of a paper's own text scores that paper
  as the stored vector does (int8 query); --precision fp32 is refused the
  same way;
* an fp32 folder asked for int8 is refused, and on SIGHUP a folder that now
  records another precision is not swapped in.
Where this CPU lacks VNNI the int8 embed is refused (test_precision_embed
checks that) and this test only checks the fp32 folder's refusal.
"""
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

from testlib import SCIVEC, FIX, MODEL, check, report, runs_fast
from serve_util import Server




rows = list(csv.DictReader(open(os.path.join(FIX, "data", "arxiv-papers.csv"), newline="", encoding="utf-8")))
TEXTS = [r["abstract"] for r in rows[:3]]


def encode(precision, out):
    lines = "".join(json.dumps({"text": t}) + "\n" for t in TEXTS)
    p = subprocess.run([SCIVEC, "encode", "--model", MODEL, "--out", out, "--threads", "1",
                        "--normalize", "--precision", precision],
                       input=lines.encode(), capture_output=True, timeout=300)
    check(p.returncode == 0, "encode %s: %s" % (precision, p.stderr.decode()))
    return np.load(out)


def served(directory, *args):
    """/v1/embeddings of TEXTS from `scivec serve directory args`, and its stderr."""
    srv = Server(directory, "--threads", "1", *args)
    try:
        status, got = srv.json("POST", "/v1/embeddings", {"input": TEXTS})
        check(status == 200, "/v1/embeddings: %s %s" % (status, str(got)[:200]))
        vecs = np.array([d["embedding"] for d in got["data"]], dtype=np.float32)
        return vecs / np.linalg.norm(vecs, axis=1, keepdims=True), srv.stderr_text()
    finally:
        srv.stop()


def serve_refused(directory, *args):
    p = subprocess.run([SCIVEC, "serve", directory, "--port", "0", "--threads", "1", *args],
                       capture_output=True, timeout=120)
    return p.returncode, p.stderr.decode()


def embed(out, *extra):
    p = subprocess.run([SCIVEC, "embed", papers, "--model", MODEL, "--out", out, "--threads", "2"]
                       + list(extra), capture_output=True, timeout=600)
    check(p.returncode == 0, "embed %s: %s" % (out, p.stderr.decode()))


with tempfile.TemporaryDirectory() as tmp:
    papers = os.path.join(tmp, "papers.csv")
    with open(papers, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=rows[0].keys())
        w.writeheader()
        w.writerows(rows[:40])

    fp32_dir = os.path.join(tmp, "fp32")
    embed(fp32_dir)
    code, err = serve_refused(fp32_dir, "--precision", "int8")
    check(code == 1 and err.count("\n") == 1 and "int8" in err and "fp32" in err
          and "--force-precision" in err, "fp32 folder, serve --precision int8: %d %r" % (code, err))

    # SIGHUP: a folder now recorded in another precision is not swapped in
    srv = Server(fp32_dir, "--threads", "1")
    try:
        meta_path = os.path.join(fp32_dir, "metadata.json")
        meta = json.load(open(meta_path))
        meta["precision"] = "int8"
        json.dump(meta, open(meta_path, "w"))
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 30
        while time.time() < deadline and "not reloaded" not in srv.stderr_text():
            time.sleep(0.1)
        check("not reloaded: its papers were embedded in int8, not fp32" in srv.stderr_text(),
              "SIGHUP with another precision: %r" % srv.stderr_text()[-300:])
    finally:
        srv.stop()

    if not runs_fast("int8"):
        print("int8: this CPU lacks VNNI; only the refusal was checked")
        sys.exit(report("test_precision_serve"))

    ref_fp32 = encode("fp32", os.path.join(tmp, "fp32.npy"))
    ref_int8 = encode("int8", os.path.join(tmp, "int8.npy"))
    apart = float(np.abs(ref_fp32 - ref_int8).max())
    check(apart > 1e-6, "int8 and fp32 vectors differ: %g" % apart)

    int8_dir = os.path.join(tmp, "int8")
    embed(int8_dir, "--precision", "int8")
    meta = json.load(open(os.path.join(int8_dir, "metadata.json")))
    check(meta.get("precision") == "int8", "metadata precision %r" % meta.get("precision"))

    # default and explicit int8: int8 queries
    for args in ((), ("--precision", "int8")):
        vecs, log = served(int8_dir, *args)
        d_int8 = float(np.abs(vecs - ref_int8).max())
        d_fp32 = float(np.abs(vecs - ref_fp32).max())
        print("serve %s: max diff vs int8 encode %.3g, vs fp32 encode %.3g" % (" ".join(args) or "(default)", d_int8, d_fp32))
        check(d_int8 <= 2e-7 and d_fp32 > 1e-6, "serve %r: vs int8 %g, vs fp32 %g" % (args, d_int8, d_fp32))
        check("queries and /v1/embeddings in int8" in log, "serve %r: log %r" % (args, log))

    # another precision: refused, unless forced
    code, err = serve_refused(int8_dir, "--precision", "fp32")
    check(code == 1 and err.count("\n") == 1 and "fp32" in err and "int8" in err
          and "--force-precision" in err, "serve --precision fp32: %d %r" % (code, err))
    vecs, _ = served(int8_dir, "--precision", "fp32", "--force-precision")
    d_fp32 = float(np.abs(vecs - ref_fp32).max())
    check(d_fp32 <= 2e-7, "serve --precision fp32 --force-precision: vs fp32 encode %g" % d_fp32)

    # scivec search: a paper's own abstract finds it with the stored vector's score
    stored = np.load(os.path.join(int8_dir, "embeddings.npy"))
    q = TEXTS[0]
    p = subprocess.run([SCIVEC, "search", int8_dir, q, "--json", "-k", "3", "--threads", "1"],
                       capture_output=True, timeout=300)
    check(p.returncode == 0, "search: %s" % p.stderr.decode())
    if p.returncode == 0:
        hits = json.loads(p.stdout)
        want = float(stored[0] @ ref_int8[0])
        check(hits[0]["paper_id"] == rows[0]["paper_id"] and abs(hits[0]["score"] - want) <= 1e-6,
              "search: top %r, want %s at %.7f" % (hits[0], rows[0]["paper_id"], want))
    p = subprocess.run([SCIVEC, "search", int8_dir, q, "--precision", "fp32", "--threads", "1"],
                       capture_output=True, timeout=300)
    err = p.stderr.decode()
    check(p.returncode == 1 and "fp32" in err and "int8" in err and "--force-precision" in err,
          "search --precision fp32: %d %r" % (p.returncode, err))

sys.exit(report("test_precision_serve"))

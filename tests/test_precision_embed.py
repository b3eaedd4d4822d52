"""test_precision_embed.py - `scivec embed --precision bf16|int8`: the
quality check on the user's own papers (docs/MODEL.md, "Precision").

* the figures (first 256 kept papers, fp32 vs the precision: mean and min
  cosine, top-10 neighbour overlap) are in metadata.json with the
  thresholds, and are sane: cosines in [0.99, 1], overlap in [0.9, 1];
* the vectors are close to an fp32 embed's (cosine >= 0.999) but not equal;
* a threshold the figures cannot meet (--precision-min-cosine 1.0000001)
  stops the run: exit 1, one message with the figures, no output files;
  --force-precision then runs it and records forced = true;
* --resume of a run with another precision is refused;
* where the CPU lacks the instructions, the run is refused with the reason.
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

from testlib import SCIVEC, FIX, MODEL, FINAL, check, report, runs_fast



rows = list(csv.DictReader(open(os.path.join(FIX, "data", "arxiv-papers.csv"), newline="", encoding="utf-8")))
N = 400


def embed(out, *extra):
    return subprocess.run([SCIVEC, "embed", papers, "--model", MODEL, "--out", out, "--threads", "2"]
                          + list(extra), capture_output=True, timeout=600)


with tempfile.TemporaryDirectory() as tmp:
    papers = os.path.join(tmp, "papers.csv")
    with open(papers, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=rows[0].keys())
        w.writeheader()
        w.writerows(rows[:N])
    p = embed(os.path.join(tmp, "fp32"))
    check(p.returncode == 0, "fp32 embed: %s" % p.stderr.decode())
    fp32 = np.load(os.path.join(tmp, "fp32", "embeddings.npy"))
    meta = json.load(open(os.path.join(tmp, "fp32", "metadata.json")))
    check(meta.get("precision") == "fp32" and "precision_check" not in meta,
          "fp32 metadata: %r" % meta.get("precision"))

    for precision in ("bf16", "int8"):
        out = os.path.join(tmp, precision)
        if not runs_fast(precision):
            p = embed(out, "--precision", precision)
            err = p.stderr.decode()
            check(p.returncode == 1 and "lacks" in err, "%s refused here: %r" % (precision, err))
            print("%s: refused on this CPU: %s" % (precision, err.strip()))
            continue
        p = embed(out, "--precision", precision)
        err = p.stderr.decode()
        check(p.returncode == 0, "%s embed: %s" % (precision, err))
        if p.returncode != 0:
            continue
        meta = json.load(open(os.path.join(out, "metadata.json")))
        q = meta.get("precision_check", {})
        print("%s: %s" % (precision, json.dumps(q)))
        check(meta.get("precision") == precision, "%s: metadata precision %r" % (precision, meta.get("precision")))
        check(q.get("n_papers") == 256 and q.get("top_k") == 10, "%s: sample %r" % (precision, q))
        check(0.99 <= q.get("min_cosine", 0) <= q.get("mean_cosine", 0) <= 1.0 + 1e-9,
              "%s: cosines %r" % (precision, q))
        check(0.9 <= q.get("top_k_overlap", 0) <= 1.0, "%s: overlap %r" % (precision, q))
        check(q.get("min_cosine_threshold") == 0.99 and q.get("min_overlap_threshold") == 0.9
              and q.get("forced") is False, "%s: thresholds %r" % (precision, q))
        check("precision vs fp32 on the first 256 papers" in err, "%s: stderr %r" % (precision, err))
        vecs = np.load(os.path.join(out, "embeddings.npy"))
        cos = (vecs * fp32).sum(1) / np.linalg.norm(vecs, axis=1) / np.linalg.norm(fp32, axis=1)
        diff = float(np.abs(vecs - fp32).max())
        print("%s vs fp32 embed: min cosine %.7f, max abs diff %.3g" % (precision, cos.min(), diff))
        check(cos.min() >= 0.999 and diff > 1e-6, "%s: vs fp32: min cos %g, diff %g" % (precision, cos.min(), diff))

        # a threshold that cannot be met: stop, explain, write nothing
        strict = os.path.join(tmp, precision + "-strict")
        p = embed(strict, "--precision", precision, "--precision-min-cosine", "1.0000001")
        err = p.stderr.decode()
        check(p.returncode == 1, "%s strict: exit %d" % (precision, p.returncode))
        check(err.count("\n") == 1 and "changes this model's vectors too much" in err and "--force-precision" in err
              and "overlap" in err, "%s strict: message %r" % (precision, err))
        check(not any(os.path.exists(os.path.join(strict, f)) for f in FINAL + [".scivec-work"]),
              "%s strict: left files %r" % (precision, os.listdir(strict) if os.path.isdir(strict) else None))
        p = embed(strict, "--precision", precision, "--precision-min-cosine", "1.0000001", "--force-precision")
        check(p.returncode == 0, "%s forced: %s" % (precision, p.stderr.decode()))
        if p.returncode == 0:
            q = json.load(open(os.path.join(strict, "metadata.json")))["precision_check"]
            check(q["forced"] is True and q["min_cosine_threshold"] == 1.0000001, "%s forced: %r" % (precision, q))

    # the overlap threshold from the command line; NaN thresholds refused up front
    if runs_fast("int8"):
        strict = os.path.join(tmp, "int8-overlap")
        p = embed(strict, "--precision", "int8", "--precision-min-overlap", "1.5")
        err = p.stderr.decode()
        check(p.returncode == 1 and "(threshold 1.50)" in err, "overlap 1.5: exit %d, %r" % (p.returncode, err))
    for option in ("--precision-min-cosine", "--precision-min-overlap"):
        bad = os.path.join(tmp, "nan" + option)
        p = embed(bad, option, "nan")
        err = p.stderr.decode()
        check(p.returncode != 0 and err.count("\n") == 1 and option[2:].replace("-", "_") + " nan: want a number" in err
              and not os.path.exists(bad), "%s nan: exit %d, %r" % (option, p.returncode, err))

    # --resume with another precision than the interrupted run: refused
    if runs_fast("int8"):
        big = os.path.join(tmp, "big.csv")
        with open(big, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=rows[0].keys())
            w.writeheader()
            w.writerows(rows[:3000])
        out = os.path.join(tmp, "resume")
        args = [SCIVEC, "embed", big, "--model", MODEL, "--out", out, "--max-length", "64",
                "--batch-tokens", "96", "--threads", "1"]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        checkpoint = os.path.join(out, ".scivec-work", "checkpoint.json")
        while proc.poll() is None:
            try:
                if json.load(open(checkpoint))["rows_done"] > 0:
                    proc.send_signal(signal.SIGKILL)
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.002)
        proc.wait()
        check(proc.returncode == -signal.SIGKILL, "the fp32 run finished before it could be killed")
        p = subprocess.run(args + ["--resume", "--precision", "int8", "--force-precision"],
                           capture_output=True, timeout=600)
        err = p.stderr.decode()
        check(p.returncode == 1 and "precision" in err and "fp32" in err and "int8" in err,
              "resume with int8 after fp32: exit %d: %r" % (p.returncode, err))

sys.exit(report("test_precision_embed"))

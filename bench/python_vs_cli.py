#!/usr/bin/python3
"""The Python package's cost over the CLI: 1,000 texts encoded by
scivec.Model.encode in-process vs by `scivec encode` (a process that loads
the model, reads JSON Lines, writes .npy), both with the same model and
threads, interleaved round by round; prints the medians and the ratio, and
checks the vectors agree. A benchmark, never a test.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_vs_cli.py \\
        [--model DIR] [--texts abstracts|titles] [--n 1000] [--threads 2] [--rounds 3]

--model defaults to bench/models/bert-base (random BERT-base weights,
written by bench/make_bert_base.py when missing)."""
import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import scivec

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def texts_of(kind, n):
    csv.field_size_limit(1 << 30)
    with open(os.path.join(ROOT, "data", "arxiv-sample.csv"), newline="") as f:
        rows = [" ".join(r["abstract" if kind == "abstracts" else "title"].split())
                for r in csv.DictReader(f)]
    return [rows[i % len(rows)] + ("" if i < len(rows) else f" ({i // len(rows)})") for i in range(n)]


def run_cli(cli, model, threads, stdin, out):
    t0 = time.perf_counter()
    subprocess.run([cli, "encode", "--model", model, "--out", out, "--threads", str(threads)],
                   input=stdin, check=True, capture_output=True)
    return time.perf_counter() - t0


def run_python(model, threads, texts, batch_size):
    t0 = time.perf_counter()
    m = scivec.Model(model, threads=threads)
    t1 = time.perf_counter()
    vectors = m.encode(texts, batch_size=batch_size)
    t2 = time.perf_counter()
    return t2 - t0, t2 - t1, vectors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(HERE, "models", "bert-base"))
    ap.add_argument("--cli", default=os.path.join(ROOT, "build", "scivec"))
    ap.add_argument("--texts", choices=["abstracts", "titles"], default="abstracts")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    a = ap.parse_args()
    if not os.path.exists(os.path.join(a.model, "config.json")):
        subprocess.run([sys.executable, os.path.join(HERE, "make_bert_base.py"), a.model], check=True)
    texts = texts_of(a.texts, a.n)
    stdin = "".join(json.dumps({"text": t}) + "\n" for t in texts).encode()
    cli_times, py_times, py_encode_times = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cli.npy")
        for r in range(a.rounds):
            cli_times.append(run_cli(a.cli, a.model, a.threads, stdin, out))
            total, encode_only, vectors = run_python(a.model, a.threads, texts, a.batch_size)
            py_times.append(total)
            py_encode_times.append(encode_only)
            diff = float(np.abs(vectors - np.load(out)).max())
            print(f"round {r + 1}: CLI {cli_times[-1]:.2f} s, Python {total:.2f} s "
                  f"(encode {encode_only:.2f} s), max |diff| {diff:.1e}", flush=True)
    cli, py, enc = (statistics.median(x) for x in (cli_times, py_times, py_encode_times))
    print(f"{a.n} {a.texts}, {os.path.basename(a.model)}, {a.threads} threads, batch_size {a.batch_size}: "
          f"median CLI {cli:.2f} s, Python {py:.2f} s (encode alone {enc:.2f} s); "
          f"Python/CLI = {py / cli:.3f}")


if __name__ == "__main__":
    main()

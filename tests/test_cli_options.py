#!/usr/bin/python3
"""test_cli_options.py - one option parser (getopt_long) for every command
(issue 18): each command that takes an option with a value accepts both
`--flag value` and `--flag=value` and gets the same result from them, and a
bad value given as `--flag=value` is refused with the command's one-line
message and exit status 2. `fetch` and `info` take no option with a value.
"""
import csv
import filecmp
import json
import os
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testlib import FIX, MODEL, SCIVEC, check, report  # noqa: E402

PAPERS = os.path.join(FIX, "data", "arxiv-papers.csv")


def run(*args, stdin=None):
    return subprocess.run([SCIVEC, *args], input=stdin, capture_output=True, text=True,
                          timeout=300)


def ok(p, what):
    check(p.returncode == 0, f"{what}: exit {p.returncode}: {p.stderr.strip()[-400:]}")
    return p.returncode == 0


def small_input(tmp, n):
    """The first n papers of the fixture, as a CSV of their own."""
    path = os.path.join(tmp, f"papers{n}.csv")
    csv.field_size_limit(1 << 30)
    with open(PAPERS, newline="") as src, open(path, "w", newline="") as dst:
        rows = csv.reader(src)
        out = csv.writer(dst)
        for i, row in enumerate(rows):
            if i > n:
                break
            out.writerow(row)
    return path


def metadata(out):
    """DIR/metadata.json, {} when the run left none."""
    try:
        return json.load(open(os.path.join(out, "metadata.json")))
    except OSError:
        return {}


def first_ids(path, n):
    with open(path, newline="") as f:
        return [row["paper_id"] for _, row in zip(range(n), csv.DictReader(f))]


def main():
    tmp = tempfile.mkdtemp(prefix="sv-options-")
    src = small_input(tmp, 40)
    ids = first_ids(src, 3)

    # tokenize: --model=, --max-length=
    texts = '{"text": "Graph neural networks for molecules"}\n'
    spaced = run("tokenize", "--model", MODEL, "--max-length", "5", stdin=texts)
    joined = run("tokenize", f"--model={MODEL}", "--max-length=5", stdin=texts)
    if ok(spaced, "tokenize --flag value") and ok(joined, "tokenize --flag=value"):
        check(spaced.stdout == joined.stdout, "tokenize: same ids either way")
        check(len(json.loads(joined.stdout)["input_ids"]) == 5, "tokenize --max-length=5 applies")

    # encode: every value option in the = form
    a, b = os.path.join(tmp, "a.npy"), os.path.join(tmp, "b.npy")
    spaced = run("encode", "--model", MODEL, "--out", a, "--threads", "1", "--max-length", "16",
                 "--batch-tokens", "64", "--pooling", "mean", "--precision", "fp32", stdin=texts)
    joined = run("encode", f"--model={MODEL}", f"--out={b}", "--threads=1", "--max-length=16",
                 "--batch-tokens=64", "--pooling=mean", "--precision=fp32", stdin=texts)
    if ok(spaced, "encode --flag value") and ok(joined, "encode --flag=value"):
        check(filecmp.cmp(a, b, shallow=False), "encode: the same .npy either way")
    p = run("encode", f"--model={MODEL}", f"--out={b}", "--threads=two", stdin=texts)
    check(p.returncode == 2 and "--threads wants a whole number >= 0, got 'two'" in p.stderr,
          f"encode --threads=two: {p.returncode} {p.stderr.strip()}")

    # embed: the = form everywhere, and a bad value refused the same way
    out = os.path.join(tmp, "out")
    p = run("embed", src, f"--model={MODEL}", f"--out={out}", "--threads=1", "--max-length=32",
            "--index=Flat", "--batch-tokens=512", "--text=abstract")
    ok(p, "embed --flag=value")
    check(metadata(out).get("max_length") == 32,
          "embed --max-length=32 recorded")
    p = run("embed", src, f"--model={MODEL}", f"--out={out}2", "--threads=-1")
    check(p.returncode == 2 and "--threads wants a whole number >= 0, got '-1'" in p.stderr,
          f"embed --threads=-1: {p.returncode} {p.stderr.strip()}")
    p = run("embed", src, f"--model={MODEL}", f"--out={out}2", "--no-such-flag=1")
    check(p.returncode == 2 and "unknown option or missing value: '--no-such-flag=1'" in p.stderr,
          f"embed --no-such-flag=1: {p.returncode} {p.stderr.strip()}")

    # similar / search: -k 3, -k3, --k=3, --top-k=3 agree
    base = run("similar", out, ids[0], "-k", "3", "--json")
    if ok(base, "similar -k 3"):
        check(len(json.loads(base.stdout)) == 3, "similar -k 3 gives 3")
        for form in (["-k3"], ["--k=3"], ["--top-k=3"]):
            p = run("similar", out, ids[0], *form, "--json")
            check(p.returncode == 0 and p.stdout == base.stdout, f"similar {form}: same hits")
    base = run("search", out, "neural networks", "--k", "2", "--threads", "1", "--json")
    joined = run("search", out, "neural networks", "--k=2", "--threads=1", f"--model={MODEL}",
                 "--json")
    if ok(base, "search --flag value") and ok(joined, "search --flag=value"):
        check(base.stdout == joined.stdout, "search: same hits either way")
    p = run("search", out, "neural networks", "--threads=")
    check(p.returncode == 2 and "--threads '': expected a number >= 0" in p.stderr,
          f"search --threads=: {p.returncode} {p.stderr.strip()}")
    p = run("search", out, "neural networks", "--k")
    check(p.returncode == 2 and "--k needs a value" in p.stderr,
          f"search --k (no value): {p.returncode} {p.stderr.strip()}")

    # reindex, map
    ok(run("reindex", out, "--index=Flat", "--threads=1"), "reindex --flag=value")
    p = run("map", out, "--epochs=5", "--threads=1", "--seed=7", "--neighbors=5",
            "--quality-sample=0", "--min-dist=0.2", "--spread=1.5", "--knn=exact")
    if ok(p, "map --flag=value"):
        meta = metadata(out).get("map")
        check("7" in json.dumps(meta) and "0.2" in json.dumps(meta),
              f"map --seed=7 --min-dist=0.2 recorded: {meta}")
    p = run("map", out, "--epochs=0")
    check(p.returncode == 2 and "--epochs wants a whole number in 1..100000, got '0'" in p.stderr,
          f"map --epochs=0: {p.returncode} {p.stderr.strip()}")

    # add, remove
    p = run("add", out, small_input(tmp, 45), "--threads=1")
    ok(p, "add --threads=1")
    check("5 papers added" in p.stderr, f"add: 5 new papers: {p.stderr.strip()}")
    p = run("remove", out, ids[1], "--threads=1")
    ok(p, "remove --threads=1")
    check(run("similar", out, ids[1]).returncode != 0, "remove --threads=1 removed the paper")

    # merge: shards embedded with --shard=K/N, joined with --index= --threads=
    shards = []
    for k in range(2):
        shard = os.path.join(tmp, f"shard{k}")
        ok(run("embed", src, f"--model={MODEL}", f"--out={shard}", "--threads=1",
               "--max-length=32", f"--shard={k}/2"), f"embed --shard={k}/2")
        shards.append(shard)
    merged = os.path.join(tmp, "merged")
    p = run("merge", merged, *shards, "--index=Flat", "--threads=1")
    if ok(p, "merge --flag=value"):
        check(metadata(merged).get("n_papers") == 40,
              "merge: 40 papers")

    # serve: --port=0 --threads=1 --readers=1 --max-k=7
    proc = subprocess.Popen([SCIVEC, "serve", out, "--port=0", "--threads=1", "--readers=1",
                             "--max-k=7"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline()
        check("listening on http://127.0.0.1:" in line, f"serve --port=0 starts: {line!r}")
        if "listening" in line:
            port = int(line.rsplit(":", 1)[1].strip().rstrip("/"))
            url = f"http://127.0.0.1:{port}/similar/{ids[0]}?k=8"
            try:
                urllib.request.urlopen(url, timeout=30)
                check(False, "serve --max-k=7 refuses k=8")
            except urllib.error.HTTPError as e:
                check(e.code == 422, f"serve --max-k=7: k=8 gets {e.code}")
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    p = run("serve", out, "--port=70000")
    check(p.returncode == 2 and "--port '70000': expected a whole number from 0 to 65535" in p.stderr,
          f"serve --port=70000: {p.returncode} {p.stderr.strip()}")
    return report("test_cli_options")


sys.exit(main())

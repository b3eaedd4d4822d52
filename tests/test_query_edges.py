"""Edges of embed and the queries (issue 14, items 4, 10, 11, 16, 17):
- an empty or blank query (whitespace, control or zero-width characters) is
  refused by `scivec search` and by the server's /search alike (one rule);
- a 100 kB query is not echoed whole, and its cut to max tokens is said;
- a run that embeds 0 papers exits non-zero saying why; search without a
  filter on a small folder does not blame filters;
- `embed -` and a pipe say that a regular file is needed;
- a half-renamed folder: `info` and `similar` name the same file pair.

Run by CTest with /usr/bin/python3; env SCIVEC, SV_FIXTURES."""
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testlib import FIX, MODEL, SCIVEC, check, report  # noqa: E402
import serve_util  # noqa: E402


def run(*args, **kw):
    return subprocess.run([SCIVEC, *args], capture_output=True, text=True, **kw)


def embed(src, out, *extra):
    return run("embed", src, "--model", MODEL, "--out", out, "--max-length", "32", "--threads", "1", *extra)


def main():
    with open(os.path.join(FIX, "data", "arxiv-papers.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "papers.csv")
        with open(src, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows[:31])
        out = os.path.join(tmp, "out")
        # --db-vectors: the half-renamed folder below has three copies of
        # each vector (npy, db BLOB, index) for info and similar to compare
        p = embed(src, out, "--db-vectors")
        check(p.returncode == 0, f"embed: {p.stderr!r}")

        # Item 4: one rule for blank queries, CLI and server.
        blanks = ["", "   ", "\t\n", "\u200b", "\u00a0\u2003", "\x07"]
        for q in blanks:
            p = run("search", out, "--", q)
            check(p.returncode == 1 and "the query is empty" in p.stderr and not p.stdout,
                  f"search {q!r}: {p.returncode} {p.stdout[:80]!r} {p.stderr!r}")
        p = run("search", out, "graph", "-k", "3")
        check(p.returncode == 0 and p.stdout.startswith("Top 3 papers"), f"normal search: {p.stderr!r}")
        srv = serve_util.Server(out, "--threads", "1")
        try:
            for q in blanks[1:]:
                status, body = srv.json("GET", "/search?q=" + urllib.parse.quote(q))
                check(status == 422, f"/search q={q!r}: {status} {body!r}")
            status, body = srv.json("GET", "/search?q=graph&k=2")
            check(status == 200 and len(body.get("results", [])) == 2, f"/search graph: {status} {body!r}")
        finally:
            srv.stop()

        # Item 16: a 100 kB query: the header shows a cut echo, the cut to
        # max tokens is said.
        long_q = "graph neural networks for molecules " * 2800
        p = run("search", out, long_q, "-k", "2")
        header = p.stdout.splitlines()[0] if p.stdout else ""
        check(p.returncode == 0 and len(header) < 400 and f"({len(long_q)} bytes)" in header,
              f"long query header: {len(header)} chars {header[:120]!r}")
        check("only its first 32 tokens were used" in p.stderr, f"cut not said: {p.stderr!r}")
        p = run("search", out, "graph", "-k", "2")
        check("tokens were used" not in p.stderr, f"short query said to be cut: {p.stderr!r}")

        # Item 10: fewer papers than k, no filter: the folder is small.
        p = run("search", out, "graph", "-k", "50")
        check(p.returncode == 0 and "holds only 30 papers" in p.stderr and "filters" not in p.stderr,
              f"k > papers: {p.stderr!r}")
        # 0 papers: non-zero exit and why; nothing left behind.
        empty = os.path.join(tmp, "empty.csv")
        with open(empty, "w") as f:
            f.write("paper_id,abstract\nx1,   \nx2,\n")
        p = embed(empty, os.path.join(tmp, "zero"))
        check(p.returncode != 0 and "no papers to embed" in p.stderr and "skipped" in p.stderr,
              f"0 papers: {p.returncode} {p.stderr!r}")
        check(not os.path.exists(os.path.join(tmp, "zero")), "0 papers: left the --out folder")
        with open(empty, "w") as f:
            f.write("paper_id,abstract\n")
        p = embed(empty, os.path.join(tmp, "zero"))
        check(p.returncode != 0 and "the input holds none" in p.stderr, f"no records: {p.stderr!r}")

        # Item 11: stdin and pipes.
        data = open(src, "rb").read()
        for name in ("-", "/dev/stdin"):
            p = subprocess.run([SCIVEC, "embed", name, "--model", MODEL, "--out", os.path.join(tmp, "pipe")],
                               input=data, capture_output=True)
            err = p.stderr.decode()
            check(p.returncode != 0 and "regular file" in err and "no id column" not in err,
                  f"embed {name}: {p.returncode} {err!r}")
        check(not os.path.exists(os.path.join(tmp, "pipe")), "a refused pipe left the --out folder")

        # Item 17: a folder left half-renamed (the npy of another run moved in
        # first, as embed's commit does): info and similar name the same pair.
        other = os.path.join(tmp, "other")
        p = embed(src, other, "--pooling", "cls", "--db-vectors")
        check(p.returncode == 0, f"second embed: {p.stderr!r}")
        half = os.path.join(tmp, "half")
        shutil.copytree(out, half)
        shutil.copy(os.path.join(other, "embeddings.npy"), os.path.join(half, "embeddings.npy"))
        info = run("info", half, "--json")
        problems = json.loads(info.stdout).get("problems", []) if info.stdout else []
        check(info.returncode == 1 and len(problems) == 2, f"info problems: {problems}")
        check(problems and "papers.db" in problems[0] and "papers.index" in problems[-1], f"pairs: {problems}")
        paper = rows[1][rows[0].index("paper_id")]
        sim = run("similar", half, paper)
        check(sim.returncode != 0 and problems and problems[0] in sim.stderr,
              f"similar names another pair: {sim.stderr!r} vs {problems[:1]}")
        srch = run("search", half, "graph")
        check(srch.returncode != 0 and problems and problems[0] in srch.stderr, f"search: {srch.stderr!r}")

    return report("test_query_edges.py")


if __name__ == "__main__":
    sys.exit(main())

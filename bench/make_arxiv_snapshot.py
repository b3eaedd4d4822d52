#!/usr/bin/env python3
"""Writes N synthetic records in the format of arXiv's metadata snapshot
(arxiv-metadata-oai-snapshot.json: one JSON object a line, the same keys),
for scale runs (docs/SCALE.md). Deterministic for a given N and seed; the
abstracts are about as long as real ones (~1,000 characters).

  bench/make_arxiv_snapshot.py N OUT.jsonl [--seed S] [--start I]
--start numbers the ids from I (a second file of new papers for `add`)."""
import argparse
import json
import random

WORDS = ("model data learning network quantum field theory graph neural method results we show that "
         "the of and a in for with on by from energy spin algebra manifold galaxy star dark matter "
         "optimal bound proof estimate transformer attention protein cell gene language inference "
         "stochastic process equation boundary flow turbulence lattice gauge symmetry topological "
         "phase transition entropy information channel code decoder sparse convex gradient descent").split()
CATS = ["cs.CL", "cs.LG", "cs.AI", "cs.CV", "hep-th", "hep-ph", "quant-ph", "math.PR", "math.AG",
        "astro-ph.GA", "cond-mat.str-el", "stat.ML", "q-bio.NC", "physics.flu-dyn"]


def record(i, rng):
    yymm = 701 + (i // 20000) % 1700
    year = 2000 + yymm // 100
    pid = f"{yymm // 100:02d}{yymm % 100 % 12 + 1:02d}.{i % 100000:05d}" if i < 10**9 else str(i)
    pid = f"{pid}-{i // 100000}" if i >= 100000 else pid
    words = lambda n: " ".join(rng.choice(WORDS) for _ in range(n))
    return {
        "id": pid, "submitter": "A. Author", "authors": "A. Author, B. Author",
        "title": words(rng.randint(6, 14)).capitalize(),
        "comments": f"{rng.randint(5, 40)} pages", "journal-ref": None, "doi": None, "report-no": None,
        "categories": " ".join(rng.sample(CATS, rng.randint(1, 3))),
        "license": None, "abstract": "  " + words(rng.randint(110, 190)) + ".\n",
        "versions": [{"version": "v1", "created": f"Mon, 2 Apr {year} 19:18:42 GMT"}],
        "update_date": f"{year}-04-03", "authors_parsed": [["Author", "A.", ""], ["Author", "B.", ""]],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--start", type=int, default=0)
    a = ap.parse_args()
    rng = random.Random(a.seed * 1_000_003 + a.start)
    with open(a.out, "w", encoding="utf-8") as f:
        for i in range(a.start, a.start + a.n):
            f.write(json.dumps(record(i, rng)) + "\n")


if __name__ == "__main__":
    main()

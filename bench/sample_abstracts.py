#!/usr/bin/env python3
"""N real abstracts for the benchmarks, as JSON Lines {"text": ...}: the
papers of tests/fixtures/data/arxiv-papers.csv with an abstract, ordered by
id, N taken at even steps; the same texts for every engine and run.

  /usr/bin/python3 bench/sample_abstracts.py N > texts.jsonl"""
import csv
import json
import sys

n = int(sys.argv[1])
rows = sorted((r for r in csv.DictReader(open("tests/fixtures/data/arxiv-papers.csv", newline="", encoding="utf-8"))
               if r["abstract"].strip()), key=lambda r: r["paper_id"])
step = len(rows) / n
for i in range(n):
    print(json.dumps({"text": rows[int(i * step)]["abstract"]}))

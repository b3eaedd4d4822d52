#!/usr/bin/env bash
# Cold start of a single query (issue: throughput): `scivec search DIR "query"`
# on a 10,000-paper output with the random BERT-base checkpoint, against the
# same query in Python (import torch, load the checkpoint, forward, faiss
# search, SQLite titles: bench/cold_start_query.py).
#
#     bench/cold_start.sh [N_PAPERS=10000] [REPEATS=5]
#
# The output folder is made once with `scivec embed --max-length 3` ([CLS],
# one token, [SEP]: minutes, not hours): what a search loads - the
# model, the 10,000 x 768 index, the database - does not depend on the
# texts. The page cache is warm (the second and later runs), as for anyone
# who searches twice; the first run is printed too.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
REPEATS=${2:-5}
BUILD=${SCIVEC_BUILD:-build-bench}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j 2 --target scivec >/dev/null
SCIVEC=$BUILD/scivec
MODEL=bench/models/bert-base
OUT=bench/models/papers-$N
QUERY="graph neural networks for molecule property prediction"
[ -f "$MODEL/model.safetensors" ] || /usr/bin/python3 bench/make_bert_base.py "$MODEL"
if [ ! -f "$OUT/metadata.json" ]; then
  /usr/bin/python3 - "$N" > "$OUT.csv" <<'PY'
import csv, sys
n = int(sys.argv[1])
rows = sorted(csv.DictReader(open("tests/fixtures/data/arxiv-papers.csv", newline="", encoding="utf-8")),
              key=lambda r: r["paper_id"])
w = csv.DictWriter(sys.stdout, fieldnames=list(rows[0].keys()))
w.writeheader()
for i in range(n):  # more papers than the file holds: copies with new ids
    r = dict(rows[i % len(rows)])
    if i >= len(rows):
        r["paper_id"] = f"{r['paper_id']}-copy{i // len(rows)}"
    w.writerow(r)
PY
  "$SCIVEC" embed "$OUT.csv" --model "$MODEL" --out "$OUT" --max-length 3 --threads 1 2>/dev/null
fi
echo "{\"text\": \"$QUERY\"}" | "$SCIVEC" tokenize --model "$MODEL" > "$OUT.query.jsonl"

run() {  # label command...: wall seconds and peak RSS of one run
  /usr/bin/time -f '%e %M' -o /tmp/cold_start_time.$$ "${@:2}" > /dev/null
  read -r wall rss < /tmp/cold_start_time.$$
  echo "$1 $wall $rss"
}
{
  for rep in $(seq "$REPEATS"); do
    run scivec "$SCIVEC" search "$OUT" "$QUERY" -k 10 --threads 1
    run python /usr/bin/python3 bench/cold_start_query.py "$MODEL" "$OUT" "$OUT.query.jsonl"
  done
} | tee /tmp/cold_start_runs.$$
/usr/bin/python3 - /tmp/cold_start_runs.$$ "$N" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    label, wall, rss = line.split()
    runs.setdefault(label, []).append((float(wall), int(rss)))
print(f"\ncold start, one query on {sys.argv[2]} papers (BERT-base, 1 thread):")
for label, rs in runs.items():
    walls = [w for w, _ in rs]
    print(f"  {label:7} first {walls[0]:.2f} s, median {statistics.median(walls):.2f} s, "
          f"min {min(walls):.2f} s, peak RSS {max(r for _, r in rs) / 1024:.0f} MB")
PY
rm -f /tmp/cold_start_runs.$$ /tmp/cold_start_time.$$

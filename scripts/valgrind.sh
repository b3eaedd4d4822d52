#!/usr/bin/env bash
# Valgrind memcheck over the end-to-end commands on a small sample with the
# tiny fixture model: embed (CSV and JSON Lines), --resume after a stop,
# info, similar, search, encode, tokenize. Every run must report no errors
# and no definite or indirect leaks (--error-exitcode=1); the exit status is
# 1 if any did. Uses its own build (build-valgrind: RelWithDebInfo, no
# -march=native so valgrind knows every instruction).
#   scripts/valgrind.sh             (about 2 minutes on 2 cores, build included)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
cmake -S . -B build-valgrind -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSCIVEC_NATIVE=OFF >/dev/null
cmake --build build-valgrind -j "$(nproc)" --target scivec >/dev/null
bin=$PWD/build-valgrind/scivec
model=$PWD/tests/fixtures/models/tiny-scibert
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# 40 papers from the CSV fixture (records may span lines: cut with Python's csv).
/usr/bin/python3 - "$work" <<'EOF'
import csv, sys
csv.field_size_limit(1 << 30)
rows = list(csv.reader(open("tests/fixtures/data/arxiv-papers.csv", newline="", encoding="utf-8")))
with open(sys.argv[1] + "/papers.csv", "w", newline="", encoding="utf-8") as f:
    csv.writer(f).writerows(rows[:41])
with open(sys.argv[1] + "/queries.jsonl", "w") as f:
    f.write('{"text": "graph neural networks for molecules"}\n{"text": "a", "text_pair": "naïve b"}\n')
EOF
head -n 8 tests/fixtures/data/arxiv-metadata-oai-snapshot.sample.jsonl > "$work/papers.jsonl"

export OMP_NUM_THREADS=1
vg=(valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect --track-origins=yes --num-callers=30)
failed=0
run() {   # run NAME EXPECTED_STATUS STDIN ARGS...
  local name=$1 want=$2 input=$3; shift 3
  local status=0
  "${vg[@]}" --log-file="$work/vg-$name.log" "$bin" "$@" <"$input" >"$work/out-$name.txt" \
      2>"$work/err-$name.txt" || status=$?
  if [ "$status" != "$want" ] || [ -s "$work/vg-$name.log" ]; then
    echo "valgrind: $name: FAILED (exit $status, want $want)"
    cat "$work/vg-$name.log" "$work/err-$name.txt" | head -60
    failed=1
  else
    echo "valgrind: $name: clean (exit $status)"
  fi
}
id=$(sed -n 2p "$work/papers.csv" | cut -d, -f1)
n=/dev/null
run embed-csv 0 $n embed "$work/papers.csv" --model "$model" --out "$work/out" --max-length 64 --threads 1
run embed-jsonl 0 $n embed "$work/papers.jsonl" --model "$model" --out "$work/out-jsonl" --id-column id \
    --max-length 64 --threads 1
run info 0 $n info "$work/out"
run similar 0 $n similar "$work/out" "$id" -k 3 --json
run search 0 $n search "$work/out" "quantum field theory" -k 3 --threads 1
run encode 0 "$work/queries.jsonl" encode --model "$model" --out "$work/q.npy" --threads 1
run tokenize 0 "$work/queries.jsonl" tokenize --model "$model"
# Errors are clean too: a missing paper, a folder that is not an output,
# a second embed without --resume over a leftover work dir.
run similar-missing 1 $n similar "$work/out" no-such-paper
run info-empty 1 $n info "$work"
mkdir "$work/out/.scivec-work"
run embed-leftover 1 $n embed "$work/papers.csv" --model "$model" --out "$work/out" --max-length 64 --threads 1
if [ "$failed" = 0 ]; then echo "valgrind: all runs clean"; fi
exit "$failed"

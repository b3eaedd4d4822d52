#!/usr/bin/env bash
# The measured runs of docs/SCALE.md: embed (time, peak RSS) at several
# sizes of a synthetic arXiv snapshot, `add` of 100 new papers to each
# folder, and shard + merge against a single run, with the tiny test model.
#   bench/scale_runs.sh WORKDIR "10000 100000" [MAX_LENGTH] [THREADS]
# Needs build/scivec; writes WORKDIR/scale.log (and prints it).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=$1 sizes=$2 maxlen=${3:-64} threads=${4:-2}
scivec=$here/build/scivec model=$here/tests/fixtures/models/tiny-scibert
mkdir -p "$work"
cd "$work"
log=$work/scale.log
measure() {   # label command...: wall seconds and peak RSS
  local label=$1; shift
  /usr/bin/time -f "$label: %e s wall, peak RSS %M KB" "$@" 2>>"$log.err" >/dev/null
  tail -n 1 "$log.err" | tee -a "$log"
}
echo "# $(date -u +%FT%TZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) nproc=$(nproc) load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$log"
python3 "$here/bench/make_arxiv_snapshot.py" 100 new100.jsonl --start 50000000
for n in $sizes; do
  [ -f "s$n.jsonl" ] || python3 "$here/bench/make_arxiv_snapshot.py" "$n" "s$n.jsonl"
  rm -rf "d$n"
  measure "embed $n (max_length $maxlen, $threads threads)" \
    "$scivec" embed "s$n.jsonl" --model "$model" --out "d$n" --max-length "$maxlen" --threads "$threads"
  measure "add 100 to $n" "$scivec" add "d$n" new100.jsonl --threads "$threads"
  echo "disk d$n: $(du -sk "d$n" | cut -f1) KB ($(du -k "d$n"/* | tr '\n\t' '  '))" | tee -a "$log"
done

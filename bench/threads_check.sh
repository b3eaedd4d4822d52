#!/usr/bin/env bash
# --threads N honoured exactly? Runs `scivec encode --threads N` on the
# benchmark model and samples /proc/PID/task every 0.2 s: prints how many
# threads the process has and how many of them did work (CPU time > 0.2 s).
#
#     bench/threads_check.sh [N_THREADS=1] [N_TEXTS=16]
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-1}
N=${2:-16}
BUILD=${SCIVEC_BUILD:-build-bench}
MODEL=bench/models/bert-base
[ -f "$MODEL/model.safetensors" ] || /usr/bin/python3 bench/make_bert_base.py "$MODEL"
texts=$(mktemp)
trap 'rm -f "$texts"' EXIT
/usr/bin/python3 - "$N" > "$texts" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open("tests/fixtures/data/arxiv-papers.csv", newline="", encoding="utf-8")))
for r in rows[:int(sys.argv[1])]:
    print(json.dumps({"text": r["abstract"]}))
PY
"$BUILD/scivec" encode --model "$MODEL" --pooling mean --threads "$THREADS" --out /dev/null < "$texts" 2>/dev/null &
pid=$!
declare -A cpu
tick=$(getconf CLK_TCK)
while kill -0 "$pid" 2>/dev/null; do
  for stat in /proc/$pid/task/*/stat; do
    read -r -a f < "$stat" 2>/dev/null || continue
    tid=${f[0]}
    cpu[$tid]=$(( f[13] + f[14] ))   # utime + stime in ticks (comm has no spaces here)
  done
  sleep 0.2
done
wait "$pid" || true
busy=0
for tid in "${!cpu[@]}"; do
  (( cpu[$tid] * 5 > tick )) && busy=$((busy + 1))
done
echo "--threads $THREADS: ${#cpu[@]} threads seen, $busy did work (> 0.2 s CPU each):"
for tid in "${!cpu[@]}"; do printf '  tid %s: %.2f s\n' "$tid" "$(echo "${cpu[$tid]} / $tick" | bc -l)"; done

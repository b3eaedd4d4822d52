#!/usr/bin/env bash
# scivec's fp32 forward against the SGEMM rate, without the other engines of
# bench/run.sh (minutes instead of half an hour on 2 cores):
#
#     bench/fp32_rate.sh [N_TEXTS=64] [REPEATS=3] [THREADS=1]
#
# Each repeat: bench_sgemm, a whole `scivec encode --pooling mean` of N real
# abstracts (random-weight BERT-base, as bench/run.sh), bench_sgemm again.
# Then bench_forward (the forward alone, SGEMM interleaved in its process)
# at three shapes. Prints each encode's GFLOP/s (useful FLOPs, counted as
# bench/run.sh counts them) against the SGEMM measured right before and
# after it: the best product and the sustained rate.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-64}
REPEATS=${2:-3}
THREADS=${3:-1}
BUILD=${SCIVEC_BUILD:-build-bench}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j 2 --target scivec bench_sgemm bench_forward >/dev/null
MODEL=bench/models/bert-base
[ -f "$MODEL/model.safetensors" ] || /usr/bin/python3 bench/make_bert_base.py "$MODEL"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 bench/sample_abstracts.py "$N" > "$work/texts.jsonl"
"$BUILD/scivec" tokenize --model "$MODEL" < "$work/texts.jsonl" > "$work/ids.jsonl"
cat /proc/loadavg > "$work/load_start"
for rep in $(seq "$REPEATS"); do
  "$BUILD"/bench/bench_sgemm "$THREADS" >> "$work/peaks.jsonl"
  /usr/bin/time -f '%e %U %S' -o "$work/time" "$BUILD/scivec" encode --model "$MODEL" \
      --pooling mean --threads "$THREADS" --out "$work/v.npy" < "$work/texts.jsonl" 2>/dev/null
  cat "$work/time" >> "$work/times"
  "$BUILD"/bench/bench_sgemm "$THREADS" >> "$work/peaks.jsonl"
done
for shape in "236 32" "118 64" "512 8"; do
  "$BUILD"/bench/bench_forward "$MODEL" "$THREADS" $shape 3 >> "$work/forward.jsonl"
done
/usr/bin/python3 - "$work" "$MODEL" <<'PY'
import json, sys
work, model = sys.argv[1], sys.argv[2]
cfg = json.load(open(f"{model}/config.json"))
H, I, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
lens = [len(json.loads(l)["input_ids"]) for l in open(f"{work}/ids.jsonl")]
flop = sum(L * (n * (8 * H * H + 4 * H * I) + 4 * n * n * H) for n in lens)
peaks = [json.loads(l) for l in open(f"{work}/peaks.jsonl")]
times = [list(map(float, l.split())) for l in open(f"{work}/times")]
print(f"{len(lens)} abstracts, {sum(lens)} tokens, {flop / 1e9:.0f} GFLOP")
for i, (wall, user, sys_) in enumerate(times):
    rate = flop / wall / 1e9
    best = (peaks[2 * i]["gflops"] + peaks[2 * i + 1]["gflops"]) / 2
    sus = (peaks[2 * i]["sustained_gflops"] + peaks[2 * i + 1]["sustained_gflops"]) / 2
    print(f"encode {i + 1}: {wall:.2f} s wall, {user + sys_:.2f} CPU s, {rate:.1f} GFLOP/s = "
          f"{100 * rate / best:.1f}% of the best product around it ({best:.1f}), "
          f"{100 * rate / sus:.1f}% of the sustained rate ({sus:.1f})")
top = max(p["gflops"] for p in peaks)
print(f"best encode against the run's best product ({top:.1f}): "
      f"{100 * flop / min(t[0] for t in times) / 1e9 / top:.1f}%")
for l in open(f"{work}/forward.jsonl"):
    f = json.loads(l)
    print(f"forward alone {f['n_seqs']} x {f['seq_len']}: {f['forward_gflops']:.1f} GFLOP/s, "
          f"{f['forward_pct_peak']:.1f}% of its best product, {f['forward_pct_sustained']:.1f}% of sustained")
print("load average at the start:", open(f"{work}/load_start").read().split()[:3],
      "at the end:", open("/proc/loadavg").read().split()[:3])
PY

#!/usr/bin/env bash
# The throughput benchmark (issue: throughput). One command, rerunnable:
#
#     bench/run.sh [N_TEXTS=64] [REPEATS=2]
#
# In one run it measures: this machine's SGEMM peak (OpenBLAS, 1 and 2 threads),
# scivec encode on N real abstracts from tests/fixtures/data/arxiv-papers.csv with a
# random-weight BERT-base checkpoint in HF layout (generated into bench/models/, never
# committed), and the PyTorch anchor (bench/torch_reference.py, /usr/bin/python3 +
# Debian python3-torch) on the same token ids, at 1 and 2 threads, interleaved
# A B A B. Prints a table and writes bench/results/throughput-<date>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-64}
REPEATS=${2:-2}
scripts/install-deps.sh --bench >/dev/null
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
SCIVEC=build/scivec
MODEL=bench/models/bert-base
mkdir -p bench/results bench/models
[ -f "$MODEL/model.safetensors" ] || /usr/bin/python3 bench/make_bert_base.py "$MODEL"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Sorted sample: papers ordered by id, N taken at even steps; same texts for every engine.
/usr/bin/python3 - "$N" > "$work/texts.jsonl" <<'PY'
import csv, json, sys
n = int(sys.argv[1])
rows = sorted((r for r in csv.DictReader(open("tests/fixtures/data/arxiv-papers.csv", newline="", encoding="utf-8"))
               if r["abstract"].strip()), key=lambda r: r["paper_id"])
step = len(rows) / n
for i in range(n):
    print(json.dumps({"text": rows[int(i * step)]["abstract"]}))
PY
"$SCIVEC" tokenize --model "$MODEL" < "$work/texts.jsonl" > "$work/ids.jsonl"

peak1=$(build/bench/bench_sgemm 1 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["gflops"])')
peak2=$(build/bench/bench_sgemm 2 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["gflops"])')

results="$work/runs.jsonl"
for rep in $(seq "$REPEATS"); do
  for threads in 1 2; do
    /usr/bin/time -f '%e %M' -o "$work/time" "$SCIVEC" encode --model "$MODEL" --pooling mean \
        --threads "$threads" --out "$work/scivec.npy" < "$work/texts.jsonl" 2>/dev/null
    read -r wall rss < "$work/time"
    echo "{\"engine\": \"scivec\", \"threads\": $threads, \"seconds\": $wall, \"peak_rss_kb\": $rss}" >> "$results"
    /usr/bin/time -f '%e %M' -o "$work/time" /usr/bin/python3 bench/torch_reference.py "$MODEL" "$work/ids.jsonl" \
        --threads "$threads" --pooling mean --out "$work/torch.npy" > "$work/torch.json"
    read -r wall rss < "$work/time"
    /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps({"engine": "pytorch", "threads": int(sys.argv[2]), "seconds": d["seconds"], "wall_seconds": float(sys.argv[3]), "peak_rss_kb": int(sys.argv[4])}))' \
        "$work/torch.json" "$threads" "$wall" "$rss" >> "$results"
  done
done

/usr/bin/python3 - "$work" "$MODEL" "$peak1" "$peak2" <<'PY'
import json, os, sys, time
import numpy as np
work, model, peak1, peak2 = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
cfg = json.load(open(f"{model}/config.json"))
H, I, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
seqs = [json.loads(l) for l in open(f"{work}/ids.jsonl")]
lens = [len(s["input_ids"]) for s in seqs]
# FLOPs actually needed (no padding): dense layers + attention matmuls.
flop = sum(L * (n * (8 * H * H + 4 * H * I) + 4 * n * n * H) for n in lens)
runs = [json.loads(l) for l in open(f"{work}/runs.jsonl")]
diff = float(np.abs(np.load(f"{work}/scivec.npy") - np.load(f"{work}/torch.npy")).max())
best = {}
for r in runs:  # best of the repeats, per engine and thread count
    key = (r["engine"], r["threads"])
    if key not in best or r["seconds"] < best[key]["seconds"]:
        best[key] = r
rows = []
print(f"\n{len(seqs)} abstracts, {sum(lens)} tokens (mean {sum(lens)/len(lens):.0f}), "
      f"{flop/1e9:.1f} GFLOP; SGEMM peak {peak1:.1f} GFLOP/s (1 thread), {peak2:.1f} (2 threads); "
      f"max |scivec - pytorch| = {diff:.2e}\n")
print(f"{'engine':8} {'thr':>3} {'papers/s':>9} {'tokens/s':>9} {'GFLOP/s':>8} {'% peak':>7} {'RSS MB':>7} {'vs torch':>8}")
for threads, peak in ((1, peak1), (2, peak2)):
    t = best[("pytorch", threads)]["seconds"]
    for engine in ("pytorch", "scivec"):
        r = best[(engine, threads)]
        s = r["seconds"]
        row = dict(engine=engine, threads=threads, seconds=s, papers_per_s=len(seqs) / s,
                   tokens_per_s=sum(lens) / s, gflops=flop / s / 1e9, pct_peak=100 * flop / s / 1e9 / peak,
                   peak_rss_mb=r["peak_rss_kb"] / 1024, vs_pytorch=t / s)
        rows.append(row)
        print(f"{engine:8} {threads:3d} {row['papers_per_s']:9.2f} {row['tokens_per_s']:9.0f} {row['gflops']:8.1f} "
              f"{row['pct_peak']:6.1f}% {row['peak_rss_mb']:7.0f} {row['vs_pytorch']:7.2f}x")
sc = {r["threads"]: r for r in rows if r["engine"] == "scivec"}
print(f"\nscivec 2-thread scaling: {sc[2]['tokens_per_s']/sc[1]['tokens_per_s']:.2f}x; "
      "scivec times are whole-process wall (load + tokenize + encode), pytorch times the encode loop only.")
os.makedirs("bench/results", exist_ok=True)
out = f"bench/results/throughput-{time.strftime('%Y%m%d-%H%M%S')}.json"
json.dump(dict(n_texts=len(seqs), tokens=sum(lens), gflop=flop / 1e9, sgemm_peak={"1": peak1, "2": peak2},
               max_abs_diff_vs_pytorch=diff, rows=rows, runs=runs), open(out, "w"), indent=1)
print(f"results: {out}")
PY

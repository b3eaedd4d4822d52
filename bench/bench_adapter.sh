#!/usr/bin/env bash
# What a SPECTER2-style bottleneck adapter costs on top of the base forward.
#
#     bench/bench_adapter.sh [N_TEXTS=16] [REPEATS=3] [THREADS=1]
#
# Times `scivec encode` on N real abstracts (tests/fixtures/data/arxiv-papers.csv)
# with a random-weight BERT-base (bench/make_bert_base.py, written to
# $BERT_BASE, default /tmp/scivec-bert-base, never committed), without and with a
# random seq_bn adapter of reduction factor 16 (bottleneck 48; written with numpy
# as adapter.safetensors + adapter_config.json next to it), interleaved A B A B.
# Reports, best of the repeats, the encode wall time scivec prints (tokenize +
# forward + pooling, model loading excluded) and the process's CPU time
# (user + sys, loading included: mmap, cheap), and the adapter's % extra on
# each. On a shared machine trust the CPU time, single-threaded, over the wall.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-16}
REPEATS=${2:-3}
THREADS=${3:-1}
BUILD=${SCIVEC_BUILD:-build-bench}
MODEL=${BERT_BASE:-/tmp/scivec-bert-base}
ADAPTER="$MODEL-adapter-rf16"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j 2 --target scivec >/dev/null
SCIVEC=$BUILD/scivec
[ -f "$MODEL/model.safetensors" ] || /usr/bin/python3 bench/make_bert_base.py "$MODEL"

# a random seq_bn adapter, as AdapterHub saves one (names with the "bert." prefix)
[ -f "$ADAPTER/adapter.safetensors" ] || /usr/bin/python3 - "$ADAPTER" <<'PY'
import json, os, struct, sys
import numpy as np
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
hidden, layers, factor = 768, 12, 16
r = hidden // factor
config = json.load(open("tests/fixtures/models/tiny-scibert-adapters/proximity/adapter_config.json"))
config["hidden_size"] = hidden
config["name"] = "bench"
config["config"]["reduction_factor"] = factor
json.dump(config, open(os.path.join(out, "adapter_config.json"), "w"), indent=2, sort_keys=True)
rng = np.random.default_rng(0)
tensors = []
for i in range(layers):
    p = f"bert.encoder.layer.{i}.output.adapters.bench."
    tensors += [(p + "adapter_down.0.weight", rng.normal(0, 0.02, (r, hidden))),
                (p + "adapter_down.0.bias", rng.normal(0, 0.02, (r,))),
                (p + "adapter_up.weight", rng.normal(0, 0.02, (hidden, r))),
                (p + "adapter_up.bias", rng.normal(0, 0.02, (hidden,)))]
header, blobs, offset = {}, [], 0
for name, t in tensors:
    b = t.astype("<f4").tobytes()
    header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
    blobs.append(b)
    offset += len(b)
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
with open(os.path.join(out, "adapter.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
PY

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 bench/sample_abstracts.py "$N" > "$work/texts.jsonl"

# run LABEL [ARGS...]: one encode; appends "LABEL WALL TOKENS CPU" to $work/times
run() {
  local label=$1; shift
  /usr/bin/time -f '%U %S' -o "$work/time" \
    "$SCIVEC" encode --model "$MODEL" --pooling mean --threads "$THREADS" --out "$work/$label.npy" "$@" \
      < "$work/texts.jsonl" 2> "$work/err" || { cat "$work/err" >&2; exit 1; }
  read -r user sys < "$work/time"
  sed -n 's/.* texts, \([0-9]*\) tokens in \([0-9.]*\) s.*/\2 \1/p' "$work/err" \
    | sed "s/^/$label /; s/\$/ $(echo "$user + $sys" | bc)/" >> "$work/times"
}
for rep in $(seq "$REPEATS"); do
  run base
  run adapter --adapter "$ADAPTER"
done
/usr/bin/python3 - "$work/times" "$N" "$THREADS" <<'PY'
import sys
wall, cpu = {}, {}
for line in open(sys.argv[1]):
    label, seconds, tokens, cpu_seconds = line.split()
    wall.setdefault(label, []).append(float(seconds))
    cpu.setdefault(label, []).append(float(cpu_seconds))
    n_tokens = int(tokens)
print(f"scivec encode, random BERT-base, {sys.argv[2]} abstracts ({n_tokens} tokens), "
      f"{sys.argv[3]} thread(s), mean pooling; best of {len(wall['base'])}")
for name, t in (("encode wall", wall), ("process cpu", cpu)):
    base, adapter = min(t["base"]), min(t["adapter"])
    print(f"  {name}: base {base:.2f} s, + seq_bn adapter rf 16 {adapter:.2f} s -> "
          f"adapter extra {100 * (adapter / base - 1):+.1f} %   (all: base {t['base']}, "
          f"adapter {t['adapter']})")
PY

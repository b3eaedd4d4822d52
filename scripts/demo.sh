#!/usr/bin/env bash
# The main job, end to end (the README's first command): installs the
# dependencies, builds scivec, embeds the bundled sample of 300 real arXiv
# papers (data/arxiv-sample.csv) and prints the 5 papers most similar to one
# of them, as the original notebook did.
#
#   scripts/demo.sh                 paper 0704.0001
#   scripts/demo.sh 0704.0059       another paper of data/arxiv-sample.csv
#
# Model: $SCIVEC_MODEL (a model directory or an HF repo id in the local HF
# cache) if set; else allenai/specter2_base if it is in the HF cache; else the
# tiny random test model bundled with the tests, which runs everywhere but
# whose similarities mean nothing (it says so). Nothing is downloaded.
# Output: build/demo/ (override with $SCIVEC_DEMO_OUT).
set -euo pipefail
cd "$(dirname "$0")/.."

paper=${1:-0704.0001}
input=data/arxiv-sample.csv
out=${SCIVEC_DEMO_OUT:-build/demo}

scripts/install-deps.sh
echo "demo: building scivec (build/)"
cmake -S . -B build >/dev/null
if ! cmake --build build -j "$(nproc)" --target scivec >build/demo-build.log 2>&1; then
    cat build/demo-build.log
    echo "demo: the build failed (log above, also in build/demo-build.log)" >&2
    exit 1
fi
scivec=build/scivec

# The HF cache scivec itself searches: $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub.
hub=${HF_HUB_CACHE:-${HF_HOME:+$HF_HOME/hub}}
hub=${hub:-$HOME/.cache/huggingface/hub}

meaningful=1
embed_flags=(--recipe specter2)
if [ -n "${SCIVEC_MODEL:-}" ]; then
    model=$SCIVEC_MODEL
    echo "demo: model $model (from \$SCIVEC_MODEL)"
elif compgen -G "$hub/models--allenai--specter2_base/snapshots/*/config.json" >/dev/null; then
    model=allenai/specter2_base
    echo "demo: model $model (found in the HF cache $hub)"
else
    model=tests/fixtures/models/tiny-scibert
    meaningful=0
    # Its random CLS vectors are nearly all alike (every similarity would
    # print as 1.0000); mean pooling at least spreads them out.
    embed_flags+=(--pooling mean)
    cat <<EOF
demo: NOTE: no real model here (no \$SCIVEC_MODEL, no allenai/specter2_base in $hub)
demo: and no network to fetch one, so this runs on the bundled TINY RANDOM TEST MODEL
demo: ($model: 2 layers, random weights). The pipeline is real, but the
demo: similarities below are MEANINGLESS. For real results:
demo:   SCIVEC_MODEL=/path/to/specter2_base scripts/demo.sh     (or put it in the HF cache)
EOF
fi

# SPECTER2's recipe (title [SEP] abstract, CLS pooling, 512 tokens): what
# the model is trained for; the tiny model runs the same texts.
rm -rf "$out"
echo "demo: embedding the papers of $input -> $out"
"$scivec" embed "$input" --model "$model" "${embed_flags[@]}" --out "$out"

echo
"$scivec" info "$out" | sed -n '/^files:/,$p'
echo
"$scivec" similar "$out" "$paper" -k 5
if [ "$meaningful" = 0 ]; then
    echo
    echo "demo: (tiny random test model: the ranking above is meaningless; see the NOTE at the top)"
fi
echo
echo "demo: more queries on this output:"
echo "  $scivec similar $out $paper -k 10 --json"
echo "  $scivec similar $out $paper --category hep-ph --year 2007"
echo "  $scivec search $out \"quantum error correction\" -k 5"

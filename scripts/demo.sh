#!/usr/bin/env bash
# The main job, end to end (the README's first command): installs the
# dependencies, builds scivec, embeds the bundled sample of 300 real arXiv
# papers (data/arxiv-sample.csv) and prints the 5 papers most similar to one
# of them, as the original notebook did.
#
#   scripts/demo.sh                 paper 0704.0001
#   scripts/demo.sh 0704.0059       another paper of data/arxiv-sample.csv
#
# Model: $SCIVEC_MODEL (a model directory or an HF repo id) if set; else the
# real SPECTER2 (allenai/specter2_base with its proximity and adhoc_query
# adapters) when the hub answers within 5 s (downloaded into the HF cache,
# ~450 MB once) or all three are already in the HF cache; else the tiny random
# test model bundled with the tests, which runs everywhere but whose
# similarities mean nothing (it says so).
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

endpoint=${HF_ENDPOINT:-https://huggingface.co}

# All three SPECTER2 repos complete in the cache (weights last, docs/HUB.md).
specter2_cached() {
    compgen -G "$hub/models--allenai--specter2_base/snapshots/*/config.json" >/dev/null &&
    compgen -G "$hub/models--allenai--specter2/snapshots/*/adapter_config.json" >/dev/null &&
    compgen -G "$hub/models--allenai--specter2_adhoc_query/snapshots/*/adapter_config.json" >/dev/null
}

# Online means the hub answers the revision API within 5 s (never when
# HF_HUB_OFFLINE is set, or without curl to ask).
hub_reachable() {
    case "${HF_HUB_OFFLINE:-}" in 1|true|TRUE|yes|YES|on|ON) return 1 ;; esac
    command -v curl >/dev/null || return 1
    curl -fs -o /dev/null --max-time 5 "$endpoint/api/models/allenai/specter2_base/revision/main"
}

meaningful=1
embed_flags=(--recipe specter2)
if [ -n "${SCIVEC_MODEL:-}" ]; then
    model=$SCIVEC_MODEL
    echo "demo: model $model (from \$SCIVEC_MODEL)"
elif specter2_cached; then
    model=allenai/specter2_base
    echo "demo: model $model with its adapters (found in the HF cache $hub)"
elif hub_reachable; then
    model=allenai/specter2_base
    echo "demo: the hub at $endpoint answers: downloading SPECTER2 (base, proximity, adhoc_query) into $hub"
    for repo in allenai/specter2_base allenai/specter2 allenai/specter2_adhoc_query; do
        "$scivec" fetch "$repo" >/dev/null
    done
else
    model=tests/fixtures/models/tiny-scibert
    meaningful=0
    # Its random CLS vectors are nearly all alike (every similarity would
    # print as 1.0000); mean pooling at least spreads them out.
    embed_flags+=(--pooling mean)
    cat <<EOF
demo: NOTE: OFFLINE: no real model here (no \$SCIVEC_MODEL, SPECTER2 not in $hub)
demo: and the hub at $endpoint did not answer within 5 s, so this runs on the bundled TINY RANDOM TEST MODEL
demo: ($model: 2 layers, random weights). The pipeline is real, but the
demo: similarities below are MEANINGLESS. For real results:
demo:   scivec fetch allenai/specter2_base (and allenai/specter2, allenai/specter2_adhoc_query)
demo:   where the hub is reachable, then rerun; or SCIVEC_MODEL=/path/to/model scripts/demo.sh
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

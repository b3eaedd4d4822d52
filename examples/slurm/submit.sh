#!/bin/bash
# Submits the embed array and the merge that waits for it; prints both job ids.
#   examples/slurm/submit.sh INPUT MODEL OUT SHARDS [sbatch options for both jobs...]
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: $0 INPUT MODEL OUT SHARDS [sbatch options...]" >&2
  exit 2
fi
INPUT=$(realpath "$1") MODEL=$2 OUT=$(realpath -m "$3") SHARDS=$4
shift 4
here=$(dirname "$(realpath "$0")")
mkdir -p "$OUT"
export INPUT MODEL OUT SHARDS
array=$(sbatch --parsable --array=0-$((SHARDS - 1)) --output="$OUT/embed-%a.log" --export=ALL "$@" \
        "$here/embed.sbatch")
array=${array%%;*}
merge=$(sbatch --parsable --dependency=afterok:"$array" --output="$OUT/merge.log" --export=ALL "$@" \
        "$here/merge.sbatch")
echo "embed array: $array   merge: ${merge%%;*}"

#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs them.
#   scripts/fuzz.sh                 every target for 600 s (a campaign)
#   scripts/fuzz.sh --seconds N     every target for N s
#   scripts/fuzz.sh --smoke         replay each seed corpus once (regression test)
#   scripts/fuzz.sh --only NAME     one target (fuzz_NAME)
# New inputs found during a campaign go to fuzz/corpus-work/<name>/ (ignored);
# crashes are written as crash-* in the current folder.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=600 smoke=0 only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --smoke) smoke=1; shift ;;
    --only) only=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds N | --smoke] [--only NAME]" >&2; exit 2 ;;
  esac
done
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DSCIVEC_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j "$(nproc)" >/dev/null
for src in fuzz/fuzz_*.c; do
  name=$(basename "$src" .c); name=${name#fuzz_}
  [ -z "$only" ] || [ "$only" = "$name" ] || continue
  corpus=fuzz/corpus/$name
  mkdir -p "$corpus"
  if [ "$smoke" = 1 ]; then
    echo "fuzz smoke: $name ($(ls "$corpus" | wc -l) seeds)"
    ASAN_OPTIONS=detect_leaks=1 build-fuzz/fuzz/fuzz_$name -runs=0 "$corpus" 2>&1 | tail -1
  else
    mkdir -p "fuzz/corpus-work/$name"
    echo "fuzz: $name for ${seconds}s"
    build-fuzz/fuzz/fuzz_$name -max_total_time="$seconds" -print_final_stats=1 \
        "fuzz/corpus-work/$name" "$corpus" 2>&1 | grep -E "^(stat::number_of_executed_units|stat::peak_rss|#[0-9]+ +DONE)|ERROR|SUMMARY" || true
  fi
done

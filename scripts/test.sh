#!/usr/bin/env bash
# Sets up, builds and runs every test (the README's test command; .ci/run runs
# exactly this). SCIVEC_SANITIZE=1 builds and runs the suite under ASan+UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=build
flags=()
if [ "${SCIVEC_SANITIZE:-0}" = 1 ]; then
  build=build-asan
  flags+=(-DSCIVEC_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
fi
cmake -S . -B "$build" "${flags[@]}" >/dev/null
cmake --build "$build" -j "$(nproc)"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"

#!/usr/bin/env bash
# Sets up, builds and runs every test (the README's test command; .ci/run runs
# it plainly and with SCIVEC_SANITIZE=1).
#   SCIVEC_SANITIZE=1   build (build-asan/) and run the suite under
#                       AddressSanitizer + UndefinedBehaviorSanitizer: any
#                       memory error, leak or undefined behaviour fails its test
#   SCIVEC_SKIP_DEPS=1  do not run scripts/install-deps.sh first
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${SCIVEC_SKIP_DEPS:-0}" = 1 ] || scripts/install-deps.sh
build=build
flags=()
if [ "${SCIVEC_SANITIZE:-0}" = 1 ]; then
  build=build-asan
  flags+=(-DSCIVEC_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
  # Stop at the first error with a full report; leaks fail the process too.
  # Also for the scivec binary the Python tests run.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  # One known leak inside FAISS on a corrupt index (see the file).
  export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/scripts/lsan.supp:print_suppressions=0}
fi
cmake -S . -B "$build" "${flags[@]}" >/dev/null
cmake --build "$build" -j "$(nproc)"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"

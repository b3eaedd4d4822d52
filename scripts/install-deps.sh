#!/usr/bin/env bash
# Installs every system package scivec needs to build, test and run, on a
# fresh Debian 12. Idempotent: packages already present are skipped.
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh --bench  also the PyTorch reference for bench/
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libutf8proc-dev libcjson-dev libcsv-dev libsqlite3-dev sqlite3
  libblis-dev                            # the forward's GEMMs (src/nn/gemm.h)
  libdnnl-dev                            # bf16 / int8 dense layers (src/nn/lowp.h)
  libfaiss-dev liblapack-dev libblas3    # FAISS; reference LAPACK/BLAS (CMakeLists.txt says why)
  libzip-dev
  libssl-dev                             # OpenSSL's SHA-256 (run fingerprints)
  libcurl4-openssl-dev libmicrohttpd-dev  # HF hub downloads; scivec serve
  curl                                   # scripts/demo.sh asks whether the hub answers
  python3-numpy python3-faiss            # the real Python client in tests
  python3-pip python3-setuptools python3-pytest python3-tqdm python3-pandas  # python/ (pip install ./python, its tests)
  jupyter-nbconvert python3-jupyter-client python3-ipykernel  # examples/arxiv_notebook.ipynb executed in CTest
  clang libclang-rt-14-dev               # libFuzzer targets
  valgrind
  qemu-user                              # test_portable.py: the binary under -cpu Haswell / Nehalem
  chromium wrk xxd                       # browser test of the web page, load test, page embedding
  slurm-wlm munge                        # tests/test_slurm.py: a one-node cluster for examples/slurm
)
if [ "${1:-}" = "--bench" ]; then
  packages+=(python3-torch libopenblas0 libdnnl2)  # the reference; OpenBLAS and oneDNN for bench_sgemm's comparison
  # bench/ort_run.js: ONNX Runtime (npm onnxruntime-node, into bench/ort); a
  # node from elsewhere (nodesource) brings its own npm, which Debian's conflicts with
  command -v npm >/dev/null || packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"

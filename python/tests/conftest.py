"""What the Python package's tests share: the CLI they compare against
(SCIVEC), the tiny model, the bundled papers, and one output folder
embedded by the CLI for the whole session. CTest sets SCIVEC,
SV_FIXTURES, SV_DATA and PYTHONPATH=build/python (python/CMakeLists.txt)."""
import os
import subprocess
import sys

import pytest

# tests/testlib.py's runs_fast: the CPU check every precision test uses
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
from testlib import runs_fast  # noqa: E402,F401

SCIVEC = os.environ["SCIVEC"]
FIX = os.environ["SV_FIXTURES"]
MODEL = os.path.join(FIX, "models", "tiny-scibert")
PAPERS = os.path.join(os.environ["SV_DATA"], "arxiv-sample.csv")


def cli_env():
    """The environment for the CLI: under the ASan build (python/CMakeLists.txt)
    without the interpreter's LD_PRELOAD and with leak detection back on."""
    env = dict(os.environ)
    if env.pop("LD_PRELOAD", None):
        env["ASAN_OPTIONS"] = "detect_leaks=1:halt_on_error=1"
    return env


def run_cli(*args, stdin=None):
    """Runs `scivec ARGS`; returns stdout (bytes), failing the test on a non-zero exit."""
    r = subprocess.run([SCIVEC, *args], input=stdin, capture_output=True, timeout=600, env=cli_env())
    assert r.returncode == 0, f"scivec {' '.join(args)}: {r.stderr.decode()}"
    return r.stdout


@pytest.fixture(scope="session")
def cli_outdir(tmp_path_factory):
    """arxiv-sample.csv embedded by `scivec embed` with the tiny model."""
    out = tmp_path_factory.mktemp("cli") / "out"
    run_cli("embed", PAPERS, "--model", MODEL, "--out", str(out), "--threads", "2")
    return str(out)


@pytest.fixture(scope="session")
def cli_int8_outdir(tmp_path_factory):
    """The same papers embedded by `scivec embed --precision int8`, where
    this CPU runs int8 fast (VNNI); the test is skipped elsewhere."""
    if not runs_fast("int8"):
        pytest.skip("this CPU lacks AVX512_VNNI / AMX-INT8: int8 embeds are refused")
    out = tmp_path_factory.mktemp("cli-int8") / "out"
    run_cli("embed", PAPERS, "--model", MODEL, "--out", str(out), "--threads", "2",
            "--precision", "int8")
    return str(out)

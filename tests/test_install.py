"""test_install.py - `cmake --install` into a fresh prefix, then what a user
of the installed tree does: build a C program with pkg-config (shared and
and with find_package(scivec) (shared and static), run them, and compare their ranking
with `scivec similar --json`; the .so exports scivec_* only and has a
versioned soname; `pip install ./python` into a target folder imports
scivec and finds the installed library through pkg-config.

The build directory is the one holding $SCIVEC (the CLI under test)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from testlib import FIX, MODEL, SCIVEC, check, report

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.dirname(os.path.abspath(SCIVEC))
PAPERS = os.path.join(ROOT, "data", "arxiv-sample.csv")
CC = shutil.which("cc") or "gcc"


def run(cmd, env=None, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900, **kw)
    if r.returncode != 0:
        print(f"$ {' '.join(cmd)}\n{r.stdout}\n{r.stderr}", file=sys.stderr)
    return r


def asan_flags(lib):
    """A sanitized libscivec (SCIVEC_SANITIZE) needs the program built with
    the same runtime, which must come first in the process."""
    needed = run(["readelf", "-d", lib]).stdout
    return ["-fsanitize=address,undefined"] if "libasan" in needed else []


def ranking(output):
    lines = output.splitlines()
    return lines[0], [line.split()[0] for line in lines[1:]]


def main():
    tmp = tempfile.mkdtemp(prefix="scivec-install-")
    prefix = os.path.join(tmp, "prefix")
    try:
        r = run(["cmake", "--install", BUILD, "--prefix", prefix])
        check(r.returncode == 0, "cmake --install failed")
        libdir = os.path.join(prefix, "lib")
        for rel in ["include/scivec.h", "lib/libscivec.a", "lib/libscivec.so", "lib/libscivec.so.0.1",
                    "lib/pkgconfig/scivec.pc", "lib/cmake/scivec/scivecConfig.cmake",
                    "lib/cmake/scivec/scivecConfigVersion.cmake", "bin/scivec"]:
            check(os.path.exists(os.path.join(prefix, rel)), f"not installed: {rel}")
        so = os.path.join(libdir, "libscivec.so.0.1")
        check("SONAME" in run(["readelf", "-d", so]).stdout and
              "[libscivec.so.0.1]" in run(["readelf", "-d", so]).stdout, "soname is not libscivec.so.0.1")
        exported = [line.split()[-1] for line in run(["nm", "-D", "--defined-only", so]).stdout.splitlines()]
        check(len(exported) > 40 and all(s.startswith("scivec_") for s in exported),
              f"the .so exports more than scivec_*: {[s for s in exported if not s.startswith('scivec_')][:5]}")

        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(libdir, "pkgconfig"))
        cflags = run(["pkg-config", "--cflags", "scivec"], env=env).stdout.split()
        libs = run(["pkg-config", "--libs", "scivec"], env=env).stdout.split()
        src = os.path.join(HERE, "install", "consumer.c")
        extra = asan_flags(so)
        programs = {}
        exe = os.path.join(tmp, "consumer_pc")
        r = run([CC, *extra, *cflags, src, "-o", exe, *libs, f"-Wl,-rpath,{libdir}"])
        check(r.returncode == 0, "building against pkg-config --libs scivec failed")
        if r.returncode == 0:
            programs["pkg-config shared"] = exe
        proj = os.path.join(tmp, "cmake-build")
        r = run(["cmake", "-S", os.path.join(HERE, "install"), "-B", proj, f"-DCMAKE_PREFIX_PATH={prefix}",
                 f"-DCMAKE_C_FLAGS={' '.join(extra)}", f"-DCMAKE_EXE_LINKER_FLAGS={' '.join(extra)}"])
        r = r if r.returncode else run(["cmake", "--build", proj])
        check(r.returncode == 0, "find_package(scivec) project did not build")
        if r.returncode == 0:
            programs["find_package shared"] = os.path.join(proj, "consumer_shared")
            programs["find_package static"] = os.path.join(proj, "consumer_static")
            check("libscivec" not in run(["ldd", programs["find_package static"]]).stdout,
                  "the static program needs libscivec.so")

        reference = None
        for name, exe in programs.items():
            out = os.path.join(tmp, "out-" + name.replace(" ", "-"))
            r = run([exe, PAPERS, MODEL, out, "0704.0001"])
            check(r.returncode == 0, f"{name}: the program failed: {r.stderr.strip()}")
            if r.returncode:
                continue
            if reference is None:
                cli = json.loads(run([SCIVEC, "similar", out, "0704.0001", "-k", "5", "--json"]).stdout)
                reference = [h["paper_id"] for h in cli]
            head, ids = ranking(r.stdout)
            check(head.startswith("version 0.1.0 papers 300 dim 64 progress_calls ") and
                  int(head.split()[-1]) >= 2, f"{name}: unexpected summary '{head}'")
            check(ids == reference, f"{name}: ranking {ids} != scivec similar's {reference}")

        site = os.path.join(tmp, "site")
        r = run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--no-build-isolation",
                 "--target", site, os.path.join(ROOT, "python")])
        check(r.returncode == 0, "pip install ./python failed")
        py_env = dict(env, PYTHONPATH=site)
        py_env.pop("SCIVEC_LIBRARY", None)
        if extra:
            py_env["LD_PRELOAD"] = run(["gcc", "-print-file-name=libasan.so"]).stdout.strip()
            py_env["ASAN_OPTIONS"] = "detect_leaks=0"
        r = run([sys.executable, "-c", "import scivec, numpy; m = scivec.Model(%r); "
                 "print(scivec._lib.lib._name, m.encode(['a b']).shape)" % MODEL], env=py_env,
                cwd=tmp)
        loaded = r.stdout.split(" ")[0]
        check(r.returncode == 0 and os.path.realpath(loaded) == os.path.realpath(so) and "(1, 64)" in r.stdout,
              f"pip-installed scivec did not load {so}: {r.stdout} {r.stderr[-300:]}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return report("test_install")


if __name__ == "__main__":
    sys.exit(main())

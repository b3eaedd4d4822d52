#!/usr/bin/python3
"""test_front_ends_public.py - the walls of issue 18: the command line
(cli/) and the server (server/) include nothing from src/, only
include/scivec.h and their own headers (cli/ also server/scivec_server.h),
and libscivec itself does not link libmicrohttpd (only the server does).
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testlib import SCIVEC, check, report  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def local_includes(folder):
    """(file, included name) for every #include "..." of folder's C files."""
    path = os.path.join(ROOT, folder)
    for name in sorted(os.listdir(path)):
        if name.endswith((".c", ".h")):
            with open(os.path.join(path, name), encoding="utf-8") as f:
                for inc in INCLUDE.findall(f.read()):
                    yield name, inc


def main():
    allowed = {
        "cli": {"scivec.h", "scivec_server.h"},
        "server": {"scivec.h"},
    }
    for folder, public in allowed.items():
        own = set(os.listdir(os.path.join(ROOT, folder)))
        n = 0
        for name, inc in local_includes(folder):
            n += 1
            check(inc in public or ("/" not in inc and inc in own),
                  f"{folder}/{name} includes \"{inc}\": not public, not its own")
        check(n > 0, f"{folder}/: includes found")
    check(os.path.exists(os.path.join(ROOT, "server", "scivec_server.h")), "server/ exists")

    lib = os.path.join(os.path.dirname(SCIVEC), "libscivec.so")
    if os.path.exists(lib):   # (not in the fuzz build)
        deps = subprocess.run(["ldd", lib], capture_output=True, text=True).stdout
        check("microhttpd" not in deps,
              f"libscivec.so does not link libmicrohttpd: {deps}")
    deps = subprocess.run(["ldd", SCIVEC], capture_output=True, text=True).stdout
    check("microhttpd" in deps, "the scivec binary (its server) links libmicrohttpd")
    return report("test_front_ends_public")


sys.exit(main())

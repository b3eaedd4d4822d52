"""The ctypes mirrors of include/scivec.h's structs (scivec/_lib.py) must
have the C layout: a field added to the header and not to the mirror makes
the library read past the Python-made struct (a crash or a wrong option,
never an error). The C compiler says the real size and offsets."""
import ctypes
import os
import subprocess

from scivec import _lib

HEADER_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "include")

# C struct name -> its ctypes mirror
MIRRORS = {
    "scivec_model_params": _lib.ModelParams,
    "scivec_encode_params": _lib.EncodeParams,
    "scivec_encode_stats": _lib.EncodeStats,
    "scivec_encoding": _lib.Encoding,
    "scivec_embed_params": _lib.EmbedParams,
    "scivec_embed_result": _lib.EmbedResult,
    "scivec_precision_quality": _lib.PrecisionQuality,
    "scivec_paper": _lib.Paper,
    "scivec_filter": _lib.Filter,
    "scivec_hit": _lib.Hit,
    "scivec_search_params": _lib.SearchParams,
}


def c_layout(tmp_path):
    """{struct: (sizeof, {field: offsetof})} as gcc lays them out."""
    lines = ['#include <stddef.h>', '#include <stdio.h>', '#include "scivec.h"', "int main(void) {"]
    for c_name, mirror in MIRRORS.items():
        lines.append(f'printf("{c_name} size %zu\\n", sizeof({c_name}));')
        for field, _ in mirror._fields_:
            lines.append(f'printf("{c_name} {field} %zu\\n", offsetof({c_name}, {field}));')
    lines.append("return 0; }")
    src, exe = tmp_path / "layout.c", tmp_path / "layout"
    src.write_text("\n".join(lines))
    subprocess.run(["cc", "-I", HEADER_DIR, "-o", str(exe), str(src)], check=True)
    layout = {}
    for line in subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.splitlines():
        struct, what, value = line.split()
        size, fields = layout.setdefault(struct, [None, {}])
        if what == "size":
            layout[struct][0] = int(value)
        else:
            fields[what] = int(value)
    return layout


def test_ctypes_mirrors_match_the_header(tmp_path):
    layout = c_layout(tmp_path)
    for c_name, mirror in MIRRORS.items():
        size, offsets = layout[c_name]
        for field, _ in mirror._fields_:
            assert getattr(mirror, field).offset == offsets[field], f"{c_name}.{field}: offset differs"
        assert ctypes.sizeof(mirror) == size, \
            f"{c_name}: {ctypes.sizeof(mirror)} bytes in scivec/_lib.py, {size} in scivec.h (a field missing?)"

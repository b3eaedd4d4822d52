#!/usr/bin/python3
"""The walls inside src/ (docs/ARCHITECTURE.md), checked on the source tree
(test_front_ends_public.py checks the front ends):

- src/ holds folders only, one per concern, and a folder includes only the
  folders below it (LAYERS);
- no two files include each other, directly or through others;
- every internal header sits next to a .c/.cpp of its own name, or is a
  header-only file named in HEADER_ONLY.

Each rule is also run on a small broken tree first, so a checker that
always passes fails here instead.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.environ.get("SV_TESTS", os.path.dirname(os.path.abspath(__file__))))

# folder -> the folders its files may include (besides itself and include/)
LAYERS = {
    "core": set(),
    "text": {"core"},
    "weights": {"core"},
    "corpus": {"core"},
    "hub": {"core"},
    "nn": {"core", "text", "weights", "hub"},
    "map": {"core", "nn"},
    "outputs": {"core", "text", "corpus", "hub", "nn", "map"},
    "api": {"core", "text", "weights", "corpus", "hub", "nn", "map", "outputs"},
}
# headers with no .c of their own: types and inline code only
HEADER_ONLY = {"nn/activation.h", "nn/kernel_variant.h"}
INCLUDE = re.compile(r'(?m)^\s*#\s*include\s+"([^"]+)"')


def sources(top):
    for d, _, names in os.walk(top):
        for n in names:
            if n.endswith((".c", ".cpp", ".h")):
                yield os.path.join(d, n)


def includes(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return INCLUDE.findall(f.read())


def check(root):
    """Returns the list of broken rules in the tree at root."""
    failures = []
    src = os.path.join(root, "src")
    graph = {}
    for path in sources(src):
        rel = os.path.relpath(path, src)
        parts = rel.split(os.sep)
        if len(parts) != 2:
            failures.append(f"src/{rel}: not in a folder of one concern")
            continue
        folder = parts[0]
        if folder not in LAYERS:
            failures.append(f"src/{rel}: folder {folder}/ is not in the layer table")
            continue
        graph[rel] = []
        for inc in includes(path):
            if inc == "scivec.h":
                continue
            target = inc.split("/")[0] if "/" in inc else None
            if target is None or ".." in inc:
                failures.append(f"src/{rel}: includes \"{inc}\" (write folder/name.h)")
                continue
            if target != folder and target not in LAYERS[folder]:
                failures.append(f"src/{rel}: {folder}/ may not include {inc}")
            graph[rel].append(inc)
        if rel.endswith(".h") and rel not in HEADER_ONLY:
            stem = os.path.join(src, rel[:-2])
            if not (os.path.exists(stem + ".c") or os.path.exists(stem + ".cpp")):
                failures.append(f"src/{rel}: no {os.path.basename(stem)}.c beside it")
    # cycles: depth-first search over the include graph of src/
    state = {}

    def visit(node, stack):
        state[node] = 1
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                failures.append("include cycle: " + " -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt in graph and nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return failures


def self_check(tmp):
    """A tree that breaks each rule once must give each failure."""
    def write(rel, text):
        path = os.path.join(tmp, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    write("src/core/a.h", '#include "core/b.h"\n')
    write("src/core/a.c", "")
    write("src/core/b.h", '#include "core/a.h"\n')
    write("src/core/b.c", '#include "nn/x.h"\n')
    write("src/nn/lonely.h", "")
    write("src/flat.c", "")
    got = check(tmp)
    want = ["include cycle", "core/ may not include nn/x.h", "no lonely.c", "src/flat.c: not in a folder"]
    return [f"self-check: no failure mentions {w!r} (got {got})" for w in want if not any(w in g for g in got)]


def main():
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        failures = self_check(tmp)
    failures += check(ROOT)
    n_files = sum(1 for _ in sources(os.path.join(ROOT, "src")))
    if n_files < 50:
        failures.append(f"only {n_files} files under src/: the walk is broken")
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    if failures:
        return 1
    print(f"test_layers.py: {n_files} files of src/ keep to their layers, without cycles")
    return 0


if __name__ == "__main__":
    sys.exit(main())

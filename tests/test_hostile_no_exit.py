"""The library never ends the process: no exit()/_exit()/quick_exit()/abort()/
assert()/std::terminate in src/ (errors are returned as statuses, see
common.h), and every C++ entry point that calls FAISS catches what it throws
(an exception escaping into C would terminate the process).

Comments and string literals are stripped before searching, so prose such as
"never exit()" does not count. Run by CTest with /usr/bin/python3; env SV_TESTS."""
import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.environ.get("SV_TESTS", os.path.dirname(os.path.abspath(__file__)))), "src")
CALL = re.compile(r"\b(exit|_exit|_Exit|quick_exit|abort|assert|terminate|longjmp)\s*\(")


def strip_comments_and_strings(text):
    """Replaces comments and string/char literals by spaces, keeping newlines."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(" " * (j + 1 - i))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


FUNC = re.compile(r"^[A-Za-z_][\w \t\*]*?\b(sv_\w+)\s*\([^;{]*\)\s*\{", re.M)


# What can throw: FAISS functions and index methods, allocation, STL containers.
THROWS = re.compile(r"faiss::\w+\s*\(|->(search|add|train|reconstruct\w*|range_search|add_with_ids)\s*\(|"
                    r"\bnew\b|std::(vector|string|unique_ptr|make_unique)")


def uncaught_entry_points(name, text):
    """sv_* functions of a .cpp file that use FAISS or the STL without a try."""
    bad = []
    for m in FUNC.finditer(text):
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        body = text[m.end():j]
        if THROWS.search(body) and not re.search(r"\btry\b", body):
            bad.append(f"src/{name}: {m.group(1)}() calls C++ that may throw without a try")
    return bad


def main():
    failures = []
    files = sorted(os.path.relpath(os.path.join(d, f), SRC)
                   for d, _, names in os.walk(SRC) for f in names if f.endswith((".c", ".cpp", ".h")))
    # Self-check of the stripper and the pattern, so an always-passing test is caught.
    probe = strip_comments_and_strings('/* exit(1) */ x = "abort()"; // assert(0)\n if (bad) exit(1);')
    if len(CALL.findall(probe)) != 1:
        failures.append("the checker itself is broken")
    for name in files:
        text = strip_comments_and_strings(open(os.path.join(SRC, name), encoding="utf-8", errors="replace").read())
        for lineno, line in enumerate(text.splitlines(), 1):
            for m in CALL.finditer(line):
                # A member or a declaration named like that (foo.exit(), ->abort()) is not the libc call.
                before = line[:m.start()].rstrip()
                if before.endswith((".", "->")):
                    continue
                failures.append(f"src/{name}:{lineno}: calls {m.group(1)}()")
        if name.endswith(".cpp"):
            failures += uncaught_entry_points(name, text)
    n_cpp_checked = sum(len(FUNC.findall(strip_comments_and_strings(open(os.path.join(SRC, f)).read())))
                        for f in files if f.endswith(".cpp"))
    if n_cpp_checked < 2:
        failures.append(f"found only {n_cpp_checked} sv_* functions in the .cpp files: the checker is broken")
    if len(files) < 20:
        failures.append(f"only {len(files)} files found under {SRC}")
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    if failures:
        return 1
    print(f"test_hostile_no_exit.py: {len(files)} files of src/ end the process nowhere")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/bin/sh
# Formats the C and C++ sources with the repository's .clang-format
# (clang-format 14, Debian's clang-format package). `--check` changes
# nothing and fails when a file is not formatted.
set -eu
cd "$(dirname "$0")/.."
files=$(git ls-files 'src/*.c' 'src/*.cpp' 'src/*.h' 'include/*.h' 'cli/*.c' 'cli/*.h' \
        'server/*.c' 'server/*.h' 'tests/*.c' 'tests/*.h' 'bench/*.c' 'bench/*.h' 'fuzz/*.c')
if [ "${1:-}" = "--check" ]; then
    exec clang-format --dry-run --Werror $files
fi
exec clang-format -i $files

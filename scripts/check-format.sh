#!/usr/bin/env bash
# Fails when a C++ file of the project differs from what clang-format makes of it with the
# repository's .clang-format (ctest runs it as `format`). To fix: the same file list with -i.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if ! command -v clang-format >/dev/null; then
    echo "clang-format is missing: scripts/install-deps.sh --test installs it" >&2
    exit 1
fi
mapfile -t files < <(git ls-files '*.h' '*.cc' | grep -E '^(protocol|storage|server|tests|bench|integration)/')
bad=()
for f in "${files[@]}"; do
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if ((${#bad[@]})); then
    printf 'not formatted: %s\n' "${bad[@]}"
    echo "fix with: clang-format -i ${bad[*]}"
    exit 1
fi
echo "format: ${#files[@]} files as .clang-format wants them"

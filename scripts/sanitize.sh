#!/usr/bin/env bash
# Builds the broker and the unit tests with AddressSanitizer + UndefinedBehaviorSanitizer (and
# LeakSanitizer, part of ASan) in build-asan/ through scripts/build.sh, then runs the unit tests
# there; any report fails the run. ccache keeps the objects, so a second run rebuilds little.
#   scripts/sanitize.sh              build and run every unit test
#   scripts/sanitize.sh -R PATTERN   extra ctest arguments (e.g. a subset)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-asan"
CXXFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
    LDFLAGS="-fsanitize=address,undefined" RUNNEL_BUILD_DIR="$build" \
    RUNNEL_BUILD_TYPE=RelWithDebInfo "$root/scripts/build.sh" runnel_unit_tests runnel
# halt_on_error: the first report ends the test with a failure; leaks are reported at exit. A
# small quarantine keeps a sanitized broker's RSS within the bounds the integration tests check
# (run them with RUNNEL_BROKER=build-asan/server/runnel and these options exported).
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:abort_on_error=1:quarantine_size_mb=16:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
cd "$build"
ctest -L unit -E "^(format|layers)$" -j "${RUNNEL_TEST_JOBS:-$(nproc)}" --output-on-failure \
    --timeout 600 "$@"

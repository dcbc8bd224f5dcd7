#!/usr/bin/env bash
# Builds the broker and the unit tests with AddressSanitizer + UndefinedBehaviorSanitizer (and
# LeakSanitizer, part of ASan) in build-asan/, then runs the unit tests there; any report fails
# the run. ccache shares the cache of scripts/build.sh, so a second run rebuilds little.
#   scripts/sanitize.sh              build and run every unit test
#   scripts/sanitize.sh -R PATTERN   extra ctest arguments (e.g. a subset)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-asan"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/runnel-ccache}"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
export CCACHE_BASEDIR="$root"
export CCACHE_NOHASHDIR=1
flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
if [[ ! -f "$build/build.ninja" ]]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined"
fi
cmake --build "$build" -j "${RUNNEL_BUILD_JOBS:-$(nproc)}" --target runnel_unit_tests runnel
# halt_on_error: the first report ends the test with a failure; leaks are reported at exit. A
# small quarantine keeps a sanitized broker's RSS within the bounds the integration tests check
# (run them with RUNNEL_BROKER=build-asan/server/runnel and these options exported).
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:abort_on_error=1:quarantine_size_mb=16:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
cd "$build"
ctest -L unit -LE "format|layers" -j "${RUNNEL_TEST_JOBS:-$(nproc)}" --output-on-failure \
    --timeout 600 "$@"

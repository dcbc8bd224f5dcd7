#!/usr/bin/env bash
# Configures (once) and builds Runnel in build/ (Release, tests included: one configuration for
# running and testing). Extra arguments are ninja targets, e.g. `scripts/build.sh runnel`.
# RUNNEL_BUILD_DIR and RUNNEL_BUILD_TYPE choose another build (scripts/sanitize.sh does; CXXFLAGS
# and LDFLAGS in the environment reach CMake's first configure).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${RUNNEL_BUILD_DIR:-$root/build}"
# ccache keeps its cache outside the clone, so a fresh clone still builds from cache.
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/runnel-ccache}"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
# Paths inside the clone are hashed relative to it, so another clone (CI's) hits the same cache.
export CCACHE_BASEDIR="$root"
export CCACHE_NOHASHDIR=1
if [[ ! -f "$build/build.ninja" ]]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${RUNNEL_BUILD_TYPE:-Release}"
fi
jobs="${RUNNEL_BUILD_JOBS:-$(nproc)}"
cmake --build "$build" -j "$jobs" ${1:+--target "$@"}

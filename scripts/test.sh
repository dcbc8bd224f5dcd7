#!/usr/bin/env bash
# Installs build and test dependencies, builds everything and runs every unit and integration
# test with ctest (integration tests run in parallel: each uses its own port and data dir).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/install-deps.sh --test
scripts/build.sh
cd build
ctest -j "${RUNNEL_TEST_JOBS:-$(nproc)}" --output-on-failure --timeout 600

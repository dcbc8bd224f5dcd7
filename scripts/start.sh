#!/usr/bin/env bash
# Quick start: installs missing Debian packages, builds the broker (Release) and runs it in the
# foreground on 127.0.0.1:9092 with etc/server.properties (data under ./data). Ctrl-C or SIGTERM
# stops it cleanly. Extra arguments are passed on, e.g. --override num.partitions=3.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/install-deps.sh
scripts/build.sh runnel
exec scripts/kafka-server-start.sh etc/server.properties "$@"

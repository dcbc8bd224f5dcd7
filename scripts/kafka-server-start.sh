#!/usr/bin/env bash
# Runs the built broker with Apache Kafka's arguments:
#   scripts/kafka-server-start.sh [-daemon] server.properties [--override property=value]...
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/build/server/runnel"
if [[ ! -x "$bin" ]]; then
    echo "Runnel is not built yet: run scripts/start.sh or scripts/build.sh runnel" >&2
    exit 1
fi
if [[ $# -lt 1 ]]; then
    echo "USAGE: $0 [-daemon] server.properties [--override property=value]*" >&2
    exit 1
fi
if [[ "$1" == "-daemon" ]]; then
    shift
    log="${LOG_DIR:-$root/logs}"
    mkdir -p "$log"
    nohup "$bin" "$@" >>"$log/server.out" 2>&1 &
    echo "Runnel started in the background (pid $!), logging to $log/server.out"
    exit 0
fi
exec "$bin" "$@"

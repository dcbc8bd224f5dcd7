#!/usr/bin/env bash
# A long randomized fault run against a three-broker Runnel cluster on this machine, judged by
# the history checker (integration/cluster_checker.py): brokers killed, stopped and paused one
# at a time under idempotent acks=all producers and a consumer group; then no acknowledged
# record may be lost, none stored twice or out of order, no read taken back, no committed
# offset gone back. The result goes to docs/clusters.md by hand.
#
#   scripts/cluster-faults.sh [FAULTS (default 100)] [SEED (default random)]
#
# Needs what scripts/test.sh installs (ZooKeeper, the Python venv) and a built broker.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
faults="${1:-100}"
venv="${RUNNEL_PYTHON_VENV:-$HOME/.cache/runnel-python/venv}"
[ -x "$root/build/server/runnel" ] || "$root/scripts/build.sh" runnel
export RUNNEL_BROKER="${RUNNEL_BROKER:-$root/build/server/runnel}"
export RUNNEL_SHARDS="${RUNNEL_SHARDS:-3}"
export RUNNEL_FAULTS="$faults"
[ $# -ge 2 ] && export RUNNEL_FAULT_SEED="$2"
# About 5 s a fault; the watchdog allows twice that.
export RUNNEL_FAULT_MAX_SECONDS=$((faults * 6 + 60))
exec "$venv/bin/python" "$root/integration/test_cluster_faults.py" -v

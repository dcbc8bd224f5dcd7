#!/usr/bin/env bash
# Runs the benchmarks and writes their tables into docs/benchmarks.md, between the markers
# <!-- bench:NAME --> and <!-- /bench:NAME --> (the text around them is kept).
#   scripts/bench.sh            full runs (about 25 minutes; needs ~25 GB free for recovery),
#                               then the charts in docs/charts/ redrawn from the tables
#   scripts/bench.sh NAME...    full runs of only these tables (throughput recovery startup
#                               floor latency scaling versus_kafka streams streams_state
#                               metrics replication); the others are left as
#                               they are. versus_kafka runs Apache Kafka 4.4.0 beside Runnel
#                               (scripts/peer/kafka.sh; its jars come through Maven);
#                               metrics also runs $RUNNEL_BASELINE_BROKER when set (a build
#                               from before the counters, for their own cost)
#   scripts/bench.sh --smoke    seconds-long runs that only check the scripts work; prints the
#                               tables and leaves docs/benchmarks.md alone (CI runs this; it
#                               draws no charts, so needs no matplotlib)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
smoke=0
[[ "${1:-}" == "--smoke" ]] && smoke=1
all=(throughput recovery startup floor latency scaling versus_kafka streams streams_state metrics
    replication)
names=("${@:-${all[@]}}")
# The broker and the programs in bench/ (floor and lean load generator).
targets=(runnel floor_receiver floor_sender floor_sendfile produce_load consume_load)
for t in "${targets[@]}"; do
    if [[ ! -x "$root/build/server/$t" && ! -x "$root/build/bench/$t" ]]; then
        "$root/scripts/build.sh" "${targets[@]}"
        break
    fi
done
py=/usr/bin/python3
[[ -x "$py" ]] || py=python3
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
if ((smoke)); then
    "$py" "$root/scripts/bench/throughput.py" --runs 1 --scale 0.01 >"$out/throughput.md"
    "$py" "$root/scripts/bench/recovery.py" --gb 0.05 --runs 1 --no-cold \
        --workdir "$out/recovery" >"$out/recovery.md"
    "$py" "$root/scripts/bench/startup.py" --partitions 50 --runs 1 >"$out/startup.md"
    "$py" "$root/scripts/bench/versus_floor.py" --runs 1 --gb 0.05 --consume-gb 0.02 \
        --consume-passes 1 >"$out/floor.md"
    "$py" "$root/scripts/bench/latency.py" --runs 1 --seconds 1 >"$out/latency.md"
    "$py" "$root/scripts/bench/scaling.py" --runs 1 --partitions 1,10 --idle 50 \
        --idle-partitions 10 --gb 0.02 >"$out/scaling.md"
    "$py" "$root/scripts/bench/versus_kafka.py" --runs 1 --scale 0.01 --latency-seconds 1 \
        --partitions 20 --rates 50 --scaling 1,20 --data-gb 0.02 >"$out/versus_kafka.md"
    "$py" "$root/scripts/bench/streams.py" --runs 1 --tweets 5000 --events 5000 \
        --latency-seconds 1 >"$out/streams.md"
    "$py" "$root/scripts/bench/streams_state.py" --runs 1 --keys 1000 20000 --min-records 20000 \
        --latency-seconds 1 >"$out/streams_state.md"
    cat "$out"/{throughput,recovery,startup,floor,latency,scaling,versus_kafka,streams}.md
    "$py" "$root/scripts/bench/metrics_cost.py" --runs 1 --gb 0.2 --interval 0.01 \
        >"$out/metrics.md"
    "$py" "$root/scripts/bench/replication.py" --runs 1 --seconds 1 >"$out/replication.md"
    cat "$out/streams_state.md" "$out/metrics.md" "$out/replication.md"
    grep -q '^| produce 1024 B, acks=all, 16 partitions |' "$out/throughput.md"
    grep -q '^| worst | page cache |' "$out/recovery.md"
    grep -q '^| 50 |' "$out/startup.md"
    grep -q '^| consume, 1 partition, page cache |' "$out/floor.md"
    grep -q '^| floor, frame to ack |' "$out/latency.md"
    grep -q '^| 10 partitions, 50 idle connections |' "$out/scaling.md"
    grep -q '^| recovery with 20 partitions, SIGKILL before |' "$out/versus_kafka.md"
    grep -q '^| records per CPU-second |' "$out/streams.md"
    grep -q '^| send to read_committed result (ms) |' "$out/streams.md"
    grep -q '^| records per output topic (last run) |.*| same |' "$out/streams.md"
    grep -q '^| restore after SIGKILL: s (records replayed) |' "$out/streams_state.md"
    grep -q '^| scraped / not scraped, median of pairs |' "$out/metrics.md"
    grep -q '^| RF=3, min.insync.replicas=2 |' "$out/replication.md"
    grep -q '^| SIGTERM (controlled shutdown) |' "$out/replication.md"
    exit 0
fi
for name in "${names[@]}"; do
    case "$name" in
        throughput) "$py" "$root/scripts/bench/throughput.py" --runs 3 ;;
        recovery) "$py" "$root/scripts/bench/recovery.py" --gb 10 --runs 3 ;;
        startup) "$py" "$root/scripts/bench/startup.py" --partitions 10000,100000 --runs 3 ;;
        floor) "$py" "$root/scripts/bench/versus_floor.py" --runs 3 ;;
        latency) "$py" "$root/scripts/bench/latency.py" --runs 3 ;;
        scaling) "$py" "$root/scripts/bench/scaling.py" --runs 5 ;;
        versus_kafka) "$py" "$root/scripts/bench/versus_kafka.py" --runs 3 ;;
        streams) "$py" "$root/scripts/bench/streams.py" --runs 3 --tweets 200000 ;;
        streams_state) "$py" "$root/scripts/bench/streams_state.py" --runs 3 ;;
        replication) "$py" "$root/scripts/bench/replication.py" --runs 3 ;;
        metrics) "$py" "$root/scripts/bench/metrics_cost.py" --runs 7 --gb 8 ${RUNNEL_BASELINE_BROKER:+--baseline-broker "$RUNNEL_BASELINE_BROKER"} ;;
        *) echo "unknown benchmark $name (known: ${all[*]})" >&2; exit 2 ;;
    esac >"$out/$name.md"
done
"$py" - "$root/docs/benchmarks.md" "$out" "${names[@]}" <<'PY'
import re, sys, os
doc_path, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]
doc = open(doc_path).read()
for name in names:
    table = open(os.path.join(out, name + ".md")).read().strip()
    start, end = "<!-- bench:%s -->" % name, "<!-- /bench:%s -->" % name
    if start not in doc:
        sys.exit("docs/benchmarks.md lacks the marker " + start)
    doc = re.sub(re.escape(start) + ".*?" + re.escape(end),
                 lambda _: start + "\n" + table + "\n" + end, doc, flags=re.S)
open(doc_path, "w").write(doc)
PY
echo "docs/benchmarks.md updated"
# The charts, from the tables as they now are (Debian's python3-matplotlib).
if ! "$py" -c 'import matplotlib' 2>/dev/null && [[ $(id -u) -eq 0 ]]; then
    "$root/scripts/install-deps.sh" --bench
fi
if "$py" -c 'import matplotlib' 2>/dev/null; then
    "$py" "$root/scripts/bench/charts.py"
else
    echo "charts not redrawn: matplotlib is missing (scripts/install-deps.sh --bench)" >&2
fi

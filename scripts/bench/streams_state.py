#!/usr/bin/env python3
"""A pipeline's keyed state at 10^4 and 10^7 keys: throughput, latency and restore.

Per state size K (--keys, several), on a fresh broker: a running count per key (etc/ style
pipeline: filter, count by value, emit on_update) over max(K, --min-records) records ("#k<n>",
every key as often, spread over two partitions) written before the pipeline starts, timed
until its group has consumed everything; then, with the K keys in its state:
- end-to-end latency: records sent at --latency-rate records/s for --latency-seconds, each a new
  key carrying its send time, to its result read by a read_committed consumer (p50/p99);
- the state on disk (the RocksDB stores) and the broker's RSS;
- restore after a clean stop (each store closed as matching its changelog: only the tail
  replayed) and after SIGKILL (each store rebuilt from its whole changelog): seconds from the
  broker's start to the moment every task's store is open, and the changelog records replayed.
Medians of --runs. Prints a Markdown table. Standard library, integration/kafka_wire.py and
Debian's python3-confluent-kafka.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_broker import Broker, cpu_times, steal_since  # noqa: E402
from streams import PARTITIONS, measure_latency, wait_caught_up  # noqa: E402

PIPELINE = """pipeline: keyed
source: {topic: lat-in, format: text}
steps:
  - filter: {starts_with: "#"}
  - count: {by: value}
emit: on_update
sink: {topic: lat-out, format: json}
"""
GROUP = "runnel-pipeline-keyed"
STATE_TASKS = PARTITIONS  # the count's stage: one task per partition of its input

# Writes argv[3] records, "#k<(i * 7919) mod keys>" (each key equally often: 7919 is prime and
# does not divide 10^k), round robin over the partitions.
LOADER = """
import sys
import confluent_kafka
bootstrap, keys, records, partitions = sys.argv[1], *map(int, sys.argv[2:5])
p = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "acks": 1, "linger.ms": 20,
                             "batch.size": 1000000, "queue.buffering.max.messages": 1000000})
for i in range(records):
    while True:
        try:
            p.produce("lat-in", b"#k%d" % (i * 7919 % keys), partition=i % partitions)
            break
        except BufferError:
            p.poll(0.01)
    if i % 10000 == 0:
        p.poll(0)
if p.flush(300):
    sys.exit("records left unsent")
"""


def stores_open(log_path, start_marker):
    """Records replayed by each task's "state store open" line since the last start, or None
    while some task has not opened its store yet."""
    with open(log_path, errors="replace") as f:
        text = f.read()
    text = text[text.rfind(start_marker):]
    replayed = [int(n) for n in re.findall(
        r"pipeline task keyed/stage1/\d+: state store open with (\d+) changelog record", text)]
    return sum(replayed) if len(replayed) >= STATE_TASKS else None


def timed_restore(broker, hard):
    """Stops the broker (SIGTERM, or SIGKILL when `hard`), starts it again: (seconds until every
    store is open, records replayed)."""
    if hard:
        broker.kill()
    else:
        broker.stop(timeout=120)
    marker = "===== bench restart %d" % time.monotonic_ns()
    with open(broker.log_path, "a") as f:
        f.write(marker + "\n")
    t0 = time.monotonic()
    broker.start()
    deadline = t0 + 600
    while time.monotonic() < deadline:
        replayed = stores_open(broker.log_path, marker)
        if replayed is not None:
            return time.monotonic() - t0, replayed
        time.sleep(0.01)
    sys.exit("the state stores did not open; see %s" % broker.log_path)


def du_mib(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total / (1 << 20)


def run(args, keys, workdir):
    pipelines = os.path.join(workdir, "pipelines")
    os.makedirs(pipelines)
    broker = Broker(workdir, args.shards, {"runnel.pipelines.dir": pipelines,
                                           "runnel.pipelines.scan.interval.ms": 100,
                                           "num.partitions": PARTITIONS})
    broker.start()
    try:
        records = max(keys, args.min_records)
        broker.create_topic("lat-in", PARTITIONS)
        subprocess.run([sys.executable, "-c", LOADER, broker.bootstrap, str(keys), str(records),
                        str(PARTITIONS)],
                       check=True)
        before, cpu0 = cpu_times(), broker.cpu_seconds()
        t0 = time.monotonic()
        with open(os.path.join(pipelines, "keyed.yaml"), "w") as f:
            f.write(PIPELINE)
        done = wait_caught_up(broker.bootstrap, GROUP,
                              lambda t: t == "lat-in" or t.startswith("runnel-pipeline-keyed-stage")
                              and not t.endswith("-changelog"))
        result = {"records": records, "seconds": done - t0, "cpu": broker.cpu_seconds() - cpu0,
                  "steal": steal_since(before)}
        lat = measure_latency(broker, args.latency_rate, args.latency_seconds)
        result["p50"] = lat[len(lat) // 2] * 1e3
        result["p99"] = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3
        result["rss_mib"] = broker.rss_mib()
        result["clean"], result["clean_replayed"] = timed_restore(broker, hard=False)
        # After the clean stop, which flushed every store.
        result["state_mib"] = du_mib(os.path.join(broker.data, "pipeline-state"))
        result["killed"], result["killed_replayed"] = timed_restore(broker, hard=True)
        return result
    finally:
        broker.proc.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--shards", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--keys", type=int, nargs="+", default=[10_000, 10_000_000])
    ap.add_argument("--min-records", type=int, default=1_000_000,
                    help="records at least (each key as often), whatever the keys")
    ap.add_argument("--latency-rate", type=int, default=10_000, help="records/s")
    ap.add_argument("--latency-seconds", type=float, default=10.0)
    args = ap.parse_args()

    results = {k: [] for k in args.keys}
    for i in range(args.runs):
        for keys in args.keys:
            print("run %d: %d keys" % (i + 1, keys), file=sys.stderr)
            workdir = tempfile.mkdtemp(prefix="runnel-bench-state-")
            try:
                results[keys].append(run(args, keys, workdir))
            finally:
                shutil.rmtree(workdir, ignore_errors=True)

    def med(keys, field):
        return statistics.median(r[field] for r in results[keys])
    print("| Keyed running count (emit on_update) | " +
          " | ".join("%s keys" % format(k, ",") for k in args.keys) + " |")
    print("|---|" + "---|" * len(args.keys))
    rows = [
        ("records", lambda k: "%s" % format(results[k][0]["records"], ",")),
        ("records/s (wall)", lambda k: "%.0f" % (results[k][0]["records"] / med(k, "seconds"))),
        ("records per CPU-second", lambda k: "%.0f" % (results[k][0]["records"] / med(k, "cpu"))),
        ("end to end p50 / p99 at %d records/s (ms)" % args.latency_rate,
         lambda k: "%.1f / %.1f" % (med(k, "p50"), med(k, "p99"))),
        ("state on disk (MiB)", lambda k: "%.0f" % med(k, "state_mib")),
        ("broker RSS (MiB)", lambda k: "%.0f" % med(k, "rss_mib")),
        ("restore after a clean stop: s (records replayed)",
         lambda k: "%.2f (%d)" % (med(k, "clean"), med(k, "clean_replayed"))),
        ("restore after SIGKILL: s (records replayed)",
         lambda k: "%.2f (%d)" % (med(k, "killed"), med(k, "killed_replayed"))),
    ]
    for name, cell in rows:
        print("| %s | %s |" % (name, " | ".join(cell(k) for k in args.keys)))
    steal = "; ".join("%d keys %s" % (k, ", ".join("%.1f" % r["steal"] for r in v))
                      for k, v in results.items())
    print("\nMedians of %d run(s); CPU steal %% per run: %s. %d shard(s), "
          "runnel.pipelines.state.memory.bytes at its default (64 MiB); restore times from the "
          "broker's start, its own log loading included. `scripts/bench/streams_state.py %s`" % (
              args.runs, steal, args.shards, " ".join(sys.argv[1:])))


if __name__ == "__main__":
    main()

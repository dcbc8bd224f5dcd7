#!/usr/bin/env python3
"""Broker CPU per GB as a ratio to the floor measured in the same run, with the lean load
generator (build/bench/produce_load, consume_load) so the client is not what limits the broker.

Produce: 1 KiB and 100 B records, acks=1 and acks=all; --gb GB per run into --partitions
partitions over --connections connections with --window requests outstanding on each. A run is
a broker run (a fresh broker and data dir) then a floor run (floor_receiver + floor_sender with
frames the size of the broker run's requests, the same connections, window and bytes), and the
ratio is taken per run. Runs are limited by bytes, not time, and each side starts with that much
freshly touched free memory (bench_broker.warm_free_memory), so both fill the page cache from the
same state.
Consume: one partition of --consume-gb GB read --consume-passes times from the page cache
(consume_load), against floor_sendfile sending the partition's segment file as many times in
fetch-sized chunks.

Prints a Markdown table of medians with the CPU steal of each run (broker and floor together).
"""

import argparse
import glob
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_broker import (cpu_per_gb, cpu_times, fresh_broker, run_tool,  # noqa: E402
                          steal_since, warm_free_memory)
from floor import produce_floor, sendfile_floor  # noqa: E402

FETCH_BYTES = 1 << 20  # consume_load's partition max bytes and floor_sendfile's chunk
TIME_LIMIT = 600  # seconds; runs end at their byte count long before


def result(load, broker_cpu, floor, before):
    """One run's figures: the broker's (load generator's JSON and its CPU seconds) and the
    floor's (the serving side's JSON), with the steal since `before`."""
    return {"mbs": load["bytes"] / load["seconds"] / 1e6,
            "recs": load["records"] / load["seconds"],
            "cpu_gb": cpu_per_gb(broker_cpu, load["bytes"]),
            "floor_mbs": floor["bytes"] / floor["seconds"] / 1e6,
            "floor_cpu_gb": cpu_per_gb(floor["cpu_seconds"], floor["bytes"]),
            "steal": steal_since(before)}


def produce_run(args, size, records, acks):
    nbytes = int(args.gb * 1e9)
    before = cpu_times()
    with fresh_broker(args.shards) as broker:
        broker.create_topic("produce", args.partitions)
        warm_free_memory(nbytes * 1.1)
        cpu = broker.cpu_seconds()
        load = run_tool("produce_load", [
            "--bootstrap", broker.bootstrap, "--topic", "produce",
            "--partitions", args.partitions, "--connections", args.connections,
            "--records", records, "--record-bytes", size, "--acks", acks,
            "--window", args.window, "--max-bytes", nbytes, "--seconds", TIME_LIMIT])
        cpu = broker.cpu_seconds() - cpu
    warm_free_memory(nbytes * 1.1)
    # Frames the size of the broker run's requests (a batch per partition of a connection).
    _, floor = produce_floor(args.connections, load["bytes"] // load["requests"], args.window,
                             TIME_LIMIT, max_bytes=nbytes)
    return result(load, cpu, floor, before)


def consume_runs(args):
    with fresh_broker(args.shards) as broker:
        broker.create_topic("consume", 1)
        run_tool("produce_load", ["--bootstrap", broker.bootstrap, "--topic", "consume",
                                  "--max-bytes", int(args.consume_gb * 1e9),
                                  "--seconds", TIME_LIMIT])
        # All the data is in the first segment while it stays below log.segment.bytes (1 GiB).
        segment = sorted(glob.glob(os.path.join(broker.data, "consume-0", "*.log")))[0]
        runs = []
        for _ in range(args.runs):
            before = cpu_times()
            cpu = broker.cpu_seconds()
            load = run_tool("consume_load", [
                "--bootstrap", broker.bootstrap, "--topic", "consume",
                "--partition-max-bytes", FETCH_BYTES, "--passes", args.consume_passes])
            cpu = broker.cpu_seconds() - cpu
            floor = sendfile_floor(segment, args.consume_passes, FETCH_BYTES)
            runs.append(result(load, cpu, floor, before))
        return runs


def row(name, target, runs):
    def med(key):
        return statistics.median(r[key] for r in runs)
    ratio = statistics.median(r["cpu_gb"] / r["floor_cpu_gb"] for r in runs)
    return "| %s | %.0f | %.0f | %.2f | %.0f | %.2f | **%.2f** (%s) | %s |" % (
        name, med("recs"), med("mbs"), med("cpu_gb"), med("floor_mbs"), med("floor_cpu_gb"),
        ratio, target, ", ".join("%.1f" % r["steal"] for r in runs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--gb", type=float, default=2.0, help="GB produced per run (and floor run)")
    ap.add_argument("--shards", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--partitions", type=int, default=2)
    ap.add_argument("--connections", type=int, default=2)
    ap.add_argument("--window", type=int, default=4, help="requests outstanding per connection")
    ap.add_argument("--consume-gb", type=float, default=1.0)
    ap.add_argument("--consume-passes", type=int, default=3)
    args = ap.parse_args()

    rows = []
    for size, records in ((1024, 64), (100, 640)):
        for acks in (1, -1):
            runs = [produce_run(args, size, records, acks) for _ in range(args.runs)]
            rows.append(row("produce %d B, acks=%s" % (size, "all" if acks < 0 else acks),
                            "≤ 1.5", runs))
    rows.append(row("consume, 1 partition, page cache", "≤ 1.3", consume_runs(args)))

    print("| Workload | Records/s | MB/s | Broker CPU s/GB | Floor MB/s | Floor CPU s/GB | "
          "Ratio (target) | Steal % per run |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print("\nMedians of %d run(s); %d shard(s); produce: %g GB a run, batches of 64 x 1 KiB or 640 x 100 B, %d "
          "partitions over %d connection(s), %d requests outstanding on each; "
          "`scripts/bench/versus_floor.py %s`" % (
              args.runs, args.shards, args.gb, args.partitions, args.connections, args.window,
              " ".join(sys.argv[1:])))


if __name__ == "__main__":
    main()

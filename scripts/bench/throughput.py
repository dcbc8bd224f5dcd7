#!/usr/bin/env python3
"""Produce and consume throughput through librdkafka's rdkafka_performance against a broker on
loopback, with the broker's CPU seconds per GB and the machine's CPU steal for every run.

Produce: 100 B and 1 KiB records, acks=1 and acks=all, 1 and 16 partitions, each run on a fresh
broker with an empty data dir, after warm_free_memory (bench_broker.py): runs that piled up on
one broker made the later ones pay this VM's host faults in their page-cache copies (1 KiB
produce measured 3.4-4.4 CPU s/GB that way, 0.7 alone). Consume: one partition read from the
page cache. Each figure is the median of --runs runs.
Prints a Markdown table. Standard library only (plus the repository's integration/kafka_wire.py
to create topics, through bench_broker).
"""

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_broker import (CONSUMED, PRODUCED, fresh_broker, rdkafka_performance,  # noqa: E402
                          run_rdkafka_performance, warm_free_memory)

def summarize(name, runs):
    recs = [r / s for r, _, s, _, _ in runs]
    mbs = [b / s / 1e6 for _, b, s, _, _ in runs]
    cpu_per_gb = [c / (b / 1e9) for _, b, _, c, _ in runs if b]
    return {"name": name, "msgs": statistics.median(recs), "mbs": statistics.median(mbs),
            "cpu_gb": statistics.median(cpu_per_gb) if cpu_per_gb else 0.0,
            "steal": [s for *_, s in runs]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--shards", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiplies the record counts (the smoke run uses 0.01)")
    args = ap.parse_args()
    perf = rdkafka_performance()
    rows = []
    for size, base_count in ((100, 3_000_000), (1024, 1_000_000)):
        count = max(1000, int(base_count * args.scale))
        for acks in (1, -1):
            for partitions in (1, 16):
                runs = []
                for _ in range(args.runs):
                    with fresh_broker(args.shards) as broker:
                        broker.create_topic("produce", partitions)
                        warm_free_memory(count * (size + 64) * 1.1)
                        runs.append(run_rdkafka_performance(
                            broker, ["-P", "-t", "produce", "-s", str(size), "-c", str(count),
                                     "-a", str(acks), "-X", "linger.ms=5",
                                     "-X", "batch.num.messages=10000"], PRODUCED, perf))
                rows.append(summarize("produce %d B, acks=%s, %d partition%s" % (
                    size, "all" if acks < 0 else acks, partitions,
                    "" if partitions == 1 else "s"), runs))
    with fresh_broker(args.shards) as broker:
        count = max(1000, int(1_000_000 * args.scale))
        broker.create_topic("consume", 1)
        run_rdkafka_performance(broker, ["-P", "-t", "consume", "-p", "0", "-s", "1024", "-c",
                                         str(count), "-a", "1", "-X", "linger.ms=5"],
                                PRODUCED, perf)
        runs = [run_rdkafka_performance(broker, ["-C", "-t", "consume", "-p", "0", "-o",
                                                 "beginning", "-c", str(count)], CONSUMED, perf)
                for _ in range(args.runs)]
        rows.append(summarize("consume 1 KiB, 1 partition, page cache", runs))

    print("| Workload | Records/s | MB/s | Broker CPU s/GB | Steal % per run |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| %s | %.0f | %.0f | %.2f | %s |" % (r["name"], r["msgs"], r["mbs"], r["cpu_gb"],
                                                  ", ".join("%.1f" % s for s in r["steal"])))
    print("\nMedians of %d run(s); %d shard(s); `scripts/bench/throughput.py --runs %d%s`" % (
        args.runs, args.shards, args.runs, "" if args.scale == 1 else " --scale %g" % args.scale))


if __name__ == "__main__":
    main()

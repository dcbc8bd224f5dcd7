#!/usr/bin/env python3
"""Produce throughput and broker memory as partitions and connections grow: 1, 100, 1,000 and
10,000 partitions, then 100 partitions again with 10,000 idle connections open.

Each run is a fresh broker (--shards shards, a new data dir) with one topic of P partitions,
taking --gb GB of 1 KiB records at acks=1 from the lean producer (build/bench/produce_load) over
--connections connections with --window requests outstanding on each. Every request carries one
pre-built batch of --records records for the next partition of its connection in turn
(--partitions-per-request 1), so requests and batches are the same at every P and only the number
of partitions written differs. Runs are limited by bytes and start with warmed free memory
(bench_broker.warm_free_memory). Reported per P: medians of records/s, MB/s, broker CPU s/GB, the
ratio of MB/s to the 1-partition run, the broker's resident memory (VmRSS) after the run, and
per run MB/s, CPU steal and the broker's voluntary context switches per request (its threads
going to sleep: runs where the shards sleep and wake for every request cost more CPU per GB
than runs where they stay busy, see docs/benchmarks.md). The runs go in rounds of one run of each case, so that other
load on a shared machine spreads over the cases.

Idle connections: this process opens --idle connections to the broker, each sending one
ApiVersions request and reading its answer (so the broker holds a real connection state), keeps
them open through the same produce run, and reports the broker's RSS before and with them.

Prints Markdown tables. Standard library only (plus the repository's integration/kafka_wire.py).
"""

import argparse
import os
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_broker import (cpu_per_gb, cpu_times, fresh_broker, run_tool,  # noqa: E402
                          steal_since, voluntary_switches, warm_free_memory)
import kafka_wire as kw  # noqa: E402  (bench_broker puts integration/ on the path)

TIME_LIMIT = 600  # seconds; runs end at their byte count long before
TOPIC_TIMEOUT = 300  # seconds to create a topic of 10,000 partitions on a busy machine


def open_idle_connections(bootstrap, count):
    """Opens `count` connections that each do one ApiVersions round trip; returns them (open)
    and the seconds that took."""
    need = count + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            sys.exit("%d idle connections need %d descriptors; the hard limit is %d" % (
                count, need, hard))
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    t0 = time.monotonic()
    connections = []
    try:
        for _ in range(count):
            c = kw.Connection.to(bootstrap, timeout=30)
            connections.append(c)
            error = c.api_versions()[0]
            if error:
                sys.exit("ApiVersions failed with error code %d" % error)
    except BaseException:
        close_all(connections)
        raise
    return connections, time.monotonic() - t0


def close_all(connections):
    for c in connections:
        c.close()


def produce_run(args, partitions, idle=0):
    """One fresh-broker run into `partitions` partitions, with `idle` idle connections open."""
    nbytes = int(args.gb * 1e9)
    before = cpu_times()
    with fresh_broker(args.shards) as broker:
        broker.create_topic("scaling", partitions, timeout=TOPIC_TIMEOUT)
        figures = {"rss_empty": broker.rss_mib()}
        connections = []
        try:
            if idle:
                connections, figures["open_seconds"] = open_idle_connections(broker.bootstrap,
                                                                             idle)
                figures["rss_idle"] = broker.rss_mib()
            warm_free_memory(nbytes * 1.1)
            cpu = broker.cpu_seconds()
            sleeps = voluntary_switches(broker.proc.pid)
            load = run_tool("produce_load", [
                "--bootstrap", broker.bootstrap, "--topic", "scaling",
                "--partitions", partitions, "--connections", args.connections,
                "--partitions-per-request", args.partitions_per_request,
                "--records", args.records, "--record-bytes", args.record_bytes, "--acks", 1,
                "--window", args.window, "--max-bytes", nbytes, "--seconds", TIME_LIMIT],
                timeout=TIME_LIMIT + 60)
            cpu = broker.cpu_seconds() - cpu
            sleeps = voluntary_switches(broker.proc.pid) - sleeps
            figures["rss_after"] = broker.rss_mib()
        finally:
            close_all(connections)
    figures.update({"mbs": load["bytes"] / load["seconds"] / 1e6,
                    "recs": load["records"] / load["seconds"],
                    "cpu_gb": cpu_per_gb(cpu, load["bytes"]),
                    "sleeps": sleeps / load["requests"],
                    "steal": steal_since(before)})
    return figures


def median(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--partitions", default="1,100,1000,10000",
                    help="comma-separated partition counts; the first is the ratio's base")
    ap.add_argument("--idle", type=int, default=10000, help="idle connections (0: none)")
    ap.add_argument("--idle-partitions", type=int, default=100,
                    help="partitions of the run with the idle connections open")
    ap.add_argument("--gb", type=float, default=4.0, help="GB produced per run")
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--connections", type=int, default=2)
    ap.add_argument("--window", type=int, default=4, help="requests outstanding per connection")
    ap.add_argument("--partitions-per-request", type=int, default=1)
    ap.add_argument("--records", type=int, default=64, help="records per batch")
    ap.add_argument("--record-bytes", type=int, default=1024)
    args = ap.parse_args()
    counts = [int(p) for p in args.partitions.split(",")]

    # Rounds of one run of each case, so that other load on the machine spreads over the cases
    # instead of landing on one of them.
    results = [(p, 0, []) for p in counts]
    if args.idle:
        results.append((args.idle_partitions, args.idle, []))
    for _ in range(args.runs):
        for partitions, idle, runs in results:
            runs.append(produce_run(args, partitions, idle))
    base = median(results[0][2], "mbs")

    print("| Partitions | Records/s | MB/s | MB/s per run | Broker CPU s/GB | Throughput vs %d "
          "partition%s | Broker RSS after the run | Broker sleeps per request, per run | "
          "Steal %% per run |" % (counts[0], "" if counts[0] == 1 else "s"))
    print("|---|---|---|---|---|---|---|---|---|")
    for partitions, idle, runs in results:
        name = "%d partition%s" % (partitions, "" if partitions == 1 else "s")
        if idle:
            name += ", %d idle connections" % idle
        print("| %s | %.0f | %.0f | %s | %.2f | %.0f %% | %.0f MiB | %s | %s |" % (
            name, median(runs, "recs"), median(runs, "mbs"),
            ", ".join("%.0f" % r["mbs"] for r in runs), median(runs, "cpu_gb"),
            100.0 * median(runs, "mbs") / base, median(runs, "rss_after"),
            ", ".join("%.2f" % r["sleeps"] for r in runs),
            ", ".join("%.1f" % r["steal"] for r in runs)))
    if args.idle:
        runs = results[-1][2]
        per_connection = statistics.median(
            (r["rss_idle"] - r["rss_empty"]) * 1024.0 / args.idle for r in runs)
        print("\n| Idle connections | Broker RSS before | With them open | Per connection | "
              "Opening them (s) |")
        print("|---|---|---|---|---|")
        print("| %d | %.0f MiB | %.0f MiB | %.1f KiB | %s |" % (
            args.idle, median(runs, "rss_empty"), median(runs, "rss_idle"), per_connection,
            ", ".join("%.1f" % r["open_seconds"] for r in runs)))
    print("\nMedians of %d run(s); %d shard(s), a fresh broker a run; %g GB a run of %d-byte "
          "records at acks=1, batches of %d records, %d partition(s) per request in turn, %d "
          "connection(s) with %d requests outstanding on each; `scripts/bench/scaling.py%s`" % (
              args.runs, args.shards, args.gb, args.record_bytes, args.records,
              args.partitions_per_request, args.connections, args.window,
              "".join(" " + a for a in sys.argv[1:])))


if __name__ == "__main__":
    main()

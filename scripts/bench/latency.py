#!/usr/bin/env python3
"""Produce-to-ack and end-to-end latency at a fixed rate (default 50 MB/s of 1 KiB records,
acks=1), with the floor's frame-to-ack latency at the same rate measured in the same run.

The lean producer (build/bench/produce_load --end-to-end) sends one 16-record batch (Kafka's
default batch.size of 16 KiB) per partition per request on one connection with up to 5 requests
outstanding (the Java producer's max.in.flight), on a fixed schedule; each request is timed from
its scheduled send time, so a stall counts for every request it delays. A consumer in the same
program long-polls with Fetch and times each batch from its scheduled send to its arrival. The
floor run sends frames of the same size at the same rate to floor_receiver. Each run gets a fresh
broker and starts with warmed free memory (bench_broker.warm_free_memory).

Prints a Markdown table of the medians over --runs runs of each percentile, with CPU steal.
"""

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_broker import (cpu_times, fresh_broker, run_tool, steal_since,  # noqa: E402
                          warm_free_memory)
from floor import produce_floor  # noqa: E402

RECORDS_PER_BATCH = 16
WINDOW = 5


def one_run(args):
    rate = args.rate_mb * 1e6
    before = cpu_times()
    with fresh_broker(args.shards) as broker:
        broker.create_topic("latency", args.partitions)
        warm_free_memory(rate * args.seconds * 1.2)
        load = run_tool("produce_load", [
            "--bootstrap", broker.bootstrap, "--topic", "latency",
            "--partitions", args.partitions, "--records", RECORDS_PER_BATCH,
            "--record-bytes", args.record_bytes, "--acks", args.acks, "--window", WINDOW,
            "--rate", rate, "--seconds", args.seconds, "--end-to-end"])
    warm_free_memory(rate * args.seconds * 1.2)
    floor, _ = produce_floor(1, load["bytes"] // load["requests"], WINDOW, args.seconds,
                             rate=rate)
    achieved = load["bytes"] / load["seconds"] / 1e6
    return {"ack": load["ack"], "end_to_end": load["end_to_end"], "floor": floor["ack"],
            "mbs": achieved, "steal": steal_since(before)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each run")
    ap.add_argument("--rate-mb", type=float, default=50.0, help="MB/s produced")
    ap.add_argument("--record-bytes", type=int, default=1024)
    ap.add_argument("--acks", type=int, default=1)
    ap.add_argument("--partitions", type=int, default=2)
    ap.add_argument("--shards", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()

    runs = [one_run(args) for _ in range(args.runs)]
    steal = ", ".join("%.1f" % r["steal"] for r in runs)
    acks = "all" if args.acks < 0 else args.acks
    print("| Path, at %g MB/s | p50 µs | p99 µs | p99.9 µs | Max µs | Samples | Steal %% per run |"
          % args.rate_mb)
    print("|---|---|---|---|---|---|---|")
    for key, name in (("ack", "broker, produce to ack (acks=%s)" % acks),
                      ("end_to_end", "broker, produce to fetched (end to end)"),
                      ("floor", "floor, frame to ack")):
        def med(field):
            return statistics.median(r[key][field] for r in runs)
        print("| %s | %.0f | %.0f | %.0f | %.0f | %d | %s |" % (
            name, med("p50_us"), med("p99_us"), med("p999_us"), med("max_us"),
            med("count"), steal))
    print("\nMedians of %d run(s) of %g s; achieved %s MB/s; %d-byte records, %d per batch, %d "
          "partitions on one connection, %d requests outstanding at most; %d shard(s); "
          "`scripts/bench/latency.py %s`" % (
              args.runs, args.seconds, ", ".join("%.1f" % r["mbs"] for r in runs),
              args.record_bytes, RECORDS_PER_BATCH, args.partitions, WINDOW, args.shards,
              " ".join(sys.argv[1:])))


if __name__ == "__main__":
    main()

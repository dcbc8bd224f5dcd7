#!/usr/bin/env python3
"""What the admin API's /metrics costs a broker under produce load.

The counters behind /metrics are always kept (plain per-shard integers on the request path), so
their cost is in every figure of docs/benchmarks.md; this measures what scraping adds. In
rounds, each on a fresh broker (--shards shards, the admin API on): the lean producer
(build/bench/produce_load) writes --gb GB of 1 KiB records at acks=1 into --partitions
partitions, once with nobody scraping and once with /metrics scraped every --interval seconds
(Prometheus's default is 15 s; the default here is 0.1 s, 150 times as often). Reported: the
broker's CPU seconds per GB of each (medians of --runs), their ratio, and the scrape's size and
median time. With --baseline-broker (a build from before the counters existed), a third broker
per round runs that build unscraped: the counters' own cost on the request path is this build's
CPU per GB over the baseline's. Standard library only (plus integration/kafka_wire.py through
bench_broker).
"""

import argparse
import http.client
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_broker import (Broker, cpu_per_gb, cpu_times, free_port, run_tool,  # noqa: E402
                          steal_since, warm_free_memory)

TIME_LIMIT = 300


def scraper(port, interval, stop, out):
    """Scrapes /metrics every `interval` s until `stop`; appends (seconds, bytes) per scrape."""
    while not stop.wait(interval):
        t0 = time.monotonic()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            c.request("GET", "/metrics")
            body = c.getresponse().read()
        finally:
            c.close()
        out.append((time.monotonic() - t0, len(body)))


def run(args, scrape, workdir, binary=None):
    admin = free_port()
    broker = Broker(workdir, args.shards, {"runnel.admin.listeners": "http://127.0.0.1:%d" % admin},
                    binary=binary)
    broker.start()
    try:
        broker.create_topic("metered", args.partitions, timeout=60)
        nbytes = int(args.gb * 1e9)
        warm_free_memory(nbytes * 1.1)
        before, cpu = cpu_times(), broker.cpu_seconds()
        scrapes, stop = [], threading.Event()
        thread = threading.Thread(target=scraper, args=(admin, args.interval, stop, scrapes))
        if scrape:
            thread.start()
        try:
            load = run_tool("produce_load", [
                "--bootstrap", broker.bootstrap, "--topic", "metered",
                "--partitions", args.partitions, "--connections", 4, "--records", 16,
                "--record-bytes", 1024, "--acks", 1, "--window", 4, "--max-bytes", nbytes,
                "--seconds", TIME_LIMIT], timeout=TIME_LIMIT + 60)
        finally:
            stop.set()
            if scrape:
                thread.join()
        return {"cpu_gb": cpu_per_gb(broker.cpu_seconds() - cpu, load["bytes"]),
                "steal": steal_since(before), "scrapes": scrapes}
    finally:
        broker.proc.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--shards", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--gb", type=float, default=2.0)
    ap.add_argument("--partitions", type=int, default=16)
    ap.add_argument("--interval", type=float, default=0.1, help="seconds between scrapes")
    ap.add_argument("--baseline-broker", help="a broker binary built before the counters existed")
    args = ap.parse_args()
    import shutil
    import tempfile
    plain, scraped, baseline = [], [], []
    variants = [(False, plain, None, "not scraped"), (True, scraped, None, "scraped")]
    if args.baseline_broker:
        variants.append((False, baseline, args.baseline_broker, "baseline build"))
    for i in range(args.runs):
        for scrape, out, binary, name in variants:
            print("run %d, %s" % (i + 1, name), file=sys.stderr)
            workdir = tempfile.mkdtemp(prefix="runnel-bench-metrics-")
            try:
                out.append(run(args, scrape, workdir, binary))
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
    a = statistics.median(r["cpu_gb"] for r in plain)
    b = statistics.median(r["cpu_gb"] for r in scraped)
    ratios = [s["cpu_gb"] / p["cpu_gb"] for p, s in zip(plain, scraped)]
    scrapes = [x for r in scraped for x in r["scrapes"]]
    print("| Produce, %g GB of 1 KiB records, %d partitions, acks=1 | broker CPU s/GB |"
          % (args.gb, args.partitions))
    print("|---|---|")
    print("| /metrics not scraped | %.3f |" % a)
    print("| /metrics scraped every %g s | %.3f |" % (args.interval, b))
    print("| scraped / not scraped, median of pairs | %.3f (%s) |" % (
        statistics.median(ratios), ", ".join("%.3f" % x for x in ratios)))
    if scrapes:
        print("| a scrape: median time, size | %.1f ms, %d bytes |" % (
            statistics.median(t for t, _ in scrapes) * 1e3, scrapes[-1][1]))
    if baseline:
        c = statistics.median(r["cpu_gb"] for r in baseline)
        pairs = [p["cpu_gb"] / q["cpu_gb"] for p, q in zip(plain, baseline)]
        print("| baseline build (no counters), not scraped | %.3f |" % c)
        print("| this build / baseline, not scraped, median of pairs | %.3f (%s) |" % (
            statistics.median(pairs), ", ".join("%.3f" % x for x in pairs)))
    steal = ", ".join("%.1f" % r["steal"] for r in plain + scraped + baseline)
    print("\nMedians of %d run(s) each, alternating, each on a fresh broker with %d shard(s); "
          "CPU steal %% per run: %s. `scripts/bench/metrics_cost.py %s`" % (
              args.runs, args.shards, steal, " ".join(sys.argv[1:])))


if __name__ == "__main__":
    main()

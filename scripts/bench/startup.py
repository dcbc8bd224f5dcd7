#!/usr/bin/env python3
"""Start-up, shutdown, memory and descriptors with many partitions: for each --partitions count,
creates that many partitions (topics of 100, ten topics a CreateTopics request), writes one record
to every partition, stops the broker cleanly, then times --runs restarts until it accepts
connections and clean stops. Reports the broker's resident memory (VmRSS) and open descriptors
after each start next to its open file limit. Prints a Markdown table. Standard library only.
"""

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_broker import ROOT, Broker, cpu_times, create_topics, rss_mib, steal_since  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "integration"))
import kafka_wire as kw  # noqa: E402


def one_count(partitions, runs, shards):
    per_topic = min(100, partitions)
    topics = ["startup-%d" % i for i in range((partitions + per_topic - 1) // per_topic)]
    workdir = tempfile.mkdtemp(prefix="runnel-bench-startup-")
    print("work dir", workdir, file=sys.stderr)
    broker = Broker(workdir, shards, {"auto.create.topics.enable": "false"})
    row = {"partitions": partitions}
    try:
        broker.start()
        row["empty_rss"] = rss_mib(broker.proc.pid)
        t0 = time.monotonic()
        create_topics(broker.bootstrap, topics, per_topic)
        row["create_s"] = time.monotonic() - t0
        with kw.Connection.to(broker.bootstrap, timeout=600) as c:
            batch = kw.build_record_batch([(None, b"x" * 100, [])])
            for t in topics:
                res = c.produce({t: {p: batch for p in range(per_topic)}}, acks=1)
                errors = [r["error_code"] for r in res.values() if r["error_code"]]
                if errors:
                    sys.exit("produce to %s failed: %r" % (t, errors[:5]))
        row["loaded_rss"] = rss_mib(broker.proc.pid)
        row["first_stop_s"] = broker.stop(timeout=900)
        times, stops, rss, fds, steal = [], [], [], [], []
        for _ in range(runs):
            before = cpu_times()
            times.append(broker.start())
            rss.append(rss_mib(broker.proc.pid))
            fds.append(broker.open_descriptors())
            stops.append(broker.stop(timeout=900))
            steal.append(steal_since(before))
        row.update(times=times, stops=stops, rss=rss, fds=fds, steal=steal)
    finally:
        if broker.proc and broker.proc.poll() is None:
            broker.kill()
        if not os.environ.get("RUNNEL_KEEP_DIRS"):
            shutil.rmtree(workdir, ignore_errors=True)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--partitions", default="10000,100000",
                    help="comma-separated partition counts")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--shards", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    counts = [int(x) for x in args.partitions.split(",")]
    rows = [one_count(n, args.runs, args.shards) for n in counts]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    print("| Partitions | Create | Median start-up to listening | Runs (s) | Median clean stop | "
          "First stop after writing | Descriptors after start | Steal % | RSS after start | "
          "RSS empty broker | RSS after creating and producing |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %d | %.1f s | %.2f s | %s | %.2f s | %.1f s | %d | %s | %.0f MiB | %.0f MiB | "
              "%.0f MiB |" % (
                  r["partitions"], r["create_s"], statistics.median(r["times"]),
                  ", ".join("%.2f" % t for t in r["times"]), statistics.median(r["stops"]),
                  r["first_stop_s"], statistics.median(r["fds"]),
                  ", ".join("%.1f" % s for s in r["steal"]), statistics.median(r["rss"]),
                  r["empty_rss"], r["loaded_rss"]))
    print("\n%d shard(s), open file limit %d (hard %d), default runnel.log.open.files.max and "
          "runnel.max.partitions; clean shutdown before each start; "
          "`scripts/bench/startup.py --partitions %s --runs %d`" % (
              args.shards, soft, hard, args.partitions, args.runs))


if __name__ == "__main__":
    main()

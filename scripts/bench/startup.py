#!/usr/bin/env python3
"""Start-up time and memory with many partitions: creates --partitions partitions (in topics of
100), stops the broker cleanly and times --runs restarts until it accepts connections; also
reports the broker's resident memory (VmRSS) after each start, and one produce request per
partition to show every partition is served. Prints a Markdown table. Standard library only.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_broker import ROOT, Broker, cpu_times, rss_mib, steal_since  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "integration"))
import kafka_wire as kw  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--partitions", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--shards", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    per_topic = min(100, args.partitions)
    topics = ["startup-%d" % i for i in range((args.partitions + per_topic - 1) // per_topic)]
    workdir = tempfile.mkdtemp(prefix="runnel-bench-startup-")
    print("work dir", workdir, file=sys.stderr)
    broker = Broker(workdir, args.shards, {"auto.create.topics.enable": "false"})
    try:
        broker.start()
        empty_rss = rss_mib(broker.proc.pid)
        with kw.Connection.to(broker.bootstrap, timeout=120) as c:
            for i in range(0, len(topics), 10):
                res = c.create_topics([(t, per_topic, 1, {}) for t in topics[i:i + 10]],
                                      timeout_ms=120000)
                bad = {t: r for t, r in res.items() if r[0] != 0}
                if bad:
                    sys.exit("CreateTopics failed: %r" % bad)
            batch = kw.build_record_batch([(None, b"x" * 100, [])])
            for t in topics:
                res = c.produce({t: {p: batch for p in range(per_topic)}}, acks=1)
                errors = [r["error_code"] for r in res.values() if r["error_code"]]
                if errors:
                    sys.exit("produce to %s failed: %r" % (t, errors[:5]))
        loaded_rss = rss_mib(broker.proc.pid)
        broker.stop()
        times, rss, steal = [], [], []
        for _ in range(args.runs):
            before = cpu_times()
            times.append(broker.start())
            steal.append(steal_since(before))
            rss.append(rss_mib(broker.proc.pid))
            broker.stop()
    finally:
        if broker.proc and broker.proc.poll() is None:
            broker.kill()
        if not os.environ.get("RUNNEL_KEEP_DIRS"):
            shutil.rmtree(workdir, ignore_errors=True)
    print("| Partitions | Median start-up to listening | Runs (s) | Steal % | RSS after start | "
          "RSS empty broker | RSS after creating and producing |")
    print("|---|---|---|---|---|---|---|")
    print("| %d | %.2f s | %s | %s | %.0f MiB | %.0f MiB | %.0f MiB |" % (
        args.partitions, statistics.median(times), ", ".join("%.2f" % t for t in times),
        ", ".join("%.1f" % s for s in steal), statistics.median(rss), empty_rss, loaded_rss))
    print("\n%d shard(s), clean shutdown before each start; `scripts/bench/startup.py "
          "--partitions %d --runs %d`" % (args.shards, args.partitions, args.runs))


if __name__ == "__main__":
    main()

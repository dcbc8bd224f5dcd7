#!/usr/bin/env python3
"""Recovery time after SIGKILL: fills a broker with --gb GB of 1 KiB records (rdkafka_performance),
kills it with SIGKILL and times restarts until the broker listens again, --runs times.

Two cases, both with the broker's default settings:
  worst    the recovery-point checkpoint is deleted before each start (lost or never written), so
           every segment of every partition is scanned: framing, CRC-32C, index rebuild.
  typical  killed 2.5 s after the fill: the checkpoint a flush of each rolled segment brings
           forward (within about a second) is on disk, so only the segments after each
           partition's recovery point (the active ones) are scanned.
Each case is timed with the segments in the page cache (a process crash) and, when the machine
lets us drop caches, cold (as after a power loss; reads come from the disk).

Prints a Markdown table of medians, with the CPU steal of each run. Only the standard library.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_broker import ROOT, Broker, cpu_times, drop_caches, rdkafka_performance, steal_since


def fill(perf, broker, gb):
    count = int(gb * (1 << 30) / 1024)
    subprocess.run([perf, "-P", "-t", "recovery", "-b", "127.0.0.1:%d" % broker.port,
                    "-s", "1024", "-c", str(count), "-a", "1", "-X", "linger.ms=5", "-q"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def data_bytes(path):
    total = 0
    for d, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(d, f)) for f in files if f.endswith(".log"))
    return total


def recovered_segments(log_path, since):
    with open(log_path) as f:
        f.seek(since)
        return sum(int(m.group(1)) for m in re.finditer(r"recovered (\d+) segment", f.read()))


def remove_recovery_points(broker):
    for d, _, files in os.walk(broker.data):
        if "recovery-point-offset-checkpoint" in files:
            os.remove(os.path.join(d, "recovery-point-offset-checkpoint"))


def measure(broker, runs, cold, before_start):
    times, steals, segments = [], [], []
    for _ in range(runs):
        broker.kill()
        before_start(broker)
        if cold and not drop_caches():
            return None
        offset = os.path.getsize(broker.log_path)
        before = cpu_times()
        times.append(broker.start())
        steals.append(steal_since(before))
        segments.append(recovered_segments(broker.log_path, offset))
    return times, steals, segments


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gb", type=float, default=10.0, help="data to recover (default 10)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--shards", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--workdir", default=os.path.join(ROOT, "build", "bench", "recovery"))
    ap.add_argument("--no-cold", action="store_true", help="skip the cold-cache runs")
    args = ap.parse_args()
    perf = rdkafka_performance()

    rows = []
    for case, before_start in (("worst", remove_recovery_points), ("typical", lambda b: None)):
        shutil.rmtree(args.workdir, ignore_errors=True)
        os.makedirs(args.workdir)
        broker = Broker(args.workdir, args.shards, {"num.partitions": 8})
        broker.start()
        fill(perf, broker, args.gb)
        time.sleep(2.5)  # the checkpoint after the last roll's flush
        size = data_bytes(broker.data)
        for cold in (False, True):
            if cold and args.no_cold:
                continue
            r = measure(broker, args.runs, cold, before_start)
            if r is None:
                print("cannot drop the page cache here: cold runs skipped", file=sys.stderr)
                continue
            times, steals, segs = r
            med = statistics.median(times)
            rows.append((case, "cold" if cold else "page cache", size, med,
                         size / med / 1e9 if case == "worst" else None, times, steals, segs))
        broker.kill()
        shutil.rmtree(args.workdir, ignore_errors=True)

    print("| Case | Segments | Data | Median time to listening | Scan rate | Runs (s) | Steal % | "
          "Segments recovered |")
    print("|---|---|---|---|---|---|---|---|")
    for case, where, size, med, rate, times, steals, segs in rows:
        print("| %s | %s | %.2f GB | %.2f s | %s | %s | %s | %s |" % (
            case, where, size / 1e9, med, "%.1f GB/s" % rate if rate else "-",
            ", ".join("%.2f" % t for t in times), ", ".join("%.1f" % s for s in steals),
            ", ".join(str(s) for s in segs)))
    print("\n%s shard(s); `scripts/bench/recovery.py --gb %g --runs %d`" %
          (args.shards, args.gb, args.runs))


if __name__ == "__main__":
    main()

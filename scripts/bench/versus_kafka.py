#!/usr/bin/env python3
"""Runnel and Apache Kafka 4.4.0 side by side, in one run: the same load generators against each
broker in turn (Kafka, then Runnel, --runs times), with CPU steal recorded for every run.

Per run and broker, on a fresh data dir each:
- idle: resident memory (VmRSS) with one topic;
- produce with rdkafka_performance (1 KiB records acks=1, and 100 B records acks=all, 16
  partitions, linger.ms=5) and with Kafka's own kafka-producer-perf-test (1 KiB, the Java
  producer's defaults: acks=all, idempotent): MB/s and the broker's CPU seconds per GB (user +
  system of the process, /proc);
- consume: one partition read from the page cache by rdkafka_performance: broker CPU s/GB;
- produce-to-ack latency at fixed rates (--rates, MB/s; our lean producer,
  build/bench/produce_load, 1 KiB records, acks=1, 2 partitions, up to 5 requests in flight,
  timed from each request's scheduled send);
- resident memory after that load;
- for each of --partitions (topics of 100, one record in each), on a fresh broker: time from
  start to every partition answering ListOffsets, after a clean stop and after SIGKILL
  (recovery), and resident memory once they are served;
- produce throughput and broker CPU per GB as one broker's partitions grow (--scaling: a topic
  of 1, then 1,000, then 10,000 partitions on the same broker, 1 KiB records spread over all of
  a topic's partitions by rdkafka_performance);
- --data-gb of 1 KiB records in 16 partitions, then: recovery after a SIGKILL straight after the
  writes (page cache warm), restart after a clean stop, and recovery after SIGKILL with the page
  cache dropped (cold, when /proc/sys/vm/drop_caches is writable).

Kafka runs as scripts/peer/kafka.sh starts it (KRaft, one combined node, G1, --heap), Runnel with
--shards shard threads; both with their default flush policies (left to the OS). Each figure is
the median over the runs; the ratio column is Kafka's figure over Runnel's (for throughput,
Runnel's over Kafka's), so above 1 is Runnel ahead. Prints a Markdown table. Standard library
only, plus integration/kafka_wire.py.
"""

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_broker import (CONSUMED, PRODUCED, ROOT, Broker, cpu_times, drop_caches,  # noqa: E402
                          free_ports, process_cpu_seconds, rss_mib, run_rdkafka_performance,
                          run_tool, steal_since, warm_free_memory)
from bench_broker import create_topics as bench_create_topics  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "integration"))
import kafka_wire as kw  # noqa: E402

PEER = os.path.join(ROOT, "scripts", "peer", "kafka.sh")
KAFKA_TOOL = os.path.join(ROOT, "scripts", "kafka-tool.sh")
PERF_TEST = re.compile(r"(\d+) records sent, [\d.]+ records/sec \(([\d.]+) MB/sec\)")


class KafkaPeer:
    """Kafka with the interface of bench_broker.Broker that this script uses."""

    def __init__(self, workdir, heap):
        self.dir = workdir
        self.heap = heap
        self.port, self.controller_port = free_ports(2)
        self.bootstrap = "127.0.0.1:%d" % self.port

    @property
    def pid(self):
        with open(os.path.join(self.dir, "kafka.pid")) as f:
            return int(f.read())

    def start(self):
        """Starts Kafka (the JVM included); returns seconds until it accepts connections."""
        t0 = time.monotonic()
        subprocess.run([PEER, "start", self.dir, "--port", str(self.port), "--controller-port",
                        str(self.controller_port), "--heap", self.heap,
                        "auto.create.topics.enable=false"],
                       check=True, stdout=subprocess.DEVNULL, timeout=900)
        return time.monotonic() - t0

    def stop(self, timeout=900):
        t0 = time.monotonic()
        subprocess.run([PEER, "stop", self.dir], check=True, timeout=timeout)
        return time.monotonic() - t0

    def kill(self):
        pid = self.pid
        os.kill(pid, signal.SIGKILL)
        while os.path.exists("/proc/%d" % pid):
            time.sleep(0.01)

    def cpu_seconds(self):
        return process_cpu_seconds(self.pid)

    def rss_mib(self):
        return rss_mib(self.pid)


class RunnelBroker(Broker):
    @property
    def pid(self):
        return self.proc.pid


def create_topics(broker, topics, partitions):
    bench_create_topics(broker.bootstrap, topics, partitions)


# Kafka's controller refuses a request that would write more than 10,000 metadata records at once
# (POLICY_VIOLATION, "excessively large batch operation"): a topic of 10,000 partitions is
# created in steps of this many, on both brokers alike.
PARTITION_STEP = 5000


def create_large_topic(broker, topic, partitions):
    """Creates `topic` with PARTITION_STEP partitions, then adds the rest (CreatePartitions v1),
    a step at a time."""
    count = min(partitions, PARTITION_STEP)
    create_topics(broker, [topic], count)
    with kw.Connection.to(broker.bootstrap, timeout=600) as c:
        while count < partitions:
            wait_ready(broker, [topic], count, time.monotonic())
            count = min(partitions, count + PARTITION_STEP)
            body = kw.Writer().array([topic], lambda w, t: w.string(t).i32(count).i32(-1)) \
                .i32(600_000).boolean(False).getvalue()
            r = c.call(kw.CREATE_PARTITIONS, 1, body)
            r.i32()  # throttle
            errors = []
            r.array(lambda rr: errors.append((rr.string(), rr.i16(), rr.string())))
            if any(e[1] for e in errors):
                sys.exit("CreatePartitions failed: %r" % errors)


def wait_ready(broker, topics, partitions, since, timeout=900):
    """Seconds from `since` until every partition of `topics` answers ListOffsets (Kafka's
    metadata shows a topic a moment before its replica manager serves it)."""
    deadline = time.monotonic() + timeout
    want = {t: {p: kw.LATEST_TIMESTAMP for p in range(partitions)} for t in topics}
    while True:
        try:
            with kw.Connection.to(broker.bootstrap, timeout=30) as c:
                while True:
                    res = c.list_offsets(want)
                    if len(res) == len(topics) * partitions and all(
                            r["error_code"] == 0 for r in res.values()):
                        return time.monotonic() - since
                    if time.monotonic() > deadline:
                        sys.exit("partitions not ready: %r" % [
                            k for k, r in res.items() if r["error_code"]][:5])
                    time.sleep(0.02)
        except (OSError, kw.ConnectionClosed):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def perf(broker, args, pattern):
    """rdkafka_performance against `broker`: (bytes, seconds, broker CPU seconds)."""
    _, nbytes, seconds, cpu, _ = run_rdkafka_performance(broker, args, pattern)
    return nbytes, seconds, cpu


class SkipLoad(Exception):
    """--parts leaves out the load runs."""


def one_broker(kind, args):
    """One run's figures for `kind` ("Kafka" or "Runnel")."""
    workdir = tempfile.mkdtemp(prefix="runnel-bench-versus-")
    broker = new_broker(kind, args, workdir)
    before = cpu_times()
    row = {}
    try:
        if "load" not in args.parts:
            raise SkipLoad()
        # (The first start is not timed: Kafka's includes formatting its storage.)
        broker.start()
        create_topics(broker, ["idle"], 1)
        wait_ready(broker, ["idle"], 1, time.monotonic())
        row["idle_rss"] = broker.rss_mib()

        scale = args.scale
        for name, size, count, acks in (("produce 1 KiB, acks=1", 1024, 1_000_000, 1),
                                        ("produce 100 B, acks=all", 100, 3_000_000, -1)):
            topic = "p%d%d" % (size, -acks)
            create_topics(broker, [topic], 16)
            wait_ready(broker, [topic], 16, time.monotonic())
            n = max(1000, int(count * scale))
            warm_free_memory(n * (size + 64) * 1.1)
            nbytes, secs, cpu = perf(broker, ["-P", "-t", topic, "-s", str(size), "-c", str(n),
                                              "-a", str(acks), "-X", "linger.ms=5",
                                              "-X", "batch.num.messages=10000"], PRODUCED)
            row[name] = {"mbs": nbytes / secs / 1e6, "cpu_gb": cpu / (nbytes / 1e9)}

        # Kafka's own load generator (the Java producer, idempotent with acks=all by default).
        n = max(1000, int(1_000_000 * scale))
        create_topics(broker, ["java"], 16)
        wait_ready(broker, ["java"], 16, time.monotonic())
        warm_free_memory(n * 1100)
        before_cpu = broker.cpu_seconds()
        out = subprocess.run([KAFKA_TOOL, "kafka-producer-perf-test.sh", "--topic", "java",
                              "--num-records", str(n), "--record-size", "1024",
                              "--throughput", "-1", "--producer-props",
                              "bootstrap.servers=" + broker.bootstrap, "linger.ms=5"],
                             capture_output=True, text=True, timeout=900)
        cpu = broker.cpu_seconds() - before_cpu
        m = PERF_TEST.findall(out.stdout)
        if out.returncode != 0 or not m:
            sys.exit("kafka-producer-perf-test failed:\n%s%s" % (out.stdout[-2000:],
                                                                 out.stderr[-2000:]))
        mbs = float(m[-1][1]) * 1024 * 1024 / 1e6  # it reports MiB/s as "MB/sec"
        row["produce 1 KiB, kafka-producer-perf-test"] = {
            "mbs": mbs, "cpu_gb": cpu / (n * 1024 / 1e9)}

        # Consume: 1 KiB records written to one partition, then read from the page cache.
        n = max(1000, int(1_000_000 * scale))
        create_topics(broker, ["consume"], 1)
        wait_ready(broker, ["consume"], 1, time.monotonic())
        perf(broker, ["-P", "-t", "consume", "-p", "0", "-s", "1024", "-c", str(n), "-a", "1",
                      "-X", "linger.ms=5", "-X", "batch.num.messages=10000"], PRODUCED)
        nbytes, secs, cpu = perf(broker, ["-C", "-t", "consume", "-p", "0", "-o", "beginning",
                                          "-c", str(n), "-X", "fetch.wait.max.ms=100"], CONSUMED)
        row["consume 1 KiB, page cache"] = {"mbs": nbytes / secs / 1e6,
                                            "cpu_gb": cpu / (nbytes / 1e9)}

        for rate in args.rates:
            topic = "latency%g" % rate
            create_topics(broker, [topic], 2)
            wait_ready(broker, [topic], 2, time.monotonic())
            load = run_tool("produce_load", [
                "--bootstrap", broker.bootstrap, "--topic", topic, "--partitions", 2,
                "--records", 16, "--record-bytes", 1024, "--acks", 1, "--window", 5,
                "--rate", rate * 1e6, "--seconds", args.latency_seconds])
            row["latency %g" % rate] = load["ack"]
        row["loaded_rss"] = broker.rss_mib()
        broker.stop()
    except SkipLoad:
        pass
    finally:
        stop_quietly(broker)
        shutil.rmtree(workdir, ignore_errors=True)
    for count in args.partitions:
        row.update(many_partitions(kind, args, count))
    row.update(growing_partitions(kind, args))
    if args.data_gb:
        row.update(big_log(kind, args))
    row["steal"] = steal_since(before)
    return row


def stop_quietly(broker):
    try:
        broker.kill()
    except (OSError, AttributeError, FileNotFoundError):
        pass


def new_broker(kind, args, workdir):
    return (KafkaPeer(workdir, args.heap) if kind == "Kafka"
            else RunnelBroker(workdir, args.shards, {"auto.create.topics.enable": "false"}))


def many_partitions(kind, args, count):
    """Restart and recovery times with `count` partitions (topics of 100, one record in each),
    and the resident memory once they are all served, on a fresh broker."""
    workdir = tempfile.mkdtemp(prefix="runnel-bench-versus-")
    broker = new_broker(kind, args, workdir)
    row = {}
    try:
        broker.start()
        per_topic = min(100, count)
        topics = ["s%d" % i for i in range((count + per_topic - 1) // per_topic)]
        create_topics(broker, topics, per_topic)
        wait_ready(broker, topics, per_topic, time.monotonic())
        batch = kw.build_record_batch([(None, b"x" * 100, [])])
        with kw.Connection.to(broker.bootstrap, timeout=600) as c:
            for t in topics:
                c.produce({t: {p: batch for p in range(per_topic)}}, acks=1)
        broker.stop()
        t0 = time.monotonic()
        broker.start()
        row["restart_s %d" % count] = wait_ready(broker, topics, per_topic, t0)
        row["rss %d" % count] = broker.rss_mib()
        broker.kill()
        t0 = time.monotonic()
        broker.start()
        row["recovery_s %d" % count] = wait_ready(broker, topics, per_topic, t0)
        broker.stop()
    finally:
        stop_quietly(broker)
        shutil.rmtree(workdir, ignore_errors=True)
    return row


def growing_partitions(kind, args):
    """Produce throughput and broker CPU per GB into a topic of each of --scaling partition
    counts, created one after the other on the same broker."""
    if not args.scaling:
        return {}
    workdir = tempfile.mkdtemp(prefix="runnel-bench-versus-")
    broker = new_broker(kind, args, workdir)
    row = {}
    try:
        broker.start()
        for count in args.scaling:
            topic = "grow%d" % count
            create_large_topic(broker, topic, count)
            wait_ready(broker, [topic], count, time.monotonic())
            n = max(1000, int(1_000_000 * args.scale))
            warm_free_memory(n * 1100)
            nbytes, secs, cpu = perf(broker, ["-P", "-t", topic, "-s", "1024", "-c", str(n),
                                              "-a", "1", "-X", "linger.ms=5",
                                              "-X", "batch.num.messages=10000"], PRODUCED)
            row["grow %d" % count] = {"mbs": nbytes / secs / 1e6, "cpu_gb": cpu / (nbytes / 1e9)}
        broker.stop()
    finally:
        stop_quietly(broker)
        shutil.rmtree(workdir, ignore_errors=True)
    return row


def big_log(kind, args):
    """Start-up with --data-gb of data: after SIGKILL straight after the writes, after a clean
    stop, and after SIGKILL with the page cache dropped."""
    workdir = tempfile.mkdtemp(prefix="runnel-bench-versus-")
    broker = new_broker(kind, args, workdir)
    row = {}
    try:
        broker.start()
        create_topics(broker, ["big"], 16)
        wait_ready(broker, ["big"], 16, time.monotonic())
        n = int(args.data_gb * (1 << 30) / 1024)
        perf(broker, ["-P", "-t", "big", "-s", "1024", "-c", str(n), "-a", "1",
                      "-X", "linger.ms=5", "-X", "batch.num.messages=10000"], PRODUCED)
        broker.kill()
        t0 = time.monotonic()
        broker.start()
        row["big recovery"] = wait_ready(broker, ["big"], 16, t0)
        broker.stop()
        t0 = time.monotonic()
        broker.start()
        row["big restart"] = wait_ready(broker, ["big"], 16, t0)
        broker.kill()
        if drop_caches():
            t0 = time.monotonic()
            broker.start()
            row["big cold"] = wait_ready(broker, ["big"], 16, t0)
        broker.stop()
    finally:
        stop_quietly(broker)
        shutil.rmtree(workdir, ignore_errors=True)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--shards", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--heap", default="1g", help="Kafka's heap (-Xms and -Xmx)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies the record counts")
    ap.add_argument("--rates", default="10,50,200",
                    help="latency runs: MB/s produced, comma-separated")
    ap.add_argument("--latency-seconds", type=float, default=10.0)
    ap.add_argument("--partitions", default="1000,10000",
                    help="partition counts of the start-up and recovery runs, comma-separated")
    ap.add_argument("--scaling", default="1,1000,10000",
                    help="partition counts of the growing-broker produce runs, comma-separated")
    ap.add_argument("--data-gb", type=float, default=10.0,
                    help="GB written before the large-log start-up runs (0: skip them)")
    ap.add_argument("--parts", default="load,partitions,scaling,big",
                    help="which runs: load (throughput, CPU, latency, RSS), partitions "
                         "(start-up and recovery), scaling (growing broker), big (large log)")
    args = ap.parse_args()
    args.parts = set(args.parts.split(","))
    unknown = args.parts - {"load", "partitions", "scaling", "big"}
    if unknown:
        ap.error("unknown --parts: %s" % ", ".join(sorted(unknown)))
    args.rates = [float(x) for x in args.rates.split(",")] if "load" in args.parts else []
    args.partitions = ([int(x) for x in args.partitions.split(",")]
                       if "partitions" in args.parts else [])
    args.scaling = [int(x) for x in args.scaling.split(",")] if "scaling" in args.parts else []
    if "big" not in args.parts:
        args.data_gb = 0

    runs = {"Kafka": [], "Runnel": []}
    for i in range(args.runs):
        for kind in ("Kafka", "Runnel"):
            print("run %d: %s" % (i + 1, kind), file=sys.stderr)
            runs[kind].append(one_broker(kind, args))

    def med(kind, get):
        return statistics.median(get(r) for r in runs[kind])

    rows = []  # (measure, unit, getter, higher is better)
    load_runs = ("produce 1 KiB, acks=1", "produce 100 B, acks=all",
                 "produce 1 KiB, kafka-producer-perf-test", "consume 1 KiB, page cache")
    for name in load_runs if "load" in args.parts else ():
        rows.append((name + ": throughput", "MB/s", lambda r, n=name: r[n]["mbs"], True))
        rows.append((name + ": broker CPU", "CPU s/GB", lambda r, n=name: r[n]["cpu_gb"], False))
    for rate in args.rates:
        for pct, field in (("p50", "p50_us"), ("p99", "p99_us"), ("p99.9", "p999_us")):
            rows.append(("produce to ack at %g MB/s, %s" % (rate, pct), "µs",
                         lambda r, f=field, k="latency %g" % rate: r[k][f], False))
    if "load" in args.parts:
        rows += [
            ("resident memory, idle", "MiB", lambda r: r["idle_rss"], False),
            ("resident memory, after the load above", "MiB", lambda r: r["loaded_rss"], False),
        ]
    for count in args.partitions:
        rows += [
            ("restart with %d partitions, clean stop before" % count, "s",
             lambda r, c=count: r["restart_s %d" % c], False),
            ("recovery with %d partitions, SIGKILL before" % count, "s",
             lambda r, c=count: r["recovery_s %d" % c], False),
            ("resident memory with %d partitions" % count, "MiB",
             lambda r, c=count: r["rss %d" % c], False),
        ]
    for count in args.scaling:
        name = "produce 1 KiB into %d partition(s), growing broker" % count
        rows.append((name + ": throughput", "MB/s",
                     lambda r, c=count: r["grow %d" % c]["mbs"], True))
        rows.append((name + ": broker CPU", "CPU s/GB",
                     lambda r, c=count: r["grow %d" % c]["cpu_gb"], False))
    if args.data_gb:
        gb = "%g GB" % args.data_gb
        rows += [
            ("recovery with %s, SIGKILL right after the writes" % gb, "s",
             lambda r: r["big recovery"], False),
            ("restart with %s, clean stop before" % gb, "s", lambda r: r["big restart"], False),
        ]
        if all("big cold" in r for rs in runs.values() for r in rs):
            rows.append(("recovery with %s, SIGKILL before, page cache dropped" % gb, "s",
                         lambda r: r["big cold"], False))
    print("| Measure | Unit | Kafka 4.4.0 | Runnel | Runnel ahead by |")
    print("|---|---|---|---|---|")
    for name, unit, get, higher in rows:
        k, r = med("Kafka", get), med("Runnel", get)
        # A figure below the clock's resolution (CPU time is counted in 10 ms ticks) shows as
        # 0.00 and gets no ratio.
        ratio = "%.1f×" % (r / k if higher else k / r) if (k and r) else "—"
        fmt = "%.0f" if max(k, r) >= 100 else "%.2f"
        print("| %s | %s | %s | %s | %s |" % (name, unit, fmt % k, fmt % r, ratio))
    steal = "; ".join("%s %s" % (kind, ", ".join("%.1f" % r["steal"] for r in runs[kind]))
                      for kind in runs)
    print("\nMedians of %d run(s) each, Kafka and Runnel alternating; CPU steal %% per run: %s. "
          "Runnel with %d shard(s), Kafka with a %s heap. `scripts/bench/versus_kafka.py %s`" % (
              args.runs, steal, args.shards, args.heap, " ".join(sys.argv[1:])))


if __name__ == "__main__":
    main()

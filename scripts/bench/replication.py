#!/usr/bin/env python3
"""Replication's cost and failover on one machine: ZooKeeper and three Runnel brokers on
loopback. Produce with acks=all to 16 partitions that broker 1 leads, with one replica (RF=1)
and with three (RF=3, min.insync.replicas=2): throughput, broker CPU seconds per GB summed over
the three brokers, and produce-to-ack latency (build/bench/produce_load). Failover: a probe
writes one record with acks=all every 5 ms to a partition with three replicas; its leader is
killed (SIGKILL: the others learn it when its ZooKeeper session expires) or stopped (SIGTERM:
controlled shutdown); the time from the signal to the first acknowledged write on the new
leader, and whether the probe saw an error it could not retry. Medians of --runs runs.
Prints Markdown tables. Standard library only, plus the repository's integration/ modules.
"""

import argparse
import os
import signal
import statistics
import sys
import tempfile
import shutil
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_broker import ROOT, Broker, cpu_times, run_tool, steal_since  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "integration"))
import kafka_wire as kw  # noqa: E402
from zookeeper_process import ZooKeeper  # noqa: E402

EXTRA = {}
SESSION_MS = 2000  # the brokers' zookeeper.session.timeout.ms (this ZooKeeper allows 400-4000)
RECORDS_PER_BATCH = 16
RETRIABLE = {6, 7, 19, 20, 5}  # NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS(_AFTER_APPEND), LEADER_NOT_AVAILABLE


class Cluster:
    def __init__(self, shards):
        self.workdir = tempfile.mkdtemp(prefix="runnel-bench-cluster-")
        self.zk = ZooKeeper()
        self.brokers = {}
        for i in (1, 2, 3):
            d = os.path.join(self.workdir, "broker%d" % i)
            os.makedirs(d)
            self.brokers[i] = Broker(d, shards, extra={
                "node.id": i, "broker.id": i, "zookeeper.connect": self.zk.connect + "/bench",
                "zookeeper.session.timeout.ms": SESSION_MS,
                "zookeeper.connection.timeout.ms": 20000, **EXTRA})
        for b in self.brokers.values():
            b.start()
        deadline = time.monotonic() + 30
        while len(self.metadata(self.brokers[1])["brokers"]) < 3:
            if time.monotonic() > deadline:
                sys.exit("the three brokers did not find each other")
            time.sleep(0.1)

    def close(self):
        for b in self.brokers.values():
            if b.proc and b.proc.poll() is None:
                b.stop()
        self.zk.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    @staticmethod
    def metadata(broker, topics=None):
        with kw.Connection.to(broker.bootstrap, timeout=10) as c:
            return c.metadata(topics)

    def create(self, name, assignment, configs=None):
        with kw.Connection.to(self.brokers[1].bootstrap, timeout=30) as c:
            res = c.create_topics([(name, -1, -1, configs or {}, assignment)], timeout_ms=20000)
            if res.get(name, (None,))[0] != 0:
                sys.exit("CreateTopics %s: %r" % (name, res))
        self.wait_isr(name, len(assignment), len(assignment[0]))

    def wait_isr(self, name, partitions, size, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            md = self.metadata(self.brokers[1], [name])
            ps = md["topics"][0]["partitions"] if md["topics"] else []
            if len(ps) == partitions and all(len(p["isr_nodes"]) == size for p in ps):
                return
            time.sleep(0.1)
        sys.exit("%s: ISRs not complete" % name)

    def cpu_seconds(self):
        return sum(b.cpu_seconds() for b in self.brokers.values())


def throughput(cluster, rf, seconds, rate_mb):
    name = "rf%d-%d" % (rf, int(time.monotonic() * 1000))
    replicas = [1, 2, 3][:rf]
    cluster.create(name, {p: replicas for p in range(16)},
                   {"min.insync.replicas": "2" if rf == 3 else "1"})
    # Warm-up, not measured: every follower fetching, the segments made.
    run_tool("produce_load", [
        "--bootstrap", cluster.brokers[1].bootstrap, "--topic", name, "--partitions", 16,
        "--records", RECORDS_PER_BATCH, "--record-bytes", 1024, "--acks", -1, "--window", 1,
        "--seconds", 1])
    before_cpu = cluster.cpu_seconds()
    before = cpu_times()
    load = run_tool("produce_load", [
        "--bootstrap", cluster.brokers[1].bootstrap, "--topic", name, "--partitions", 16,
        "--records", RECORDS_PER_BATCH, "--record-bytes", 1024, "--acks", -1, "--window", 5,
        "--seconds", seconds] + (["--rate", rate_mb * 1e6] if rate_mb else []))
    cpu = cluster.cpu_seconds() - before_cpu
    return {"mbs": load["bytes"] / load["seconds"] / 1e6,
            "cpu_gb": cpu / (load["bytes"] / 1e9), "p50": load["ack"]["p50_us"],
            "p99": load["ack"]["p99_us"], "steal": steal_since(before)}


def probe_failover(cluster, how):
    """Seconds from the leader's loss to the first write acknowledged by the new leader, and
    the non-retriable errors the probe saw."""
    name = "failover-%d" % int(time.monotonic() * 1000)
    cluster.create(name, {0: [1, 2, 3]}, {"min.insync.replicas": "2"})
    batch = kw.build_record_batch([kw.Record(value=b"probe")])
    leader = cluster.brokers[1]
    others = [cluster.brokers[2], cluster.brokers[3]]
    with kw.Connection.to(leader.bootstrap, timeout=5) as c:
        r = c.produce_one(name, 0, batch, acks=-1, timeout_ms=2000)
        if r["error_code"] != 0:
            sys.exit("probe before the fault: error %d" % r["error_code"])
    t0 = time.monotonic()
    if how == "kill":
        leader.kill()
    else:
        leader.proc.send_signal(signal.SIGTERM)
    fatal = []
    target = None
    while time.monotonic() - t0 < 30:
        try:
            if target is None:
                md = cluster.metadata(others[0], [name])
                lead = md["topics"][0]["partitions"][0]["leader_id"]
                target = cluster.brokers.get(lead) if lead in (2, 3) else None
                if target is None:
                    time.sleep(0.005)
                    continue
            with kw.Connection.to(target.bootstrap, timeout=5) as c:
                r = c.produce_one(name, 0, batch, acks=-1, timeout_ms=2000)
            if r["error_code"] == 0:
                elapsed = time.monotonic() - t0
                break
            if r["error_code"] not in RETRIABLE:
                fatal.append(r["error_code"])
            target = None
        except (OSError, kw.ConnectionClosed):
            target = None
        time.sleep(0.005)
    else:
        sys.exit("no write acknowledged within 30 s of the %s" % how)
    if how == "kill":
        leader.start()
    else:
        leader.proc.wait(30)
        leader.start()
    cluster.wait_isr(name, 1, 3)
    return elapsed, fatal


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each produce run")
    ap.add_argument("--rate-mb", type=float, default=0,
                    help="MB/s produced (0: as fast as the brokers acknowledge)")
    ap.add_argument("--shards", type=int, default=1, help="runnel.shards of each broker")
    args = ap.parse_args()
    cluster = Cluster(args.shards)
    try:
        rows = {1: [], 3: []}
        for _ in range(args.runs):
            for rf in (1, 3):
                rows[rf].append(throughput(cluster, rf, args.seconds, args.rate_mb))
        failover = {"kill": [], "terminate": []}
        errors = []
        for _ in range(args.runs):
            for how in ("terminate", "kill"):
                seconds, fatal = probe_failover(cluster, how)
                failover[how].append(seconds)
                errors += fatal
    finally:
        cluster.close()

    def med(rf, key):
        return statistics.median(r[key] for r in rows[rf])
    print("| Produce 1 KiB, acks=all, 16 partitions led by one broker | MB/s | CPU s/GB, 3 "
          "brokers | p50 ack µs | p99 ack µs | Steal % per run |")
    print("|---|---|---|---|---|---|")
    for rf in (1, 3):
        print("| RF=%d%s | %.0f | %.2f | %.0f | %.0f | %s |" % (
            rf, ", min.insync.replicas=2" if rf == 3 else "", med(rf, "mbs"), med(rf, "cpu_gb"),
            med(rf, "p50"), med(rf, "p99"), ", ".join("%.1f" % r["steal"] for r in rows[rf])))
    print()
    print("| Failover of a partition's leader (RF=3) | Median s | Runs (s) | Non-retriable errors |")
    print("|---|---|---|---|")
    for how, label in (("terminate", "SIGTERM (controlled shutdown)"),
                       ("kill", "SIGKILL (zookeeper.session.timeout.ms=%d)" % SESSION_MS)):
        print("| %s | %.3f | %s | %d |" % (label, statistics.median(failover[how]),
                                           ", ".join("%.3f" % s for s in failover[how]),
                                           len(errors)))
    print("\nMedians of %d run(s) of %g s; %d shard(s) per broker, ZooKeeper and the three "
          "brokers on this machine's %d cores; `scripts/bench/replication.py %s`" % (
              args.runs, args.seconds, args.shards, os.cpu_count() or 1, " ".join(sys.argv[1:])))


if __name__ == "__main__":
    main()

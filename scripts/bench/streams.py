#!/usr/bin/env python3
"""The seed's hashtag job inside Runnel and as a Kafka Streams 4.4 application, in one run.

Per run, on a fresh broker (Runnel, --shards shards) each: --tweets text tweets (three hashtags
drawn from --keys distinct ones, event times 10 ms apart, two partitions) are written to
`tweets` first; then the job starts and is timed until it has consumed everything (its group's
committed offsets at the end of the source and of every internal topic):
- Runnel: etc/pipelines/top-hashtags.yaml put in the broker's pipeline directory;
- Kafka Streams: bench/kafka-streams/TopHashtags.java (the same steps: split at ",2021", words,
  hashtags, hopping windows of 5 min every 2 min with 30 s grace, counts, final results only,
  top 30 per window; exactly_once_v2 with the same 100 ms commit interval), run with
  `java -cp <Maven classpath> TopHashtags.java` against a Runnel broker.
Reported: records per second of wall time and per CPU-second (the broker's CPU for Runnel; the
JVM's plus the broker's for Kafka Streams, JIT and start included), the CPU steal of each run,
and how many windows each got exactly right (against the top 30 computed here from the input).

Then the seed's game-event routing (--events JSON events, one in a hundred not JSON) by
etc/pipelines/game-events.yaml and by bench/kafka-streams/RouteEvents.java: records/s, records
per CPU-second, and the records each wrote to each topic.

Then end-to-end latency with emit: on_update: records sent at --latency-rate records/s for
--latency-seconds by a producer process (confluent-kafka, linger.ms=0), each a hashtag carrying
its send time, through a pipeline counting them per 1-minute window, read by a read_committed
consumer: the time from send to the count's arrival, p50/p99/p99.9. Medians of --runs. Prints
Markdown tables. Standard library, integration/kafka_wire.py and Debian's python3-confluent-kafka.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_broker import (ROOT, Broker, cpu_times, process_cpu_seconds,  # noqa: E402
                          steal_since)

sys.path.insert(0, os.path.join(ROOT, "integration"))
import kafka_wire as kw  # noqa: E402

APP = os.path.join(ROOT, "bench", "kafka-streams", "TopHashtags.java")
PIPELINE = os.path.join(ROOT, "etc", "pipelines", "top-hashtags.yaml")
ROUTE_APP = os.path.join(ROOT, "bench", "kafka-streams", "RouteEvents.java")
ROUTE_PIPELINE = os.path.join(ROOT, "etc", "pipelines", "game-events.yaml")
ROUTE_TOPICS = ("sword-purchases", "guild-joins", "other-events", "events.dead-letter")
JAVA_CACHE = os.environ.get("RUNNEL_JAVA_CACHE", os.path.expanduser("~/.cache/runnel-java"))
PARTITIONS = 2


def tweets(n, keys, seed=1):
    """(partition, event time, text) of n tweets, in event-time order."""
    rng = random.Random(seed)
    base = (int(time.time() * 1000) - n * 10 - 3_600_000) // 600_000 * 600_000
    for i in range(n):
        tags = " ".join("#t%d" % rng.randrange(keys) for _ in range(3))
        yield i % PARTITIONS, base + i * 10, "so %s today,2021-04-05 10:00:00,x" % tags


def exact_tops(n, keys):
    """{window start: [(tag, count)] best first} of every window the pipeline's watermark closes
    (the smallest partition's largest event time - 30 s, windows 5 min every 2 min, grace 30 s):
    the answer both jobs should give."""
    counts = {}
    last = {}
    for p, ts, text in tweets(n, keys):
        last[p] = ts
        for word in text.split(",2021")[0].split(" "):
            if not word.startswith("#"):
                continue
            start = ts - ts % 120_000
            while start > ts - 300_000:
                counts.setdefault(start, {}).setdefault(word, 0)
                counts[start][word] += 1
                start -= 120_000
    watermark = min(last.values()) - 30_000
    return {s: sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:30]
            for s, c in counts.items() if s + 300_000 + 30_000 <= watermark}


def load(bootstrap, n, keys):
    """Writes the tweets to `tweets`, 500 records a batch."""
    with kw.Connection.to(bootstrap, timeout=60) as c:
        c.create_topic_or_fail("tweets", PARTITIONS)
        pending = {p: [] for p in range(PARTITIONS)}

        def flush(p):
            batch = kw.build_record_batch(pending[p])
            r = c.produce({"tweets": {p: batch}}, acks=1)[("tweets", p)]
            if r["error_code"]:
                sys.exit("produce failed: %r" % r)
            pending[p] = []
        for p, ts, text in tweets(n, keys):
            pending[p].append(kw.Record(None, text.encode(), (), ts))
            if len(pending[p]) >= 500:
                flush(p)
        for p in range(PARTITIONS):
            if pending[p]:
                flush(p)


def load_events(bootstrap, n):
    """Writes n game events (JSON, one in a hundred not JSON) to `events`, and creates the
    topics they are routed to (Kafka Streams does not create output topics)."""
    rng = random.Random(3)
    types = ["purchase_sword", "join_guild", "default"]
    with kw.Connection.to(bootstrap, timeout=60) as c:
        for t in ("events",) + ROUTE_TOPICS:
            c.create_topic_or_fail(t, PARTITIONS)
        pending = {p: [] for p in range(PARTITIONS)}
        for i in range(n):
            if i % 100 == 99:
                value = b"not json %d" % i
            else:
                value = json.dumps({"event_type": rng.choice(types), "user": "u%d" % (i % 997),
                                    "sword": {"kind": "rapier"}, "n": i}).encode()
            p = i % PARTITIONS
            pending[p].append(kw.Record(None, value))
            if len(pending[p]) >= 500 or i == n - 1:
                for q in range(PARTITIONS):
                    if pending[q]:
                        r = c.produce({"events": {q: kw.build_record_batch(pending[q])}}, acks=1)
                        if r[("events", q)]["error_code"]:
                            sys.exit("produce failed: %r" % r)
                        pending[q] = []


def caught_up(bootstrap, group, topic_filter):
    """Whether `group` has committed the end of every partition of the topics it reads."""
    with kw.Connection.to(bootstrap, timeout=30) as c:
        md = c.metadata()
        topics = {t["name"]: len(t["partitions"]) for t in md["topics"]
                  if topic_filter(t["name"])}
        err, committed = c.offset_fetch(8, group)
        if err:
            return False
        want = {t: {p: kw.LATEST_TIMESTAMP for p in range(n)} for t, n in topics.items()}
        ends = c.list_offsets_v2(want, isolation_level=kw.READ_COMMITTED)
        for (t, p), r in ends.items():
            got = committed.get((t, p), {}).get("offset", -1)
            if r["offset"] > 0 and got < r["offset"]:
                return False
        return bool(topics)


def wait_caught_up(bootstrap, group, topic_filter, timeout=1800):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if caught_up(bootstrap, group, topic_filter):
                return time.monotonic()
        except (OSError, kw.ConnectionClosed):
            pass
        time.sleep(0.05)
    sys.exit("%s did not catch up" % group)


def read_all(bootstrap, topic):
    """Every committed value of `topic` (read_committed, from the start), in order."""
    out = []
    with kw.Connection.to(bootstrap, timeout=60) as c:
        md = c.metadata([topic])
        parts = len(md["topics"][0]["partitions"])
        for p in range(parts):
            offset = 0
            while True:
                res = c.fetch({topic: {p: offset}}, isolation_level=kw.READ_COMMITTED)
                batches = kw.decode_record_batches(res[(topic, p)]["records"])
                if not batches:
                    break
                aborted = {pid for pid, _ in res[(topic, p)]["aborted_transactions"] or []}
                for b in batches:
                    offset = b.base_offset + b.last_offset_delta + 1
                    if b.attributes & 0x20 or b.producer_id in aborted:
                        continue  # a transaction marker, or an aborted transaction's batch
                    out.extend((rec.key, rec.value) for rec in b.records)
    return out


def run_runnel(args, workdir):
    pipelines = os.path.join(workdir, "pipelines")
    os.makedirs(pipelines)
    broker = Broker(workdir, args.shards, {"runnel.pipelines.dir": pipelines,
                                           "runnel.pipelines.scan.interval.ms": 100,
                                           "num.partitions": PARTITIONS})
    broker.start()
    try:
        load(broker.bootstrap, args.tweets, args.keys)
        before, cpu0 = cpu_times(), broker.cpu_seconds()
        t0 = time.monotonic()
        shutil.copy(PIPELINE, pipelines)
        done = wait_caught_up(broker.bootstrap, "runnel-pipeline-top-hashtags",
                              lambda t: t == "tweets" or t.startswith(
                                  "runnel-pipeline-top-hashtags-stage") and
                              not t.endswith("-changelog"))
        cpu = broker.cpu_seconds() - cpu0
        result = {"seconds": done - t0, "cpu": cpu, "steal": steal_since(before)}
        tops = {}
        for _, v in read_all(broker.bootstrap, "top-hashtags"):
            r = json.loads(v)
            tops[r["window"]["start"]] = [(e["key"], e["count"]) for e in r["top"]]
        result["tops"] = tops
        return result
    finally:
        broker.proc.kill()


def run_kafka_streams(args, workdir, classpath):
    broker = Broker(workdir, args.shards, {"num.partitions": PARTITIONS})
    broker.start()
    app = None
    try:
        load(broker.bootstrap, args.tweets, args.keys)
        before, cpu0 = cpu_times(), broker.cpu_seconds()
        t0 = time.monotonic()
        log = open(os.path.join(workdir, "streams.log"), "w")
        app = subprocess.Popen(["java", "-Xmx%s" % args.heap, "-cp", classpath, APP,
                                broker.bootstrap, "kstreams-tags", "tweets", "top-hashtags",
                                os.path.join(workdir, "streams-state"), "100"],
                               stdout=log, stderr=subprocess.STDOUT)
        done = wait_caught_up(broker.bootstrap, "kstreams-tags",
                              lambda t: t == "tweets" or t.startswith("kstreams-tags-") and
                              t.endswith("-repartition"))
        cpu = broker.cpu_seconds() - cpu0 + process_cpu_seconds(app.pid)
        result = {"seconds": done - t0, "cpu": cpu, "steal": steal_since(before)}
        tops = {}
        for k, v in read_all(broker.bootstrap, "top-hashtags"):
            start = int(k.decode().split(" ")[0])
            tops[start] = [(line.split(" ")[0], int(line.split(" ")[1]))
                           for line in v.decode().split("\n") if line]
        result["tops"] = tops
        return result
    finally:
        if app and app.poll() is None:
            app.kill()
            app.wait()
        broker.proc.kill()


LATENCY_PIPELINE = """pipeline: latency
source: {topic: lat-in, format: text}
event_time: {max_out_of_order: 0s}
steps:
  - filter: {starts_with: "#"}
  - window: {type: tumbling, size: 1m, grace: 0s}
  - count: {by: value}
emit: on_update
sink: {topic: lat-out, format: json}
"""

LATENCY_PRODUCER = """
import sys, time
import confluent_kafka
bootstrap, rate, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
p = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": 1})
for part in (0, 1):
    p.produce("lat-in", b"warm-up", partition=part)  # metadata and connections first
p.flush()
start, i = time.monotonic(), 0
while time.monotonic() - start < seconds:
    due = int((time.monotonic() - start) * rate)
    while i < due:
        p.produce("lat-in", ("#m%d_%d" % (i, time.time_ns())).encode(), partition=i % 2)
        i += 1
    p.poll(0)
    time.sleep(0.0005)
p.flush()
print(i)
"""


def run_latency(args, workdir):
    """Send-to-result latencies (seconds, sorted) of one run."""
    pipelines = os.path.join(workdir, "pipelines")
    os.makedirs(pipelines)
    with open(os.path.join(pipelines, "latency.yaml"), "w") as f:
        f.write(LATENCY_PIPELINE)
    broker = Broker(workdir, args.shards, {"runnel.pipelines.dir": pipelines,
                                           "runnel.pipelines.scan.interval.ms": 100,
                                           "num.partitions": PARTITIONS})
    broker.start()
    try:
        return measure_latency(broker, args.latency_rate, args.latency_seconds)
    finally:
        broker.proc.kill()


def measure_latency(broker, rate, seconds):
    """Send-to-result latencies (seconds, sorted) through a running pipeline that reads `lat-in`
    (records "#m<i>_<send time in ns>", keyed by themselves) and writes `lat-out` keyed by the
    record's group."""
    import confluent_kafka
    import threading
    latencies, stop = [], threading.Event()
    try:
        # The broker creates the pipeline's topics when it starts it.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with kw.Connection.to(broker.bootstrap, timeout=60) as c:
                md = c.metadata(["lat-out"])
            if md["topics"][0]["error_code"] == 0:
                break
            time.sleep(0.1)

        def consume():
            c = confluent_kafka.Consumer({"bootstrap.servers": broker.bootstrap,
                                          "group.id": "latency", "fetch.wait.max.ms": 1,
                                          "isolation.level": "read_committed"})
            # From the end: what the pipeline wrote before the probe is not a probe's result.
            c.assign([confluent_kafka.TopicPartition("lat-out", p, confluent_kafka.OFFSET_END)
                      for p in range(PARTITIONS)])
            while not stop.is_set():
                m = c.poll(0.05)
                if m is not None and not m.error():
                    now = time.time_ns()
                    latencies.append((now - int(m.key().split(b"_")[1])) / 1e9)
            c.close()
        reader = threading.Thread(target=consume)
        reader.start()
        time.sleep(1)
        sent = subprocess.run([sys.executable, "-c", LATENCY_PRODUCER, broker.bootstrap,
                               str(rate), str(seconds)],
                              capture_output=True, text=True, check=True)
        deadline = time.monotonic() + 30
        while len(latencies) < int(sent.stdout) and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        reader.join()
        if len(latencies) < int(sent.stdout):
            sys.exit("latency run: %d of %s results" % (len(latencies), sent.stdout.strip()))
        return sorted(latencies)
    finally:
        stop.set()


def run_routing(args, workdir, kind, classpath):
    """Records/s and CPU of the game-event routing, by Runnel's pipeline or Kafka Streams."""
    pipelines = os.path.join(workdir, "pipelines")
    os.makedirs(pipelines)
    extra = {"num.partitions": PARTITIONS}
    if kind.startswith("Runnel"):
        extra.update({"runnel.pipelines.dir": pipelines,
                      "runnel.pipelines.scan.interval.ms": 100})
    broker = Broker(workdir, args.shards, extra)
    broker.start()
    app = None
    try:
        load_events(broker.bootstrap, args.events)
        before, cpu0 = cpu_times(), broker.cpu_seconds()
        t0 = time.monotonic()
        if kind.startswith("Runnel"):
            shutil.copy(ROUTE_PIPELINE, pipelines)
            group = "runnel-pipeline-game-events"
        else:
            log = open(os.path.join(workdir, "streams.log"), "w")
            app = subprocess.Popen(["java", "-Xmx%s" % args.heap, "-cp", classpath, ROUTE_APP,
                                    broker.bootstrap, "kstreams-route", "events",
                                    os.path.join(workdir, "streams-state"), "100"],
                                   stdout=log, stderr=subprocess.STDOUT)
            group = "kstreams-route"
        done = wait_caught_up(broker.bootstrap, group, lambda t: t == "events")
        cpu = broker.cpu_seconds() - cpu0 + (process_cpu_seconds(app.pid) if app else 0)
        counts = {t: len(read_all(broker.bootstrap, t)) for t in ROUTE_TOPICS}
        return {"seconds": done - t0, "cpu": cpu, "steal": steal_since(before),
                "counts": counts}
    finally:
        if app and app.poll() is None:
            app.kill()
            app.wait()
        broker.proc.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--shards", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--tweets", type=int, default=300_000)
    ap.add_argument("--keys", type=int, default=10_000, help="distinct hashtags")
    ap.add_argument("--heap", default="1g", help="the Kafka Streams JVM's -Xmx")
    ap.add_argument("--events", type=int, default=300_000, help="game events routed")
    ap.add_argument("--latency-rate", type=int, default=10_000, help="records/s")
    ap.add_argument("--latency-seconds", type=float, default=10.0)
    args = ap.parse_args()
    subprocess.run([os.path.join(ROOT, "scripts", "install-java-clients.sh")], check=True,
                   stdout=subprocess.DEVNULL)
    with open(os.path.join(JAVA_CACHE, "classpath.txt")) as f:
        classpath = f.read().strip()

    runs = {"Runnel pipeline": [], "Kafka Streams 4.4": []}
    for i in range(args.runs):
        for kind in runs:
            print("run %d: %s" % (i + 1, kind), file=sys.stderr)
            workdir = tempfile.mkdtemp(prefix="runnel-bench-streams-")
            try:
                runs[kind].append(run_runnel(args, workdir) if kind.startswith("Runnel")
                                  else run_kafka_streams(args, workdir, classpath))
            finally:
                shutil.rmtree(workdir, ignore_errors=True)

    records = args.tweets
    print("| Hashtag job, %d tweets, %d distinct hashtags | Runnel pipeline | Kafka Streams 4.4 "
          "| Runnel ahead by |" % (records, args.keys))
    print("|---|---|---|---|")
    med = {k: {f: statistics.median(r[f] for r in v) for f in ("seconds", "cpu")}
           for k, v in runs.items()}
    r, k = med["Runnel pipeline"], med["Kafka Streams 4.4"]
    print("| records/s (wall) | %.0f | %.0f | %.1f× |" % (
        records / r["seconds"], records / k["seconds"], k["seconds"] / r["seconds"]))
    print("| records per CPU-second | %.0f | %.0f | %.1f× |" % (
        records / r["cpu"], records / k["cpu"], k["cpu"] / r["cpu"]))
    print("| CPU seconds | %.2f | %.2f | |" % (r["cpu"], k["cpu"]))
    exact = exact_tops(args.tweets, args.keys)

    def right(kind):
        """Windows whose top 30 equals the exact answer, out of those it should have closed,
        in the last run."""
        tops = runs[kind][-1]["tops"]
        return "%d of %d" % (sum(1 for w, t in exact.items() if tops.get(w) == t), len(exact))
    steal = "; ".join("%s %s" % (kind, ", ".join("%.1f" % x["steal"] for x in v))
                      for kind, v in runs.items())
    print("| windows whose top 30 is exact (last run) | %s | %s | |" % (
        right("Runnel pipeline"), right("Kafka Streams 4.4")))
    print("\nMedians of %d run(s) each, alternating; CPU steal %% per run: %s. Runnel with %d "
          "shard(s); Kafka Streams with a %s heap, against a Runnel broker. "
          "`scripts/bench/streams.py %s`" % (
              args.runs, steal, args.shards, args.heap, " ".join(sys.argv[1:])))

    routes = {"Runnel pipeline": [], "Kafka Streams 4.4": []}
    for i in range(args.runs):
        for kind in routes:
            print("routing run %d: %s" % (i + 1, kind), file=sys.stderr)
            workdir = tempfile.mkdtemp(prefix="runnel-bench-streams-")
            try:
                routes[kind].append(run_routing(args, workdir, kind, classpath))
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
    rm = {k: {f: statistics.median(r[f] for r in v) for f in ("seconds", "cpu")}
          for k, v in routes.items()}
    r, k = rm["Runnel pipeline"], rm["Kafka Streams 4.4"]
    print("\n| Game-event routing, %d events | Runnel pipeline | Kafka Streams 4.4 | "
          "Runnel ahead by |" % args.events)
    print("|---|---|---|---|")
    print("| records/s (wall) | %.0f | %.0f | %.1f× |" % (
        args.events / r["seconds"], args.events / k["seconds"], k["seconds"] / r["seconds"]))
    print("| records per CPU-second | %.0f | %.0f | %.1f× |" % (
        args.events / r["cpu"], args.events / k["cpu"], k["cpu"] / r["cpu"]))
    same = all(a["counts"] == b["counts"]
               for a, b in zip(routes["Runnel pipeline"], routes["Kafka Streams 4.4"]))
    print("| records per output topic (last run) | %s | %s | %s |" % (
        ", ".join("%d" % routes["Runnel pipeline"][-1]["counts"][t] for t in ROUTE_TOPICS),
        ", ".join("%d" % routes["Kafka Streams 4.4"][-1]["counts"][t] for t in ROUTE_TOPICS),
        "same" if same else "DIFFERENT"))

    lat = []
    for i in range(args.runs):
        print("latency run %d" % (i + 1), file=sys.stderr)
        workdir = tempfile.mkdtemp(prefix="runnel-bench-streams-")
        try:
            lat.append(run_latency(args, workdir))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def pct(q):
        return statistics.median(run[min(len(run) - 1, int(len(run) * q))] * 1e3 for run in lat)
    print("\n| End to end, %d records/s for %g s, windowed count, emit on_update | p50 | p99 | "
          "p99.9 |" % (args.latency_rate, args.latency_seconds))
    print("|---|---|---|---|")
    print("| send to read_committed result (ms) | %.1f | %.1f | %.1f |" % (
        pct(0.5), pct(0.99), pct(0.999)))


if __name__ == "__main__":
    main()

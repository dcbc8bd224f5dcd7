#!/usr/bin/python3
"""Pipelines inside the broker (runnel.pipelines.dir), driven by real clients: confluent-kafka
produces, and reads the results as a read_committed consumer would.

- The three seed jobs as shipped in etc/pipelines/: game events routed by event_type with a
  dead-letter topic; the running word count; the top-30 hashtags over 5-minute windows every
  2 minutes, checked window by window against a reference computed here, with a late tweet
  sent to tweets.late.
- Exactly once through SIGKILL: the word count runs while the broker is killed again and again;
  every word's updates must read 1, 2, ..., n, with none lost, none repeated.
- A bad file (the broker reports file:line:column and keeps the others running), fixed (it
  starts), removed (its pipeline stops).
- A pipeline that keeps failing (its state store cannot be made) gives up after
  runnel.pipelines.task.timeout.ms, is stopped alone and reported, and starts again once its
  file changes.

Run: /usr/bin/python3 integration/test_pipelines.py [-v]
"""

import collections
import json
import os
import random
import shutil
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import confluent_kafka  # noqa: E402
from broker_process import REPO_ROOT, BrokerTestCase, unique_name, wait_until  # noqa: E402

SEEDS = os.path.join(REPO_ROOT, "etc", "pipelines")
MINUTE = 60_000


def producer(broker):
    return confluent_kafka.Producer({"bootstrap.servers": broker.bootstrap,
                                     "enable.idempotence": True, "linger.ms": 5})


def read_committed(broker, topic, until, timeout=60):
    """Every record of `topic` from the start, as a read_committed consumer sees them, once
    until(records) holds (or the timeout passes): [(key, value, headers, partition)]."""
    c = confluent_kafka.Consumer({"bootstrap.servers": broker.bootstrap,
                                  "group.id": unique_name("reader"),
                                  "auto.offset.reset": "earliest",
                                  "isolation.level": "read_committed",
                                  "enable.auto.commit": False})
    c.subscribe([topic])
    got = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is not None and not m.error():
                got.append((m.key(), m.value(), m.headers() or [], m.partition()))
            elif m is None and until(got):
                break
    finally:
        c.close()
    return got


def top_hashtags_reference(tweets, size=5 * MINUTE, advance=2 * MINUTE, grace=30_000,
                           out_of_order=30_000, n=30):
    """What the seed's hashtag pipeline must write: [(window start, [(tag, count), ...])] for
    every window closed by the watermark, the smallest over the partitions of their largest
    timestamp minus out_of_order."""
    watermark = min(max(ts for p2, ts, _ in tweets if p2 == p) for p in {p for p, _, _ in tweets})
    watermark -= out_of_order
    counts = collections.defaultdict(collections.Counter)
    for _, ts, text in tweets:
        words = text.split(",2021")[0].split(" ")
        for w in words:
            if not w.startswith("#"):
                continue
            start = ts - ts % advance
            while start > ts - size:
                counts[start][w] += 1
                start -= advance
    out = []
    for start in sorted(counts):
        if start + size + grace <= watermark:
            ranked = sorted(counts[start].items(), key=lambda kv: (-kv[1], kv[0]))[:n]
            out.append((start, ranked))
    return out


class PipelineTestCase(BrokerTestCase):
    per_test_broker = True
    extra_properties = {}

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="runnel-pipelines-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.broker_properties = {"runnel.pipelines.dir": self.dir,
                                  "runnel.pipelines.scan.interval.ms": 200,
                                  "num.partitions": 2}
        self.broker_properties.update(self.extra_properties)
        super().setUp()

    def add_file(self, name, text=None):
        path = os.path.join(self.dir, name)
        if text is None:
            shutil.copy(os.path.join(SEEDS, name), path)
        else:
            with open(path + ".tmp", "w") as f:
                f.write(text)
            os.rename(path + ".tmp", path)
        return path

    def wait_started(self, name, timeout=30):
        wait_until(lambda: ("pipeline %s started" % name) in self.broker.log_text(),
                   timeout=timeout, message="pipeline %s started" % name)


class SeedPipelinesTest(PipelineTestCase):
    def test_game_events_are_routed_by_type_and_bad_ones_dead_lettered(self):
        self.add_file("game-events.yaml")
        self.wait_started("game-events")
        p = producer(self.broker)
        events = [{"event_type": "purchase_sword", "user": "ann"},
                  {"event_type": "join_guild", "user": "bob"},
                  {"event_type": "default"},
                  {"event_type": "purchase_sword", "user": "cy", "sword": {"kind": "rapier"}},
                  {"user": "no type"}]
        for e in events:
            p.produce("events", json.dumps(e).encode(), key=b"k")
        p.produce("events", b"{broken", key=b"bad")
        p.flush(10)

        def values(topic, n):
            got = read_committed(self.broker, topic, lambda g: len(g) >= n)
            return [json.loads(v) if topic != "events.dead-letter" else (k, v, h)
                    for k, v, h, _ in got]
        self.assertEqual(values("sword-purchases", 2), [events[0], events[3]])
        self.assertEqual(values("guild-joins", 1), [events[1]])
        self.assertEqual(values("other-events", 1), [events[2]])
        dead = values("events.dead-letter", 2)
        self.assertEqual(sorted((k, v, dict(h)["runnel-error"]) for k, v, h in dead), [
            (b"bad", b"{broken", b"not valid JSON"),
            (b"k", json.dumps(events[4]).encode(), b"field 'event_type' is missing")])

    def test_word_count_keeps_a_running_count_per_word(self):
        self.add_file("word-count.yaml")
        self.wait_started("word-count")
        p = producer(self.broker)
        lines = ["the cat sat on the mat", "The Cat ran", "a  dog sat"]
        for line in lines:
            p.produce("lines", line.encode())
        p.flush(10)
        expected = collections.Counter(w.lower() for line in lines for w in line.split())
        got = read_committed(self.broker, "word-counts",
                             lambda g: len(g) >= sum(expected.values()))
        last = {}
        for k, v, _, _ in got:
            value = json.loads(v)
            self.assertEqual(value["key"], k.decode())
            last[k.decode()] = value["count"]
        self.assertEqual(last, dict(expected))

    def test_top_hashtags_per_window_as_the_seed_asks(self):
        self.add_file("top-hashtags.yaml")
        self.wait_started("top-hashtags")
        rng = random.Random(7)
        tags = ["#tag%02d" % i for i in range(40)]
        base = (int(time.time() * 1000) - 3_600_000) // (10 * MINUTE) * (10 * MINUTE)
        tweets = []  # (partition, timestamp, text)
        for i in range(400):
            ts = base + rng.randrange(0, 14 * MINUTE)
            words = rng.sample(tags[: 5 + i % 35], 3) + ["just", "words"]
            rng.shuffle(words)
            tweets.append((i % 2, ts, " ".join(words) + ",2021-04-05 10:00:00,some,columns"))
        tweets.sort(key=lambda t: t[1])  # in time order, as a live feed (out of order below)
        tweets.insert(200, (1, tweets[150][1] - 20_000, "#late1 #tag00,2021"))
        closing = [(0, base + 30 * MINUTE, "#end,2021"), (1, base + 30 * MINUTE, "#end,2021")]
        p = producer(self.broker)
        for part, ts, text in tweets + closing:
            p.produce("tweets", text.encode(), partition=part, timestamp=ts)
        # A tweet too late for every window it falls in: the watermark is past them all.
        p.flush(10)
        expected = top_hashtags_reference(tweets + closing)
        got = read_committed(self.broker, "top-hashtags", lambda g: len(g) >= len(expected))
        # Keyed by window, so spread over the sink's partitions: in window order for the check.
        results = sorted((json.loads(v) for _, v, _, _ in got), key=lambda r: r["window"]["start"])
        self.assertEqual(len(results), len(expected), results)
        for r, (start, ranked) in zip(results, expected):
            self.assertEqual(r["window"], {"start": start, "end": start + 5 * MINUTE})
            self.assertEqual([(e["key"], e["count"]) for e in r["top"]], ranked)
        self.assertEqual(len(results[0]["top"]), 30)

        p.produce("tweets", b"#too_late,2021", partition=0, timestamp=base + MINUTE)
        p.flush(10)
        late = read_committed(self.broker, "tweets.late", lambda g: len(g) >= 1)
        self.assertEqual([v for _, v, _, _ in late], [b"#too_late"])


class ExactlyOnceTest(PipelineTestCase):
    def test_word_count_through_sigkills_counts_every_word_once(self):
        self.add_file("word-count.yaml")
        self.wait_started("word-count")
        rng = random.Random(11)
        vocabulary = ["w%02d" % i for i in range(30)]
        expected = collections.Counter()
        kills = 0
        for round_ in range(6):
            p = producer(self.broker)
            for _ in range(300):
                line = [rng.choice(vocabulary) for _ in range(rng.randrange(1, 6))]
                expected.update(line)
                p.produce("lines", " ".join(line).encode())
            self.assertEqual(p.flush(30), 0)
            # Kill while the pipeline is part-way through what was just written.
            time.sleep(rng.uniform(0.0, 0.4))
            self.broker.restart(hard=True)
            kills += 1
        total = sum(expected.values())
        got = read_committed(self.broker, "word-counts", lambda g: len(g) >= total, timeout=120)
        updates = collections.defaultdict(list)
        for k, v, _, _ in got:
            updates[k.decode()].append(json.loads(v)["count"])
        for word, n in expected.items():
            self.assertEqual(updates[word], list(range(1, n + 1)),
                             "%s after %d SIGKILLs" % (word, kills))
        self.assertEqual(set(updates), set(expected))


class StateStoreTest(PipelineTestCase):
    def test_a_clean_restart_keeps_the_state_store_and_replays_only_the_tail(self):
        self.add_file("word-count.yaml")
        self.wait_started("word-count")
        p = producer(self.broker)
        for _ in range(50):
            p.produce("lines", b"alpha beta beta")
        p.flush(10)
        read_committed(self.broker, "word-counts", lambda g: len(g) >= 150)
        self.broker.restart()  # a clean stop: each task commits, flushes its store, notes where
        self.wait_started("word-count")
        log = self.broker.log_text().split("===== start #2")[-1]
        wait_until(lambda: "state store open" in self.broker.log_text().split("===== start #2")[-1],
                   timeout=30, message="the state stores opened")
        log = self.broker.log_text().split("===== start #2")[-1]
        self.assertNotIn("rebuilt from the changelog", log)
        p = producer(self.broker)
        p.produce("lines", b"alpha beta")
        p.flush(10)
        got = read_committed(self.broker, "word-counts", lambda g: len(g) >= 152)
        last = {}
        for k, v, _, _ in got:
            last[k.decode()] = json.loads(v)["count"]
        self.assertEqual(last, {"alpha": 51, "beta": 101})


class PipelineFilesTest(PipelineTestCase):
    def test_a_bad_file_is_reported_fixed_and_removed_while_others_run(self):
        self.add_file("game-events.yaml")
        bad = self.add_file("broken.yaml", "pipeline: broken\n"
                                           "source: {topic: in}\n"
                                           "steps:\n"
                                           "  - filter: {starts_with: x}\n"
                                           "  - frobnicate: {}\n"
                                           "sink: {topic: out}\n")
        self.wait_started("game-events")
        wait_until(lambda: "broken.yaml:5:5: unknown step 'frobnicate'" in self.broker.log_text(),
                   timeout=30, message="the bad file reported")
        self.assertNotIn("pipeline broken started", self.broker.log_text())
        # The other pipeline serves on.
        p = producer(self.broker)
        p.produce("events", b'{"event_type": "join_guild"}')
        p.flush(10)
        self.assertEqual(len(read_committed(self.broker, "guild-joins", lambda g: len(g) >= 1)), 1)

        # Fixed: it starts and runs.
        self.add_file("broken.yaml", "pipeline: broken\n"
                                     "source: {topic: in}\n"
                                     "steps:\n"
                                     "  - filter: {starts_with: x}\n"
                                     "  - map: {transform: uppercase}\n"
                                     "sink: {topic: out, format: text}\n")
        self.wait_started("broken")
        p.produce("in", b"xyz")
        p.produce("in", b"abc")
        p.flush(10)
        out = read_committed(self.broker, "out", lambda g: len(g) >= 1)
        self.assertEqual([v for _, v, _, _ in out], [b"XYZ"])

        # Removed: it stops; its records stay where they are.
        os.remove(bad)
        wait_until(lambda: "pipeline broken: its file was removed" in self.broker.log_text(),
                   timeout=30, message="the pipeline stopped")
        self.broker.assert_running()


class FailingPipelineTest(PipelineTestCase):
    extra_properties = {"runnel.pipelines.task.timeout.ms": 2000}

    def test_a_pipeline_that_keeps_failing_is_stopped_alone_and_reported(self):
        # The word count's state store cannot be made: a file stands where its directory goes.
        state_dir = os.path.join(self.broker.tmpdir, "data", "pipeline-state")
        os.makedirs(state_dir, exist_ok=True)
        blocker = os.path.join(state_dir, "word-count")
        open(blocker, "w").close()
        counts = self.add_file("word-count.yaml")
        self.add_file("game-events.yaml")
        self.wait_started("word-count")
        self.wait_started("game-events")
        stopped = "pipeline word-count stopped: its task word-count/stage1/"
        wait_until(lambda: stopped in self.broker.log_text(), timeout=30,
                   message="the failing pipeline stopped")
        self.assertIn("gives up, failing for", self.broker.log_text())
        self.assertIn("cannot create " + blocker, self.broker.log_text())
        # Stopped: no more attempts.
        restarts = self.broker.log_text().count("restarting from its last commit")
        time.sleep(2.5)
        self.assertEqual(self.broker.log_text().count("restarting from its last commit"), restarts)

        # The other pipeline serves on.
        p = producer(self.broker)
        p.produce("events", b'{"event_type": "join_guild"}')
        p.produce("lines", b"once stopped")
        p.flush(10)
        self.assertEqual(len(read_committed(self.broker, "guild-joins", lambda g: len(g) >= 1)), 1)

        # The cause removed and the file touched: it starts again and counts what waited.
        os.remove(blocker)
        with open(counts, "a") as f:
            f.write("# the state directory is free again\n")
        wait_until(lambda: self.broker.log_text().count("pipeline word-count started") == 2,
                   timeout=30, message="the pipeline started again")
        got = read_committed(self.broker, "word-counts", lambda g: len(g) >= 2)
        self.assertEqual(sorted((k, json.loads(v)["count"]) for k, v, _, _ in got),
                         [(b"once", 1), (b"stopped", 1)])
        self.broker.assert_running()


if __name__ == "__main__":
    unittest.main()

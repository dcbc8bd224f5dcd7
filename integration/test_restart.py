#!/usr/bin/python3
"""Durability across broker restarts: SIGTERM (clean shutdown, exit code 0) and SIGKILL.

Run: /usr/bin/python3 integration/test_restart.py [-v]
Each test owns its broker; the broker is restarted on the same port and data dir.
Clients: confluent-kafka (librdkafka) for admin/produce/consume, raw Metadata v12 for topic IDs.
"""

import os
import sys
import threading
import time
import unittest
import uuid

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kafka_wire as kw  # noqa: E402
from broker_process import BrokerTestCase, unique_name, wait_until  # noqa: E402
from ck_helpers import (TIMEOUT, Deliveries, admin_client, consume_partition,  # noqa: E402
                        make_consumer, make_producer, result)

from confluent_kafka import OFFSET_BEGINNING, TopicPartition  # noqa: E402
from confluent_kafka.admin import ConfigResource, NewPartitions, NewTopic  # noqa: E402


def create_topic(bootstrap, topic, partitions, config=None):
    a = admin_client(bootstrap)
    fs = a.create_topics([NewTopic(topic, partitions, 1, config=config or {})],
                         operation_timeout=10, request_timeout=TIMEOUT)
    result(fs[topic])


def topic_configs(bootstrap, topic):
    a = admin_client(bootstrap)
    (f,) = a.describe_configs([ConfigResource("topic", topic)], request_timeout=TIMEOUT).values()
    return {name: e.value for name, e in result(f).items()}


def raw_metadata(bootstrap, topics=None):
    """{name: (topic_id, [partition indexes], error_code)} from Metadata v12."""
    with kw.Connection.to(bootstrap) as c:
        md = c.metadata(topics)
    return {t["name"]: (t["topic_id"], sorted(p["partition_index"] for p in t["partitions"]),
                        t["error_code"]) for t in md["topics"]}


def produce_records(bootstrap, topic, partition, n, tag, acks="all", **conf):
    """Produces n records; returns [(offset, key, value, headers, ts)] in offset order."""
    p = make_producer(bootstrap, acks=acks, **conf)
    d = Deliveries()
    base_ts = int(time.time() * 1000)
    sent = {}  # value -> (key, headers, timestamp); delivery reports carry no headers
    for i in range(n):
        key = b"%s-k%d" % (tag, i)
        value = b"%s-v%06d-" % (tag, i) + b"z" * (i % 97)
        headers = [("i", str(i).encode())]
        sent[value] = (key, headers, base_ts + i)
        p.produce(topic, key=key, value=value, headers=headers, partition=partition,
                  timestamp=base_ts + i, on_delivery=d)
        if i % 200 == 0:
            p.poll(0)
    if p.flush(TIMEOUT) != 0:
        raise AssertionError("produce to %s-%d: messages left after flush" % (topic, partition))
    errs = [e for e, _ in d.reports if e is not None]
    if errs:
        raise AssertionError("produce to %s-%d: delivery errors %s" % (topic, partition, errs[:5]))
    out = []
    for _, m in d.reports:
        key, headers, ts = sent[m.value()]
        if m.partition() != partition or m.key() != key:
            raise AssertionError("delivery report for %r: partition %d key %r" % (
                m.value(), m.partition(), m.key()))
        out.append((m.offset(), key, m.value(), headers, ts))
    return sorted(out)


def read_partition(bootstrap, topic, partition, n):
    c = make_consumer(bootstrap)
    try:
        c.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
        msgs = consume_partition(c, n, timeout=30)
    finally:
        c.close()
    return [(m.offset(), m.key(), m.value(), m.headers(), m.timestamp()[1]) for m in msgs]


def watermarks(bootstrap, topic, partition):
    c = make_consumer(bootstrap)
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=TIMEOUT,
                                       cached=False)
    finally:
        c.close()


class RestartTest(BrokerTestCase):
    per_test_broker = True
    broker_properties = {"num.partitions": 2, "auto.create.topics.enable": True}

    def assert_partition_content(self, topic, partition, expected):
        got = read_partition(self.broker.bootstrap, topic, partition, len(expected))
        self.assertEqual(len(got), len(expected), "%s-%d: read %d of %d records" % (
            topic, partition, len(got), len(expected)))
        for g, e in zip(got, expected):
            self.assertEqual(g, e)
        self.assertEqual(watermarks(self.broker.bootstrap, topic, partition), (0, len(expected)))

    def test_clean_restart_keeps_topics_configs_ids_and_records(self):
        bs = self.broker.bootstrap
        a_topic, b_topic = unique_name("rs-created"), unique_name("rs-auto")
        create_topic(bs, a_topic, 3, {"retention.ms": "123456789", "cleanup.policy": "compact",
                                      "max.message.bytes": "200000"})
        data = {}
        for p in range(3):
            data[(a_topic, p)] = produce_records(bs, a_topic, p, 100 + 50 * p, b"a%d" % p)
        for p in range(2):  # auto-created with num.partitions=2
            data[(b_topic, p)] = produce_records(bs, b_topic, p, 77, b"b%d" % p, acks="1")
        md_before = raw_metadata(bs, [a_topic, b_topic])
        self.assertEqual(md_before[a_topic][1:], ([0, 1, 2], 0))
        self.assertEqual(md_before[b_topic][1:], ([0, 1], 0))
        for name, (tid, _, _) in md_before.items():
            self.assertNotEqual(tid, uuid.UUID(int=0), "%s has no topic id" % name)
        self.assertNotEqual(md_before[a_topic][0], md_before[b_topic][0])
        configs_before = topic_configs(bs, a_topic)

        self.broker.stop()  # asserts exit code 0
        self.broker.start()

        self.assertEqual(raw_metadata(bs, [a_topic, b_topic]), md_before)
        configs_after = topic_configs(bs, a_topic)
        for k in ("retention.ms", "cleanup.policy", "max.message.bytes"):
            self.assertEqual(configs_after[k], configs_before[k], k)
        self.assertEqual(configs_after["retention.ms"], "123456789")
        self.assertEqual(configs_after, configs_before)
        for (t, p), expected in data.items():
            self.assert_partition_content(t, p, expected)
        # appends continue after the recovered end
        more = produce_records(bs, a_topic, 0, 10, b"after")
        self.assertEqual([o for o, *_ in more], list(range(100, 110)))
        self.assert_partition_content(a_topic, 0, data[(a_topic, 0)] + more)

    def test_restart_with_many_segments(self):
        self.broker.stop()
        self.broker.properties["log.segment.bytes"] = 16384
        self.broker.start()
        bs = self.broker.bootstrap
        topic = unique_name("rs-segments")
        first = produce_records(bs, topic, 0, 1500, b"s1", **{"batch.num.messages": 20})
        self.broker.restart()
        self.assert_partition_content(topic, 0, first)
        second = produce_records(bs, topic, 0, 500, b"s2", **{"batch.num.messages": 20})
        self.assertEqual(second[0][0], 1500)
        self.broker.restart()
        self.assert_partition_content(topic, 0, first + second)
        segment_files = [f for f in os.listdir(os.path.join(self.broker.data_dir, topic + "-0"))
                         if f.endswith(".log")] if os.path.isdir(
            os.path.join(self.broker.data_dir, topic + "-0")) else []
        sys.stderr.write("\n[segments] %s-0 has %d .log files\n" % (topic, len(segment_files)))

    def test_sigkill_after_rolls_rescans_only_the_active_segment(self):
        # The periodic checkpoint is an hour away: only the checkpoint a flush of each rolled
        # segment brings forward (within about a second) can spare the rolled segments a rescan.
        self.broker.stop()
        self.broker.properties["log.segment.bytes"] = 16384
        self.broker.properties["log.flush.offset.checkpoint.interval.ms"] = 3600000
        self.broker.start()
        bs = self.broker.bootstrap
        topic = unique_name("rs-rolled")
        create_topic(bs, topic, 1)
        records = produce_records(bs, topic, 0, 1500, b"r", **{"batch.num.messages": 20})
        part_dir = os.path.join(self.broker.data_dir, topic + "-0")
        segments = len([f for f in os.listdir(part_dir) if f.endswith(".log")])
        self.assertGreater(segments, 5)
        checkpoint = os.path.join(self.broker.data_dir, "recovery-point-offset-checkpoint")

        def recovery_point():
            try:
                with open(checkpoint) as f:
                    for line in f.read().splitlines()[2:]:
                        name, part, offset = line.split()
                        if (name, part) == (topic, "0"):
                            return int(offset)
            except (OSError, ValueError):
                pass
            return 0

        # Every rolled segment's records are below the last segment's base offset.
        last_base = max(int(f[:-4]) for f in os.listdir(part_dir) if f.endswith(".log"))
        wait_until(lambda: recovery_point() >= last_base, timeout=10,
                   message="a checkpointed recovery point at the last segment (%d)" % last_base)
        log_size = os.path.getsize(self.broker.log_path)
        self.broker.kill()
        self.broker.start()
        with open(self.broker.log_path) as f:
            f.seek(log_size)
            restart_log = f.read()
        self.assertIn("%s-0: recovered 1 segment(s)" % topic, restart_log)
        self.assert_partition_content(topic, 0, records)

    def test_sigkill_keeps_acknowledged_records(self):
        self.broker.stop()
        self.broker.properties["log.flush.interval.messages"] = 1
        self.broker.start()
        bs = self.broker.bootstrap
        topic = unique_name("rs-kill")
        create_topic(bs, topic, 2)
        data = {p: produce_records(bs, topic, p, 300, b"k%d" % p) for p in range(2)}
        md_before = raw_metadata(bs, [topic])
        self.broker.kill()
        self.broker.start()
        self.assertEqual(raw_metadata(bs, [topic]), md_before)
        for p, expected in data.items():
            self.assert_partition_content(topic, p, expected)
        more = produce_records(bs, topic, 1, 5, b"post")
        self.assertEqual([o for o, *_ in more], [300, 301, 302, 303, 304])

    def test_sigkill_under_load_loses_no_acknowledged_record(self):
        self.broker.stop()
        self.broker.properties["log.flush.interval.messages"] = 1
        self.broker.start()
        bs = self.broker.bootstrap
        topic = unique_name("rs-kill-load")
        create_topic(bs, topic, 1)
        acked = {}
        lock = threading.Lock()

        def on_delivery(err, msg):
            if err is None:
                with lock:
                    acked[msg.offset()] = msg.value()

        stop = threading.Event()

        def run():
            p = make_producer(bs, acks="all", **{"message.timeout.ms": 5000, "retries": 0,
                                                 "linger.ms": 2})
            i = 0
            while not stop.is_set():
                try:
                    p.produce(topic, value=b"load-%08d" % i, partition=0,
                              on_delivery=on_delivery)
                    i += 1
                except BufferError:
                    pass
                p.poll(0.001 if i % 50 == 0 else 0)
            p.flush(10)

        t = threading.Thread(target=run, daemon=True)
        t.start()
        try:
            wait_until(lambda: len(acked) >= 2000, 30, message="2000 acknowledged records")
            self.broker.kill()
        finally:
            stop.set()
            t.join(30)
        self.assertFalse(t.is_alive(), "producer thread did not finish")
        self.broker.start()
        n_acked = len(acked)
        self.assertGreaterEqual(n_acked, 2000)
        end = watermarks(bs, topic, 0)[1]
        self.assertGreater(end, max(acked), "acknowledged offsets beyond the recovered end")
        got = dict((o, v) for o, _, v, _, _ in read_partition(bs, topic, 0, end))
        missing = [o for o in sorted(acked) if got.get(o) != acked[o]]
        self.assertEqual(missing[:10], [], "%d of %d acknowledged records missing/different" % (
            len(missing), n_acked))
        sys.stderr.write("\n[kill under load] %d acknowledged, %d in the log after restart\n" % (
            n_acked, end))

    def test_topic_changes_survive_restart(self):
        bs = self.broker.bootstrap
        kept, deleted = unique_name("rs-kept"), unique_name("rs-deleted")
        create_topic(bs, kept, 1)
        create_topic(bs, deleted, 1)
        produce_records(bs, deleted, 0, 10, b"d")
        a = admin_client(bs)
        result(a.create_partitions([NewPartitions(kept, 4)], request_timeout=TIMEOUT)[kept])
        result(a.delete_topics([deleted], operation_timeout=10, request_timeout=TIMEOUT)[deleted])
        wait_until(lambda: deleted not in raw_metadata(bs), 10, message="topic deletion")
        kept_md = raw_metadata(bs, [kept])
        self.assertEqual(kept_md[kept][1], [0, 1, 2, 3])
        # AlterConfigs (confluent-kafka 1.7's alter_configs): the whole set is replaced.
        (f,) = a.alter_configs([ConfigResource("topic", kept, set_config={"retention.ms": "5000"})],
                               request_timeout=TIMEOUT).values()
        result(f)
        self.assertEqual(topic_configs(bs, kept)["retention.ms"], "5000")
        del a

        self.broker.restart()
        self.assertEqual(topic_configs(bs, kept)["retention.ms"], "5000")
        all_md = raw_metadata(bs)
        self.assertNotIn(deleted, all_md)
        self.assertEqual(all_md[kept], kept_md[kept])
        self.assertFalse(os.path.exists(os.path.join(self.broker.data_dir, deleted + "-0")),
                         "deleted topic's partition dir still in log.dirs after restart")
        # recreating the deleted name gives a new, empty topic with a new id
        create_topic(bs, deleted, 1)
        self.assertEqual(watermarks(bs, deleted, 0), (0, 0))

    def test_sigterm_while_clients_connected(self):
        bs = self.broker.bootstrap
        topic = unique_name("rs-connected")
        produce_records(bs, topic, 0, 10, b"c")
        c = make_consumer(bs)
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        consume_partition(c, 10)
        raw = kw.Connection.to(bs)
        try:
            t0 = time.monotonic()
            self.broker.stop()  # open, idle connections must not block shutdown
            self.assertLess(time.monotonic() - t0, 10)
        finally:
            raw.close()
            c.close()
        self.broker.start()
        self.assertEqual(watermarks(bs, topic, 0), (0, 10))


if __name__ == "__main__":
    unittest.main(verbosity=2)

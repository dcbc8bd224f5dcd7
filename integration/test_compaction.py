#!/usr/bin/python3
"""Log compaction (cleanup.policy=compact) seen through confluent-kafka.

The broker runs the cleaner every 200 ms (log.cleaner.backoff.ms); topics use tiny segments and
min.cleanable.dirty.ratio=0.01 so closed segments are cleaned soon after they close. The active
segment is never cleaned, so every test ends with filler records that close the segments holding
the updates.

Run: /usr/bin/python3 integration/test_compaction.py [-v]
"""
import os
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from broker_process import BrokerTestCase, unique_name  # noqa: E402
from ck_helpers import (TIMEOUT, Deliveries, admin_client, make_consumer,  # noqa: E402
                        make_producer, result)

from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition  # noqa: E402
from confluent_kafka.admin import NewTopic  # noqa: E402

KEYS = [b"k%d" % i for i in range(5)]
PAD = b"p" * 80


class CompactionBase(BrokerTestCase):
    broker_properties = {"log.cleaner.backoff.ms": 200, "num.partitions": 1}

    def create(self, **extra):
        topic = unique_name("compact")
        configs = {"cleanup.policy": "compact", "segment.bytes": "2048",
                   "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": "1000",
                   "segment.ms": "100"}
        configs.update({k: str(v) for k, v in extra.items()})
        admin = admin_client(self.broker.bootstrap)  # must outlive the future
        fs = admin.create_topics([NewTopic(topic, 1, 1, config=configs)])
        result(fs[topic])
        return topic

    def produce(self, topic, records, codec="none"):
        """records: [(key, value or None)], a few per batch; returns the high watermark after."""
        p = make_producer(self.broker.bootstrap, acks="all", **{"linger.ms": 0,
                                                                 "compression.type": codec})
        d = Deliveries()
        for i, (k, v) in enumerate(records):
            p.produce(topic, key=k, value=v, partition=0, on_delivery=d)
            if i % 4 == 3:
                p.flush(TIMEOUT)
        p.flush(TIMEOUT)
        d.check(self, len(records))
        return self.watermarks(topic)[1]

    def watermarks(self, topic):
        c = make_consumer(self.broker.bootstrap)
        try:
            return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=TIMEOUT, cached=False)
        finally:
            c.close()

    def read_all(self, topic):
        """[(offset, key, value)] from the log start to the end."""
        c = make_consumer(self.broker.bootstrap)
        out = []
        try:
            c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline:
                for m in c.consume(num_messages=500, timeout=0.5):
                    if m.error():
                        if m.error().code() == KafkaError._PARTITION_EOF:
                            return out
                        self.fail("consume error: %s" % m.error())
                    out.append((m.offset(), m.key(), m.value()))
            self.fail("no end of partition within 40 s (%d records read)" % len(out))
        finally:
            c.close()

    def updates(self, rounds):
        """rounds x len(KEYS) updates; returns (records, latest value per key)."""
        records, latest = [], {}
        for r in range(rounds):
            for k in KEYS:
                v = b"%s-v%d-" % (k, r) + PAD
                records.append((k, v))
                latest[k] = v
        return records, latest

    def filler(self, tag, n=30):
        return [(b"%s-f%d" % (tag, i), PAD) for i in range(n)]

    def wait_compacted(self, topic, check, seconds=90):
        deadline = time.monotonic() + seconds
        while True:
            got = self.read_all(topic)
            if check(got):
                return got
            if time.monotonic() > deadline:
                self.fail("log not compacted as expected within %d s; last read: %d records, "
                          "first %r" % (seconds, len(got), got[:12]))
            time.sleep(0.3)



class CompactionTest(CompactionBase):
    def test_latest_value_per_key_and_tombstones_expire(self):
        topic = self.create()
        records, latest = self.updates(40)
        records.append((KEYS[4], None))  # tombstone for k4
        del latest[KEYS[4]]
        records += self.filler(b"a")
        high = self.produce(topic, records)
        self.assertEqual(high, len(records))

        def compacted(got):
            by_key = {}
            for _, k, v in got:
                if k in KEYS:
                    by_key.setdefault(k, []).append(v)
            return all(len(vs) == 1 for vs in by_key.values()) and by_key.keys() == latest.keys()

        got = self.wait_compacted(topic, compacted)
        for _, k, v in got:
            if k in KEYS:
                self.assertEqual(v, latest[k])
        offsets = [o for o, _, _ in got]
        self.assertEqual(offsets, sorted(set(offsets)), "offsets strictly increasing")
        self.assertLess(len(offsets), high)
        self.assertEqual(offsets[-1], high - 1, "the last record (active segment) is untouched")
        self.assertEqual(self.watermarks(topic), (0, high), "watermarks unchanged")
        # Filler records have unique keys: all survive, with their original offsets.
        fill = [o for o, k, _ in got if k.startswith(b"a-f")]
        self.assertEqual(fill, list(range(high - 30, high)))

    def test_tombstone_kept_within_delete_retention(self):
        topic = self.create(**{"delete.retention.ms": 600000, "compression.type": "producer"})
        records, latest = self.updates(30)
        records.append((KEYS[0], None))
        records += self.filler(b"b")
        self.produce(topic, records, codec="lz4")
        # lz4 packs the filler so tightly that it may share the active segment with the last
        # updates; one more record after segment.ms rolls it, so every update can be cleaned.
        time.sleep(0.3)
        high = self.produce(topic, [(b"b-last", PAD)], codec="lz4")

        def compacted(got):
            ks = [k for _, k, _ in got if k in KEYS]
            return sorted(ks) == sorted(KEYS)

        got = self.wait_compacted(topic, compacted)
        values = {k: v for _, k, v in got if k in KEYS}
        self.assertIsNone(values[KEYS[0]], "the tombstone is still there")
        for k in KEYS[1:]:
            self.assertEqual(values[k], latest[k])
        self.assertEqual(self.watermarks(topic), (0, high))


class CompactionRestartTest(CompactionBase):
    """The cleaner offset is checkpointed (cleaner-offset-checkpoint) and the compacted log, with
    its rebuilt indexes, survives a restart."""
    per_test_broker = True
    broker_properties = {"log.cleaner.backoff.ms": 200, "num.partitions": 1,
                         "log.flush.offset.checkpoint.interval.ms": 1000}

    def test_checkpoint_and_restart(self):
        topic = self.create(**{"delete.retention.ms": 600000})
        records, latest = self.updates(30)
        records += self.filler(b"c")
        high = self.produce(topic, records)

        def compacted(got):
            return sorted(k for _, k, _ in got if k in KEYS) == sorted(KEYS)

        before = self.wait_compacted(topic, compacted)
        path = os.path.join(self.broker.data_dir, "cleaner-offset-checkpoint")
        deadline = time.monotonic() + 20
        entry = None
        while entry is None and time.monotonic() < deadline:
            if os.path.exists(path):
                with open(path) as f:
                    lines = f.read().split("\n")
                for line in lines[2:]:
                    parts = line.split()
                    if len(parts) == 3 and parts[0] == topic and parts[1] == "0":
                        entry = int(parts[2])
            if entry is None:
                time.sleep(0.3)
        self.assertIsNotNone(entry, "cleaner-offset-checkpoint has the partition")
        self.assertGreater(entry, 0)
        self.assertLessEqual(entry, high)
        self.broker.restart()
        self.assertEqual(self.read_all(topic), before)
        self.assertEqual(self.watermarks(topic), (0, high))


if __name__ == "__main__":
    unittest.main()

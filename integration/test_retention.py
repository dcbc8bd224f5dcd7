"""Retention, DeleteRecords and the log start offset, seen through real clients.

Topics use tiny segments so retention has several segments to delete; the broker checks retention
every 200 ms. The active segment goes too when it breaches retention itself (a new empty one is
rolled first, as Kafka does).
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kafka_wire as kw  # noqa: E402
from broker_process import BrokerTestCase, unique_name, wait_until  # noqa: E402
from ck_helpers import (TIMEOUT, Deliveries, admin_client, consume_partition,  # noqa: E402
                        make_consumer, make_producer, result)

from confluent_kafka import OFFSET_BEGINNING, TopicPartition  # noqa: E402
from confluent_kafka.admin import NewTopic  # noqa: E402

DELETE_RECORDS = 21
VALUE = b"v" * 200


def encode_delete_records_v0(topic, partition, offset, timeout_ms=5000):
    w = kw.Writer()
    w.array([(topic, [(partition, offset)])],
            lambda ww, t: (ww.string(t[0]),
                           ww.array(t[1], lambda w3, p: (w3.i32(p[0]), w3.i64(p[1])))))
    w.i32(timeout_ms)
    return w.getvalue()


def delete_records(bootstrap, topic, partition, offset):
    """Returns (error_code, low_watermark) from DeleteRecords v0."""
    with kw.Connection.to(bootstrap) as c:
        r = c.call(DELETE_RECORDS, 0, encode_delete_records_v0(topic, partition, offset))
        r.i32()  # throttle
        out = {}

        def part(rr):
            p = rr.i32()
            out[p] = (rr.i64(), rr.i16())

        r.array(lambda rr: (rr.string(), rr.array(part)))
        low, err = out[partition]
        return err, low


class RetentionTest(BrokerTestCase):
    broker_properties = {"log.retention.check.interval.ms": 200, "num.partitions": 1}

    def create(self, **configs):
        topic = unique_name("ret")
        configs = {k: str(v) for k, v in configs.items()}
        admin = admin_client(self.broker.bootstrap)  # must outlive the future
        fs = admin.create_topics([NewTopic(topic, 1, 1, config=configs)])
        result(fs[topic])
        return topic

    def produce(self, topic, n, timestamp=None):
        p = make_producer(self.broker.bootstrap, acks="all", **{"linger.ms": 0})
        d = Deliveries()
        for i in range(n):
            kwargs = {"timestamp": timestamp} if timestamp is not None else {}
            p.produce(topic, key=b"k%d" % i, value=VALUE, partition=0, on_delivery=d, **kwargs)
            p.flush(TIMEOUT)  # one batch per record: many small segments
        d.check(self, n)

    def watermarks(self, topic):
        c = make_consumer(self.broker.bootstrap)
        try:
            return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=TIMEOUT, cached=False)
        finally:
            c.close()

    def read_all(self, topic, expected):
        c = make_consumer(self.broker.bootstrap)
        try:
            c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
            return consume_partition(c, expected)
        finally:
            c.close()

    def test_time_retention_deletes_every_segment_of_an_idle_log(self):
        topic = self.create(**{"segment.bytes": 1024, "retention.ms": 60000})
        hour_ago = int(time.time() * 1000) - 3600 * 1000
        self.produce(topic, 30, timestamp=hour_ago)
        # Every segment is older than retention.ms, the active one too: as in Kafka, a new empty
        # active segment is rolled and all the old ones go, so the log starts at its end.
        wait_until(lambda: self.watermarks(topic) == (30, 30), timeout=20,
                   message="every record removed by retention.ms")
        part_dir = os.path.join(self.broker.data_dir, "%s-0" % topic)
        logs = [f for f in os.listdir(part_dir) if f.endswith(".log")]
        self.assertEqual(logs, ["%020d.log" % 30])
        self.assertEqual(os.path.getsize(os.path.join(part_dir, logs[0])), 0)
        # A fetch below the log start offset is out of range.
        with kw.Connection.to(self.broker.bootstrap) as c:
            res = c.fetch({topic: {0: 0}})[(topic, 0)]
            self.assertEqual(res["error_code"], kw.OFFSET_OUT_OF_RANGE)
        # The log goes on at the next offset with new records, which retention keeps.
        self.produce(topic, 3)
        time.sleep(0.6)  # a few retention checks
        self.assertEqual(self.watermarks(topic), (30, 33))
        got = self.read_all(topic, 3)
        self.assertEqual([m.offset() for m in got], [30, 31, 32])

    def test_recent_records_are_kept(self):
        topic = self.create(**{"segment.bytes": 1024, "retention.ms": 3600000})
        self.produce(topic, 20)
        time.sleep(1.0)  # several retention checks pass
        self.assertEqual(self.watermarks(topic), (0, 20))

    def test_size_retention(self):
        topic = self.create(**{"segment.bytes": 1024, "retention.bytes": 3000})
        self.produce(topic, 40)
        # About retention.bytes of ~285-byte batches remain (whole segments only): 40 records
        # in ~11 KB shrink to 3000-4000 bytes, 10-15 records.
        low, high = wait_until(
            lambda: (lambda w: w if w[1] - w[0] <= 15 else None)(self.watermarks(topic)),
            timeout=20, message="log trimmed to retention.bytes")
        self.assertEqual(high, 40)
        self.assertGreaterEqual(high - low, 10, "retention must keep retention.bytes of data")

    def test_delete_records_moves_log_start_and_survives_restart(self):
        topic = self.create(**{"segment.bytes": 1024})
        self.produce(topic, 25)
        self.assertEqual(delete_records(self.broker.bootstrap, topic, 0, 10), (0, 10))
        self.assertEqual(self.watermarks(topic), (10, 25))
        got = self.read_all(topic, 15)
        self.assertEqual([m.offset() for m in got], list(range(10, 25)))
        # Beyond the high watermark: OFFSET_OUT_OF_RANGE; -1 means the high watermark.
        err, _ = delete_records(self.broker.bootstrap, topic, 0, 1000)
        self.assertEqual(err, kw.OFFSET_OUT_OF_RANGE)
        self.assertEqual(delete_records(self.broker.bootstrap, topic, 0, 12), (0, 12))
        # The log start offset is checkpointed at shutdown and restored.
        self.broker.restart()
        self.assertEqual(self.watermarks(topic), (12, 25))
        self.assertEqual(delete_records(self.broker.bootstrap, topic, 0, -1), (0, 25))
        self.assertEqual(self.watermarks(topic), (25, 25))


if __name__ == "__main__":
    unittest.main(verbosity=2)

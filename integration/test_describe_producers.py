#!/usr/bin/python3
"""DescribeProducers (61, KIP-664) against a real broker, over the raw protocol.

DescribeProducersTest: producer ids from InitProducerId write idempotent batches with known
sequences and timestamps to a three-partition topic (spread over the shards when the broker runs
several); each partition lists exactly its producers with epoch, last sequence, last timestamp, no
coordinator epoch and no open transaction; a bumped epoch and a retry show as Kafka's state would;
the answer is the same after a restart. Unknown partitions and topics answer
UNKNOWN_TOPIC_OR_PARTITION, an invalid topic name INVALID_TOPIC_EXCEPTION, per partition.

TransactionalProducersTest: a log holding an aborted and an open transaction, written in Kafka's
format while the broker is stopped (no transaction coordinator writes markers yet), lists the
open one's first offset as CurrentTxnStartOffset and the marker's coordinator epoch.

ExpiredProducersTest: a producer idle past producer.id.expiration.ms is no longer listed.

Run: /usr/bin/python3 integration/test_describe_producers.py [-v]
"""

import os
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kafka_wire as kw  # noqa: E402
from broker_process import BrokerTestCase, unique_name  # noqa: E402
from test_read_committed import control_batch, data_batch  # noqa: E402


def now_ms():
    return int(time.time() * 1000)


def idempotent_batch(pid, epoch, seq, n, ts):
    """n records with sequences seq.. and timestamps ts..ts+n-1 (the batch's max is ts+n-1)."""
    return kw.build_record_batch([kw.Record(None, b"v%d" % i, [], ts + i) for i in range(n)],
                                 producer_id=pid, producer_epoch=epoch, base_sequence=seq)


def producer(pid, epoch, last_sequence, last_timestamp, coordinator_epoch=-1, txn_start=-1):
    return {"producer_id": pid, "producer_epoch": epoch, "last_sequence": last_sequence,
            "last_timestamp": last_timestamp, "coordinator_epoch": coordinator_epoch,
            "current_txn_start_offset": txn_start}


class DescribeProducersCase(BrokerTestCase):
    broker_properties = {"num.partitions": 1, "auto.create.topics.enable": False}

    def conn(self):
        c = kw.Connection.to(self.broker.bootstrap, timeout=15)
        self.addCleanup(c.close)
        return c

    def describe(self, c, partitions, topic=None):
        """{partition: result} for `partitions` of one topic, checking the answer's order."""
        topic = topic or self.topic
        res = c.describe_producers([(topic, partitions)])
        self.assertEqual([(t, p) for t, p, _ in res], [(topic, p) for p in partitions])
        return {p: r for _, p, r in res}

    def producers_of(self, c, partition):
        r = self.describe(c, [partition])[partition]
        self.assertEqual(r["error_code"], kw.NONE, r)
        self.assertIsNone(r["error_message"])
        return r["producers"]


class DescribeProducersTest(DescribeProducersCase):
    def setUp(self):
        super().setUp()
        self.topic = unique_name("dp")
        with kw.Connection.to(self.broker.bootstrap) as c:
            c.create_topic_or_fail(self.topic, 3)

    def init_pid(self, c):
        r = c.init_producer_id(4)
        self.assertEqual(r["error_code"], kw.NONE, r)
        return r["producer_id"]

    def produce(self, c, partition, batch, base_offset):
        r = c.produce_one(self.topic, partition, batch, acks=-1)
        self.assertEqual((r["error_code"], r["base_offset"]), (kw.NONE, base_offset), r)

    def test_lists_each_partitions_idempotent_producers(self):
        c = self.conn()
        a, b = self.init_pid(c), self.init_pid(c)
        ts = now_ms()
        self.produce(c, 0, idempotent_batch(a, 0, 0, 3, ts), 0)
        self.produce(c, 0, idempotent_batch(a, 0, 3, 2, ts + 10), 3)  # sequences 3-4
        self.produce(c, 1, idempotent_batch(a, 0, 0, 1, ts + 20), 0)
        self.produce(c, 1, idempotent_batch(b, 0, 0, 4, ts + 30), 1)  # sequences 0-3
        self.produce(c, 2, kw.build_record_batch([(None, b"plain", [])]), 0)

        expected = {
            0: [producer(a, 0, 4, ts + 11)],
            1: sorted([producer(a, 0, 0, ts + 20), producer(b, 0, 3, ts + 33)],
                      key=lambda p: p["producer_id"]),
            2: [],  # a producer without an id has no state
        }
        got = self.describe(c, [0, 1, 2])
        for p in (0, 1, 2):
            self.assertEqual(got[p]["error_code"], kw.NONE, got[p])
            self.assertEqual(sorted(got[p]["producers"], key=lambda x: x["producer_id"]),
                             expected[p], p)

        # A retry of the last batch writes nothing and changes nothing.
        self.produce(c, 0, idempotent_batch(a, 0, 3, 2, ts + 10), 3)
        self.assertEqual(self.producers_of(c, 0), expected[0])
        # A bumped epoch starts its sequences again: the new epoch and its last sequence.
        self.produce(c, 0, idempotent_batch(a, 1, 0, 2, ts + 40), 5)
        expected[0] = [producer(a, 1, 1, ts + 41)]
        self.assertEqual(self.producers_of(c, 0), expected[0])

        # The state comes back from the producer snapshot after a restart.
        c.close()
        self.broker.restart()
        c = self.conn()
        for p in (0, 1, 2):
            self.assertEqual(sorted(self.producers_of(c, p), key=lambda x: x["producer_id"]),
                             expected[p], p)

    def test_errors_per_partition(self):
        c = self.conn()
        missing = unique_name("dp-missing")
        res = c.describe_producers([(self.topic, [0, 3, -1, 0]), (missing, [0]),
                                    ("bad/name", [0, 1])])
        self.assertEqual([(t, p, r["error_code"]) for t, p, r in res], [
            (self.topic, 0, kw.NONE),
            (self.topic, 3, kw.UNKNOWN_TOPIC_OR_PARTITION),
            (self.topic, -1, kw.UNKNOWN_TOPIC_OR_PARTITION),
            (self.topic, 0, kw.NONE),  # asked twice, answered twice, as Kafka does
            (missing, 0, kw.UNKNOWN_TOPIC_OR_PARTITION),
            ("bad/name", 0, kw.INVALID_TOPIC_EXCEPTION),
            ("bad/name", 1, kw.INVALID_TOPIC_EXCEPTION),
        ])
        self.assertTrue(all(r["producers"] == [] for _, _, r in res))
        self.assertIsNotNone(res[-1][2]["error_message"])  # the reason the name is invalid
        self.assertEqual(c.describe_producers([]), [])
        self.broker.assert_running()


class TransactionalProducersTest(DescribeProducersCase):
    P1, P2 = 6001, 6002

    def test_open_transaction_start_and_coordinator_epoch(self):
        self.topic = unique_name("dp-txn")
        with kw.Connection.to(self.broker.bootstrap) as c:
            c.create_topic_or_fail(self.topic, 1)
        self.broker.stop()
        part_dir = os.path.join(self.broker.data_dir, "%s-0" % self.topic)
        for name in os.listdir(part_dir):
            if name != "partition.metadata":
                os.remove(os.path.join(part_dir, name))
        ts = now_ms()  # recent, so that producer expiry cannot race the test
        # 0-1: P1's transaction; 2: P2's; 3: P1's abort marker (coordinator epoch 7). P2's stays
        # open from offset 2.
        log = b"".join([
            data_batch(0, [b"p1-a", b"p1-b"], ts, pid=self.P1, seq=0, transactional=True),
            data_batch(2, [b"p2-a"], ts + 1, pid=self.P2, seq=0, transactional=True),
            control_batch(3, self.P1, 0, False, 7, ts + 2),
        ])
        with open(os.path.join(part_dir, "%020d.log" % 0), "wb") as f:
            f.write(log)
        self.broker.start()
        self.assertEqual(self.producers_of(self.conn(), 0), [
            # The marker ended P1's transaction and set its timestamp and coordinator epoch.
            producer(self.P1, 0, 1, ts + 2, coordinator_epoch=7),
            producer(self.P2, 0, 0, ts + 1, txn_start=2),
        ])


class ExpiredProducersTest(DescribeProducersCase):
    broker_properties = dict(DescribeProducersCase.broker_properties, **{
        "producer.id.expiration.ms": 3000, "producer.id.expiration.check.interval.ms": 100})

    def test_expired_producer_is_no_longer_listed(self):
        self.topic = unique_name("dp-exp")
        c = self.conn()
        c.create_topic_or_fail(self.topic, 1)
        pid = c.init_producer_id(4)["producer_id"]
        ts = now_ms()
        r = c.produce_one(self.topic, 0, idempotent_batch(pid, 0, 0, 1, ts), acks=-1)
        self.assertEqual(r["error_code"], kw.NONE)
        listed = self.producers_of(c, 0)
        if now_ms() - ts < 3000:  # only meaningful if it was asked before expiry could run
            self.assertEqual(listed, [producer(pid, 0, 0, ts)])
        deadline = time.monotonic() + 60
        while self.producers_of(c, 0) and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(self.producers_of(c, 0), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)

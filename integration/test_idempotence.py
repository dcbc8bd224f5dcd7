"""Idempotent producers against a real broker: InitProducerId, the sequence rules seen over the
raw protocol (retries answered with the original offsets, gaps, stale epochs, unknown producers),
the state surviving SIGKILL and clean restarts, and librdkafka's idempotent producer end to end.

The fault-proxy stress test (1,000,000 records through dropped connections) is
test_idempotence_faults.py.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kafka_wire as kw  # noqa: E402
import txn_wire  # noqa: E402
from broker_process import BrokerTestCase, unique_name  # noqa: E402
from ck_helpers import Deliveries, TIMEOUT, consume_partition, make_consumer, make_producer  # noqa: E402
from confluent_kafka import TopicPartition, OFFSET_BEGINNING  # noqa: E402


def batch(pid, epoch, seq, n=2, tag=b"v"):
    return kw.build_record_batch([(None, tag + b"-%d" % i, []) for i in range(n)],
                                 producer_id=pid, producer_epoch=epoch, base_sequence=seq)


class IdempotenceTest(BrokerTestCase):
    broker_properties = {"num.partitions": 1}

    def setUp(self):
        self.topic = unique_name("idem")
        with kw.Connection.to(self.broker.bootstrap) as c:
            c.create_topic_or_fail(self.topic, 1)

    def conn(self):
        c = kw.Connection.to(self.broker.bootstrap)
        self.addCleanup(c.close)
        return c

    def init_pid(self, c, version=4):
        r = c.init_producer_id(version)
        self.assertEqual(r["error_code"], kw.NONE, r)
        self.assertEqual(r["producer_epoch"], 0)
        return r["producer_id"]

    def send(self, c, b):
        r = c.produce_one(self.topic, 0, b, acks=-1)
        return r["error_code"], r["base_offset"]

    def test_init_producer_id_gives_new_ids_never_reused_after_a_crash(self):
        c = self.conn()
        ids = [self.init_pid(c, v) for v in (0, 1, 2, 3, 4, 5)]
        self.assertEqual(len(set(ids)), len(ids))
        # v3+ may name the previous id and epoch (KIP-360); without a transactional id a new id
        # comes back, as from Kafka.
        r = c.init_producer_id(4, producer_id=ids[-1], producer_epoch=0)
        self.assertEqual(r["error_code"], kw.NONE)
        self.assertNotIn(r["producer_id"], ids)
        ids.append(r["producer_id"])
        # A transactional id gets its producer id from the transaction coordinator, from the
        # same never-reused sequence.
        r = txn_wire.init_transactional(c, "txn-1")
        self.assertEqual(r["error_code"], kw.NONE)
        self.assertEqual(r["producer_epoch"], 0)
        self.assertNotIn(r["producer_id"], ids)
        ids.append(r["producer_id"])
        c.close()
        self.broker.kill()
        self.broker.start()
        after = self.init_pid(self.conn())
        self.assertGreater(after, max(ids))

    def test_sequence_rules(self):
        c = self.conn()
        pid = self.init_pid(c)
        self.assertEqual(self.send(c, batch(pid, 0, 0)), (kw.NONE, 0))
        self.assertEqual(self.send(c, batch(pid, 0, 2)), (kw.NONE, 2))
        # A retry of either earlier batch is acknowledged with its original offset; nothing new
        # is written.
        self.assertEqual(self.send(c, batch(pid, 0, 0)), (kw.NONE, 0))
        self.assertEqual(self.send(c, batch(pid, 0, 2)), (kw.NONE, 2))
        # A gap is refused.
        self.assertEqual(self.send(c, batch(pid, 0, 7))[0], kw.OUT_OF_ORDER_SEQUENCE_NUMBER)
        # A bumped epoch starts again at 0; the old epoch is then fenced.
        self.assertEqual(self.send(c, batch(pid, 1, 3))[0], kw.OUT_OF_ORDER_SEQUENCE_NUMBER)
        self.assertEqual(self.send(c, batch(pid, 1, 0)), (kw.NONE, 4))
        self.assertEqual(self.send(c, batch(pid, 0, 4))[0], kw.INVALID_PRODUCER_EPOCH)
        # A producer id this partition never saw must start at sequence 0.
        other = self.init_pid(c)
        self.assertEqual(self.send(c, batch(other, 0, 5))[0], kw.UNKNOWN_PRODUCER_ID)
        # A transactional batch needs a transactional id (and a transaction holding the
        # partition, see test_transactions.py).
        tx = kw.build_record_batch([(None, b"t", [])], producer_id=other, producer_epoch=0,
                                   base_sequence=0, attributes=0x10)
        self.assertEqual(self.send(c, tx)[0], kw.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
        # The log holds each batch once: offsets 0-5, six records.
        end = c.list_offsets({self.topic: {0: -1}})[(self.topic, 0)]["offset"]
        self.assertEqual(end, 6)
        self.broker.assert_running()

    def test_retries_are_recognised_after_sigkill_and_after_a_clean_restart(self):
        c = self.conn()
        pid = self.init_pid(c)
        for seq in range(0, 20, 2):
            self.assertEqual(self.send(c, batch(pid, 0, seq))[0], kw.NONE)
        c.close()
        for how in ("kill", "restart"):
            if how == "kill":
                self.broker.kill()
                self.broker.start()
            else:
                self.broker.restart()
            c = self.conn()
            # The last batch retried: its original offset, no second copy.
            self.assertEqual(self.send(c, batch(pid, 0, 18)), (kw.NONE, 18), how)
            self.assertEqual(self.send(c, batch(pid, 0, 30))[0], kw.OUT_OF_ORDER_SEQUENCE_NUMBER,
                             how)
            end = c.list_offsets({self.topic: {0: -1}})[(self.topic, 0)]["offset"]
            self.assertEqual(end, 20, how)
            c.close()

    def test_librdkafka_idempotent_producer_round_trip(self):
        p = make_producer(self.broker.bootstrap, **{"enable.idempotence": True, "acks": "all"})
        d = Deliveries()
        n = 20000
        for i in range(n):
            while True:
                try:
                    p.produce(self.topic, value=b"%d" % i, partition=0, on_delivery=d)
                    break
                except BufferError:
                    p.poll(0.05)
            if i % 1000 == 0:
                p.poll(0)
        self.assertEqual(p.flush(TIMEOUT), 0)
        d.check(self, n)
        cons = make_consumer(self.broker.bootstrap)
        self.addCleanup(cons.close)
        cons.assign([TopicPartition(self.topic, 0, OFFSET_BEGINNING)])
        got = consume_partition(cons, n)
        self.assertEqual([int(m.value()) for m in got], list(range(n)))


if __name__ == "__main__":
    unittest.main()

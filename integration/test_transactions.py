#!/usr/bin/python3
"""Transactions end to end: confluent-kafka-python (librdkafka) transactional producers and
read_committed / read_uncommitted consumers, plus the transaction APIs over the raw protocol.

ClientTransactionsTest (confluent-kafka):
- commit and abort, read by read_committed (committed records only) and read_uncommitted
  (everything) consumers, across two partitions;
- consume-transform-produce with send_offsets_to_transaction: the group's committed offsets move
  with committed transactions only;
- a transaction left open past its transaction.timeout.ms is aborted by the broker, and the
  producer is fenced;
- a second producer with the same transactional.id fences the first and aborts its transaction;
- an open transaction survives a broker SIGKILL and restart and then commits.

RawTransactionApiTest (kafka_wire): the error answers of InitProducerId, AddPartitionsToTxn
(v1/v3 and the batched v4 form with VerifyOnly), EndTxn, DescribeTransactions and
ListTransactions, and a transactional batch written by hand then committed.

Run: /usr/bin/python3 integration/test_transactions.py [-v]
"""

import os
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kafka_wire as kw  # noqa: E402
import txn_wire  # noqa: E402
from broker_process import BrokerTestCase, unique_name, wait_until  # noqa: E402
from ck_helpers import TIMEOUT, make_consumer  # noqa: E402
from confluent_kafka import (KafkaError, KafkaException, OFFSET_BEGINNING, Producer,  # noqa: E402
                             TopicPartition)

BROKER_PROPERTIES = {
    "num.partitions": 2,
    "auto.create.topics.enable": False,
    # Timed-out transactions are looked for this often (Kafka's default is 10 s).
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": 300,
}


def txn_producer(bootstrap, transactional_id, **extra):
    conf = {"bootstrap.servers": bootstrap, "transactional.id": transactional_id,
            "linger.ms": 5, "socket.timeout.ms": 10000}
    conf.update(extra)
    return Producer(conf)


def read_all(bootstrap, topic, partitions, isolation, expected=None, timeout=20.0):
    """Every record of the topic's partitions as (partition, value), by assigned reading to the
    end (each partition's EOF) with the given isolation level."""
    c = make_consumer(bootstrap, **{"isolation.level": isolation})
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        out, eofs = [], set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                if len(eofs) == partitions and (expected is None or len(out) >= expected):
                    break
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    eofs.add(m.partition())
                    continue
                raise KafkaException(m.error())
            out.append((m.partition(), m.value()))
        return out
    finally:
        c.close()


def values(records):
    return sorted(v for _, v in records)


class ClientTransactionsTest(BrokerTestCase):
    broker_properties = BROKER_PROPERTIES

    def setUp(self):
        super().setUp()
        self.topic = unique_name("tx")
        with kw.Connection.to(self.broker.bootstrap) as c:
            c.create_topic_or_fail(self.topic, 2)

    def producer(self, tid, **extra):
        p = txn_producer(self.broker.bootstrap, tid, **extra)
        p.init_transactions(TIMEOUT)
        return p

    def produce(self, p, prefix, n, flush=True):
        for i in range(n):
            p.produce(self.topic, value=b"%s%d" % (prefix, i), partition=i % 2)
        if flush:
            self.assertEqual(p.flush(TIMEOUT), 0)

    def committed_view(self, expected=None):
        return values(read_all(self.broker.bootstrap, self.topic, 2, "read_committed", expected))

    def uncommitted_view(self, expected=None):
        return values(read_all(self.broker.bootstrap, self.topic, 2, "read_uncommitted",
                               expected))

    def describe(self, tid):
        with kw.Connection.to(self.broker.bootstrap) as c:
            return txn_wire.TxnCalls(c).describe(tid)[tid]

    def test_commit_and_abort_with_both_isolation_levels(self):
        p = self.producer(unique_name("tid"))
        p.begin_transaction()
        self.produce(p, b"c", 10)
        p.commit_transaction(TIMEOUT)
        p.begin_transaction()
        self.produce(p, b"a", 5)  # flushed: the aborted records are in the log
        p.abort_transaction(TIMEOUT)
        p.begin_transaction()
        self.produce(p, b"d", 3, flush=False)
        p.commit_transaction(TIMEOUT)  # flushes first

        committed = sorted([b"c%d" % i for i in range(10)] + [b"d%d" % i for i in range(3)])
        aborted = [b"a%d" % i for i in range(5)]
        self.assertEqual(self.committed_view(13), committed)
        self.assertEqual(self.uncommitted_view(18), sorted(committed + aborted))
        # Each transaction put a marker in each partition: 18 records + 3 x 2 markers.
        with kw.Connection.to(self.broker.bootstrap) as c:
            ends = [c.latest_offset(self.topic, i) for i in (0, 1)]
        self.assertEqual(sum(ends), 18 + 6)

    def test_consume_transform_produce_with_send_offsets_to_transaction(self):
        source = unique_name("src")
        group = unique_name("ctp")
        with kw.Connection.to(self.broker.bootstrap) as c:
            c.create_topic_or_fail(source, 1)
        feeder = Producer({"bootstrap.servers": self.broker.bootstrap, "linger.ms": 5})
        for i in range(30):
            feeder.produce(source, value=b"%d" % i, partition=0)
        self.assertEqual(feeder.flush(TIMEOUT), 0)

        def consumer():
            return make_consumer(self.broker.bootstrap, **{
                "group.id": group, "isolation.level": "read_committed",
                "enable.partition.eof": False})

        def run_batch(cons, p, n, commit):
            """Reads n records, writes them transformed and their offsets in one transaction."""
            got = []
            deadline = time.monotonic() + 20
            while len(got) < n and time.monotonic() < deadline:
                for m in cons.consume(num_messages=n - len(got), timeout=0.5):
                    if m.error():
                        raise KafkaException(m.error())
                    got.append(m)
            self.assertEqual(len(got), n)
            p.begin_transaction()
            for m in got:
                p.produce(self.topic, value=b"x" + m.value(), partition=0)
            p.send_offsets_to_transaction(cons.position(cons.assignment()),
                                          cons.consumer_group_metadata(), TIMEOUT)
            if commit:
                p.commit_transaction(TIMEOUT)
            else:
                p.flush(TIMEOUT)
                p.abort_transaction(TIMEOUT)
            return [m.value() for m in got]

        def committed_offset():
            cons = consumer()
            try:
                return cons.committed([TopicPartition(source, 0)], TIMEOUT)[0].offset
            finally:
                cons.close()

        p = self.producer(unique_name("tid"))
        cons = consumer()
        cons.subscribe([source])
        first = run_batch(cons, p, 10, commit=True)
        self.assertEqual(committed_offset(), 10)
        run_batch(cons, p, 10, commit=False)
        # The aborted transaction's offsets were never committed.
        self.assertEqual(committed_offset(), 10)
        cons.close()

        # A new consumer of the group starts from the committed offset: it re-reads the records
        # whose transaction was aborted.
        cons = consumer()
        cons.subscribe([source])
        again = run_batch(cons, p, 20, commit=True)
        cons.close()
        self.assertEqual(committed_offset(), 30)
        self.assertEqual(first + again, [b"%d" % i for i in range(30)])
        out = [v for _, v in read_all(self.broker.bootstrap, self.topic, 1, "read_committed", 30)]
        self.assertEqual(out, [b"x%d" % i for i in range(30)])

    def test_transaction_left_open_past_its_timeout_is_aborted(self):
        tid = unique_name("tid")
        p = self.producer(tid, **{"transaction.timeout.ms": 1500, "socket.timeout.ms": 1500})
        before = self.describe(tid)
        p.begin_transaction()
        self.produce(p, b"t", 4)
        self.assertEqual(self.describe(tid)["state"], "Ongoing")
        # The broker aborts it and bumps the epoch, fencing this producer.
        wait_until(lambda: self.describe(tid)["state"] == "CompleteAbort", timeout=15,
                   message="the timed-out transaction to be aborted")
        after = self.describe(tid)
        self.assertEqual(after["epoch"], before["epoch"] + 1)
        self.assertEqual(after["partitions"], set())
        self.assertEqual(self.committed_view(), [])
        self.assertEqual(self.uncommitted_view(4), [b"t%d" % i for i in range(4)])
        # read_committed is not held back: the LSO is the log end.
        with kw.Connection.to(self.broker.bootstrap) as c:
            for i in (0, 1):
                res = c.fetch({self.topic: {i: 0}}, isolation_level=kw.READ_COMMITTED)
                got = res[(self.topic, i)]
                self.assertEqual(got["last_stable_offset"], got["high_watermark"])
                self.assertEqual(len(got["aborted_transactions"]), 1)
        with self.assertRaises(KafkaException):
            p.commit_transaction(TIMEOUT)

    def test_second_producer_with_the_same_transactional_id_fences_the_first(self):
        tid = unique_name("tid")
        first = self.producer(tid)
        first.begin_transaction()
        self.produce(first, b"zombie", 2)
        # init_transactions of the second aborts the first's open transaction.
        second = self.producer(tid)
        second.begin_transaction()
        self.produce(second, b"live", 2)
        second.commit_transaction(TIMEOUT)
        with self.assertRaises(KafkaException) as raised:
            first.commit_transaction(TIMEOUT)
        self.assertTrue(raised.exception.args[0].fatal(), raised.exception)
        self.assertEqual(self.committed_view(2), [b"live0", b"live1"])
        self.assertEqual(self.uncommitted_view(4), [b"live0", b"live1", b"zombie0", b"zombie1"])
        # The fenced producer cannot write with its old epoch either.
        with kw.Connection.to(self.broker.bootstrap) as c:
            state = txn_wire.TxnCalls(c).describe(tid)[tid]
        self.assertEqual(state["state"], "CompleteCommit")

    def test_open_transaction_survives_broker_kill_and_restart(self):
        tid = unique_name("tid")
        p = self.producer(tid)
        p.begin_transaction()
        self.produce(p, b"r", 6)
        self.broker.kill()
        self.broker.start()
        self.assertEqual(self.describe(tid)["state"], "Ongoing")
        p.commit_transaction(30)
        self.assertEqual(self.committed_view(6), [b"r%d" % i for i in range(6)])
        self.assertEqual(self.describe(tid)["state"], "CompleteCommit")
        # The coordinator's state was reloaded from __transaction_state: the next transaction
        # works with the same producer id and epoch.
        p.begin_transaction()
        self.produce(p, b"s", 2)
        p.commit_transaction(TIMEOUT)
        self.assertEqual(len(self.committed_view(8)), 8)


class RawTransactionApiTest(BrokerTestCase):
    broker_properties = BROKER_PROPERTIES

    def setUp(self):
        super().setUp()
        self.topic = unique_name("raw")
        self.c = kw.Connection.to(self.broker.bootstrap, timeout=15)
        self.addCleanup(self.c.close)
        self.c.create_topic_or_fail(self.topic, 2)
        self.t = txn_wire.TxnCalls(self.c)

    def init(self, tid, **kwargs):
        r = txn_wire.init_transactional(self.c, tid, **kwargs)
        self.assertEqual(r["error_code"], kw.NONE, r)
        return r["producer_id"], r["producer_epoch"]

    def test_init_producer_id_errors_and_epoch_bumps(self):
        r = txn_wire.init_transactional(self.c, unique_name("tid"), timeout_ms=900001)
        self.assertEqual(r["error_code"], kw.INVALID_TRANSACTION_TIMEOUT)
        r = txn_wire.init_transactional(self.c, unique_name("tid"), timeout_ms=0)
        self.assertEqual(r["error_code"], kw.INVALID_TRANSACTION_TIMEOUT)
        r = self.c.init_producer_id(4, transactional_id="")
        self.assertEqual(r["error_code"], kw.INVALID_REQUEST)
        tid = unique_name("tid")
        pid, epoch = self.init(tid)
        self.assertEqual(epoch, 0)
        # Each InitProducerId bumps the epoch of the same id.
        self.assertEqual(self.init(tid), (pid, 1))
        # v3+: naming a stale epoch is refused (KIP-360).
        r = self.c.init_producer_id(4, transactional_id=tid, producer_id=pid, producer_epoch=0)
        self.assertEqual(r["error_code"], kw.PRODUCER_FENCED)
        self.assertEqual(self.init(tid, producer_id=pid, producer_epoch=1), (pid, 2))

    def test_add_partitions_errors(self):
        tid = unique_name("tid")
        pid, epoch = self.init(tid)
        topics = {self.topic: [0, 1], "no-such-topic": [0]}
        r = self.t.add_partitions(3, transactional_id=tid, producer_id=pid, epoch=epoch,
                                  topics=topics)
        self.assertEqual(r, {(self.topic, 0): kw.OPERATION_NOT_ATTEMPTED,
                             (self.topic, 1): kw.OPERATION_NOT_ATTEMPTED,
                             ("no-such-topic", 0): kw.UNKNOWN_TOPIC_OR_PARTITION})
        r = self.t.add_partitions(3, transactional_id=tid, producer_id=pid, epoch=epoch,
                                  topics={self.topic: [7]})
        self.assertEqual(r, {(self.topic, 7): kw.UNKNOWN_TOPIC_OR_PARTITION})
        # Internal topics are added only through AddOffsetsToTxn.
        r = self.t.add_partitions(3, transactional_id=tid, producer_id=pid, epoch=epoch,
                                  topics={"__transaction_state": [0]})
        self.assertEqual(r, {("__transaction_state", 0): kw.TOPIC_AUTHORIZATION_FAILED})
        good = {self.topic: [0]}
        r = self.t.add_partitions(3, transactional_id=tid, producer_id=pid + 1000, epoch=epoch,
                                  topics=good)
        self.assertEqual(r, {(self.topic, 0): kw.INVALID_PRODUCER_ID_MAPPING})
        pid2, epoch2 = self.init(tid)  # bumps the epoch: the old one is fenced
        for version, fenced in ((1, kw.INVALID_PRODUCER_EPOCH), (3, kw.PRODUCER_FENCED)):
            r = self.t.add_partitions(version, transactional_id=tid, producer_id=pid,
                                      epoch=epoch, topics=good)
            self.assertEqual(r, {(self.topic, 0): fenced}, version)
        r = self.t.add_partitions(1, transactional_id=tid, producer_id=pid2, epoch=epoch2,
                                  topics=good)
        self.assertEqual(r, {(self.topic, 0): kw.NONE})
        r = self.t.add_partitions(3, transactional_id="", producer_id=pid2, epoch=epoch2,
                                  topics=good)
        self.assertEqual(r, {(self.topic, 0): kw.INVALID_REQUEST})

    def test_batched_add_partitions_and_verify_only(self):
        a, b = unique_name("tid-a"), unique_name("tid-b")
        pa, ea = self.init(a)
        pb, eb = self.init(b)
        err, res = self.t.add_partitions(4, transactions=[
            (a, pa, ea, False, {self.topic: [0]}),
            (b, pb, eb, False, {self.topic: [1]}),
        ])
        self.assertEqual(err, kw.NONE)
        self.assertEqual(res, {a: {(self.topic, 0): kw.NONE}, b: {(self.topic, 1): kw.NONE}})
        err, res = self.t.add_partitions(4, transactions=[
            (a, pa, ea, True, {self.topic: [0, 1]}),
            (b, pb, eb + 1, True, {self.topic: [1]}),
        ])
        self.assertEqual(res, {a: {(self.topic, 0): kw.NONE, (self.topic, 1): kw.INVALID_TXN_STATE},
                               b: {(self.topic, 1): kw.PRODUCER_FENCED}})
        # Verification changed nothing.
        self.assertEqual(self.t.describe(a)[a]["partitions"], {(self.topic, 0)})

    def test_hand_written_transaction_commit_and_describe_list(self):
        tid = unique_name("tid")
        pid, epoch = self.init(tid)
        self.assertEqual(self.t.end(3, tid, pid, epoch, True), kw.INVALID_TXN_STATE)
        d = self.t.describe(tid, "never-used")
        self.assertEqual(d["never-used"]["error_code"], kw.TRANSACTIONAL_ID_NOT_FOUND)
        self.assertEqual(d[tid]["state"], "Empty")
        self.assertEqual((d[tid]["producer_id"], d[tid]["epoch"]), (pid, epoch))

        r = self.t.add_partitions(3, transactional_id=tid, producer_id=pid, epoch=epoch,
                                  topics={self.topic: [0]})
        self.assertEqual(r, {(self.topic, 0): kw.NONE})
        batch = kw.build_record_batch([(None, b"t1", []), (None, b"t2", [])], producer_id=pid,
                                      producer_epoch=epoch, base_sequence=0, attributes=0x10)
        # Partition 1 is not in the transaction: refused (transaction verification).
        r = self.c.produce_one(self.topic, 1, batch, acks=-1, transactional_id=tid)
        self.assertEqual(r["error_code"], kw.INVALID_TXN_STATE)
        r = self.c.produce_one(self.topic, 0, batch, acks=-1, transactional_id=tid)
        self.assertEqual(r["error_code"], kw.NONE)

        d = self.t.describe(tid)[tid]
        self.assertEqual(d["state"], "Ongoing")
        self.assertEqual(d["partitions"], {(self.topic, 0)})
        self.assertGreater(d["start_ms"], 0)
        self.assertEqual(d["timeout_ms"], 60000)
        err, unknown, listed = self.t.list(states=["Ongoing", "Bogus"])
        self.assertEqual((err, unknown), (kw.NONE, ["Bogus"]))
        self.assertEqual(listed.get(tid), (pid, "Ongoing"))
        self.assertNotIn(tid, self.t.list(producer_ids=[pid + 1])[2])
        self.assertEqual(self.t.list(producer_ids=[pid])[2], {tid: (pid, "Ongoing")})
        self.assertNotIn(tid, self.t.list(duration_ms=3_600_000)[2])
        self.assertIn(tid, self.t.list(version=0)[2])
        self.assertEqual(self.t.list(states=["Bogus"])[2], {})

        # The open transaction holds read_committed back; DescribeProducers shows where it began.
        res = self.c.fetch({self.topic: {0: 0}}, isolation_level=kw.READ_COMMITTED)
        self.assertEqual(res[(self.topic, 0)]["last_stable_offset"], 0)
        producers = self.c.describe_producers([(self.topic, [0])])[0][2]["producers"]
        self.assertEqual([(x["producer_id"], x["last_sequence"], x["current_txn_start_offset"])
                          for x in producers], [(pid, 1, 0)])
        # A stale epoch cannot end it; v1 hears INVALID_PRODUCER_EPOCH.
        self.assertEqual(self.t.end(3, tid, pid, epoch - 1, True), kw.PRODUCER_FENCED)
        self.assertEqual(self.t.end(1, tid, pid, epoch - 1, True), kw.INVALID_PRODUCER_EPOCH)
        self.assertEqual(self.t.end(3, tid, pid, epoch, True), kw.NONE)
        # A retried EndTxn of the same outcome succeeds; the other outcome is refused.
        self.assertEqual(self.t.end(3, tid, pid, epoch, True), kw.NONE)
        self.assertEqual(self.t.end(3, tid, pid, epoch, False), kw.INVALID_TXN_STATE)

        res = self.c.fetch({self.topic: {0: 0}}, isolation_level=kw.READ_COMMITTED)[(self.topic, 0)]
        self.assertEqual(res["last_stable_offset"], 3)  # two records and the commit marker
        self.assertEqual(txn_wire.data_values(res["records"]), [b"t1", b"t2"])
        self.assertEqual(self.t.describe(tid)[tid]["state"], "CompleteCommit")
        producers = self.c.describe_producers([(self.topic, [0])])[0][2]["producers"]
        self.assertEqual([(x["current_txn_start_offset"], x["coordinator_epoch"])
                          for x in producers], [(-1, 0)])
        self.assertEqual(self.t.list(states=["CompleteCommit"], producer_ids=[pid])[2],
                         {tid: (pid, "CompleteCommit")})

    def test_add_offsets_to_txn(self):
        tid = unique_name("tid")
        pid, epoch = self.init(tid)
        self.assertEqual(self.t.add_offsets(3, tid, pid, epoch, "some-group"), kw.NONE)
        parts = self.t.describe(tid)[tid]["partitions"]
        self.assertEqual(len(parts), 1)
        self.assertEqual(next(iter(parts))[0], "__consumer_offsets")
        self.assertEqual(self.t.add_offsets(1, tid, pid, epoch + 1, "some-group"),
                         kw.INVALID_PRODUCER_EPOCH)
        self.assertEqual(self.t.add_offsets(3, "", pid, epoch, "some-group"), kw.INVALID_REQUEST)
        self.assertEqual(self.t.end(3, tid, pid, epoch, False), kw.NONE)
        self.assertEqual(self.t.describe(tid)[tid]["state"], "CompleteAbort")


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/python3
"""read_committed over the raw protocol.

ReadCommittedTest:
No transaction is open (a transactional batch outside a transaction is refused), so the last
stable offset must equal the high watermark: Fetch with isolation_level=1 serves exactly
what isolation_level=0 serves, with last_stable_offset == high_watermark and an empty (not null)
aborted_transactions list; ListOffsets v2 with isolation_level=1 answers latest with the LSO and
timestamp lookups as read_uncommitted does. A read_committed long poll waits at the end and is
woken by a produce. All of it also after SIGKILL and a restart.

TransactionsOnDiskTest: the test writes a partition's
log itself while the broker is stopped, in Kafka's format: transactional batches of two
producers, an abort marker for one, the other left open, and the .txnindex entry Kafka would have
written. The broker must load it: LSO at the open transaction, read_committed stopping there
with the aborted transaction listed, ListOffsets read_committed answering the LSO; after an
unclean start it rebuilds the .txnindex byte for byte, and a commit marker added to the log is
replayed on top of the producer snapshot.

Run: /usr/bin/python3 integration/test_read_committed.py [-v]
"""

import os
import struct
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kafka_wire as kw  # noqa: E402
from broker_process import BrokerTestCase, unique_name  # noqa: E402

TS0 = 1_600_000_000_000


class ReadCommittedTest(BrokerTestCase):
    broker_properties = {"num.partitions": 1, "auto.create.topics.enable": False}

    def setUp(self):
        super().setUp()
        self.topic = unique_name("rc")
        with kw.Connection.to(self.broker.bootstrap) as c:
            c.create_topic_or_fail(self.topic, 1)
            pid = c.init_producer_id(4)["producer_id"]
            # Plain and idempotent batches; timestamps 0, 10, ... after TS0.
            for i in range(3):
                self.produce(c, kw.build_record_batch(
                    [kw.Record(None, b"p%d" % i, [], TS0 + 10 * i)]))
                self.produce(c, kw.build_record_batch(
                    [kw.Record(None, b"i%d-%d" % (i, j), [], TS0 + 10 * i + 5) for j in range(2)],
                    producer_id=pid, producer_epoch=0, base_sequence=2 * i))
        self.end = 9

    def conn(self):
        c = kw.Connection.to(self.broker.bootstrap, timeout=15)
        self.addCleanup(c.close)
        return c

    def produce(self, c, batch):
        r = c.produce_one(self.topic, 0, batch, acks=-1)
        self.assertEqual(r["error_code"], kw.NONE, r)
        return r["base_offset"]

    def fetch(self, c, offset, isolation_level, **kw_args):
        return c.fetch({self.topic: {0: offset}}, isolation_level=isolation_level,
                       **kw_args)[(self.topic, 0)]

    def assert_read_committed_sees_everything(self, c, end):
        for offset in (0, 3, end):
            committed = self.fetch(c, offset, kw.READ_COMMITTED)
            uncommitted = self.fetch(c, offset, kw.READ_UNCOMMITTED)
            self.assertEqual(committed["error_code"], kw.NONE)
            self.assertEqual(committed["high_watermark"], end)
            self.assertEqual(committed["last_stable_offset"], end)
            self.assertEqual(uncommitted["last_stable_offset"], end)
            # read_committed always lists aborted transactions (none here); read_uncommitted null.
            self.assertEqual(committed["aborted_transactions"], [])
            self.assertIsNone(uncommitted["aborted_transactions"])
            self.assertEqual(committed["records"], uncommitted["records"], "offset %d" % offset)
        recs = kw.decode_records(self.fetch(c, 0, kw.READ_COMMITTED)["records"])
        self.assertEqual([r.offset for r in recs], list(range(end)))

    def list_offset(self, c, ts, isolation_level):
        got = c.list_offsets_v2({self.topic: {0: ts}}, isolation_level)[(self.topic, 0)]
        self.assertEqual(got["error_code"], kw.NONE)
        return got["offset"], got["timestamp"]

    def test_fetch_read_committed_without_transactions(self):
        self.assert_read_committed_sees_everything(self.conn(), self.end)

    def test_list_offsets_read_committed(self):
        c = self.conn()
        for level in (kw.READ_UNCOMMITTED, kw.READ_COMMITTED):
            self.assertEqual(self.list_offset(c, kw.LATEST_TIMESTAMP, level)[0], self.end)
            self.assertEqual(self.list_offset(c, kw.EARLIEST_TIMESTAMP, level)[0], 0)
            self.assertEqual(self.list_offset(c, TS0 + 12, level), (4, TS0 + 15))
            self.assertEqual(self.list_offset(c, TS0 + 100, level), (-1, -1))

    def test_transactional_batch_outside_a_transaction_cannot_hold_back_the_lso(self):
        # Transaction verification (KIP-890 part 1): a transactional batch for a partition its
        # transaction does not contain would open a transaction no marker closes.
        c = self.conn()
        pid = c.init_producer_id(4)["producer_id"]
        tx = kw.build_record_batch([(None, b"t", [])], producer_id=pid, producer_epoch=0,
                                   base_sequence=0, attributes=0x10)
        r = c.produce_one(self.topic, 0, tx, acks=-1)
        self.assertEqual(r["error_code"], kw.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
        r = c.produce_one(self.topic, 0, tx, acks=-1, transactional_id="no-such-txn")
        self.assertIn(r["error_code"], (kw.INVALID_TXN_STATE, kw.NOT_ENOUGH_REPLICAS))
        self.assert_read_committed_sees_everything(c, self.end)

    def test_read_committed_long_poll_waits_and_wakes_on_produce(self):
        fetcher, producer = self.conn(), self.conn()
        t0 = time.monotonic()
        res = self.fetch(fetcher, self.end, kw.READ_COMMITTED, max_wait_ms=700)
        self.assertEqual(res["error_code"], kw.NONE)
        self.assertEqual(kw.decode_records(res["records"]), [])
        self.assertGreaterEqual(time.monotonic() - t0, 0.6, "returned before max_wait_ms")

        t0 = time.monotonic()
        cid = fetcher.send_request(kw.FETCH, 4, kw.encode_fetch_v4(
            {self.topic: {0: self.end}}, max_wait_ms=8000, min_bytes=1,
            isolation_level=kw.READ_COMMITTED))
        time.sleep(0.3)
        self.produce(producer, kw.build_record_batch([(b"k", b"wake up")]))
        _, r = fetcher.recv_response(cid, 0)
        out, _ = kw.decode_fetch_v4(r)
        got = out[(self.topic, 0)]
        self.assertEqual([(x.offset, x.value) for x in kw.decode_records(got["records"])],
                         [(self.end, b"wake up")])
        self.assertEqual(got["last_stable_offset"], self.end + 1)
        self.assertLess(time.monotonic() - t0, 4.0, "a read_committed Fetch was not woken")

    def test_after_sigkill_and_restart(self):
        self.broker.kill()
        self.broker.start()
        self.assert_read_committed_sees_everything(self.conn(), self.end)
        self.broker.restart()
        c = self.conn()
        self.assert_read_committed_sees_everything(c, self.end)
        self.assertEqual(self.list_offset(c, kw.LATEST_TIMESTAMP, kw.READ_COMMITTED)[0], self.end)


def control_batch(base_offset, pid, epoch, commit, coordinator_epoch, ts):
    """A transaction marker as Kafka's EndTransactionMarker writes it."""
    key = struct.pack(">hh", 0, 1 if commit else 0)
    value = struct.pack(">hi", 0, coordinator_epoch)
    return kw.build_record_batch([kw.Record(key, value, [], ts)], base_offset=base_offset,
                                 attributes=0x30, producer_id=pid, producer_epoch=epoch,
                                 base_sequence=-1, partition_leader_epoch=0)


def data_batch(base_offset, values, ts, pid=-1, seq=-1, transactional=False):
    return kw.build_record_batch([kw.Record(None, v, [], ts) for v in values],
                                 base_offset=base_offset, attributes=0x10 if transactional else 0,
                                 producer_id=pid, producer_epoch=0 if pid >= 0 else -1,
                                 base_sequence=seq, partition_leader_epoch=0)


def aborted_txn_entry(pid, first, last, lso):
    """One .txnindex entry: version 0, producer id, first offset, last offset, LSO."""
    return struct.pack(">hqqqq", 0, pid, first, last, lso)


class TransactionsOnDiskTest(BrokerTestCase):
    per_test_broker = True
    broker_properties = {"num.partitions": 1, "auto.create.topics.enable": False}
    P1, P2 = 5001, 5002

    def conn(self):
        c = kw.Connection.to(self.broker.bootstrap, timeout=15)
        self.addCleanup(c.close)
        return c

    def part_dir(self):
        return os.path.join(self.broker.data_dir, "%s-0" % self.topic)

    def seg_file(self, suffix):
        return os.path.join(self.part_dir(), "%020d%s" % (0, suffix))

    def fetch(self, c, offset, level):
        return c.fetch({self.topic: {0: offset}}, isolation_level=level)[(self.topic, 0)]

    def list_offset(self, c, ts, level):
        got = c.list_offsets_v2({self.topic: {0: ts}}, level)[(self.topic, 0)]
        self.assertEqual(got["error_code"], kw.NONE)
        return got["offset"]

    def test_broker_serves_transactions_written_in_kafkas_format(self):
        self.topic = unique_name("txdisk")
        with kw.Connection.to(self.broker.bootstrap) as c:
            c.create_topic_or_fail(self.topic, 1)
        self.broker.stop()
        # 0: plain; 1-2: P1 (transactional); 3: P2 (transactional); 4: P1's abort marker;
        # 5: plain. P2 stays open, so the LSO is 3.
        log = b"".join([
            data_batch(0, [b"plain-0"], TS0),
            data_batch(1, [b"p1-a", b"p1-b"], TS0 + 1, pid=self.P1, seq=0, transactional=True),
            data_batch(3, [b"p2-a"], TS0 + 2, pid=self.P2, seq=0, transactional=True),
            control_batch(4, self.P1, 0, False, 7, TS0 + 3),
            data_batch(5, [b"plain-5"], TS0 + 4),
        ])
        entry = aborted_txn_entry(self.P1, 1, 4, 3)  # LSO once P1 ended: P2's first offset
        for name in os.listdir(self.part_dir()):
            if name != "partition.metadata":
                os.remove(os.path.join(self.part_dir(), name))
        with open(self.seg_file(".log"), "wb") as f:
            f.write(log)
        with open(self.seg_file(".txnindex"), "wb") as f:
            f.write(entry)
        self.broker.start()  # after a clean shutdown: the .txnindex written here is used

        def check_open_p2(c):
            committed = self.fetch(c, 0, kw.READ_COMMITTED)
            self.assertEqual(committed["error_code"], kw.NONE)
            self.assertEqual(committed["high_watermark"], 6)
            self.assertEqual(committed["last_stable_offset"], 3)
            self.assertEqual(committed["aborted_transactions"], [(self.P1, 1)])
            # Only batches wholly below the LSO.
            recs = kw.decode_records(committed["records"])
            self.assertEqual([r.offset for r in recs], [0, 1, 2])
            self.assertEqual(self.fetch(c, 3, kw.READ_COMMITTED)["records"] or b"", b"")
            uncommitted = self.fetch(c, 0, kw.READ_UNCOMMITTED)
            self.assertEqual(uncommitted["last_stable_offset"], 3)
            self.assertIsNone(uncommitted["aborted_transactions"])
            self.assertEqual(uncommitted["records"], log)
            self.assertEqual(self.list_offset(c, kw.LATEST_TIMESTAMP, kw.READ_COMMITTED), 3)
            self.assertEqual(self.list_offset(c, kw.LATEST_TIMESTAMP, kw.READ_UNCOMMITTED), 6)
            # A timestamp found at or past the LSO is no answer for read_committed (Kafka).
            self.assertEqual(self.list_offset(c, TS0 + 4, kw.READ_COMMITTED), -1)
            self.assertEqual(self.list_offset(c, TS0 + 4, kw.READ_UNCOMMITTED), 5)
            self.assertEqual(self.list_offset(c, TS0 + 1, kw.READ_COMMITTED), 1)
            # P2's transaction is open: plain data from it is refused.
            r = c.produce_one(self.topic, 0, kw.build_record_batch(
                [(None, b"x", [])], producer_id=self.P2, producer_epoch=0, base_sequence=1),
                acks=-1)
            self.assertEqual(r["error_code"], kw.INVALID_TXN_STATE)

        check_open_p2(self.conn())

        # An unclean start without the .txnindex: recovery rebuilds it, byte for byte.
        self.broker.kill()
        os.remove(self.seg_file(".txnindex"))
        self.assertFalse(os.path.exists(os.path.join(self.broker.data_dir, ".kafka_cleanshutdown")))
        self.broker.start()
        check_open_p2(self.conn())
        with open(self.seg_file(".txnindex"), "rb") as f:
            self.assertEqual(f.read(), entry)

        # P2 commits (the marker appended while the broker is down, as a coordinator would have
        # written it): replayed after the producer snapshot of the clean shutdown.
        self.broker.stop()
        with open(self.seg_file(".log"), "ab") as f:
            f.write(control_batch(6, self.P2, 0, True, 7, TS0 + 5))
        self.broker.start()
        c = self.conn()
        committed = self.fetch(c, 0, kw.READ_COMMITTED)
        self.assertEqual(committed["last_stable_offset"], 7)
        self.assertEqual(committed["high_watermark"], 7)
        self.assertEqual(committed["aborted_transactions"], [(self.P1, 1)])
        batches = kw.decode_record_batches(committed["records"])
        self.assertEqual([r.offset for b in batches if not b.attributes & 0x20 for r in b.records],
                         [0, 1, 2, 3, 5])
        self.assertEqual([b.base_offset for b in batches if b.attributes & 0x20], [4, 6])
        self.assertEqual(self.fetch(c, 5, kw.READ_COMMITTED)["aborted_transactions"], [])
        self.assertEqual(self.list_offset(c, kw.LATEST_TIMESTAMP, kw.READ_COMMITTED), 7)


if __name__ == "__main__":
    unittest.main(verbosity=2)

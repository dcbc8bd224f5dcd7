"""Transactional offset commits (TxnOffsetCommit) against a real broker, over the raw protocol:
the offsets stay pending (OffsetFetch with RequireStable answers UNSTABLE_OFFSET_COMMIT, without
it the committed offset is unchanged), unknown partitions and an empty group id are refused, and
the pending state survives SIGKILL, and the transaction's marker (EndTxn) commits or drops them.
Offsets are taken only from a transaction that holds the group's __consumer_offsets partition
(AddOffsetsToTxn): anything else is INVALID_TXN_STATE, so no offsets can stay pending for good.
"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kafka_wire as kw  # noqa: E402
import txn_wire  # noqa: E402
from broker_process import BrokerTestCase, unique_name  # noqa: E402


class TxnOffsetCommitTest(BrokerTestCase):
    per_test_broker = True

    def setUp(self):
        super().setUp()
        self.topic = unique_name("txnoff")
        self.group = unique_name("txn-group")
        c = self.conn()
        c.create_topic_or_fail(self.topic, 2)
        self.tid = unique_name("tid")
        r = txn_wire.init_transactional(c, self.tid)
        self.assertEqual(r["error_code"], kw.NONE, r)
        self.pid, self.epoch = r["producer_id"], r["producer_epoch"]
        self.txn = txn_wire.TxnCalls(c)
        self.add_offsets(self.group)

    def add_offsets(self, group):
        self.assertEqual(self.until_coordinator_ready(lambda: [self.txn.add_offsets(
            3, self.tid, self.pid, self.epoch, group)]), [kw.NONE])

    def conn(self):
        c = kw.Connection.to(self.broker.bootstrap, timeout=15.0)
        self.addCleanup(c.close)
        return c

    def until_coordinator_ready(self, call, timeout=20.0):
        """call() again while any partition's error says the coordinator is not ready yet."""
        deadline = time.monotonic() + timeout
        while True:
            res = call()
            errors = res.values() if isinstance(res, dict) else [res[0]]
            if not any(e in kw.COORDINATOR_RETRIABLE for e in errors) or \
                    time.monotonic() > deadline:
                return res
            time.sleep(0.2)

    def txn_commit(self, c, offsets, version=3, group=None, **kw_):
        return self.until_coordinator_ready(lambda: c.txn_offset_commit(
            version, self.tid, self.group if group is None else group, self.pid, self.epoch,
            offsets, **kw_))

    def fetch(self, c, require_stable, version=7):
        err, parts = self.until_coordinator_ready(lambda: c.offset_fetch(
            version, self.group, {self.topic: [0, 1]}, require_stable=require_stable))
        self.assertEqual(err, kw.NONE)
        return {p: (d["offset"], d["error_code"]) for (_, p), d in parts.items()}

    def test_advertised(self):
        err, apis, _ = self.conn().api_versions()
        self.assertEqual(err, kw.NONE)
        self.assertEqual(apis.get(kw.TXN_OFFSET_COMMIT), (0, 4))

    def test_pending_offsets_are_unstable_until_the_marker(self):
        c = self.conn()
        # A committed offset before the transaction.
        res = self.until_coordinator_ready(
            lambda: c.offset_commit(8, self.group, {self.topic: {1: 3}}))
        self.assertEqual(res, {(self.topic, 1): kw.NONE})
        res = self.txn_commit(c, {self.topic: {0: 10, 1: (11, "m")}, "no-such-topic": {0: 1}})
        self.assertEqual(res, {(self.topic, 0): kw.NONE, (self.topic, 1): kw.NONE,
                               ("no-such-topic", 0): kw.UNKNOWN_TOPIC_OR_PARTITION})
        self.assertEqual(self.txn_commit(c, {self.topic: {7: 1}}),
                         {(self.topic, 7): kw.UNKNOWN_TOPIC_OR_PARTITION})
        # read_uncommitted view: the transaction's offsets are not committed yet.
        self.assertEqual(self.fetch(c, False), {0: (-1, kw.NONE), 1: (3, kw.NONE)})
        # KIP-447: a read_committed consumer is told to wait.
        self.assertEqual(self.fetch(c, True), {0: (-1, kw.UNSTABLE_OFFSET_COMMIT),
                                               1: (-1, kw.UNSTABLE_OFFSET_COMMIT)})
        # v8+ carries RequireStable for every group of the request.
        self.assertEqual(self.fetch(c, True, version=8)[1], (-1, kw.UNSTABLE_OFFSET_COMMIT))

        # The undecided transaction comes back from the log after a crash.
        c.close()
        self.broker.kill()
        self.broker.start()
        c = self.conn()
        self.assertEqual(self.fetch(c, True), {0: (-1, kw.UNSTABLE_OFFSET_COMMIT),
                                               1: (-1, kw.UNSTABLE_OFFSET_COMMIT)})
        self.assertEqual(self.fetch(c, False), {0: (-1, kw.NONE), 1: (3, kw.NONE)})

        # The commit marker makes them the group's committed offsets.
        t = txn_wire.TxnCalls(c)
        self.assertEqual(t.end(3, self.tid, self.pid, self.epoch, True), kw.NONE)
        self.assertEqual(self.fetch(c, True), {0: (10, kw.NONE), 1: (11, kw.NONE)})

        # An aborted transaction's offsets are dropped.
        self.txn = t
        self.add_offsets(self.group)
        self.assertEqual(self.txn_commit(c, {self.topic: {0: 50}}), {(self.topic, 0): kw.NONE})
        self.assertEqual(self.fetch(c, True)[0], (-1, kw.UNSTABLE_OFFSET_COMMIT))
        self.assertEqual(t.end(3, self.tid, self.pid, self.epoch, False), kw.NONE)
        self.assertEqual(self.fetch(c, True), {0: (10, kw.NONE), 1: (11, kw.NONE)})
        # Nothing is taken outside a transaction holding the group's partition.
        self.assertEqual(self.txn_commit(c, {self.topic: {0: 60}}),
                         {(self.topic, 0): kw.INVALID_TXN_STATE})
        self.assertEqual(self.fetch(c, True)[0], (10, kw.NONE))

    def test_request_checks(self):
        c = self.conn()
        self.assertEqual(self.txn_commit(c, {self.topic: {0: 1}}, group=""),
                         {(self.topic, 0): kw.INVALID_GROUP_ID})
        # v0 (no member fields) and v3 with the defaults commit without group management.
        self.assertEqual(self.txn_commit(c, {self.topic: {0: 1}}, version=0),
                         {(self.topic, 0): kw.NONE})
        # A generation for a group that does not exist.
        other = unique_name("none")
        self.add_offsets(other)
        self.assertEqual(self.txn_commit(c, {self.topic: {0: 1}}, group=other,
                                         generation_id=4, member_id="m"),
                         {(self.topic, 0): kw.ILLEGAL_GENERATION})
        # A group whose partition the transaction does not hold (unless it shares one).
        stranger = next(g for g in (unique_name("stranger") for _ in range(200))
                        if txn_wire.partition_for(g) not in
                        (txn_wire.partition_for(self.group), txn_wire.partition_for(other)))
        self.assertEqual(self.txn_commit(c, {self.topic: {0: 1}}, group=stranger),
                         {(self.topic, 0): kw.INVALID_TXN_STATE})
        # Another producer id, or a stale epoch.
        self.pid += 1
        self.assertEqual(self.txn_commit(c, {self.topic: {0: 1}}),
                         {(self.topic, 0): kw.INVALID_PRODUCER_ID_MAPPING})
        self.pid -= 1
        self.epoch -= 1
        self.assertEqual(self.txn_commit(c, {self.topic: {0: 1}}),
                         {(self.topic, 0): kw.PRODUCER_FENCED})
        self.assertEqual(self.txn_commit(c, {self.topic: {0: 1}}, version=2),
                         {(self.topic, 0): kw.INVALID_PRODUCER_EPOCH})


if __name__ == "__main__":
    unittest.main()

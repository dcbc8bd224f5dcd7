"""Transactions across the brokers of a ZooKeeper cluster, as Kafka runs them: a transactional
id is coordinated by the leader of its __transaction_state partition (a replicated topic of the
cluster), which writes the commit or abort markers of its own partitions and has the leaders of
the others write theirs (WriteTxnMarkers); leaders of a transaction's partitions check with the
coordinator, wherever it is, that a batch belongs to the transaction (AddPartitionsToTxn
VerifyOnly); when the coordinator's broker dies, the partition's next leader loads the state and
finishes or fences what was under way.

Needs Debian's zookeeper (scripts/install-deps.sh --test) and kazoo (the venv's requirements).
"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from broker_process import wait_until  # noqa: E402
from cluster_case import SESSION_MS, TopicTestCase  # noqa: E402

import kafka_wire as kw  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TRANSACTION_KEY = 1  # FindCoordinator's key type for transactional ids


class ClusterTransactionTest(TopicTestCase):

    def three_brokers(self, extra=None):
        return super().three_brokers({
            "replica.lag.time.max.ms": 3000,
            # the coordinators look for __transaction_state partitions they came to lead (and
            # finish what those hold) at this pace
            "transaction.abort.timed.out.transaction.cleanup.interval.ms": 500})

    def create_topic(self, broker, name, partitions):
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_topics([NewTopic(name, partitions, 3)], request_timeout=15)[name].result()
        leaders = {p: l for p, (l, _, _) in self.leaders_seen_by(broker, name).items()}
        return leaders

    def bootstrap(self, brokers):
        return ",".join(b.bootstrap for b in brokers.values())

    def producer(self, bootstrap, transactional_id):
        p = Producer({"bootstrap.servers": bootstrap, "transactional.id": transactional_id,
                      "transaction.timeout.ms": 60000, "linger.ms": 5})
        p.init_transactions(60)
        return p

    def read_committed(self, bootstrap, topic, partitions, timeout=60):
        """Every record a read_committed consumer sees in `topic`, read until its position is the
        end of every partition (so every transaction there is settled by a marker)."""
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader",
                      "isolation.level": "read_committed", "enable.auto.commit": False,
                      "enable.partition.eof": True})
        c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        values = []
        at_end = set()
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                m = c.poll(0.5)
                if m is None:
                    continue
                if m.error():
                    if m.error().code() == -191:  # _PARTITION_EOF
                        # The end a read_committed consumer reaches is the last stable offset:
                        # it is the high watermark only once every transaction is settled.
                        _, high = c.get_watermark_offsets(
                            TopicPartition(topic, m.partition()), timeout=10)
                        if m.offset() >= high:
                            at_end.add(m.partition())
                        if len(at_end) == partitions:
                            return values
                    continue
                at_end.discard(m.partition())
                values.append(m.value().decode())
        finally:
            c.close()
        self.fail("read_committed did not reach the end of %s: at the end of %s, read %d" % (
            topic, sorted(at_end), len(values)))

    def coordinator_of(self, broker, transactional_id):
        with kw.Connection("127.0.0.1", broker.port) as c:
            found = c.find_coordinator(transactional_id, version=1, key_type=TRANSACTION_KEY)
        self.assertEqual(found["error_code"], 0, found)
        return found["node_id"]

    def test_transactions_span_partitions_led_by_every_broker(self):
        brokers = self.three_brokers()
        leaders = self.create_topic(brokers[1], "spread", 6)
        self.assertEqual(set(leaders.values()), {1, 2, 3})
        bs = self.bootstrap(brokers)
        p = self.producer(bs, "spread-writer")
        # The coordinator is the leader of the id's partition of a replicated __transaction_state.
        state = self.read_json("/brokers/topics/__transaction_state")[0]
        self.assertTrue(all(len(r) == 3 for r in state["partitions"].values()), state)
        self.assertIn(self.coordinator_of(brokers[2], "spread-writer"), (1, 2, 3))
        expected = []
        for phase, commit in (("first", True), ("aborted", False), ("second", True)):
            p.begin_transaction()
            for part in range(6):
                for i in range(5):
                    value = "%s-%d-%d" % (phase, part, i)
                    p.produce("spread", value=value.encode(), partition=part)
                    if commit:
                        expected.append(value)
            if commit:
                p.commit_transaction(60)
            else:
                self.assertEqual(p.flush(30), 0)  # written, so that there is something to abort
                p.abort_transaction(60)
        seen = self.read_committed(bs, "spread", 6)
        self.assertEqual(sorted(seen), sorted(expected))
        # Each leader's log: 3 transactions of 5 records and a marker each.
        for part in range(6):
            with kw.Connection("127.0.0.1", brokers[leaders[part]].port) as c:
                self.assertEqual(c.latest_offset("spread", part), 18, "spread-%d" % part)

    def test_consume_transform_produce_with_the_group_elsewhere(self):
        brokers = self.three_brokers()
        self.create_topic(brokers[1], "ctp-in", 3)
        self.create_topic(brokers[1], "ctp-out", 3)
        bs = self.bootstrap(brokers)
        source = Producer({"bootstrap.servers": bs, "acks": "all"})
        for i in range(90):
            source.produce("ctp-in", value=b"in-%d" % i, partition=i % 3)
        self.assertEqual(source.flush(30), 0)

        consumer = Consumer({"bootstrap.servers": bs, "group.id": "ctp-group",
                             "isolation.level": "read_committed", "enable.auto.commit": False,
                             "auto.offset.reset": "earliest"})
        consumer.subscribe(["ctp-in"])
        p = self.producer(bs, "ctp-writer")
        copied = 0
        deadline = time.monotonic() + 60
        while copied < 90 and time.monotonic() < deadline:
            msgs = consumer.consume(30, 1)
            msgs = [m for m in msgs if m.error() is None]
            if not msgs:
                continue
            p.begin_transaction()
            for m in msgs:
                p.produce("ctp-out", value=b"out-" + m.value(), partition=m.partition())
            p.send_offsets_to_transaction(consumer.position(consumer.assignment()),
                                          consumer.consumer_group_metadata(), 30)
            p.commit_transaction(60)
            copied += len(msgs)
        consumer.close()
        self.assertEqual(copied, 90)
        out = self.read_committed(bs, "ctp-out", 3)
        self.assertEqual(sorted(out), sorted("out-in-%d" % i for i in range(90)))
        # The group's offsets went in with the transactions, through its coordinator.
        check = Consumer({"bootstrap.servers": bs, "group.id": "ctp-group",
                          "enable.auto.commit": False})
        committed = check.committed([TopicPartition("ctp-in", p) for p in range(3)], timeout=30)
        check.close()
        self.assertEqual([tp.offset for tp in committed], [30, 30, 30])

    def test_the_next_coordinator_fences_a_dead_ones_transaction(self):
        brokers = self.three_brokers()
        self.create_topic(brokers[1], "orphans", 3)
        bs = self.bootstrap(brokers)
        first = self.producer(bs, "orphan-writer")
        first.begin_transaction()
        for part in range(3):
            for i in range(4):
                first.produce("orphans", value=b"orphan-%d-%d" % (part, i), partition=part)
        self.assertEqual(first.flush(30), 0)  # in the logs, the transaction still open
        coordinator = self.coordinator_of(brokers[1], "orphan-writer")
        brokers[coordinator].kill()
        others = {i: b for i, b in brokers.items() if i != coordinator}
        wait_until(lambda: all(self.broker_ids(b) == sorted(others) for b in others.values()),
                   SESSION_MS / 1000 * 5, message="the coordinator's broker gone")
        # The same transactional id from a new producer, through the brokers still up: the new
        # coordinator aborts the open transaction (markers on every partition, wherever its
        # leader is now) before it hands out the next epoch.
        second = self.producer(self.bootstrap(others), "orphan-writer")
        new_coordinator = self.coordinator_of(others[min(others)], "orphan-writer")
        self.assertNotEqual(new_coordinator, coordinator)
        second.begin_transaction()
        for part in range(3):
            second.produce("orphans", value=b"kept-%d" % part, partition=part)
        second.commit_transaction(60)
        seen = self.read_committed(self.bootstrap(others), "orphans", 3)
        self.assertEqual(sorted(seen), ["kept-0", "kept-1", "kept-2"])
        del first
        # The dead broker comes back and follows: its copy of every partition ends where its
        # leader's does.
        brokers[coordinator].start()
        for part in range(3):
            wait_until(lambda: sorted(self.state("orphans", part)["isr"]) == [1, 2, 3], 30,
                       message="orphans-%d back in sync" % part)


if __name__ == "__main__":
    unittest.main()

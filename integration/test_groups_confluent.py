#!/usr/bin/python3
"""Consumer groups with confluent-kafka-python 1.7.0 / librdkafka 2.0.2 against a real broker.

Run: /usr/bin/python3 integration/test_groups_confluent.py [-v] [TestClass.test_name]

librdkafka runs the group protocol in its own threads; the application's poll() only serves
the rebalance callbacks (on_assign / on_revoke / on_lost) and delivers messages. The tests poll
every consumer of a group in turn, so one thread drives them all. The callbacks only record what
they were given: confluent-kafka then performs the (incremental) assign/unassign itself.
"""

import os
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from broker_process import BrokerTestCase, unique_name  # noqa: E402
from ck_helpers import TIMEOUT, admin_client, make_producer, result  # noqa: E402

from confluent_kafka import Consumer, KafkaError, TopicPartition  # noqa: E402
from confluent_kafka.admin import NewTopic  # noqa: E402

GROUP_BROKER_PROPERTIES = {
    "offsets.topic.replication.factor": 1,  # one broker (as in Kafka's single-node config)
    "group.initial.rebalance.delay.ms": 0,
    "group.min.session.timeout.ms": 1000,
    "num.partitions": 1,
}
PARTITIONS = 4


class Member:
    """A subscribed Consumer and the rebalance callbacks it received."""

    def __init__(self, bootstrap, group, topic, name, strategy, **extra):
        conf = {"bootstrap.servers": bootstrap, "group.id": group, "client.id": name,
                "partition.assignment.strategy": strategy, "enable.auto.commit": False,
                "auto.offset.reset": "earliest", "session.timeout.ms": 6000,
                "heartbeat.interval.ms": 500, "socket.timeout.ms": 10000,
                "topic.metadata.refresh.interval.ms": 2000}
        conf.update(extra)
        self.name = name
        self.consumer = Consumer(conf)
        self.events = []  # ("assign" | "revoke" | "lost", [partitions])
        self.messages = []
        self.errors = []
        self.consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke,
                                on_lost=self._on_lost)

    @staticmethod
    def _parts(partitions):
        return sorted(p.partition for p in partitions)

    def _on_assign(self, consumer, partitions):
        self.events.append(("assign", self._parts(partitions)))

    def _on_revoke(self, consumer, partitions):
        self.events.append(("revoke", self._parts(partitions)))

    def _on_lost(self, consumer, partitions):
        self.events.append(("lost", self._parts(partitions)))

    def poll(self, timeout=0.1):
        m = self.consumer.poll(timeout)
        if m is None:
            return
        if m.error():
            if m.error().code() != KafkaError._PARTITION_EOF:
                self.errors.append(m.error())
            return
        self.messages.append(m)

    def assignment(self):
        return sorted(p.partition for p in self.consumer.assignment())

    def close(self):
        if self.consumer is not None:
            c, self.consumer = self.consumer, None
            c.close()


def poll_until(members, predicate, timeout, message):
    """Polls every member in turn until predicate() holds."""
    deadline = time.monotonic() + timeout
    while True:
        for m in members:
            m.poll(0.05)
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s; callbacks: %s; "
                                 "assignments: %s; errors: %s" % (
                                     timeout, message,
                                     {m.name: m.events for m in members},
                                     {m.name: m.assignment() for m in members},
                                     {m.name: [str(e) for e in m.errors] for m in members}))


class GroupTestCase(BrokerTestCase):
    broker_properties = GROUP_BROKER_PROPERTIES

    def create_topic(self, topic, partitions=PARTITIONS):
        a = admin_client(self.broker.bootstrap)
        fs = a.create_topics([NewTopic(topic, partitions, 1)], operation_timeout=10,
                             request_timeout=TIMEOUT)
        result(fs[topic])

    def produce(self, topic, per_partition, tag, partitions=PARTITIONS):
        """Returns {(partition, offset): value}."""
        p = make_producer(self.broker.bootstrap, acks="all")
        reports = []
        for i in range(per_partition):
            for part in range(partitions):
                p.produce(topic, value=b"%s-%d-%d" % (tag, part, i), partition=part,
                          on_delivery=lambda err, msg: reports.append((err, msg)))
        self.assertEqual(p.flush(TIMEOUT), 0)
        self.assertEqual([e for e, _ in reports if e is not None], [])
        return {(m.partition(), m.offset()): m.value() for _, m in reports}

    def member(self, group, topic, strategy, name=None, **extra):
        m = Member(self.broker.bootstrap, group, topic, name or unique_name("ck-member"),
                   strategy, **extra)
        self.addCleanup(m.close)
        return m


class EagerAssignorsTest(GroupTestCase):
    def check_two_members(self, strategy, expected_split):
        topic = unique_name("ck-grp-" + strategy)
        group = unique_name("ck-grp-" + strategy)
        self.create_topic(topic)
        produced = self.produce(topic, 10, b"first")

        c1 = self.member(group, topic, strategy)
        poll_until([c1], lambda: c1.assignment() == list(range(PARTITIONS)), 30,
                   "the only member to get every partition")
        self.assertEqual(c1.events, [("assign", list(range(PARTITIONS)))])

        c2 = self.member(group, topic, strategy)
        both = [c1, c2]
        poll_until(both, lambda: sorted(c1.assignment() + c2.assignment()) ==
                   list(range(PARTITIONS)) and c1.assignment() and c2.assignment(), 30,
                   "the two members to split the partitions")
        split = sorted([c1.assignment(), c2.assignment()])
        self.assertEqual(split, expected_split, "%s assignment" % strategy)
        # eager protocol: the first member gave everything back, then got its share
        self.assertEqual(c1.events[0], ("assign", list(range(PARTITIONS))))
        self.assertIn(("revoke", list(range(PARTITIONS))), c1.events)
        for c in both:
            self.check_eager_events(c)

        # everything is consumed by the pair: each member reaches the end of its partitions
        def at_end():
            return all(tp.offset == 10 for c in both for tp in c.consumer.position(
                [TopicPartition(topic, p) for p in c.assignment()]))
        poll_until(both, at_end, 30, "the pair to consume every record")
        seen = {(m.partition(), m.offset()): m.value() for c in both for m in c.messages}
        self.assertEqual(seen, produced)
        for c in both:
            self.assertEqual(c.errors, [])

        # synchronous commits of what each member consumed, then committed() reads them back
        for c in both:
            committed = c.consumer.commit(asynchronous=False)
            got = {tp.partition: tp.offset for tp in committed}
            self.assertEqual(got, {p: 10 for p in c.assignment()})
        for c in both:
            res = c.consumer.committed([TopicPartition(topic, p) for p in range(PARTITIONS)],
                                       timeout=TIMEOUT)
            self.assertEqual({tp.partition: tp.offset for tp in res},
                             {p: 10 for p in range(PARTITIONS)})
        # a partial commit with explicit offsets
        c1.consumer.commit(offsets=[TopicPartition(topic, c1.assignment()[0], 3)],
                           asynchronous=False)
        res = c2.consumer.committed([TopicPartition(topic, c1.assignment()[0])], timeout=TIMEOUT)
        self.assertEqual(res[0].offset, 3)

        # the group as AdminClient.list_groups() (ListGroups + DescribeGroups) shows it
        admin = admin_client(self.broker.bootstrap)
        groups = {g.id: g for g in admin.list_groups(timeout=TIMEOUT)}
        self.assertIn(group, groups)
        g = groups[group]
        self.assertIsNone(g.error)
        self.assertEqual((g.state, g.protocol_type, g.protocol), ("Stable", "consumer", strategy))
        self.assertEqual(sorted(m.client_id for m in g.members), sorted([c1.name, c2.name]))
        (only,) = admin.list_groups(group=group, timeout=TIMEOUT)
        self.assertEqual(only.id, group)

        # c2 leaves: c1 gets everything back
        c2.close()
        poll_until([c1], lambda: c1.assignment() == list(range(PARTITIONS)), 20,
                   "the remaining member to get every partition after the other closed")
        res = c1.consumer.committed([TopicPartition(topic, p) for p in range(PARTITIONS)],
                                    timeout=TIMEOUT)
        self.assertEqual(sorted(tp.offset for tp in res), [3, 10, 10, 10])

    def check_eager_events(self, c):
        """Eager rebalancing: on_assign gets a whole assignment when there is none, on_revoke
        takes all of it back; the calls add up to the current assignment."""
        current = []
        for kind, parts in c.events:
            if kind == "assign":
                self.assertEqual(current, [], "%s: assign on top of %s: %s" % (
                    c.name, current, c.events))
                current = parts
            else:
                self.assertEqual(parts, current, "%s: %s of part of the assignment: %s" % (
                    c.name, kind, c.events))
                current = []
        self.assertEqual(current, c.assignment(), c.events)

    def test_range(self):
        self.check_two_members("range", [[0, 1], [2, 3]])

    def test_roundrobin(self):
        self.check_two_members("roundrobin", [[0, 2], [1, 3]])


class CooperativeStickyTest(GroupTestCase):
    def test_second_member_takes_only_what_moves(self):
        strategy = "cooperative-sticky"
        topic = unique_name("ck-grp-coop")
        group = unique_name("ck-grp-coop")
        self.create_topic(topic)
        self.produce(topic, 5, b"coop")

        c1 = self.member(group, topic, strategy)
        poll_until([c1], lambda: c1.assignment() == list(range(PARTITIONS)), 30,
                   "the only member to get every partition")
        poll_until([c1], lambda: len(c1.messages) >= 5 * PARTITIONS, 30,
                   "the first member to consume")

        c2 = self.member(group, topic, strategy)
        both = [c1, c2]
        poll_until(both, lambda: len(c1.assignment()) == 2 and len(c2.assignment()) == 2 and
                   sorted(c1.assignment() + c2.assignment()) == list(range(PARTITIONS)), 40,
                   "an incremental rebalance to give the new member half")
        kept, moved = c1.assignment(), c2.assignment()
        revoked = [p for kind, ps in c1.events for p in ps if kind == "revoke"]
        added_later = [p for kind, ps in c1.events[1:] for p in ps if kind == "assign"]
        self.assertEqual(c1.events[0], ("assign", list(range(PARTITIONS))))
        self.assertEqual(sorted(revoked), moved,
                         "only the partitions that move are revoked: %s" % c1.events)
        self.assertEqual(added_later, [], "on_assign after the first gets only additions: %s"
                         % c1.events)
        self.assertNotIn("lost", [k for k, _ in c1.events + c2.events])
        self.assertEqual(sorted(p for kind, ps in c2.events if kind == "assign" for p in ps),
                         moved, "the new member's on_assign calls add up to its assignment")
        self.assertNotIn("revoke", [k for k, _ in c2.events])

        # the kept partitions stay consumable throughout: new records on them arrive at c1
        before = len(c1.messages)
        p = make_producer(self.broker.bootstrap, acks="all")
        for part in kept:
            p.produce(topic, value=b"after-rebalance", partition=part)
        self.assertEqual(p.flush(TIMEOUT), 0)
        poll_until(both, lambda: len(c1.messages) >= before + len(kept), 20,
                   "records on the kept partitions to reach the member that kept them")
        self.assertEqual(sorted(m.partition() for m in c1.messages[before:]), kept)

        # c2 leaves: its partitions come back to c1 as additions, nothing of c1's is revoked
        events_before = len(c1.events)
        c2.close()
        poll_until([c1], lambda: c1.assignment() == list(range(PARTITIONS)), 20,
                   "the remaining member to get the leaver's partitions")
        later = c1.events[events_before:]
        self.assertEqual([p for k, ps in later if k == "revoke" for p in ps], [], later)
        self.assertEqual(sorted(p for k, ps in later if k == "assign" for p in ps), moved, later)
        for c in both:
            self.assertEqual(c.errors, [])


if __name__ == "__main__":
    unittest.main(verbosity=2)

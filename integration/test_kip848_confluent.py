#!/usr/bin/python3
"""KIP-848 consumer groups with a real client: confluent-kafka 2.x (librdkafka 2.x) with
group.protocol=consumer, the ConsumerGroupHeartbeat protocol where the broker assigns.

Run: ~/.cache/runnel-python/venv/bin/python integration/test_kip848_confluent.py [-v]
(the venv of scripts/install-python-clients.sh). Debian's confluent-kafka 1.7 / librdkafka 2.0.2
predate the protocol: under it the whole file is skipped.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kafka_wire as kw  # noqa: E402
from broker_process import BrokerTestCase, unique_name, wait_until  # noqa: E402
from ck_helpers import TIMEOUT, admin_client, make_producer, result  # noqa: E402

import confluent_kafka  # noqa: E402
from confluent_kafka import Consumer, KafkaException, TopicPartition  # noqa: E402
from confluent_kafka.admin import NewTopic  # noqa: E402

# group.protocol=consumer is usable from librdkafka 2.10 (KIP-848 GA).
HAS_KIP848 = confluent_kafka.libversion()[1] >= 0x020a0000


class Member:
    """A consumer of the group: records what it consumed, commits each record synchronously."""

    def __init__(self, bootstrap, group, subscription, name, **extra):
        conf = {"bootstrap.servers": bootstrap, "group.id": group, "client.id": name,
                "group.protocol": "consumer", "enable.auto.commit": False,
                "auto.offset.reset": "earliest", "socket.timeout.ms": 10000,
                "topic.metadata.refresh.interval.ms": 1000}
        conf.update(extra)
        self.name = name
        self.consumer = Consumer(conf)
        self.records = []  # (topic, partition, offset, value)
        self.errors = []
        self.closed = False
        self.consumer.subscribe(subscription)

    def poll(self, timeout=0.2):
        m = self.consumer.poll(timeout)
        if m is None:
            return
        if m.error():
            self.errors.append(m.error())
            return
        self.records.append((m.topic(), m.partition(), m.offset(), m.value()))
        try:
            self.consumer.commit(message=m, asynchronous=False)
        except KafkaException as e:
            # Kept for the test to show; a failed commit is what would make a record repeat.
            self.errors.append(e.args[0])

    def assigned(self):
        return sorted((tp.topic, tp.partition) for tp in self.consumer.assignment())

    def close(self):
        if not self.closed:
            self.closed = True
            self.consumer.close()


def poll_all(members, until, timeout=60.0, what="the group"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for m in members:
            m.poll(0.05)
        if until():
            return
    raise AssertionError("timed out after %.0f s waiting for %s; assignments: %s" % (
        timeout, what, {m.name: m.assigned() for m in members}))


@unittest.skipUnless(HAS_KIP848, "librdkafka %s predates group.protocol=consumer" %
                     confluent_kafka.libversion()[0])
class Kip848ConfluentTest(BrokerTestCase):
    def member(self, *args, **kw):
        """A Member closed when the test ends, whatever happens: a Consumer left to the garbage
        collector closes inside the collector, where librdkafka can wait for ever."""
        m = Member(self.broker.bootstrap, *args, **kw)
        self.addCleanup(m.close)
        return m

    broker_properties = {
        "offsets.topic.replication.factor": 1,
        "group.initial.rebalance.delay.ms": 0,
        "group.consumer.heartbeat.interval.ms": 500,
        "group.consumer.session.timeout.ms": 6000,
        "num.partitions": 1,
    }

    def create(self, topic, partitions):
        a = admin_client(self.broker.bootstrap)
        result(a.create_topics([NewTopic(topic, partitions, 1)])[topic])

    def produce(self, topic, partitions, count, prefix=b"r"):
        p = make_producer(self.broker.bootstrap)
        for i in range(count):
            p.produce(topic, value=prefix + b"%d" % i, partition=i % partitions)
        self.assertEqual(p.flush(TIMEOUT), 0)

    def test_members_join_leave_and_are_replaced_with_every_record_once(self):
        topic, group = unique_name("k848-split"), unique_name("k848-g")
        self.create(topic, 6)
        self.produce(topic, 6, 300)
        bs = self.broker.bootstrap
        m1 = self.member(group, [topic], "m1")
        m2 = self.member(group, [topic], "m2")
        members = [m1, m2]
        poll_all(members, lambda: len(m1.assigned()) == 3 and len(m2.assigned()) == 3,
                 what="two members with 3 partitions each")
        # A third member joins: the broker moves partitions to it.
        m3 = self.member(group, [topic], "m3")
        members.append(m3)
        poll_all(members, lambda: all(len(m.assigned()) == 2 for m in members),
                 what="three members with 2 partitions each")
        # One leaves (LeaveGroup epoch -1): the others take its partitions.
        m2.close()
        members.remove(m2)
        poll_all(members, lambda: sum(len(m.assigned()) for m in members) == 6,
                 what="the leaver's partitions taken over")
        self.produce(topic, 6, 300, prefix=b"s")
        everything = lambda: sum(len(m.records) for m in (m1, m2, m3)) >= 600  # noqa: E731
        poll_all(members, everything, what="600 records consumed")
        for m in (m1, m2, m3):
            self.assertEqual(m.errors, [], m.name)
        got = [r for m in (m1, m2, m3) for r in m.records]
        self.assertEqual(len(got), 600, "a record consumed twice")
        self.assertEqual(len({(t, p, o) for t, p, o, _ in got}), 600)
        # The group's committed offsets are the log ends.
        c = Consumer({"bootstrap.servers": bs, "group.id": group})
        committed = c.committed([TopicPartition(topic, p) for p in range(6)], timeout=TIMEOUT)
        c.close()
        self.assertEqual(sum(tp.offset for tp in committed), 600)

    def test_killed_member_is_replaced_after_its_session_times_out(self):
        topic, group = unique_name("k848-kill"), unique_name("k848-g")
        self.create(topic, 4)
        self.produce(topic, 4, 200)
        bs = self.broker.bootstrap
        # The victim runs in its own process, so it can die without leaving the group.
        script = textwrap.dedent("""
            import sys, time
            from confluent_kafka import Consumer
            c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2],
                          "group.protocol": "consumer", "enable.auto.commit": False,
                          "auto.offset.reset": "earliest"})
            c.subscribe([sys.argv[3]])
            while True:
                m = c.poll(0.2)
                if m is not None and not m.error():
                    c.commit(message=m, asynchronous=False)
                if len(c.assignment()) > 0:
                    print("assigned", flush=True)
        """)
        victim = subprocess.Popen([sys.executable, "-c", script, bs, group, topic],
                                  stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: victim.poll() is None and victim.kill())
        self.assertEqual(victim.stdout.readline().strip(), "assigned")
        survivor = self.member(group, [topic], "survivor")
        poll_all([survivor], lambda: len(survivor.assigned()) == 2,
                 what="the survivor with half the partitions")
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        # Its session (6 s) expires; the survivor gets everything and reads what is left.
        poll_all([survivor], lambda: len(survivor.assigned()) == 4, timeout=40,
                 what="the dead member's partitions given to the survivor")
        self.produce(topic, 4, 100, prefix=b"after")
        poll_all([survivor], lambda: sum(1 for r in survivor.records
                                         if r[3].startswith(b"after")) == 100,
                 what="records produced after the kill")
        # Nothing lost: the survivor's records and the victim's commits cover all 300.
        c = Consumer({"bootstrap.servers": bs, "group.id": group})
        committed = c.committed([TopicPartition(topic, p) for p in range(4)], timeout=TIMEOUT)
        c.close()
        self.assertEqual(sum(tp.offset for tp in committed), 300)
        survivor.close()

    def describe(self, group):
        """ConsumerGroupDescribe over a raw connection (kafka_wire.py): epochs included."""
        c = kw.Connection.to(self.broker.bootstrap, timeout=15, client_id="k848-describe")
        try:
            return c.consumer_group_describe([group])[group]
        finally:
            c.close()

    def test_group_state_survives_a_broker_restart(self):
        """The group is kept in __consumer_offsets as Kafka keeps it: after the broker is killed
        and restarted the members carry on at their epochs with the same partitions (no
        rebalance, the group epoch where it was), and every record is consumed once."""
        topic, group = unique_name("k848-restart"), unique_name("k848-g")
        self.create(topic, 4)
        self.produce(topic, 4, 200)
        a = self.member(group, [topic], "a")
        b = self.member(group, [topic], "b")
        c = self.member(group, [topic], "c")
        poll_all([a, b, c], lambda: sum(len(m.assigned()) for m in (a, b, c)) == 4,
                 what="three members sharing 4 partitions")
        # c leaves: 3 joins and a leave take the group epoch to 4, higher than a group rebuilt
        # from scratch by two members could reach.
        c.close()
        poll_all([a, b], lambda: len(a.assigned()) == 2 and len(b.assigned()) == 2 and
                 sum(len(m.records) for m in (a, b, c)) == 200,
                 what="a and b with 2 partitions each and every record consumed")
        poll_all([a, b], lambda: self.describe(group)["state"] == "Stable",
                 what="a stable group")
        before = self.describe(group)
        self.assertGreaterEqual(before["group_epoch"], 4)
        assigned = {"a": a.assigned(), "b": b.assigned()}

        self.broker.restart(hard=True)
        self.produce(topic, 4, 200, prefix=b"after")
        poll_all([a, b], lambda: sum(len(m.records) for m in (a, b, c)) == 400, timeout=60,
                 what="the records produced after the restart")
        self.assertEqual({"a": a.assigned(), "b": b.assigned()}, assigned)
        after = self.describe(group)
        self.assertEqual(after["error_code"], 0)
        self.assertEqual(after["group_epoch"], before["group_epoch"])
        self.assertEqual(after["assignment_epoch"], before["assignment_epoch"])
        self.assertEqual({i: (m["member_epoch"], m["assignment"])
                          for i, m in after["members"].items()},
                         {i: (m["member_epoch"], m["assignment"])
                          for i, m in before["members"].items()})
        got = [(t, p, o) for m in (a, b, c) for t, p, o, _ in m.records]
        self.assertEqual(len(got), 400)
        self.assertEqual(len(set(got)), 400, "a record consumed twice")

    def test_regex_subscription_follows_new_topics(self):
        prefix = unique_name("k848re")
        group = unique_name("k848-g")
        first, later, other = prefix + "-a", prefix + "-b", unique_name("k848other")
        self.create(first, 2)
        self.create(other, 1)
        self.produce(first, 2, 10)
        self.produce(other, 1, 10)
        m = self.member(group, ["^" + prefix + "-.*"], "re")
        poll_all([m], lambda: len(m.records) == 10, what="the matching topic's records")
        self.assertEqual(m.assigned(), [(first, 0), (first, 1)])
        # A topic created later that matches joins the subscription; others never do.
        self.create(later, 3)
        self.produce(later, 3, 30)
        poll_all([m], lambda: len(m.records) == 40, timeout=40,
                 what="records of the topic created after subscribing")
        self.assertEqual({r[0] for r in m.records}, {first, later})
        self.assertEqual(m.errors, [])
        m.close()

    def test_static_member_keeps_its_partitions_across_a_restart(self):
        topic, group = unique_name("k848-static"), unique_name("k848-g")
        self.create(topic, 4)
        a = self.member(group, [topic], "a", **{"group.instance.id": "instance-a"})
        b = self.member(group, [topic], "b", **{"group.instance.id": "instance-b"})
        poll_all([a, b], lambda: len(a.assigned()) == 2 and len(b.assigned()) == 2,
                 what="two static members with 2 partitions each")
        before = a.assigned()
        # A static member's close leaves with epoch -2: its partitions wait for it (for up to
        # its session timeout, 6 s here) instead of moving to b.
        a.close()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            b.poll(0.1)
            self.assertEqual(len(b.assigned()), 2, "a's partitions moved while it restarted")
        a = self.member(group, [topic], "a2", **{"group.instance.id": "instance-a"})
        poll_all([a, b], lambda: len(a.assigned()) == 2, what="instance-a back")
        self.assertEqual(a.assigned(), before)
        self.assertEqual(len(b.assigned()), 2)

if __name__ == "__main__":
    unittest.main(verbosity=2)

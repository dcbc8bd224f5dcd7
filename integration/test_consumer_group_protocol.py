#!/usr/bin/python3
"""KIP-848 consumer groups over raw sockets (kafka_wire.py): ConsumerGroupHeartbeat v0/v1 and
ConsumerGroupDescribe v0 driving simulated members through join, the assignment split, revocation
and reassignment, fencing and leave. No client on this machine speaks the new protocol, so this
is the client.

Run: /usr/bin/python3 integration/test_consumer_group_protocol.py [-v] [TestClass.test_name]
"""

import os
import sys
import time
import unittest
import uuid

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kafka_wire as kw  # noqa: E402
from broker_process import BrokerTestCase, unique_name  # noqa: E402

TOPIC_PARTITIONS = 4
HEARTBEAT_MS = 500
SESSION_MS = 3000

PROPERTIES = {
    "offsets.topic.replication.factor": 1,
    "group.consumer.heartbeat.interval.ms": HEARTBEAT_MS,
    "group.consumer.session.timeout.ms": SESSION_MS,
    "num.partitions": 1,
}


class Member:
    """One KIP-848 member on its own connection; `owned` is what it has taken (by topic id)."""

    def __init__(self, test, group, version=1, topics=None, assignor=None):
        self.test = test
        self.group = group
        self.version = version
        self.topics = topics or [test.topic]
        self.assignor = assignor
        self.conn = test.connect()
        self.member_id = str(uuid.uuid4()) if version >= 1 else ""
        self.epoch = 0
        self.owned = {}

    def beat(self, send_owned=True, **kw_):
        args = dict(member_id=self.member_id, member_epoch=self.epoch)
        if self.epoch == 0:
            args.update(rebalance_timeout_ms=5000, subscribed_topic_names=self.topics,
                        topic_partitions={}, server_assignor=self.assignor)
        elif send_owned:
            args["topic_partitions"] = dict(self.owned)
        args.update(kw_)
        res = self.test.retry_coordinator(
            lambda: self.conn.consumer_group_heartbeat(self.version, self.group, **args))
        if res["error_code"] == 0:
            self.member_id = res["member_id"]
            self.epoch = res["member_epoch"]
            if res["assignment"] is not None:
                self.owned = {t: sorted(ps) for t, ps in res["assignment"].items() if ps}
        return res

    def partitions(self):
        return sorted(p for ps in self.owned.values() for p in ps)

    def leave(self):
        return self.conn.consumer_group_heartbeat(self.version, self.group,
                                                  member_id=self.member_id, member_epoch=-1)


class ConsumerGroupProtocolTest(BrokerTestCase):
    broker_properties = PROPERTIES

    @classmethod
    def prepare_class(cls):
        cls.topic = unique_name("cg848")
        with kw.Connection.to(cls.broker.bootstrap) as c:
            c.create_topic_or_fail(cls.topic, TOPIC_PARTITIONS)
            md = c.metadata([cls.topic])
            cls.topic_id = md["topics"][0]["topic_id"]

    def connect(self, timeout=15.0):
        c = kw.Connection.to(self.broker.bootstrap, timeout=timeout, client_id="cg848-it")
        self.addCleanup(c.close)
        return c

    def retry_coordinator(self, call, timeout=20.0):
        deadline = time.monotonic() + timeout
        while True:
            res = call()
            if res.get("error_code") not in kw.COORDINATOR_RETRIABLE or \
                    time.monotonic() > deadline:
                return res
            time.sleep(0.2)

    def describe(self, group):
        return self.connect().consumer_group_describe([group])[group]

    def test_api_versions_lists_both_apis(self):
        err, apis, _ = self.connect().api_versions()
        self.assertEqual(err, 0)
        self.assertEqual(apis.get(kw.CONSUMER_GROUP_HEARTBEAT), (0, 1))
        self.assertEqual(apis.get(kw.CONSUMER_GROUP_DESCRIBE), (0, 0))

    def test_two_members_split_revoke_and_leave(self):
        group = unique_name("cg848-g")
        a = Member(self, group)
        res = a.beat()
        self.assertEqual(res["error_code"], 0, res)
        # Kafka 4.4's numbering: one bump for the new member, one for the group's new
        # subscription (checked against Kafka in test_versus_kafka.py).
        self.assertEqual(res["member_epoch"], 2)
        self.assertEqual(res["heartbeat_interval_ms"], HEARTBEAT_MS)
        self.assertEqual(a.owned, {self.topic_id: [0, 1, 2, 3]})

        b = Member(self, group)
        res = b.beat()
        self.assertEqual(res["error_code"], 0, res)
        self.assertEqual(res["member_epoch"], 3)
        self.assertEqual(b.partitions(), [], "a still owns everything")
        d = self.describe(group)
        self.assertEqual(d["state"], "Reconciling")
        self.assertEqual(d["group_epoch"], 3)
        self.assertEqual(d["assignor_name"], "uniform")
        self.assertEqual(len(d["members"][b.member_id]["target_assignment"][self.topic]), 2)

        # a is told to give up two partitions (still epoch 2), then acknowledges.
        res = a.beat(send_owned=False)
        self.assertEqual(res["member_epoch"], 2)
        self.assertEqual(len(a.partitions()), 2)
        res = a.beat()
        self.assertEqual(res["member_epoch"], 3)
        # b receives the released partitions.
        res = b.beat()
        self.assertEqual(res["error_code"], 0)
        self.assertEqual(len(b.partitions()), 2)
        self.assertEqual(sorted(a.partitions() + b.partitions()), [0, 1, 2, 3])
        d = self.describe(group)
        self.assertEqual(d["state"], "Stable")
        self.assertEqual(d["members"][a.member_id]["member_epoch"], 3)

        # Listed with type "consumer" (ListGroups v5).
        err, groups = self.connect().list_groups(5, types_filter=["consumer"])
        self.assertEqual(err, 0)
        self.assertIn(group, groups)

        # Offsets: the member epoch is checked (OffsetCommit v9).
        c = self.connect()
        res = c.offset_commit(9, group, {self.topic: {0: 5}}, generation_id=a.epoch,
                              member_id=a.member_id)
        self.assertEqual(res[(self.topic, 0)], 0)
        res = c.offset_commit(9, group, {self.topic: {0: 5}}, generation_id=a.epoch + 5,
                              member_id=a.member_id)
        self.assertEqual(res[(self.topic, 0)], kw.STALE_MEMBER_EPOCH)
        res = c.offset_commit(9, group, {self.topic: {0: 5}}, generation_id=1, member_id="nope")
        self.assertEqual(res[(self.topic, 0)], kw.UNKNOWN_MEMBER_ID)

        # A classic JoinGroup for it is refused.
        res = c.join_group(5, group, member_id="", protocols=[
            ("range", kw.encode_consumer_subscription([self.topic]))],
            session_timeout_ms=10000, rebalance_timeout_ms=10000, group_instance_id=None)
        self.assertEqual(res["error_code"], kw.INCONSISTENT_GROUP_PROTOCOL)

        # b leaves; a gets everything back at the next epoch.
        res = b.leave()
        self.assertEqual(res["error_code"], 0)
        self.assertEqual(res["member_epoch"], -1)
        res = a.beat()
        self.assertEqual(res["member_epoch"], 4)
        self.assertEqual(a.partitions(), [0, 1, 2, 3])

    def test_v0_broker_assigns_member_id_and_range(self):
        group = unique_name("cg848-v0")
        a = Member(self, group, version=0, assignor="range")
        res = a.beat()
        self.assertEqual(res["error_code"], 0, res)
        self.assertTrue(res["member_id"])
        b = Member(self, group, version=0, assignor="range")
        b.beat()
        a.beat(send_owned=False)
        a.beat()
        b.beat()
        d = self.describe(group)
        self.assertEqual(d["assignor_name"], "range")
        first, second = sorted([a, b], key=lambda m: m.member_id)
        self.assertEqual(first.partitions(), [0, 1])
        self.assertEqual(second.partitions(), [2, 3])

    def test_errors(self):
        group = unique_name("cg848-err")
        c = self.connect()
        res = self.retry_coordinator(lambda: c.consumer_group_heartbeat(
            1, group, member_id="x", member_epoch=0, rebalance_timeout_ms=1000,
            subscribed_topic_names=[self.topic], topic_partitions={}, server_assignor="nope"))
        self.assertEqual(res["error_code"], kw.UNSUPPORTED_ASSIGNOR)
        res = c.consumer_group_heartbeat(1, group, member_id="x", member_epoch=0,
                                         subscribed_topic_names=[self.topic], topic_partitions={})
        self.assertEqual(res["error_code"], kw.INVALID_REQUEST, "no rebalance timeout")
        res = c.consumer_group_heartbeat(1, group, member_id="x", member_epoch=0,
                                         rebalance_timeout_ms=1000, topic_partitions={})
        self.assertEqual(res["error_code"], kw.INVALID_REQUEST, "neither names nor a regex")
        res = c.consumer_group_heartbeat(1, group, member_id="x", member_epoch=0,
                                         rebalance_timeout_ms=1000,
                                         subscribed_topic_regex="cg(", topic_partitions={})
        self.assertEqual(res["error_code"], kw.INVALID_REGULAR_EXPRESSION)
        self.assertIn("cg(", res["error_message"])
        res = c.consumer_group_heartbeat(1, group, member_id="x", member_epoch=4)
        self.assertEqual(res["error_code"], kw.GROUP_ID_NOT_FOUND)
        m = Member(self, group)
        self.assertEqual(m.beat()["error_code"], 0)
        res = c.consumer_group_heartbeat(1, group, member_id=m.member_id, member_epoch=9)
        self.assertEqual(res["error_code"], kw.FENCED_MEMBER_EPOCH)
        res = c.consumer_group_heartbeat(1, group, member_id="other", member_epoch=1)
        self.assertEqual(res["error_code"], kw.UNKNOWN_MEMBER_ID)
        self.assertEqual(self.describe(unique_name("none"))["error_code"], kw.GROUP_ID_NOT_FOUND)

    def test_session_expiry_reassigns(self):
        group = unique_name("cg848-exp")
        a = Member(self, group)
        b = Member(self, group)
        a.beat()
        b.beat()
        a.beat(send_owned=False)
        a.beat()
        b.beat()
        self.assertEqual(len(b.partitions()), 2)
        # b goes silent; a keeps heartbeating and ends up with everything.
        deadline = time.monotonic() + SESSION_MS / 1000.0 * 4
        while time.monotonic() < deadline and a.partitions() != [0, 1, 2, 3]:
            time.sleep(HEARTBEAT_MS / 1000.0)
            self.assertEqual(a.beat()["error_code"], 0)
        self.assertEqual(a.partitions(), [0, 1, 2, 3])
        self.assertEqual(b.beat()["error_code"], kw.UNKNOWN_MEMBER_ID)


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""Test bases for brokers coordinated by ZooKeeper: a ZooKeeper per test (Debian's server,
integration/zookeeper_process.py), brokers started by the test as cluster members, kazoo to
read and write znodes, and topics written to ZooKeeper as Kafka 2.8's tools write them."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from broker_process import BrokerTestCase, wait_until  # noqa: E402
from zookeeper_process import ZooKeeper  # noqa: E402

from confluent_kafka.admin import AdminClient  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402

CHROOT = "/runnel"
SESSION_MS = 2000  # the broker's zookeeper.session.timeout.ms (ZooKeeper allows 400-4000 here)


class ClusterTestCase(BrokerTestCase):
    """ZooKeeper per test, brokers started by the test (start_member)."""

    per_test_broker = True

    def setUp(self):
        unittest.TestCase.setUp(self)
        self.zk = ZooKeeper()
        self.addCleanup(self.zk.close)
        self.kazoo = KazooClient(hosts=self.zk.connect + CHROOT, timeout=10)
        self.addCleanup(self._close_kazoo)
        self.kazoo_started = False

    def _close_kazoo(self):
        if self.kazoo_started:
            self.kazoo.stop()
            self.kazoo.close()

    def znodes(self):
        if not self.kazoo_started:
            self.kazoo.start(timeout=10)
            self.kazoo_started = True
        return self.kazoo

    def member_properties(self, node_id, **extra):
        props = {
            "broker.id": node_id,
            "zookeeper.connect": self.zk.connect + CHROOT,
            "zookeeper.session.timeout.ms": SESSION_MS,
            # Short sessions, but a start that waits a while for its first one (a loaded CI
            # machine took over 2 s once).
            "zookeeper.connection.timeout.ms": 20000,
        }
        props.update(extra)
        return props

    def start_member(self, node_id, **kw):
        extra = kw.pop("extra", {})
        return self.start_broker(properties=self.member_properties(node_id, **extra),
                                 name="broker%d" % node_id, **kw)

    def read_json(self, path):
        data, stat = self.znodes().get(path)
        return json.loads(data.decode()), stat

    def metadata(self, broker):
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        return admin.list_topics(timeout=10)

    def broker_ids(self, broker):
        return sorted(self.metadata(broker).brokers)

    def controller_of(self, broker):
        return self.metadata(broker).controller_id


class TopicTestCase(ClusterTestCase):
    """Topics written to ZooKeeper as Kafka 2.8's kafka-topics.sh --zookeeper writes them:
    /config/topics first, then /brokers/topics, version 3 without a topic id."""

    def create_in_zookeeper(self, name, assignment, configs=None):
        zk = self.znodes()
        zk.create("/config/topics/" + name, json.dumps(
            {"version": 1, "config": configs or {}}).encode(), makepath=True)
        zk.create("/brokers/topics/" + name, json.dumps({
            "version": 3, "partitions": {str(p): r for p, r in enumerate(assignment)},
            "adding_replicas": {}, "removing_replicas": {}}).encode())

    def state(self, topic, partition):
        path = "/brokers/topics/%s/partitions/%d/state" % (topic, partition)
        if self.znodes().exists(path) is None:
            return None
        return self.read_json(path)[0]

    def wait_state(self, topic, partition, timeout=10):
        return wait_until(lambda: self.state(topic, partition), timeout,
                          message="state of %s-%d" % (topic, partition))

    def controller_epoch(self):
        return int(self.znodes().get("/controller_epoch")[0].decode())

    NOT_LEADER_OR_FOLLOWER = 6

    def two_brokers(self):
        b1 = self.start_member(1)
        b2 = self.start_member(2)
        wait_until(lambda: self.broker_ids(b1) == [1, 2] and self.broker_ids(b2) == [1, 2], 15,
                   message="both listed by both")
        return {1: b1, 2: b2}

    def three_brokers(self, extra=None):
        """Brokers 1, 2 and 3 with `extra` properties, each listing all three."""
        brokers = {i: self.start_member(i, extra=extra or {}) for i in (1, 2, 3)}
        for b in brokers.values():
            wait_until(lambda: self.broker_ids(b) == [1, 2, 3], 15,
                       message="every broker listed by %s" % b.bootstrap)
        return brokers

    def leaders_seen_by(self, broker, topic):
        t = self.metadata(broker).topics.get(topic)
        if t is None or t.error is not None:
            return None
        return {p: (pm.leader, list(pm.replicas), list(pm.isrs))
                for p, pm in t.partitions.items()}

"""Partition reassignment in a ZooKeeper cluster (KIP-455), as Kafka's controller runs it: the
move is recorded in the topic's znode (target replicas first, adding_replicas and
removing_replicas beside), the new replicas copy the log from the leader, and once they are all
in the ISR the partition is cut to the target — the leader moved into it in a new leader epoch —
and the brokers left out delete their copies. Driven by Apache Kafka's kafka-reassign-partitions
(execute, verify, cancel) and kafka-python's admin client (refusals, listing).

Needs Debian's zookeeper (scripts/install-deps.sh --test), kazoo and kafka-python (the venv's
requirements) and Kafka's tools (scripts/install-java-clients.sh).
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from broker_process import REPO_ROOT, wait_until  # noqa: E402
from cluster_case import CHROOT, TopicTestCase  # noqa: E402
from test_replication import segment_bytes as segment  # noqa: E402

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from kafka import KafkaAdminClient, TopicPartition as KpTopicPartition  # noqa: E402
import kafka.errors as Errors  # noqa: E402

KAFKA_TOOL = os.path.join(REPO_ROOT, "scripts", "kafka-tool.sh")
KAFKA_TOOL_INSTALL = os.path.join(REPO_ROOT, "scripts", "install-java-clients.sh")


class ReassignmentTest(TopicTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        subprocess.run([KAFKA_TOOL_INSTALL], check=True, timeout=600)

    def three_brokers(self, extra=None):
        return super().three_brokers({"replica.lag.time.max.ms": 3000})

    def create(self, broker, topic, assignment):
        self.create_in_zookeeper(topic, assignment)
        wait_until(lambda: (self.leaders_seen_by(broker, topic) or {}).get(0, (-1,))[0] ==
                   assignment[0][0], 15, message="%s served" % topic)

    def produce(self, broker, topic, count, prefix):
        p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 5})
        for i in range(count):
            p.produce(topic, value=b"%s-%d" % (prefix.encode(), i), partition=0)
        self.assertEqual(p.flush(30), 0)

    def read_all(self, broker, topic, expected):
        c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused",
                      "enable.auto.commit": False})
        c.assign([TopicPartition(topic, 0, 0)])
        values = []
        deadline = time.monotonic() + 30
        while len(values) < expected and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and m.error() is None:
                values.append(m.value().decode())
        c.close()
        return values

    def reassign(self, broker, plan, action):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"version": 1, "partitions": plan}, f)
        self.addCleanup(os.unlink, f.name)
        p = subprocess.run([KAFKA_TOOL, "kafka-reassign-partitions.sh", "--bootstrap-server",
                            broker.bootstrap, "--reassignment-json-file", f.name, action],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=120)
        return p.returncode, p.stdout

    def admin(self, broker):
        a = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
        self.addCleanup(a.close)
        return a

    def test_kafka_reassign_partitions_moves_a_partition(self):
        brokers = self.three_brokers()
        self.create(brokers[1], "moving", [[1, 2]])
        self.produce(brokers[1], "moving", 300, "before")
        epoch_before = self.state("moving", 0)["leader_epoch"]
        code, out = self.reassign(brokers[2], [{"topic": "moving", "partition": 0,
                                                "replicas": [3, 2]}], "--execute")
        self.assertEqual(code, 0, out)
        self.assertIn("Successfully started partition reassignment", out)

        def done():
            topic = self.read_json("/brokers/topics/moving")[0]
            return topic["partitions"]["0"] == [3, 2] and not topic["adding_replicas"] \
                and not topic["removing_replicas"]
        wait_until(done, 30, message="the move of moving-0 to [3,2] finished")
        state = self.state("moving", 0)
        self.assertEqual(state["leader"], 3)  # the old leader left: the target's first leads
        self.assertEqual(sorted(state["isr"]), [2, 3])
        self.assertEqual(state["leader_epoch"], epoch_before + 1)
        code, out = self.reassign(brokers[2], [{"topic": "moving", "partition": 0,
                                                "replicas": [3, 2]}], "--verify")
        self.assertEqual(code, 0, out)
        self.assertIn("Reassignment of partition moving-0 is completed", out)
        # Broker 1 deleted its copy; broker 3's is the leader's byte for byte (what broker 2 has).
        wait_until(lambda: not os.path.exists(os.path.join(brokers[1].data_dir, "moving-0")), 10,
                   message="broker 1's copy deleted")
        self.produce(brokers[1], "moving", 100, "after")
        wait_until(lambda: segment(brokers[3], "moving", 0) == segment(brokers[2], "moving", 0),
                   15, message="broker 3's copy the same as broker 2's")
        values = self.read_all(brokers[2], "moving", 400)
        self.assertEqual(values, ["before-%d" % i for i in range(300)] +
                         ["after-%d" % i for i in range(100)])

    def test_a_move_waits_for_its_replicas_and_can_be_cancelled(self):
        brokers = self.three_brokers()
        # The broker to freeze (the move's new replica) must not be the controller, which
        # answers the requests: `a` and `b` hold the partition, `c` is frozen.
        controller = self.read_json("/controller")[0]["brokerid"]
        c = 3 if controller != 3 else 1
        a, b = sorted(set(brokers) - {c})
        self.create(brokers[a], "stuck", [[a, b]])
        self.produce(brokers[a], "stuck", 50, "r")
        admin = self.admin(brokers[a])
        tp = KpTopicPartition("stuck", 0)
        os.kill(brokers[c].pid, signal.SIGSTOP)  # the new replica cannot catch up
        try:
            self.assertEqual(admin.alter_partition_reassignments({tp: [a, c]}), {tp: None})
            listed = admin.list_partition_reassignments()
            self.assertEqual(listed, {tp: {"replicas": [a, c, b], "adding_replicas": [c],
                                           "removing_replicas": [b]}})
            code, out = self.reassign(brokers[a], [{"topic": "stuck", "partition": 0,
                                                    "replicas": [a, c]}], "--verify")
            self.assertIn("Reassignment of partition stuck-0 is still in progress", out)
            self.assertEqual(self.read_json("/brokers/topics/stuck")[0]["partitions"]["0"],
                             [a, c, b])
            # Cancelled: the partition is back on [a,b], nothing in progress.
            self.assertEqual(admin.alter_partition_reassignments({tp: None}), {tp: None})
            topic = self.read_json("/brokers/topics/stuck")[0]
            self.assertEqual(topic["partitions"]["0"], [a, b])
            self.assertEqual(topic["adding_replicas"], {})
            self.assertEqual(admin.list_partition_reassignments(), {})
        finally:
            os.kill(brokers[c].pid, signal.SIGCONT)
        # Refusals, nothing changed.
        results = admin.alter_partition_reassignments({
            tp: None,                                    # nothing to cancel
            KpTopicPartition("stuck", 5): [a, b],        # no such partition
            KpTopicPartition("none", 0): [a],            # no such topic
        })
        self.assertIs(results[tp], Errors.NoReassignmentInProgressError)
        self.assertIs(results[KpTopicPartition("stuck", 5)], Errors.UnknownTopicOrPartitionError)
        self.assertIs(results[KpTopicPartition("none", 0)], Errors.UnknownTopicOrPartitionError)
        for bad in ([a, 9], [b, b]):
            self.assertIs(admin.alter_partition_reassignments({tp: bad})[tp],
                          Errors.InvalidReplicationAssignmentError, bad)
        self.assertEqual(self.read_json("/brokers/topics/stuck")[0]["partitions"]["0"], [a, b])

    def test_the_older_tools_reassign_through_zookeeper(self):
        """Kafka 2.8's kafka-reassign-partitions --zookeeper (the seeds' release) writes
        /admin/reassign_partitions; the controller carries it out and removes it."""
        brokers = self.three_brokers()
        self.create(brokers[1], "legacy", [[1, 2]])
        self.produce(brokers[1], "legacy", 60, "l")
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"version": 1, "partitions": [
                {"topic": "legacy", "partition": 0, "replicas": [2, 3]}]}, f)
        self.addCleanup(os.unlink, f.name)
        zk = self.zk.connect + CHROOT

        def tool(action):
            p = subprocess.run([KAFKA_TOOL, "--release", "2.8", "kafka-reassign-partitions.sh",
                                "--zookeeper", zk, "--reassignment-json-file", f.name, action],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=120)
            self.assertEqual(p.returncode, 0, p.stdout)
            return p.stdout

        self.assertIn("Successfully started", tool("--execute"))
        wait_until(lambda: self.znodes().exists("/admin/reassign_partitions") is None, 30,
                   message="/admin/reassign_partitions carried out and removed")
        self.assertEqual(self.read_json("/brokers/topics/legacy")[0]["partitions"]["0"], [2, 3])
        self.assertEqual(self.state("legacy", 0)["leader"], 2)
        self.assertIn("Reassignment of partition legacy-0 is complete",
                      tool("--verify"))
        # A znode naming a partition that does not exist: left out, the rest done, removed.
        self.znodes().create("/admin/reassign_partitions", json.dumps({
            "version": 1, "partitions": [
                {"topic": "legacy", "partition": 7, "replicas": [1]},
                {"topic": "legacy", "partition": 0, "replicas": [3, 2]}]}).encode())
        wait_until(lambda: self.znodes().exists("/admin/reassign_partitions") is None, 30,
                   message="the second reassignment carried out")
        self.assertEqual(self.read_json("/brokers/topics/legacy")[0]["partitions"]["0"], [3, 2])
        self.assertEqual(self.read_all(brokers[2], "legacy", 60), ["l-%d" % i for i in range(60)])

    def test_growing_the_replica_count(self):
        brokers = self.three_brokers()
        self.create(brokers[1], "wider", [[2]])
        self.produce(brokers[1], "wider", 40, "w")
        admin = self.admin(brokers[1])
        tp = KpTopicPartition("wider", 0)
        self.assertEqual(admin.alter_partition_reassignments({tp: [2, 1, 3]}), {tp: None})
        wait_until(lambda: self.read_json("/brokers/topics/wider")[0]["partitions"]["0"] ==
                   [2, 1, 3] and sorted(self.state("wider", 0)["isr"]) == [1, 2, 3]
                   and not self.read_json("/brokers/topics/wider")[0]["adding_replicas"], 30,
                   message="wider-0 on three replicas, all in sync")
        self.assertEqual(self.state("wider", 0)["leader"], 2)
        for i in (1, 3):
            wait_until(lambda: segment(brokers[i], "wider", 0) == segment(brokers[2], "wider", 0),
                       15, message="broker %d's copy complete" % i)


if __name__ == "__main__":
    unittest.main()

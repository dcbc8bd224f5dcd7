"""Brokers coordinated by ZooKeeper, in Kafka's znode layout (the seeds' two-broker setup):
registration under /brokers/ids, the controller election with its epoch, the cluster id in
/cluster/id, Metadata and DescribeCluster listing every live broker, brokers leaving and coming
back (SIGTERM, SIGKILL, an expired session), and the refusals: a broker id held by a live
broker, a log dir of another cluster, ZooKeeper out of reach.

Needs Debian's zookeeper (scripts/install-deps.sh --test) and kazoo (the venv's requirements).
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from broker_process import REPO_ROOT, Broker, BrokerError, wait_until  # noqa: E402
from cluster_case import (CHROOT, SESSION_MS, ClusterTestCase, TopicTestCase)  # noqa: E402
from zookeeper_process import ZooKeeper, four_letter_word  # noqa: E402

import kafka_wire as kw  # noqa: E402
from confluent_kafka import (Consumer, KafkaError, KafkaException, Producer,  # noqa: E402
                             TopicPartition)
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry,  # noqa: E402
                                  ConfigResource, NewPartitions, NewTopic, ResourceType)
from kazoo.client import KazooClient  # noqa: E402

KAFKA_TOOL = os.path.join(REPO_ROOT, "scripts", "kafka-tool.sh")
KAFKA_TOOL_INSTALL = os.path.join(REPO_ROOT, "scripts", "install-java-clients.sh")


class MembershipTest(ClusterTestCase):

    def test_every_broker_sees_every_broker_and_one_controller(self):
        brokers = [self.start_member(i) for i in (1, 2, 3)]
        for b in brokers:
            wait_until(lambda: self.broker_ids(b) == [1, 2, 3], 15,
                       message="broker %s listing brokers 1, 2 and 3" % b.bootstrap)
        mds = [self.metadata(b) for b in brokers]
        # Each broker is reached at its own listener, whichever broker answers.
        for md in mds:
            self.assertEqual({i: md.brokers[i].port for i in (1, 2, 3)},
                             {i + 1: brokers[i].port for i in range(3)})
        self.assertEqual(len({md.cluster_id for md in mds}), 1)
        controllers = {md.controller_id for md in mds}
        self.assertEqual(len(controllers), 1, controllers)
        self.assertIn(controllers.pop(), (1, 2, 3))
        # DescribeCluster says the same.
        admin = AdminClient({"bootstrap.servers": brokers[1].bootstrap})
        described = admin.describe_cluster(request_timeout=10).result()
        self.assertEqual(sorted(n.id for n in described.nodes), [1, 2, 3])
        self.assertEqual(described.controller.id, mds[0].controller_id)
        self.assertEqual(described.cluster_id, mds[0].cluster_id)

    def test_znodes_are_in_kafka_layout(self):
        b1 = self.start_member(1, extra={"broker.rack": "rack-a"})
        b2 = self.start_member(2)
        wait_until(lambda: self.broker_ids(b1) == [1, 2], 15, message="both brokers listed")
        zk = self.znodes()
        self.assertEqual(sorted(zk.get_children("/brokers/ids")), ["1", "2"])
        reg, stat = self.read_json("/brokers/ids/1")
        # An ephemeral node: it goes with the broker's session.
        self.assertNotEqual(stat.ephemeralOwner, 0)
        self.assertEqual(reg["version"], 5)
        self.assertEqual(reg["endpoints"], ["PLAINTEXT://127.0.0.1:%d" % b1.port])
        self.assertEqual(reg["listener_security_protocol_map"], {"PLAINTEXT": "PLAINTEXT"})
        self.assertEqual((reg["host"], reg["port"]), ("127.0.0.1", b1.port))
        self.assertEqual(reg["rack"], "rack-a")
        self.assertEqual(reg["jmx_port"], -1)
        self.assertIsInstance(reg["timestamp"], str)
        int(reg["timestamp"])
        reg2, _ = self.read_json("/brokers/ids/2")
        self.assertNotIn("rack", reg2)
        # Metadata carries the rack.
        admin = AdminClient({"bootstrap.servers": b2.bootstrap})
        nodes = {n.id: n for n in admin.describe_cluster(request_timeout=10).result().nodes}
        self.assertEqual(nodes[1].rack, "rack-a")
        self.assertIsNone(nodes[2].rack)

        controller, cstat = self.read_json("/controller")
        self.assertEqual(controller["version"], 1)
        self.assertIn(controller["brokerid"], (1, 2))
        self.assertNotEqual(cstat.ephemeralOwner, 0)
        epoch, _ = zk.get("/controller_epoch")
        self.assertGreaterEqual(int(epoch.decode()), 1)
        cluster, _ = self.read_json("/cluster/id")
        self.assertEqual(cluster["version"], "1")
        self.assertEqual(cluster["id"], self.metadata(b1).cluster_id)
        # Kafka's persistent paths, as a Kafka broker leaves them.
        for path in ("/brokers/topics", "/brokers/seqid", "/config/topics", "/config/changes",
                     "/config/clients", "/config/users", "/config/brokers", "/admin/delete_topics",
                     "/isr_change_notification", "/latest_producer_id_block",
                     "/log_dir_event_notification", "/consumers"):
            self.assertIsNotNone(zk.exists(path), path)
        # The chroot was created: nothing outside it.
        root = KazooClient(hosts=self.zk.connect, timeout=10)
        root.start(timeout=10)
        try:
            self.assertEqual(sorted(root.get_children("/")), ["runnel", "zookeeper"])
        finally:
            root.stop()
            root.close()

    def test_the_log_dirs_remember_the_cluster_id(self):
        b1 = self.start_member(1)
        cluster = self.metadata(b1).cluster_id
        with open(os.path.join(b1.data_dir, "meta.properties")) as f:
            meta = f.read()
        self.assertIn("cluster.id=%s\n" % cluster, meta)
        self.assertIn("node.id=1\n", meta)


class FailoverTest(ClusterTestCase):

    def current_controller(self):
        data, _ = self.znodes().get("/controller")
        return json.loads(data.decode())["brokerid"]

    def controller_epoch(self):
        return int(self.znodes().get("/controller_epoch")[0].decode())

    def test_a_stopped_controller_is_replaced_at_once(self):
        brokers = {i: self.start_member(i) for i in (1, 2, 3)}
        first = wait_until(lambda: self.znodes().exists("/controller") and
                           self.current_controller(), 15, message="a controller")
        epoch = self.controller_epoch()
        brokers[first].stop()
        rest = [i for i in brokers if i != first]
        # Its session ends with it: the others elect at once, not a session timeout later.
        started = time.monotonic()
        wait_until(lambda: self.znodes().exists("/controller") and
                   self.current_controller() in rest, 5, message="a new controller")
        self.assertLess(time.monotonic() - started, SESSION_MS / 1000)
        self.assertEqual(self.controller_epoch(), epoch + 1)
        for i in rest:
            wait_until(lambda: self.broker_ids(brokers[i]) == sorted(rest), 10,
                       message="broker %d dropping broker %d" % (i, first))
            self.assertEqual(self.controller_of(brokers[i]), self.current_controller())

    def test_a_killed_broker_leaves_after_its_session_times_out(self):
        b1 = self.start_member(1)
        b2 = self.start_member(2)
        wait_until(lambda: self.broker_ids(b1) == [1, 2], 15, message="both listed")
        b2.kill()
        wait_until(lambda: self.broker_ids(b1) == [1], SESSION_MS / 1000 * 4,
                   message="broker 2 gone from broker 1's Metadata")
        self.assertIsNone(self.znodes().exists("/brokers/ids/2"))

    def test_a_killed_controller_comes_back_without_waiting_for_its_old_session(self):
        # A long session, so that waiting it out would show.
        long_session = {"zookeeper.session.timeout.ms": 4000}
        b1 = self.start_member(1, extra=long_session)
        wait_until(lambda: self.znodes().exists("/controller") and
                   self.current_controller() == 1, 15, message="broker 1 the controller")
        epoch = self.controller_epoch()
        old_session = self.znodes().get("/controller")[1].ephemeralOwner
        b1.kill()
        started = time.monotonic()
        b1.start()

        def controller_of_new_session():
            node = self.znodes().exists("/controller")
            return (node is not None and node.ephemeralOwner != old_session and
                    self.current_controller() == 1)

        wait_until(controller_of_new_session, 10, message="broker 1 the controller again")
        # Its previous run's registration and controller node were taken over, not waited out.
        self.assertLess(time.monotonic() - started, 3.5)
        self.assertEqual(self.controller_epoch(), epoch + 1)
        log = b1.log_text()
        self.assertIn("removed /brokers/ids/1 left by this broker's previous run", log)
        self.assertIn("removed /controller left by this broker's previous run", log)
        _, stat = self.znodes().get("/brokers/ids/1")
        with open(os.path.join(b1.data_dir, "runnel-zookeeper-session")) as f:
            self.assertEqual(int(f.read().strip(), 16), stat.ephemeralOwner)

    def test_an_expired_session_registers_again(self):
        b1 = self.start_member(1)
        b2 = self.start_member(2)
        wait_until(lambda: self.broker_ids(b1) == [1, 2], 15, message="both listed")
        old_owner = self.znodes().get("/brokers/ids/2")[1].ephemeralOwner
        # Frozen past its session timeout, broker 2 loses its session and its registration.
        os.kill(b2.pid, signal.SIGSTOP)
        try:
            wait_until(lambda: self.znodes().exists("/brokers/ids/2") is None,
                       SESSION_MS / 1000 * 5, message="broker 2's session expiring")
            wait_until(lambda: self.broker_ids(b1) == [1], 10, message="broker 2 dropped")
        finally:
            os.kill(b2.pid, signal.SIGCONT)
        # Thawed, it learns the session expired, opens a new one and registers again.
        wait_until(lambda: self.znodes().exists("/brokers/ids/2") is not None, 15,
                   message="broker 2 registered again")
        self.assertNotEqual(self.znodes().get("/brokers/ids/2")[1].ephemeralOwner, old_owner)
        wait_until(lambda: self.broker_ids(b1) == [1, 2], 10, message="broker 2 back")
        wait_until(lambda: self.broker_ids(b2) == [1, 2], 10, message="broker 2 sees both")
        self.assertIn("ZooKeeper session expired", b2.log_text())
        # One controller throughout, and every broker agrees on it.
        wait_until(lambda: self.controller_of(b1) == self.controller_of(b2) != -1, 10,
                   message="one controller")


class TopicStateTest(TopicTestCase):
    """The controller's part for topics registered in ZooKeeper: it gives each a topic id and
    each partition its first state."""

    def test_new_partitions_get_leader_and_isr_from_the_live_replicas(self):
        b1 = self.start_member(1)
        b2 = self.start_member(2)
        wait_until(lambda: self.broker_ids(b1) == [1, 2], 15, message="both listed")
        self.create_in_zookeeper("hashtags", [[1, 2], [2, 1], [2, 3]])
        epoch = self.controller_epoch()
        # The first live replica leads; the ISR is the live replicas in assignment order.
        self.assertEqual(self.wait_state("hashtags", 0), {
            "version": 1, "leader": 1, "leader_epoch": 0, "isr": [1, 2],
            "controller_epoch": epoch})
        self.assertEqual(self.wait_state("hashtags", 1)["isr"], [2, 1])
        self.assertEqual(self.wait_state("hashtags", 2)["isr"], [2])  # broker 3 is not up
        topic, _ = self.read_json("/brokers/topics/hashtags")
        self.assertRegex(topic["topic_id"], r"^[A-Za-z0-9_-]{22}$")
        self.assertEqual(topic["partitions"], {"0": [1, 2], "1": [2, 1], "2": [2, 3]})
        self.assertEqual(topic["version"], 3)
        # An id given by the creator is kept.
        self.znodes().create("/brokers/topics/with-id", json.dumps({
            "version": 3, "partitions": {"0": [2]}, "adding_replicas": {},
            "removing_replicas": {}, "topic_id": "AAAAAAAAAAAAAAAAAAAAAQ"}).encode())
        self.wait_state("with-id", 0)
        self.assertEqual(self.read_json("/brokers/topics/with-id")[0]["topic_id"],
                         "AAAAAAAAAAAAAAAAAAAAAQ")

    def test_a_partition_without_a_live_replica_waits_for_one(self):
        b1 = self.start_member(1)
        wait_until(lambda: self.znodes().exists("/controller"), 15, message="a controller")
        self.create_in_zookeeper("later", [[3], [1, 3]])
        self.assertEqual(self.wait_state("later", 1)["isr"], [1])
        time.sleep(1)
        self.assertIsNone(self.state("later", 0))
        self.start_member(3)
        self.assertEqual(self.wait_state("later", 0)["leader"], 3)
        b1.assert_running()

    def test_topics_created_without_a_controller_are_set_up_by_the_next_one(self):
        b1 = self.start_member(1)
        wait_until(lambda: self.znodes().exists("/controller"), 15, message="a controller")
        b1.stop()
        self.create_in_zookeeper("while-down", [[1], [1]])
        b1.start()
        self.assertEqual(self.wait_state("while-down", 0)["leader"], 1)
        self.assertEqual(self.wait_state("while-down", 1)["controller_epoch"],
                         self.controller_epoch())

    def test_the_seeds_kafka_topics_command_with_zookeeper(self):
        """kafka-topics.sh --zookeeper of Kafka 2.8 (the seeds' release), as the seeds type it."""
        subprocess.run([KAFKA_TOOL_INSTALL], check=True, timeout=600)
        b1 = self.start_member(1)
        b2 = self.start_member(2)
        wait_until(lambda: self.broker_ids(b1) == [1, 2], 15, message="both listed")
        zk = self.zk.connect + CHROOT

        def kafka_topics(*args):
            p = subprocess.run([KAFKA_TOOL, "--release", "2.8", "kafka-topics.sh", "--zookeeper",
                                zk] + list(args), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stdout)
            return p.stdout

        out = kafka_topics("--create", "--replication-factor", "2", "--partitions", "2",
                           "--topic", "test")
        self.assertIn("Created topic test.", out)
        self.wait_state("test", 0)
        self.wait_state("test", 1)
        out = kafka_topics("--describe", "--topic", "test")
        rows = re.findall(r"Partition: (\d+)\s+Leader: (\d+)\s+Replicas: ([\d,]+)\s+Isr: ([\d,]+)",
                          out)
        self.assertEqual(len(rows), 2, out)
        for partition, leader, replicas, isr in rows:
            self.assertEqual(leader, replicas.split(",")[0], out)
            self.assertEqual(sorted(isr.split(",")), ["1", "2"], out)
        topic_id = self.read_json("/brokers/topics/test")[0]["topic_id"]
        self.assertIn("TopicId: %s" % topic_id, out)
        self.assertIn("test", kafka_topics("--list").split())
        # More partitions, and a config, with the same tools: the controller and the brokers
        # take them from ZooKeeper.
        kafka_topics("--alter", "--topic", "test", "--partitions", "3")
        self.assertEqual(len(self.wait_state("test", 2)["isr"]), 2)
        wait_until(lambda: len(self.leaders_seen_by(b2, "test") or {}) == 3, 15,
                   message="broker 2 serving the third partition")
        p = subprocess.run([KAFKA_TOOL, "--release", "2.8", "kafka-configs.sh", "--zookeeper", zk,
                            "--alter", "--entity-type", "topics", "--entity-name", "test",
                            "--add-config", "cleanup.policy=compact"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout)
        admin = AdminClient({"bootstrap.servers": b1.bootstrap})
        res = ConfigResource(ResourceType.TOPIC, "test")
        wait_until(lambda: admin.describe_configs([res], request_timeout=15)[res].result()
                   ["cleanup.policy"].value == "compact", 15,
                   message="cleanup.policy=compact in force on broker 1")
        # Asking for more replicas than brokers is refused by the tool itself, as with Kafka.
        p = subprocess.run([KAFKA_TOOL, "--release", "2.8", "kafka-topics.sh", "--zookeeper", zk,
                            "--create", "--replication-factor", "3", "--partitions", "1",
                            "--topic", "too-many"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=120)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("larger than available brokers: 2", p.stdout)


class TopicServingTest(TopicTestCase):
    """Brokers serve the topics registered in ZooKeeper: each opens the logs of the partitions
    it leads, Metadata shows every partition's leader, replicas and ISR from any broker, and a
    broker asked for a partition it does not lead answers NOT_LEADER_OR_FOLLOWER."""

    def test_clients_reach_each_partition_through_its_leader(self):
        brokers = self.two_brokers()
        self.create_in_zookeeper("words", [[1], [2], [1], [2]])
        want = {0: (1, [1], [1]), 1: (2, [2], [2]), 2: (1, [1], [1]), 3: (2, [2], [2])}
        for b in brokers.values():
            wait_until(lambda: self.leaders_seen_by(b, "words") == want, 15,
                       message="the leaders of words as seen by %s" % b.bootstrap)
        # A producer bootstrapped on broker 1 writes to both brokers' partitions.
        producer = Producer({"bootstrap.servers": brokers[1].bootstrap, "acks": "all"})
        failures = []
        for i in range(200):
            producer.produce("words", key=b"k%d" % i, value=b"v%d" % i,
                             on_delivery=lambda e, m: failures.append(e) if e else None)
        self.assertEqual(producer.flush(30), 0)
        self.assertEqual(failures, [])
        # A consumer bootstrapped on broker 2 reads them all back, each from its leader.
        consumer = Consumer({"bootstrap.servers": brokers[2].bootstrap, "group.id": "unused",
                             "enable.auto.commit": False})
        consumer.assign([TopicPartition("words", p, 0) for p in range(4)])
        values = set()
        deadline = time.monotonic() + 30
        while len(values) < 200 and time.monotonic() < deadline:
            m = consumer.poll(1)
            if m is not None and m.error() is None:
                values.add(m.value())
        consumer.close()
        self.assertEqual(values, {b"v%d" % i for i in range(200)})
        # Each partition's log is on its leader only.
        for p in range(4):
            leader = want[p][0]
            for i, b in brokers.items():
                self.assertEqual(os.path.isdir(os.path.join(b.data_dir, "words-%d" % p)),
                                 i == leader, "words-%d on broker %d" % (p, i))

    def test_a_broker_that_does_not_lead_says_so(self):
        brokers = self.two_brokers()
        self.create_in_zookeeper("led-by-two", [[2, 1]])
        self.assertEqual(self.wait_state("led-by-two", 0)["leader"], 2)
        for b in brokers.values():
            wait_until(lambda: self.leaders_seen_by(b, "led-by-two") ==
                       {0: (2, [2, 1], [2, 1])}, 15, message="both knowing the leader")
        batch = kw.build_record_batch([kw.Record(value=b"x")])
        with kw.Connection("127.0.0.1", brokers[1].port) as c:
            r = c.produce_one("led-by-two", 0, batch, acks=1)
            self.assertEqual(r["error_code"], self.NOT_LEADER_OR_FOLLOWER)
            fetched = c.fetch({"led-by-two": {0: 0}})[("led-by-two", 0)]
            self.assertEqual(fetched["error_code"], self.NOT_LEADER_OR_FOLLOWER)
            # A partition that does not exist is still unknown.
            r = c.produce_one("led-by-two", 5, batch, acks=1)
            self.assertEqual(r["error_code"], 3)
        with kw.Connection("127.0.0.1", brokers[2].port) as c:
            r = c.produce_one("led-by-two", 0, batch, acks=1)
            self.assertEqual(r["error_code"], 0)

    def test_a_restarted_leader_serves_its_records_again(self):
        brokers = self.two_brokers()
        self.create_in_zookeeper("kept", [[2]])
        wait_until(lambda: self.leaders_seen_by(brokers[1], "kept") == {0: (2, [2], [2])}, 15,
                   message="kept led by broker 2")
        producer = Producer({"bootstrap.servers": brokers[1].bootstrap, "acks": "all"})
        for i in range(50):
            producer.produce("kept", value=b"r%d" % i)
        self.assertEqual(producer.flush(30), 0)
        brokers[2].kill()
        # Broker 1 lists the partition without a live leader meanwhile.
        wait_until(lambda: self.broker_ids(brokers[1]) == [1], SESSION_MS / 1000 * 4,
                   message="broker 2 gone")
        md = self.metadata(brokers[1]).topics["kept"].partitions[0]
        self.assertEqual(list(md.replicas), [2])
        brokers[2].start()
        wait_until(lambda: self.latest_offset(brokers[2], "kept", 0) == 50, 15,
                   message="broker 2 serving its 50 records again")
        self.assertIn("kept-0", os.listdir(brokers[2].data_dir))

    def latest_offset(self, broker, topic, partition):
        with kw.Connection("127.0.0.1", broker.port) as c:
            return c.latest_offset(topic, partition)

    def test_a_topic_deleted_from_zookeeper_goes_from_the_brokers(self):
        brokers = self.two_brokers()
        self.create_in_zookeeper("short-lived", [[1], [2]])
        for b in brokers.values():
            wait_until(lambda: self.leaders_seen_by(b, "short-lived") is not None, 15,
                       message="short-lived served")
        self.znodes().delete("/brokers/topics/short-lived", recursive=True)
        for i, b in brokers.items():
            wait_until(lambda: "short-lived" not in self.metadata(b).topics, 15,
                       message="short-lived gone from broker %d" % i)
            wait_until(lambda: not os.path.exists(os.path.join(
                b.data_dir, "short-lived-%d" % (i - 1))), 10, message="its log deleted")


class TopicAdminTest(TopicTestCase):
    """Topics created and deleted through any broker's Kafka API are the cluster's: written to
    ZooKeeper as Kafka writes them, set up by the controller, served by their leaders."""

    def test_create_topics_through_any_broker(self):
        brokers = self.two_brokers()
        admin = AdminClient({"bootstrap.servers": brokers[2].bootstrap})
        futures = admin.create_topics([NewTopic("made", 6, 2, config={"retention.ms": "60000"})],
                                      request_timeout=15)
        futures["made"].result()
        topic, _ = self.read_json("/brokers/topics/made")
        self.assertRegex(topic["topic_id"], r"^[A-Za-z0-9_-]{22}$")
        replicas = [topic["partitions"][str(p)] for p in range(6)]
        # Kafka's spread: every partition on both brokers, leaders even.
        self.assertTrue(all(sorted(r) == [1, 2] for r in replicas), replicas)
        self.assertEqual(sorted(r[0] for r in replicas), [1, 1, 1, 2, 2, 2])
        config, _ = self.read_json("/config/topics/made")
        self.assertEqual(config, {"version": 1, "config": {"retention.ms": "60000"}})
        # Answered once served: broker 1's Metadata has it at once, leaders as assigned.
        seen = self.leaders_seen_by(brokers[1], "made")
        self.assertEqual({p: l for p, (l, _, _) in seen.items()},
                         {p: replicas[p][0] for p in range(6)})
        # Kafka's refusals.
        bad = admin.create_topics([NewTopic("too-wide", 1, 3)], request_timeout=15)
        with self.assertRaises(KafkaException) as caught:
            bad["too-wide"].result()
        self.assertEqual(caught.exception.args[0].code(), KafkaError.INVALID_REPLICATION_FACTOR)
        self.assertIn("larger than available brokers: 2", caught.exception.args[0].str())
        again = admin.create_topics([NewTopic("made", 1, 1)], request_timeout=15)
        with self.assertRaises(KafkaException) as caught:
            again["made"].result()
        self.assertEqual(caught.exception.args[0].code(), KafkaError.TOPIC_ALREADY_EXISTS)
        # An explicit assignment naming a broker that is not registered (kafka-python sends
        # assignments; librdkafka's admin client refuses to without a partition count).
        from kafka.admin import KafkaAdminClient, NewTopic as KpNewTopic
        from kafka.errors import InvalidReplicationAssignmentError
        kp = KafkaAdminClient(bootstrap_servers=brokers[1].bootstrap)
        try:
            with self.assertRaises(InvalidReplicationAssignmentError):
                kp.create_topics([KpNewTopic("placed", num_partitions=-1, replication_factor=-1,
                                             replica_assignments={0: [1, 7]})])
            kp.create_topics([KpNewTopic("placed", num_partitions=-1, replication_factor=-1,
                                         replica_assignments={0: [2, 1], 1: [2, 1]})])
        finally:
            kp.close()
        self.assertEqual(self.read_json("/brokers/topics/placed")[0]["partitions"],
                         {"0": [2, 1], "1": [2, 1]})
        checked = admin.create_topics([NewTopic("only-checked", 2, 2)], validate_only=True,
                                      request_timeout=15)
        checked["only-checked"].result()
        self.assertIsNone(self.znodes().exists("/brokers/topics/only-checked"))

    def kafka_error(self, future):
        with self.assertRaises(KafkaException) as caught:
            future.result()
        return caught.exception.args[0]

    def test_grow_and_reconfigure_a_topic_through_any_broker(self):
        brokers = self.two_brokers()
        admin = AdminClient({"bootstrap.servers": brokers[2].bootstrap})
        admin.create_topics([NewTopic("grown", 2, 2)], request_timeout=15)["grown"].result()
        before, _ = self.read_json("/brokers/topics/grown")
        admin.create_partitions([NewPartitions("grown", 5)], request_timeout=15)["grown"].result()
        after, _ = self.read_json("/brokers/topics/grown")
        self.assertEqual(after["topic_id"], before["topic_id"])
        self.assertEqual({p: after["partitions"][p] for p in ("0", "1")}, before["partitions"])
        added = [after["partitions"][str(p)] for p in range(2, 5)]
        self.assertTrue(all(sorted(r) == [1, 2] for r in added), after)
        # Answered once served: the other broker leads its share of the new partitions too.
        for b in brokers.values():
            wait_until(lambda: len(self.leaders_seen_by(b, "grown") or {}) == 5, 10,
                       message="5 partitions of grown seen by %s" % b.bootstrap)
        producer = Producer({"bootstrap.servers": brokers[1].bootstrap, "acks": "all"})
        for p in range(5):
            producer.produce("grown", value=b"to-%d" % p, partition=p)
        self.assertEqual(producer.flush(30), 0)
        for p in range(5):
            self.assertEqual(self.latest_offset_of_leader(brokers, "grown", p), 1)
        # Kafka's refusals, nothing written.
        err = self.kafka_error(admin.create_partitions([NewPartitions("grown", 3)],
                                                       request_timeout=15)["grown"])
        self.assertEqual(err.code(), KafkaError.INVALID_PARTITIONS)
        self.assertIn("Topic currently has 5 partitions, which is higher than the requested 3",
                      err.str())
        err = self.kafka_error(admin.create_partitions([NewPartitions("grown", 5)],
                                                       request_timeout=15)["grown"])
        self.assertEqual(err.code(), KafkaError.INVALID_PARTITIONS)
        err = self.kafka_error(admin.create_partitions(
            [NewPartitions("grown", 6, replica_assignment=[[1, 7]])], request_timeout=15)["grown"])
        self.assertEqual(err.code(), KafkaError.INVALID_REPLICA_ASSIGNMENT)
        err = self.kafka_error(admin.create_partitions(
            [NewPartitions("grown", 6, replica_assignment=[[1]])], request_timeout=15)["grown"])
        self.assertEqual(err.code(), KafkaError.INVALID_REPLICA_ASSIGNMENT)
        admin.create_partitions([NewPartitions("grown", 9)], validate_only=True,
                                request_timeout=15)["grown"].result()
        self.assertEqual(len(self.read_json("/brokers/topics/grown")[0]["partitions"]), 5)
        # The client's own placement of a new partition.
        admin.create_partitions([NewPartitions("grown", 6, replica_assignment=[[2, 1]])],
                                request_timeout=15)["grown"].result()
        self.assertEqual(self.read_json("/brokers/topics/grown")[0]["partitions"]["5"], [2, 1])
        self.assertEqual(self.wait_state("grown", 5)["leader"], 2)

        # Configs: written to /config/topics, in force on every broker.
        default_retention = self.topic_config(brokers[1], "grown", "retention.ms")
        res = ConfigResource(ResourceType.TOPIC, "grown", incremental_configs=[
            ConfigEntry("retention.ms", "120000",
                        incremental_operation=AlterConfigOpType.SET)])
        admin.incremental_alter_configs([res], request_timeout=15)[res].result()
        self.assertEqual(self.read_json("/config/topics/grown")[0],
                         {"version": 1, "config": {"retention.ms": "120000"}})
        for b in brokers.values():
            self.assertEqual(self.topic_config(b, "grown", "retention.ms"), "120000")
        bad = ConfigResource(ResourceType.TOPIC, "grown", incremental_configs=[
            ConfigEntry("retention.ms", "soon", incremental_operation=AlterConfigOpType.SET)])
        err = self.kafka_error(admin.incremental_alter_configs([bad], request_timeout=15)[bad])
        self.assertEqual(err.code(), KafkaError.INVALID_CONFIG)
        self.assertEqual(self.read_json("/config/topics/grown")[0]["config"],
                         {"retention.ms": "120000"})
        gone = ConfigResource(ResourceType.TOPIC, "grown", incremental_configs=[
            ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE)])
        admin.incremental_alter_configs([gone], request_timeout=15)[gone].result()
        self.assertEqual(self.read_json("/config/topics/grown")[0]["config"], {})
        wait_until(lambda: self.topic_config(brokers[1], "grown", "retention.ms") ==
                   default_retention, 10, message="the default retention back on broker 1")

    def test_replicas_are_spread_over_racks(self):
        racks = {1: "rack-a", 2: "rack-a", 3: "rack-b"}
        brokers = {i: self.start_member(i, extra={"broker.rack": r}) for i, r in racks.items()}
        for b in brokers.values():
            wait_until(lambda: self.broker_ids(b) == [1, 2, 3], 15, message="all three listed")
        admin = AdminClient({"bootstrap.servers": brokers[1].bootstrap})
        admin.create_topics([NewTopic("racked", 6, 2)], request_timeout=15)["racked"].result()
        admin.create_partitions([NewPartitions("racked", 9)],
                                request_timeout=15)["racked"].result()
        placed = self.read_json("/brokers/topics/racked")[0]["partitions"]
        self.assertEqual(len(placed), 9)
        for p, replicas in placed.items():
            self.assertEqual({racks[b] for b in replicas}, {"rack-a", "rack-b"},
                             "racked-%s on %s" % (p, replicas))
        # A broker without a rack among brokers with one: Kafka refuses to place replicas.
        b4 = self.start_member(4)
        wait_until(lambda: self.broker_ids(brokers[1]) == [1, 2, 3, 4], 15, message="4 listed")
        err = self.kafka_error(admin.create_topics([NewTopic("unplaced", 1, 2)],
                                                   request_timeout=15)["unplaced"])
        self.assertEqual(err.code(), KafkaError.INVALID_REPLICA_ASSIGNMENT)
        self.assertIn("Not all brokers have rack information", err.str())
        self.assertIsNone(self.znodes().exists("/brokers/topics/unplaced"))
        b4.stop()

    def latest_offset_of_leader(self, brokers, topic, partition):
        leader = self.leaders_seen_by(brokers[1], topic)[partition][0]
        with kw.Connection("127.0.0.1", brokers[leader].port) as c:
            return c.latest_offset(topic, partition)

    def topic_config(self, broker, topic, key):
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        res = ConfigResource(ResourceType.TOPIC, topic)
        return admin.describe_configs([res], request_timeout=15)[res].result()[key].value

    def test_auto_created_topics_are_the_clusters(self):
        brokers = self.two_brokers()
        producer = Producer({"bootstrap.servers": brokers[1].bootstrap})
        producer.produce("auto-made", value=b"first")
        self.assertEqual(producer.flush(30), 0)
        topic, _ = self.read_json("/brokers/topics/auto-made")
        self.assertEqual(len(topic["partitions"]), 1)
        self.assertIsNotNone(self.leaders_seen_by(brokers[2], "auto-made"))

    def test_delete_topics_through_a_broker_or_the_zookeeper_tool(self):
        brokers = self.two_brokers()
        admin = AdminClient({"bootstrap.servers": brokers[1].bootstrap})
        admin.create_topics([NewTopic("doomed", 2, 2), NewTopic("marked", 1, 1)],
                            request_timeout=15)["doomed"].result()
        wait_until(lambda: self.leaders_seen_by(brokers[2], "marked"), 15, message="marked")
        admin.delete_topics(["doomed"], request_timeout=15)["doomed"].result()
        for path in ("/brokers/topics/doomed", "/config/topics/doomed",
                     "/admin/delete_topics/doomed"):
            wait_until(lambda: self.znodes().exists(path) is None, 10, message=path + " gone")
        for i, b in brokers.items():
            wait_until(lambda: "doomed" not in self.metadata(b).topics, 10,
                       message="doomed gone from broker %d" % i)
        # kafka-topics.sh --zookeeper --delete leaves a marker; the controller does the rest.
        self.znodes().create("/admin/delete_topics/marked")
        wait_until(lambda: self.znodes().exists("/brokers/topics/marked") is None, 10,
                   message="marked deleted")
        wait_until(lambda: self.znodes().exists("/admin/delete_topics/marked") is None, 10,
                   message="the marker removed")
        wait_until(lambda: "marked" not in self.metadata(brokers[1]).topics, 10,
                   message="marked gone from the brokers")


class GroupsAcrossBrokersTest(TopicTestCase):
    """A consumer group is coordinated by the leader of its partition of __consumer_offsets,
    which is a topic of the cluster: every broker names the same coordinator, and the group's
    committed offsets hold whichever broker its members bootstrap from."""

    def start_groups_member(self, node_id, replication=1):
        return self.start_member(node_id, extra={"offsets.topic.num.partitions": 6,
                                                 "offsets.topic.replication.factor": replication,
                                                 "group.initial.rebalance.delay.ms": 0})

    def consume(self, bootstrap, group, count):
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                             "auto.offset.reset": "earliest", "enable.auto.commit": False})
        consumer.subscribe(["events"])
        values = []
        deadline = time.monotonic() + 30
        while len(values) < count and time.monotonic() < deadline:
            m = consumer.poll(0.5)
            if m is not None and m.error() is None:
                values.append(m.value())
        # Nothing more arrives.
        end = time.monotonic() + 1
        while time.monotonic() < end:
            m = consumer.poll(0.2)
            if m is not None and m.error() is None:
                values.append(m.value())
        consumer.commit(asynchronous=False)
        consumer.close()
        return values

    def test_a_group_keeps_its_offsets_whichever_broker_it_comes_through(self):
        b1 = self.start_groups_member(1)
        b2 = self.start_groups_member(2)
        wait_until(lambda: self.broker_ids(b1) == [1, 2] and self.broker_ids(b2) == [1, 2], 15,
                   message="both listed by both")
        admin = AdminClient({"bootstrap.servers": b1.bootstrap})
        admin.create_topics([NewTopic("events", 4, 1)], request_timeout=15)["events"].result()
        producer = Producer({"bootstrap.servers": b1.bootstrap})
        for i in range(100):
            producer.produce("events", value=b"%d" % i)
        self.assertEqual(producer.flush(30), 0)
        first = self.consume(b1.bootstrap, "readers", 100)
        self.assertEqual(sorted(first), sorted(b"%d" % i for i in range(100)))
        # __consumer_offsets is the cluster's, its partitions led by both brokers.
        offsets, _ = self.read_json("/brokers/topics/__consumer_offsets")
        self.assertEqual(len(offsets["partitions"]), 6)
        self.assertEqual({r[0] for r in offsets["partitions"].values()}, {1, 2})
        # Both brokers name the same coordinator for the group.
        coordinators = set()
        for b in (b1, b2):
            with kw.Connection("127.0.0.1", b.port) as c:
                found = c.find_coordinator("readers")
                self.assertEqual(found["error_code"], 0, found)
                coordinators.add((found["node_id"], found["port"]))
        self.assertEqual(len(coordinators), 1, coordinators)
        node, port = coordinators.pop()
        self.assertEqual(port, {1: b1.port, 2: b2.port}[node])
        # Through the other broker the group carries on from its committed offsets.
        for i in range(100, 150):
            producer.produce("events", value=b"%d" % i)
        self.assertEqual(producer.flush(30), 0)
        second = self.consume(b2.bootstrap, "readers", 50)
        self.assertEqual(sorted(second), sorted(b"%d" % i for i in range(100, 150)))
        # The broker that does not coordinate the group says so to a member that asks it.
        other = {1: b2, 2: b1}[node]
        with kw.Connection("127.0.0.1", other.port) as c:
            self.assertEqual(c.heartbeat(0, "readers", 1, "member"), 16)  # NOT_COORDINATOR

    def test_too_few_brokers_for_the_offsets_topic(self):
        b1 = self.start_groups_member(1, replication=3)
        with kw.Connection("127.0.0.1", b1.port) as c:
            found = c.find_coordinator("lonely")
        self.assertEqual(found["error_code"], 15)  # COORDINATOR_NOT_AVAILABLE
        self.assertIsNone(self.znodes().exists("/brokers/topics/__consumer_offsets"))
        self.assertIn("Replication factor: 3 larger than available brokers: 1", b1.log_text())


class EnsembleTest(TopicTestCase):
    """Brokers on a three-server ZooKeeper ensemble keep their sessions, registrations and
    topics when one server goes, whichever it was (the leader included)."""

    def setUp(self):
        unittest.TestCase.setUp(self)
        self.zk = ZooKeeper(servers=3)
        self.addCleanup(self.zk.close)
        self.kazoo = KazooClient(hosts=self.zk.connect + CHROOT, timeout=10)
        self.addCleanup(self._close_kazoo)
        self.kazoo_started = False

    def leader_server(self):
        for i, port in enumerate(self.zk.client_ports):
            if "Mode: leader" in four_letter_word(port, "srvr"):
                return i
        return None

    def test_losing_a_zookeeper_server_loses_nothing(self):
        b1 = self.start_member(1)
        b2 = self.start_member(2)
        wait_until(lambda: self.broker_ids(b1) == [1, 2], 20, message="both listed")
        self.create_in_zookeeper("before", [[1], [2]])
        wait_until(lambda: self.leaders_seen_by(b2, "before"), 15, message="before served")
        owners = {self.znodes().get("/brokers/ids/%d" % i)[1].ephemeralOwner for i in (1, 2)}
        lost = self.leader_server()
        self.assertIsNotNone(lost)
        self.zk.stop_server(lost)
        # The sessions move to the other servers: registrations stay, nobody re-registers.
        time.sleep(SESSION_MS / 1000 * 2)
        for b in (b1, b2):
            wait_until(lambda: self.broker_ids(b) == [1, 2], 20, message="still both listed")
        self.assertEqual({self.znodes().get("/brokers/ids/%d" % i)[1].ephemeralOwner
                          for i in (1, 2)}, owners)
        # The cluster keeps working: a topic made now is set up and served.
        admin = AdminClient({"bootstrap.servers": b1.bootstrap})
        admin.create_topics([NewTopic("after", 2, 1)], request_timeout=30)["after"].result()
        wait_until(lambda: self.leaders_seen_by(b2, "after"), 15, message="after served")
        producer = Producer({"bootstrap.servers": b2.bootstrap})
        for topic in ("before", "after"):
            producer.produce(topic, value=b"x", partition=0)
        self.assertEqual(producer.flush(30), 0)
        # The lost server comes back and catches up; nothing changes for the brokers.
        self.zk.start_server(lost)
        self.assertIn("ZooKeeper session", b1.log_text())
        self.assertNotIn("session expired", b1.log_text())
        self.assertNotIn("session expired", b2.log_text())


class RefusalTest(ClusterTestCase):

    def expect_start_failure(self, broker, text, within=15):
        """The broker exits with code 1 and `text` in its log. (The listeners bind before the
        broker registers in ZooKeeper, so the harness may see the port open first.)"""
        try:
            broker.start()
        except BrokerError:
            pass
        else:
            broker.proc.wait(timeout=within)
        self.assertEqual(broker.proc.returncode, 1)
        self.assertIn(text, broker.log_text())

    def test_a_broker_id_held_by_a_live_broker_is_refused(self):
        self.start_member(1)
        twin = Broker(properties=self.member_properties(1), name="twin", start=False)
        self.addCleanup(twin.cleanup)
        self.expect_start_failure(twin, "broker.id 1 is registered in ZooKeeper")

    def test_brokers_without_an_id_get_one_and_keep_it(self):
        props = self.member_properties(0)
        del props["broker.id"]
        b1 = self.start_broker(properties=dict(props), name="unnamed1")
        wait_until(lambda: self.broker_ids(b1) == [1001], 15, message="1001 generated")
        b2 = self.start_broker(properties=dict(props), name="unnamed2")
        wait_until(lambda: self.broker_ids(b1) == [1001, 1002], 15, message="1002 generated")
        with open(os.path.join(b1.data_dir, "meta.properties")) as f:
            self.assertIn("node.id=1001\n", f.read())
        # Restarted, a broker keeps the id in its log dir rather than taking a new one.
        b1.stop()
        b1.start()
        wait_until(lambda: self.broker_ids(b2) == [1001, 1002], 15,
                   message="broker 1001 back under its id")
        # Configured ids must stay below the generated ones, and without generation an id is
        # needed.
        high = Broker(properties=self.member_properties(1001), name="high", start=False)
        self.addCleanup(high.cleanup)
        self.expect_start_failure(high, "not greater than reserved.broker.max.id (1000)")
        none = Broker(properties=dict(props, **{"broker.id.generation.enable": "false"}),
                      name="none", start=False)
        self.addCleanup(none.cleanup)
        self.expect_start_failure(none, "broker.id.generation.enable is false")

    def test_a_log_dir_of_another_cluster_is_refused(self):
        b1 = self.start_member(1)
        other = Broker(properties=self.member_properties(2), name="other", start=False)
        self.addCleanup(other.cleanup)
        with open(os.path.join(other.data_dir, "meta.properties"), "w") as f:
            f.write("version=1\ncluster.id=AAAAAAAAAAAAAAAAAAAAAQ\nnode.id=2\n")
        self.expect_start_failure(other, "does not match the stored cluster id")
        self.assertEqual(self.broker_ids(b1), [1])

    def test_zookeeper_out_of_reach_fails_the_start_in_time(self):
        self.zk.stop_server(0)
        lonely = Broker(properties=self.member_properties(
            1, **{"zookeeper.connection.timeout.ms": 1500}), name="lonely", start=False)
        self.addCleanup(lonely.cleanup)
        started = time.monotonic()
        self.expect_start_failure(lonely, "cannot connect to ZooKeeper")
        self.assertLess(time.monotonic() - started, 10)

    def test_a_log_dir_in_use_by_another_process_is_refused(self):
        b1 = self.start_member(1)
        intruder = Broker(properties={"broker.id": 1}, data_dir=b1.data_dir, name="intruder",
                          start=False)
        self.addCleanup(intruder.cleanup)
        self.expect_start_failure(intruder, "another broker process is using this directory")
        b1.assert_running()


if __name__ == "__main__":
    unittest.main()

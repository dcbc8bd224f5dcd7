"""Brokers coordinated by ZooKeeper, in Kafka's znode layout (the seeds' two-broker setup):
registration under /brokers/ids, the controller election with its epoch, the cluster id in
/cluster/id, Metadata and DescribeCluster listing every live broker, brokers leaving and coming
back (SIGTERM, SIGKILL, an expired session), and the refusals: a broker id held by a live
broker, a log dir of another cluster, ZooKeeper out of reach.

Needs Debian's zookeeper (scripts/install-deps.sh --test) and kazoo (the venv's requirements).
"""

import json
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from broker_process import Broker, BrokerError, BrokerTestCase, wait_until  # noqa: E402
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

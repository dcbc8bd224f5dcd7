"""Replication between brokers of a ZooKeeper cluster, as Kafka does it: followers fetch from
their leaders (replica Fetch) and hold byte-identical copies with the same leader epochs; the
leader's high watermark is the smallest log end over the ISR, and consumers read up to it
only; acks=all waits for the ISR; a follower that stops fetching leaves the ISR after
replica.lag.time.max.ms and comes back once caught up (the leader writes the ISR to the
partition's state znode); min.insync.replicas refuses acks=all writes with too small an ISR.

Needs Debian's zookeeper (scripts/install-deps.sh --test) and kazoo (the venv's requirements).
"""

import os
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from broker_process import wait_until  # noqa: E402
from broker_process import REPO_ROOT  # noqa: E402
from cluster_case import SESSION_MS, TopicTestCase  # noqa: E402

import kafka_wire as kw  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

KAFKA_TOOL = os.path.join(REPO_ROOT, "scripts", "kafka-tool.sh")
KAFKA_TOOL_INSTALL = os.path.join(REPO_ROOT, "scripts", "install-java-clients.sh")
LAG_MS = 3000  # the brokers' replica.lag.time.max.ms: a stopped follower leaves the ISR soon
NOT_ENOUGH_REPLICAS = 19
REQUEST_TIMED_OUT = 7


def segment_bytes(broker, topic, partition):
    path = os.path.join(broker.data_dir, "%s-%d" % (topic, partition), "%020d.log" % 0)
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        return f.read()


def epochs_file(broker, topic, partition):
    path = os.path.join(broker.data_dir, "%s-%d" % (topic, partition), "leader-epoch-checkpoint")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return f.read()


class ReplicationTest(TopicTestCase):

    def three_brokers(self, extra=None):
        return super().three_brokers(dict({"replica.lag.time.max.ms": LAG_MS}, **(extra or {})))

    def produce(self, broker, topic, count, acks="all", prefix="v", config=None):
        producer = Producer(dict({"bootstrap.servers": broker.bootstrap, "acks": acks,
                                  "linger.ms": 5}, **(config or {})))
        failures = []
        for i in range(count):
            producer.produce(topic, key=b"k%d" % i, value=b"%s%d" % (prefix.encode(), i),
                             on_delivery=lambda e, m: failures.append(e) if e else None)
        self.assertEqual(producer.flush(60), 0)
        self.assertEqual(failures, [])

    def latest(self, broker, topic, partition):
        with kw.Connection("127.0.0.1", broker.port) as c:
            return c.latest_offset(topic, partition)

    def isr(self, topic, partition):
        s = self.state(topic, partition)
        return sorted(s["isr"]) if s else None

    def test_followers_hold_byte_identical_copies(self):
        brokers = self.three_brokers()
        self.create_in_zookeeper("copied", [[1, 2, 3], [2, 3, 1]])
        for p in (0, 1):
            self.wait_state("copied", p)
        for b in brokers.values():
            wait_until(lambda: self.leaders_seen_by(b, "copied") ==
                       {0: (1, [1, 2, 3], [1, 2, 3]), 1: (2, [2, 3, 1], [2, 3, 1])}, 15,
                       message="the leaders of copied as seen by %s" % b.bootstrap)
        self.produce(brokers[3], "copied", 2000, config={"enable.idempotence": True})
        for p, leader in ((0, 1), (1, 2)):
            want = segment_bytes(brokers[leader], "copied", p)
            self.assertTrue(want)
            for i, b in brokers.items():
                wait_until(lambda: segment_bytes(b, "copied", p) == want, 15,
                           message="copied-%d on broker %d equal to its leader's" % (p, i))
                # The first leader epoch, 0, starts at offset 0 on every replica.
                self.assertEqual(epochs_file(b, "copied", p), "0\n1\n0 0\n")
        # acks=all waited for the ISR: the high watermark is the log end everywhere it is read.
        self.assertEqual(self.latest(brokers[1], "copied", 0) +
                         self.latest(brokers[2], "copied", 1), 2000)
        # Followers serve no client: NOT_LEADER_OR_FOLLOWER sends it to the leader.
        batch = kw.build_record_batch([kw.Record(value=b"x")])
        with kw.Connection("127.0.0.1", brokers[2].port) as c:
            self.assertEqual(c.produce_one("copied", 0, batch)["error_code"],
                             self.NOT_LEADER_OR_FOLLOWER)
            self.assertEqual(c.fetch({"copied": {0: 0}})[("copied", 0)]["error_code"],
                             self.NOT_LEADER_OR_FOLLOWER)

    def test_a_stopped_follower_leaves_the_isr_and_comes_back(self):
        brokers = self.three_brokers()
        self.create_in_zookeeper("lagging", [[1, 2, 3]])
        for b in brokers.values():
            wait_until(lambda: self.leaders_seen_by(b, "lagging") ==
                       {0: (1, [1, 2, 3], [1, 2, 3])}, 15, message="lagging set up")
        self.produce(brokers[1], "lagging", 100)
        self.assertEqual(self.latest(brokers[1], "lagging", 0), 100)

        os.kill(brokers[3].pid, signal.SIGSTOP)
        try:
            # While broker 3 is still in the ISR, acks=1 writes land on the leader but the high
            # watermark stays: consumers do not see them yet.
            self.produce(brokers[1], "lagging", 50, acks="1", prefix="w")
            self.assertEqual(self.latest(brokers[1], "lagging", 0), 100)
            consumer = Consumer({"bootstrap.servers": brokers[1].bootstrap, "group.id": "g",
                                 "enable.auto.commit": False})
            consumer.assign([TopicPartition("lagging", 0, 100)])
            m = consumer.poll(1)
            self.assertTrue(m is None or m.error() is not None, m and m.value())
            # After replica.lag.time.max.ms the leader drops it from the ISR in ZooKeeper, and
            # the high watermark moves on.
            wait_until(lambda: self.isr("lagging", 0) == [1, 2], LAG_MS / 1000 * 4,
                       message="broker 3 out of the ISR")
            wait_until(lambda: self.latest(brokers[1], "lagging", 0) == 150, 10,
                       message="the high watermark past the 50 records")
            values = []
            deadline = time.monotonic() + 15
            while len(values) < 50 and time.monotonic() < deadline:
                m = consumer.poll(1)
                if m is not None and m.error() is None:
                    values.append(m.value())
            consumer.close()
            self.assertEqual(values, [b"w%d" % i for i in range(50)])
            # acks=all needs only the ISR now.
            self.produce(brokers[1], "lagging", 10, prefix="x")
        finally:
            os.kill(brokers[3].pid, signal.SIGCONT)
        # Resumed, it catches up and the leader takes it back into the ISR.
        wait_until(lambda: self.isr("lagging", 0) == [1, 2, 3], 15,
                   message="broker 3 back in the ISR")
        want = segment_bytes(brokers[1], "lagging", 0)
        wait_until(lambda: segment_bytes(brokers[3], "lagging", 0) == want, 10,
                   message="broker 3's copy complete")
        for b in brokers.values():
            wait_until(lambda: self.leaders_seen_by(b, "lagging") ==
                       {0: (1, [1, 2, 3], [1, 2, 3])}, 15, message="the ISR seen by all")

    def test_min_insync_replicas_refuses_acks_all_with_a_small_isr(self):
        brokers = self.three_brokers()
        self.create_in_zookeeper("guarded", [[1, 2]], configs={"min.insync.replicas": "2"})
        for b in brokers.values():
            wait_until(lambda: self.leaders_seen_by(b, "guarded") == {0: (1, [1, 2], [1, 2])},
                       15, message="guarded set up")
        batch = kw.build_record_batch([kw.Record(value=b"a")])
        with kw.Connection("127.0.0.1", brokers[1].port) as c:
            self.assertEqual(c.produce_one("guarded", 0, batch, acks=-1)["error_code"], 0)
        os.kill(brokers[2].pid, signal.SIGSTOP)
        try:
            with kw.Connection("127.0.0.1", brokers[1].port) as c:
                # Still in the ISR but not fetching: acks=all waits, and times out.
                r = c.produce_one("guarded", 0, batch, acks=-1, timeout_ms=500)
                self.assertEqual(r["error_code"], REQUEST_TIMED_OUT)
            wait_until(lambda: self.isr("guarded", 0) == [1], LAG_MS / 1000 * 4,
                       message="broker 2 out of the ISR")
            wait_until(lambda: self.leaders_seen_by(brokers[1], "guarded") ==
                       {0: (1, [1, 2], [1])}, 10, message="the leader knowing its ISR")
            with kw.Connection("127.0.0.1", brokers[1].port) as c:
                r = c.produce_one("guarded", 0, batch, acks=-1)
                self.assertEqual(r["error_code"], NOT_ENOUGH_REPLICAS)
                # acks=1 does not ask for the ISR.
                self.assertEqual(c.produce_one("guarded", 0, batch, acks=1)["error_code"], 0)
        finally:
            os.kill(brokers[2].pid, signal.SIGCONT)
        wait_until(lambda: self.isr("guarded", 0) == [1, 2], 15, message="broker 2 back")
        wait_until(lambda: self.leaders_seen_by(brokers[1], "guarded") ==
                   {0: (1, [1, 2], [1, 2])}, 10, message="the leader knowing its ISR")
        with kw.Connection("127.0.0.1", brokers[1].port) as c:
            self.assertEqual(c.produce_one("guarded", 0, batch, acks=-1)["error_code"], 0)
            self.assertEqual(c.latest_offset("guarded", 0), 4)


    def consume_all(self, broker, topic, partition, count, timeout=30):
        consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "check",
                             "enable.auto.commit": False})
        consumer.assign([TopicPartition(topic, partition, 0)])
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < count and time.monotonic() < deadline:
            m = consumer.poll(1)
            if m is not None and m.error() is None:
                got.append((m.offset(), m.value()))
        # Nothing more comes.
        m = consumer.poll(1)
        if m is not None and m.error() is None:
            got.append((m.offset(), m.value()))
        consumer.close()
        return got

    def leader_of(self, topic, partition):
        s = self.state(topic, partition)
        return s["leader"] if s else None

    def test_a_killed_leader_is_replaced_and_loses_no_acknowledged_record(self):
        brokers = self.three_brokers()
        self.create_in_zookeeper("kept", [[1, 2, 3]], configs={"min.insync.replicas": "2"})
        for b in brokers.values():
            wait_until(lambda: self.leaders_seen_by(b, "kept") == {0: (1, [1, 2, 3], [1, 2, 3])},
                       15, message="kept set up")
        self.produce(brokers[1], "kept", 300, config={"enable.idempotence": True})
        brokers[1].kill()
        # After broker 1's session ends, the controller elects the first live ISR replica.
        wait_until(lambda: self.leader_of("kept", 0) == 2, SESSION_MS / 1000 * 5,
                   message="broker 2 leading kept-0")
        state = self.state("kept", 0)
        self.assertEqual(state["leader_epoch"], 1)
        self.assertEqual(sorted(state["isr"]), [2, 3])
        got = self.consume_all(brokers[3], "kept", 0, 300)
        self.assertEqual(got, [(i, b"v%d" % i) for i in range(300)])
        # The new leader takes acks=all writes (min.insync.replicas 2: brokers 2 and 3).
        self.produce(brokers[3], "kept", 100, prefix="n", config={"enable.idempotence": True})
        # Broker 1 comes back as a follower, catches up, and rejoins the ISR.
        brokers[1].start()
        wait_until(lambda: self.isr("kept", 0) == [1, 2, 3], 20, message="broker 1 back in")
        want = segment_bytes(brokers[2], "kept", 0)
        wait_until(lambda: segment_bytes(brokers[1], "kept", 0) == want, 10,
                   message="broker 1's copy equal to the new leader's")
        self.assertEqual(epochs_file(brokers[1], "kept", 0), "0\n2\n0 0\n1 300\n")

    def test_a_restarted_leader_resumes_its_high_watermark(self):
        brokers = self.three_brokers({"log.flush.offset.checkpoint.interval.ms": 200})
        self.create_in_zookeeper("resumed", [[1, 2]])
        wait_until(lambda: self.leaders_seen_by(brokers[1], "resumed") ==
                   {0: (1, [1, 2], [1, 2])}, 15, message="resumed set up")
        self.produce(brokers[1], "resumed", 100)
        # Kafka's replication-offset-checkpoint in each log dir: the leader's and the follower's.
        for i in (1, 2):
            path = os.path.join(brokers[i].data_dir, "replication-offset-checkpoint")
            wait_until(lambda: os.path.exists(path) and
                       "resumed 0 100\n" in open(path).read(), 10,
                       message="broker %d's replication-offset-checkpoint" % i)
        text = open(os.path.join(brokers[1].data_dir, "replication-offset-checkpoint")).read()
        lines = text.splitlines()
        self.assertEqual(lines[0], "0")
        self.assertEqual(int(lines[1]), len(lines) - 2)
        # The leader restarts while its follower is frozen (still in the ISR until its session
        # ends): its high watermark is where it was, not back at the log start.
        os.kill(brokers[2].pid, signal.SIGSTOP)
        try:
            brokers[1].kill()
            brokers[1].start()
            first = wait_until(lambda: self.latest_answer(brokers[1], "resumed", 0), 15,
                               message="broker 1 serving resumed-0 again")
            self.assertEqual(first, [100])  # its first answer
        finally:
            os.kill(brokers[2].pid, signal.SIGCONT)

    def latest_answer(self, broker, topic, partition):
        """[latest offset] once the broker answers it without an error, else None."""
        try:
            with kw.Connection("127.0.0.1", broker.port) as c:
                return [c.latest_offset(topic, partition)]
        except (OSError, AssertionError):
            return None

    def test_a_returning_old_leader_truncates_what_the_new_leader_lacks(self):
        brokers = self.three_brokers()
        self.create_in_zookeeper("diverged", [[1, 2]])
        for b in brokers.values():
            wait_until(lambda: self.leaders_seen_by(b, "diverged") ==
                       {0: (1, [1, 2], [1, 2])}, 15, message="diverged set up")
        self.produce(brokers[1], "diverged", 100)
        want = segment_bytes(brokers[1], "diverged", 0)
        wait_until(lambda: segment_bytes(brokers[2], "diverged", 0) == want, 10,
                   message="broker 2 caught up")
        # Broker 2 stops fetching; broker 1 takes 20 records with acks=1 that reach no one
        # else, and dies before it would drop broker 2 from the ISR.
        os.kill(brokers[2].pid, signal.SIGSTOP)
        try:
            # Its fetch waiting at the leader ends empty first (replica.fetch.wait.max.ms), or
            # the records would reach it in that fetch's answer.
            time.sleep(1)
            self.produce(brokers[1], "diverged", 20, acks="1", prefix="lost")
            brokers[1].kill()
        finally:
            os.kill(brokers[2].pid, signal.SIGCONT)
        self.assertEqual(self.isr("diverged", 0), [1, 2])
        wait_until(lambda: self.leader_of("diverged", 0) == 2, SESSION_MS / 1000 * 5,
                   message="broker 2 leading diverged-0")
        self.produce(brokers[3], "diverged", 10, prefix="new")
        # Broker 1 returns with 120 records where the new leader has 110 different ones: it
        # finds where epoch 0 ends on the leader (offset 100), cuts its log there, and copies
        # the rest.
        brokers[1].start()
        wait_until(lambda: self.isr("diverged", 0) == [1, 2], 20, message="broker 1 back in")
        want = segment_bytes(brokers[2], "diverged", 0)
        wait_until(lambda: segment_bytes(brokers[1], "diverged", 0) == want, 10,
                   message="broker 1's log equal to the new leader's")
        wait_until(lambda: "truncated to 100" in brokers[1].log_text(), 10,
                   message="broker 1 saying where it truncated")
        got = self.consume_all(brokers[3], "diverged", 0, 110)
        self.assertEqual([v for _, v in got],
                         [b"v%d" % i for i in range(100)] + [b"new%d" % i for i in range(10)])


    def test_a_stopped_leader_hands_its_partitions_over_first(self):
        brokers = self.three_brokers()
        self.create_in_zookeeper("handed", [[1, 2, 3]], configs={"min.insync.replicas": "2"})
        for b in brokers.values():
            wait_until(lambda: self.leaders_seen_by(b, "handed") ==
                       {0: (1, [1, 2, 3], [1, 2, 3])}, 15, message="handed set up")
        producer = Producer({"bootstrap.servers": brokers[2].bootstrap, "acks": "all",
                             "enable.idempotence": True, "linger.ms": 2})
        failures = []
        sent = 0

        def send(n):
            nonlocal sent
            for _ in range(n):
                producer.produce("handed", value=b"m%d" % sent,
                                 on_delivery=lambda e, m: failures.append(e) if e else None)
                sent += 1
                producer.poll(0)

        send(200)
        self.assertEqual(producer.flush(30), 0)
        # Broker 1 stops (SIGTERM) while records keep coming: the controller moves the
        # leadership to broker 2 before broker 1 closes its listeners.
        stopping = threading.Thread(target=brokers[1].stop)
        stopping.start()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            send(20)
            time.sleep(0.01)
        stopping.join()
        self.assertEqual(producer.flush(30), 0)
        self.assertEqual(failures, [])
        state = self.state("handed", 0)
        self.assertEqual((state["leader"], sorted(state["isr"])), (2, [2, 3]))
        self.assertRegex(brokers[1].log_text(), r"controlled shutdown: leadership moved in \d+ ms")
        got = self.consume_all(brokers[3], "handed", 0, sent)
        self.assertEqual([v for _, v in got], [b"m%d" % i for i in range(sent)])


    def test_preferred_leader_election_with_kafkas_tool_and_by_itself(self):
        subprocess.run([KAFKA_TOOL_INSTALL], check=True, timeout=600)
        extra = {"replica.lag.time.max.ms": LAG_MS, "auto.leader.rebalance.enable": False}
        brokers = {i: self.start_member(i, extra=extra) for i in (1, 2, 3)}
        for b in brokers.values():
            wait_until(lambda: self.broker_ids(b) == [1, 2, 3], 15, message="all listed")
        self.create_in_zookeeper("preferred", [[1, 2, 3], [2, 3, 1]])
        for p in (0, 1):
            self.wait_state("preferred", p)
        self.produce(brokers[2], "preferred", 50)
        brokers[1].kill()
        wait_until(lambda: self.leader_of("preferred", 0) == 2, SESSION_MS / 1000 * 5,
                   message="broker 2 leading preferred-0")
        brokers[1].start()
        wait_until(lambda: self.isr("preferred", 0) == [1, 2, 3], 20, message="broker 1 back")
        self.assertEqual(self.leader_of("preferred", 0), 2)  # no rebalance by itself here

        def leader_election(*args):
            p = subprocess.run([KAFKA_TOOL, "kafka-leader-election.sh", "--bootstrap-server",
                                brokers[3].bootstrap] + list(args), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=120)
            return p.returncode, p.stdout

        rc, out = leader_election("--election-type", "preferred", "--all-topic-partitions")
        self.assertEqual(rc, 0, out)
        self.assertIn("Successfully completed leader election (PREFERRED) for partitions "
                      "preferred-0", out)
        state = self.state("preferred", 0)
        self.assertEqual((state["leader"], state["leader_epoch"]), (1, 2))
        # Asked again for the partition: nothing to do, as Kafka says it.
        rc, out = leader_election("--election-type", "preferred", "--topic", "preferred",
                                  "--partition", "0")
        self.assertIn("Valid replica already elected for partitions preferred-0", out)
        # A preferred replica that is down: refused with Kafka's error.
        os.kill(brokers[2].pid, signal.SIGSTOP)
        try:
            wait_until(lambda: self.leader_of("preferred", 1) == 3, SESSION_MS / 1000 * 5,
                       message="preferred-1 moved off the stopped broker 2")
            rc, out = leader_election("--election-type", "preferred", "--topic", "preferred",
                                      "--partition", "1")
        finally:
            os.kill(brokers[2].pid, signal.SIGCONT)
        self.assertIn("preferred-1", out)
        self.assertIn("PreferredLeaderNotAvailableException", out)

    def test_the_controller_moves_leadership_back_to_preferred_replicas(self):
        extra = {"leader.imbalance.check.interval.seconds": 1}
        brokers = {i: self.start_member(i, extra=extra) for i in (1, 2, 3)}
        for b in brokers.values():
            wait_until(lambda: self.broker_ids(b) == [1, 2, 3], 15, message="all listed")
        self.create_in_zookeeper("rebalanced", [[1, 2, 3], [1, 3, 2]])
        for p in (0, 1):
            self.wait_state("rebalanced", p)
        brokers[1].kill()
        wait_until(lambda: self.leader_of("rebalanced", 0) != 1 and
                   self.leader_of("rebalanced", 1) != 1, SESSION_MS / 1000 * 5,
                   message="broker 1's partitions moved")
        brokers[1].start()
        # Back in the ISRs, broker 1 leads both again (auto.leader.rebalance.enable).
        wait_until(lambda: self.leader_of("rebalanced", 0) == 1 and
                   self.leader_of("rebalanced", 1) == 1, 30,
                   message="leadership back on broker 1")


if __name__ == "__main__":
    unittest.main()

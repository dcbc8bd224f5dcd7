#!/usr/bin/python3
"""What the broker does when clients ask for more than it can give, found by fuzzing over the wire
(issue: reliability under attack): huge partition counts, running out of file descriptors, and
floods of bad requests filling the log.

Run: /usr/bin/python3 integration/test_resource_limits.py [-v]
"""

import os
import re
import socket
import struct
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kafka_wire as kw  # noqa: E402
from broker_process import BrokerTestCase, unique_name, wait_until  # noqa: E402
from ck_helpers import TIMEOUT, admin_client, error_code  # noqa: E402

from confluent_kafka import KafkaError, KafkaException  # noqa: E402
from confluent_kafka.admin import NewPartitions, NewTopic  # noqa: E402

POLICY_VIOLATION = 44
LIMIT = 120
PER_REQUEST = 100


def partition_dirs(data_dir, topic):
    pattern = re.compile(re.escape(topic) + r"-\d+$")
    return [d for d in os.listdir(data_dir) if pattern.match(d)]


def usable_memory():
    """What the broker derives its default partition limit from: physical memory or the cgroup's
    limit, whichever is lower."""
    with open("/proc/meminfo") as f:
        total = int(next(l for l in f if l.startswith("MemTotal:")).split()[1]) * 1024
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as f:
                text = f.read().strip()
            if text != "max" and 0 < int(text) < total:
                total = int(text)
        except (OSError, ValueError):
            pass
    return total


class PartitionLimitTest(BrokerTestCase):
    per_test_broker = True
    broker_properties = {"runnel.max.partitions": LIMIT,
                         "runnel.max.partitions.per.request": PER_REQUEST,
                         "num.partitions": 30}

    def connect(self):
        c = kw.Connection.to(self.broker.bootstrap, timeout=30)
        self.addCleanup(c.close)
        return c

    def test_request_past_the_per_request_bound_is_refused_as_a_whole(self):
        c = self.connect()
        a, b = unique_name("half-a"), unique_name("half-b")
        res = c.create_topics([(a, 60, 1, {}), (b, 60, 1, {})])
        for name in (a, b):
            self.assertEqual(res[name][0], POLICY_VIOLATION, res)
            self.assertIn("120 requested, limit 100", res[name][1])
            self.assertIn("runnel.max.partitions.per.request", res[name][1])
            self.assertEqual(partition_dirs(self.broker.data_dir, name), [])
        md = c.metadata([a, b])
        self.assertTrue(all(t["error_code"] == 3 for t in md["topics"]), md)

    def test_broker_limit_refuses_creation_past_it(self):
        c = self.connect()
        first = unique_name("first")
        c.create_topic_or_fail(first, 100)
        over = unique_name("over")
        res = c.create_topics([(over, 30, 1, {})])
        self.assertEqual(res[over][0], POLICY_VIOLATION, res)
        self.assertIn("past its limit of 120 (runnel.max.partitions)", res[over][1])
        self.assertEqual(partition_dirs(self.broker.data_dir, over), [])
        # validate_only applies the same policy.
        res = c.create_topics([(over, 30, 1, {})], validate_only=True)
        self.assertEqual(res[over][0], POLICY_VIOLATION, res)
        # Exactly up to the limit is fine.
        c.create_topic_or_fail(unique_name("fits"), 20)
        # CreatePartitions from a real client is refused the same way.
        admin = admin_client(self.broker.bootstrap)
        fs = admin.create_partitions([NewPartitions(first, 101)], request_timeout=TIMEOUT)
        with self.assertRaises(KafkaException) as cm:
            fs[first].result(timeout=TIMEOUT)
        self.assertEqual(error_code(cm.exception), KafkaError.POLICY_VIOLATION)
        self.assertEqual(len(partition_dirs(self.broker.data_dir, first)), 100)
        # Deleting a topic makes room again.
        fs = admin.delete_topics([first], operation_timeout=10, request_timeout=TIMEOUT)
        fs[first].result(timeout=TIMEOUT)
        c.create_topic_or_fail(over, 30)
        # One warning line per minute about the limit, not one per refusal.
        for _ in range(5):
            res = c.create_topics([(unique_name("again"), 80, 1, {})])
            self.assertEqual(list(res.values())[0][0], POLICY_VIOLATION)
        warnings = [l for l in self.broker.log_text().splitlines()
                    if "(runnel.max.partitions)" in l and "warn" in l]
        self.assertEqual(len(warnings), 1, warnings)

    def test_auto_creation_obeys_the_limit(self):
        c = self.connect()
        c.create_topic_or_fail(unique_name("fill"), 100)
        wanted = unique_name("auto")
        md = c.metadata([wanted], allow_auto_topic_creation=True)
        self.assertEqual([t["error_code"] for t in md["topics"]], [POLICY_VIOLATION], md)
        self.assertEqual(partition_dirs(self.broker.data_dir, wanted), [])
        md = c.metadata([wanted])
        self.assertEqual([t["error_code"] for t in md["topics"]], [3], md)

    def test_new_topic_with_50000_partitions_from_confluent_kafka(self):
        # The reproduction: this ran the broker out of descriptors.
        admin = admin_client(self.broker.bootstrap)
        fs = admin.create_topics([NewTopic("big", 50000, 1)], request_timeout=TIMEOUT)
        with self.assertRaises(KafkaException) as cm:
            fs["big"].result(timeout=TIMEOUT)
        self.assertEqual(error_code(cm.exception), KafkaError.POLICY_VIOLATION)
        self.assertEqual(partition_dirs(self.broker.data_dir, "big"), [])
        self.assertLess(self.broker.open_descriptors(), 100)


class DefaultPartitionLimitTest(BrokerTestCase):
    per_test_broker = True

    def test_default_limit_is_derived_from_memory(self):
        m = re.search(r"limits: (\d+) partitions \(runnel.max.partitions\)",
                      self.broker.log_text())
        self.assertIsNotNone(m, self.broker.log_text())
        expected = max(1000, usable_memory() // 2 // (64 * 1024))
        self.assertEqual(int(m.group(1)), expected)
        # A single request keeps Kafka's per-request bound of 10,000.
        with kw.Connection.to(self.broker.bootstrap, timeout=30) as c:
            name = unique_name("huge")
            res = c.create_topics([(name, 10001, 1, {})])
            self.assertEqual(res[name][0], POLICY_VIOLATION, res)


def api_versions_frame(correlation_id=1):
    body = kw.encode_api_versions_request(0)
    header = struct.pack(">hhi", kw.API_VERSIONS, 0, correlation_id) + struct.pack(">h", 4) + b"test"
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def answered(sock, timeout=5.0):
    """'answered', 'refused' (closed or reset by the broker) or 'hung'."""
    sock.settimeout(timeout)
    try:
        sock.sendall(api_versions_frame())
        data = sock.recv(4)
        return "answered" if len(data) > 0 else "refused"
    except (ConnectionResetError, BrokenPipeError):
        return "refused"
    except socket.timeout:
        return "hung"


class DescriptorExhaustionTest(BrokerTestCase):
    per_test_broker = True
    FILE_LIMIT = 96

    def test_out_of_descriptors_refuses_new_connections_and_serves_the_open_ones(self):
        broker = self.start_broker(open_file_limit=self.FILE_LIMIT, name="fd-limit")
        self.assertIn("open file limit: soft %d, hard %d" % (self.FILE_LIMIT, self.FILE_LIMIT),
                      broker.log_text())
        held = kw.Connection.to(broker.bootstrap, timeout=10)
        self.addCleanup(held.close)
        self.assertEqual(held.api_versions(3)[0], 0)
        log_lines_before = len(broker.log_text().splitlines())

        flood = []
        self.addCleanup(lambda: [s.close() for s in flood])
        for _ in range(3 * self.FILE_LIMIT):
            flood.append(socket.create_connection(("127.0.0.1", broker.port), timeout=5))
        outcomes = [answered(s) for s in flood]
        self.assertEqual(outcomes.count("hung"), 0, outcomes)
        self.assertGreater(outcomes.count("refused"), 0, outcomes)
        self.assertGreater(outcomes.count("answered"), 0, outcomes)
        # The connection opened before keeps being served throughout.
        self.assertEqual(held.api_versions(3)[0], 0)
        broker.assert_running()

        for s in flood:
            s.close()
        flood.clear()

        def new_connection_answered():
            with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as s:
                return answered(s) == "answered"
        wait_until(new_connection_answered, timeout=10,
                   message="a new connection answered after the flood")
        wait_until(lambda: "works again" in broker.log_text(), timeout=5,
                   message="the end of the accept failures logged")
        lines = broker.log_text().splitlines()[log_lines_before:]
        accept_lines = [l for l in lines if "accept on" in l]
        # One line when a streak starts and one when it ends, not one per failed accept.
        self.assertLessEqual(len(accept_lines), 10, "\n".join(accept_lines))
        self.assertLessEqual(len(lines), 40, "\n".join(lines))
        # Still a working broker: a topic can be created and written.
        with kw.Connection.to(broker.bootstrap, timeout=10) as c:
            topic = unique_name("after-flood")
            c.create_topic_or_fail(topic, 2)
            res = c.produce_one(topic, 0, kw.build_record_batch([kw.Record(value=b"x")]))
            self.assertEqual(res["error_code"], 0, res)


class BadRequestFloodTest(BrokerTestCase):
    per_test_broker = True

    def test_warnings_about_one_peer_are_rate_limited_with_a_summary(self):
        sent = 300
        for i in range(sent):
            with socket.create_connection(("127.0.0.1", self.broker.port), timeout=5) as s:
                # API key 9999 does not exist: the broker closes the connection with a warning.
                payload = struct.pack(">hhih", 9999, 0, i, -1)
                s.sendall(struct.pack(">i", len(payload)) + payload)
                s.settimeout(5)
                try:
                    self.assertEqual(s.recv(1), b"")
                except ConnectionResetError:
                    pass
        shards = self.broker.shards
        summary = re.compile(r"(\d+) more warning\(s\) about bad requests from 1 peer\(s\)")
        # Each shard logs at most 5 lines per peer per 10 s, then one summary of the rest.
        total = wait_until(
            lambda: (lambda text: (sum(int(m) for m in summary.findall(text)) +
                                   text.count("unsupported API key 9999")) == sent and text)(
                self.broker.log_text()),
            timeout=25, message="summaries accounting for every refused request")
        self.assertLessEqual(total.count("unsupported API key 9999"), 5 * shards)
        self.assertLessEqual(len(summary.findall(total)), shards)
        # The broker still answers.
        with kw.Connection.to(self.broker.bootstrap, timeout=10) as c:
            self.assertEqual(c.api_versions(3)[0], 0)


if __name__ == "__main__":
    unittest.main()

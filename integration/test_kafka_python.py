#!/usr/bin/python3
"""Integration tests with kafka-python 2.0.2 (Debian python3-kafka) against a real broker.

Run: /usr/bin/python3 integration/test_kafka_python.py [-v] [TestClass.test_name]
Consumers never use a group (group_id=None) and producers never use idempotence: the broker
does not implement consumer groups or InitProducerId yet.
"""

import json
import os
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from broker_process import BrokerTestCase, unique_name, wait_until  # noqa: E402

import kafka  # noqa: E402
import kafka.codec  # noqa: E402
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic  # noqa: E402
from kafka.errors import InvalidTopicError, TopicAlreadyExistsError  # noqa: E402

REQUEST_TIMEOUT_MS = 15000
# The same produce/consume tests run with Debian's kafka-python 2.0.2 (/usr/bin/python3) and with
# kafka-python 3.x from the project's venv (scripts/install-python-clients.sh); the admin client
# was rewritten in 3.0 (dicts instead of response objects), so each generation has its own admin
# test class and the other one is skipped.
KAFKA_PYTHON_3 = int(kafka.__version__.split(".")[0]) >= 3


def producer(bootstrap, **kw):
    kw.setdefault("request_timeout_ms", REQUEST_TIMEOUT_MS)
    kw.setdefault("max_block_ms", 15000)
    kw.setdefault("retries", 3)
    return KafkaProducer(bootstrap_servers=bootstrap, **kw)


def json_producer(bootstrap, **kw):
    """Like the tutorial's put.py."""
    return producer(bootstrap,
                    value_serializer=lambda v: json.dumps(v).encode("utf-8"),
                    key_serializer=lambda k: k.encode("utf-8"), **kw)


def json_consumer(bootstrap, topic, **kw):
    """Like the tutorial's get.py (but with group_id=None spelled out)."""
    kw.setdefault("consumer_timeout_ms", 3000)
    kw.setdefault("request_timeout_ms", 30000)
    return KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                         group_id=None, value_deserializer=json.loads, **kw)


def plain_consumer(bootstrap, **kw):
    kw.setdefault("consumer_timeout_ms", 3000)
    kw.setdefault("request_timeout_ms", 30000)
    kw.setdefault("auto_offset_reset", "earliest")
    return KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                         **kw)


def admin(bootstrap):
    return KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=REQUEST_TIMEOUT_MS,
                            client_id=unique_name("admin"))


def poll_until(consumer, count, timeout=20.0):
    """Polls an assigned consumer until `count` records arrived (or timeout); returns them."""
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < count and time.monotonic() < deadline:
        for recs in consumer.poll(timeout_ms=500).values():
            out.extend(recs)
    out.sort(key=lambda r: (r.partition, r.offset))
    return out


class ProduceConsumeTest(BrokerTestCase):
    """put.py / get.py workflow. Auto-created topics get num.partitions=3 partitions, so
    order is checked per partition (Kafka orders only within a partition)."""

    broker_properties = {"num.partitions": 3, "auto.create.topics.enable": True}

    def sent_events(self, n):
        return [("user-%d" % (i % 4), {"seq": i, "event": "click", "payload": "x" * (i % 50),
                                       "nested": {"ok": True, "n": [i, None, 1.5]}})
                for i in range(n)]

    def produce_json(self, topic, events, **producer_kw):
        p = json_producer(self.broker.bootstrap, **producer_kw)
        try:
            futures = [p.send(topic, key=k, value=v) for k, v in events]
            p.flush(timeout=20)
            metas = [f.get(timeout=20) for f in futures]
        finally:
            p.close(timeout=10)
        return metas

    def check_read_back(self, topic, events, metas, exact_offsets=True):
        c = json_consumer(self.broker.bootstrap, topic)
        try:
            got = list(c)
        finally:
            c.close()
        self.assertEqual(len(got), len(events), "consumed %d of %d records" % (
            len(got), len(events)))
        by_partition = {}
        for (k, v), m in zip(events, metas):
            by_partition.setdefault(m.partition, []).append((k, v, m.offset))
        got_by_partition = {}
        for r in got:
            self.assertEqual(r.topic, topic)
            got_by_partition.setdefault(r.partition, []).append(
                (r.key.decode(), r.value, r.offset))
        self.assertEqual(sorted(by_partition), sorted(got_by_partition))
        for p, sent in by_partition.items():
            recv = got_by_partition[p]
            self.assertEqual([(k, v) for k, v, _ in recv], [(k, v) for k, v, _ in sent],
                             "partition %d content/order differs" % p)
            self.assertEqual([o for _, _, o in recv], list(range(len(recv))),
                             "partition %d offsets should be 0..n-1" % p)
            if exact_offsets:
                self.assertEqual([o for _, _, o in sent], [o for _, _, o in recv])
        # the same key always lands in the same partition
        key_partitions = {}
        for (k, _), m in zip(events, metas):
            key_partitions.setdefault(k, set()).add(m.partition)
        for k, ps in key_partitions.items():
            self.assertEqual(len(ps), 1, "key %s spread over partitions %s" % (k, ps))

    def test_json_roundtrip_acks_1(self):
        topic = unique_name("kp-acks1")
        events = self.sent_events(200)
        metas = self.produce_json(topic, events, acks=1)
        self.check_read_back(topic, events, metas)

    def test_json_roundtrip_acks_all(self):
        topic = unique_name("kp-acksall")
        events = self.sent_events(200)
        metas = self.produce_json(topic, events, acks="all")
        self.check_read_back(topic, events, metas)

    def test_json_roundtrip_acks_0(self):
        topic = unique_name("kp-acks0")
        events = self.sent_events(100)
        metas = self.produce_json(topic, events, acks=0)
        if not KAFKA_PYTHON_3:  # 3.0.12 reports its synthetic response's offsets, not -1
            for m in metas:
                self.assertEqual(m.offset, -1, "acks=0 gives no offsets")
        self.check_read_back(topic, events, metas, exact_offsets=False)

    def test_single_key_total_order(self):
        topic = unique_name("kp-order")
        events = [("only-key", {"seq": i}) for i in range(300)]
        metas = self.produce_json(topic, events, acks=1, linger_ms=5, batch_size=2048)
        self.assertEqual(len({m.partition for m in metas}), 1)
        self.assertEqual([m.offset for m in metas], list(range(300)))
        c = json_consumer(self.broker.bootstrap, topic)
        try:
            got = [r.value["seq"] for r in c]
        finally:
            c.close()
        self.assertEqual(got, list(range(300)))

    def _codec_roundtrip(self, codec):
        topic = unique_name("kp-" + codec)
        events = self.sent_events(300)
        metas = self.produce_json(topic, events, acks=1, compression_type=codec, linger_ms=20,
                                  batch_size=64 * 1024)
        self.check_read_back(topic, events, metas)

    def test_compression_gzip(self):
        self._codec_roundtrip("gzip")

    def test_compression_snappy(self):
        if not kafka.codec.has_snappy():
            self.skipTest("python-snappy not importable by /usr/bin/python3 "
                          "(Debian package python3-snappy)")
        self._codec_roundtrip("snappy")

    def test_compression_lz4(self):
        if not kafka.codec.has_lz4():
            self.skipTest("lz4 not importable by /usr/bin/python3 (Debian package python3-lz4)")
        self._codec_roundtrip("lz4")

    def test_compression_zstd(self):
        if not kafka.codec.has_zstd():
            self.skipTest("zstandard not importable by /usr/bin/python3 "
                          "(Debian package python3-zstandard)")
        self._codec_roundtrip("zstd")

    def test_headers_null_keys_and_tombstones(self):
        topic = unique_name("kp-headers")
        p = producer(self.broker.bootstrap, acks=1)
        sent = [
            (None, b"no key, no headers", []),
            (None, b"no key, headers", [("trace-id", b"abc123"), ("empty", b"")]),
            (b"k1", b"keyed", [("dup", b"1"), ("dup", b"2"), ("unicode-\u00e9", b"\xff\x00")]),
            (b"k1", None, [("tombstone", b"yes")]),
            (b"", b"", []),
        ]
        try:
            futures = [p.send(topic, key=k, value=v, headers=h, partition=0) for k, v, h in sent]
            p.flush(timeout=20)
            metas = [f.get(timeout=20) for f in futures]
        finally:
            p.close(timeout=10)
        self.assertEqual([m.offset for m in metas], list(range(len(sent))))
        c = plain_consumer(self.broker.bootstrap)
        try:
            c.assign([TopicPartition(topic, 0)])
            got = poll_until(c, len(sent))
        finally:
            c.close()
        self.assertEqual([(r.key, r.value, r.headers) for r in got],
                         [(k, v, h) for k, v, h in sent])

    def test_timestamps_are_preserved(self):
        topic = unique_name("kp-ts")
        base = int(time.time() * 1000) - 3600 * 1000
        p = producer(self.broker.bootstrap, acks=1)
        try:
            fs = [p.send(topic, value=b"v%d" % i, timestamp_ms=base + i * 7, partition=0)
                  for i in range(20)]
            p.flush(timeout=20)
            for f in fs:
                f.get(timeout=20)
        finally:
            p.close(timeout=10)
        c = plain_consumer(self.broker.bootstrap)
        try:
            c.assign([TopicPartition(topic, 0)])
            got = poll_until(c, 20)
        finally:
            c.close()
        self.assertEqual([r.timestamp for r in got], [base + i * 7 for i in range(20)])
        self.assertEqual({r.timestamp_type for r in got}, {0}, "CreateTime expected")

    def test_consumer_timeout_ends_iteration_on_idle_topic(self):
        topic = unique_name("kp-idle")
        # create the (empty) topic through auto-creation by metadata request
        p = producer(self.broker.bootstrap)
        try:
            self.assertEqual(p.partitions_for(topic), {0, 1, 2})
        finally:
            p.close(timeout=10)
        c = json_consumer(self.broker.bootstrap, topic, consumer_timeout_ms=1500)
        try:
            t0 = time.monotonic()
            got = list(c)
            elapsed = time.monotonic() - t0
        finally:
            c.close()
        self.assertEqual(got, [])
        self.assertGreaterEqual(elapsed, 1.4)
        self.assertLess(elapsed, 15)

    def test_auto_create_on_produce_uses_num_partitions(self):
        topic = unique_name("kp-autocreate")
        p = producer(self.broker.bootstrap, acks=1)
        try:
            meta = p.send(topic, b"first").get(timeout=20)
            self.assertIn(meta.partition, {0, 1, 2})
            self.assertEqual(p.partitions_for(topic), {0, 1, 2})
            for part in range(3):
                m = p.send(topic, b"to-%d" % part, partition=part).get(timeout=20)
                self.assertEqual(m.partition, part)
        finally:
            p.close(timeout=10)
        a = admin(self.broker.bootstrap)
        try:
            self.assertIn(topic, a.list_topics())
            desc = a.describe_topics([topic])
        finally:
            a.close()
        self.assertEqual(len(desc), 1)
        self.assertEqual(desc[0]["error_code"], 0)
        index = "partition_index" if KAFKA_PYTHON_3 else "partition"
        self.assertEqual(sorted(p[index] for p in desc[0]["partitions"]), [0, 1, 2])


class SeekAndOffsetsTest(BrokerTestCase):
    broker_properties = {"num.partitions": 1}

    @classmethod
    def prepare_class(cls):
        cls.topic = unique_name("kp-seek")
        cls.base_ts = int(time.time() * 1000) - 600 * 1000
        p = producer(cls.broker.bootstrap, acks="all")
        try:
            fs = [p.send(cls.topic, key=b"k%d" % i, value=b"v%d" % i,
                         timestamp_ms=cls.base_ts + i * 1000, partition=0) for i in range(10)]
            p.flush(timeout=20)
            cls.metas = [f.get(timeout=20) for f in fs]
        finally:
            p.close(timeout=10)

    def setUp(self):
        super().setUp()
        self.tp = TopicPartition(self.topic, 0)
        self.consumer = plain_consumer(self.broker.bootstrap)
        self.addCleanup(self.consumer.close)
        self.consumer.assign([self.tp])

    def test_produced_offsets(self):
        self.assertEqual([m.offset for m in self.metas], list(range(10)))

    def test_beginning_and_end_offsets(self):
        self.assertEqual(self.consumer.beginning_offsets([self.tp]), {self.tp: 0})
        self.assertEqual(self.consumer.end_offsets([self.tp]), {self.tp: 10})

    def test_seek_to_beginning(self):
        self.consumer.seek_to_beginning(self.tp)
        got = poll_until(self.consumer, 10)
        self.assertEqual([r.value for r in got], [b"v%d" % i for i in range(10)])
        self.assertEqual(self.consumer.position(self.tp), 10)

    def test_seek_to_end(self):
        self.consumer.seek_to_end(self.tp)
        self.assertEqual(self.consumer.position(self.tp), 10)
        self.assertEqual(self.consumer.poll(timeout_ms=1000), {})

    def test_seek_to_offset(self):
        self.consumer.seek(self.tp, 6)
        got = poll_until(self.consumer, 4)
        self.assertEqual([r.offset for r in got], [6, 7, 8, 9])
        self.assertEqual([r.key for r in got], [b"k6", b"k7", b"k8", b"k9"])

    def test_offsets_for_times(self):
        c, tp, base = self.consumer, self.tp, self.base_ts
        res = c.offsets_for_times({tp: base + 3500})
        self.assertEqual(res[tp].offset, 4)
        self.assertEqual(res[tp].timestamp, base + 4000)
        res = c.offsets_for_times({tp: base})
        self.assertEqual((res[tp].offset, res[tp].timestamp), (0, base))
        res = c.offsets_for_times({tp: 0})
        self.assertEqual(res[tp].offset, 0)
        res = c.offsets_for_times({tp: base + 9000})
        self.assertEqual(res[tp].offset, 9)
        res = c.offsets_for_times({tp: base + 9001})
        self.assertIsNone(res[tp], "no record at or after the timestamp -> None")

    def test_seek_by_time_then_consume(self):
        res = self.consumer.offsets_for_times({self.tp: self.base_ts + 7000})
        self.consumer.seek(self.tp, res[self.tp].offset)
        got = poll_until(self.consumer, 3)
        self.assertEqual([r.value for r in got], [b"v7", b"v8", b"v9"])


class AdminTest(BrokerTestCase):
    """kafka-python 2.x's admin client."""
    broker_properties = {"num.partitions": 1}

    def setUp(self):
        if KAFKA_PYTHON_3:
            self.skipTest("kafka-python 2.x admin API (Admin3Test covers 3.x)")
        super().setUp()
        self.admin = admin(self.broker.bootstrap)
        self.addCleanup(self.admin.close)

    def describe_topic_config(self, topic):
        responses = self.admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        self.assertEqual(len(responses), 1)
        resources = responses[0].resources
        self.assertEqual(len(resources), 1)
        error_code, error_message, resource_type, resource_name, entries = resources[0][:5]
        self.assertEqual(error_code, 0, error_message)
        self.assertEqual(resource_type, ConfigResourceType.TOPIC.value)
        self.assertEqual(resource_name, topic)
        return {e[0]: e for e in entries}

    def test_create_describe_list_delete(self):
        topic = unique_name("kp-admin")
        resp = self.admin.create_topics([NewTopic(
            topic, num_partitions=3, replication_factor=1,
            topic_configs={"retention.ms": "60000", "cleanup.policy": "compact"})])
        self.assertEqual([(t[0], t[1]) for t in resp.topic_errors], [(topic, 0)])
        self.assertIn(topic, self.admin.list_topics())
        desc = self.admin.describe_topics([topic])
        self.assertEqual(sorted(p["partition"] for p in desc[0]["partitions"]), [0, 1, 2])

        entries = self.describe_topic_config(topic)
        self.assertEqual(entries["retention.ms"][1], "60000")
        self.assertEqual(entries["cleanup.policy"][1], "compact")
        # DescribeConfigs v1+: config_source 1 = TOPIC_CONFIG (set on the topic)
        self.assertEqual(entries["retention.ms"][3], 1)
        self.assertEqual(entries["cleanup.policy"][3], 1)
        for name, e in entries.items():
            self.assertFalse(e[4], "%s should not be sensitive" % name)
        # a few topic configs every Kafka broker describes
        for name in ("segment.bytes", "max.message.bytes", "retention.bytes"):
            self.assertIn(name, entries)
            self.assertNotEqual(entries[name][3], 1, "%s was not set on the topic" % name)

        resp = self.admin.delete_topics([topic])
        self.assertEqual([(t[0], t[1]) for t in resp.topic_error_codes], [(topic, 0)])
        wait_until(lambda: topic not in self.admin.list_topics(), 10,
                   message="deleted topic to disappear from metadata")

    def test_describe_selected_config_keys(self):
        topic = unique_name("kp-admin-keys")
        self.admin.create_topics([NewTopic(topic, 1, 1, topic_configs={"retention.ms": "1234"})])
        responses = self.admin.describe_configs([ConfigResource(
            ConfigResourceType.TOPIC, topic, configs={"retention.ms": None})])
        entries = responses[0].resources[0][4]
        self.assertEqual([(e[0], e[1]) for e in entries], [("retention.ms", "1234")])

    def test_alter_configs_replaces_the_topic_set(self):
        topic = unique_name("kp-admin-alter")
        self.admin.create_topics([NewTopic(topic, 1, 1, topic_configs={"retention.ms": "1234"})])
        responses = self.admin.alter_configs([ConfigResource(
            ConfigResourceType.TOPIC, topic, configs={"segment.ms": "60000"})])
        self.assertEqual(responses.resources[0][0], 0, responses.resources[0][1])
        entries = self.describe_topic_config(topic)
        self.assertEqual(entries["segment.ms"][1], "60000")
        # AlterConfigs replaces the whole set: retention.ms is back to the broker's value.
        self.assertEqual(entries["retention.ms"][1], "604800000")
        responses = self.admin.alter_configs([ConfigResource(
            ConfigResourceType.TOPIC, topic, configs={"segment.bytes": "5"})])
        self.assertEqual(responses.resources[0][0], 40)  # INVALID_CONFIG
        self.assertIn("segment.bytes", responses.resources[0][1])

    def test_default_cleanup_policy_is_delete(self):
        topic = unique_name("kp-admin-default")
        self.admin.create_topics([NewTopic(topic, 2, 1)])
        entries = self.describe_topic_config(topic)
        self.assertEqual(entries["cleanup.policy"][1], "delete")

    def test_create_existing_topic_fails(self):
        topic = unique_name("kp-admin-dup")
        self.admin.create_topics([NewTopic(topic, 1, 1)])
        with self.assertRaises(TopicAlreadyExistsError):
            self.admin.create_topics([NewTopic(topic, 1, 1)])

    def test_create_invalid_topic_name_fails(self):
        for bad in ("bad topic!", "..", "x" * 250):
            with self.subTest(name=bad[:20]):
                with self.assertRaises(InvalidTopicError):
                    self.admin.create_topics([NewTopic(bad, 1, 1)])
        self.assertNotIn("bad topic!", self.admin.list_topics())

    def test_delete_then_recreate(self):
        topic = unique_name("kp-admin-recreate")
        self.admin.create_topics([NewTopic(topic, 1, 1)])
        p = producer(self.broker.bootstrap, acks=1)
        try:
            p.send(topic, b"old").get(timeout=20)
        finally:
            p.close(timeout=10)
        self.admin.delete_topics([topic])
        wait_until(lambda: topic not in self.admin.list_topics(), 10,
                   message="deleted topic to disappear")
        self.admin.create_topics([NewTopic(topic, 2, 1)])
        c = plain_consumer(self.broker.bootstrap)
        try:
            tp = TopicPartition(topic, 0)
            c.assign([tp])
            self.assertEqual(c.end_offsets([tp]), {tp: 0}, "recreated topic must be empty")
        finally:
            c.close()


class Admin3Test(BrokerTestCase):
    """kafka-python 3.x's admin client: create with configs, describe, incremental alter
    (IncrementalAlterConfigs), errors, delete."""
    broker_properties = {"num.partitions": 1}

    def setUp(self):
        if not KAFKA_PYTHON_3:
            self.skipTest("kafka-python 3.x admin API (AdminTest covers 2.x)")
        super().setUp()
        self.admin = admin(self.broker.bootstrap)
        self.addCleanup(self.admin.close)

    def topic_configs(self, topic, **kw):
        got = self.admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)], **kw)
        return {name: e["value"] for name, e in got["topic"][topic].items()}

    def test_create_describe_alter_delete(self):
        topic = unique_name("kp3-admin")
        created = self.admin.create_topics({topic: {"num_partitions": 3, "configs": {
            "retention.ms": "60000", "cleanup.policy": "compact"}}})
        (t,) = created["topics"]
        self.assertEqual((t["name"], t["error_code"], t["num_partitions"]), (topic, 0, 3))
        self.assertEqual(t["configs"]["retention.ms"]["config_source"], "DYNAMIC_TOPIC_CONFIG")
        self.assertEqual(t["configs"]["segment.bytes"]["config_source"], "DEFAULT_CONFIG")
        self.assertIn(topic, self.admin.list_topics())
        (desc,) = self.admin.describe_topics([topic])
        self.assertEqual(sorted(p["partition_index"] for p in desc["partitions"]), [0, 1, 2])
        # The default filter lists the keys set on the topic.
        self.assertEqual(self.topic_configs(topic),
                         {"retention.ms": "60000", "cleanup.policy": "compact"})
        self.assertEqual(self.topic_configs(topic, config_filter="all")["segment.bytes"],
                         "1073741824")

        # SET one key, DELETE another, APPEND to a list: one IncrementalAlterConfigs.
        result = self.admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={
            "segment.ms": "60000", "retention.ms": ("DELETE", None),
            "cleanup.policy": ("APPEND", "delete")})])
        self.assertEqual(result, {"topic": {topic: "OK"}})
        self.assertEqual(self.topic_configs(topic),
                         {"segment.ms": "60000", "cleanup.policy": "compact,delete"})

        result = self.admin.alter_configs([ConfigResource(
            ConfigResourceType.TOPIC, topic, configs={"segment.bytes": "5"})])
        self.assertIn("InvalidConfigurationError", str(result["topic"][topic]))
        self.assertIn("segment.bytes", str(result["topic"][topic]))
        self.assertNotIn("segment.bytes", self.topic_configs(topic))

        (deleted,) = self.admin.delete_topics([topic])["topics"]
        self.assertEqual((deleted["name"], deleted["error_code"]), (topic, 0))
        wait_until(lambda: topic not in self.admin.list_topics(), 10,
                   message="deleted topic to disappear from metadata")

    def test_create_existing_and_invalid_topics_fail(self):
        topic = unique_name("kp3-admin-dup")
        self.admin.create_topics({topic: {"num_partitions": 1}})
        with self.assertRaises(TopicAlreadyExistsError):
            self.admin.create_topics({topic: {"num_partitions": 1}})
        with self.assertRaises(InvalidTopicError):
            self.admin.create_topics({"bad topic!": {"num_partitions": 1}})
        self.assertNotIn("bad topic!", self.admin.list_topics())


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/python3
"""Integration tests with confluent-kafka-python 1.7.0 / librdkafka 2.0.2 (Debian
python3-confluent-kafka) against a real broker.

Run: /usr/bin/python3 integration/test_confluent_kafka.py [-v] [TestClass.test_name]

Consumers here use assign() with explicit offsets, never subscribe()/commit() (consumer groups
are covered by test_groups_confluent.py). librdkafka's Consumer insists on a group.id, so one is
set; it is never joined.
"""

import os
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from broker_process import BrokerTestCase, unique_name, wait_until  # noqa: E402

from confluent_kafka import (OFFSET_BEGINNING, OFFSET_END, TIMESTAMP_CREATE_TIME,  # noqa: E402
                             KafkaError, KafkaException, TopicPartition)
from confluent_kafka.admin import ConfigResource, ConfigSource, NewPartitions, NewTopic  # noqa: E402

from ck_helpers import (CODECS, TIMEOUT, Deliveries, admin_client, consume_partition,  # noqa: E402
                        error_code, make_consumer, make_producer, result)

class AdminTest(BrokerTestCase):
    broker_properties = {"num.partitions": 1}

    def setUp(self):
        super().setUp()
        self.admin = admin_client(self.broker.bootstrap)
        # librdkafka handles live until unreferenced; don't let finished tests keep theirs
        self.addCleanup(setattr, self, "admin", None)

    def topic_metadata(self, topic):
        md = self.admin.list_topics(topic=topic, timeout=TIMEOUT)
        return md, md.topics.get(topic)

    def create(self, topic, partitions=3, config=None, validate_only=False):
        fs = self.admin.create_topics(
            [NewTopic(topic, num_partitions=partitions, replication_factor=1,
                      config=config or {})],
            operation_timeout=10, request_timeout=TIMEOUT, validate_only=validate_only)
        self.assertEqual(list(fs), [topic])
        return result(fs[topic])

    def test_validate_only_creates_nothing(self):
        topic = unique_name("ck-validate")
        self.assertIsNone(self.create(topic, 3, validate_only=True))
        md = self.admin.list_topics(timeout=TIMEOUT)
        self.assertNotIn(topic, md.topics)

    def test_validate_only_reports_errors(self):
        with self.assertRaises(KafkaException) as cm:
            self.create("bad topic!", 1, validate_only=True)
        self.assertEqual(error_code(cm.exception), KafkaError.TOPIC_EXCEPTION)

    def test_create_list_describe_partitions_delete(self):
        topic = unique_name("ck-admin")
        self.create(topic, 3, {"retention.ms": "60000", "cleanup.policy": "compact",
                               "segment.bytes": "1048576"})
        md, t = self.topic_metadata(topic)
        self.assertIsNotNone(t, "created topic missing from metadata")
        self.assertIsNone(t.error)
        self.assertEqual(sorted(t.partitions), [0, 1, 2])
        self.assertEqual(len(md.brokers), 1)
        (broker_id, broker), = md.brokers.items()
        self.assertEqual((broker.host, broker.port), ("127.0.0.1", self.broker.port))
        self.assertEqual(md.controller_id, broker_id)
        for pid, p in t.partitions.items():
            self.assertEqual(p.id, pid)
            self.assertIsNone(p.error)
            self.assertEqual(p.leader, broker_id)
            self.assertEqual(list(p.replicas), [broker_id])
            self.assertEqual(list(p.isrs), [broker_id])

        fs = self.admin.describe_configs([ConfigResource("topic", topic)],
                                         request_timeout=TIMEOUT)
        (res, f), = fs.items()
        configs = result(f)
        self.assertEqual(configs["retention.ms"].value, "60000")
        self.assertEqual(configs["cleanup.policy"].value, "compact")
        self.assertEqual(configs["segment.bytes"].value, "1048576")
        self.assertFalse(configs["retention.ms"].is_default)
        source = configs["retention.ms"].source
        self.assertEqual(getattr(source, "value", source), ConfigSource.DYNAMIC_TOPIC_CONFIG.value)
        self.assertIn("max.message.bytes", configs)

        fs = self.admin.create_partitions([NewPartitions(topic, 5)], operation_timeout=10,
                                          request_timeout=TIMEOUT)
        self.assertIsNone(result(fs[topic]))
        wait_until(lambda: sorted(self.topic_metadata(topic)[1].partitions) == [0, 1, 2, 3, 4],
                   10, message="5 partitions in metadata")

        # the new partitions work (with keys: the topic is compacted, and a compacted topic
        # rejects keyless records with INVALID_RECORD, as checked below)
        p = make_producer(self.broker.bootstrap, acks="all")
        d = Deliveries()
        for part in range(5):
            p.produce(topic, key=b"k", value=b"p%d" % part, partition=part, on_delivery=d)
        self.assertEqual(p.flush(TIMEOUT), 0)
        d.check(self, 5)
        d = Deliveries()
        p.produce(topic, value=b"no key", partition=0, on_delivery=d)
        self.assertEqual(p.flush(TIMEOUT), 0)
        self.assertEqual(len(d.reports), 1)
        self.assertIsNotNone(d.reports[0][0], "keyless record accepted by a compacted topic")
        self.assertEqual(d.reports[0][0].code(), KafkaError.INVALID_RECORD)

        fs = self.admin.delete_topics([topic], operation_timeout=10, request_timeout=TIMEOUT)
        self.assertIsNone(result(fs[topic]))
        wait_until(lambda: topic not in self.admin.list_topics(timeout=TIMEOUT).topics, 10,
                   message="deleted topic to disappear")

    def test_create_partitions_cannot_shrink(self):
        topic = unique_name("ck-shrink")
        self.create(topic, 3)
        fs = self.admin.create_partitions([NewPartitions(topic, 2)], request_timeout=TIMEOUT)
        with self.assertRaises(KafkaException) as cm:
            result(fs[topic])
        self.assertEqual(error_code(cm.exception), KafkaError.INVALID_PARTITIONS)

    def test_create_partitions_validate_only(self):
        topic = unique_name("ck-cp-validate")
        self.create(topic, 2)
        fs = self.admin.create_partitions([NewPartitions(topic, 4)], validate_only=True,
                                          request_timeout=TIMEOUT)
        self.assertIsNone(result(fs[topic]))
        self.assertEqual(sorted(self.topic_metadata(topic)[1].partitions), [0, 1])

    def test_create_existing_topic(self):
        topic = unique_name("ck-dup")
        self.create(topic, 1)
        with self.assertRaises(KafkaException) as cm:
            self.create(topic, 1)
        self.assertEqual(error_code(cm.exception), KafkaError.TOPIC_ALREADY_EXISTS)

    def test_invalid_topic_names(self):
        for bad in ("bad topic!", "..", ".", "x" * 250):
            with self.subTest(name=bad[:20]):
                with self.assertRaises(KafkaException) as cm:
                    self.create(bad, 1)
                self.assertEqual(error_code(cm.exception), KafkaError.TOPIC_EXCEPTION)

    def test_invalid_partition_count(self):
        with self.assertRaises(KafkaException) as cm:
            self.create(unique_name("ck-zero"), 0)
        self.assertEqual(error_code(cm.exception), KafkaError.INVALID_PARTITIONS)

    def test_delete_unknown_topic(self):
        fs = self.admin.delete_topics([unique_name("ck-nope")], request_timeout=TIMEOUT)
        (f,) = fs.values()
        with self.assertRaises(KafkaException) as cm:
            result(f)
        self.assertEqual(error_code(cm.exception), KafkaError.UNKNOWN_TOPIC_OR_PART)

    def test_describe_unknown_topic(self):
        fs = self.admin.describe_configs([ConfigResource("topic", unique_name("ck-nope"))],
                                         request_timeout=TIMEOUT)
        (f,) = fs.values()
        with self.assertRaises(KafkaException) as cm:
            result(f)
        self.assertEqual(error_code(cm.exception), KafkaError.UNKNOWN_TOPIC_OR_PART)


class ProduceConsumeTest(BrokerTestCase):
    """Round trips through librdkafka with every codec; topics are auto-created with one
    partition."""

    broker_properties = {"num.partitions": 1, "auto.create.topics.enable": True}

    def produce(self, topic, n, codec="none", acks="all", partition=0, value_size=100):
        p = make_producer(self.broker.bootstrap, **{"compression.type": codec, "acks": acks,
                                                    "batch.num.messages": 1000})
        d = Deliveries()
        base_ts = int(time.time() * 1000) - 10000
        sent = []
        for i in range(n):
            key = b"key-%d" % (i % 7) if i % 5 else None
            value = (b"%s-%06d-" % (codec.encode(), i)) * (value_size // 16 + 1)
            headers = [("idx", str(i).encode()), ("codec", codec.encode())] if i % 3 else None
            ts = base_ts + i
            p.produce(topic, value=value, key=key, headers=headers, partition=partition,
                      timestamp=ts, on_delivery=d)
            sent.append((key, value, headers, ts))
            if i % 100 == 0:
                p.poll(0)
        self.assertEqual(p.flush(TIMEOUT), 0, "messages still in queue after flush")
        d.check(self, n)
        offsets = sorted(m.offset() for _, m in d.reports)
        self.assertEqual(offsets, list(range(offsets[0], offsets[0] + n)),
                         "offsets are not consecutive")
        return sent, offsets[0]

    def consume_all(self, topic, n, partition=0, start=OFFSET_BEGINNING, errors=None, **conf):
        c = make_consumer(self.broker.bootstrap, **conf)
        try:
            c.assign([TopicPartition(topic, partition, start)])
            return consume_partition(c, n, errors=errors)
        finally:
            c.close()

    def check_roundtrip(self, codec, acks):
        topic = unique_name("ck-%s-acks%s" % (codec, acks))
        sent, first = self.produce(topic, 500, codec=codec, acks=acks)
        self.assertEqual(first, 0)
        got = self.consume_all(topic, len(sent))
        self.assertEqual(len(got), len(sent))
        for i, (m, (key, value, headers, ts)) in enumerate(zip(got, sent)):
            self.assertEqual(m.offset(), i)
            self.assertEqual(m.key(), key, "key of offset %d" % i)
            self.assertEqual(m.value(), value, "value of offset %d" % i)
            self.assertEqual(m.headers(), headers, "headers of offset %d" % i)
            self.assertEqual(m.timestamp(), (TIMESTAMP_CREATE_TIME, ts), "timestamp of %d" % i)

    def test_roundtrip_none(self):
        self.check_roundtrip("none", "all")

    def test_roundtrip_gzip(self):
        self.check_roundtrip("gzip", "all")

    def test_roundtrip_snappy(self):
        self.check_roundtrip("snappy", "all")

    def test_roundtrip_lz4(self):
        self.check_roundtrip("lz4", "all")

    def test_roundtrip_zstd(self):
        self.check_roundtrip("zstd", "all")

    def test_roundtrip_acks_1(self):
        self.check_roundtrip("lz4", "1")

    def test_roundtrip_acks_0(self):
        topic = unique_name("ck-acks0")
        p = make_producer(self.broker.bootstrap, acks="0")
        d = Deliveries()
        for i in range(100):
            p.produce(topic, value=b"v%d" % i, partition=0, on_delivery=d)
        self.assertEqual(p.flush(TIMEOUT), 0)
        d.check(self, 100)
        got = self.consume_all(topic, 100)
        self.assertEqual([m.value() for m in got], [b"v%d" % i for i in range(100)])

    def test_mixed_codecs_in_one_partition(self):
        topic = unique_name("ck-mixed")
        expected = []
        for codec in CODECS:
            sent, _ = self.produce(topic, 50, codec=codec)
            expected += [v for _, v, _, _ in sent]
        got = self.consume_all(topic, len(expected))
        self.assertEqual([m.value() for m in got], expected)
        self.assertEqual([m.offset() for m in got], list(range(len(expected))))

    def test_consume_from_middle_and_end(self):
        topic = unique_name("ck-middle")
        sent, _ = self.produce(topic, 100, codec="gzip")
        got = self.consume_all(topic, 40, start=60)
        self.assertEqual([m.offset() for m in got], list(range(60, 100)))
        self.assertEqual([m.value() for m in got], [v for _, v, _, _ in sent[60:]])
        # from the end: nothing, then the next message produced
        c = make_consumer(self.broker.bootstrap)
        try:
            c.assign([TopicPartition(topic, 0, OFFSET_END)])
            eof = False
            deadline = time.monotonic() + TIMEOUT
            while not eof and time.monotonic() < deadline:
                m = c.poll(0.5)
                if m is not None:
                    self.assertIsNotNone(m.error(), "unexpected message %r" % (m.value(),))
                    eof = m.error().code() == KafkaError._PARTITION_EOF
            self.assertTrue(eof, "no partition EOF at the end")
            p = make_producer(self.broker.bootstrap)
            p.produce(topic, value=b"after-end", partition=0)
            self.assertEqual(p.flush(TIMEOUT), 0)
            got = consume_partition(c, 1)
            self.assertEqual([(m.offset(), m.value()) for m in got], [(100, b"after-end")])
        finally:
            c.close()

    def test_assign_with_group_id(self):
        """librdkafka's consumer insists on a group.id. With assign() (no subscribe) and no
        commits the group is never joined, so consuming must work the same whether the broker
        implements consumer groups (librdkafka then looks up the coordinator and stops there)
        or not (it then never asks)."""
        topic = unique_name("ck-group-id")
        sent, _ = self.produce(topic, 20)
        errors = []
        got = self.consume_all(topic, 20, errors=errors,
                               **{"group.id": unique_name("ck-assign-only")})
        self.assertEqual([m.value() for m in got], [v for _, v, _, _ in sent])
        self.assertEqual([m.offset() for m in got], list(range(20)))
        self.assertEqual([str(e) for e in errors if e.fatal()], [])


class OffsetsTest(BrokerTestCase):
    broker_properties = {"num.partitions": 2}

    @classmethod
    def prepare_class(cls):
        cls.topic = unique_name("ck-offsets")
        cls.base_ts = int(time.time() * 1000) - 3600 * 1000
        p = make_producer(cls.broker.bootstrap, acks="all")
        errors = []
        for i in range(10):
            p.produce(cls.topic, value=b"v%d" % i, partition=0, timestamp=cls.base_ts + 1000 * i,
                      on_delivery=lambda err, msg: err and errors.append(err))
        if p.flush(TIMEOUT) != 0 or errors:
            raise AssertionError("prepare: produce failed: %s" % errors)

    def setUp(self):
        super().setUp()
        self.consumer = make_consumer(self.broker.bootstrap)
        self.addCleanup(setattr, self, "consumer", None)
        self.addCleanup(self.consumer.close)

    def test_offsets_for_times(self):
        tps = [TopicPartition(self.topic, 0, self.base_ts + 2500),
               TopicPartition(self.topic, 1, self.base_ts)]
        res = self.consumer.offsets_for_times(tps, timeout=TIMEOUT)
        self.assertEqual([(r.partition, r.offset) for r in res], [(0, 3), (1, -1)])
        self.assertIsNone(res[0].error)
        res = self.consumer.offsets_for_times([TopicPartition(self.topic, 0, self.base_ts)],
                                              timeout=TIMEOUT)
        self.assertEqual(res[0].offset, 0)
        res = self.consumer.offsets_for_times(
            [TopicPartition(self.topic, 0, self.base_ts + 9000)], timeout=TIMEOUT)
        self.assertEqual(res[0].offset, 9)
        res = self.consumer.offsets_for_times(
            [TopicPartition(self.topic, 0, self.base_ts + 9001)], timeout=TIMEOUT)
        self.assertEqual(res[0].offset, -1, "past the last timestamp: end (-1)")

    def test_query_watermark_offsets(self):
        # cached=False -> rd_kafka_query_watermark_offsets (ListOffsets earliest and latest)
        self.assertEqual(self.consumer.get_watermark_offsets(
            TopicPartition(self.topic, 0), timeout=TIMEOUT, cached=False), (0, 10))
        self.assertEqual(self.consumer.get_watermark_offsets(
            TopicPartition(self.topic, 1), timeout=TIMEOUT, cached=False), (0, 0))

    def test_cached_watermark_offsets_after_fetch(self):
        # cached=True -> rd_kafka_get_watermark_offsets (high watermark from Fetch responses)
        self.consumer.assign([TopicPartition(self.topic, 0, 4)])
        got = consume_partition(self.consumer, 6)
        self.assertEqual([m.offset() for m in got], [4, 5, 6, 7, 8, 9])
        lo, hi = self.consumer.get_watermark_offsets(TopicPartition(self.topic, 0), cached=True)
        self.assertEqual(hi, 10)

    def test_seek_by_timestamp_then_consume(self):
        res = self.consumer.offsets_for_times([TopicPartition(self.topic, 0, self.base_ts + 7000)],
                                              timeout=TIMEOUT)
        self.consumer.assign(res)
        got = consume_partition(self.consumer, 3)
        self.assertEqual([m.value() for m in got], [b"v7", b"v8", b"v9"])
        self.assertEqual([m.timestamp()[1] for m in got],
                         [self.base_ts + 7000, self.base_ts + 8000, self.base_ts + 9000])

    def test_list_topics_from_consumer(self):
        md = self.consumer.list_topics(topic=self.topic, timeout=TIMEOUT)
        self.assertEqual(sorted(md.topics[self.topic].partitions), [0, 1])


if __name__ == "__main__":
    unittest.main(verbosity=2)

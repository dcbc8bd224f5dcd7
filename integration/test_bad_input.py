#!/usr/bin/python3
"""Malformed and invalid requests over raw sockets; the broker must answer as Kafka does (or
close that one connection) and keep serving everybody else.

Run: /usr/bin/python3 integration/test_bad_input.py [-v]
The broker runs with auto.create.topics.enable=false, message.max.bytes=100000 and
socket.request.max.bytes=1048576, the last two given as --override arguments.
"""

import os
import socket
import struct
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kafka_wire as kw  # noqa: E402
from broker_process import BrokerTestCase, unique_name  # noqa: E402
from ck_helpers import (Deliveries, TIMEOUT, consume_partition, make_consumer,  # noqa: E402
                        make_producer)

from confluent_kafka import TopicPartition  # noqa: E402

MESSAGE_MAX_BYTES = 100000
SOCKET_REQUEST_MAX_BYTES = 1048576

# the API ranges the broker advertises (Kafka 4.x numbering). Produce is advertised from v0 although
# only v3+ is served: librdkafka <= 2.8 compresses with gzip/snappy only when v0 is listed
# (KAFKA-18659), and Kafka 4.0 advertises it the same way.
CONTRACT_API_RANGES = {
    kw.API_VERSIONS: (0, 4), kw.METADATA: (0, 13), kw.PRODUCE: (0, 12), kw.FETCH: (4, 17),
    kw.LIST_OFFSETS: (0, 10), kw.CREATE_TOPICS: (0, 7), kw.DELETE_TOPICS: (0, 6),
    kw.CREATE_PARTITIONS: (0, 3), kw.DESCRIBE_CONFIGS: (0, 4), kw.DESCRIBE_CLUSTER: (0, 1),
}


class BadInputTest(BrokerTestCase):
    broker_properties = {"num.partitions": 2, "auto.create.topics.enable": False}
    broker_overrides = {"message.max.bytes": MESSAGE_MAX_BYTES,
                        "socket.request.max.bytes": SOCKET_REQUEST_MAX_BYTES}

    @classmethod
    def prepare_class(cls):
        cls.topic = unique_name("bad-input")
        with kw.Connection.to(cls.broker.bootstrap) as c:
            c.create_topic_or_fail(cls.topic, 2)

    def connect(self):
        c = kw.Connection.to(self.broker.bootstrap, timeout=10)
        self.addCleanup(c.close)
        return c

    def assert_broker_serves(self):
        """A fresh connection gets a proper ApiVersions answer."""
        with kw.Connection.to(self.broker.bootstrap, timeout=10) as c:
            err, apis, _ = c.api_versions(3)
            self.assertEqual(err, 0)
            self.assertIn(kw.PRODUCE, apis)
        self.broker.assert_running()

    def assert_closed(self, conn, what):
        closed = conn.wait_closed(5)
        self.assertTrue(closed, "%s: connection still open after 5 s (received %r)" % (
            what, conn.unexpected_bytes[:100]))
        self.assert_broker_serves()

    def batch(self, n=3, value=b"value"):
        return kw.build_record_batch([(b"k%d" % i, value + b"%d" % i) for i in range(n)])

    # ------------------------------------------------------------------ framing

    def test_api_versions_v3(self):
        c = self.connect()
        err, apis, throttle = c.api_versions(3)
        self.assertEqual(err, 0)
        for key, (lo, hi) in CONTRACT_API_RANGES.items():
            self.assertIn(key, apis, "API key %d not advertised" % key)
            self.assertEqual(apis[key], (lo, hi), "API key %d range" % key)

    def test_api_versions_v0(self):
        c = self.connect()
        err, apis, _ = c.api_versions(0)
        self.assertEqual(err, 0)
        self.assertEqual(apis.get(kw.PRODUCE), CONTRACT_API_RANGES[kw.PRODUCE])

    def test_api_versions_unsupported_version(self):
        c = self.connect()
        cid = c.send_request(kw.API_VERSIONS, 99, kw.encode_api_versions_request(99))
        frame = c.recv_frame()
        r = kw.Reader(frame)
        self.assertEqual(r.i32(), cid, "response header v0: correlation id only")
        self.assertEqual(r.i16(), kw.UNSUPPORTED_VERSION)
        apis = r.array(lambda x: (x.i16(), x.i16(), x.i16()))
        self.assertEqual(r.remaining(), 0, "an ApiVersions v0 body has nothing after the list")
        self.assertTrue(apis, "the error response must still list the supported APIs")
        self.assertIn((kw.API_VERSIONS, 0, 4), apis)
        # the connection stays usable: the client retries with a version it now knows
        err, apis, _ = c.api_versions(3)
        self.assertEqual(err, 0)

    def test_oversized_frame(self):
        c = self.connect()
        c.send_raw(struct.pack(">i", SOCKET_REQUEST_MAX_BYTES + 1))
        self.assert_closed(c, "frame size above socket.request.max.bytes")

    def test_huge_frame_size(self):
        c = self.connect()
        c.send_raw(struct.pack(">i", 0x7FFFFFFF) + b"\x00" * 64)
        self.assert_closed(c, "frame size 2^31-1")

    def test_negative_frame_size(self):
        c = self.connect()
        c.send_raw(struct.pack(">i", -5) + b"\x00" * 16)
        self.assert_closed(c, "negative frame size")

    def test_frame_shorter_than_request_header(self):
        c = self.connect()
        c.send_frame(b"\x00\x12\x00")  # 3 bytes: not even api_key + api_version
        self.assert_closed(c, "3-byte request")

    def test_truncated_request_body(self):
        c = self.connect()
        body = kw.encode_produce_v3(1, 5000, {self.topic: {0: self.batch()}})
        full = c.encode_request(kw.PRODUCE, 3, body, 7)
        c.send_frame(full[:len(full) - 40])  # a complete frame holding a cut-off request
        self.assert_closed(c, "Produce v3 cut short inside its frame")

    def test_frame_never_completed(self):
        c = self.connect()
        c.send_raw(struct.pack(">i", 1000) + b"\x00\x12\x00\x03")  # promise 1000, send 4
        c.sock.shutdown(socket.SHUT_WR)
        self.assert_closed(c, "half-closed connection with a partial frame")

    def test_unknown_api_key(self):
        c = self.connect()
        c.send_request(9999, 0, b"")
        self.assert_closed(c, "API key 9999")

    def test_unsupported_produce_version(self):
        c = self.connect()
        c.send_request(kw.PRODUCE, 99, b"\x00" * 20)
        self.assert_closed(c, "Produce v99")

    def test_produce_v2_refused_though_v0_advertised(self):
        # v0-2 carry message formats v0/v1, which the broker does not store: the request closes
        # the connection (as in Kafka 4.0) instead of writing anything.
        c = self.connect()
        body = kw.encode_produce_v3(1, 5000, {self.topic: {0: self.batch()}})
        c.send_request(kw.PRODUCE, 2, body[2:])  # v2 has no transactional id
        self.assert_closed(c, "Produce v2")

    def test_requests_are_answered_in_order(self):
        c = self.connect()
        ids = [c.send_request(kw.API_VERSIONS, 0, b"") for _ in range(5)]
        ids.append(c.send_request(kw.METADATA, 12, kw.encode_metadata_v12([self.topic])))
        for cid in ids[:5]:
            got, _ = c.recv_response(header_version=0)
            self.assertEqual(got, cid)
        got, r = c.recv_response(header_version=1)
        self.assertEqual(got, ids[5])
        md = kw.decode_metadata_v12(r)
        self.assertEqual([t["name"] for t in md["topics"]], [self.topic])

    # ------------------------------------------------------------------ produce errors

    def latest(self, partition, topic=None):
        with kw.Connection.to(self.broker.bootstrap) as c:
            return c.latest_offset(topic or self.topic, partition)

    def test_produce_to_unknown_topic(self):
        c = self.connect()
        missing = unique_name("no-such-topic")
        res = c.produce_one(missing, 0, self.batch())
        self.assertEqual(res["error_code"], kw.UNKNOWN_TOPIC_OR_PARTITION)
        md = c.metadata([missing])
        self.assertEqual(md["topics"][0]["error_code"], kw.UNKNOWN_TOPIC_OR_PARTITION,
                         "auto.create.topics.enable=false: produce must not create the topic")

    def test_produce_to_unknown_partition(self):
        c = self.connect()
        for p in (2, 7, -1):
            with self.subTest(partition=p):
                res = c.produce_one(self.topic, p, self.batch())
                self.assertEqual(res["error_code"], kw.UNKNOWN_TOPIC_OR_PARTITION)

    def test_corrupt_crc(self):
        before = self.latest(0)
        c = self.connect()
        res = c.produce_one(self.topic, 0, kw.corrupt_crc(self.batch()))
        self.assertEqual(res["error_code"], kw.CORRUPT_MESSAGE)
        res = c.produce_one(self.topic, 0, kw.corrupt_payload(self.batch()))
        self.assertEqual(res["error_code"], kw.CORRUPT_MESSAGE)
        self.assertEqual(self.latest(0), before, "a corrupt batch must not be appended")

    def test_batch_length_disagrees_with_records_size(self):
        before = self.latest(1)
        c = self.connect()
        b = bytearray(self.batch())
        struct.pack_into(">i", b, kw.OFF_BATCH_LENGTH, len(b) - 12 + 100)
        res = c.produce_one(self.topic, 1, bytes(b))
        # Kafka 4.4 answers INVALID_RECORD (its batch iterator finds no whole batch, and v3+
        # needs exactly one): checked against Kafka itself by test_versus_kafka.py.
        self.assertEqual(res["error_code"], kw.INVALID_RECORD,
                         "batchLength larger than the records field")
        self.assertEqual(self.latest(1), before)

    def test_wrong_magic(self):
        before = self.latest(1)
        c = self.connect()
        b = bytearray(self.batch())
        b[kw.OFF_MAGIC] = 1
        res = c.produce_one(self.topic, 1, bytes(b))
        self.assertNotEqual(res["error_code"], 0, "magic 1 inside a v2-sized batch accepted")
        self.assertEqual(self.latest(1), before)

    def test_message_too_large(self):
        before = self.latest(0)
        c = self.connect()
        big = kw.build_record_batch([(b"k", b"x" * (MESSAGE_MAX_BYTES + 1000))])
        res = c.produce_one(self.topic, 0, big)
        self.assertEqual(res["error_code"], kw.MESSAGE_TOO_LARGE)
        self.assertEqual(self.latest(0), before)
        # just under the limit is fine
        ok = kw.build_record_batch([(b"k", b"y" * (MESSAGE_MAX_BYTES - 200))])
        self.assertLessEqual(len(ok), MESSAGE_MAX_BYTES)
        res = c.produce_one(self.topic, 0, ok)
        self.assertEqual(res["error_code"], 0)
        self.assertEqual(self.latest(0), before + 1)

    def test_invalid_required_acks(self):
        before = self.latest(1)
        c = self.connect()
        for acks in (5, 2, -2):
            with self.subTest(acks=acks):
                res = c.produce_one(self.topic, 1, self.batch(), acks=acks)
                self.assertEqual(res["error_code"], kw.INVALID_REQUIRED_ACKS)
        self.assertEqual(self.latest(1), before)

    def test_acks_0_has_no_response(self):
        before = self.latest(1)
        c = self.connect()
        self.assertIsNone(c.produce({self.topic: {1: self.batch(4)}}, acks=0))
        cid = c.send_request(kw.API_VERSIONS, 0, b"")
        got, _ = c.recv_response(header_version=0)
        self.assertEqual(got, cid, "the first response after an acks=0 produce must be the "
                                   "next request's")
        self.assertEqual(self.latest(1), before + 4)

    def test_acks_0_failure_closes_connection(self):
        # With acks=0 the producer reads no answer; Kafka closes the connection when the
        # produce failed so the client notices and refreshes its metadata.
        c = self.connect()
        self.assertIsNone(c.produce({self.topic: {99: self.batch(1)}}, acks=0))
        self.assert_closed(c, "a failed acks=0 produce")

    def test_fetch_v4_serves_zstd_data(self):
        # Kafka refuses zstd below Fetch v10 (KIP-110); Runnel serves it, because kafka-python
        # 2.0.2 fetches with v4 and decodes zstd (see server/kafka/handlers/fetch.cc).
        start = self.latest(0)
        p = make_producer(self.broker.bootstrap, acks="all", **{"compression.type": "zstd"})
        d = Deliveries()
        p.produce(self.topic, value=b"z" * 1000, partition=0, on_delivery=d)
        self.assertEqual(p.flush(TIMEOUT), 0)
        d.check(self, 1)
        c = self.connect()
        res = c.fetch({self.topic: {0: start}})[(self.topic, 0)]
        self.assertEqual(res["error_code"], 0)
        attributes = struct.unpack(">h", res["records"][21:23])[0]  # first batch's attributes
        self.assertEqual(attributes & 7, 4, "the zstd batch, stored and served as sent")

    def test_valid_raw_produce_and_fetch(self):
        c = self.connect()
        recs = [kw.Record(b"rk%d" % i, b"rv%d" % i, [("h", b"%d" % i)], 1_600_000_000_000 + i)
                for i in range(5)]
        res = c.produce_one(self.topic, 1, kw.build_record_batch(recs), acks=-1)
        self.assertEqual(res["error_code"], 0)
        base = res["base_offset"]
        self.assertEqual(res["log_append_time_ms"], -1, "CreateTime topic: log_append_time -1")
        fetched = c.fetch({self.topic: {1: base}})[(self.topic, 1)]
        self.assertEqual(fetched["error_code"], 0)
        self.assertEqual(fetched["high_watermark"], base + 5)
        batches = kw.decode_record_batches(fetched["records"])
        self.assertTrue(all(b.crc_ok for b in batches), "fetched batch with a bad CRC")
        got = [r for b in batches for r in b.records if r.offset >= base][:5]
        self.assertEqual([(r.offset, r.key, r.value, r.headers, r.timestamp) for r in got],
                         [(base + i, r.key, r.value, r.headers, r.timestamp)
                          for i, r in enumerate(recs)])

    def test_fetch_out_of_range_and_unknown(self):
        c = self.connect()
        end = self.latest(0)
        res = c.fetch({self.topic: {0: end + 1000}})[(self.topic, 0)]
        self.assertEqual(res["error_code"], kw.OFFSET_OUT_OF_RANGE)
        missing = unique_name("no-such-topic")
        res = c.fetch({missing: {0: 0}})[(missing, 0)]
        self.assertEqual(res["error_code"], kw.UNKNOWN_TOPIC_OR_PARTITION)

    # ------------------------------------------------------------------ create topics errors

    def test_create_topics_invalid_names(self):
        c = self.connect()
        bad = ["bad topic!", "..", ".", "", "x" * 250, "a/b", "caf\u00e9"]
        res = c.create_topics([(name, 1, 1, {}) for name in bad])
        for name in bad:
            with self.subTest(name=name[:20]):
                self.assertIn(name, res)
                self.assertEqual(res[name][0], kw.INVALID_TOPIC_EXCEPTION, res[name])

    def test_create_topic_name_of_249_chars(self):
        c = self.connect()
        name = ("t%d-" % os.getpid()).ljust(249, "x")
        res = c.create_topics([(name, 1, 1, {})])
        self.assertEqual(res[name][0], 0, res[name])

    def test_create_topics_invalid_arguments(self):
        c = self.connect()
        res = c.create_topics([(unique_name("zero"), 0, 1, {}),
                               (unique_name("rf3"), 1, 3, {}),
                               (unique_name("badcfg"), 1, 1, {"cleanup.policy": "shred"})])
        codes = sorted(v[0] for v in res.values())
        self.assertEqual(codes, sorted([kw.INVALID_PARTITIONS, kw.INVALID_REPLICATION_FACTOR,
                                        kw.INVALID_CONFIG]))

    def test_create_existing_topic(self):
        c = self.connect()
        res = c.create_topics([(self.topic, 1, 1, {})])
        self.assertEqual(res[self.topic][0], kw.TOPIC_ALREADY_EXISTS)

    # ------------------------------------------------------------------ afterwards

    def test_zz_real_client_still_works(self):
        """Runs last (alphabetical order): after all the abuse, a real client on a fresh
        connection produces and consumes normally."""
        p = make_producer(self.broker.bootstrap, acks="all")
        d = Deliveries()
        for i in range(50):
            p.produce(self.topic, key=b"after", value=b"ok-%d" % i, partition=1, on_delivery=d)
        self.assertEqual(p.flush(TIMEOUT), 0)
        d.check(self, 50)
        first = min(m.offset() for _, m in d.reports)
        c = make_consumer(self.broker.bootstrap)
        try:
            c.assign([TopicPartition(self.topic, 1, first)])
            got = consume_partition(c, 50)
        finally:
            c.close()
        self.assertEqual([m.value() for m in got], [b"ok-%d" % i for i in range(50)])


class FetchMaxBytesTest(BrokerTestCase):
    """fetch.max.bytes caps a Fetch response below what the request asks for, as in Kafka; the
    first batch still comes whole (KIP-74)."""

    broker_properties = {"num.partitions": 1, "fetch.max.bytes": 4096}

    def test_broker_limit_caps_the_request(self):
        topic = unique_name("fetch-cap")
        with kw.Connection.to(self.broker.bootstrap) as c:
            c.create_topic_or_fail(topic, 1)
            for i in range(10):  # ten batches of about 1.1 KiB
                batch = kw.build_record_batch([(None, b"%02d" % i + b"x" * 1000)])
                self.assertEqual(c.produce_one(topic, 0, batch)["error_code"], 0)
            res = c.fetch({topic: {0: 0}}, max_bytes=50 << 20,
                          partition_max_bytes=50 << 20)[(topic, 0)]
            self.assertEqual(res["error_code"], 0)
            self.assertEqual(res["high_watermark"], 10)
            batches = kw.decode_record_batches(res["records"])
            self.assertLessEqual(len(res["records"]), 4096)
            self.assertEqual(len(batches), 3)  # 3 x ~1.1 KiB fit in 4 KiB, 4 do not
            # Below the cap the request's own limit rules, and one batch larger than it still
            # comes (KIP-74).
            res = c.fetch({topic: {0: 0}}, max_bytes=100)[(topic, 0)]
            self.assertEqual(len(kw.decode_record_batches(res["records"])), 1)


class RawProtocolTest(BrokerTestCase):
    """Protocol behaviour that no client library here pins down precisely."""

    broker_properties = {"num.partitions": 1, "auto.create.topics.enable": False}

    @classmethod
    def prepare_class(cls):
        cls.topic = unique_name("raw")
        with kw.Connection.to(cls.broker.bootstrap) as c:
            c.create_topic_or_fail(cls.topic, 1)

    def connect(self):
        c = kw.Connection.to(self.broker.bootstrap, timeout=15)
        self.addCleanup(c.close)
        return c

    def test_describe_cluster_matches_metadata(self):
        c = self.connect()
        dc = c.describe_cluster()
        md = c.metadata([])
        self.assertEqual(dc["error_code"], 0, dc["error_message"])
        self.assertEqual(dc["cluster_id"], md["cluster_id"])
        self.assertTrue(dc["cluster_id"])
        self.assertEqual(dc["controller_id"], md["controller_id"])
        self.assertEqual([(b["broker_id"], b["host"], b["port"]) for b in dc["brokers"]],
                         [(b["node_id"], b["host"], b["port"]) for b in md["brokers"]])
        self.assertEqual(dc["brokers"][0]["port"], self.broker.port)

    def test_metadata_empty_list_means_no_topics(self):
        c = self.connect()
        self.assertEqual(c.metadata([])["topics"], [])
        self.assertIn(self.topic, [t["name"] for t in c.metadata(None)["topics"]])

    def test_fetch_long_poll_waits_for_max_wait(self):
        c = self.connect()
        end = c.latest_offset(self.topic, 0)
        t0 = time.monotonic()
        res = c.fetch({self.topic: {0: end}}, max_wait_ms=800, min_bytes=1)[(self.topic, 0)]
        elapsed = time.monotonic() - t0
        self.assertEqual(res["error_code"], 0)
        self.assertEqual(kw.decode_records(res["records"]), [])
        self.assertGreaterEqual(elapsed, 0.7, "Fetch at the end returned before max_wait_ms")
        self.assertLess(elapsed, 5.0)

    def test_fetch_long_poll_wakes_up_on_produce(self):
        fetcher, producer = self.connect(), self.connect()
        end = fetcher.latest_offset(self.topic, 0)
        t0 = time.monotonic()
        cid = fetcher.send_request(kw.FETCH, 4, kw.encode_fetch_v4(
            {self.topic: {0: end}}, max_wait_ms=8000, min_bytes=1))
        time.sleep(0.3)
        res = producer.produce_one(self.topic, 0, kw.build_record_batch([(b"k", b"wake up")]))
        self.assertEqual(res["error_code"], 0)
        _, r = fetcher.recv_response(cid, 0)
        elapsed = time.monotonic() - t0
        out, _ = kw.decode_fetch_v4(r)
        recs = kw.decode_records(out[(self.topic, 0)]["records"])
        self.assertEqual([(x.offset, x.value) for x in recs], [(end, b"wake up")])
        self.assertLess(elapsed, 4.0, "a waiting Fetch was not woken by new data")

    def test_fetch_returns_whole_batches_from_the_middle(self):
        c = self.connect()
        res = c.produce_one(self.topic, 0, kw.build_record_batch(
            [(None, b"m%d" % i) for i in range(10)]))
        base = res["base_offset"]
        out = c.fetch({self.topic: {0: base + 4}})[(self.topic, 0)]
        recs = kw.decode_records(out["records"])
        # Kafka returns the whole batch containing the fetch offset; clients skip the rest
        self.assertEqual(recs[0].offset, base, "expected the batch to start at its base offset")
        self.assertIn((base + 4, b"m4"), [(x.offset, x.value) for x in recs])

    def test_consumer_closing_during_a_large_fetch_response(self):
        # sendfile() raises SIGPIPE when the peer has gone (it takes no MSG_NOSIGNAL): a consumer
        # closing while its Fetch response was being written killed the broker.
        c = self.connect()
        topic = unique_name("raw-big")
        c.create_topic_or_fail(topic, 1)
        value = b"x" * 8000
        for _ in range(24):  # 24 batches of ~800 KB: more than loopback socket buffers hold
            res = c.produce_one(topic, 0, kw.build_record_batch([(None, value)] * 100))
            self.assertEqual(res["error_code"], 0)
        for _ in range(5):
            quitter = kw.Connection.to(self.broker.bootstrap, timeout=15)
            quitter.send_request(kw.FETCH, 4, kw.encode_fetch_v4(
                {topic: {0: 0}}, max_bytes=64 << 20, partition_max_bytes=64 << 20))
            quitter.sock.recv(1024)  # the response has started
            # Closing with unread data makes the kernel answer the broker's writes with a reset.
            quitter.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            quitter.close()
            time.sleep(0.2)
            self.broker.assert_running()
        self.assertEqual(c.latest_offset(topic, 0), 2400)  # the broker still serves

    def test_list_offsets_by_timestamp(self):
        c = self.connect()
        topic = unique_name("raw-ts")  # own topic: the answer depends on every record in it
        self.assertEqual(c.create_topics([(topic, 1, 1, {})])[topic][0], 0)
        ts0 = 1_500_000_000_000
        for batch in ([0, 10, 20], [30, 25, 40]):  # max timestamp 40 in the middle of batch 2
            res = c.produce_one(topic, 0, kw.build_record_batch(
                [kw.Record(None, b"t%d" % t, [], ts0 + t) for t in batch]))
            self.assertEqual(res["error_code"], 0)

        def at(ts):
            got = c.list_offsets({topic: {0: ts}})[(topic, 0)]
            self.assertEqual(got["error_code"], 0)
            return got["offset"], got["timestamp"]
        self.assertEqual(at(ts0 + 15), (2, ts0 + 20))
        self.assertEqual(at(ts0), (0, ts0))
        self.assertEqual(at(ts0 - 1000), (0, ts0))
        self.assertEqual(at(ts0 + 26), (3, ts0 + 30), "first offset with timestamp >= target")
        self.assertEqual(at(ts0 + 35), (5, ts0 + 40))
        self.assertEqual(at(ts0 + 41), (-1, -1), "no such record: offset -1, timestamp -1")
        self.assertEqual(at(kw.EARLIEST_TIMESTAMP)[0], 0)
        self.assertEqual(at(kw.LATEST_TIMESTAMP)[0], 6)


if __name__ == "__main__":
    unittest.main(verbosity=2)

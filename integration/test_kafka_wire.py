#!/usr/bin/python3
"""Self-test of integration/kafka_wire.py (needs no broker)."""

import os
import struct
import sys
import unittest
import zlib

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kafka_wire as kw  # noqa: E402


class Crc32cTest(unittest.TestCase):
    def test_check_value(self):
        self.assertEqual(kw.crc32c(b"123456789"), 0xE3069283)

    def test_known_vectors(self):
        # RFC 3720 (iSCSI) B.4 test vectors
        self.assertEqual(kw.crc32c(bytes(32)), 0x8A9136AA)
        self.assertEqual(kw.crc32c(b"\xff" * 32), 0x62A8AB43)
        self.assertEqual(kw.crc32c(bytes(range(32))), 0x46DD794E)
        self.assertEqual(kw.crc32c(b""), 0)

    def test_incremental(self):
        data = b"The quick brown fox jumps over the lazy dog"
        self.assertEqual(kw.crc32c(data[10:], kw.crc32c(data[:10])), kw.crc32c(data))

    def test_matches_kafka_python(self):
        try:
            from kafka.record.util import calc_crc32c
        except ImportError:
            self.skipTest("kafka-python not importable")
        for data in (b"", b"a", b"123456789", bytes(range(256)) * 3):
            self.assertEqual(kw.crc32c(data), calc_crc32c(data))


class VarintTest(unittest.TestCase):
    def test_roundtrip(self):
        for n in (0, 1, -1, 63, -64, 64, 300, -300, 2**31 - 1, -2**31, 2**62, -2**63):
            r = kw.Reader(kw.varint(n))
            self.assertEqual(r.varint(), n)
            self.assertEqual(r.remaining(), 0)

    def test_known_encodings(self):
        self.assertEqual(kw.varint(0), b"\x00")
        self.assertEqual(kw.varint(-1), b"\x01")
        self.assertEqual(kw.varint(1), b"\x02")
        self.assertEqual(kw.varint(150), b"\xac\x02")
        self.assertEqual(kw.uvarint(300), b"\xac\x02")


class RecordBatchTest(unittest.TestCase):
    def records(self):
        return [
            kw.Record(b"k0", b"v0", [("h", b"x")], 1_700_000_000_000),
            kw.Record(None, b"no key", [], 1_700_000_000_005),
            kw.Record(b"tomb", None, [("a", None), ("b", b"")], 1_700_000_000_002),
        ]

    def test_layout(self):
        batch = kw.build_record_batch(self.records(), base_offset=7)
        base, length, ple, magic, crc = struct.unpack_from(">qiibI", batch, 0)
        self.assertEqual(base, 7)
        self.assertEqual(length, len(batch) - 12)
        self.assertEqual(ple, -1)
        self.assertEqual(magic, 2)
        self.assertEqual(crc, kw.crc32c(batch[kw.OFF_ATTRIBUTES:]))
        attrs, lod, first_ts, max_ts, pid, pepoch, bseq, count = struct.unpack_from(
            ">hiqqqhii", batch, kw.OFF_ATTRIBUTES)
        self.assertEqual((attrs, lod, count), (0, 2, 3))
        self.assertEqual((first_ts, max_ts), (1_700_000_000_000, 1_700_000_000_005))
        self.assertEqual((pid, pepoch, bseq), (-1, -1, -1))

    def test_roundtrip(self):
        batch = kw.build_record_batch(self.records(), base_offset=100)
        batches = kw.decode_record_batches(batch + batch[:30])  # trailing partial batch ignored
        self.assertEqual(len(batches), 1)
        self.assertTrue(batches[0].crc_ok)
        got = batches[0].records
        self.assertEqual([r.offset for r in got], [100, 101, 102])
        self.assertEqual([r.key for r in got], [b"k0", None, b"tomb"])
        self.assertEqual([r.value for r in got], [b"v0", b"no key", None])
        self.assertEqual([r.headers for r in got], [[("h", b"x")], [], [("a", None), ("b", b"")]])
        self.assertEqual([r.timestamp for r in got],
                         [1_700_000_000_000, 1_700_000_000_005, 1_700_000_000_002])

    def test_corruption_detected(self):
        batch = kw.build_record_batch([(b"k", b"v")])
        self.assertFalse(kw.decode_record_batches(kw.corrupt_crc(batch))[0].crc_ok)
        self.assertFalse(kw.decode_record_batches(kw.corrupt_payload(batch))[0].crc_ok)

    def test_gzip_decoding(self):
        plain = kw.build_record_batch([(b"k", b"v" * 100), (b"k2", b"w")], base_timestamp=5)
        header = bytearray(plain[:kw.BATCH_HEADER_SIZE])
        c = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
        body = c.compress(plain[kw.BATCH_HEADER_SIZE:]) + c.flush()
        struct.pack_into(">h", header, kw.OFF_ATTRIBUTES, kw.COMPRESSION_GZIP)
        batch = bytes(header) + body
        batch = batch[:8] + struct.pack(">i", len(batch) - 12) + batch[12:]
        crc = kw.crc32c(batch[kw.OFF_ATTRIBUTES:])
        batch = batch[:kw.OFF_CRC] + struct.pack(">I", crc) + batch[kw.OFF_CRC + 4:]
        got = kw.decode_records(batch)
        self.assertEqual([(r.key, r.value) for r in got], [(b"k", b"v" * 100), (b"k2", b"w")])

    def test_identical_to_kafka_python_builder(self):
        try:
            from kafka.record.default_records import DefaultRecordBatchBuilder
        except ImportError:
            self.skipTest("kafka-python not importable")
        b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False,
                                      producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                      batch_size=1 << 20)
        for i, r in enumerate(self.records()):
            b.append(i, timestamp=r.timestamp, key=r.key, value=r.value, headers=r.headers)
        theirs = bytes(b.build())
        ours = kw.build_record_batch(self.records(), partition_leader_epoch=0)
        self.assertEqual(ours, theirs)

    def test_decodes_kafka_python_gzip_batch(self):
        try:
            from kafka.record.default_records import DefaultRecordBatchBuilder
        except ImportError:
            self.skipTest("kafka-python not importable")
        b = DefaultRecordBatchBuilder(magic=2, compression_type=1, is_transactional=False,
                                      producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                      batch_size=1 << 20)
        for i in range(20):
            b.append(i, timestamp=1000 + i, key=b"key", value=b"value %d" % i, headers=[])
        batches = kw.decode_record_batches(bytes(b.build()))
        self.assertEqual(batches[0].compression, kw.COMPRESSION_GZIP)
        self.assertTrue(batches[0].crc_ok)
        self.assertEqual([r.value for r in batches[0].records], [b"value %d" % i for i in range(20)])


class RequestEncodingTest(unittest.TestCase):
    def test_produce_v3_matches_kafka_python(self):
        try:
            from kafka.protocol.produce import ProduceRequest
        except ImportError:
            self.skipTest("kafka-python not importable")
        batch = kw.build_record_batch([(b"k", b"v")], base_timestamp=1)
        ours = kw.encode_produce_v3(-1, 5000, {"t": {0: batch, 1: batch}})
        theirs = ProduceRequest[3](transactional_id=None, required_acks=-1, timeout=5000,
                                   topics=[("t", [(0, batch), (1, batch)])])
        theirs = theirs.encode()  # (kafka-python binds encode() weakly: keep the object alive)
        self.assertEqual(ours, theirs)

    def test_fetch_v4_matches_kafka_python(self):
        try:
            from kafka.protocol.fetch import FetchRequest
        except ImportError:
            self.skipTest("kafka-python not importable")
        ours = kw.encode_fetch_v4({"t": {0: 5}}, max_wait_ms=100, min_bytes=1, max_bytes=1000,
                                  partition_max_bytes=500)
        theirs = FetchRequest[4](replica_id=-1, max_wait_time=100, min_bytes=1, max_bytes=1000,
                                 isolation_level=0, topics=[("t", [(0, 5, 500)])])
        theirs = theirs.encode()  # (kafka-python binds encode() weakly: keep the object alive)
        self.assertEqual(ours, theirs)

    def test_list_offsets_v1_matches_kafka_python(self):
        try:
            from kafka.protocol.offset import OffsetRequest
        except ImportError:
            self.skipTest("kafka-python not importable")
        ours = kw.encode_list_offsets_v1({"t": {0: -1, 3: 12345}})
        theirs = OffsetRequest[1](replica_id=-1, topics=[("t", [(0, -1), (3, 12345)])])
        theirs = theirs.encode()  # (kafka-python binds encode() weakly: keep the object alive)
        self.assertEqual(ours, theirs)

    def test_create_topics_v2_matches_kafka_python(self):
        try:
            from kafka.protocol.admin import CreateTopicsRequest
        except ImportError:
            self.skipTest("kafka-python not importable")
        ours = kw.encode_create_topics_v2([("a", 3, 1, {"retention.ms": "1"})], 1000, True)
        theirs = CreateTopicsRequest[2](create_topic_requests=[("a", 3, 1, [], [("retention.ms", "1")])],
                                        timeout=1000, validate_only=True)
        theirs = theirs.encode()  # (kafka-python binds encode() weakly: keep the object alive)
        self.assertEqual(ours, theirs)

    def test_request_header(self):
        c = kw.Connection.__new__(kw.Connection)
        c.client_id = "cid"
        v1 = c.encode_request(kw.PRODUCE, 3, b"BODY", 42)
        self.assertEqual(v1, struct.pack(">hhih", 0, 3, 42, 3) + b"cid" + b"BODY")
        v2 = c.encode_request(kw.METADATA, 12, b"BODY", 7)
        self.assertEqual(v2, struct.pack(">hhih", 3, 12, 7, 3) + b"cid" + b"\x00" + b"BODY")
        self.assertEqual(kw.response_header_version(kw.API_VERSIONS, 3), 0)
        self.assertEqual(kw.response_header_version(kw.METADATA, 12), 1)
        self.assertEqual(kw.response_header_version(kw.PRODUCE, 3), 0)

    def test_metadata_v12_response_decoding(self):
        w = kw.Writer()
        w.i32(0)
        w.compact_array([1], lambda ww, n: ww.i32(n).compact_string("127.0.0.1").i32(9092)
                        .compact_string(None).tags())
        w.compact_string("cluster").i32(1)

        def part(ww, p):
            ww.i16(0).i32(p).i32(1).i32(0)
            for _ in range(2):
                ww.compact_array([1], lambda x, n: x.i32(n))
            ww.compact_array([], lambda x, n: x.i32(n)).tags()

        def topic(ww, name):
            ww.i16(0).compact_string(name).uuid(kw.uuid.UUID(int=5)).boolean(False)
            ww.compact_array([0, 1], part).i32(-2147483648).tags()
        w.compact_array(["t"], topic).tags()
        md = kw.decode_metadata_v12(kw.Reader(w.getvalue()))
        self.assertEqual(md["brokers"][0]["port"], 9092)
        self.assertEqual(md["topics"][0]["topic_id"].int, 5)
        self.assertEqual([p["partition_index"] for p in md["topics"][0]["partitions"]], [0, 1])


if __name__ == "__main__":
    unittest.main(verbosity=2)

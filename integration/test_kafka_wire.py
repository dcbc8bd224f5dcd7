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

    def test_list_offsets_v2_matches_kafka_python(self):
        try:
            from kafka.protocol.offset import OffsetRequest
        except ImportError:
            self.skipTest("kafka-python not importable")
        ours = kw.encode_list_offsets_v2({"t": {0: -1, 3: 12345}}, kw.READ_COMMITTED)
        theirs = OffsetRequest[2](replica_id=-1, isolation_level=1,
                                  topics=[("t", [(0, -1), (3, 12345)])])
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

    def test_describe_producers(self):
        # Flexible v0: compact array of (compact name, compact array of int32, tags), then tags.
        self.assertEqual(kw.encode_describe_producers([("t", [0, 2])]),
                         b"\x02" + b"\x02t" + b"\x03" + struct.pack(">ii", 0, 2) + b"\x00"
                         + b"\x00")
        self.assertEqual(kw.request_header_version(kw.DESCRIBE_PRODUCERS, 0), 2)
        producer = struct.pack(">qiiqiq", 9, 2, 14, 1_700_000_000_000, -1, -1)
        raw = (struct.pack(">i", 0) + b"\x02" + b"\x02t" + b"\x03"
               # partition 0: no error, null message, one producer (with an unknown tag 5)
               + struct.pack(">ih", 0, 0) + b"\x00" + b"\x02" + producer + b"\x01\x05\x01z"
               + b"\x00"
               # partition 7: UNKNOWN_TOPIC_OR_PARTITION, message "m", no producers
               + struct.pack(">ih", 7, 3) + b"\x02m" + b"\x01" + b"\x00"
               + b"\x00" + b"\x00")
        r = kw.Reader(raw)
        res = kw.decode_describe_producers(r)
        self.assertEqual(r.remaining(), 0)
        self.assertEqual([(t, p, x["error_code"], x["error_message"]) for t, p, x in res],
                         [("t", 0, 0, None), ("t", 7, 3, "m")])
        self.assertEqual(res[0][2]["producers"], [{
            "producer_id": 9, "producer_epoch": 2, "last_sequence": 14,
            "last_timestamp": 1_700_000_000_000, "coordinator_epoch": -1,
            "current_txn_start_offset": -1}])
        self.assertEqual(res[1][2]["producers"], [])


def _kp(cls_factory):
    """A kafka-python protocol struct's encoding (the object kept alive across encode())."""
    obj = cls_factory()
    return obj.encode()


class GroupApiEncodingTest(unittest.TestCase):
    """Group API encoders/decoders against kafka-python's structs (classic versions), and
    hand-built bytes for flexible versions."""

    def setUp(self):
        try:
            import kafka.protocol.admin as admin
            import kafka.protocol.commit as commit
            import kafka.protocol.group as group
            from kafka.coordinator import protocol as cproto
        except ImportError:
            self.skipTest("kafka-python not importable")
        self.admin, self.commit, self.group, self.cproto = admin, commit, group, cproto

    def test_find_coordinator_requests(self):
        c = self.commit
        self.assertEqual(kw.encode_find_coordinator(0, "g1"),
                         _kp(lambda: c.GroupCoordinatorRequest[0]("g1")))
        self.assertEqual(kw.encode_find_coordinator(1, "g1", key_type=0),
                         _kp(lambda: c.GroupCoordinatorRequest[1]("g1", 0)))
        # v3 flexible: compact key, key type, empty tags
        self.assertEqual(kw.encode_find_coordinator(3, "g1"), b"\x03g1\x00\x00")
        # v4: key type, compact array of compact strings, tags
        self.assertEqual(kw.encode_find_coordinator(4, keys=["a", "bc"]),
                         b"\x00\x03\x02a\x03bc\x00")

    def test_find_coordinator_responses(self):
        v0 = struct.pack(">hih", 0, 7, 9) + b"127.0.0.1" + struct.pack(">i", 9092)
        (c,) = kw.decode_find_coordinator(kw.Reader(v0), 0)["coordinators"]
        self.assertEqual((c["error_code"], c["node_id"], c["host"], c["port"]),
                         (0, 7, "127.0.0.1", 9092))
        w = kw.Writer().i32(0)

        def coord(ww, k):
            ww.compact_string(k).i32(1).compact_string("h").i32(5).i16(0).compact_string(None)
            ww.tags()
        w.compact_array(["a", "b"], coord).tags()
        res = kw.decode_find_coordinator(kw.Reader(w.getvalue()), 4)
        self.assertEqual([(x["key"], x["node_id"], x["host"], x["port"], x["error_code"])
                          for x in res["coordinators"]], [("a", 1, "h", 5, 0), ("b", 1, "h", 5, 0)])

    def test_join_sync_heartbeat_leave_requests(self):
        g = self.group
        meta = kw.encode_consumer_subscription(["t1", "t2"], b"ud")
        self.assertEqual(meta, _kp(lambda: self.cproto.ConsumerProtocolMemberMetadata(
            0, ["t1", "t2"], b"ud")))
        self.assertEqual(
            kw.encode_join_group(2, "g", "m", [("range", meta)], session_timeout_ms=6000,
                                 rebalance_timeout_ms=9000),
            _kp(lambda: g.JoinGroupRequest[2]("g", 6000, 9000, "m", "consumer",
                                              [("range", meta)])))
        assignment = kw.encode_consumer_assignment({"t1": [1, 0]}, None)
        self.assertEqual(assignment, _kp(lambda: self.cproto.ConsumerProtocolMemberAssignment(
            0, [("t1", [0, 1])], None)))
        self.assertEqual(kw.decode_consumer_assignment(assignment), {"t1": [0, 1]})
        self.assertEqual(kw.encode_sync_group(1, "g", 3, "m", {"m": assignment}),
                         _kp(lambda: g.SyncGroupRequest[1]("g", 3, "m", [("m", assignment)])))
        self.assertEqual(kw.encode_heartbeat(1, "g", 3, "m"),
                         _kp(lambda: g.HeartbeatRequest[1]("g", 3, "m")))
        self.assertEqual(kw.encode_leave_group(1, "g", "m"),
                         _kp(lambda: g.LeaveGroupRequest[1]("g", "m")))
        # flexible versions
        self.assertEqual(kw.encode_heartbeat(4, "g", 3, "m", "i"),
                         b"\x02g" + struct.pack(">i", 3) + b"\x02m\x02i\x00")
        self.assertEqual(kw.encode_leave_group(5, "g", members=[("m", None, "bye")]),
                         b"\x02g\x02\x02m\x00\x04bye\x00\x00")
        j6 = kw.encode_join_group(6, "g", "", [("range", b"M")], session_timeout_ms=1,
                                  rebalance_timeout_ms=2, group_instance_id="i")
        self.assertEqual(j6, b"\x02g" + struct.pack(">ii", 1, 2) + b"\x01\x02i\x09consumer"
                         + b"\x02\x06range\x02M\x00" + b"\x00")

    def test_join_sync_responses(self):
        g = self.group
        raw = _kp(lambda: g.JoinGroupResponse[2](5, 0, 4, "range", "m1", "m2",
                                                 [("m1", b"a"), ("m2", b"b")]))
        res = kw.decode_join_group(kw.Reader(raw), 2)
        self.assertEqual((res["throttle_ms"], res["error_code"], res["generation_id"],
                          res["protocol_name"], res["leader"], res["member_id"]),
                         (5, 0, 4, "range", "m1", "m2"))
        self.assertEqual([(m["member_id"], m["metadata"]) for m in res["members"]],
                         [("m1", b"a"), ("m2", b"b")])
        raw = _kp(lambda: g.SyncGroupResponse[1](0, 27, b"xyz"))
        self.assertEqual(kw.decode_sync_group(kw.Reader(raw), 1),
                         {"throttle_ms": 0, "error_code": 27, "assignment": b"xyz"})
        # JoinGroup v9 (flexible, protocol type, skip assignment, instance ids)
        w = kw.Writer().i32(0).i16(79).i32(-1).compact_string("consumer")
        w.compact_string(None).compact_string("").boolean(False).compact_string("mid")
        w.compact_array([], None).tags()
        res = kw.decode_join_group(kw.Reader(w.getvalue()), 9)
        self.assertEqual((res["error_code"], res["member_id"], res["protocol_name"],
                          res["members"]), (79, "mid", None, []))

    def test_offset_commit_and_fetch(self):
        c = self.commit
        self.assertEqual(
            kw.encode_offset_commit(2, "g", {"t": {0: (5, "m"), 1: (7, "")}}, generation_id=3,
                                    member_id="mm"),
            _kp(lambda: c.OffsetCommitRequest[2]("g", 3, "mm", -1,
                                                 [("t", [(0, 5, "m"), (1, 7, "")])])))
        raw = _kp(lambda: c.OffsetCommitResponse[2]([("t", [(0, 0), (1, 12)])]))
        self.assertEqual(kw.decode_offset_commit(kw.Reader(raw), 2)[0],
                         {("t", 0): 0, ("t", 1): 12})
        self.assertEqual(kw.encode_offset_fetch(1, "g", {"t": [1, 0]}),
                         _kp(lambda: c.OffsetFetchRequest[1]("g", [("t", [0, 1])])))
        self.assertEqual(kw.encode_offset_fetch(3, "g", None),
                         _kp(lambda: c.OffsetFetchRequest[3]("g", None)))
        raw = _kp(lambda: c.OffsetFetchResponse[3](0, [("t", [(0, 5, "m", 0), (1, -1, "", 0)])],
                                                   0))
        res = kw.decode_offset_fetch(kw.Reader(raw), 3)
        self.assertEqual(res[None]["error_code"], 0)
        self.assertEqual(res[None]["partitions"][("t", 0)]["offset"], 5)
        self.assertEqual(res[None]["partitions"][("t", 0)]["metadata"], "m")
        self.assertEqual(res[None]["partitions"][("t", 1)]["offset"], -1)
        # v8: groups array
        body = kw.encode_offset_fetch(8, groups={"g": None})
        self.assertEqual(body, b"\x02\x02g\x00\x00" + b"\x00" + b"\x00")
        w = kw.Writer().i32(0)

        def group(ww, gid):
            def topic(x, name):
                x.compact_string(name).compact_array(
                    [0], lambda y, p: y.i32(p).i64(9).i32(-1).compact_string("md").i16(0).tags())
                x.tags()
            ww.compact_string(gid).compact_array(["t"], topic).i16(0).tags()
        w.compact_array(["g"], group).tags()
        res = kw.decode_offset_fetch(kw.Reader(w.getvalue()), 8)
        self.assertEqual(res["g"]["partitions"][("t", 0)]["offset"], 9)
        self.assertEqual(res["g"]["partitions"][("t", 0)]["metadata"], "md")

    def test_list_describe_delete(self):
        a = self.admin
        self.assertEqual(kw.encode_list_groups(2), b"")
        self.assertEqual(kw.encode_list_groups(4, ["Stable"]), b"\x02\x07Stable\x00")
        raw = _kp(lambda: a.ListGroupsResponse[2](0, 0, [("g1", "consumer"), ("g2", "")]))
        err, groups = kw.decode_list_groups(kw.Reader(raw), 2)
        self.assertEqual(err, 0)
        self.assertEqual({g: v["protocol_type"] for g, v in groups.items()},
                         {"g1": "consumer", "g2": ""})
        self.assertEqual(kw.encode_describe_groups(3, ["g1", "g2"], True),
                         _kp(lambda: a.DescribeGroupsRequest[3](["g1", "g2"], True)))
        raw = _kp(lambda: a.DescribeGroupsResponse[1](0, [
            (0, "g1", "Stable", "consumer", "range",
             [("m1", "cid", "/127.0.0.1", b"meta", b"asg")])]))
        res = kw.decode_describe_groups(kw.Reader(raw), 1)
        self.assertEqual(res["g1"]["state"], "Stable")
        self.assertEqual(res["g1"]["members"][0]["client_id"], "cid")
        self.assertEqual(res["g1"]["members"][0]["assignment"], b"asg")
        self.assertEqual(kw.encode_delete_groups(1, ["g"]),
                         _kp(lambda: a.DeleteGroupsRequest[1](["g"])))
        raw = _kp(lambda: a.DeleteGroupsResponse[1](0, [("g", 68)]))
        self.assertEqual(kw.decode_delete_groups(kw.Reader(raw), 1), {"g": 68})

    def test_header_versions(self):
        self.assertEqual(kw.request_header_version(kw.JOIN_GROUP, 5), 1)
        self.assertEqual(kw.request_header_version(kw.JOIN_GROUP, 6), 2)
        self.assertEqual(kw.request_header_version(kw.FIND_COORDINATOR, 3), 2)
        self.assertEqual(kw.request_header_version(kw.OFFSET_DELETE, 0), 1)
        self.assertEqual(kw.response_header_version(kw.HEARTBEAT, 4), 1)
        self.assertEqual(kw.response_header_version(kw.OFFSET_FETCH, 5), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)

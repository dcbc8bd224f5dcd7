"""Minimal Kafka wire-protocol helpers for the integration tests (stdlib only).

Only what the raw-socket tests need:
  * CRC-32C (Castagnoli) in pure Python, table driven;
  * zig-zag varints, a Writer/Reader pair for the classic and the "compact" (flexible) encodings;
  * a record batch v2 (magic 2) builder and decoder (uncompressed, or gzip when decoding);
  * encoders/decoders for a handful of request versions:
        ApiVersions v0 / v3 (and any version number, for the "unsupported version" test),
        Metadata v12, Produce v3, ListOffsets v1, Fetch v4, CreateTopics v2;
  * the consumer-group APIs at any of their versions (FindCoordinator, JoinGroup, SyncGroup,
    Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, ListGroups, DescribeGroups,
    DeleteGroups, OffsetDelete) and the "consumer" protocol's subscription/assignment blobs;
  * InitProducerId at any version, DescribeProducers v0;
  * a blocking Connection with timeouts that frames requests and reads responses.

Field layouts follow Apache Kafka's clients/src/main/resources/common/message/*.json.
"""

import select
import socket
import struct
import time
import uuid
import zlib

# --------------------------------------------------------------------------------------------
# API keys and error codes used by the tests
# --------------------------------------------------------------------------------------------

PRODUCE = 0
FETCH = 1
LIST_OFFSETS = 2
METADATA = 3
OFFSET_COMMIT = 8
OFFSET_FETCH = 9
FIND_COORDINATOR = 10
JOIN_GROUP = 11
HEARTBEAT = 12
LEAVE_GROUP = 13
SYNC_GROUP = 14
DESCRIBE_GROUPS = 15
LIST_GROUPS = 16
API_VERSIONS = 18
CREATE_TOPICS = 19
DELETE_TOPICS = 20
DESCRIBE_CONFIGS = 32
CREATE_PARTITIONS = 37
DELETE_GROUPS = 42
OFFSET_DELETE = 47
DESCRIBE_CLUSTER = 60
CONSUMER_GROUP_HEARTBEAT = 68
CONSUMER_GROUP_DESCRIBE = 69
INIT_PRODUCER_ID = 22
ADD_PARTITIONS_TO_TXN = 24
ADD_OFFSETS_TO_TXN = 25
END_TXN = 26
TXN_OFFSET_COMMIT = 28
DESCRIBE_TRANSACTIONS = 65
LIST_TRANSACTIONS = 66
DESCRIBE_PRODUCERS = 61

NONE = 0
OFFSET_OUT_OF_RANGE = 1
CORRUPT_MESSAGE = 2
UNKNOWN_TOPIC_OR_PARTITION = 3
MESSAGE_TOO_LARGE = 10
OFFSET_METADATA_TOO_LARGE = 12
COORDINATOR_LOAD_IN_PROGRESS = 14
COORDINATOR_NOT_AVAILABLE = 15
OUT_OF_ORDER_SEQUENCE_NUMBER = 45
INVALID_PRODUCER_EPOCH = 47
INVALID_TXN_STATE = 48
INVALID_PRODUCER_ID_MAPPING = 49
INVALID_TRANSACTION_TIMEOUT = 50
CONCURRENT_TRANSACTIONS = 51
TOPIC_AUTHORIZATION_FAILED = 29
OPERATION_NOT_ATTEMPTED = 55
PRODUCER_FENCED = 90
TRANSACTIONAL_ID_NOT_FOUND = 105
TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53
NOT_ENOUGH_REPLICAS = 19
UNKNOWN_PRODUCER_ID = 59
INVALID_PRODUCER_ID_MAPPING = 49
UNSTABLE_OFFSET_COMMIT = 88
NOT_COORDINATOR = 16
INVALID_TOPIC_EXCEPTION = 17
RECORD_LIST_TOO_LARGE = 18
INVALID_REQUIRED_ACKS = 21
ILLEGAL_GENERATION = 22
INCONSISTENT_GROUP_PROTOCOL = 23
INVALID_GROUP_ID = 24
UNKNOWN_MEMBER_ID = 25
INVALID_SESSION_TIMEOUT = 26
REBALANCE_IN_PROGRESS = 27
UNSUPPORTED_VERSION = 35
TOPIC_ALREADY_EXISTS = 36
INVALID_PARTITIONS = 37
INVALID_REPLICATION_FACTOR = 38
INVALID_CONFIG = 40
INVALID_REQUEST = 42
NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69
MEMBER_ID_REQUIRED = 79
FENCED_INSTANCE_ID = 82
GROUP_SUBSCRIBED_TO_TOPIC = 86
INVALID_RECORD = 87
FENCED_MEMBER_EPOCH = 110
UNRELEASED_INSTANCE_ID = 111
UNSUPPORTED_ASSIGNOR = 112
INVALID_REGULAR_EXPRESSION = 128
STALE_MEMBER_EPOCH = 113

# errors a group client retries after a short pause (coordinator still loading / moving)
COORDINATOR_RETRIABLE = (COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR)

LATEST_TIMESTAMP = -1
EARLIEST_TIMESTAMP = -2
MAX_TIMESTAMP = -3

# Fetch / ListOffsets isolation levels
READ_UNCOMMITTED = 0
READ_COMMITTED = 1

# --------------------------------------------------------------------------------------------
# CRC-32C (Castagnoli), reflected polynomial 0x82F63B78
# --------------------------------------------------------------------------------------------


def _make_crc32c_table():
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC32C_TABLE = _make_crc32c_table()


def crc32c(data, crc=0):
    """CRC-32C of `data` (bytes-like); `crc` continues a previous result."""
    crc ^= 0xFFFFFFFF
    table = _CRC32C_TABLE
    for b in bytes(data):
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


# --------------------------------------------------------------------------------------------
# Primitive encoders
# --------------------------------------------------------------------------------------------


def zigzag(n):
    return (n << 1) ^ (n >> 63)


def unzigzag(n):
    return (n >> 1) ^ -(n & 1)


def uvarint(n):
    if n < 0:
        raise ValueError("uvarint of a negative number")
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def varint(n):
    """Signed zig-zag varint/varlong as used inside records."""
    return uvarint(zigzag(n) & 0xFFFFFFFFFFFFFFFF)


class Writer:
    def __init__(self):
        self.buf = bytearray()

    def raw(self, b):
        self.buf += b
        return self

    def i8(self, v):
        self.buf += struct.pack(">b", v)
        return self

    def boolean(self, v):
        return self.i8(1 if v else 0)

    def i16(self, v):
        self.buf += struct.pack(">h", v)
        return self

    def i32(self, v):
        self.buf += struct.pack(">i", v)
        return self

    def u32(self, v):
        self.buf += struct.pack(">I", v)
        return self

    def i64(self, v):
        self.buf += struct.pack(">q", v)
        return self

    def uvarint(self, v):
        self.buf += uvarint(v)
        return self

    def uuid(self, u):
        self.buf += u.bytes if isinstance(u, uuid.UUID) else bytes(u)
        return self

    # classic encodings
    def string(self, s):
        if s is None:
            return self.i16(-1)
        b = s.encode() if isinstance(s, str) else bytes(s)
        return self.i16(len(b)).raw(b)

    def bytes_(self, b):
        if b is None:
            return self.i32(-1)
        return self.i32(len(b)).raw(b)

    def array(self, items, fn):
        if items is None:
            return self.i32(-1)
        self.i32(len(items))
        for it in items:
            fn(self, it)
        return self

    # compact (flexible version) encodings
    def compact_string(self, s):
        if s is None:
            return self.uvarint(0)
        b = s.encode() if isinstance(s, str) else bytes(s)
        return self.uvarint(len(b) + 1).raw(b)

    def compact_bytes(self, b):
        if b is None:
            return self.uvarint(0)
        return self.uvarint(len(b) + 1).raw(b)

    def compact_array(self, items, fn):
        if items is None:
            return self.uvarint(0)
        self.uvarint(len(items) + 1)
        for it in items:
            fn(self, it)
        return self

    def tags(self):
        """An empty tagged-field section."""
        return self.uvarint(0)

    def getvalue(self):
        return bytes(self.buf)


class DecodeError(Exception):
    pass


class Reader:
    def __init__(self, data, pos=0):
        self.data = bytes(data)
        self.pos = pos

    def remaining(self):
        return len(self.data) - self.pos

    def _take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise DecodeError("need %d bytes at %d, have %d" % (n, self.pos, self.remaining()))
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def raw(self, n):
        return self._take(n)

    def i8(self):
        return struct.unpack(">b", self._take(1))[0]

    def boolean(self):
        return self.i8() != 0

    def i16(self):
        return struct.unpack(">h", self._take(2))[0]

    def i32(self):
        return struct.unpack(">i", self._take(4))[0]

    def u32(self):
        return struct.unpack(">I", self._take(4))[0]

    def i64(self):
        return struct.unpack(">q", self._take(8))[0]

    def uuid(self):
        return uuid.UUID(bytes=self._take(16))

    def uvarint(self):
        shift = 0
        result = 0
        while True:
            b = self._take(1)[0]
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 63:
                raise DecodeError("varint too long")

    def varint(self):
        return unzigzag(self.uvarint())

    def string(self):
        n = self.i16()
        if n < 0:
            return None
        return self._take(n).decode()

    def bytes_(self):
        n = self.i32()
        if n < 0:
            return None
        return self._take(n)

    def array(self, fn):
        n = self.i32()
        if n < 0:
            return None
        return [fn(self) for _ in range(n)]

    def compact_string(self):
        n = self.uvarint()
        if n == 0:
            return None
        return self._take(n - 1).decode()

    def compact_bytes(self):
        n = self.uvarint()
        if n == 0:
            return None
        return self._take(n - 1)

    def compact_array(self, fn):
        n = self.uvarint()
        if n == 0:
            return None
        return [fn(self) for _ in range(n - 1)]

    def tags(self):
        """Skips a tagged-field section; returns {tag: raw bytes}."""
        out = {}
        for _ in range(self.uvarint()):
            tag = self.uvarint()
            size = self.uvarint()
            out[tag] = self._take(size)
        return out


# --------------------------------------------------------------------------------------------
# Record batch v2
# --------------------------------------------------------------------------------------------

BATCH_HEADER_SIZE = 61  # baseOffset(8) .. recordCount(4)
# byte offsets inside a batch
OFF_BATCH_LENGTH = 8
OFF_MAGIC = 16
OFF_CRC = 17
OFF_ATTRIBUTES = 21

COMPRESSION_NONE = 0
COMPRESSION_GZIP = 1
COMPRESSION_SNAPPY = 2
COMPRESSION_LZ4 = 3
COMPRESSION_ZSTD = 4


class Record:
    __slots__ = ("offset", "timestamp", "key", "value", "headers", "attributes")

    def __init__(self, key=None, value=None, headers=(), timestamp=None, offset=None, attributes=0):
        self.key = key
        self.value = value
        self.headers = list(headers)
        self.timestamp = timestamp
        self.offset = offset
        self.attributes = attributes

    def __repr__(self):
        return "Record(offset=%r, ts=%r, key=%r, value=%r, headers=%r)" % (
            self.offset, self.timestamp, self.key,
            self.value if self.value is None or len(self.value) < 64 else self.value[:64] + b"...",
            self.headers)


def _encode_record(offset_delta, timestamp_delta, key, value, headers):
    body = bytearray()
    body += b"\x00"  # record attributes
    body += varint(timestamp_delta)
    body += varint(offset_delta)
    if key is None:
        body += varint(-1)
    else:
        body += varint(len(key)) + key
    if value is None:
        body += varint(-1)
    else:
        body += varint(len(value)) + value
    body += varint(len(headers))
    for hk, hv in headers:
        hkb = hk.encode() if isinstance(hk, str) else hk
        body += varint(len(hkb)) + hkb
        if hv is None:
            body += varint(-1)
        else:
            body += varint(len(hv)) + hv
    return varint(len(body)) + bytes(body)


def build_record_batch(records, base_offset=0, base_timestamp=None, attributes=0,
                       producer_id=-1, producer_epoch=-1, base_sequence=-1,
                       partition_leader_epoch=-1):
    """Builds an uncompressed magic-2 record batch.

    `records` is a list of Record, or of (key, value) / (key, value, headers) tuples; keys, values
    and header values are bytes or None. Record timestamps default to `base_timestamp` (now, in
    ms, if None)."""
    recs = []
    for r in records:
        if isinstance(r, Record):
            recs.append(r)
        else:
            recs.append(Record(*r))
    if not recs:
        raise ValueError("a record batch needs at least one record")
    if base_timestamp is None:
        base_timestamp = int(time.time() * 1000)
    timestamps = [r.timestamp if r.timestamp is not None else base_timestamp for r in recs]
    first_ts = timestamps[0]
    max_ts = max(timestamps)
    body = bytearray()
    for i, r in enumerate(recs):
        body += _encode_record(i, timestamps[i] - first_ts, r.key, r.value, r.headers)
    after_crc = Writer()
    after_crc.i16(attributes).i32(len(recs) - 1).i64(first_ts).i64(max_ts)
    after_crc.i64(producer_id).i16(producer_epoch).i32(base_sequence).i32(len(recs))
    after_crc = after_crc.getvalue() + bytes(body)
    crc = crc32c(after_crc)
    # batchLength counts everything after the batchLength field itself
    batch_length = 4 + 1 + 4 + len(after_crc)  # partitionLeaderEpoch + magic + crc + rest
    w = Writer()
    w.i64(base_offset).i32(batch_length).i32(partition_leader_epoch).i8(2).u32(crc)
    return w.getvalue() + after_crc


def corrupt_crc(batch):
    """Returns the batch with its CRC field bit-flipped."""
    b = bytearray(batch)
    b[OFF_CRC] ^= 0xFF
    return bytes(b)


def corrupt_payload(batch, where=-1):
    """Returns the batch with one byte of the CRC-covered part flipped (CRC left as is)."""
    b = bytearray(batch)
    b[where] ^= 0x55
    return bytes(b)


class RecordBatch:
    def __init__(self):
        self.base_offset = None
        self.partition_leader_epoch = None
        self.magic = None
        self.crc = None
        self.crc_ok = None
        self.attributes = None
        self.last_offset_delta = None
        self.base_timestamp = None
        self.max_timestamp = None
        self.producer_id = None
        self.producer_epoch = None
        self.base_sequence = None
        self.records = []

    @property
    def compression(self):
        return self.attributes & 0x07

    @property
    def timestamp_type(self):
        return (self.attributes >> 3) & 1  # 0 CreateTime, 1 LogAppendTime

    def __repr__(self):
        return "RecordBatch(base_offset=%r, attrs=%r, n=%d)" % (
            self.base_offset, self.attributes, len(self.records))


def _decode_records(data, count, batch):
    r = Reader(data)
    out = []
    for _ in range(count):
        length = r.varint()
        rr = Reader(r.raw(length))
        attrs = rr.i8()
        ts_delta = rr.varint()
        off_delta = rr.varint()
        klen = rr.varint()
        key = None if klen < 0 else rr.raw(klen)
        vlen = rr.varint()
        value = None if vlen < 0 else rr.raw(vlen)
        headers = []
        for _ in range(rr.varint()):
            hklen = rr.varint()
            hk = rr.raw(hklen).decode()
            hvlen = rr.varint()
            hv = None if hvlen < 0 else rr.raw(hvlen)
            headers.append((hk, hv))
        ts = batch.max_timestamp if batch.timestamp_type == 1 else batch.base_timestamp + ts_delta
        out.append(Record(key, value, headers, ts, batch.base_offset + off_delta, attrs))
    return out


def decode_record_batches(data):
    """Decodes the concatenated magic-2 batches of a Fetch response's `records` field.
    A trailing partial batch (allowed by the protocol) is ignored. gzip is decompressed; other
    codecs raise DecodeError."""
    batches = []
    pos = 0
    data = bytes(data or b"")
    while len(data) - pos >= 12:
        base_offset, batch_length = struct.unpack_from(">qi", data, pos)
        end = pos + 12 + batch_length
        if end > len(data):
            break
        r = Reader(data[pos:end])
        b = RecordBatch()
        b.base_offset = r.i64()
        r.i32()
        b.partition_leader_epoch = r.i32()
        b.magic = r.i8()
        if b.magic != 2:
            raise DecodeError("magic %d batches are not supported by this decoder" % b.magic)
        b.crc = r.u32()
        b.crc_ok = crc32c(r.data[r.pos:]) == b.crc
        b.attributes = r.i16()
        b.last_offset_delta = r.i32()
        b.base_timestamp = r.i64()
        b.max_timestamp = r.i64()
        b.producer_id = r.i64()
        b.producer_epoch = r.i16()
        b.base_sequence = r.i32()
        count = r.i32()
        payload = r.raw(r.remaining())
        if b.compression == COMPRESSION_GZIP:
            payload = zlib.decompress(payload, 16 + zlib.MAX_WBITS)
        elif b.compression != COMPRESSION_NONE:
            raise DecodeError("compression codec %d not supported by this decoder" % b.compression)
        b.records = _decode_records(payload, count, b)
        batches.append(b)
        pos = end
    return batches


def decode_records(data):
    return [rec for b in decode_record_batches(data) for rec in b.records]


# --------------------------------------------------------------------------------------------
# Request encoders (bodies only; Connection adds the header)
# --------------------------------------------------------------------------------------------

# header version used by each (api_key, version) we send: 1 = classic, 2 = flexible
def request_header_version(api_key, version):
    flexible_from = {
        PRODUCE: 9, FETCH: 12, LIST_OFFSETS: 6, METADATA: 9, API_VERSIONS: 3,
        CREATE_TOPICS: 5, DELETE_TOPICS: 4, DESCRIBE_CONFIGS: 4, CREATE_PARTITIONS: 2,
        DESCRIBE_CLUSTER: 0, CONSUMER_GROUP_HEARTBEAT: 0, CONSUMER_GROUP_DESCRIBE: 0,
        INIT_PRODUCER_ID: 2, ADD_PARTITIONS_TO_TXN: 3, ADD_OFFSETS_TO_TXN: 3, END_TXN: 3,
        TXN_OFFSET_COMMIT: 3, DESCRIBE_PRODUCERS: 0, DESCRIBE_TRANSACTIONS: 0,
        LIST_TRANSACTIONS: 0,
    }.get(api_key)
    if flexible_from is None:
        flexible_from = GROUP_API_FLEXIBLE_FROM.get(api_key)
    if flexible_from is None:
        return 1
    return 2 if version >= flexible_from else 1


def response_header_version(api_key, version):
    if api_key == API_VERSIONS:
        return 0  # always, so that a client can parse it before knowing the versions
    return 1 if request_header_version(api_key, version) == 2 else 0


def encode_api_versions_request(version, client_software_name="runnel-it",
                                client_software_version="1.0"):
    w = Writer()
    if version >= 3:
        w.compact_string(client_software_name).compact_string(client_software_version).tags()
    return w.getvalue()


def decode_api_versions_response(r, version):
    """Returns (error_code, {api_key: (min, max)}, throttle_ms). For versions >= 3 the
    flexible layout is used; an error response is always v0 (see the caller)."""
    error = r.i16()
    apis = {}
    if version >= 3:
        def one(rr):
            k, lo, hi = rr.i16(), rr.i16(), rr.i16()
            rr.tags()
            return k, lo, hi
        entries = r.compact_array(one) or []
    else:
        entries = r.array(lambda rr: (rr.i16(), rr.i16(), rr.i16())) or []
    for k, lo, hi in entries:
        apis[k] = (lo, hi)
    throttle = r.i32() if version >= 1 else 0
    if version >= 3:
        r.tags()
    return error, apis, throttle


def encode_metadata_v12(topics, allow_auto_topic_creation=False):
    """topics: list of names, or None for all topics."""
    w = Writer()

    def topic(ww, name):
        ww.uuid(uuid.UUID(int=0)).compact_string(name).tags()
    w.compact_array(topics, topic)
    w.boolean(allow_auto_topic_creation)
    w.boolean(False)  # include_topic_authorized_operations
    w.tags()
    return w.getvalue()


def decode_metadata_v12(r):
    out = {"throttle_ms": r.i32()}

    def broker(rr):
        b = {"node_id": rr.i32(), "host": rr.compact_string(), "port": rr.i32(),
             "rack": rr.compact_string()}
        rr.tags()
        return b
    out["brokers"] = r.compact_array(broker) or []
    out["cluster_id"] = r.compact_string()
    out["controller_id"] = r.i32()

    def int_array(rr):
        return rr.compact_array(lambda x: x.i32()) or []

    def partition(rr):
        p = {"error_code": rr.i16(), "partition_index": rr.i32(), "leader_id": rr.i32(),
             "leader_epoch": rr.i32(), "replica_nodes": int_array(rr), "isr_nodes": int_array(rr),
             "offline_replicas": int_array(rr)}
        rr.tags()
        return p

    def topic(rr):
        t = {"error_code": rr.i16(), "name": rr.compact_string(), "topic_id": rr.uuid(),
             "is_internal": rr.boolean()}
        t["partitions"] = rr.compact_array(partition) or []
        t["topic_authorized_operations"] = rr.i32()
        rr.tags()
        return t
    out["topics"] = r.compact_array(topic) or []
    r.tags()
    return out


def encode_produce_v3(acks, timeout_ms, topic_data, transactional_id=None):
    """topic_data: {topic: {partition: record_batch_bytes}}"""
    w = Writer()
    w.string(transactional_id).i16(acks).i32(timeout_ms)

    def partition(ww, item):
        p, records = item
        ww.i32(p).bytes_(records)

    def topic(ww, item):
        name, parts = item
        ww.string(name).array(sorted(parts.items()), partition)
    w.array(sorted(topic_data.items()), topic)
    return w.getvalue()


def decode_produce_v3(r):
    """Returns ({(topic, partition): {error_code, base_offset, log_append_time_ms}}, throttle)."""
    out = {}

    def partition(rr, topic):
        p = rr.i32()
        out[(topic, p)] = {"error_code": rr.i16(), "base_offset": rr.i64(),
                           "log_append_time_ms": rr.i64()}

    def topic(rr):
        name = rr.string()
        rr.array(lambda x: partition(x, name))
    r.array(topic)
    throttle = r.i32()
    return out, throttle


def encode_list_offsets_v1(requests, replica_id=-1, isolation_level=None):
    """requests: {topic: {partition: timestamp}}; an isolation_level makes it v2."""
    w = Writer()
    w.i32(replica_id)
    if isolation_level is not None:
        w.i8(isolation_level)

    def partition(ww, item):
        ww.i32(item[0]).i64(item[1])

    def topic(ww, item):
        ww.string(item[0]).array(sorted(item[1].items()), partition)
    w.array(sorted(requests.items()), topic)
    return w.getvalue()


def decode_list_offsets_v1(r):
    """Returns {(topic, partition): {error_code, timestamp, offset}}."""
    out = {}

    def partition(rr, topic):
        p = rr.i32()
        out[(topic, p)] = {"error_code": rr.i16(), "timestamp": rr.i64(), "offset": rr.i64()}

    def topic(rr):
        name = rr.string()
        rr.array(lambda x: partition(x, name))
    r.array(topic)
    return out


def encode_list_offsets_v2(requests, isolation_level=READ_UNCOMMITTED, replica_id=-1):
    """requests: {topic: {partition: timestamp}}; v2 adds the isolation level."""
    return encode_list_offsets_v1(requests, replica_id, isolation_level)


def decode_list_offsets_v2(r):
    """Returns ({(topic, partition): {error_code, timestamp, offset}}, throttle)."""
    throttle = r.i32()
    return decode_list_offsets_v1(r), throttle


def encode_fetch_v4(requests, max_wait_ms=100, min_bytes=1, max_bytes=50 * 1024 * 1024,
                    partition_max_bytes=10 * 1024 * 1024, isolation_level=0):
    """requests: {topic: {partition: fetch_offset}}"""
    w = Writer()
    w.i32(-1).i32(max_wait_ms).i32(min_bytes).i32(max_bytes).i8(isolation_level)

    def partition(ww, item):
        ww.i32(item[0]).i64(item[1]).i32(partition_max_bytes)

    def topic(ww, item):
        ww.string(item[0]).array(sorted(item[1].items()), partition)
    w.array(sorted(requests.items()), topic)
    return w.getvalue()


def decode_fetch_v4(r):
    """Returns ({(topic, partition): {error_code, high_watermark, last_stable_offset,
    aborted_transactions, records}}, throttle)."""
    throttle = r.i32()
    out = {}

    def partition(rr, topic):
        p = rr.i32()
        d = {"error_code": rr.i16(), "high_watermark": rr.i64(), "last_stable_offset": rr.i64()}
        d["aborted_transactions"] = rr.array(lambda x: (x.i64(), x.i64()))
        d["records"] = rr.bytes_()
        out[(topic, p)] = d

    def topic(rr):
        name = rr.string()
        rr.array(lambda x: partition(x, name))
    r.array(topic)
    return out, throttle


def encode_create_topics_v2(topics, timeout_ms=10000, validate_only=False):
    """topics: list of (name, num_partitions, replication_factor, {config: value}[,
    {partition: [broker ids]}]); with an assignment, pass -1 partitions and factor."""
    w = Writer()

    def config(ww, item):
        ww.string(item[0]).string(item[1])

    def assignment(ww, item):
        ww.i32(item[0])
        ww.array(item[1], lambda www, b: www.i32(b))

    def topic(ww, t):
        name, parts, rf, configs = t[:4]
        assignments = t[4] if len(t) > 4 else {}
        ww.string(name).i32(parts).i16(rf)
        ww.array(sorted(assignments.items()), assignment)
        ww.array(sorted((configs or {}).items()), config)
    w.array(topics, topic)
    w.i32(timeout_ms).boolean(validate_only)
    return w.getvalue()


def decode_create_topics_v2(r):
    """Returns ({name: (error_code, error_message)}, throttle)."""
    throttle = r.i32()
    out = {}

    def topic(rr):
        name = rr.string()
        out[name] = (rr.i16(), rr.string())
    r.array(topic)
    return out, throttle


def encode_describe_cluster_v0(include_cluster_authorized_operations=False):
    return Writer().boolean(include_cluster_authorized_operations).tags().getvalue()


def decode_describe_cluster_v0(r):
    out = {"throttle_ms": r.i32(), "error_code": r.i16(), "error_message": r.compact_string(),
           "cluster_id": r.compact_string(), "controller_id": r.i32()}

    def broker(rr):
        b = {"broker_id": rr.i32(), "host": rr.compact_string(), "port": rr.i32(),
             "rack": rr.compact_string()}
        rr.tags()
        return b
    out["brokers"] = r.compact_array(broker) or []
    out["cluster_authorized_operations"] = r.i32()
    r.tags()
    return out


# --------------------------------------------------------------------------------------------
# Consumer-group APIs (classic protocol), any version
# --------------------------------------------------------------------------------------------

# first flexible version of each group API (OffsetDelete has none)
GROUP_API_FLEXIBLE_FROM = {
    FIND_COORDINATOR: 3, JOIN_GROUP: 6, SYNC_GROUP: 4, HEARTBEAT: 4, LEAVE_GROUP: 4,
    OFFSET_COMMIT: 8, OFFSET_FETCH: 6, LIST_GROUPS: 3, DESCRIBE_GROUPS: 5, DELETE_GROUPS: 2,
}


def is_flexible(api_key, version):
    return request_header_version(api_key, version) == 2


class VWriter(Writer):
    """A Writer that picks the classic or the compact encoding by `flexible`."""

    def __init__(self, flexible):
        super().__init__()
        self.flexible = flexible

    def str_(self, s):
        return self.compact_string(s) if self.flexible else self.string(s)

    def blob(self, b):
        return self.compact_bytes(b) if self.flexible else self.bytes_(b)

    def arr(self, items, fn):
        return self.compact_array(items, fn) if self.flexible else self.array(items, fn)

    def end(self):
        """The tagged-field section of a flexible struct (nothing in classic versions)."""
        return self.tags() if self.flexible else self


class VReader(Reader):
    def __init__(self, reader, flexible):
        super().__init__(reader.data, reader.pos)
        self.flexible = flexible

    def str_(self):
        return self.compact_string() if self.flexible else self.string()

    def blob(self):
        return self.compact_bytes() if self.flexible else self.bytes_()

    def arr(self, fn):
        return self.compact_array(fn) if self.flexible else self.array(fn)

    def end(self):
        return self.tags() if self.flexible else {}


def _vw(api_key, version):
    return VWriter(is_flexible(api_key, version))


def _vr(r, api_key, version):
    return r if isinstance(r, VReader) else VReader(r, is_flexible(api_key, version))


# --- InitProducerId (22) ---

def encode_init_producer_id(version, transactional_id=None, timeout_ms=60000, producer_id=-1,
                            producer_epoch=-1):
    w = _vw(INIT_PRODUCER_ID, version)
    w.str_(transactional_id).i32(timeout_ms)
    if version >= 3:
        w.i64(producer_id).i16(producer_epoch)
    w.end()
    return w.getvalue()


def decode_init_producer_id(r, version):
    r = _vr(r, INIT_PRODUCER_ID, version)
    out = {"throttle_time_ms": r.i32(), "error_code": r.i16(), "producer_id": r.i64(),
           "producer_epoch": r.i16()}
    r.end()
    return out


# --- DescribeProducers (61, KIP-664), v0 only (flexible) ---

def encode_describe_producers(topics):
    """topics: [(topic, [partitions])], in request order (duplicates are sent as given)."""
    w = Writer()

    def topic(ww, item):
        ww.compact_string(item[0]).compact_array(list(item[1]), lambda x, p: x.i32(p)).tags()
    w.compact_array(list(topics), topic)
    return w.tags().getvalue()


def decode_describe_producers(r):
    """Returns [(topic, partition, {error_code, error_message, producers})] in response order;
    producers: [{producer_id, producer_epoch, last_sequence, last_timestamp, coordinator_epoch,
    current_txn_start_offset}]."""
    r.i32()  # throttle time
    out = []

    def producer(x):
        p = {"producer_id": x.i64(), "producer_epoch": x.i32(), "last_sequence": x.i32(),
             "last_timestamp": x.i64(), "coordinator_epoch": x.i32(),
             "current_txn_start_offset": x.i64()}
        x.tags()
        return p

    def topic(rr):
        name = rr.compact_string()

        def partition(x):
            index = x.i32()
            res = {"error_code": x.i16(), "error_message": x.compact_string(),
                   "producers": x.compact_array(producer) or []}
            x.tags()
            out.append((name, index, res))
        rr.compact_array(partition)
        rr.tags()
    r.compact_array(topic)
    r.tags()
    return out


# --- TxnOffsetCommit (28) ---

def encode_txn_offset_commit(version, transactional_id, group_id, producer_id, producer_epoch,
                             offsets, generation_id=-1, member_id="", group_instance_id=None):
    """offsets as for encode_offset_commit."""
    w = _vw(TXN_OFFSET_COMMIT, version)
    w.str_(transactional_id).str_(group_id).i64(producer_id).i16(producer_epoch)
    if version >= 3:
        w.i32(generation_id).str_(member_id).str_(group_instance_id)
    _commit_topics(w, offsets, leader_epoch=version >= 2)
    return w.end().getvalue()


def decode_txn_offset_commit(r, version):
    """Returns {(topic, partition): error_code}."""
    r = _vr(r, TXN_OFFSET_COMMIT, version)
    r.i32()  # throttle time
    return _commit_errors(r)


# --- FindCoordinator (10) ---

def encode_find_coordinator(version, key=None, keys=None, key_type=0):
    """v0-3 look up one `key`; v4+ a batch (`keys`, default [key])."""
    w = _vw(FIND_COORDINATOR, version)
    if version >= 4:
        w.i8(key_type).arr(list(keys if keys is not None else [key]), lambda ww, k: ww.str_(k))
    else:
        w.str_(key)
        if version >= 1:
            w.i8(key_type)
    return w.end().getvalue()


def decode_find_coordinator(r, version):
    """Returns {"throttle_ms", "coordinators": [{key, node_id, host, port, error_code,
    error_message}]}; before v4 the one entry has key None."""
    r = _vr(r, FIND_COORDINATOR, version)
    out = {"throttle_ms": r.i32() if version >= 1 else 0}
    if version >= 4:
        def one(rr):
            c = {"key": rr.str_(), "node_id": rr.i32(), "host": rr.str_(), "port": rr.i32(),
                 "error_code": rr.i16(), "error_message": rr.str_()}
            rr.end()
            return c
        out["coordinators"] = r.arr(one) or []
    else:
        c = {"key": None, "error_code": r.i16()}
        c["error_message"] = r.str_() if version >= 1 else None
        c["node_id"], c["host"], c["port"] = r.i32(), r.str_(), r.i32()
        out["coordinators"] = [c]
    r.end()
    return out


# --- JoinGroup (11) ---

def encode_join_group(version, group_id, member_id="", protocols=(), protocol_type="consumer",
                      session_timeout_ms=10000, rebalance_timeout_ms=30000,
                      group_instance_id=None, reason=None):
    """protocols: [(name, metadata bytes)]."""
    w = _vw(JOIN_GROUP, version)
    w.str_(group_id).i32(session_timeout_ms)
    if version >= 1:
        w.i32(rebalance_timeout_ms)
    w.str_(member_id)
    if version >= 5:
        w.str_(group_instance_id)
    elif group_instance_id is not None:
        raise ValueError("JoinGroup v%d has no group instance id" % version)
    w.str_(protocol_type)

    def proto(ww, p):
        ww.str_(p[0]).blob(p[1]).end()
    w.arr(list(protocols), proto)
    if version >= 8:
        w.str_(reason)
    return w.end().getvalue()


def decode_join_group(r, version):
    r = _vr(r, JOIN_GROUP, version)
    out = {"throttle_ms": r.i32() if version >= 2 else 0, "error_code": r.i16(),
           "generation_id": r.i32()}
    out["protocol_type"] = r.str_() if version >= 7 else None
    out["protocol_name"] = r.str_()
    out["leader"] = r.str_()
    out["skip_assignment"] = r.boolean() if version >= 9 else False
    out["member_id"] = r.str_()

    def member(rr):
        m = {"member_id": rr.str_()}
        m["group_instance_id"] = rr.str_() if version >= 5 else None
        m["metadata"] = rr.blob()
        rr.end()
        return m
    out["members"] = r.arr(member) or []
    r.end()
    return out


# --- SyncGroup (14) ---

def encode_sync_group(version, group_id, generation_id, member_id, assignments=None,
                      group_instance_id=None, protocol_type="consumer", protocol_name=None):
    """assignments: {member_id: assignment bytes} (the leader's), or None/{} (followers)."""
    w = _vw(SYNC_GROUP, version)
    w.str_(group_id).i32(generation_id).str_(member_id)
    if version >= 3:
        w.str_(group_instance_id)
    if version >= 5:
        w.str_(protocol_type).str_(protocol_name)

    def assignment(ww, item):
        ww.str_(item[0]).blob(item[1]).end()
    w.arr(sorted((assignments or {}).items()), assignment)
    return w.end().getvalue()


def decode_sync_group(r, version):
    r = _vr(r, SYNC_GROUP, version)
    out = {"throttle_ms": r.i32() if version >= 1 else 0, "error_code": r.i16()}
    if version >= 5:
        out["protocol_type"], out["protocol_name"] = r.str_(), r.str_()
    out["assignment"] = r.blob()
    r.end()
    return out


# --- Heartbeat (12) ---

def encode_heartbeat(version, group_id, generation_id, member_id, group_instance_id=None):
    w = _vw(HEARTBEAT, version)
    w.str_(group_id).i32(generation_id).str_(member_id)
    if version >= 3:
        w.str_(group_instance_id)
    return w.end().getvalue()


def decode_heartbeat(r, version):
    r = _vr(r, HEARTBEAT, version)
    out = {"throttle_ms": r.i32() if version >= 1 else 0, "error_code": r.i16()}
    r.end()
    return out


# --- LeaveGroup (13) ---

def encode_leave_group(version, group_id, member_id=None, members=None):
    """v0-2: one member_id; v3+: members [(member_id, group_instance_id[, reason])]
    (default [(member_id, None)])."""
    w = _vw(LEAVE_GROUP, version)
    w.str_(group_id)
    if version <= 2:
        w.str_(member_id)
    else:
        if members is None:
            members = [(member_id, None)]

        def member(ww, m):
            ww.str_(m[0]).str_(m[1])
            if version >= 5:
                ww.str_(m[2] if len(m) > 2 else None)
            ww.end()
        w.arr(list(members), member)
    return w.end().getvalue()


def decode_leave_group(r, version):
    r = _vr(r, LEAVE_GROUP, version)
    out = {"throttle_ms": r.i32() if version >= 1 else 0, "error_code": r.i16(), "members": []}
    if version >= 3:
        def member(rr):
            m = {"member_id": rr.str_(), "group_instance_id": rr.str_(), "error_code": rr.i16()}
            rr.end()
            return m
        out["members"] = r.arr(member) or []
    r.end()
    return out


# --- OffsetCommit (8) ---

def encode_offset_commit(version, group_id, offsets, generation_id=-1, member_id="",
                         group_instance_id=None, retention_time_ms=-1):
    """offsets: {topic: {partition: offset or (offset, metadata) or (offset, metadata,
    leader_epoch)}}. Metadata defaults to "" (as the Java client sends)."""
    w = _vw(OFFSET_COMMIT, version)
    w.str_(group_id)
    if version >= 1:
        w.i32(generation_id).str_(member_id)
    if version >= 7:
        w.str_(group_instance_id)
    if 2 <= version <= 4:
        w.i64(retention_time_ms)
    _commit_topics(w, offsets, leader_epoch=version >= 6, commit_timestamp=version == 1)
    return w.end().getvalue()


def _commit_topics(w, offsets, leader_epoch, commit_timestamp=False):
    """The topics of an OffsetCommit / TxnOffsetCommit request (see encode_offset_commit for
    `offsets`); leader_epoch / commit_timestamp: whether the version has that field."""
    def partition(ww, item):
        p, v = item
        if not isinstance(v, tuple):
            v = (v,)
        offset = v[0]
        metadata = v[1] if len(v) > 1 else ""
        epoch = v[2] if len(v) > 2 else -1
        ww.i32(p).i64(offset)
        if leader_epoch:
            ww.i32(epoch)
        if commit_timestamp:
            ww.i64(-1)  # commit timestamp: now
        ww.str_(metadata).end()

    def topic(ww, item):
        ww.str_(item[0]).arr(sorted(item[1].items()), partition).end()
    w.arr(sorted(offsets.items()), topic)


def _commit_errors(r):
    """The rest of an OffsetCommit / TxnOffsetCommit response: {(topic, partition): error}."""
    out = {}

    def topic(rr):
        name = rr.str_()

        def partition(x):
            p = x.i32()
            out[(name, p)] = x.i16()
            x.end()
        rr.arr(partition)
        rr.end()
    r.arr(topic)
    r.end()
    return out


def decode_offset_commit(r, version):
    """Returns ({(topic, partition): error_code}, throttle_ms)."""
    r = _vr(r, OFFSET_COMMIT, version)
    throttle = r.i32() if version >= 3 else 0
    return _commit_errors(r), throttle


# --- OffsetFetch (9) ---

def encode_offset_fetch(version, group_id=None, topics=None, require_stable=False, groups=None):
    """v0-7: one group; topics {topic: [partitions]} or None (all, v2+).
    v8+: groups {group_id: topics or None} (default {group_id: topics})."""
    w = _vw(OFFSET_FETCH, version)

    def topic(ww, item):
        ww.str_(item[0]).arr(sorted(item[1]), lambda x, p: x.i32(p)).end()

    def topic_list(t):
        return None if t is None else sorted(t.items())
    if version <= 7:
        if topics is None and version < 2:
            raise ValueError("OffsetFetch v%d cannot ask for all topics" % version)
        w.str_(group_id).arr(topic_list(topics), topic)
    else:
        if groups is None:
            groups = {group_id: topics}

        def group(ww, item):
            ww.str_(item[0])
            if version >= 9:
                ww.str_(None).i32(-1)  # member id, member epoch (KIP-848 only)
            ww.arr(topic_list(item[1]), topic).end()
        w.arr(sorted(groups.items()), group)
    if version >= 7:
        w.boolean(require_stable)
    return w.end().getvalue()


def decode_offset_fetch(r, version):
    """Returns {group_id: {"error_code": e, "partitions": {(topic, p): {offset, leader_epoch,
    metadata, error_code}}}, "throttle_ms": t}. Before v8 the single group's key is None."""
    r = _vr(r, OFFSET_FETCH, version)
    throttle = r.i32() if version >= 3 else 0

    def topics(rr, out):
        def topic(x):
            name = x.str_()

            def partition(y):
                p = y.i32()
                d = {"offset": y.i64()}
                d["leader_epoch"] = y.i32() if version >= 5 else -1
                d["metadata"] = y.str_()
                d["error_code"] = y.i16()
                y.end()
                out[(name, p)] = d
            x.arr(partition)
            x.end()
        rr.arr(topic)

    result = {"throttle_ms": throttle}
    if version <= 7:
        parts = {}
        topics(r, parts)
        err = r.i16() if version >= 2 else 0
        result[None] = {"error_code": err, "partitions": parts}
    else:
        def group(rr):
            gid = rr.str_()
            parts = {}
            topics(rr, parts)
            result[gid] = {"partitions": parts, "error_code": rr.i16()}
            rr.end()
        r.arr(group)
    r.end()
    return result


# --- ListGroups (16) ---

def encode_list_groups(version, states_filter=None, types_filter=None):
    w = _vw(LIST_GROUPS, version)
    if version >= 4:
        w.arr(list(states_filter or []), lambda ww, s: ww.str_(s))
    if version >= 5:
        w.arr(list(types_filter or []), lambda ww, s: ww.str_(s))
    return w.end().getvalue()


def decode_list_groups(r, version):
    """Returns (error_code, {group_id: {protocol_type, state, type}})."""
    r = _vr(r, LIST_GROUPS, version)
    if version >= 1:
        r.i32()
    err = r.i16()
    groups = {}

    def group(rr):
        g = {"group_id": rr.str_(), "protocol_type": rr.str_()}
        g["state"] = rr.str_() if version >= 4 else None
        g["type"] = rr.str_() if version >= 5 else None
        rr.end()
        groups[g["group_id"]] = g
    r.arr(group)
    r.end()
    return err, groups


# --- DescribeGroups (15) ---

def encode_describe_groups(version, groups, include_authorized_operations=False):
    w = _vw(DESCRIBE_GROUPS, version)
    w.arr(list(groups), lambda ww, g: ww.str_(g))
    if version >= 3:
        w.boolean(include_authorized_operations)
    return w.end().getvalue()


def decode_describe_groups(r, version):
    """Returns {group_id: {error_code, state, protocol_type, protocol_data, members: [...],
    authorized_operations}}."""
    r = _vr(r, DESCRIBE_GROUPS, version)
    if version >= 1:
        r.i32()
    out = {}

    def member(rr):
        m = {"member_id": rr.str_()}
        m["group_instance_id"] = rr.str_() if version >= 4 else None
        m["client_id"], m["client_host"] = rr.str_(), rr.str_()
        m["metadata"], m["assignment"] = rr.blob(), rr.blob()
        rr.end()
        return m

    def group(rr):
        g = {"error_code": rr.i16(), "group_id": rr.str_(), "state": rr.str_(),
             "protocol_type": rr.str_(), "protocol_data": rr.str_()}
        g["members"] = rr.arr(member) or []
        g["authorized_operations"] = rr.i32() if version >= 3 else None
        rr.end()
        out[g["group_id"]] = g
    r.arr(group)
    r.end()
    return out


# --- DeleteGroups (42) ---

def encode_delete_groups(version, groups):
    w = _vw(DELETE_GROUPS, version)
    w.arr(list(groups), lambda ww, g: ww.str_(g))
    return w.end().getvalue()


def decode_delete_groups(r, version):
    """Returns {group_id: error_code}."""
    r = _vr(r, DELETE_GROUPS, version)
    r.i32()
    out = {}

    def result(rr):
        g = rr.str_()
        out[g] = rr.i16()
        rr.end()
    r.arr(result)
    r.end()
    return out


# --- ConsumerGroupHeartbeat (68), v0-1, and ConsumerGroupDescribe (69), v0 (KIP-848) ---
# Both are flexible from v0. Topic ids are uuid.UUID; partitions lists of ints.

def encode_consumer_group_heartbeat(version, group_id, member_id="", member_epoch=0,
                                    instance_id=None, rack_id=None, rebalance_timeout_ms=-1,
                                    subscribed_topic_names=None, subscribed_topic_regex=None,
                                    server_assignor=None, topic_partitions=None):
    """topic_partitions: None or {topic_id: [partitions]}."""
    w = Writer()
    w.compact_string(group_id).compact_string(member_id).i32(member_epoch)
    w.compact_string(instance_id).compact_string(rack_id).i32(rebalance_timeout_ms)
    w.compact_array(None if subscribed_topic_names is None else list(subscribed_topic_names),
                    lambda ww, t: ww.compact_string(t))
    if version >= 1:
        w.compact_string(subscribed_topic_regex)
    w.compact_string(server_assignor)

    def tp(ww, item):
        ww.uuid(item[0]).compact_array(sorted(item[1]), lambda x, p: x.i32(p)).tags()
    w.compact_array(None if topic_partitions is None else sorted(topic_partitions.items(),
                                                                 key=lambda i: str(i[0])), tp)
    return w.tags().getvalue()


def decode_consumer_group_heartbeat(r, version):
    """Returns {throttle_ms, error_code, error_message, member_id, member_epoch,
    heartbeat_interval_ms, assignment: None or {topic_id: [partitions]}}."""
    out = {"throttle_ms": r.i32(), "error_code": r.i16(), "error_message": r.compact_string(),
           "member_id": r.compact_string(), "member_epoch": r.i32(),
           "heartbeat_interval_ms": r.i32(), "assignment": None}
    if r.i8() >= 0:
        assignment = {}

        def tp(rr):
            tid = rr.uuid()
            assignment[tid] = rr.compact_array(lambda x: x.i32()) or []
            rr.tags()
        r.compact_array(tp)
        r.tags()
        out["assignment"] = assignment
    r.tags()
    return out


def encode_consumer_group_describe(version, groups, include_authorized_operations=False):
    w = Writer()
    w.compact_array(list(groups), lambda ww, g: ww.compact_string(g))
    w.boolean(include_authorized_operations)
    return w.tags().getvalue()


def decode_consumer_group_describe(r, version):
    """Returns {group_id: {error_code, error_message, state, group_epoch, assignment_epoch,
    assignor_name, members: {member_id: {...}}}}; assignments as {topic_name: [partitions]}."""
    r.i32()
    out = {}

    def assignment(rr):
        a = {}

        def tp(x):
            x.uuid()
            name = x.compact_string()
            a[name] = x.compact_array(lambda y: y.i32()) or []
            x.tags()
        rr.compact_array(tp)
        rr.tags()
        return a

    def member(rr):
        m = {"member_id": rr.compact_string(), "instance_id": rr.compact_string(),
             "rack_id": rr.compact_string(), "member_epoch": rr.i32(),
             "client_id": rr.compact_string(), "client_host": rr.compact_string(),
             "subscribed_topic_names": rr.compact_array(lambda x: x.compact_string()) or [],
             "subscribed_topic_regex": rr.compact_string()}
        m["assignment"] = assignment(rr)
        m["target_assignment"] = assignment(rr)
        rr.tags()
        return m

    def group(rr):
        g = {"error_code": rr.i16(), "error_message": rr.compact_string(),
             "group_id": rr.compact_string(), "state": rr.compact_string(),
             "group_epoch": rr.i32(), "assignment_epoch": rr.i32(),
             "assignor_name": rr.compact_string()}
        g["members"] = {m["member_id"]: m for m in (rr.compact_array(member) or [])}
        g["authorized_operations"] = rr.i32()
        rr.tags()
        out[g["group_id"]] = g
    r.compact_array(group)
    r.tags()
    return out


# --- OffsetDelete (47), v0 only ---

def encode_offset_delete(group_id, topics):
    """topics: {topic: [partitions]}"""
    w = Writer()
    w.string(group_id)

    def topic(ww, item):
        ww.string(item[0]).array(sorted(item[1]), lambda x, p: x.i32(p))
    w.array(sorted(topics.items()), topic)
    return w.getvalue()


def decode_offset_delete(r):
    """Returns (error_code, {(topic, partition): error_code})."""
    err = r.i16()
    r.i32()
    out = {}

    def topic(rr):
        name = rr.string()

        def partition(x):
            p = x.i32()
            out[(name, p)] = x.i16()
        rr.array(partition)
    r.array(topic)
    return err, out


# --- the "consumer" protocol's embedded blobs (ConsumerProtocolSubscription/Assignment) ---

def encode_consumer_subscription(topics, user_data=None, version=0, owned_partitions=None):
    """Subscription metadata for JoinGroup's protocol list (v0, or v1 with owned partitions)."""
    w = Writer()
    w.i16(version).array(list(topics), lambda ww, t: ww.string(t)).bytes_(user_data)
    if version >= 1:
        def owned(ww, item):
            ww.string(item[0]).array(sorted(item[1]), lambda x, p: x.i32(p))
        w.array(sorted((owned_partitions or {}).items()), owned)
    return w.getvalue()


def decode_consumer_subscription(data):
    r = Reader(data)
    out = {"version": r.i16(), "topics": r.array(lambda x: x.string()) or []}
    out["user_data"] = r.bytes_()
    return out


def encode_consumer_assignment(assignment, user_data=None, version=0):
    """assignment: {topic: [partitions]}"""
    w = Writer()

    def topic(ww, item):
        ww.string(item[0]).array(sorted(item[1]), lambda x, p: x.i32(p))
    w.i16(version).array(sorted(assignment.items()), topic).bytes_(user_data)
    return w.getvalue()


def decode_consumer_assignment(data):
    """Returns {topic: [partitions]} (empty for an empty/None blob)."""
    if not data:
        return {}
    r = Reader(data)
    r.i16()
    out = {}

    def topic(rr):
        name = rr.string()
        out[name] = rr.array(lambda x: x.i32()) or []
    r.array(topic)
    return out


# --------------------------------------------------------------------------------------------
# Connection
# --------------------------------------------------------------------------------------------


class ConnectionClosed(Exception):
    pass


class Connection:
    """A blocking client connection. Every socket operation has a timeout."""

    def __init__(self, host, port, timeout=10.0, client_id="runnel-it-raw", source=None):
        """source: local address to connect from (default: the kernel's choice)."""
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.sock.settimeout(timeout)
        self.timeout = timeout
        self.client_id = client_id
        self.next_correlation_id = 1

    @classmethod
    def to(cls, bootstrap, **kw):
        host, port = bootstrap.rsplit(":", 1)
        return cls(host, int(port), **kw)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- framing ---

    def send_raw(self, data):
        self.sock.sendall(data)

    def send_frame(self, payload):
        self.send_raw(struct.pack(">i", len(payload)) + payload)

    def encode_request(self, api_key, api_version, body, correlation_id, header_version=None):
        if header_version is None:
            header_version = request_header_version(api_key, api_version)
        w = Writer()
        w.i16(api_key).i16(api_version).i32(correlation_id).string(self.client_id)
        if header_version >= 2:
            w.tags()
        return w.getvalue() + body

    def send_request(self, api_key, api_version, body, header_version=None, correlation_id=None):
        if correlation_id is None:
            correlation_id = self.next_correlation_id
            self.next_correlation_id += 1
        self.send_frame(self.encode_request(api_key, api_version, body, correlation_id,
                                            header_version))
        return correlation_id

    def _recv_exact(self, n):
        chunks = []
        while n:
            try:
                b = self.sock.recv(min(n, 1 << 20))
            except (ConnectionResetError, BrokenPipeError) as e:
                raise ConnectionClosed(str(e))
            if not b:
                raise ConnectionClosed("peer closed the connection")
            chunks.append(b)
            n -= len(b)
        return b"".join(chunks)

    def recv_frame(self):
        (size,) = struct.unpack(">i", self._recv_exact(4))
        if size < 4:
            raise DecodeError("response frame of size %d" % size)
        return self._recv_exact(size)

    def recv_response(self, expected_correlation_id=None, header_version=0):
        """Returns (correlation_id, Reader positioned at the response body)."""
        frame = self.recv_frame()
        r = Reader(frame)
        cid = r.i32()
        if header_version >= 1:
            r.tags()
        if expected_correlation_id is not None and cid != expected_correlation_id:
            raise DecodeError("correlation id %d, expected %d" % (cid, expected_correlation_id))
        return cid, r

    def call(self, api_key, api_version, body):
        cid = self.send_request(api_key, api_version, body)
        _, r = self.recv_response(cid, response_header_version(api_key, api_version))
        return r

    def wait_closed(self, timeout=5.0):
        """True if the peer closes (EOF or reset) within `timeout` seconds. Any bytes received
        meanwhile are returned in self.unexpected_bytes."""
        deadline = time.monotonic() + timeout
        self.unexpected_bytes = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                b = self.sock.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionResetError, BrokenPipeError):
                return True
            finally:
                self.sock.settimeout(self.timeout)
            if not b:
                return True
            self.unexpected_bytes += b

    # --- typed calls ---

    def api_versions(self, version=3):
        cid = self.send_request(API_VERSIONS, version, encode_api_versions_request(version))
        _, r = self.recv_response(cid, 0)
        return decode_api_versions_response(r, version)

    def metadata(self, topics=None, allow_auto_topic_creation=False):
        r = self.call(METADATA, 12, encode_metadata_v12(topics, allow_auto_topic_creation))
        return decode_metadata_v12(r)

    def produce(self, topic_data, acks=1, timeout_ms=10000, transactional_id=None):
        body = encode_produce_v3(acks, timeout_ms, topic_data, transactional_id)
        if acks == 0:
            self.send_request(PRODUCE, 3, body)
            return None
        return decode_produce_v3(self.call(PRODUCE, 3, body))[0]

    def produce_one(self, topic, partition, batch, acks=1, timeout_ms=10000,
                    transactional_id=None):
        return self.produce({topic: {partition: batch}}, acks, timeout_ms,
                            transactional_id)[(topic, partition)]

    def init_producer_id(self, version=4, **kw):
        return decode_init_producer_id(
            self.call(INIT_PRODUCER_ID, version, encode_init_producer_id(version, **kw)), version)

    def describe_producers(self, topics):
        """topics: [(topic, [partitions])]; the decoded list of (topic, partition, result)."""
        return decode_describe_producers(self.call(DESCRIBE_PRODUCERS, 0,
                                                   encode_describe_producers(topics)))

    def list_offsets(self, requests):
        return decode_list_offsets_v1(self.call(LIST_OFFSETS, 1, encode_list_offsets_v1(requests)))

    def list_offsets_v2(self, requests, isolation_level=READ_UNCOMMITTED):
        return decode_list_offsets_v2(self.call(
            LIST_OFFSETS, 2, encode_list_offsets_v2(requests, isolation_level)))[0]

    def latest_offset(self, topic, partition):
        res = self.list_offsets({topic: {partition: LATEST_TIMESTAMP}})[(topic, partition)]
        if res["error_code"] != 0:
            raise AssertionError("ListOffsets(%s-%d, latest) error %d" % (
                topic, partition, res["error_code"]))
        return res["offset"]

    def fetch(self, requests, **kw):
        return decode_fetch_v4(self.call(FETCH, 4, encode_fetch_v4(requests, **kw)))[0]

    def describe_cluster(self):
        return decode_describe_cluster_v0(self.call(DESCRIBE_CLUSTER, 0,
                                                    encode_describe_cluster_v0()))

    def create_topics(self, topics, timeout_ms=10000, validate_only=False):
        body = encode_create_topics_v2(topics, timeout_ms, validate_only)
        return decode_create_topics_v2(self.call(CREATE_TOPICS, 2, body))[0]

    def create_topic_or_fail(self, name, partitions, timeout_ms=10000):
        """Creates `name` (replication factor 1, no configs); AssertionError unless it worked."""
        res = self.create_topics([(name, partitions, 1, {})], timeout_ms=timeout_ms)
        if res.get(name, (None,))[0] != 0:
            raise AssertionError("CreateTopics v2 %s -> %r" % (name, res))

    # --- consumer-group calls (version first; keyword arguments as in the encoders) ---

    def send_async(self, api_key, api_version, body, decode):
        """Sends a request without waiting; returns a Pending whose result() reads and decodes
        the response (responses on one connection arrive in request order)."""
        cid = self.send_request(api_key, api_version, body)
        return Pending(self, cid, api_key, api_version, decode)

    def _call_decoded(self, api_key, version, body, decode):
        return decode(self.call(api_key, version, body), version)

    def find_coordinator(self, key, version=0, key_type=0):
        """v0-3: the coordinator dict for `key`; v4+: looked up as a one-key batch."""
        res = self._call_decoded(FIND_COORDINATOR, version,
                                 encode_find_coordinator(version, key=key, key_type=key_type),
                                 decode_find_coordinator)
        return res["coordinators"][0]

    def find_coordinators(self, keys, version=4, key_type=0):
        res = self._call_decoded(FIND_COORDINATOR, version,
                                 encode_find_coordinator(version, keys=keys, key_type=key_type),
                                 decode_find_coordinator)
        return res["coordinators"]

    def join_group(self, version, group_id, **kw):
        return self._call_decoded(JOIN_GROUP, version, encode_join_group(version, group_id, **kw),
                                  decode_join_group)

    def join_group_async(self, version, group_id, **kw):
        return self.send_async(JOIN_GROUP, version, encode_join_group(version, group_id, **kw),
                               decode_join_group)

    def sync_group(self, version, group_id, generation_id, member_id, assignments=None, **kw):
        return self._call_decoded(SYNC_GROUP, version, encode_sync_group(
            version, group_id, generation_id, member_id, assignments, **kw), decode_sync_group)

    def sync_group_async(self, version, group_id, generation_id, member_id, assignments=None,
                         **kw):
        return self.send_async(SYNC_GROUP, version, encode_sync_group(
            version, group_id, generation_id, member_id, assignments, **kw), decode_sync_group)

    def heartbeat(self, version, group_id, generation_id, member_id, group_instance_id=None):
        """Returns the error code."""
        return self._call_decoded(HEARTBEAT, version, encode_heartbeat(
            version, group_id, generation_id, member_id, group_instance_id),
            decode_heartbeat)["error_code"]

    def leave_group(self, version, group_id, member_id=None, members=None):
        return self._call_decoded(LEAVE_GROUP, version, encode_leave_group(
            version, group_id, member_id, members), decode_leave_group)

    def offset_commit(self, version, group_id, offsets, **kw):
        """Returns {(topic, partition): error_code}."""
        return self._call_decoded(OFFSET_COMMIT, version, encode_offset_commit(
            version, group_id, offsets, **kw), decode_offset_commit)[0]

    def txn_offset_commit(self, version, transactional_id, group_id, producer_id, producer_epoch,
                          offsets, **kw):
        """Returns {(topic, partition): error_code}."""
        return self._call_decoded(TXN_OFFSET_COMMIT, version, encode_txn_offset_commit(
            version, transactional_id, group_id, producer_id, producer_epoch, offsets, **kw),
            decode_txn_offset_commit)

    def offset_fetch(self, version, group_id, topics=None, require_stable=False):
        """One group (any version). Returns (group error_code, {(topic, p): {offset,
        leader_epoch, metadata, error_code}})."""
        res = self._call_decoded(OFFSET_FETCH, version, encode_offset_fetch(
            version, group_id, topics, require_stable), decode_offset_fetch)
        g = res[None] if version <= 7 else res[group_id]
        return g["error_code"], g["partitions"]

    def list_groups(self, version, states_filter=None, types_filter=None):
        """Returns (error_code, {group_id: {group_id, protocol_type, state, type}})."""
        return self._call_decoded(LIST_GROUPS, version, encode_list_groups(
            version, states_filter, types_filter), decode_list_groups)

    def describe_groups(self, version, groups, include_authorized_operations=False):
        return self._call_decoded(DESCRIBE_GROUPS, version, encode_describe_groups(
            version, groups, include_authorized_operations), decode_describe_groups)

    def delete_groups(self, version, groups):
        return self._call_decoded(DELETE_GROUPS, version, encode_delete_groups(version, groups),
                                  decode_delete_groups)

    def consumer_group_heartbeat(self, version, group_id, **kw):
        return self._call_decoded(CONSUMER_GROUP_HEARTBEAT, version,
                                  encode_consumer_group_heartbeat(version, group_id, **kw),
                                  decode_consumer_group_heartbeat)

    def consumer_group_describe(self, groups, version=0):
        return self._call_decoded(CONSUMER_GROUP_DESCRIBE, version,
                                  encode_consumer_group_describe(version, groups),
                                  decode_consumer_group_describe)

    def offset_delete(self, group_id, topics):
        return decode_offset_delete(self.call(OFFSET_DELETE, 0,
                                              encode_offset_delete(group_id, topics)))


class Pending:
    """A request sent by Connection.send_async whose response has not been read yet."""

    def __init__(self, conn, correlation_id, api_key, api_version, decode):
        self.conn = conn
        self.correlation_id = correlation_id
        self.api_key = api_key
        self.api_version = api_version
        self.decode = decode

    def result(self, timeout=None):
        """Reads the response, waiting up to `timeout` s (default: the connection's timeout);
        socket.timeout if it does not come."""
        old = self.conn.sock.gettimeout()
        if timeout is not None:
            self.conn.sock.settimeout(timeout)
        try:
            _, r = self.conn.recv_response(
                self.correlation_id, response_header_version(self.api_key, self.api_version))
        finally:
            self.conn.sock.settimeout(old)
        return self.decode(r, self.api_version)

    def ready(self, timeout=0.0):
        """True if response bytes are waiting on the socket within `timeout` s."""
        readable, _, _ = select.select([self.conn.sock], [], [], timeout)
        return bool(readable)

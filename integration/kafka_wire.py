"""Minimal Kafka wire-protocol helpers for the integration tests (stdlib only).

Only what the raw-socket tests need:
  * CRC-32C (Castagnoli) in pure Python, table driven;
  * zig-zag varints, a Writer/Reader pair for the classic and the "compact" (flexible) encodings;
  * a record batch v2 (magic 2) builder and decoder (uncompressed, or gzip when decoding);
  * encoders/decoders for a handful of request versions:
        ApiVersions v0 / v3 (and any version number, for the "unsupported version" test),
        Metadata v12, Produce v3, ListOffsets v1, Fetch v4, CreateTopics v2;
  * a blocking Connection with timeouts that frames requests and reads responses.

Field layouts follow Apache Kafka's clients/src/main/resources/common/message/*.json.
"""

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
API_VERSIONS = 18
CREATE_TOPICS = 19
DELETE_TOPICS = 20
DESCRIBE_CONFIGS = 32
CREATE_PARTITIONS = 37
DESCRIBE_CLUSTER = 60

NONE = 0
OFFSET_OUT_OF_RANGE = 1
CORRUPT_MESSAGE = 2
UNKNOWN_TOPIC_OR_PARTITION = 3
MESSAGE_TOO_LARGE = 10
INVALID_TOPIC_EXCEPTION = 17
RECORD_LIST_TOO_LARGE = 18
INVALID_REQUIRED_ACKS = 21
UNSUPPORTED_VERSION = 35
TOPIC_ALREADY_EXISTS = 36
INVALID_PARTITIONS = 37
INVALID_REPLICATION_FACTOR = 38
INVALID_CONFIG = 40
INVALID_REQUEST = 42

LATEST_TIMESTAMP = -1
EARLIEST_TIMESTAMP = -2

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
        DESCRIBE_CLUSTER: 0,
    }.get(api_key)
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


def encode_list_offsets_v1(requests, replica_id=-1):
    """requests: {topic: {partition: timestamp}}"""
    w = Writer()
    w.i32(replica_id)

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
    """topics: list of (name, num_partitions, replication_factor, {config: value})"""
    w = Writer()

    def config(ww, item):
        ww.string(item[0]).string(item[1])

    def topic(ww, t):
        name, parts, rf, configs = t
        ww.string(name).i32(parts).i16(rf)
        ww.array([], lambda *_: None)  # assignments
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
# Connection
# --------------------------------------------------------------------------------------------


class ConnectionClosed(Exception):
    pass


class Connection:
    """A blocking client connection. Every socket operation has a timeout."""

    def __init__(self, host, port, timeout=10.0, client_id="runnel-it-raw"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
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

    def produce(self, topic_data, acks=1, timeout_ms=10000):
        body = encode_produce_v3(acks, timeout_ms, topic_data)
        if acks == 0:
            self.send_request(PRODUCE, 3, body)
            return None
        return decode_produce_v3(self.call(PRODUCE, 3, body))[0]

    def produce_one(self, topic, partition, batch, acks=1, timeout_ms=10000):
        return self.produce({topic: {partition: batch}}, acks, timeout_ms)[(topic, partition)]

    def list_offsets(self, requests):
        return decode_list_offsets_v1(self.call(LIST_OFFSETS, 1, encode_list_offsets_v1(requests)))

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

"""Raw encoders and decoders for the transaction APIs (KIP-98, KIP-664, KIP-890's batched
AddPartitionsToTxn), on top of kafka_wire. Written from the protocol's message definitions."""

import kafka_wire as kw
from kafka_wire import _vr, _vw


def _topics(ww, topics):
    """topics: {name: [partitions]}"""
    ww.arr(sorted(topics.items()),
           lambda x, t: x.str_(t[0]).arr(list(t[1]), lambda y, p: y.i32(p)).end())


def _topic_results(rr):
    out = {}

    def topic(x):
        name = x.str_()

        def partition(y):
            index = y.i32()
            out[(name, index)] = y.i16()
            y.end()
        x.arr(partition)
        x.end()
    rr.arr(topic)
    return out


def encode_add_partitions_to_txn(version, transactional_id=None, producer_id=-1, epoch=-1,
                                 topics=None, transactions=None):
    """v0-3: one transaction; v4+: `transactions` = [(id, pid, epoch, verify_only, topics)]."""
    w = _vw(kw.ADD_PARTITIONS_TO_TXN, version)
    if version >= 4:
        def txn(ww, t):
            ww.str_(t[0]).i64(t[1]).i16(t[2]).boolean(t[3])
            _topics(ww, t[4])
            ww.end()
        w.arr(transactions, txn)
    else:
        w.str_(transactional_id).i64(producer_id).i16(epoch)
        _topics(w, topics)
    return w.end().getvalue()


def decode_add_partitions_to_txn(r, version):
    """v0-3: {(topic, p): error}; v4+: (error, {id: {(topic, p): error}})."""
    r = _vr(r, kw.ADD_PARTITIONS_TO_TXN, version)
    r.i32()
    if version < 4:
        out = _topic_results(r)
        r.end()
        return out
    error = r.i16()
    by_txn = {}

    def txn(x):
        tid = x.str_()
        by_txn[tid] = _topic_results(x)
        x.end()
    r.arr(txn)
    r.end()
    return error, by_txn


def encode_add_offsets_to_txn(version, transactional_id, producer_id, epoch, group_id):
    w = _vw(kw.ADD_OFFSETS_TO_TXN, version)
    w.str_(transactional_id).i64(producer_id).i16(epoch).str_(group_id)
    return w.end().getvalue()


def encode_end_txn(version, transactional_id, producer_id, epoch, commit):
    w = _vw(kw.END_TXN, version)
    w.str_(transactional_id).i64(producer_id).i16(epoch).boolean(commit)
    return w.end().getvalue()


def decode_error_only(api_key):
    """AddOffsetsToTxn and EndTxn (v0-4) answer ThrottleTimeMs and ErrorCode."""
    def decode(r, version):
        r = _vr(r, api_key, version)
        r.i32()
        e = r.i16()
        r.end()
        return e
    return decode


def encode_describe_transactions(ids):
    w = _vw(kw.DESCRIBE_TRANSACTIONS, 0)
    w.arr(list(ids), lambda ww, i: ww.str_(i))
    return w.end().getvalue()


def decode_describe_transactions(r):
    """{id: {error_code, state, timeout_ms, start_ms, producer_id, epoch, partitions}}"""
    r = _vr(r, kw.DESCRIBE_TRANSACTIONS, 0)
    r.i32()
    out = {}

    def state(x):
        d = {"error_code": x.i16()}
        tid = x.str_()
        d.update(state=x.str_(), timeout_ms=x.i32(), start_ms=x.i64(), producer_id=x.i64(),
                 epoch=x.i16())
        parts = set()

        def topic(y):
            name = y.str_()
            for p in y.arr(lambda z: z.i32()):
                parts.add((name, p))
            y.end()
        x.arr(topic)
        x.end()
        d["partitions"] = parts
        out[tid] = d
    r.arr(state)
    r.end()
    return out


def encode_list_transactions(version, states=(), producer_ids=(), duration_ms=-1):
    w = _vw(kw.LIST_TRANSACTIONS, version)
    w.arr(list(states), lambda ww, s: ww.str_(s))
    w.arr(list(producer_ids), lambda ww, p: ww.i64(p))
    if version >= 1:
        w.i64(duration_ms)
    return w.end().getvalue()


def decode_list_transactions(r, version):
    """(error, unknown_state_filters, {id: (producer_id, state)})"""
    r = _vr(r, kw.LIST_TRANSACTIONS, version)
    r.i32()
    error = r.i16()
    unknown = r.arr(lambda x: x.str_())
    out = {}

    def state(x):
        tid = x.str_()
        out[tid] = (x.i64(), x.str_())
        x.end()
    r.arr(state)
    r.end()
    return error, unknown, out


def data_values(records_bytes):
    """Values of the data records (control batches, i.e. markers, left out)."""
    return [r.value for b in kw.decode_record_batches(records_bytes) if not b.attributes & 0x20
            for r in b.records]


class TxnCalls:
    """The calls on a kafka_wire.Connection."""

    def __init__(self, conn):
        self.c = conn

    def init(self, transactional_id, version=4, timeout_ms=60000, **kwargs):
        return self.c.init_producer_id(version, transactional_id=transactional_id,
                                       timeout_ms=timeout_ms, **kwargs)

    def add_partitions(self, version, **kwargs):
        return decode_add_partitions_to_txn(self.c.call(
            kw.ADD_PARTITIONS_TO_TXN, version, encode_add_partitions_to_txn(version, **kwargs)),
            version)

    def add_offsets(self, version, *args):
        return decode_error_only(kw.ADD_OFFSETS_TO_TXN)(self.c.call(
            kw.ADD_OFFSETS_TO_TXN, version, encode_add_offsets_to_txn(version, *args)), version)

    def end(self, version, *args):
        return decode_error_only(kw.END_TXN)(self.c.call(
            kw.END_TXN, version, encode_end_txn(version, *args)), version)

    def describe(self, *ids):
        return decode_describe_transactions(self.c.call(
            kw.DESCRIBE_TRANSACTIONS, 0, encode_describe_transactions(ids)))

    def list(self, version=1, **kwargs):
        return decode_list_transactions(self.c.call(
            kw.LIST_TRANSACTIONS, version, encode_list_transactions(version, **kwargs)), version)


def init_transactional(conn, transactional_id, version=4, timeout=15.0, **kwargs):
    """InitProducerId for a transactional id, retrying while the coordinator is being created or
    loaded, or finishing an earlier transaction (CONCURRENT_TRANSACTIONS), as clients do."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        r = conn.init_producer_id(version, transactional_id=transactional_id, **kwargs)
        retriable = r["error_code"] in kw.COORDINATOR_RETRIABLE + (kw.CONCURRENT_TRANSACTIONS,)
        if not retriable or time.monotonic() > deadline:
            return r
        time.sleep(0.1)


def partition_for(key, partitions=50):
    """Kafka's partitionFor of a group or transactional id (ASCII): abs(hashCode) % partitions,
    with Integer.MIN_VALUE mapped to 0."""
    h = 0
    for ch in key.encode("ascii"):
        h = (31 * h + ch) & 0xFFFFFFFF
    if h >= 1 << 31:
        h -= 1 << 32
    return 0 if h == -(1 << 31) else abs(h) % partitions

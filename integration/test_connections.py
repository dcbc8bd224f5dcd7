#!/usr/bin/python3
"""Connections that move between shards.

A connection starts on the shard that accepted it (round-robin); once its Produce or Fetch
requests keep going to partitions of one other shard it moves there (server/net/connection.h).
Requests already read and pipelined requests still in flight when it moves must all be answered,
in order, with nothing lost or applied twice. Also: pipelined Produce requests served together,
and connections.max.idle.ms.

Run: /usr/bin/python3 integration/test_connections.py [-v]
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

SHARDS = 3
MOVE_LINE = "moving from shard"


class ConnectionMoveTest(BrokerTestCase):
    per_test_broker = True
    broker_shards = SHARDS
    broker_env = {"RUNNEL_LOG_LEVEL": "debug"}  # the broker logs each move

    def setUp(self):
        super().setUp()
        self.topic = unique_name("moves")
        with kw.Connection.to(self.broker.bootstrap) as c:
            c.create_topic_or_fail(self.topic, SHARDS)

    def connections(self, n):
        out = []
        for _ in range(n):  # accepted one after another: dealt to the shards in turn
            c = kw.Connection.to(self.broker.bootstrap, timeout=15)
            self.addCleanup(c.close)
            out.append(c)
        return out

    def moves(self):
        return self.broker.log_text().count(MOVE_LINE)

    def test_pipelined_produce_across_the_move(self):
        conns = self.connections(SHARDS)
        requests = 100
        sent = {}
        for ci, c in enumerate(conns):  # every request written before any answer is read
            sent[ci] = []
            for i in range(requests):
                values = [b"c%d-r%03d-%d" % (ci, i, j) for j in range(5)]
                body = kw.encode_produce_v3(1, 10000, {self.topic: {0: kw.build_record_batch(
                    [(None, v) for v in values])}})
                sent[ci].append((c.send_request(kw.PRODUCE, 3, body), values))
        for ci, c in enumerate(conns):
            last = -1
            for cid, _ in sent[ci]:
                _, r = c.recv_response(cid, 0)  # raises unless answers come in request order
                res = kw.decode_produce_v3(r)[0][(self.topic, 0)]
                self.assertEqual(res["error_code"], 0)
                self.assertGreater(res["base_offset"], last)
                last = res["base_offset"]
        # The two connections accepted on other shards than partition 0's moved to it.
        self.assertGreaterEqual(self.moves(), SHARDS - 1, "no connection moved")

        # After moving, requests for the other shards' partitions are still served.
        for ci, c in enumerate(conns):
            for p in range(1, SHARDS):
                res = c.produce_one(self.topic, p, kw.build_record_batch([(None, b"after")]))
                self.assertEqual(res["error_code"], 0, "connection %d, partition %d" % (ci, p))

        # Every record once, each connection's in the order sent.
        with kw.Connection.to(self.broker.bootstrap, timeout=15) as reader:
            got, offset = [], 0
            while len(got) < SHARDS * requests * 5:
                res = reader.fetch({self.topic: {0: offset}})[(self.topic, 0)]
                self.assertEqual(res["error_code"], 0)
                recs = [x for x in kw.decode_records(res["records"]) if x.offset >= offset]
                self.assertTrue(recs, "fetch at %d returned nothing" % offset)
                got += [x.value for x in recs]
                offset = recs[-1].offset + 1
        self.assertEqual(len(got), len(set(got)), "a record was written twice")
        for ci in range(SHARDS):
            mine = [v for v in got if v.startswith(b"c%d-" % ci)]
            self.assertEqual(mine, [v for _, values in sent[ci] for v in values])

    def test_consumers_move_to_their_partition(self):
        with kw.Connection.to(self.broker.bootstrap, timeout=15) as c:
            for i in range(10):
                c.produce_one(self.topic, 0, kw.build_record_batch([(None, b"v%d" % i)]))
        before = self.moves()
        for c in self.connections(SHARDS):
            for _ in range(20):
                res = c.fetch({self.topic: {0: 0}}, max_wait_ms=0)[(self.topic, 0)]
                self.assertEqual(res["error_code"], 0)
                self.assertEqual([x.value for x in kw.decode_records(res["records"])],
                                 [b"v%d" % i for i in range(10)])
        self.assertGreaterEqual(self.moves() - before, SHARDS - 1)

    def test_requests_spread_over_shards_do_not_move(self):
        (c,) = self.connections(1)
        before = self.moves()
        for i in range(40):  # each request writes to every partition
            res = c.produce({self.topic: {p: kw.build_record_batch([(None, b"x%d" % i)])
                                          for p in range(SHARDS)}})
            self.assertTrue(all(r["error_code"] == 0 for r in res.values()))
        self.assertEqual(self.moves(), before)


class PipelinedProduceTest(BrokerTestCase):
    """Produce requests already read together are served together (one hand-off per owner shard
    for all of them, server/kafka/dispatch.h run_batch); each still gets its own answer, in order, and
    a bad one among them ends the connection where Kafka would."""

    broker_shards = SHARDS

    @classmethod
    def prepare_class(cls):
        cls.topic = unique_name("pipelined")
        with kw.Connection.to(cls.broker.bootstrap) as c:
            c.create_topic_or_fail(cls.topic, SHARDS)

    def frames(self, c, bodies):
        """Frames Produce v3 bodies with consecutive correlation ids: (bytes, [ids])."""
        out, ids = b"", []
        for body in bodies:
            cid = c.next_correlation_id
            c.next_correlation_id += 1
            payload = c.encode_request(kw.PRODUCE, 3, body, cid)
            out += struct.pack(">i", len(payload)) + payload
            ids.append(cid)
        return out, ids

    def body(self, tag, acks=1, partitions=range(SHARDS)):
        return kw.encode_produce_v3(acks, 10000, {self.topic: {
            p: kw.build_record_batch([(None, b"%s-p%d" % (tag, p))]) for p in partitions}})

    def ends(self):
        with kw.Connection.to(self.broker.bootstrap) as c:
            return [c.latest_offset(self.topic, p) for p in range(SHARDS)]

    def test_many_partitions_in_one_write(self):
        c = kw.Connection.to(self.broker.bootstrap, timeout=15)
        self.addCleanup(c.close)
        before = self.ends()
        data, ids = self.frames(c, [self.body(b"m%d" % i) for i in range(40)])
        c.send_raw(data)  # one write: the broker reads many requests at once
        for i, cid in enumerate(ids):
            _, r = c.recv_response(cid, 0)
            res = kw.decode_produce_v3(r)[0]
            for p in range(SHARDS):
                self.assertEqual(res[(self.topic, p)]["error_code"], 0)
                self.assertEqual(res[(self.topic, p)]["base_offset"], before[p] + i)
        self.assertEqual(self.ends(), [e + 40 for e in before])

    def test_malformed_request_among_pipelined_ones(self):
        c = kw.Connection.to(self.broker.bootstrap, timeout=15)
        self.addCleanup(c.close)
        before = self.ends()
        good = [self.body(b"g%d" % i) for i in range(5)]
        bad = self.body(b"bad")[:-7]  # the frame is whole, its body is cut short
        after = [self.body(b"a%d" % i) for i in range(3)]
        data, ids = self.frames(c, good + [bad] + after)
        c.send_raw(data)
        for cid in ids[:5]:  # the requests before it are answered
            _, r = c.recv_response(cid, 0)
            self.assertTrue(all(x["error_code"] == 0 for x in kw.decode_produce_v3(r)[0].values()))
        self.assertTrue(c.wait_closed(5), "connection still open after a malformed request")
        self.assertEqual(c.unexpected_bytes, b"")
        # Kafka stops at the malformed request: nothing after it is appended.
        self.assertEqual(self.ends(), [e + 5 for e in before])

    def test_unsupported_version_before_pipelined_ones(self):
        # Produce v2 (advertised, refused: KAFKA-18659) must close the connection even when good
        # requests are already buffered behind it; none of them is appended.
        c = kw.Connection.to(self.broker.bootstrap, timeout=15)
        self.addCleanup(c.close)
        # Writes that fill the broker's read buffer make it grow, so that later the whole
        # pipeline below arrives in one read.
        warm, ids = self.frames(c, [self.body(b"w%d" % i) for i in range(40)])
        c.send_raw(warm)
        for cid in ids:
            c.recv_response(cid, 0)
        before = self.ends()
        data, _ = self.frames(c, [self.body(b"ok%d" % i) for i in range(3)])
        cid = c.next_correlation_id
        c.next_correlation_id += 1
        v2 = c.encode_request(kw.PRODUCE, 2, self.body(b"v2")[2:], cid)  # v2: no transactional id
        c.send_raw(struct.pack(">i", len(v2)) + v2 + data)
        self.assertTrue(c.wait_closed(5), "connection still open after Produce v2")
        self.assertEqual(c.unexpected_bytes, b"")
        self.assertEqual(self.ends(), before)

    def test_failed_acks_0_request_among_pipelined_ones(self):
        c = kw.Connection.to(self.broker.bootstrap, timeout=15)
        self.addCleanup(c.close)
        before = self.ends()
        missing = kw.encode_produce_v3(0, 10000, {unique_name("no-such-topic"): {
            0: kw.build_record_batch([(None, b"lost")])}})
        data, ids = self.frames(c, [self.body(b"x0"), self.body(b"x1"), missing])
        c.send_raw(data)
        for cid in ids[:2]:
            c.recv_response(cid, 0)
        # The producer gets no answer to acks=0, so the broker closes the connection to tell it.
        self.assertTrue(c.wait_closed(5))
        self.assertEqual(self.ends(), [e + 2 for e in before])



IDLE_MS = 1500


def closed_by_peer(c, timeout):
    """True when the broker closed `c` within `timeout` seconds (reads until end of stream)."""
    c.sock.settimeout(timeout)
    try:
        return c.sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


class IdleConnectionTest(BrokerTestCase):
    """connections.max.idle.ms: a connection waiting that long for its next request is closed;
    one that keeps sending, or waits for a long-polling Fetch, is not."""

    broker_properties = {"connections.max.idle.ms": IDLE_MS}

    def connect(self):
        c = kw.Connection.to(self.broker.bootstrap, timeout=15)
        self.addCleanup(c.close)
        c.api_versions()
        return c

    def test_idle_connection_is_closed(self):
        c = self.connect()
        self.assertFalse(closed_by_peer(c, IDLE_MS / 1000 / 3), "closed long before it was idle")
        self.assertTrue(closed_by_peer(c, 10), "still open 10 s after connections.max.idle.ms")
        # Other clients are served as before.
        self.connect().api_versions()

    def test_active_connection_stays_open(self):
        c = self.connect()
        for _ in range(8):  # 3.2 s in all, each pause a quarter of the idle time
            time.sleep(IDLE_MS / 1000 / 4)
            c.api_versions()

    def test_long_poll_fetch_is_not_idle(self):
        topic = unique_name("idle-fetch")
        c = self.connect()
        c.create_topic_or_fail(topic, 1)
        started = time.monotonic()
        res = c.fetch({topic: {0: 0}}, max_wait_ms=2 * IDLE_MS)[(topic, 0)]
        self.assertEqual(res["error_code"], 0)
        self.assertGreaterEqual(time.monotonic() - started, IDLE_MS / 1000)
        c.api_versions()  # and the connection still serves

if __name__ == "__main__":
    unittest.main()

#!/usr/bin/python3
"""Connections that move between shards.

A connection starts on the shard that accepted it (round-robin); once its Produce or Fetch
requests keep going to partitions of one other shard it moves there (server/connection.h).
Requests already read and pipelined requests still in flight when it moves must all be answered,
in order, with nothing lost or applied twice.

Run: /usr/bin/python3 integration/test_connections.py [-v]
"""

import os
import sys
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


if __name__ == "__main__":
    unittest.main()

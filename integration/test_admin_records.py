#!/usr/bin/python3
"""The admin API's record routes against a real broker: records written by a Kafka client
(keys, headers, binary and null values, an aborted transaction) read back page by page, from an
offset and from the tail, under both isolation levels; records produced over HTTP (keyed ones in
the partition Kafka's Java partitioner picks, base64 bytes, headers, timestamps) read back by a
Kafka consumer; and the refusals, each naming its field, with nothing half-written.

Run: /usr/bin/python3 integration/test_admin_records.py [-v]
"""

import base64
import http.client
import json
import os
import sys
import unittest
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import confluent_kafka  # noqa: E402
from broker_process import BrokerTestCase, unique_name  # noqa: E402


class AdminRecordsTest(BrokerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        url = urllib.parse.urlparse(cls.broker.admin_url)
        cls.admin = (url.hostname, url.port)

    def call(self, method, path, body=None):
        c = http.client.HTTPConnection(*self.admin, timeout=30)
        try:
            headers = {}
            if body is not None:
                body = json.dumps(body)
                headers["Content-Type"] = "application/json"
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            return r.status, json.loads(r.read())
        finally:
            c.close()

    def refused(self, answer, status, field):
        got, doc = answer
        self.assertEqual((got, doc.get("field")), (status, field), doc)

    def topic(self, partitions, **configs):
        name = unique_name("records")
        status, doc = self.call("POST", "/v1/topics", {
            "name": name, "partitions": partitions, "configs": configs})
        self.assertEqual(status, 201, doc)
        return name

    def read(self, topic, partition, query=""):
        status, doc = self.call("GET", "/v1/topics/%s/partitions/%d/records%s"
                                % (topic, partition, query))
        self.assertEqual(status, 200, doc)
        return doc

    def test_records_from_a_kafka_client_read_back(self):
        topic = self.topic(1)
        p = confluent_kafka.Producer({"bootstrap.servers": self.broker.bootstrap})
        p.produce(topic, b"hello", key=b"k0", headers=[("h1", b"v1"), ("h2", None)],
                  timestamp=1700000000000)
        p.produce(topic, b"\xff\x00binary", key=None)
        p.produce(topic, None, key=b"tombstone")
        for i in range(3, 10):
            p.produce(topic, b"v%d" % i, key=b"k%d" % i)
        self.assertEqual(p.flush(30), 0)

        page = self.read(topic, 0)
        self.assertEqual((page["log_start_offset"], page["high_watermark"],
                          page["last_stable_offset"], page["next_offset"]), (0, 10, 10, 10))
        r = page["records"]
        self.assertEqual([x["offset"] for x in r], list(range(10)))
        self.assertEqual(r[0], {"offset": 0, "timestamp": 1700000000000,
                                "key": "k0", "key_encoding": "utf8",
                                "value": "hello", "value_encoding": "utf8",
                                "headers": [{"key": "h1", "key_encoding": "utf8", "value": "v1",
                                             "value_encoding": "utf8"},
                                            {"key": "h2", "key_encoding": "utf8", "value": None,
                                             "value_encoding": None}]})
        self.assertEqual((r[1]["key"], r[1]["value_encoding"]), (None, "base64"))
        self.assertEqual(base64.b64decode(r[1]["value"]), b"\xff\x00binary")
        self.assertEqual((r[2]["key"], r[2]["value"]), ("tombstone", None))

        # Pages: limit, then on from next_offset; the tail; an offset in the middle.
        first = self.read(topic, 0, "?limit=4")
        self.assertEqual(([x["offset"] for x in first["records"]], first["next_offset"]),
                         ([0, 1, 2, 3], 4))
        rest = self.read(topic, 0, "?offset=4&limit=1000")
        self.assertEqual([x["offset"] for x in rest["records"]], list(range(4, 10)))
        self.assertEqual([x["value"] for x in self.read(topic, 0, "?tail=2")["records"]],
                         ["v8", "v9"])
        end = self.read(topic, 0, "?offset=10")
        self.assertEqual((end["records"], end["next_offset"]), ([], 10))
        self.refused(self.call("GET", "/v1/topics/%s/partitions/0/records?offset=11" % topic),
                     400, "offset")

    def test_an_aborted_transaction_is_hidden_from_read_committed(self):
        topic = self.topic(1)
        t = confluent_kafka.Producer({"bootstrap.servers": self.broker.bootstrap,
                                      "transactional.id": unique_name("txn")})
        t.init_transactions(30)
        t.begin_transaction()
        t.produce(topic, b"kept", partition=0)
        t.commit_transaction(30)
        t.begin_transaction()
        t.produce(topic, b"aborted", partition=0)
        t.flush(30)  # written before the abort (an abort drops what is still queued)
        t.abort_transaction(30)
        t.begin_transaction()
        t.produce(topic, b"open", partition=0)
        t.flush(30)
        # committed at 0 (marker 1), aborted at 2 (marker 3), still open at 4
        uncommitted = self.read(topic, 0)
        self.assertEqual([x["value"] for x in uncommitted["records"]],
                         ["kept", "aborted", "open"])
        self.assertEqual(uncommitted["last_stable_offset"], 4)
        committed = self.read(topic, 0, "?isolation=read_committed")
        self.assertEqual([x["value"] for x in committed["records"]], ["kept"])
        self.assertEqual(committed["next_offset"], 4)
        t.abort_transaction(30)

    def test_records_produced_over_http_reach_kafka_consumers(self):
        topic = self.topic(4)
        keys = ["alpha", "beta", "gamma", "delta", "epsilon"]
        status, doc = self.call("POST", "/v1/topics/%s/records" % topic, {"records": [
            {"key": k, "value": "value of " + k} for k in keys]})
        self.assertEqual(status, 200, doc)
        by_api = {k: o["partition"] for k, o in zip(keys, doc["offsets"])}
        # Where Kafka's Java producer (murmur2, as librdkafka's murmur2_random) puts each key.
        p = confluent_kafka.Producer({"bootstrap.servers": self.broker.bootstrap,
                                      "partitioner": "murmur2_random"})
        by_client = {}
        for k in keys:
            p.produce(topic, b"again", key=k.encode(),
                      on_delivery=lambda err, m: by_client.__setitem__(m.key().decode(),
                                                                       m.partition()))
        self.assertEqual(p.flush(30), 0)
        self.assertEqual(by_api, by_client)

        raw = b"\x00\x01\xfe\xff"
        status, doc = self.call("POST", "/v1/topics/%s/records" % topic, {"records": [
            {"value": base64.b64encode(raw).decode(), "value_encoding": "base64",
             "partition": 3, "timestamp": 1234567890123,
             "headers": [{"key": "trace", "value": "abc"}, {"key": "empty", "value": None}]},
            {"key": None, "value": None, "partition": 3}]})
        self.assertEqual(status, 200, doc)
        self.assertEqual(len(doc["partitions"]), 1)
        first = doc["offsets"][0]["offset"]
        self.assertEqual(doc["offsets"][1], {"partition": 3, "offset": first + 1})

        c = confluent_kafka.Consumer({"bootstrap.servers": self.broker.bootstrap,
                                      "group.id": unique_name("g"), "enable.auto.commit": False})
        c.assign([confluent_kafka.TopicPartition(topic, 3, first)])
        got = []
        for _ in range(120):
            m = c.poll(0.5)
            if m is not None and not m.error():
                got.append(m)
            if len(got) == 2:
                break
        c.close()
        self.assertEqual(len(got), 2)
        self.assertEqual((got[0].value(), got[0].key(), got[0].timestamp()[1]),
                         (raw, None, 1234567890123))
        self.assertEqual(got[0].headers(), [("trace", b"abc"), ("empty", None)])
        self.assertEqual((got[1].value(), got[1].key()), (None, None))

    def test_bad_requests_name_the_field_and_write_nothing(self):
        topic = self.topic(2, **{"max.message.bytes": "2000"})
        url = "/v1/topics/%s/partitions/0/records" % topic
        self.refused(self.call("GET", url + "?offset=abc"), 400, "offset")
        self.refused(self.call("GET", url + "?offset=-1"), 400, "offset")
        self.refused(self.call("GET", url + "?offset=1&tail=2"), 400, "tail")
        self.refused(self.call("GET", url + "?limit=0"), 400, "limit")
        self.refused(self.call("GET", url + "?limit=1001"), 400, "limit")
        self.refused(self.call("GET", url + "?max_bytes=99999999"), 400, "max_bytes")
        self.refused(self.call("GET", url + "?isolation=dirty"), 400, "isolation")
        self.assertEqual(self.call("GET", "/v1/topics/%s/partitions/2/records" % topic)[0], 404)
        self.assertEqual(self.call("GET", "/v1/topics/%s/partitions/x/records" % topic)[0], 404)
        self.assertEqual(self.call("GET", "/v1/topics/no-such/partitions/0/records")[0], 404)

        post = lambda body: self.call("POST", "/v1/topics/%s/records" % topic, body)  # noqa
        self.refused(post({}), 400, "records")
        self.refused(post({"records": []}), 400, "records")
        self.refused(post({"records": {"value": "x"}}), 400, "records")
        self.refused(post({"records": [{"value": "x"}] * 10001}), 400, "records")
        self.refused(post({"records": [{"value": "x"}, "x"]}), 400, "records[1]")
        self.refused(post({"records": [{"value": "x"}, {"value": "y", "partition": 2}]}), 400,
                     "records[1].partition")
        self.refused(post({"records": [{"vlaue": "x"}]}), 400, "records[0].vlaue")
        self.refused(post({"records": [{"value": 5}]}), 400, "records[0].value")
        self.refused(post({"records": [{"value": "!!", "value_encoding": "base64"}]}), 400,
                     "records[0].value")
        self.refused(post({"records": [{"value": "x", "value_encoding": "hex"}]}), 400,
                     "records[0].value_encoding")
        self.refused(post({"records": [{"value": "x", "headers": {"a": "b"}}]}), 400,
                     "records[0].headers")
        self.refused(post({"records": [{"value": "x", "headers": [{"value": "b"}]}]}), 400,
                     "records[0].headers[0].key")
        self.refused(post({"records": [{"value": "x", "timestamp": -5}]}), 400,
                     "records[0].timestamp")
        self.assertEqual(self.call("POST", "/v1/topics/no-such/records",
                                   {"records": [{"value": "x"}]})[0], 404)
        # Too large for the topic: refused by the append path as Produce would be, per partition.
        status, doc = post({"records": [{"value": "small", "partition": 1},
                                        {"value": "x" * 5000, "partition": 0}]})
        self.assertEqual(status, 400, doc)
        self.assertEqual([(q["partition"], q.get("error_code")) for q in doc["partitions"]],
                         [(0, "MESSAGE_TOO_LARGE"), (1, None)])
        self.assertEqual(doc["offsets"], [{"partition": 1, "offset": 0},
                                          {"partition": 0, "offset": -1}])
        self.assertEqual(self.read(topic, 0)["high_watermark"], 0)
        self.assertEqual(self.read(topic, 1)["high_watermark"], 1)
        self.broker.assert_running()


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/python3
"""Integration tests driving kcat (Debian package kcat, librdkafka 2.0.2) against a real broker.

Run: /usr/bin/python3 integration/test_kcat.py [-v]
kcat's -C mode uses librdkafka's simple (group-less) consumer, -P a plain producer.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from broker_process import BrokerTestCase, unique_name  # noqa: E402

KCAT = shutil.which("kcat") or "/usr/bin/kcat"
CODECS = ("none", "gzip", "snappy", "lz4", "zstd")
RUN_TIMEOUT = 40


class KcatTest(BrokerTestCase):
    broker_properties = {"num.partitions": 3, "auto.create.topics.enable": True}

    @classmethod
    def setUpClass(cls):
        if not os.access(KCAT, os.X_OK):
            raise unittest.SkipTest("kcat not installed (Debian package kcat)")
        super().setUpClass()

    def kcat(self, *args, input=None, check=True):
        cmd = [KCAT, "-b", self.broker.bootstrap,
               "-X", "socket.timeout.ms=10000", "-X", "topic.metadata.refresh.interval.ms=1000"]
        cmd += list(args)
        try:
            p = subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired as e:
            self.fail("kcat timed out after %ds: %s\nstderr: %s" % (
                RUN_TIMEOUT, " ".join(cmd), (e.stderr or b"").decode(errors="replace")))
        if check and p.returncode != 0:
            self.fail("kcat exited with %d: %s\nstderr: %s" % (
                p.returncode, " ".join(cmd), p.stderr.decode(errors="replace")))
        return p

    def produce(self, topic, lines, *extra):
        data = b"".join(l + b"\n" for l in lines)
        p = self.kcat("-P", "-t", topic, *extra, input=data)
        self.assertNotIn(b"Delivery failed", p.stderr, p.stderr.decode(errors="replace"))
        self.assertNotIn(b"ERROR", p.stderr, p.stderr.decode(errors="replace"))
        return p

    def consume(self, topic, *extra):
        return self.kcat("-C", "-t", topic, "-o", "beginning", "-e", "-q", *extra).stdout

    def consume_json(self, topic, *extra):
        out = self.consume(topic, "-J", *extra)
        return [json.loads(line) for line in out.decode().splitlines() if line.strip()]

    def test_metadata_listing(self):
        topic = unique_name("kcat-meta")
        self.produce(topic, [b"hello"], "-p", "0")
        text = self.kcat("-L", "-t", topic).stdout.decode()
        self.assertIn('topic "%s" with 3 partitions:' % topic, text)
        for p in range(3):
            self.assertIn("partition %d, leader " % p, text)
        self.assertIn("1 brokers:", text)
        self.assertIn("127.0.0.1:%d" % self.broker.port, text)

        md = json.loads(self.kcat("-L", "-J", "-t", topic).stdout)
        self.assertEqual(len(md["brokers"]), 1)
        broker_id = md["brokers"][0]["id"]
        self.assertEqual(md["brokers"][0]["name"], "127.0.0.1:%d" % self.broker.port)
        self.assertEqual(md["controllerid"], broker_id)
        (t,) = md["topics"]
        self.assertEqual(t["topic"], topic)
        self.assertEqual(sorted(p["partition"] for p in t["partitions"]), [0, 1, 2])
        for p in t["partitions"]:
            self.assertEqual(p["leader"], broker_id)
            self.assertNotIn("error", p)

        all_topics = self.kcat("-L", "-J").stdout
        self.assertIn(topic, [t["topic"] for t in json.loads(all_topics)["topics"]])

    def test_lines_roundtrip_each_codec(self):
        for codec in CODECS:
            with self.subTest(codec=codec):
                topic = unique_name("kcat-" + codec)
                lines = [b"%s line %04d %s" % (codec.encode(), i, b"abc" * (i % 40))
                         for i in range(300)]
                extra = ["-p", "0"] + ([] if codec == "none" else ["-z", codec])
                self.produce(topic, lines, *extra)
                out = self.consume(topic, "-p", "0")
                self.assertEqual(out.splitlines(), lines)

    def test_consume_all_partitions_until_end(self):
        topic = unique_name("kcat-allparts")
        expected = []
        for p in range(3):
            lines = [b"p%d-%d" % (p, i) for i in range(20)]
            self.produce(topic, lines, "-p", str(p))
            expected += lines
        out = self.consume(topic)  # all partitions, -e exits when every one hit its end
        self.assertEqual(sorted(out.splitlines()), sorted(expected))

    def test_keys(self):
        topic = unique_name("kcat-keys")
        self.produce(topic, [b"k1:v1", b"k2:v2", b":no key", b"k3:"], "-K", ":", "-p", "1")
        out = self.consume(topic, "-p", "1", "-f", "%k|%s|%p|%o\n")
        self.assertEqual(out.decode().splitlines(),
                         ["k1|v1|1|0", "k2|v2|1|1", "|no key|1|2", "k3||1|3"])

    def test_json_envelope(self):
        topic = unique_name("kcat-json")
        before = int(time.time() * 1000)
        self.produce(topic, [b"key-a\tfirst", b"key-b\tsecond"], "-K", "\t", "-p", "2",
                     "-H", "trace=abc", "-H", "empty=")
        after = int(time.time() * 1000)
        msgs = self.consume_json(topic, "-p", "2")
        self.assertEqual(len(msgs), 2)
        for i, (m, key, payload) in enumerate(zip(msgs, ["key-a", "key-b"], ["first", "second"])):
            self.assertEqual(m["topic"], topic)
            self.assertEqual(m["partition"], 2)
            self.assertEqual(m["offset"], i)
            self.assertEqual(m["key"], key)
            self.assertEqual(m["payload"], payload)
            self.assertEqual(m["tstype"], "create")
            self.assertGreaterEqual(m["ts"], before - 1000)
            self.assertLessEqual(m["ts"], after + 1000)
            self.assertEqual(m.get("headers"), ["trace", "abc", "empty", ""])

    def test_produce_to_specific_partition(self):
        topic = unique_name("kcat-partition")
        self.produce(topic, [b"a0", b"a1"], "-p", "2")
        self.produce(topic, [b"b0"], "-p", "0")
        msgs = self.consume_json(topic)
        got = sorted((m["partition"], m["offset"], m["payload"]) for m in msgs)
        self.assertEqual(got, [(0, 0, "b0"), (2, 0, "a0"), (2, 1, "a1")])

    def test_offsets_and_counts(self):
        topic = unique_name("kcat-offsets")
        self.produce(topic, [b"m%d" % i for i in range(10)], "-p", "0")
        out = self.kcat("-C", "-t", topic, "-p", "0", "-o", "5", "-c", "3", "-q").stdout
        self.assertEqual(out.splitlines(), [b"m5", b"m6", b"m7"])
        out = self.kcat("-C", "-t", topic, "-p", "0", "-o", "-3", "-e", "-q").stdout
        self.assertEqual(out.splitlines(), [b"m7", b"m8", b"m9"])
        out = self.kcat("-C", "-t", topic, "-p", "0", "-o", "end", "-e", "-q").stdout
        self.assertEqual(out, b"")

    def test_large_lines(self):
        topic = unique_name("kcat-large")
        lines = [(b"%d-" % i) + b"x" * 200000 for i in range(3)]
        self.produce(topic, lines, "-p", "0", "-z", "lz4")
        self.assertEqual(self.consume(topic, "-p", "0").splitlines(), lines)


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/python3
"""Several log dirs (log.dirs=A,B) end to end: partitions are spread (a new partition goes to the
dir holding the fewest), data survives a restart from both dirs, each dir has its own
meta.properties and checkpoints naming exactly its partitions, and deleting a topic removes its
directories from both. Dir A is given with a trailing '/', which must not matter.

Clients: the raw protocol (kafka_wire) for produce/fetch, confluent-kafka's admin client for
CreatePartitions and DeleteTopics.
"""

import os
import re
import shutil
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kafka_wire as kw  # noqa: E402
from broker_process import parse_checkpoint, BrokerTestCase, wait_until  # noqa: E402
from ck_helpers import TIMEOUT, admin_client, result  # noqa: E402

from confluent_kafka.admin import NewPartitions  # noqa: E402

CHECKPOINTS = ("recovery-point-offset-checkpoint", "log-start-offset-checkpoint")
PARTITION_DIR = re.compile(r"^(.+)-(\d+)$")


def read_properties(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                out[k] = v
    return out


class LogDirsTest(BrokerTestCase):
    per_test_broker = True

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="runnel-it-logdirs-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.dir_a = os.path.join(self.root, "a")
        self.dir_b = os.path.join(self.root, "b")
        self.broker_properties = {"log.dirs": "%s/,%s" % (self.dir_a, self.dir_b),
                                  "auto.create.topics.enable": False}
        super().setUp()
        self.sent = {}  # (topic, partition) -> [values]

    def conn(self):
        c = kw.Connection.to(self.broker.bootstrap)
        self.addCleanup(c.close)
        return c

    def partitions_in(self, d):
        """{(topic, partition)} whose directories are in log dir d."""
        out = set()
        for name in os.listdir(d):
            m = PARTITION_DIR.match(name)
            if m and os.path.isdir(os.path.join(d, name)):
                out.add((m.group(1), int(m.group(2))))
        return out

    def placement(self, topic):
        """{partition: 'a' or 'b'}; each partition lives in exactly one dir."""
        a = {p for t, p in self.partitions_in(self.dir_a) if t == topic}
        b = {p for t, p in self.partitions_in(self.dir_b) if t == topic}
        self.assertEqual(a & b, set(), "a partition in both dirs")
        return {**{p: "a" for p in a}, **{p: "b" for p in b}}

    def counts(self):
        return len(self.partitions_in(self.dir_a)), len(self.partitions_in(self.dir_b))

    def produce(self, c, topic, partition, n):
        sent = self.sent.setdefault((topic, partition), [])
        for _ in range(n):
            value = b"%s-%d-%d" % (topic.encode(), partition, len(sent))
            res = c.produce_one(topic, partition, kw.build_record_batch([(None, value)]))
            self.assertEqual(res["error_code"], 0)
            self.assertEqual(res["base_offset"], len(sent))
            sent.append(value)

    def check_everything_reads_back(self, c):
        for (topic, partition), values in self.sent.items():
            res = c.fetch({topic: {partition: 0}}, max_wait_ms=0)[(topic, partition)]
            self.assertEqual(res["error_code"], 0, (topic, partition))
            got = kw.decode_records(res["records"])
            self.assertEqual([r.offset for r in got], list(range(len(values))))
            self.assertEqual([r.value for r in got], values, (topic, partition))

    def test_partitions_are_spread_and_everything_survives_a_restart(self):
        c = self.conn()
        c.create_topic_or_fail("spread", 4)
        # Fewest first, the first dir on ties: a, b, a, b.
        self.assertEqual(self.placement("spread"), {0: "a", 1: "b", 2: "a", 3: "b"})
        c.create_topic_or_fail("more", 3)
        self.assertEqual(self.placement("more"), {0: "a", 1: "b", 2: "a"})
        self.assertEqual(self.counts(), (4, 3))
        # A partition added later goes to the dir with fewer: b.
        admin = admin_client(self.broker.bootstrap)  # must outlive the future
        result(admin.create_partitions([NewPartitions("more", 4)])["more"])
        del admin
        self.assertEqual(self.placement("more")[3], "b")
        self.assertEqual(self.counts(), (4, 4))

        for topic, n in (("spread", 4), ("more", 4)):
            for p in range(n):
                self.produce(c, topic, p, 3 + p)
        self.check_everything_reads_back(c)
        c.close()

        placement_before = {t: self.placement(t) for t in ("spread", "more")}
        self.broker.stop()
        # Each dir has its own meta.properties (one cluster, one node, its own directory id), a
        # clean-shutdown marker, and checkpoints naming exactly its partitions at their ends.
        metas = [read_properties(os.path.join(d, "meta.properties"))
                 for d in (self.dir_a, self.dir_b)]
        self.assertEqual(metas[0]["cluster.id"], metas[1]["cluster.id"])
        self.assertEqual(metas[0]["node.id"], metas[1]["node.id"])
        self.assertNotEqual(metas[0]["directory.id"], metas[1]["directory.id"])
        for d in (self.dir_a, self.dir_b):
            self.assertTrue(os.path.exists(os.path.join(d, ".kafka_cleanshutdown")), d)
            here = self.partitions_in(d)
            rp = parse_checkpoint(os.path.join(d, CHECKPOINTS[0]))
            self.assertEqual(rp, {tp: len(self.sent[tp]) for tp in here}, d)
            lso = parse_checkpoint(os.path.join(d, CHECKPOINTS[1]))
            self.assertEqual(lso, {tp: 0 for tp in here}, d)
        self.assertFalse(os.path.exists(os.path.join(self.dir_b, "runnel-topics.json")),
                         "the topic table lives in the first dir only")

        self.broker.start()
        self.assertEqual({t: self.placement(t) for t in ("spread", "more")}, placement_before)
        c = self.conn()
        self.check_everything_reads_back(c)
        # Appends go on in both dirs after the restart.
        self.produce(c, "spread", 0, 2)
        self.produce(c, "spread", 1, 2)
        self.check_everything_reads_back(c)
        # And the next new partition still goes to the dir with the fewest.
        c.create_topic_or_fail("third", 1)
        self.assertEqual(self.placement("third"), {0: "a"})

    def test_deleting_a_topic_removes_its_directories_from_both_dirs(self):
        c = self.conn()
        c.create_topic_or_fail("doomed", 4)
        c.create_topic_or_fail("kept", 2)
        for p in range(4):
            self.produce(c, "doomed", p, 2)
        for p in range(2):
            self.produce(c, "kept", p, 2)
        self.assertEqual(set(self.placement("doomed").values()), {"a", "b"})
        admin = admin_client(self.broker.bootstrap)  # must outlive the future
        result(admin.delete_topics(["doomed"], operation_timeout=10,
                                   request_timeout=TIMEOUT)["doomed"])
        del admin
        wait_until(lambda: not self.placement("doomed"), message="doomed's dirs removed")
        del self.sent[("doomed", 0)], self.sent[("doomed", 1)]
        del self.sent[("doomed", 2)], self.sent[("doomed", 3)]
        self.check_everything_reads_back(c)
        c.close()

        self.broker.restart()
        for d in (self.dir_a, self.dir_b):
            for name in CHECKPOINTS:
                cp = parse_checkpoint(os.path.join(d, name))
                self.assertEqual([tp for tp in cp if tp[0] == "doomed"], [], d)
        self.assertEqual(self.placement("doomed"), {})
        c = self.conn()
        self.check_everything_reads_back(c)
        # The name can be used again: a new, empty topic.
        c.create_topic_or_fail("doomed", 2)
        res = c.fetch({"doomed": {0: 0}}, max_wait_ms=0)[("doomed", 0)]
        self.assertEqual((res["error_code"], res["high_watermark"]), (0, 0))


if __name__ == "__main__":
    unittest.main(verbosity=2)

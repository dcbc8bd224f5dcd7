#!/usr/bin/python3
"""Kafka Streams 4.4.0 (integration/java/pom.xml), unchanged, against a real broker: the word count
of integration/java/apps/WordCount.java with processing.guarantee=exactly_once_v2 (repartition
and changelog topics, transactions, read_committed). Its counts must be exact, also when its
process is SIGKILLed in the middle and started again.

Run: /usr/bin/python3 integration/test_kafka_streams.py [-v]   (label java)
"""

import collections
import os
import signal
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from broker_process import REPO_ROOT, BrokerTestCase, unique_name, wait_until  # noqa: E402
from ck_helpers import TIMEOUT, admin_client, make_consumer, make_producer, result  # noqa: E402

from confluent_kafka import TopicPartition  # noqa: E402
from confluent_kafka.admin import NewTopic  # noqa: E402

JAVA_CACHE = os.environ.get("RUNNEL_JAVA_CACHE", os.path.expanduser("~/.cache/runnel-java"))
APP = os.path.join(REPO_ROOT, "integration", "java", "apps", "WordCount.java")
WORDS = ["kafka", "runnel", "stream", "window", "count", "exactly", "once", "broker"]


def lines(start, count):
    """Deterministic input: line i holds words chosen by i."""
    return ["%s %s %s" % (WORDS[i % 8], WORDS[(i * 3) % 8], WORDS[(i * 5 + 1) % 8].upper())
            for i in range(start, start + count)]


def expected_counts(all_lines):
    return dict(collections.Counter(w.lower() for line in all_lines for w in line.split()))


class KafkaStreamsTest(BrokerTestCase):
    broker_properties = {"num.partitions": 1, "group.initial.rebalance.delay.ms": 0,
                         "transaction.state.log.replication.factor": 1,
                         "transaction.state.log.min.isr": 1}

    @classmethod
    def prepare_class(cls):
        subprocess.run([os.path.join(REPO_ROOT, "scripts", "install-java-clients.sh")],
                       check=True, timeout=600)
        with open(os.path.join(JAVA_CACHE, "classpath.txt")) as f:
            cls.classpath = f.read().strip()

    def start_app(self, app_id, source, sink):
        state = os.path.join(self.broker.tmpdir, "streams-state")
        log = open(os.path.join(self.broker.tmpdir, "streams-%d.log" % time.monotonic_ns()), "w")
        p = subprocess.Popen(["java", "-Xmx256m", "-cp", self.classpath, APP,
                              self.broker.bootstrap, app_id, source, sink, state],
                             stdout=subprocess.PIPE, stderr=log, text=True)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        self.addCleanup(log.close)
        line = p.stdout.readline()  # "RUNNING" once the app joined its group
        self.assertEqual(line.strip(), "RUNNING", "the Streams app did not start; see " + log.name)
        return p

    def produce(self, topic, batch):
        p = make_producer(self.broker.bootstrap)
        for i, line in enumerate(batch):
            p.produce(topic, key=b"%d" % i, value=line.encode())
        self.assertEqual(p.flush(TIMEOUT), 0)

    def latest_counts(self, topic):
        """The last committed count per word on the output topic (read_committed)."""
        c = make_consumer(self.broker.bootstrap, **{"isolation.level": "read_committed"})
        md = c.list_topics(topic, timeout=TIMEOUT)
        parts = [TopicPartition(topic, p, 0) for p in md.topics[topic].partitions]
        c.assign(parts)
        latest, eof = {}, set()
        deadline = time.monotonic() + 20
        while len(eof) < len(parts) and time.monotonic() < deadline:
            for m in c.consume(500, 0.5):
                if m.error():
                    eof.add(m.partition())
                    continue
                latest[m.key().decode()] = int(m.value().decode())
        c.close()
        return latest

    def test_word_count_exactly_once_across_a_kill(self):
        app = unique_name("wordcount")
        source, sink = unique_name("wc-lines"), unique_name("wc-counts")
        a = admin_client(self.broker.bootstrap)
        for t in (source, sink):
            result(a.create_topics([NewTopic(t, 2, 1)])[t])
        first, second = lines(0, 300), lines(300, 300)

        streams = self.start_app(app, source, sink)
        self.produce(source, first)
        want = expected_counts(first)
        wait_until(lambda: self.latest_counts(sink) == want, 90, 1.0,
                   "the counts of the first 300 lines")
        # Killed without closing: its open transaction is aborted or fenced, its state store
        # rebuilt from the changelog; nothing may be counted twice.
        streams.send_signal(signal.SIGKILL)
        streams.wait()
        self.produce(source, second)
        streams = self.start_app(app, source, sink)
        want = expected_counts(first + second)
        wait_until(lambda: self.latest_counts(sink) == want, 120, 1.0,
                   "exact counts of all 600 lines after the restart")
        # The internal topics Streams made for itself, on this broker.
        names = set(a.list_topics(timeout=TIMEOUT).topics)
        self.assertTrue(any(n.startswith(app) and n.endswith("-repartition") for n in names))
        self.assertTrue(any(n.startswith(app) and n.endswith("-changelog") for n in names))
        streams.send_signal(signal.SIGTERM)
        streams.wait(timeout=60)


if __name__ == "__main__":
    unittest.main(verbosity=2)

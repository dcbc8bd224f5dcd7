#!/usr/bin/python3
"""Idempotent producer (librdkafka, enable.idempotence, acks=all) through the fault proxy:
connections are reset at random (lost requests, and lost responses of requests the broker
already appended: the retries that create duplicates without idempotence) and responses are
delayed, while N records go to a 1-partition topic; the partition must then hold every record
exactly once, in order. The second test also SIGKILLs and restarts the broker mid-stream.

Not registered in CMake until the broker implements idempotence (InitProducerId, producer
sequence checks).

Run: RUNNEL_BROKER=build/server/runnel /usr/bin/python3 integration/test_idempotence_faults.py -v
Environment: RUNNEL_IDEMPOTENCE_RECORDS (default 1000000), RUNNEL_PROXY_SEED (replay faults),
RUNNEL_TEST_TIMEOUT (watchdog per test; default here 300 s), RUNNEL_IDEMPOTENCE_CONTROL=1
(a non-idempotent producer, which must fail).
"""

import collections
import os
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("RUNNEL_TEST_TIMEOUT", "300")  # 1M records through faults takes a while

from broker_process import unique_name  # noqa: E402
from ck_helpers import TIMEOUT, admin_client, make_consumer, make_producer, result  # noqa: E402
from proxied_broker import ProxiedBrokerTestCase  # noqa: E402

from confluent_kafka import (OFFSET_BEGINNING, KafkaError, KafkaException,  # noqa: E402
                             TopicPartition)
from confluent_kafka.admin import NewTopic  # noqa: E402

RECORDS = int(os.environ.get("RUNNEL_IDEMPOTENCE_RECORDS", "1000000"))
# Control run: a plain producer must fail these tests (duplicates, reordering), which shows
# that the faults bite; e.g. RUNNEL_IDEMPOTENCE_CONTROL=1 RUNNEL_IDEMPOTENCE_RECORDS=100000
CONTROL = os.environ.get("RUNNEL_IDEMPOTENCE_CONTROL") == "1"


def summarize(seqs, n):
    """Why a partition's sequence numbers are not 0..n-1 (empty string if they are)."""
    if seqs == list(range(n)):
        return ""
    counts = collections.Counter(seqs)
    dups = sum(c - 1 for c in counts.values() if c > 1)
    missing = sum(1 for i in range(n) if i not in counts)
    backwards = sum(1 for a, b in zip(seqs, seqs[1:]) if b <= a)
    first = next((i for i, s in enumerate(seqs) if s != i), min(len(seqs), n))
    return ("%d records expected, the partition holds %d: %d duplicates, %d missing, %d steps "
            "backwards; first difference at offset %d: %s" % (
                n, len(seqs), dups, missing, backwards, first, seqs[first:first + 8]))


class IdempotentProducerFaultsTest(ProxiedBrokerTestCase):
    broker_properties = {"auto.create.topics.enable": False}

    def enable_faults(self):
        p = self.proxy
        # Responses lost after the broker appended: at random, and each connection after
        # 1-8 KB of responses (the handshake is ~600 B, a produce response ~70 B), often
        # inside a frame.
        p.to_client.drop_probability = 0.02
        p.to_client.drop_after_bytes = (1000, 8000)
        # Requests lost, and each connection cut inside a request after 1/20 to 1/4 of what
        # the run sends (~35 B a record): ~7 cuts whatever RECORDS is.
        p.to_server.drop_probability = 0.005
        p.to_server.drop_after_bytes = (35 * RECORDS // 20, 35 * RECORDS // 4)
        p.to_client.delay_probability, p.to_client.delay_max_ms = 0.2, 150
        p.to_server.delay_probability, p.to_server.delay_max_ms = 0.05, 50
        p.enabled = True

    def produce(self, topic, n, midway=None):
        """Produces values b"%010d" % i for i in range(n) with an idempotent producer; calls
        midway() once after n/2 records were handed to the producer."""
        failures, client_errors = [], collections.Counter()

        def on_error(err):
            client_errors[err.name()] += 1
            if err.fatal():
                failures.append("fatal: %s" % err)

        def on_delivery(err, msg):  # errors only (delivery.report.only.error)
            if len(failures) < 10:
                failures.append("delivery: %s" % err)

        p = make_producer(self.proxy.address, **{
            "enable.idempotence": not CONTROL, "acks": "all", "linger.ms": 5,
            # ~1000 requests or more even in a quick run: many for the faults to hit
            "batch.num.messages": max(100, min(1000, n // 1000)),
            "message.timeout.ms": 240000, "queue.buffering.max.messages": 200000,
            "reconnect.backoff.ms": 20, "reconnect.backoff.max.ms": 500,
            "retry.backoff.ms": 50, "error_cb": on_error, "on_delivery": on_delivery,
            "delivery.report.only.error": True})
        t0, handed = time.monotonic(), 0
        try:
            for i in range(n):
                while True:
                    try:
                        p.produce(topic, b"%010d" % i, partition=0)
                        break
                    except BufferError:  # queue full: let deliveries drain it
                        p.poll(0.01)
                handed += 1
                if i % 1000 == 0:
                    p.poll(0)
                    if failures:
                        break
                    if midway and i >= n // 2:
                        midway()
                        midway = None
            left = p.flush(250) if not failures else len(p)
        except KafkaException as e:  # a fatal error is raised by produce/poll/flush
            failures.append("raised: %s" % e)
            try:
                p.poll(0)  # serves error_cb, which has the fatal error's cause
            except KafkaException as cause:
                failures.append("raised: %s" % cause)
            left = len(p)
        sys.stderr.write("\n[%s] %d of %d records handed to the producer, %.1f s; client errors "
                         "%s; proxy %s\n" % (self._testMethodName, handed, n,
                                              time.monotonic() - t0, dict(client_errors),
                                              self.proxy.stats()))
        if failures:
            self.fail("producer failed:\n  " + "\n  ".join(failures[:6]))
        self.assertEqual(left, 0, "records not delivered after flush")

    def read_sequence(self, topic):
        """Sequence numbers of the whole partition, read with the proxy's faults off (the
        broker advertises only the proxy's address)."""
        self.proxy.enabled = False
        c = make_consumer(self.proxy.address, **{"fetch.max.bytes": 16 << 20})
        try:
            tp = TopicPartition(topic, 0)
            end = c.get_watermark_offsets(tp, timeout=TIMEOUT, cached=False)[1]
            tp.offset = OFFSET_BEGINNING
            c.assign([tp])
            seqs, deadline = [], time.monotonic() + 120
            while len(seqs) < end and time.monotonic() < deadline:
                for m in c.consume(num_messages=10000, timeout=0.5):
                    if m.error():
                        if m.error().code() != KafkaError._PARTITION_EOF:
                            raise AssertionError("consume: %s" % m.error())
                        continue
                    seqs.append(int(m.value()))
        finally:
            c.close()
        self.assertEqual(len(seqs), end, "read the partition up to its high watermark")
        return seqs

    def run_case(self, midway=None):
        topic = unique_name("idem")
        self.proxy.enabled = False
        admin = admin_client(self.proxy.address)  # must outlive the future
        result(admin.create_topics([NewTopic(topic, 1, 1)])[topic])
        self.enable_faults()
        self.produce(topic, RECORDS, midway)
        stats = self.proxy.stats()
        problem = summarize(self.read_sequence(topic), RECORDS)
        if problem:
            self.fail(problem)
        # the faults must have happened, or the test proved nothing
        self.assertGreater(stats["drops_to_client"], 0, stats)
        self.assertGreater(stats["drops_to_server"], 0, stats)
        self.assertGreater(stats["delays"], 0, stats)

    def test_exactly_once_in_order_through_drops_and_delays(self):
        self.run_case()

    def test_exactly_once_in_order_across_a_broker_sigkill(self):
        def kill_and_restart():
            self.broker.kill()  # in-flight requests: some appended, none answered
            time.sleep(0.5)
            self.broker.start()

        self.run_case(midway=kill_and_restart)
        self.assertEqual(self.broker.starts, 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""Shared confluent-kafka (librdkafka) helpers for the integration tests."""

import os
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

CODECS = ("none", "gzip", "snappy", "lz4", "zstd")
TIMEOUT = 15.0


def admin_client(bootstrap):
    return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 10000})


def make_producer(bootstrap, **extra):
    conf = {"bootstrap.servers": bootstrap, "enable.idempotence": False, "linger.ms": 5,
            "message.timeout.ms": 20000, "socket.timeout.ms": 10000}
    if os.environ.get("RUNNEL_CK_DEBUG"):  # e.g. broker,protocol,msg: librdkafka logs to stderr
        conf["debug"] = os.environ["RUNNEL_CK_DEBUG"]
    conf.update(extra)
    return Producer(conf)


def make_consumer(bootstrap, **extra):
    conf = {"bootstrap.servers": bootstrap,
            "group.id": "runnel-it-unused-group",  # required by librdkafka; never joined
            "enable.auto.commit": False, "enable.auto.offset.store": False,
            "enable.partition.eof": True, "auto.offset.reset": "earliest",
            "socket.timeout.ms": 10000, "session.timeout.ms": 10000}
    conf.update(extra)
    return Consumer(conf)


def result(future, timeout=TIMEOUT):
    return future.result(timeout=timeout)


def error_code(exc):
    """KafkaError code carried by a KafkaException from an admin future."""
    err = exc.args[0] if exc.args else None
    return err.code() if isinstance(err, KafkaError) else None


def consume_partition(consumer, count, timeout=20.0, errors=None):
    """Consumes until `count` messages arrived; ignores partition EOF and collects other
    (non-fatal) errors into `errors`."""
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < count and time.monotonic() < deadline:
        for m in consumer.consume(num_messages=500, timeout=0.5):
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                if errors is not None:
                    errors.append(m.error())
                if m.error().fatal():
                    raise KafkaException(m.error())
                continue
            out.append(m)
    return out


class Deliveries:
    def __init__(self):
        self.reports = []

    def __call__(self, err, msg):
        self.reports.append((err, msg))

    def check(self, test, expected_count):
        test.assertEqual(len(self.reports), expected_count, "delivery reports received")
        errs = [(e, m.topic(), m.partition()) for e, m in self.reports if e is not None]
        test.assertEqual(errs, [], "delivery errors")


def group_with_commit(bootstrap, topic, group, values, committed):
    """Produces `values` to partition 0 of `topic`, reads them all as a member of `group`
    (subscribed, so the group is Stable with one member) and commits offset `committed`.
    Returns the consumer, still a member: the caller closes it to leave the group."""
    p = Producer({"bootstrap.servers": bootstrap})
    for v in values:
        p.produce(topic, v, partition=0)
    if p.flush(30) != 0:
        raise AssertionError("records not delivered")
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    got, deadline = 0, time.monotonic() + 60
    while got < len(values) and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got += 1
    if got != len(values):
        raise AssertionError("read %d of %d records" % (got, len(values)))
    c.commit(offsets=[TopicPartition(topic, 0, committed)], asynchronous=False)
    return c

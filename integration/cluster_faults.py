"""Faults against a running Runnel cluster, with the workload the checker judges
(cluster_checker.py). Used by test_cluster_faults.py (a short run in CI) and by
scripts/cluster-faults.sh (a long randomized run, ≥ 100 faults).

The workload: idempotent acks=all producers writing unique values to a topic with three
replicas and min.insync.replicas=2, a transactional producer writing transactions of 2-8
records over the partitions (one in four aborted), and a consumer group reading it
(read_committed) and committing synchronously. The faults, one broker at a time so that two replicas stay: SIGKILL
and restart, SIGTERM (controlled shutdown) and restart, SIGSTOP and SIGCONT.
"""

import os
import random
import signal
import threading
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from cluster_checker import History, check

TOPIC = "checked"
PARTITIONS = 3
GROUP = "checker"
# librdkafka logs every broker going away at warning level and above: thousands of lines in a
# run. Critical only; the history says what happened.
QUIET = 2


class Workload:
    def __init__(self, bootstrap, history, producers=2, rate=150, seed=0):
        self.bootstrap = bootstrap
        self.history = history
        self.stop_event = threading.Event()
        self.random = random.Random(seed)
        self.threads = [threading.Thread(target=self._produce, args=(i, rate), daemon=True)
                        for i in range(producers)]
        self.threads.append(threading.Thread(target=self._transact, daemon=True))
        self.threads.append(threading.Thread(target=self._consume, daemon=True))
        self.errors = []

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self, timeout=90):
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout)

    def _produce(self, index, rate):
        history = self.history

        def on_fatal(err):
            # error_cb hears every client error (brokers going away included); only a fatal
            # one means the idempotent producer gave up.
            if err.fatal():
                history.fatal_error("producer %d: %s" % (index, err))

        producer = Producer({"bootstrap.servers": self.bootstrap, "acks": "all",
                             "enable.idempotence": True, "linger.ms": 5,
                             "delivery.timeout.ms": 120000, "error_cb": on_fatal,
                             "log_level": QUIET})
        seq = 0

        def delivered(err, msg):
            value = msg.value().decode()
            if err is not None:
                if err.fatal():
                    history.fatal_error("producer %d: %s" % (index, err))
                history.fail(value, str(err))
            else:
                history.ack(value, msg.partition(), msg.offset())

        try:
            while not self.stop_event.is_set():
                value = "p%d-%d" % (index, seq)
                history.send(value, index, seq)
                try:
                    producer.produce(TOPIC, key=str(seq % 97).encode(), value=value.encode(),
                                     on_delivery=delivered)
                except BufferError:
                    producer.poll(0.1)
                    continue
                seq += 1
                producer.poll(0)
                time.sleep(1.0 / rate)
            left = producer.flush(90)
            if left:
                self.errors.append("producer %d: %d records not delivered at the end" % (
                    index, left))
        except Exception as e:  # noqa: BLE001 - reported, not swallowed
            self.errors.append("producer %d: %r" % (index, e))

    def _transactional_producer(self):
        p = Producer({"bootstrap.servers": self.bootstrap, "transactional.id": "checked-txn",
                      "transaction.timeout.ms": 20000, "linger.ms": 5, "log_level": QUIET})
        deadline = time.monotonic() + 120
        while True:
            try:
                p.init_transactions(30)
                return p
            except KafkaException:
                if time.monotonic() > deadline or self.stop_event.is_set():
                    raise
                time.sleep(0.5)

    def _transact(self):
        """Transactions of 2-8 records, committed or (one in four) aborted; an outcome the
        producer did not learn (an error while committing) is recorded as unknown, and the
        producer is replaced (the new one fences the old and ends what it left open)."""
        history = self.history
        index = "t"
        seq = 0
        txn = 0
        producer = None
        try:
            while not self.stop_event.is_set():
                if producer is None:
                    producer = self._transactional_producer()
                commit = self.random.random() >= 0.25
                values = ["t%d-%d" % (txn, i) for i in range(self.random.randint(2, 8))]
                txn += 1
                try:
                    producer.begin_transaction()
                    for v in values:
                        history.send(v, index, seq)
                        seq += 1
                        producer.produce(TOPIC, key=v.encode(), value=v.encode())
                    if commit:
                        producer.commit_transaction(30)
                    else:
                        producer.flush(30)  # written, so that the abort has something to end
                        producer.abort_transaction(30)
                    history.transaction(values, "committed" if commit else "aborted")
                except KafkaException:
                    # Whether the commit (or the abort) took effect is not known here.
                    history.transaction(values, "unknown")
                    producer = None
                time.sleep(0.05)
        except Exception as e:  # noqa: BLE001 - reported, not swallowed
            self.errors.append("transactional producer: %r" % e)

    def _consume(self):
        history = self.history
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": GROUP,
                             "enable.auto.commit": False, "auto.offset.reset": "earliest",
                             "isolation.level": "read_committed",
                             "session.timeout.ms": 10000, "log_level": QUIET})
        consumer.subscribe([TOPIC])
        last_commit = time.monotonic()
        try:
            while not self.stop_event.is_set():
                m = consumer.poll(0.2)
                if m is not None and m.error() is None:
                    history.read(m.partition(), m.offset(), m.value().decode())
                if time.monotonic() - last_commit > 0.5:
                    last_commit = time.monotonic()
                    try:
                        done = consumer.commit(asynchronous=False)
                    except KafkaException:
                        continue  # nothing to commit, or a coordinator moving: next time
                    for tp in done or []:
                        if tp.error is None and tp.offset >= 0:
                            history.committed(tp.partition, tp.offset)
        except Exception as e:  # noqa: BLE001
            self.errors.append("consumer: %r" % e)
        finally:
            consumer.close()


class Nemesis:
    """Injects faults into `brokers` (Broker objects of broker_process.py), one at a time."""

    KINDS = ("kill", "terminate", "pause")

    def __init__(self, brokers, history, seed, interval=(2.0, 4.0), downtime=(1.0, 3.0)):
        self.brokers = brokers
        self.history = history
        self.random = random.Random(seed)
        self.interval = interval
        self.downtime = downtime
        self.count = 0

    def one(self):
        b = self.random.choice(self.brokers)
        kind = self.random.choice(self.KINDS)
        down = self.random.uniform(*self.downtime)
        self.history.fault(time.time(), "%s broker %s for %.1f s" % (kind, b.name, down))
        if kind == "kill":
            b.kill()
            time.sleep(down)
            b.start()
        elif kind == "terminate":
            b.stop(timeout=30)
            time.sleep(down)
            b.start()
        else:
            os.kill(b.pid, signal.SIGSTOP)
            time.sleep(down)
            os.kill(b.pid, signal.SIGCONT)
        self.count += 1

    def run(self, faults, deadline):
        while self.count < faults and time.monotonic() < deadline:
            time.sleep(self.random.uniform(*self.interval))
            self.one()


def create_topic(bootstrap):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(TOPIC, PARTITIONS, 3,
                                            config={"min.insync.replicas": "2"})])
    futures[TOPIC].result(30)


def final_logs(bootstrap, timeout=60):
    """Every record of the topic, read from the start (read_committed) once all of it is
    readable."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "final-read",
                         "enable.auto.commit": False, "isolation.level": "read_committed",
                         "enable.partition.eof": True})
    ends = {}
    deadline = time.monotonic() + timeout
    for p in range(PARTITIONS):
        while True:
            try:
                _, high = consumer.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=5)
                ends[p] = high
                break
            except KafkaException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    consumer.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
    logs = {p: [] for p in range(PARTITIONS)}
    done = {p for p in range(PARTITIONS) if ends[p] == 0}
    while len(done) < PARTITIONS and time.monotonic() < deadline:
        m = consumer.poll(0.5)
        if m is None:
            continue
        if m.error() is not None:
            # The end of a partition: with transactions its last offsets may be markers and
            # aborted records, which a read_committed consumer never gets.
            if m.error().code() == KafkaError._PARTITION_EOF and m.offset() >= ends[m.partition()]:
                done.add(m.partition())
            continue
        logs[m.partition()].append((m.offset(), m.value().decode()))
    consumer.close()
    if len(done) < PARTITIONS:
        raise AssertionError("the final read did not reach the ends %r" % ends)
    return logs


def rolling_restart(brokers, history, settle):
    """Kafka's rolling restart: each broker in turn stopped (SIGTERM: controlled shutdown),
    started again, and the cluster left to become whole before the next."""
    for b in brokers:
        history.fault(time.monotonic(), "roll: restart broker %s" % b.name)
        b.stop()
        b.start()
        settle()


def run(brokers, faults, seed, max_seconds, settle=None, log=print, inject=None):
    """Runs the workload with `faults` faults (or until max_seconds), heals, reads everything
    back and checks. `settle()` waits for the cluster to be whole again (every ISR full).
    `inject(history)`, if given, makes the faults instead of the random nemesis.
    Returns (problems, summary, history)."""
    history = History()
    bootstrap = ",".join(b.bootstrap for b in brokers)
    create_topic(bootstrap)
    workload = Workload(bootstrap, history, seed=seed)
    workload.start()
    time.sleep(2)
    started = time.monotonic()
    if inject:
        inject(history)
    else:
        Nemesis(brokers, history, seed).run(faults, started + max_seconds)
    for b in brokers:
        if not b.running:
            b.start()
    if settle:
        settle()
    time.sleep(2)
    workload.stop()
    logs = final_logs(bootstrap)
    problems, summary = check(history, logs)
    problems = workload.errors + problems
    summary["seconds"] = round(time.monotonic() - started, 1)
    summary["seed"] = seed
    for when, text in history.faults:
        log("fault: %s" % text)
    return problems, summary, history

"""A history checker for a replicated cluster under faults: it records what clients were told
(every send, acknowledgement, delivery failure, read and committed offset) and what the logs
hold at the end, and verifies Kafka's guarantees against them:

  - no acknowledged record lost: every record acknowledged at (partition, offset) is there;
  - no duplicates from idempotent producers: no value is stored twice;
  - per-partition order: one producer's records keep their send order within a partition;
  - reads are never taken back: a record a consumer read is at the same place at the end
    (consumers only see what is below the high watermark, which survives any failover);
  - committed offsets never go backwards, and never past the log end;
  - transactions are atomic: a committed transaction's records are all there, an aborted
    one's none (and a read_committed consumer never read one of them), and one whose outcome
    the producer never learned is there whole or not at all.

Thread-safe: producers, consumers and the fault injector record from their own threads.
"""

import threading
from collections import defaultdict


class History:
    def __init__(self):
        self.lock = threading.Lock()
        self.sent = {}          # value -> (producer, seq)
        self.acked = {}         # value -> (partition, offset)
        self.failed = {}        # value -> error text (the record may or may not be stored)
        self.fatal = []         # producer fatal errors (an idempotent producer gave up)
        self.reads = []         # (partition, offset, value) as consumers saw them
        self.commits = defaultdict(list)  # partition -> [committed offset as observed]
        self.faults = []        # (time, text)
        self.transactions = []  # (values, "committed" | "aborted" | "unknown")

    def send(self, value, producer, seq):
        with self.lock:
            self.sent[value] = (producer, seq)

    def ack(self, value, partition, offset):
        with self.lock:
            self.acked[value] = (partition, offset)

    def fail(self, value, error):
        with self.lock:
            self.failed[value] = error

    def fatal_error(self, text):
        with self.lock:
            self.fatal.append(text)

    def read(self, partition, offset, value):
        with self.lock:
            self.reads.append((partition, offset, value))

    def committed(self, partition, offset):
        with self.lock:
            self.commits[partition].append(offset)

    def transaction(self, values, outcome):
        with self.lock:
            self.transactions.append((list(values), outcome))

    def fault(self, when, text):
        with self.lock:
            self.faults.append((when, text))


def check(history, final_logs):
    """final_logs: partition -> list of (offset, value) read from the start at the end.
    Returns a list of problems (empty: every guarantee held) and a summary dict."""
    problems = []
    where = {}  # value -> (partition, offset) in the final logs
    at = {}     # (partition, offset) -> value
    for p, records in final_logs.items():
        for offset, value in records:
            if value in where:
                problems.append("duplicate: %r at %s and %s" % (value, where[value], (p, offset)))
            where[value] = (p, offset)
            at[(p, offset)] = value
    lost = [(v, pos) for v, pos in history.acked.items() if at.get(pos) != v]
    for v, pos in lost[:20]:
        problems.append("acknowledged record lost: %r acknowledged at %s, found %r there" % (
            v, pos, at.get(pos)))
    if len(lost) > 20:
        problems.append("... %d acknowledged records lost in all" % len(lost))
    # One producer's records in one partition: offsets rise with the sequence.
    by_stream = defaultdict(list)
    for v, (p, offset) in where.items():
        if v in history.sent:
            producer, seq = history.sent[v]
            by_stream[(producer, p)].append((offset, seq, v))
    for (producer, p), items in by_stream.items():
        items.sort()
        for (o1, s1, v1), (o2, s2, v2) in zip(items, items[1:]):
            if s2 < s1:
                problems.append("order: producer %s in partition %d stored %r (seq %d) at %d "
                                "before %r (seq %d) at %d" % (producer, p, v2, s2, o2, v1, s1, o1))
                break
    taken_back = [(p, o, v) for p, o, v in history.reads if at.get((p, o)) != v]
    for p, o, v in taken_back[:20]:
        problems.append("read taken back: %r read at %d of partition %d, now %r" % (
            v, o, p, at.get((p, o))))
    for p, offsets in history.commits.items():
        for a, b in zip(offsets, offsets[1:]):
            if b < a:
                problems.append("committed offset of partition %d went back from %d to %d" % (
                    p, a, b))
                break
        end = max((o for o, _ in final_logs.get(p, [])), default=-1) + 1
        if offsets and offsets[-1] > end:
            problems.append("committed offset %d of partition %d past the log end %d" % (
                offsets[-1], p, end))
    aborted = set()
    for values, outcome in history.transactions:
        there = [v for v in values if v in where]
        if outcome == "committed" and len(there) < len(values):
            problems.append("committed transaction lost: %d of its %d records missing, e.g. %r"
                            % (len(values) - len(there), len(values),
                               next(v for v in values if v not in where)))
        elif outcome == "aborted" and there:
            problems.append("aborted transaction visible: %r" % there[0])
        elif outcome == "unknown" and 0 < len(there) < len(values):
            problems.append("transaction partly visible: %d of its %d records, e.g. %r" % (
                len(there), len(values), there[0]))
        if outcome == "aborted":
            aborted.update(values)
    dirty = [(p, o, v) for p, o, v in history.reads if v in aborted]
    for p, o, v in dirty[:5]:
        problems.append("read_committed read aborted data: %r at %d of partition %d" % (v, o, p))
    for text in history.fatal:
        problems.append("producer fatal error: %s" % text)
    unknown = [v for v in where if v not in history.sent]
    if unknown:
        problems.append("%d stored values were never sent, e.g. %r" % (len(unknown), unknown[0]))
    summary = {
        "sent": len(history.sent),
        "acknowledged": len(history.acked),
        "failed (indeterminate)": len(history.failed),
        "failed but stored": sum(1 for v in history.failed if v in where),
        "stored": len(where),
        "reads": len(history.reads),
        "commits observed": sum(len(v) for v in history.commits.values()),
        "faults": len(history.faults),
        "transactions": {o: sum(1 for _, out in history.transactions if out == o)
                         for o in ("committed", "aborted", "unknown")},
    }
    return problems, summary

"""A bounded fault run against three brokers, judged by the history checker
(cluster_faults.py, cluster_checker.py): idempotent acks=all producers, a transactional
producer and a consumer group on a topic with three replicas and min.insync.replicas=2, while
brokers are killed, stopped and paused one at a time; then no acknowledged record may be lost,
none stored twice, none out of order, no read taken back, no committed offset gone back, every
transaction whole or absent as its outcome says, and no aborted record read. The same workload
and checks judge a rolling restart (each broker stopped with SIGTERM and started again in turn). scripts/cluster-faults.sh runs the
same for longer with more faults.

RUNNEL_FAULTS (default 8) and RUNNEL_FAULT_SEED (default: random, printed) choose the run.
"""

import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from broker_process import wait_until  # noqa: E402
from cluster_case import TopicTestCase  # noqa: E402
import cluster_faults  # noqa: E402
from cluster_checker import History, check  # noqa: E402

FAULTS = int(os.environ.get("RUNNEL_FAULTS", "8"))
MAX_SECONDS = int(os.environ.get("RUNNEL_FAULT_MAX_SECONDS", "200"))


class ClusterFaultTest(TopicTestCase):
    test_timeout_seconds = MAX_SECONDS * 2 + 120

    def brokers(self):
        extra = {"replica.lag.time.max.ms": 3000, "offsets.topic.replication.factor": 3,
                 "controlled.shutdown.retry.backoff.ms": 500}
        brokers = [self.start_member(i, extra=extra) for i in (1, 2, 3)]
        for b in brokers:
            wait_until(lambda: self.broker_ids(b) == [1, 2, 3], 15, message="all listed")
        return brokers

    def settle(self):
        def whole():
            return all(sorted((self.state(cluster_faults.TOPIC, p) or {}).get("isr", []))
                       == [1, 2, 3] for p in range(cluster_faults.PARTITIONS))
        wait_until(whole, 60, message="every ISR whole again")

    def test_a_rolling_restart_under_load_loses_nothing(self):
        brokers = self.brokers()
        seed = random.randrange(1 << 30)

        def roll(history):
            # The consumer group reads before, and again after, every broker went round.
            wait_until(lambda: len(history.reads) > 100, 60, message="the group reading")
            cluster_faults.rolling_restart(brokers, history, self.settle)
            before = len(history.reads)
            wait_until(lambda: len(history.reads) > before + 100, 60,
                       message="the group reading after the roll")

        problems, summary, _ = cluster_faults.run(brokers, 0, seed, max_seconds=MAX_SECONDS,
                                                  settle=self.settle, inject=roll)
        print("summary: %r" % summary, flush=True)
        self.assertEqual(problems, [])
        self.assertEqual(summary["faults"], 3)
        self.assertGreater(summary["acknowledged"], 300)
        self.assertGreater(summary["transactions"]["committed"], 5)
        self.assertGreater(summary["commits observed"], 0)

    def test_no_guarantee_breaks_under_faults(self):
        brokers = self.brokers()
        seed = int(os.environ.get("RUNNEL_FAULT_SEED", random.randrange(1 << 30)))
        print("fault seed %d" % seed, flush=True)
        problems, summary, _ = cluster_faults.run(brokers, FAULTS, seed, max_seconds=MAX_SECONDS,
                                                  settle=self.settle)
        print("summary: %r" % summary, flush=True)
        self.assertEqual(problems, [], "seed %d" % seed)
        self.assertEqual(summary["faults"], FAULTS)
        self.assertGreater(summary["acknowledged"], 1000)
        self.assertGreater(summary["transactions"]["committed"], 10)
        self.assertGreater(summary["transactions"]["aborted"], 2)


class CheckerTest(unittest.TestCase):
    """The checker itself finds each kind of broken guarantee."""

    def history(self):
        h = History()
        for seq in range(4):
            h.send("p0-%d" % seq, 0, seq)
        for seq, (p, o) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
            h.ack("p0-%d" % seq, p, o)
        h.read(0, 0, "p0-0")
        h.committed(0, 1)
        h.committed(0, 2)
        return h

    def logs(self):
        return {0: [(0, "p0-0"), (1, "p0-1")], 1: [(0, "p0-2"), (1, "p0-3")]}

    def test_a_clean_history_passes(self):
        problems, summary = check(self.history(), self.logs())
        self.assertEqual(problems, [])
        self.assertEqual(summary["acknowledged"], 4)

    def test_each_broken_guarantee_is_found(self):
        def problems_with(history=None, logs=None):
            return check(history or self.history(), logs or self.logs())[0]

        lost = self.logs()
        lost[1] = [(0, "p0-2")]
        self.assertIn("acknowledged record lost", " ".join(problems_with(logs=lost)))
        dup = self.logs()
        dup[1].append((2, "p0-0"))
        self.assertIn("duplicate", " ".join(problems_with(logs=dup)))
        swapped = {0: [(0, "p0-1"), (1, "p0-0")], 1: self.logs()[1]}
        h = History()
        for seq in range(4):
            h.send("p0-%d" % seq, 0, seq)
        self.assertIn("order", " ".join(problems_with(history=h, logs=swapped)))
        h = self.history()
        h.read(1, 5, "p0-9")
        self.assertIn("read taken back", " ".join(problems_with(history=h)))
        h = self.history()
        h.committed(0, 1)
        self.assertIn("went back", " ".join(problems_with(history=h)))
        h = self.history()
        h.committed(0, 9)
        self.assertIn("past the log end", " ".join(problems_with(history=h)))
        h = self.history()
        h.fatal_error("OUT_OF_ORDER_SEQUENCE_NUMBER")
        self.assertIn("fatal", " ".join(problems_with(history=h)))
        stranger = self.logs()
        stranger[0].append((2, "x"))
        self.assertIn("never sent", " ".join(problems_with(logs=stranger)))

    def test_broken_transactions_are_found(self):
        def with_transaction(outcome, stored, read=None):
            h = History()
            values = ["t0-0", "t0-1", "t0-2"]
            for seq, v in enumerate(values):
                h.send(v, "t", seq)
            h.transaction(values, outcome)
            if read:
                h.read(0, 0, read)
            logs = {0: [(i, v) for i, v in enumerate(values[:stored])]}
            return " ".join(check(h, logs)[0])

        self.assertEqual(with_transaction("committed", 3), "")
        self.assertEqual(with_transaction("aborted", 0), "")
        self.assertEqual(with_transaction("unknown", 0), "")
        self.assertEqual(with_transaction("unknown", 3), "")
        self.assertIn("committed transaction lost", with_transaction("committed", 2))
        self.assertIn("aborted transaction visible", with_transaction("aborted", 1))
        self.assertIn("partly visible", with_transaction("unknown", 1))
        self.assertIn("read aborted data", with_transaction("aborted", 0, read="t0-1"))


if __name__ == "__main__":
    unittest.main()

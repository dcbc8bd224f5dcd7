#!/usr/bin/python3
"""Consumer groups with kafka-python 2.0.2 (Debian python3-kafka) against a real broker.

Run: /usr/bin/python3 integration/test_groups_kafka_python.py [-v] [TestClass.test_name]

kafka-python joins, heartbeats and commits only from inside poll() (plus a heartbeat thread), and
a KafkaConsumer is not thread-safe: every group member here runs in a thread of its own
(Worker) that polls, records what it processed, commits, and closes the consumer itself. A
member that dies without leaving the group is a child process (this file with --child-consumer)
that is SIGKILLed. kafka-python speaks JoinGroup v2, SyncGroup/Heartbeat/LeaveGroup v1,
OffsetCommit v2, OffsetFetch v1-3, FindCoordinator v0, ListGroups v2, DescribeGroups v3 and
DeleteGroups v1 to this broker.
"""

import collections
import faulthandler
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SESSION_TIMEOUT_MS = 6000
HEARTBEAT_INTERVAL_MS = 1000
MAX_POLL_INTERVAL_MS = 30000
REQUEST_TIMEOUT_MS = 40000  # kafka-python: must exceed session_timeout_ms (and the JoinGroup wait)


def consumer_config(bootstrap, group, **kw):
    conf = dict(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                auto_offset_reset="earliest", session_timeout_ms=SESSION_TIMEOUT_MS,
                heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
                max_poll_interval_ms=MAX_POLL_INTERVAL_MS, request_timeout_ms=REQUEST_TIMEOUT_MS,
                retry_backoff_ms=100, metadata_max_age_ms=5000)
    conf.update(kw)
    return conf


def child_main(args):
    """--child-consumer BOOTSTRAP GROUP TOPIC CLIENT_ID: a group member that prints one JSON
    line per event ({"assigned": [...]}, {"rec": [partition, offset, value]}, {"committed":
    n}) and commits after each batch, until killed (or 120 s pass)."""
    from kafka import KafkaConsumer
    bootstrap, group, topic, client_id = args
    c = KafkaConsumer(**consumer_config(bootstrap, group, client_id=client_id))
    c.subscribe([topic])
    out = sys.stdout
    last = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        recs = c.poll(timeout_ms=200, max_records=50)
        assigned = sorted(tp.partition for tp in c.assignment())
        if assigned != last:
            out.write(json.dumps({"assigned": assigned}) + "\n")
            out.flush()
            last = assigned
        n = 0
        for rs in recs.values():
            for r in rs:
                out.write(json.dumps({"rec": [r.partition, r.offset, r.value.decode()]}) + "\n")
                n += 1
        out.flush()
        if n:
            try:
                c.commit()
                out.write(json.dumps({"committed": n}) + "\n")
            except Exception as e:  # noqa: BLE001 - a rebalance; the records come again
                out.write(json.dumps({"commit_failed": repr(e)}) + "\n")
            out.flush()
    c.close()


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--child-consumer":
    child_main(sys.argv[2:])
    sys.exit(0)

from broker_process import BrokerTestCase, _die_with_parent, unique_name, wait_until  # noqa: E402

from kafka import (KafkaAdminClient, KafkaConsumer, KafkaProducer, OffsetAndMetadata,  # noqa: E402
                   TopicPartition)
from kafka.admin import NewTopic  # noqa: E402
import kafka  # noqa: E402
import kafka.errors as Errors  # noqa: E402


class ClientLogTail(logging.Handler):
    """The last lines kafka-python logged at DEBUG, kept in memory and printed only when a test
    fails waiting for a group to settle: which request a stuck member was waiting on."""

    def __init__(self, lines=3000):
        super().__init__(logging.DEBUG)
        self.lines = collections.deque(maxlen=lines)
        self.setFormatter(logging.Formatter("%(asctime)s %(threadName)s %(name)s: %(message)s"))

    def emit(self, record):
        self.lines.append(record)  # formatted only if printed

    def dump(self, out, last=400):
        out.write("\n[kafka-python debug log, last %d lines]\n" % last)
        out.write("\n".join(self.format(r) for r in list(self.lines)[-last:]) + "\n")


CLIENT_LOG = ClientLogTail()
logging.getLogger("kafka").addHandler(CLIENT_LOG)
logging.getLogger("kafka").setLevel(logging.DEBUG)

GROUP_BROKER_PROPERTIES = {
    "offsets.topic.replication.factor": 1,  # one broker (as in Kafka's single-node config)
    "group.initial.rebalance.delay.ms": 0,
    "group.min.session.timeout.ms": 1000,
    "num.partitions": 1,
}


def make_admin(bootstrap):
    return KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000,
                            client_id=unique_name("kp-admin"))


# The group admin calls of kafka-python 2.x (Debian's 2.0.2) and 3.x (the project venv's) differ
# in names and shapes (3.0 renamed them and returns dicts); the tests see one view of both.
KAFKA_PYTHON_3 = int(kafka.__version__.split(".")[0]) >= 3


class GroupView:
    """A described group: state, protocol_type, protocol, members."""

    def __init__(self, group, state, protocol_type, protocol, members):
        self.group, self.state = group, state
        self.protocol_type, self.protocol, self.members = protocol_type, protocol, members


class MemberView:
    def __init__(self, member_id, client_id, client_host, subscription, partitions):
        self.member_id, self.client_id, self.client_host = member_id, client_id, client_host
        self.subscription, self.partitions = subscription, partitions  # [topic], [partition]


def admin_offsets(a, group, partitions=None):
    """{TopicPartition: OffsetAndMetadata} the group has committed."""
    if KAFKA_PYTHON_3:
        return a.list_group_offsets({group: partitions})[group]
    return a.list_consumer_group_offsets(group, partitions=partitions)


def admin_groups(a):
    """{group id: protocol type}."""
    if KAFKA_PYTHON_3:
        return {g["group_id"]: g["protocol_type"] for g in a.list_groups()}
    return dict(a.list_consumer_groups())


def admin_describe(a, group):
    if KAFKA_PYTHON_3:
        d = a.describe_groups([group])[group]
        members = [MemberView(m["member_id"], m["client_id"], m["client_host"],
                              (m.get("member_metadata") or {}).get("topics", []),
                              sorted(p for tp in (m.get("member_assignment") or {}).get(
                                  "assigned_partitions", []) for p in tp["partitions"]))
                   for m in d["members"]]
        return GroupView(d["group_id"], d["group_state"], d["protocol_type"],
                         d["protocol_data"], members)
    (d,) = a.describe_consumer_groups([group])
    if d.error_code != 0:
        raise AssertionError("DescribeGroups error %d" % d.error_code)
    members = [MemberView(m.member_id, m.client_id, m.client_host,
                          m.member_metadata.subscription if m.member_metadata else [],
                          sorted(tp.partition for tp in m.member_assignment.partitions())
                          if m.member_assignment else [])
               for m in d.members]
    return GroupView(d.group, d.state, d.protocol_type, d.protocol, members)


def admin_delete(a, group):
    """The outcome of deleting one group, by Kafka error name ("NoError" when deleted)."""
    if KAFKA_PYTHON_3:
        outcome = a.delete_groups([group])[group]
        return "NoError" if outcome == "OK" else str(outcome)
    ((name, error),) = a.delete_consumer_groups([group])
    assert name == group
    return error.__name__


def create_topic(bootstrap, topic, partitions):
    a = make_admin(bootstrap)
    try:
        a.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        a.close()


def produce(bootstrap, topic, partitions, per_partition, tag):
    """Sends per_partition records to each partition; returns {(partition, offset): value}."""
    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                      request_timeout_ms=15000, max_block_ms=15000, retries=3)
    try:
        futures = []
        for i in range(per_partition):
            for part in range(partitions):
                v = "%s-p%d-%d" % (tag, part, i)
                futures.append((v, p.send(topic, value=v.encode(), partition=part)))
        p.flush(timeout=30)
        out = {}
        for v, f in futures:
            m = f.get(timeout=30)
            out[(m.partition, m.offset)] = v
        return out
    finally:
        p.close(timeout=10)


def end_offsets(bootstrap, topic, partitions):
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, request_timeout_ms=30000)
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        return {tp.partition: off for tp, off in c.end_offsets(tps).items()}
    finally:
        c.close()


def committed_via_admin(bootstrap, group, topic=None, partitions=None):
    """{partition: (offset, metadata)} from the admin client's committed offsets."""
    a = make_admin(bootstrap)
    try:
        tps = None if partitions is None else [TopicPartition(topic, p) for p in partitions]
        res = admin_offsets(a, group, tps)
    finally:
        a.close()
    return {tp.partition: (om.offset, om.metadata) for tp, om in res.items()
            if topic is None or tp.topic == topic}


class Worker(threading.Thread):
    """A subscribed KafkaConsumer owned by one thread: poll, record, commit (manual unless
    enable_auto_commit), until stop(); then close() (LeaveGroup) from the same thread."""

    def __init__(self, bootstrap, group, topic, name, commit=True, **conf):
        super().__init__(name=name, daemon=True)
        self.conf = consumer_config(bootstrap, group, client_id=name, **conf)
        self.topic = topic
        self.manual_commit = commit and not self.conf.get("enable_auto_commit")
        self.processed = []  # (partition, offset, value)
        self.assignment = frozenset()
        self.assignment_history = []
        self.commit_failures = []
        self.error = None
        self.closed = threading.Event()
        self.ready = threading.Event()
        self._stop_event = threading.Event()  # (Thread has a _stop method)
        self._lock = threading.Lock()
        self.positions = {}

    def run(self):
        c = None
        try:
            c = KafkaConsumer(**self.conf)
            c.subscribe([self.topic])
            self.ready.set()
            while not self._stop_event.is_set():
                recs = c.poll(timeout_ms=200, max_records=100)
                batch = [(r.partition, r.offset, r.value.decode())
                         for rs in recs.values() for r in rs]
                assigned = frozenset(tp.partition for tp in c.assignment())
                with self._lock:
                    self.processed.extend(batch)
                    if assigned != self.assignment:
                        self.assignment = assigned
                        self.assignment_history.append((time.monotonic(), assigned))
                    self.positions = {tp.partition: c.position(tp) for tp in c.assignment()}
                if batch and self.manual_commit:
                    try:
                        c.commit()
                    except (Errors.CommitFailedError, Errors.RebalanceInProgressError,
                            Errors.IllegalGenerationError, Errors.UnknownMemberIdError) as e:
                        self.commit_failures.append(repr(e))
        except BaseException as e:  # noqa: BLE001 - reported by the test
            self.error = e
        finally:
            self.ready.set()
            if c is not None:
                try:
                    c.close()
                except BaseException as e:  # noqa: BLE001
                    self.error = self.error or e
            self.closed.set()

    def snapshot(self):
        with self._lock:
            return list(self.processed), self.assignment

    def stop(self, timeout=30):
        self._stop_event.set()
        if not self.closed.wait(timeout):
            raise AssertionError("%s did not close within %d s" % (self.name, timeout))
        self.join(5)


class ChildConsumer:
    """A group member in a child process, to be SIGKILLed (no LeaveGroup, no more
    heartbeats)."""

    def __init__(self, bootstrap, group, topic, client_id):
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--child-consumer", bootstrap, group,
             topic, client_id],
            stdout=subprocess.PIPE, stderr=self.stderr, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        self.processed = []
        self.assignment = frozenset()
        self.events = []
        self._lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            with self._lock:
                self.events.append(ev)
                if "rec" in ev:
                    self.processed.append(tuple(ev["rec"]))
                elif "assigned" in ev:
                    self.assignment = frozenset(ev["assigned"])

    def snapshot(self):
        with self._lock:
            return list(self.processed), self.assignment

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.reader.join(10)  # everything it wrote before dying is still in the pipe

    def stderr_tail(self, n=4000):
        self.stderr.seek(0)
        return self.stderr.read()[-n:].decode("utf-8", "replace")

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.stderr.close()


class GroupTestCase(BrokerTestCase):
    broker_properties = GROUP_BROKER_PROPERTIES

    def start_worker(self, group, topic, name=None, **kw):
        w = Worker(self.broker.bootstrap, group, topic, name or unique_name("kp-member"), **kw)
        w.start()
        self.addCleanup(self._stop_quietly, w)
        return w

    @staticmethod
    def _stop_quietly(w):
        try:
            w.stop(timeout=30)
        except AssertionError:
            pass

    def check_workers(self, *workers):
        for w in workers:
            self.assertIsNone(w.error, "%s failed: %r" % (w.name, w.error))

    def wait_assignment(self, members, partitions, timeout, message):
        """Waits until the members' assignments are disjoint, cover range(partitions), and are
        balanced (sizes differ by at most one). Returns {member name: partitions}."""
        def balanced():
            self.check_workers(*[m for m in members if isinstance(m, Worker)])
            sets = [m.snapshot()[1] for m in members]
            union = frozenset().union(*sets)
            if union != frozenset(range(partitions)) or sum(len(s) for s in sets) != partitions:
                return None
            sizes = [len(s) for s in sets]
            if max(sizes) - min(sizes) > 1:
                return None
            return {getattr(m, "name", "child"): sorted(s) for m, s in zip(members, sets)}
        try:
            return wait_until(balanced, timeout, 0.1, message)
        except AssertionError:
            faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
            CLIENT_LOG.dump(sys.stderr)
            raise AssertionError("%s; assignments now: %s" % (
                message, [(getattr(m, "name", "child"), sorted(m.snapshot()[1]))
                          for m in members]))


class RebalanceScenarioTest(GroupTestCase):
    """Three members split a 6-partition topic; one leaves, one dies; no record is skipped."""

    PARTITIONS = 6
    PER_PHASE = 40  # records per partition produced in each phase

    def test_split_leave_kill_without_losing_records(self):
        bs = self.broker.bootstrap
        topic = unique_name("kp-grp-scenario")
        group = unique_name("kp-grp-scenario")
        create_topic(bs, topic, self.PARTITIONS)
        produced = produce(bs, topic, self.PARTITIONS, self.PER_PHASE, "before")

        w1 = self.start_worker(group, topic, "kp-w1")
        w2 = self.start_worker(group, topic, "kp-w2")
        w3 = self.start_worker(group, topic, "kp-w3")
        split = self.wait_assignment([w1, w2, w3], self.PARTITIONS, 60,
                                     "three members to get 2 partitions each")
        for name, parts in split.items():
            self.assertEqual(len(parts), 2, "%s got %s" % (name, parts))
        produced.update(produce(bs, topic, self.PARTITIONS, self.PER_PHASE, "during-3"))

        # w3 leaves (close() sends LeaveGroup): the others take over before a session timeout
        w3.stop()
        t_left = time.monotonic()
        self.wait_assignment([w1, w2], self.PARTITIONS, SESSION_TIMEOUT_MS / 1000,
                             "w1/w2 to take over w3's partitions within the session timeout "
                             "after its LeaveGroup")
        takeover_after_leave = time.monotonic() - t_left
        produced.update(produce(bs, topic, self.PARTITIONS, self.PER_PHASE, "during-2"))

        # a member in another process joins, processes, and is SIGKILLed
        child = ChildConsumer(bs, group, topic, "kp-child")
        self.addCleanup(child.cleanup)
        try:
            self.wait_assignment([w1, w2, child], self.PARTITIONS, 60,
                                 "the child member to get its share")
            produced.update(produce(bs, topic, self.PARTITIONS, self.PER_PHASE, "during-child"))
            wait_until(lambda: len(child.snapshot()[0]) > 0, 30, 0.1,
                       "the child member to process records")
        except AssertionError:
            sys.stderr.write("\n[child stderr]\n%s\n" % child.stderr_tail())
            raise
        child_partitions = child.snapshot()[1]
        child.kill()
        t_killed = time.monotonic()
        self.wait_assignment([w1, w2], self.PARTITIONS, SESSION_TIMEOUT_MS / 1000 + 30,
                             "w1/w2 to take over the killed member's partitions")
        takeover_after_kill = time.monotonic() - t_killed
        self.assertGreater(takeover_after_kill, 3.0,
                           "partitions of a member that stopped heartbeating moved after %.1f s, "
                           "well before its %d ms session timeout could expire" % (
                               takeover_after_kill, SESSION_TIMEOUT_MS))

        produced.update(produce(bs, topic, self.PARTITIONS, self.PER_PHASE, "after"))

        def everything_processed():
            seen = set()
            for m in (w1, w2, w3, child):
                seen.update((p, o) for p, o, _ in m.snapshot()[0])
            return set(produced) <= seen
        try:
            wait_until(everything_processed, 60, 0.2, "every produced record to be processed")
        finally:
            w1.stop()
            w2.stop()
        self.check_workers(w1, w2, w3)

        all_processed = []
        for m in (w1, w2, w3, child):
            all_processed.extend(m.snapshot()[0])
        for p, o, v in all_processed:
            self.assertEqual(produced.get((p, o)), v, "record %d/%d" % (p, o))
        unique = {(p, o) for p, o, _ in all_processed}
        self.assertEqual(unique, set(produced), "records processed by nobody: %s" % sorted(
            set(produced) - unique)[:20])
        # every member committed what it processed: the group is at the end of every partition
        ends = end_offsets(bs, topic, self.PARTITIONS)
        committed = committed_via_admin(bs, group, topic)
        self.assertEqual({p: o for p, (o, _) in committed.items()}, ends)
        sys.stderr.write(
            "\n[group scenario] %d records, %d processed, %d duplicates (rebalances); takeover "
            "%.1f s after LeaveGroup, %.1f s after SIGKILL (child had %s); commit failures: "
            "w1 %d, w2 %d, w3 %d\n" % (
                len(produced), len(all_processed), len(all_processed) - len(unique),
                takeover_after_leave, takeover_after_kill, sorted(child_partitions),
                len(w1.commit_failures), len(w2.commit_failures), len(w3.commit_failures)))


class CommittedOffsetsTest(GroupTestCase):
    def consume_n(self, consumer, n, timeout=30):
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < n and time.monotonic() < deadline:
            for rs in consumer.poll(timeout_ms=200, max_records=n - len(out)).values():
                out.extend(rs)
        return out

    def new_consumer(self, group, **kw):
        c = KafkaConsumer(**consumer_config(self.broker.bootstrap, group,
                                            client_id=unique_name("kp-c"), **kw))
        self.addCleanup(c.close)
        return c

    def test_commit_close_resume_with_metadata(self):
        bs = self.broker.bootstrap
        topic = unique_name("kp-grp-resume")
        group = unique_name("kp-grp-resume")
        create_topic(bs, topic, 1)
        produced = produce(bs, topic, 1, 50, "resume")
        tp = TopicPartition(topic, 0)

        c1 = self.new_consumer(group)
        c1.subscribe([topic])
        got = self.consume_n(c1, 20)
        self.assertEqual([r.offset for r in got], list(range(20)))
        c1.commit({tp: OffsetAndMetadata(20, "processed up to 19")})
        self.assertEqual(c1.committed(tp), 20)
        self.assertEqual(c1.committed(tp, metadata=True),
                         OffsetAndMetadata(20, "processed up to 19"))
        c1.close()

        c2 = self.new_consumer(group)
        self.assertEqual(c2.committed(tp), 20, "committed() of an unassigned partition")
        c2.subscribe([topic])
        got = self.consume_n(c2, 30)
        self.assertEqual([r.offset for r in got], list(range(20, 50)),
                         "the new member must resume at the committed offset")
        self.assertEqual([r.value.decode() for r in got],
                         [produced[(0, o)] for o in range(20, 50)])
        c2.commit({tp: OffsetAndMetadata(50, "")})
        self.assertEqual(c2.committed(tp, metadata=True), OffsetAndMetadata(50, ""))
        c2.commit({tp: OffsetAndMetadata(45, "rewound \u00e9\u4e2d")})  # non-ASCII round trip
        self.assertEqual(committed_via_admin(bs, group, topic), {0: (45, "rewound \u00e9\u4e2d")})

    def test_auto_commit(self):
        bs = self.broker.bootstrap
        topic = unique_name("kp-grp-auto")
        group = unique_name("kp-grp-auto")
        create_topic(bs, topic, 2)
        produce(bs, topic, 2, 25, "auto")
        c = self.new_consumer(group, enable_auto_commit=True, auto_commit_interval_ms=200)
        c.subscribe([topic])
        self.assertEqual(len(self.consume_n(c, 50)), 50)
        positions = {tp.partition: c.position(tp) for tp in c.assignment()}
        self.assertEqual(positions, {0: 25, 1: 25})

        # the interval commit happens inside poll(): keep polling until it shows
        def auto_committed():
            c.poll(timeout_ms=100)
            return {p: o for p, (o, _) in committed_via_admin(bs, group, topic).items()} == \
                positions
        wait_until(auto_committed, 20, 0.05, "auto-commit of the consumed positions")

        produce(bs, topic, 2, 5, "auto-more")
        self.assertEqual(len(self.consume_n(c, 10)), 10)
        positions = {tp.partition: c.position(tp) for tp in c.assignment()}
        self.assertEqual(positions, {0: 30, 1: 30})
        c.close()  # commits the consumed positions before leaving
        self.assertEqual({p: o for p, (o, _) in committed_via_admin(bs, group, topic).items()},
                         positions)

    def test_simple_consumer_assign_commit(self):
        """group_id set, partitions assigned by hand (no subscribe, no JoinGroup): commits go
        in with generation -1 and no member id."""
        bs = self.broker.bootstrap
        topic = unique_name("kp-grp-simple")
        group = unique_name("kp-grp-simple")
        create_topic(bs, topic, 2)
        produce(bs, topic, 2, 10, "simple")
        tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
        c = self.new_consumer(group)
        c.assign(tps)
        self.assertIsNone(c.committed(tps[0]), "nothing committed yet")
        got = self.consume_n(c, 20)
        self.assertEqual(len(got), 20)
        c.commit()
        self.assertEqual(c.committed(tps[0]), 10)
        self.assertEqual(c.committed(tps[1]), 10)
        c.commit({tps[1]: OffsetAndMetadata(4, "by hand")})
        self.assertEqual(c.committed(tps[1], metadata=True), OffsetAndMetadata(4, "by hand"))
        c.close()

        c2 = self.new_consumer(group)
        c2.assign(tps)
        got = self.consume_n(c2, 6)
        self.assertEqual(sorted((r.partition, r.offset) for r in got),
                         [(1, o) for o in range(4, 10)], "resumes from the committed offsets")
        a = make_admin(bs)
        try:
            groups = admin_groups(a)
            self.assertIn(group, groups)
            self.assertEqual(groups[group], "", "a group only used for offsets has no protocol")
            desc = admin_describe(a, group)
            self.assertEqual(desc.state, "Empty")
            self.assertEqual(desc.members, [])
        finally:
            a.close()


class AdminAndLagTest(GroupTestCase):
    def test_list_describe_offsets_delete(self):
        bs = self.broker.bootstrap
        topic = unique_name("kp-grp-admin")
        group = unique_name("kp-grp-admin")
        create_topic(bs, topic, 4)
        produce(bs, topic, 4, 10, "admin")
        w1 = self.start_worker(group, topic, unique_name("kp-admin-w1"))
        w2 = self.start_worker(group, topic, unique_name("kp-admin-w2"))
        split = self.wait_assignment([w1, w2], 4, 60, "two members to split 4 partitions")
        wait_until(lambda: len(w1.snapshot()[0]) + len(w2.snapshot()[0]) >= 40, 30, 0.1,
                   "the members to consume everything")
        # the workers commit after each batch; wait until the commits are all in
        wait_until(lambda: {p: o for p, (o, _) in committed_via_admin(bs, group, topic).items()}
                   == {0: 10, 1: 10, 2: 10, 3: 10}, 20, 0.2, "commits of all 40 records")

        a = make_admin(bs)
        self.addCleanup(a.close)
        groups = admin_groups(a)
        self.assertEqual(groups.get(group), "consumer")

        desc = admin_describe(a, group)
        self.assertEqual(desc.group, group)
        self.assertEqual(desc.state, "Stable")
        self.assertEqual(desc.protocol_type, "consumer")
        self.assertEqual(desc.protocol, "range")
        by_client = {m.client_id: m for m in desc.members}
        self.assertEqual(sorted(by_client), sorted([w1.name, w2.name]))
        for w in (w1, w2):
            m = by_client[w.name]
            self.assertTrue(m.member_id.startswith(w.name + "-"), m.member_id)
            self.assertIn("127.0.0.1", m.client_host)
            self.assertEqual(m.subscription, [topic])
            self.assertEqual(m.partitions, split[w.name])

        offsets = admin_offsets(a, group)
        self.assertEqual({(tp.topic, tp.partition): om.offset for tp, om in offsets.items()},
                         {(topic, p): 10 for p in range(4)})

        # a group with members cannot be deleted
        self.assertEqual(admin_delete(a, group), "NonEmptyGroupError")
        self.assertEqual(len(admin_offsets(a, group)), 4)

        w1.stop()
        w2.stop()
        self.check_workers(w1, w2)
        desc = admin_describe(a, group)
        self.assertEqual((desc.state, desc.members), ("Empty", []))
        self.assertEqual(admin_delete(a, group), "NoError")
        self.assertEqual(admin_offsets(a, group), {}, "offsets of a deleted group")
        self.assertNotIn(group, admin_groups(a))
        desc = admin_describe(a, group)
        self.assertEqual(desc.state, "Dead")
        # and a new member of the same group name starts from scratch (auto_offset_reset)
        c = KafkaConsumer(**consumer_config(bs, group, client_id=unique_name("kp-after-delete")))
        try:
            c.subscribe([topic])
            got = []
            deadline = time.monotonic() + 30
            while len(got) < 40 and time.monotonic() < deadline:
                for rs in c.poll(timeout_ms=200).values():
                    got.extend(rs)
            self.assertEqual(len(got), 40)
        finally:
            c.close()

    def test_delete_unknown_group(self):
        a = make_admin(self.broker.bootstrap)
        self.addCleanup(a.close)
        group = unique_name("kp-grp-never")
        self.assertEqual(admin_delete(a, group), "GroupIdNotFoundError")

    def test_lag_per_partition(self):
        """What `kafka-consumer-groups --describe` shows: committed offset, log end offset and
        their difference per partition."""
        bs = self.broker.bootstrap
        topic = unique_name("kp-grp-lag")
        group = unique_name("kp-grp-lag")
        create_topic(bs, topic, 3)
        p = KafkaProducer(bootstrap_servers=bs, acks="all", request_timeout_ms=15000)
        try:
            for part, n in ((0, 10), (1, 20), (2, 30)):
                for i in range(n):
                    p.send(topic, value=b"lag-%d-%d" % (part, i), partition=part)
            p.flush(timeout=30)
        finally:
            p.close(timeout=10)
        c = KafkaConsumer(**consumer_config(bs, group, client_id=unique_name("kp-lag")))
        try:
            c.subscribe([topic])
            got = []
            deadline = time.monotonic() + 30
            while len(got) < 60 and time.monotonic() < deadline:
                for rs in c.poll(timeout_ms=200).values():
                    got.extend(rs)
            self.assertEqual(len(got), 60)
            # processed partition 0 up to offset 4 and all of partition 1; nothing of 2 committed
            c.commit({TopicPartition(topic, 0): OffsetAndMetadata(5, ""),
                      TopicPartition(topic, 1): OffsetAndMetadata(20, "")})
        finally:
            c.close()
        p = KafkaProducer(bootstrap_servers=bs, acks="all", request_timeout_ms=15000)
        try:
            for i in range(7):
                p.send(topic, value=b"late-%d" % i, partition=1)
            p.flush(timeout=30)
        finally:
            p.close(timeout=10)

        committed = committed_via_admin(bs, group, topic)
        ends = end_offsets(bs, topic, 3)
        self.assertEqual(ends, {0: 10, 1: 27, 2: 30})
        self.assertEqual({p: o for p, (o, _) in committed.items()}, {0: 5, 1: 20},
                         "only committed partitions are listed")
        lag = {p: ends[p] - o for p, (o, _) in committed.items()}
        self.assertEqual(lag, {0: 5, 1: 7})
        # asked for explicitly, the uncommitted partition reads -1 (shown as "-")
        explicit = committed_via_admin(bs, group, topic, partitions=[0, 1, 2])
        self.assertEqual({p: o for p, (o, _) in explicit.items()}, {0: 5, 1: 20, 2: -1})


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/python3
"""Classic consumer groups over raw sockets (kafka_wire.py): the group coordinator's answers,
error codes and state machine as Apache Kafka defines them.

Run: /usr/bin/python3 integration/test_groups_protocol.py [-v] [TestClass.test_name]

Every member is a separate connection; a JoinGroup (or a follower's SyncGroup) that the broker
parks until the rebalance completes is sent with send_async and read later, with a bounded wait.
Versions are mixed on purpose: each API is exercised at a classic and at a flexible version.
"""

import os
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kafka_wire as kw  # noqa: E402
from broker_process import BrokerTestCase, unique_name, wait_until  # noqa: E402

TOPIC_PARTITIONS = 4
MIN_SESSION_MS = 2000
MAX_SESSION_MS = 60000
METADATA_MAX = 100
# a JoinGroup/SyncGroup the broker parks is read with this bound (s)
PARKED_TIMEOUT = 30.0

BASE_PROPERTIES = {
    "offsets.topic.replication.factor": 1,  # one broker (as in Kafka's single-node config)
    "group.initial.rebalance.delay.ms": 0,
    "group.min.session.timeout.ms": MIN_SESSION_MS,
    "group.max.session.timeout.ms": MAX_SESSION_MS,
    "offset.metadata.max.bytes": METADATA_MAX,
    "num.partitions": 1,
}


class Member:
    """One group member on its own connection."""

    def __init__(self, test, group, join_version=5, instance_id=None, topics=None,
                 session_timeout_ms=10000, rebalance_timeout_ms=30000, protocols=None,
                 client_id=None):
        self.test = test
        self.group = group
        self.join_version = join_version
        self.instance_id = instance_id
        self.session_timeout_ms = session_timeout_ms
        self.rebalance_timeout_ms = rebalance_timeout_ms
        self.client_id = client_id or unique_name("raw-member")
        self.conn = test.connect(timeout=PARKED_TIMEOUT + 10, client_id=self.client_id)
        self.subscription = kw.encode_consumer_subscription(topics or [test.topic])
        self.protocols = protocols or [("range", self.subscription)]
        self.member_id = ""
        self.generation = -1
        self.last_join = None

    def join_kwargs(self):
        kw_ = dict(member_id=self.member_id, protocols=self.protocols,
                   session_timeout_ms=self.session_timeout_ms,
                   rebalance_timeout_ms=self.rebalance_timeout_ms)
        if self.join_version >= 5:
            kw_["group_instance_id"] = self.instance_id
        return kw_

    def join_async(self):
        return self.conn.join_group_async(self.join_version, self.group, **self.join_kwargs())

    def record_join(self, res):
        self.last_join = res
        if res["error_code"] == 0:
            self.member_id = res["member_id"]
            self.generation = res["generation_id"]
        return res

    def get_member_id(self):
        """JoinGroup v4+ without a member id: MEMBER_ID_REQUIRED carrying the id to use (a
        static member is admitted directly instead: then the join is complete already)."""
        res = self.test.retry_coordinator(lambda: self.conn.join_group(
            self.join_version, self.group, **self.join_kwargs()))
        if res["error_code"] == kw.MEMBER_ID_REQUIRED:
            self.test.assertTrue(res["member_id"], "MEMBER_ID_REQUIRED without a member id")
            self.member_id = res["member_id"]
            return None
        self.test.assertEqual(res["error_code"], 0, "first JoinGroup: %r" % (res,))
        return self.record_join(res)

    def join(self):
        """Joins (getting a member id first if needed) and waits for the JoinGroup response."""
        if not self.member_id and self.join_version >= 4:
            res = self.get_member_id()
            if res is not None:
                return res
        res = self.test.retry_coordinator(lambda: self.join_async().result(PARKED_TIMEOUT))
        self.test.assertEqual(res["error_code"], 0, "JoinGroup: %r" % (res,))
        return self.record_join(res)

    def sync(self, version=3, assignments=None, generation=None, protocol_name="range"):
        res = self.sync_async(version, assignments, generation, protocol_name).result(
            PARKED_TIMEOUT)
        return res

    def sync_async(self, version=3, assignments=None, generation=None, protocol_name="range"):
        kw_ = {}
        if version >= 3:
            kw_["group_instance_id"] = self.instance_id
        if version >= 5:
            kw_["protocol_type"] = "consumer"
            kw_["protocol_name"] = protocol_name
        return self.conn.sync_group_async(
            version, self.group, self.generation if generation is None else generation,
            self.member_id, {k: v for k, v in (assignments or {}).items()}, **kw_)

    def heartbeat(self, version=3, generation=None, member_id=None):
        instance = self.instance_id if version >= 3 else None
        return self.conn.heartbeat(version, self.group,
                                   self.generation if generation is None else generation,
                                   self.member_id if member_id is None else member_id, instance)

    def commit(self, offsets, version=7, generation=None, member_id=None):
        kw_ = dict(generation_id=self.generation if generation is None else generation,
                   member_id=self.member_id if member_id is None else member_id)
        if version >= 7:
            kw_["group_instance_id"] = self.instance_id
        return self.conn.offset_commit(version, self.group, {self.test.topic: offsets}, **kw_)

    def leave(self, version=3):
        if version >= 3:
            return self.conn.leave_group(version, self.group,
                                         members=[(self.member_id, self.instance_id)])
        return self.conn.leave_group(version, self.group, self.member_id)


class GroupTestBase(BrokerTestCase):
    broker_properties = BASE_PROPERTIES

    @classmethod
    def prepare_class(cls):
        cls.topic = unique_name("grp-raw")
        with kw.Connection.to(cls.broker.bootstrap) as c:
            c.create_topic_or_fail(cls.topic, TOPIC_PARTITIONS)
            cls.node_id = c.metadata([])["brokers"][0]["node_id"]

    def connect(self, timeout=15.0, client_id="runnel-it-raw"):
        c = kw.Connection.to(self.broker.bootstrap, timeout=timeout, client_id=client_id)
        self.addCleanup(c.close)
        return c

    def retry_coordinator(self, call, timeout=20.0):
        """Runs call() again while its answer's error_code says the coordinator is loading or
        not available yet (retriable in every client)."""
        deadline = time.monotonic() + timeout
        while True:
            res = call()
            if res.get("error_code") not in kw.COORDINATOR_RETRIABLE or \
                    time.monotonic() > deadline:
                return res
            time.sleep(0.2)

    def wait_coordinator(self, group, conn=None):
        c = conn or self.connect()
        res = self.retry_coordinator(lambda: c.find_coordinator(group, version=1))
        self.assertEqual(res["error_code"], 0, "FindCoordinator(%s): %r" % (group, res))
        return res

    def member(self, group, **kw_):
        return Member(self, group, **kw_)

    def stable_group(self, group, n=1, join_version=5, **kw_):
        """n members that joined one after the other (each join a rebalance the earlier
        members take part in, as real clients do) and synced; returns them, leader first."""
        self.wait_coordinator(group)
        members = []
        for _ in range(n):
            m = self.member(group, join_version=join_version, **kw_)
            pending = {}
            if join_version >= 4 and m.instance_id is None:
                self.assertIsNone(m.get_member_id())
                pending[m] = m.join_async()
            else:
                pending[m] = None
            if members:
                if pending[m] is None:
                    pending[m] = m.join_async()
                # the earlier members learn about the rebalance from their heartbeats
                wait_until(lambda: members[0].heartbeat() == kw.REBALANCE_IN_PROGRESS, 10, 0.1,
                           "REBALANCE_IN_PROGRESS after a new member joined")
                for old in members:
                    pending[old] = old.join_async()
            members.append(m)
            for x in members:
                res = pending[x].result(PARKED_TIMEOUT) if pending[x] else None
                if res is None:  # a lone first member without MEMBER_ID_REQUIRED
                    res = x.join()
                x.record_join(res)
                self.assertEqual(res["error_code"], 0, res)
            gens = {x.generation for x in members}
            self.assertEqual(len(gens), 1, "members in different generations: %s" % gens)
            leader_id = members[0].last_join["leader"]
            members.sort(key=lambda x: x.member_id != leader_id)
            self.assertEqual(members[0].member_id, leader_id, "the leader is not a member")
            self.assertEqual(sorted(x["member_id"] for x in members[0].last_join["members"]),
                             sorted(x.member_id for x in members))
            parts = list(range(TOPIC_PARTITIONS))
            a = {x.member_id: kw.encode_consumer_assignment({self.topic: parts[i::len(members)]})
                 for i, x in enumerate(members)}
            follower_syncs = [x.sync_async() for x in members[1:]]
            self.assertEqual(members[0].sync(assignments=a)["error_code"], 0)
            for x, p in zip(members[1:], follower_syncs):
                res = p.result(PARKED_TIMEOUT)
                self.assertEqual(res["error_code"], 0, res)
                self.assertEqual(res["assignment"], a[x.member_id])
        return members

    def fetch_offsets(self, group, partitions=None, version=5):
        c = self.connect()
        topics = {self.topic: partitions if partitions is not None
                  else list(range(TOPIC_PARTITIONS))}
        deadline = time.monotonic() + 20
        while True:
            err, parts = c.offset_fetch(version, group, topics)
            if err not in kw.COORDINATOR_RETRIABLE or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(err, 0, "OffsetFetch v%d(%s) group error" % (version, group))
        return {p: (d["offset"], d["metadata"], d["error_code"]) for (t, p), d in parts.items()}

    def simple_commit(self, group, offsets, version=2):
        """Commits without group membership (generation -1, no member id), as a consumer that
        assign()s its partitions does."""
        c = self.connect()
        res = None
        deadline = time.monotonic() + 20
        while True:
            res = c.offset_commit(version, group, {self.topic: offsets})
            if not set(res.values()) & set(kw.COORDINATOR_RETRIABLE) or \
                    time.monotonic() > deadline:
                return res
            time.sleep(0.2)

    def describe(self, group, version=4):
        c = self.connect()
        return c.describe_groups(version, [group])[group]


class FindCoordinatorTest(GroupTestBase):
    def test_find_coordinator_classic_and_flexible(self):
        group = unique_name("fc")
        c = self.connect()
        self.wait_coordinator(group, c)
        for version in (0, 1, 2, 3):
            with self.subTest(version=version):
                res = c.find_coordinator(group, version=version)
                self.assertEqual(res["error_code"], 0)
                self.assertEqual((res["node_id"], res["host"], res["port"]),
                                 (self.node_id, "127.0.0.1", self.broker.port))

    def test_find_coordinator_v4_batched(self):
        groups = [unique_name("fc-batch") for _ in range(3)]
        c = self.connect()
        self.wait_coordinator(groups[0], c)
        for version in (4, 5, 6):
            with self.subTest(version=version):
                deadline = time.monotonic() + 20
                while True:
                    res = c.find_coordinators(groups, version=version)
                    if all(x["error_code"] == 0 for x in res) or time.monotonic() > deadline:
                        break
                    time.sleep(0.2)
                self.assertEqual(sorted(x["key"] for x in res), sorted(groups))
                for x in res:
                    self.assertEqual(x["error_code"], 0, x)
                    self.assertEqual((x["node_id"], x["host"], x["port"]),
                                     (self.node_id, "127.0.0.1", self.broker.port))


class MembershipTest(GroupTestBase):
    def test_member_id_required_then_join_sync_heartbeat_leave(self):
        group = unique_name("join")
        self.wait_coordinator(group)
        m = self.member(group, join_version=4)
        res = m.conn.join_group(4, group, **m.join_kwargs())
        self.assertEqual(res["error_code"], kw.MEMBER_ID_REQUIRED)
        self.assertTrue(res["member_id"], "MEMBER_ID_REQUIRED must carry the member id to use")
        self.assertTrue(res["member_id"].startswith(m.client_id + "-"),
                        "Kafka's member ids are <client id>-<uuid>: %r" % res["member_id"])
        m.member_id = res["member_id"]
        res = m.join()
        self.assertEqual(res["member_id"], m.member_id)
        self.assertEqual(res["generation_id"], 1, "a new group's first generation")
        self.assertEqual(res["leader"], m.member_id)
        self.assertEqual(res["protocol_name"], "range")
        self.assertEqual([(x["member_id"], x["metadata"]) for x in res["members"]],
                         [(m.member_id, m.subscription)])
        assignment = kw.encode_consumer_assignment({self.topic: [0, 1, 2, 3]})
        sres = m.sync(version=3, assignments={m.member_id: assignment})
        self.assertEqual(sres["error_code"], 0)
        self.assertEqual(sres["assignment"], assignment)
        self.assertEqual(m.heartbeat(version=0), 0)
        self.assertEqual(m.heartbeat(version=4), 0)

        d = self.describe(group, version=4)
        self.assertEqual(d["error_code"], 0)
        self.assertEqual((d["state"], d["protocol_type"], d["protocol_data"]),
                         ("Stable", "consumer", "range"))
        self.assertEqual(len(d["members"]), 1)
        dm = d["members"][0]
        self.assertEqual(dm["member_id"], m.member_id)
        self.assertEqual(dm["client_id"], m.client_id)
        self.assertIn("127.0.0.1", dm["client_host"])
        self.assertEqual(dm["metadata"], m.subscription)
        self.assertEqual(dm["assignment"], assignment)

        lres = m.leave(version=3)
        self.assertEqual(lres["error_code"], 0)
        self.assertEqual([(x["member_id"], x["error_code"]) for x in lres["members"]],
                         [(m.member_id, 0)])
        d = self.describe(group, version=5)
        self.assertEqual((d["error_code"], d["state"], d["members"]), (0, "Empty", []))
        # the member is gone
        self.assertEqual(m.heartbeat(version=3), kw.UNKNOWN_MEMBER_ID)

    def test_second_member_triggers_rebalance(self):
        group = unique_name("rebalance")
        (a,) = self.stable_group(group, join_version=7)
        self.assertEqual(a.generation, 1)
        self.assertEqual(a.heartbeat(version=4), 0)

        b = self.member(group, join_version=7)
        self.assertIsNone(b.get_member_id(), "a new dynamic member must get MEMBER_ID_REQUIRED")
        b_join = b.join_async()  # parked until a rejoins
        # the group is now rebalancing: a's heartbeat (still generation 1) says so
        codes = []

        def rebalancing():
            codes.append(a.heartbeat(version=4))
            return codes[-1] == kw.REBALANCE_IN_PROGRESS
        wait_until(rebalancing, 10, 0.2, "REBALANCE_IN_PROGRESS for the old member's heartbeat")
        self.assertTrue(set(codes) <= {0, kw.REBALANCE_IN_PROGRESS}, codes)
        self.assertFalse(b_join.ready(0), "JoinGroup answered before the old member rejoined")

        a_join = a.join_async()
        ra = a.record_join(a_join.result(PARKED_TIMEOUT))
        rb = b.record_join(b_join.result(PARKED_TIMEOUT))
        for r in (ra, rb):
            self.assertEqual(r["error_code"], 0, r)
            self.assertEqual(r["generation_id"], 2)
            self.assertEqual(r["protocol_type"], "consumer")  # v7+
            self.assertEqual(r["protocol_name"], "range")
            self.assertEqual(r["leader"], ra["leader"])
        self.assertIn(ra["leader"], (a.member_id, b.member_id))
        leader, follower = (a, b) if ra["leader"] == a.member_id else (b, a)
        self.assertEqual(sorted(x["member_id"] for x in leader.last_join["members"]),
                         sorted([a.member_id, b.member_id]), "the leader sees every member")
        self.assertEqual(follower.last_join["members"], [], "followers get no member list")

        asg = {a.member_id: kw.encode_consumer_assignment({self.topic: [0, 1]}),
               b.member_id: kw.encode_consumer_assignment({self.topic: [2, 3]})}
        f_sync = follower.sync_async(version=5)  # waits for the leader's SyncGroup
        l_res = leader.sync(version=5, assignments=asg)
        f_res = f_sync.result(PARKED_TIMEOUT)
        for who, r in ((leader, l_res), (follower, f_res)):
            self.assertEqual(r["error_code"], 0, r)
            self.assertEqual(r["assignment"], asg[who.member_id])
            self.assertEqual((r["protocol_type"], r["protocol_name"]), ("consumer", "range"))

        # stale generation, unknown member
        self.assertEqual(a.heartbeat(version=4), 0)
        self.assertEqual(a.heartbeat(version=4, generation=1), kw.ILLEGAL_GENERATION)
        self.assertEqual(a.heartbeat(version=1, generation=1), kw.ILLEGAL_GENERATION)
        self.assertEqual(a.heartbeat(version=4, member_id="no-such-member"),
                         kw.UNKNOWN_MEMBER_ID)
        self.assertEqual(a.sync(version=3, generation=1)["error_code"], kw.ILLEGAL_GENERATION)
        self.assertEqual(a.sync(version=5, generation=1)["error_code"], kw.ILLEGAL_GENERATION)

        # commits: the current generation works, a stale one is refused and changes nothing
        self.assertEqual(a.commit({0: (5, "gen2")}, version=7), {(self.topic, 0): 0})
        self.assertEqual(a.commit({0: (9, "stale")}, version=7, generation=1),
                         {(self.topic, 0): kw.ILLEGAL_GENERATION})
        self.assertEqual(a.commit({0: (9, "stale")}, version=8, generation=1),
                         {(self.topic, 0): kw.ILLEGAL_GENERATION})
        self.assertEqual(a.commit({1: (9, "x")}, version=2, member_id="no-such-member"),
                         {(self.topic, 1): kw.UNKNOWN_MEMBER_ID})
        got = self.fetch_offsets(group, [0, 1], version=5)
        self.assertEqual(got[0], (5, "gen2", 0))
        self.assertEqual((got[1][0], got[1][2]), (-1, 0))

        # b leaves: a is told to rejoin, and the next generation has a alone
        self.assertEqual(b.leave(version=4)["error_code"], 0)
        wait_until(lambda: a.heartbeat(version=4) == kw.REBALANCE_IN_PROGRESS, 10, 0.2,
                   "REBALANCE_IN_PROGRESS after the other member left")
        r = a.join()
        self.assertEqual(r["generation_id"], 3)
        self.assertEqual([x["member_id"] for x in r["members"]], [a.member_id])

    def test_invalid_session_timeout(self):
        group = unique_name("session")
        self.wait_coordinator(group)
        for version in (0, 4, 6):
            for timeout in (MIN_SESSION_MS - 1, MAX_SESSION_MS + 1):
                with self.subTest(version=version, session_timeout_ms=timeout):
                    m = self.member(group, join_version=version, session_timeout_ms=timeout)
                    res = self.retry_coordinator(lambda: m.conn.join_group(
                        version, group, **m.join_kwargs()))
                    self.assertEqual(res["error_code"], kw.INVALID_SESSION_TIMEOUT)
        # the limits themselves are fine
        m = self.member(group, join_version=5, session_timeout_ms=MIN_SESSION_MS)
        self.assertEqual(m.join()["error_code"], 0)

    def test_empty_group_id(self):
        c = self.connect()
        m = self.member("", join_version=5)
        self.assertEqual(c.join_group(5, "", **m.join_kwargs())["error_code"],
                         kw.INVALID_GROUP_ID)
        self.assertEqual(c.join_group(0, "", protocols=m.protocols)["error_code"],
                         kw.INVALID_GROUP_ID)
        self.assertEqual(c.heartbeat(1, "", 1, "m"), kw.INVALID_GROUP_ID)
        self.assertEqual(c.sync_group(1, "", 1, "m")["error_code"], kw.INVALID_GROUP_ID)
        self.assertEqual(c.leave_group(1, "", "m")["error_code"], kw.INVALID_GROUP_ID)

    def test_unknown_member_in_existing_group(self):
        group = unique_name("unknown-member")
        (a,) = self.stable_group(group)
        self.assertEqual(a.heartbeat(version=1, member_id="nobody"), kw.UNKNOWN_MEMBER_ID)
        self.assertEqual(a.conn.sync_group(1, group, a.generation, "nobody")["error_code"],
                         kw.UNKNOWN_MEMBER_ID)
        # a known member id that never joined with JoinGroup v4+ is rejected too
        res = a.conn.join_group(5, group, member_id="nobody", protocols=a.protocols,
                                session_timeout_ms=10000, rebalance_timeout_ms=30000)
        self.assertEqual(res["error_code"], kw.UNKNOWN_MEMBER_ID)
        self.assertEqual(a.heartbeat(), 0, "the real member is unaffected")

    def test_inconsistent_protocols(self):
        group = unique_name("inconsistent")
        (a,) = self.stable_group(group)
        b = self.member(group, join_version=5, protocols=[("no-such-assignor", b"")])
        res = self.retry_coordinator(lambda: b.conn.join_group(5, group, **b.join_kwargs()))
        if res["error_code"] == kw.MEMBER_ID_REQUIRED:
            b.member_id = res["member_id"]
            res = b.conn.join_group(5, group, **b.join_kwargs())
        self.assertEqual(res["error_code"], kw.INCONSISTENT_GROUP_PROTOCOL)
        self.assertEqual(a.heartbeat(), 0)

    def test_static_membership_replacement_fences_old_member(self):
        group = unique_name("static")
        self.wait_coordinator(group)
        instance = "instance-1"
        old = self.member(group, join_version=5, instance_id=instance)
        res = old.join()
        self.assertEqual(res["leader"], old.member_id)
        a = {old.member_id: kw.encode_consumer_assignment({self.topic: [0, 1, 2, 3]})}
        self.assertEqual(old.sync(version=3, assignments=a)["error_code"], 0)
        self.assertEqual(old.heartbeat(version=3), 0)
        d = self.describe(group, version=4)
        self.assertEqual([(x["member_id"], x["group_instance_id"]) for x in d["members"]],
                         [(old.member_id, instance)])

        # the same instance id joins again without a member id (a restarted process)
        new = self.member(group, join_version=5, instance_id=instance)
        res = new.join()
        self.assertEqual(res["error_code"], 0)
        self.assertNotEqual(new.member_id, old.member_id, "the replacement gets a new member id")
        # the old member id is fenced
        self.assertEqual(old.heartbeat(version=3), kw.FENCED_INSTANCE_ID)
        self.assertEqual(old.heartbeat(version=4), kw.FENCED_INSTANCE_ID)
        self.assertEqual(old.commit({0: 1}, version=7), {(self.topic, 0): kw.FENCED_INSTANCE_ID})
        self.assertIn(new.heartbeat(version=4), (0, kw.REBALANCE_IN_PROGRESS))
        d = self.describe(group, version=5)
        self.assertEqual([(x["member_id"], x["group_instance_id"]) for x in d["members"]],
                         [(new.member_id, instance)], "one member for the instance id")

    def test_join_group_all_versions(self):
        """JoinGroup v0..v9 each admit a member (v4+ after MEMBER_ID_REQUIRED)."""
        for version in range(0, 10):
            with self.subTest(version=version):
                group = unique_name("join-v%d" % version)
                self.wait_coordinator(group)
                m = self.member(group, join_version=version)
                res = m.join()
                self.assertEqual((res["error_code"], res["generation_id"], res["leader"]),
                                 (0, 1, m.member_id))
                self.assertEqual(res["protocol_name"], "range")
                self.assertEqual(m.sync(version=min(version, 5), assignments={
                    m.member_id: b""})["error_code"], 0)
                self.assertEqual(m.heartbeat(version=min(version, 4)), 0)
                self.assertEqual(m.leave(version=min(version, 5))["error_code"], 0)


class InitialRebalanceDelayTest(GroupTestBase):
    """group.initial.rebalance.delay.ms: the first rebalance of a new group waits for more
    members; a second member joining within the delay is part of generation 1."""

    DELAY_MS = 4000
    broker_properties = dict(BASE_PROPERTIES, **{"group.initial.rebalance.delay.ms": DELAY_MS})

    def test_member_joining_within_the_delay_is_in_the_first_generation(self):
        group = unique_name("delay")
        self.wait_coordinator(group)
        a = self.member(group, join_version=5, rebalance_timeout_ms=60000)
        b = self.member(group, join_version=5, rebalance_timeout_ms=60000)
        self.assertIsNone(a.get_member_id())
        a_join = a.join_async()
        self.assertIsNone(b.get_member_id())
        b_join = b.join_async()
        ra = a.record_join(a_join.result(self.DELAY_MS / 1000 + PARKED_TIMEOUT))
        self.assertEqual((ra["error_code"], ra["generation_id"]), (0, 1))
        if ra["leader"] == a.member_id:
            # (checked before waiting for b: without the delay, b's JoinGroup would be parked
            # until a rejoined or its rebalance timeout passed)
            self.assertEqual(sorted(x["member_id"] for x in ra["members"]),
                             sorted([a.member_id, b.member_id]),
                             "the first generation was formed without the member that joined "
                             "within group.initial.rebalance.delay.ms")
        rb = b.record_join(b_join.result(PARKED_TIMEOUT))
        self.assertEqual((rb["error_code"], rb["generation_id"]), (0, 1),
                         "both members belong to the first generation")
        leader = a if ra["leader"] == a.member_id else b
        self.assertEqual(sorted(x["member_id"] for x in leader.last_join["members"]),
                         sorted([a.member_id, b.member_id]))


class OffsetsTest(GroupTestBase):
    def test_offset_fetch_without_commits(self):
        group = unique_name("no-commits")
        self.wait_coordinator(group)
        for version in (1, 5, 6, 8):
            with self.subTest(version=version):
                got = self.fetch_offsets(group, [0, 3], version=version)
                self.assertEqual(sorted(got), [0, 3])
                for p, (offset, metadata, err) in got.items():
                    self.assertEqual((offset, err), (-1, 0), "partition %d" % p)
                    self.assertIn(metadata, ("", None))
        # all topics (null topic list, v2+): nothing committed, nothing listed
        c = self.connect()
        err, parts = c.offset_fetch(3, group, None)
        self.assertEqual((err, parts), (0, {}))

    def test_simple_commit_and_fetch_across_versions(self):
        group = unique_name("simple")
        self.wait_coordinator(group)
        self.assertEqual(self.simple_commit(group, {0: (10, "v2"), 1: (11, "")}, version=2),
                         {(self.topic, 0): 0, (self.topic, 1): 0})
        self.assertEqual(self.fetch_offsets(group, [0, 1], version=1),
                         {0: (10, "v2", 0), 1: (11, "", 0)})
        # flexible OffsetCommit v8 with a leader epoch; OffsetFetch v6 and v8 read it back
        c = self.connect()
        res = c.offset_commit(8, group, {self.topic: {2: (12, "v8", 3)}})
        self.assertEqual(res, {(self.topic, 2): 0})
        got6 = self.fetch_offsets(group, [0, 1, 2], version=6)
        self.assertEqual(got6, {0: (10, "v2", 0), 1: (11, "", 0), 2: (12, "v8", 0)})
        err, parts = c.offset_fetch(6, group, {self.topic: [2]})
        self.assertEqual(parts[(self.topic, 2)]["leader_epoch"], 3)
        self.assertEqual(self.fetch_offsets(group, [2], version=8), {2: (12, "v8", 0)})
        # all committed partitions (null topics)
        err, parts = c.offset_fetch(5, group, None)
        self.assertEqual(err, 0)
        self.assertEqual({p: d["offset"] for (t, p), d in parts.items()}, {0: 10, 1: 11, 2: 12})
        # a later commit wins; v0 (no generation at all) works too
        self.assertEqual(c.offset_commit(0, group, {self.topic: {0: (20, "v0")}}),
                         {(self.topic, 0): 0})
        self.assertEqual(self.fetch_offsets(group, [0], version=5), {0: (20, "v0", 0)})
        # the group exists now: Empty, no protocol type
        d = self.describe(group, version=0)
        self.assertEqual((d["error_code"], d["state"], d["members"]), (0, "Empty", []))

    def test_offset_metadata_too_large(self):
        group = unique_name("big-metadata")
        self.wait_coordinator(group)
        ok = "m" * METADATA_MAX
        too_big = "M" * (METADATA_MAX + 1)
        res = self.simple_commit(group, {0: (1, ok), 1: (2, too_big)}, version=2)
        self.assertEqual(res, {(self.topic, 0): 0, (self.topic, 1): kw.OFFSET_METADATA_TOO_LARGE})
        got = self.fetch_offsets(group, [0, 1])
        self.assertEqual(got[0][:2], (1, ok))
        self.assertEqual(got[1][0], -1, "the partition with too large metadata was committed")
        # also from a group member, flexible version
        (m,) = self.stable_group(unique_name("big-metadata-member"))
        self.assertEqual(m.commit({3: (4, too_big)}, version=8),
                         {(self.topic, 3): kw.OFFSET_METADATA_TOO_LARGE})

    def test_commit_to_unknown_topic(self):
        group = unique_name("unknown-topic")
        self.wait_coordinator(group)
        c = self.connect()
        res = c.offset_commit(2, group, {unique_name("no-such-topic"): {0: 1}})
        self.assertEqual(list(res.values()), [kw.UNKNOWN_TOPIC_OR_PARTITION])
        res = c.offset_commit(2, group, {self.topic: {TOPIC_PARTITIONS + 5: 1, 0: 1}})
        self.assertEqual(res, {(self.topic, TOPIC_PARTITIONS + 5): kw.UNKNOWN_TOPIC_OR_PARTITION,
                               (self.topic, 0): 0})

    def test_stale_generation_commit_leaves_offset_alone(self):
        group = unique_name("stale-commit")
        members = self.stable_group(group, n=2, join_version=6)
        a = members[0]
        gen = a.generation
        self.assertEqual(a.commit({1: (7, "good")}, version=6), {(self.topic, 1): 0})
        for version in (2, 6, 8):
            with self.subTest(version=version):
                self.assertEqual(a.commit({1: (99, "stale")}, version=version, generation=gen - 1),
                                 {(self.topic, 1): kw.ILLEGAL_GENERATION})
                self.assertEqual(a.commit({1: (99, "stale")}, version=version,
                                          generation=gen + 1),
                                 {(self.topic, 1): kw.ILLEGAL_GENERATION})
        # a commit with generation -1 and no member id to a group with members is refused
        # as well (Kafka 3+ ClassicGroup.validateOffsetCommit: only an Empty group takes
        # "simple" commits; UNKNOWN_MEMBER_ID otherwise)
        c = self.connect()
        res = c.offset_commit(2, group, {self.topic: {1: (98, "outsider")}})
        self.assertEqual(res, {(self.topic, 1): kw.UNKNOWN_MEMBER_ID})
        self.assertEqual(self.fetch_offsets(group, [1])[1][:2], (7, "good"))


class ListDescribeDeleteTest(GroupTestBase):
    def test_list_groups_with_states_filter(self):
        stable = unique_name("list-stable")
        self.stable_group(stable)
        empty = unique_name("list-empty")
        self.wait_coordinator(empty)
        self.assertEqual(self.simple_commit(empty, {0: 3}), {(self.topic, 0): 0})
        c = self.connect()

        err, groups = c.list_groups(0)
        self.assertEqual(err, 0)
        self.assertEqual(groups[stable]["protocol_type"], "consumer")
        self.assertEqual(groups[empty]["protocol_type"], "")

        err, groups = c.list_groups(4)  # flexible, no filter: everything, with states
        self.assertEqual(err, 0)
        self.assertEqual(groups[stable]["state"], "Stable")
        self.assertEqual(groups[empty]["state"], "Empty")

        err, groups = c.list_groups(4, states_filter=["Stable"])
        self.assertEqual(err, 0)
        self.assertIn(stable, groups)
        self.assertNotIn(empty, groups)
        self.assertEqual({g["state"] for g in groups.values()}, {"Stable"})

        err, groups = c.list_groups(4, states_filter=["Empty"])
        self.assertIn(empty, groups)
        self.assertNotIn(stable, groups)

        err, groups = c.list_groups(4, states_filter=["Empty", "Stable"])
        self.assertTrue({stable, empty} <= set(groups))

        err, groups = c.list_groups(4, states_filter=["PreparingRebalance"])
        self.assertEqual(err, 0)
        self.assertFalse({stable, empty} & set(groups))

        err, groups = c.list_groups(5)
        self.assertEqual(err, 0)
        self.assertEqual(groups[stable]["type"], "classic")

    def test_describe_unknown_group_is_dead(self):
        group = unique_name("never-seen")
        self.wait_coordinator(group)
        for version in (0, 3, 5):
            with self.subTest(version=version):
                d = self.describe(group, version=version)
                self.assertEqual(d["error_code"], 0)
                self.assertEqual(d["state"], "Dead")
                self.assertEqual(d["members"], [])
                self.assertEqual(d["protocol_type"], "")

    def test_describe_several_groups_at_once(self):
        g1, g2 = unique_name("desc-a"), unique_name("desc-b")
        members = self.stable_group(g1, n=2)
        self.wait_coordinator(g2)
        c = self.connect()
        res = c.describe_groups(5, [g1, g2])
        self.assertEqual(set(res), {g1, g2})
        self.assertEqual(res[g1]["state"], "Stable")
        self.assertEqual(sorted(m["member_id"] for m in res[g1]["members"]),
                         sorted(m.member_id for m in members))
        got = {}
        for m in res[g1]["members"]:
            for t, ps in kw.decode_consumer_assignment(m["assignment"]).items():
                got.setdefault(t, []).extend(ps)
        self.assertEqual(sorted(got[self.topic]), list(range(TOPIC_PARTITIONS)))
        self.assertEqual(res[g2]["state"], "Dead")

    def test_delete_groups(self):
        active = unique_name("del-active")
        (m,) = self.stable_group(active)
        self.assertEqual(m.commit({0: 5}, version=7), {(self.topic, 0): 0})
        empty = unique_name("del-empty")
        self.wait_coordinator(empty)
        self.assertEqual(self.simple_commit(empty, {0: 1, 1: 2}), {(self.topic, 0): 0,
                                                                  (self.topic, 1): 0})
        missing = unique_name("del-missing")
        self.wait_coordinator(missing)
        c = self.connect()
        res = c.delete_groups(0, [active, empty, missing])
        self.assertEqual(res, {active: kw.NON_EMPTY_GROUP, empty: 0,
                               missing: kw.GROUP_ID_NOT_FOUND})
        got = self.fetch_offsets(empty, [0, 1])
        self.assertEqual((got[0][0], got[1][0]), (-1, -1), "offsets of a deleted group")
        self.assertEqual(self.describe(empty)["state"], "Dead")
        self.assertEqual(self.fetch_offsets(active, [0])[0][0], 5, "active group untouched")
        self.assertEqual(m.heartbeat(), 0)

        # once its member left, the group can be deleted (flexible v2)
        self.assertEqual(m.leave(version=1)["error_code"], 0)
        self.assertEqual(c.delete_groups(2, [active]), {active: 0})
        self.assertEqual(self.fetch_offsets(active, [0])[0][0], -1)
        err, groups = c.list_groups(0)
        self.assertNotIn(active, groups)
        self.assertNotIn(empty, groups)

    def test_offset_delete(self):
        empty = unique_name("offdel-empty")
        self.wait_coordinator(empty)
        self.simple_commit(empty, {0: 1, 1: 2})
        c = self.connect()
        err, res = c.offset_delete(empty, {self.topic: [0]})
        self.assertEqual((err, res), (0, {(self.topic, 0): 0}))
        got = self.fetch_offsets(empty, [0, 1])
        self.assertEqual((got[0][0], got[1][0]), (-1, 2))

        active = unique_name("offdel-active")
        (m,) = self.stable_group(active)
        self.assertEqual(m.commit({2: 9}), {(self.topic, 2): 0})
        err, res = c.offset_delete(active, {self.topic: [2]})
        self.assertEqual(err, 0)
        self.assertEqual(res, {(self.topic, 2): kw.GROUP_SUBSCRIBED_TO_TOPIC})
        self.assertEqual(self.fetch_offsets(active, [2])[2][0], 9)

        missing = unique_name("offdel-missing")
        self.wait_coordinator(missing)
        err, res = c.offset_delete(missing, {self.topic: [0]})
        self.assertEqual(err, kw.GROUP_ID_NOT_FOUND)


class RestartTest(GroupTestBase):
    """Offsets and group deletions live in __consumer_offsets and are loaded at start-up."""

    per_test_broker = True

    @classmethod
    def prepare_class(cls):
        pass

    def setUp(self):
        super().setUp()
        type(self).topic = unique_name("grp-restart")
        with kw.Connection.to(self.broker.bootstrap) as c:
            res = c.create_topics([(self.topic, TOPIC_PARTITIONS, 1, {})])
            self.assertEqual(res[self.topic][0], 0)
            type(self).node_id = c.metadata([])["brokers"][0]["node_id"]

    def check_survives(self, hard):
        member_group = unique_name("restart-member")
        simple_group = unique_name("restart-simple")
        deleted_group = unique_name("restart-deleted")
        (m,) = self.stable_group(member_group)
        self.assertEqual(m.commit({0: (100, "member"), 3: (7, "")}, version=7),
                         {(self.topic, 0): 0, (self.topic, 3): 0})
        self.assertEqual(m.commit({0: (101, "member-later")}, version=2),
                         {(self.topic, 0): 0})
        self.wait_coordinator(simple_group)
        self.assertEqual(self.simple_commit(simple_group, {1: (55, "simple")}),
                         {(self.topic, 1): 0})
        self.wait_coordinator(deleted_group)
        self.assertEqual(self.simple_commit(deleted_group, {2: (5, "gone")}),
                         {(self.topic, 2): 0})
        c = self.connect()
        self.assertEqual(c.delete_groups(0, [deleted_group]), {deleted_group: 0})
        expected_member = self.fetch_offsets(member_group)
        self.assertEqual(expected_member[0][:2], (101, "member-later"))
        m.conn.close()

        if hard:
            self.broker.kill()
            self.broker.start()
        else:
            self.broker.restart()

        self.wait_coordinator(member_group)
        self.assertEqual(self.fetch_offsets(member_group), expected_member)
        self.assertEqual(self.fetch_offsets(simple_group, [1], version=8), {1: (55, "simple", 0)})
        self.assertEqual(self.fetch_offsets(deleted_group, [2])[2][0], -1,
                         "a deleted group's offsets came back after the restart")
        # the group itself is loaded too (Kafka keeps members in the GroupMetadata record; the
        # old member, gone with its connection, stays until its session times out)
        d = self.describe(member_group, version=5)
        self.assertEqual((d["state"], d["protocol_data"]), ("Stable", "range"))
        self.assertEqual([x["member_id"] for x in d["members"]], [m.member_id])
        # and usable: a new member joins; the rebalance completes once the old member's
        # session (10 s) has expired
        n = self.member(member_group, join_version=5)
        res = n.join()
        self.assertEqual(res["error_code"], 0)
        self.assertEqual(res["generation_id"], 2, "the generation restarted from scratch")
        self.assertEqual([x["member_id"] for x in res["members"]], [n.member_id])

    def test_committed_offsets_survive_sigkill(self):
        self.check_survives(hard=True)

    def test_committed_offsets_survive_graceful_restart(self):
        self.check_survives(hard=False)


if __name__ == "__main__":
    unittest.main(verbosity=2)

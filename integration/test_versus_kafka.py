#!/usr/bin/python3
"""Runnel against Apache Kafka 4.4.0 itself, side by side: the same requests go to a Kafka broker
(scripts/peer/kafka.sh, one KRaft node) and to Runnel, both answers are decoded with a codec built
from Kafka's own message definitions (kafka_messages.py, independent of Runnel's generated one)
and compared field by field. ACCEPTED lists, with reasons, the differences we keep; anything else
fails.

Run: python3 integration/test_versus_kafka.py [-v]   (label versus_kafka; needs the Maven cache)
"""

import glob
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import kafka_wire as kw  # noqa: E402
from broker_process import REPO_ROOT, Broker, unique_name  # noqa: E402
from kafka_messages import KafkaMessages, kafka_jars  # noqa: E402
from kafka_peer import KafkaPeer  # noqa: E402
import test_bad_input  # noqa: E402


# Differences accepted everywhere: (path pattern, reason). A path reads like
# "Metadata v12 .Brokers[0].Port".
ACCEPTED = [
    (r"\.ThrottleTimeMs$", "quota throttling is per broker and time-dependent"),
    (r"\.ClusterId$", "each broker has its own cluster id"),
    (r"\.Port$", "each broker has its own port"),
    (r"\.TopicId$", "topic ids are random"),
    (r"\.(ErrorMessage|BatchIndexErrorMessage)$",
     "error messages' wording is free; codes (and record indexes) are compared"),
    (r"\.LogDir$", "each broker has its own log directory"),
    (r"\.UsableBytes$", "both report the shared disk's free bytes, which change between the two "
     "answers while other tests write"),
    (r"\.min\.insync\.replicas\.ConfigSource$",
     "Kafka 4 formats a KRaft cluster with min.insync.replicas as a cluster-wide dynamic default "
     "(DYNAMIC_DEFAULT_BROKER_CONFIG, for eligible leader replicas, KIP-966); Runnel's storage "
     "is not formatted with any dynamic config, so its value (the same, 1) is the default"),
]

API_VERSIONS = 18


def call(messages, bootstrap, api_key, version, body, timeout=30):
    host, port = bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(messages.request_frame(api_key, version, 1, body))
        size = struct.unpack(">i", _recv(s, 4))[0]
        cid, answer = messages.decode_response(api_key, version, _recv(s, size))
        assert cid == 1, cid
        return answer


def _recv(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


def wait_for_topic(messages, bootstrap, name, timeout=30):
    """Kafka's broker learns of a new topic from its controller a moment after CreateTopics
    answers; waits until its Metadata shows the topic with every partition led, so that what
    follows sees steady state."""
    deadline = time.monotonic() + timeout
    while True:
        m = call(messages, bootstrap, 3, 12,
                 {"Topics": [{"Name": name}], "AllowAutoTopicCreation": False})
        t = m["Topics"][0]
        if t["ErrorCode"] == 0 and t["Partitions"] and all(
                p["ErrorCode"] == 0 for p in t["Partitions"]):
            # Metadata comes from the broker's metadata cache, which Kafka updates before its
            # replica manager makes the broker leader; Produce meanwhile answers
            # NOT_LEADER_OR_FOLLOWER. ListOffsets goes through the replica manager: once every
            # partition answers it, the partitions are served.
            offsets = call(messages, bootstrap, 2, 7, {
                "ReplicaId": -1, "IsolationLevel": 0, "Topics": [{"Name": name, "Partitions": [
                    {"PartitionIndex": p["PartitionIndex"], "CurrentLeaderEpoch": -1,
                     "Timestamp": -1} for p in t["Partitions"]]}]})
            if all(p["ErrorCode"] == 0 for p in offsets["Topics"][0]["Partitions"]):
                return
        if time.monotonic() > deadline:
            raise AssertionError("Kafka did not show %s: %s" % (name, m))
        time.sleep(0.1)


def differences(kafka, runnel, path=""):
    """[(path, kafka's value, runnel's value)] where the two decoded answers differ."""
    if isinstance(kafka, dict) and isinstance(runnel, dict):
        out = []
        for k in sorted(set(kafka) | set(runnel)):
            out += differences(kafka.get(k), runnel.get(k), "%s.%s" % (path, k))
        return out
    if isinstance(kafka, list) and isinstance(runnel, list) and len(kafka) == len(runnel):
        out = []
        for i, (a, b) in enumerate(zip(kafka, runnel)):
            out += differences(a, b, "%s[%d]" % (path, i))
        return out
    return [] if kafka == runnel else [(path, kafka, runnel)]


def by_name(items, key="Name"):
    """A list of structs sorted by a name field, for answers whose order is not specified."""
    return sorted(items or [], key=lambda x: x[key])


class VersusKafkaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not kafka_jars():
            subprocess.run([os.path.join(REPO_ROOT, "scripts", "install-java-clients.sh")],
                           check=True, timeout=900)
        cls.messages = KafkaMessages.load()
        # The cleaner wakes every half second on both (Kafka's default is 15 s), so that the
        # compaction case does not wait long.
        # Kafka 4.4 computes a KIP-848 group's target assignment at most once a second
        # (group.consumer.assignment.interval.ms, default 1000) and answers heartbeats in between
        # with the old one; Runnel computes it on the heartbeat that changes the group, which is
        # Kafka's behaviour with the interval at 0. Accepted; the peer runs with 0 so that the
        # two-member case compares answers, not timing.
        cls.kafka = KafkaPeer(properties={"log.cleaner.backoff.ms": 500,
                                          "group.consumer.min.assignment.interval.ms": 0,
                                          "group.consumer.assignment.interval.ms": 0})
        try:
            cls.warm_up(cls.kafka.bootstrap)
            # Node id 1 as the peer's, so that answers naming the node compare equal.
            cls.runnel = Broker(properties={"node.id": 1, "group.initial.rebalance.delay.ms": 0,
                                            "log.cleaner.backoff.ms": 500},
                                name="versus-kafka")
            cls.warm_up(cls.runnel.bootstrap)
        except BaseException:
            cls.kafka.cleanup()
            raise

    @classmethod
    def warm_up(cls, bootstrap):
        """Both brokers create __consumer_offsets and __transaction_state on the first
        FindCoordinator (Kafka answers COORDINATOR_NOT_AVAILABLE until they exist). Ask until
        both exist, so that the comparisons see steady state."""
        deadline = time.monotonic() + 60
        for key_type in (0, 1):
            while True:
                r = call(cls.messages, bootstrap, 10, 4,
                         {"KeyType": key_type, "CoordinatorKeys": ["warm-up"]})
                if r["Coordinators"][0]["ErrorCode"] == 0:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError("Kafka's coordinators did not come up: %s" % r)
                time.sleep(0.2)

    @classmethod
    def tearDownClass(cls):
        cls.runnel.cleanup()
        cls.kafka.cleanup()

    def both(self, api_key, version, body):
        out = []
        for who, bootstrap in (("Kafka", self.kafka.bootstrap), ("Runnel", self.runnel.bootstrap)):
            try:
                out.append(call(self.messages, bootstrap, api_key, version, body))
            except (OSError, ConnectionError) as e:
                out.append({"_no_answer": "%s: %s" % (type(e).__name__, e)})
        return tuple(out)

    def assert_same(self, api_key, version, body, accept=(), normalize=None):
        """Sends `body` to both; fails on any difference not accepted. `accept`: extra
        (pattern, reason) pairs for this call; `normalize(answer)` reorders unordered lists."""
        kafka, runnel = self.both(api_key, version, body)
        if normalize:
            kafka, runnel = normalize(kafka), normalize(runnel)
        label = "%s v%d " % (self.messages.name(api_key), version)
        rules = ACCEPTED + list(accept)
        left = [(p, a, b) for p, a, b in differences(kafka, runnel)
                if not any(re.search(rule, p) for rule, _ in rules)]
        self.assertEqual(left, [], "%s: Kafka and Runnel differ on %s:\n%s" % (
            label, body, "\n".join("  %s: Kafka %r, Runnel %r" % d for d in left)))
        return kafka, runnel

    def create_topic(self, name, partitions=1, configs=None):
        body = {"Topics": [{"Name": name, "NumPartitions": partitions, "ReplicationFactor": 1,
                            "Assignments": [],
                            "Configs": [{"Name": k, "Value": v}
                                        for k, v in (configs or {}).items()]}],
                "TimeoutMs": 30000}
        kafka, runnel = self.both(19, 7, body)
        self.assertEqual(kafka["Topics"][0]["ErrorCode"], 0, kafka)
        self.assertEqual(runnel["Topics"][0]["ErrorCode"], 0, runnel)
        wait_for_topic(self.messages, self.kafka.bootstrap, name)

    # ------------------------------------------------------------------ cases

    def test_api_versions_at_every_version(self):
        """The error code and the shape agree; the API list itself differs on purpose (Runnel
        serves fewer APIs and versions), so only the APIs both serve are compared, and Runnel's
        range must lie within Kafka's."""
        for version in (0, 3, 4):
            body = {"ClientSoftwareName": "versus-kafka", "ClientSoftwareVersion": "1"}
            kafka, runnel = self.both(API_VERSIONS, version, body)
            self.assertEqual(kafka["ErrorCode"], runnel["ErrorCode"])
            theirs = {k["ApiKey"]: (k["MinVersion"], k["MaxVersion"]) for k in kafka["ApiKeys"]}
            for k in runnel["ApiKeys"]:
                self.assertIn(k["ApiKey"], theirs, "Runnel advertises an API Kafka does not")
                lo, hi = theirs[k["ApiKey"]]
                self.assertLessEqual(k["MaxVersion"], hi, k)
                # Runnel keeps Produce v0-2 advertised, as Kafka did (KAFKA-18659), and serves
                # older versions of a few APIs than Kafka 4 does (KIP-896 removed them).
                self.assertGreaterEqual(k["MinVersion"], 0, k)

    def test_every_served_api_answers_an_empty_request_alike(self):
        """Each API Runnel advertises, at its lowest and highest version, with every field at
        its default: Kafka's and Runnel's answers agree."""
        hello = {"ClientSoftwareName": "versus-kafka", "ClientSoftwareVersion": "1"}
        runnel_apis = call(self.messages, self.runnel.bootstrap, API_VERSIONS, 3,
                           hello)["ApiKeys"]
        kafka_lo = {k["ApiKey"]: k["MinVersion"] for k in call(
            self.messages, self.kafka.bootstrap, API_VERSIONS, 3, hello)["ApiKeys"]}
        # Requests a default body cannot make sensible: acks=0 Produce has no answer.
        body_of = {0: {"Acks": 1, "TimeoutMs": 1000}}
        # Answers listing topics in no specified order.
        normalize_of = {3: lambda r: dict(r, Topics=by_name(r["Topics"]))}
        skip = {
            API_VERSIONS: "compared in test_api_versions_at_every_version",
            27: "WriteTxnMarkers is broker-to-broker; Kafka refuses it from clients",
        }
        skip_versions = {
            # Kafka never answers an AddPartitionsToTxn v4+ (the brokers' verification form)
            # listing no transactions; Runnel answers it with an empty result at once.
            (24, 5): "Kafka does not answer",
        }
        checked = 0
        for k in runnel_apis:
            key = k["ApiKey"]
            if key in skip:
                continue
            for version in sorted({max(k["MinVersion"], kafka_lo[key]), k["MaxVersion"]}):
                if (key, version) in skip_versions:
                    continue
                with self.subTest(api=self.messages.name(key), version=version):
                    self.assert_same(key, version, body_of.get(key, {}),
                                     normalize=normalize_of.get(key), accept=[
                        # Without an authorizer both return all operations; Kafka counts
                        # operations that Runnel's topics do not support.
                        (r"AuthorizedOperations$", "see docs/compatibility.md"),
                    ])
                    checked += 1
        self.assertGreater(checked, 40)

    def test_metadata_for_existing_missing_and_auto_created_topics(self):
        topic = unique_name("vk-meta")
        self.create_topic(topic, 3)
        normalize = lambda r: dict(r, Topics=by_name(r["Topics"]))  # noqa: E731
        self.assert_same(3, 12, {"Topics": [{"Name": topic}, {"Name": unique_name("vk-none")}],
                                 "AllowAutoTopicCreation": False}, normalize=normalize)
        self.assert_same(3, 1, {"Topics": [{"Name": topic}]})
        created = unique_name("vk-auto")
        kafka, runnel = self.both(3, 12, {"Topics": [{"Name": created}],
                                          "AllowAutoTopicCreation": True})
        # Kafka answers the first request for a topic it auto-creates with UNKNOWN_TOPIC_OR_
        # PARTITION or LEADER_NOT_AVAILABLE (its controller creates the topic asynchronously);
        # Runnel creates it before answering and answers it ready. Both have the topic
        # afterwards, with the same shape.
        self.assertIn(kafka["Topics"][0]["ErrorCode"], (0, 3, 5))
        self.assertEqual(runnel["Topics"][0]["ErrorCode"], 0)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            again = call(self.messages, self.kafka.bootstrap, 3, 12,
                         {"Topics": [{"Name": created}], "AllowAutoTopicCreation": False})
            if again["Topics"][0]["ErrorCode"] == 0:
                break
            time.sleep(0.2)
        self.assert_same(3, 12, {"Topics": [{"Name": created}], "AllowAutoTopicCreation": False})

    def test_create_topics_refusals_and_validate_only(self):
        existing = unique_name("vk-exists")
        self.create_topic(existing)
        cases = [
            ("bad/name", 1, 1, {}),
            ("..", 1, 1, {}),
            ("x" * 250, 1, 1, {}),
            (unique_name("vk-parts"), 0, 1, {}),
            (unique_name("vk-rf"), 1, 3, {}),
            (unique_name("vk-conf"), 1, 1, {"retention.ms": "soon"}),
            (unique_name("vk-unknown"), 1, 1, {"no.such.key": "1"}),
            (existing, 1, 1, {}),
        ]
        for name, partitions, rf, configs in cases:
            with self.subTest(topic=name[:40], partitions=partitions, rf=rf, configs=configs):
                body = {"Topics": [{"Name": name, "NumPartitions": partitions,
                                    "ReplicationFactor": rf, "Assignments": [],
                                    "Configs": [{"Name": k, "Value": v}
                                                for k, v in configs.items()]}],
                        "TimeoutMs": 30000}
                self.assert_same(19, 7, body)
        # validate_only: the answer as for a real creation, and no topic afterwards.
        name = unique_name("vk-validate")
        body = {"Topics": [{"Name": name, "NumPartitions": 2, "ReplicationFactor": 1,
                            "Assignments": [], "Configs": []}],
                "TimeoutMs": 30000, "ValidateOnly": True}
        configs_by_name = lambda r: dict(r, Topics=[dict(t, Configs={  # noqa: E731
            c["Name"]: c for c in t["Configs"] or []}) for t in r["Topics"]])
        kafka, runnel = self.assert_same(19, 7, body, normalize=configs_by_name)
        self.assertEqual(runnel["Topics"][0]["ErrorCode"], 0)
        gone = self.assert_same(3, 12, {"Topics": [{"Name": name}],
                                        "AllowAutoTopicCreation": False})[1]
        self.assertEqual(gone["Topics"][0]["ErrorCode"], 3, "validate_only created the topic")


    # ------------------------------------------------------------------ records

    def produce(self, topic, batch, partition=0, version=9, acks=-1):
        """Produces the same batch to both; returns (Kafka's, Runnel's) partition answers after
        checking they agree."""
        body = {"Acks": acks, "TimeoutMs": 10000, "TopicData": [{
            "Name": topic, "PartitionData": [{"Index": partition, "Records": batch}]}]}
        kafka, runnel = self.assert_same(0, version, body)
        return (kafka["Responses"][0]["PartitionResponses"][0],
                runnel["Responses"][0]["PartitionResponses"][0])

    def test_produce_answers_and_refusals(self):
        topic = unique_name("vk-produce")
        self.create_topic(topic, 2, {"max.message.bytes": "2000"})
        now = int(time.time() * 1000)
        ok = kw.build_record_batch([(b"k", b"v")] * 3, base_timestamp=now)
        first, _ = self.produce(topic, ok)
        self.assertEqual(first["ErrorCode"], 0)
        self.assertEqual(self.produce(topic, ok)[0]["BaseOffset"], 3)
        self.produce(topic, ok, version=3)
        # Refusals, each leaving the log as it was: a bad CRC (CORRUPT_MESSAGE), a batch above
        # max.message.bytes (MESSAGE_TOO_LARGE), a timestamp more than an hour ahead
        # (INVALID_TIMESTAMP), a partition that does not exist, a topic that does not exist.
        self.assertEqual(self.produce(topic, kw.corrupt_crc(ok))[0]["ErrorCode"], 2)
        big = kw.build_record_batch([(None, b"x" * 3000)], base_timestamp=now)
        self.assertEqual(self.produce(topic, big)[0]["ErrorCode"], 10)
        future = kw.build_record_batch([(None, b"late")], base_timestamp=now + 2 * 3600 * 1000)
        self.assertEqual(self.produce(topic, future)[0]["ErrorCode"], 32)
        self.assertEqual(self.produce(topic, ok, partition=7)[0]["ErrorCode"], 3)
        # min.insync.replicas above the replica count: Kafka 4 caps it at the replica count
        # (KIP-966's effective min ISR), so acks=all is taken on one node.
        guarded = unique_name("vk-minisr")
        self.create_topic(guarded, 1, {"min.insync.replicas": "2"})
        self.assertEqual(self.produce(guarded, ok)[0]["ErrorCode"], 0)
        self.produce(unique_name("vk-nowhere"), ok, acks=1)
        # Idempotence: a producer id from each broker (their own numbering); a gap in sequence
        # numbers is OUT_OF_ORDER_SEQUENCE_NUMBER on both.
        for who, bootstrap in (("Kafka", self.kafka.bootstrap), ("Runnel", self.runnel.bootstrap)):
            deadline = time.monotonic() + 30
            while True:  # Kafka's coordinator may still be loading (COORDINATOR_LOAD_IN_PROGRESS)
                pid = call(self.messages, bootstrap, 22, 4,
                           {"TransactionalId": None, "TransactionTimeoutMs": 60000,
                            "ProducerId": -1, "ProducerEpoch": -1})
                if pid["ErrorCode"] not in (14, 15) or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            self.assertEqual(pid["ErrorCode"], 0, who)
            answers = []
            for seq in (0, 5):
                batch = kw.build_record_batch([(None, b"i")], base_timestamp=now,
                                              producer_id=pid["ProducerId"],
                                              producer_epoch=pid["ProducerEpoch"],
                                              base_sequence=seq)
                r = call(self.messages, bootstrap, 0, 9, {
                    "Acks": -1, "TimeoutMs": 10000, "TopicData": [{
                        "Name": topic, "PartitionData": [{"Index": 1, "Records": batch}]}]})
                answers.append(r["Responses"][0]["PartitionResponses"][0]["ErrorCode"])
            self.assertEqual(answers, [0, 45], who)

    def test_list_offsets_and_offset_for_leader_epoch(self):
        topic = unique_name("vk-offsets")
        self.create_topic(topic, 1)
        base = int(time.time() * 1000) - 60000
        for i, ts in enumerate((base, base + 1000, base + 500)):
            self.produce(topic, kw.build_record_batch([(None, b"r%d" % i)] * 2, base_timestamp=ts))

        def lookup(ts, version=9, partition=0, current_epoch=-1):
            return {"ReplicaId": -1, "IsolationLevel": 0, "Topics": [{
                "Name": topic, "Partitions": [{"PartitionIndex": partition,
                                               "CurrentLeaderEpoch": current_epoch,
                                               "Timestamp": ts}]}]}
        for ts in (-2, -1, -3, base - 10, base + 700, base + 1000, base + 5000):
            for version in (1, 9):
                with self.subTest(timestamp=ts, version=version):
                    self.assert_same(2, version, lookup(ts, version), accept=[
                        (r"\.Timestamp$", "-1 for earliest/latest in both; checked otherwise"),
                    ] if ts < 0 else [])
        self.assert_same(2, 9, lookup(-1, partition=3))
        self.assert_same(2, 9, lookup(-1, current_epoch=7))
        # KIP-320: where an epoch ends.
        for epoch, current in ((0, 0), (0, -1), (3, -1), (0, 5)):
            with self.subTest(epoch=epoch, current=current):
                self.assert_same(23, 4, {"ReplicaId": -1, "Topics": [{
                    "Topic": topic, "Partitions": [{"Partition": 0, "CurrentLeaderEpoch": current,
                                                    "LeaderEpoch": epoch}]}]})
        self.assert_same(23, 4, {"ReplicaId": -1, "Topics": [{
            "Topic": unique_name("vk-none"), "Partitions": [{"Partition": 0,
                                                             "CurrentLeaderEpoch": -1,
                                                             "LeaderEpoch": 0}]}]})


    def fetch(self, topic, offset, version=12, isolation=0, partition=0):
        return {"ReplicaId": -1, "MaxWaitMs": 0, "MinBytes": 0, "MaxBytes": 1 << 20,
                "IsolationLevel": isolation, "SessionId": 0, "SessionEpoch": -1,
                "Topics": [{"Topic": topic, "Partitions": [{
                    "Partition": partition, "CurrentLeaderEpoch": -1, "FetchOffset": offset,
                    "LastFetchedEpoch": -1, "LogStartOffset": -1,
                    "PartitionMaxBytes": 1 << 20}]}],
                "ForgottenTopicsData": [], "RackId": ""}

    def test_fetch_at_before_and_past_the_end_and_after_delete_records(self):
        """The stored batches come back byte for byte alike (base offset and leader epoch
        stamped the same way, CRC untouched), with the same watermarks and errors."""
        topic = unique_name("vk-fetch")
        self.create_topic(topic, 1)
        now = int(time.time() * 1000)
        for i in range(3):
            self.produce(topic, kw.build_record_batch([(b"k%d" % i, b"v")] * 2,
                                                      base_timestamp=now + i))
        for offset in (0, 3, 6, 7, -1):
            for version in (4, 12):
                with self.subTest(offset=offset, version=version):
                    self.assert_same(1, version, self.fetch(topic, offset, version))
        self.assert_same(1, 12, self.fetch(topic, 0, partition=4))
        moved = self.assert_same(21, 2, {"Topics": [{"Name": topic, "Partitions": [
            {"PartitionIndex": 0, "Offset": 2}]}], "TimeoutMs": 10000})[1]
        self.assertEqual(moved["Topics"][0]["Partitions"][0]["LowWatermark"], 2)
        for offset in (0, 1, 2, 4):
            with self.subTest(after_delete_records=offset):
                self.assert_same(1, 12, self.fetch(topic, offset))
        self.assert_same(2, 9, {"ReplicaId": -1, "IsolationLevel": 0, "Topics": [{
            "Name": topic, "Partitions": [{"PartitionIndex": 0, "CurrentLeaderEpoch": -1,
                                           "Timestamp": -2}]}]})

    def test_describe_configs_of_a_topic_key_by_key(self):
        """Every topic key with its value, source, type, sensitivity and synonyms; the
        documentation is compared for presence only (its wording is ours)."""
        topic = unique_name("vk-configs")
        self.create_topic(topic, 1, {"retention.ms": "123456", "cleanup.policy": "compact"})

        def by_key(r):
            out = dict(r)
            out["Results"] = [dict(res, Configs={
                c["Name"]: dict(c, Documentation=bool(c.get("Documentation")))
                for c in res["Configs"]}) for res in r["Results"]]
            return out
        for version in (1, 4):
            with self.subTest(version=version):
                self.assert_same(32, version, {
                    "Resources": [{"ResourceType": 2, "ResourceName": topic,
                                   "ConfigurationKeys": None}],
                    "IncludeSynonyms": True, "IncludeDocumentation": True},
                    normalize=by_key, accept=[
                        (r"\.min\.insync\.replicas\.(ConfigSource|IsDefault|Synonyms)$",
                         "see min.insync.replicas in ACCEPTED"),
                    ])


    def test_dynamic_broker_configs_answer_alike(self):
        """IncrementalAlterConfigs and AlterConfigs on the cluster default and on this broker
        (KIP-226), their refusals, and what DescribeConfigs then shows for the broker, the
        cluster default and a topic that inherits the values. Every value set here is deleted
        again, so the other cases see the brokers as configured at start.

        Accepted difference, not sent here: Kafka stores a broker config name it does not know
        (plugins may read custom names); Runnel, which has no plugins, refuses it with
        INVALID_REQUEST so that a misspelt key is not silently kept."""
        topic = unique_name("vk-dynamic")
        self.create_topic(topic)

        def alter(name, *configs, version=1):
            return self.assert_same(44, version, {"Resources": [{
                "ResourceType": 4, "ResourceName": name,
                "Configs": [{"Name": n, "ConfigOperation": op, "Value": v}
                            for n, op, v in configs]}], "ValidateOnly": False})[1]

        def describe(resource_type, name, keys):
            body = {"Resources": [{"ResourceType": resource_type, "ResourceName": name,
                                   "ConfigurationKeys": keys}],
                    "IncludeSynonyms": True, "IncludeDocumentation": False}

            def normalize(r):
                return dict(r, Results=[dict(x, Configs=by_name(
                    # Kafka's formatted min.insync.replicas default: see ACCEPTED.
                    c for c in x["Configs"]
                    if not (name == "" and c["Name"] == "min.insync.replicas")))
                    for x in r["Results"]])
            # Kafka applies a change when its broker replays the metadata record, a moment
            # after the alter is answered; its values lag its synonyms meanwhile. Ask again
            # until they agree (assert_same reports what still differs after 10 s).
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                kafka, runnel = (normalize(r) for r in self.both(32, 4, body))
                if not [d for d in differences(kafka, runnel)
                        if not any(re.search(rule, d[0]) for rule, _ in ACCEPTED)]:
                    break
                time.sleep(0.2)
            return self.assert_same(32, 4, body, normalize=normalize)[1]
        keys = ["log.retention.ms", "log.cleanup.policy", "message.max.bytes",
                "log.cleaner.backoff.ms"]
        try:
            ok = alter("", ("log.retention.ms", 0, "3600000"), ("message.max.bytes", 0, "2000000"))
            self.assertEqual(ok["Responses"][0]["ErrorCode"], 0)
            alter("1", ("log.cleanup.policy", 2, "compact"), ("log.cleaner.backoff.ms", 0, "1000"))
            # Refusals, each changing nothing: another broker's id, a name that is no id, a key
            # read only at start, a bad value, a value below the key's bound, a list operation
            # on a number, a key named twice, validate_only.
            for name, configs in (
                    ("7", [("log.segment.bytes", 0, "2000000")]),
                    ("abc", [("log.segment.bytes", 0, "2000000")]),
                    ("1", [("log.retention.hours", 0, "5")]),
                    ("", [("num.partitions", 0, "5")]),
                    ("1", [("log.segment.bytes", 0, "abc")]),
                    ("1", [("log.retention.ms", 2, "5")]),
                    ("1", [("log.retention.ms", 0, "5"), ("log.retention.ms", 0, "6")])):
                with self.subTest(name=name, configs=configs):
                    r = alter(name, *configs)
                    self.assertNotEqual(r["Responses"][0]["ErrorCode"], 0)
            describe(4, "1", keys)
            describe(4, "", None)
            describe(2, topic, ["retention.ms", "cleanup.policy", "max.message.bytes"])
            # AlterConfigs replaces this broker's whole set.
            self.assert_same(33, 2, {"Resources": [{
                "ResourceType": 4, "ResourceName": "1",
                "Configs": [{"Name": "log.retention.bytes", "Value": "1000000"}]}],
                "ValidateOnly": False})
            describe(4, "1", keys + ["log.retention.bytes"])
        finally:
            for who in (self.kafka.bootstrap, self.runnel.bootstrap):
                for name, n in (("", "log.retention.ms"), ("", "message.max.bytes"),
                                ("1", "log.cleanup.policy"), ("1", "log.cleaner.backoff.ms"),
                                ("1", "log.retention.bytes")):
                    call(self.messages, who, 44, 1, {"Resources": [{
                        "ResourceType": 4, "ResourceName": name, "Configs": [
                            {"Name": n, "ConfigOperation": 1, "Value": None}]}],
                        "ValidateOnly": False})
        describe(4, "", None)
        describe(2, topic, ["retention.ms", "cleanup.policy", "max.message.bytes"])

    # ------------------------------------------------------------------ groups

    def retrying(self, bootstrap, api_key, version, body):
        """A group call, asked again while the coordinator is loading or moving."""
        deadline = time.monotonic() + 30
        while True:
            r = call(self.messages, bootstrap, api_key, version, body)
            if r.get("ErrorCode") not in (14, 15, 16) or time.monotonic() > deadline:
                return r
            time.sleep(0.2)

    def classic_flow(self, bootstrap, group, static_group):
        """The classic group protocol's answers along one path through its state machine, as
        [(step, error code, facts)]: member ids are each broker's own, so steps are compared."""
        steps = []
        join = {"GroupId": group, "SessionTimeoutMs": 10000, "RebalanceTimeoutMs": 10000,
                "MemberId": "", "GroupInstanceId": None, "ProtocolType": "consumer",
                "Protocols": [{"Name": "range", "Metadata": b""}], "Reason": None}
        r = self.retrying(bootstrap, 11, 9, join)
        steps.append(("join without a member id", r["ErrorCode"], bool(r["MemberId"])))
        member = r["MemberId"]
        r = self.retrying(bootstrap, 11, 9, dict(join, MemberId=member))
        steps.append(("join", r["ErrorCode"], r["GenerationId"], r["ProtocolName"],
                      r["Leader"] == member, len(r["Members"])))
        generation = r["GenerationId"]

        def sync(gen, who=member):
            return call(self.messages, bootstrap, 14, 5, {
                "GroupId": group, "GenerationId": gen, "MemberId": who,
                "GroupInstanceId": None, "ProtocolType": "consumer", "ProtocolName": "range",
                "Assignments": [{"MemberId": member, "Assignment": b"\x00\x01"}]})
        r = sync(generation + 1)
        steps.append(("sync at a wrong generation", r["ErrorCode"]))
        r = sync(generation)
        steps.append(("sync", r["ErrorCode"], r["Assignment"], r["ProtocolName"]))

        def beat(gen, who=member, instance=None):
            return call(self.messages, bootstrap, 12, 4, {
                "GroupId": group, "GenerationId": gen, "MemberId": who,
                "GroupInstanceId": instance})["ErrorCode"]
        steps.append(("heartbeat", beat(generation)))
        steps.append(("heartbeat at a wrong generation", beat(generation + 1)))
        steps.append(("heartbeat of an unknown member", beat(generation, "nobody")))
        r = call(self.messages, bootstrap, 8, 9, {
            "GroupId": group, "GenerationIdOrMemberEpoch": generation + 5, "MemberId": member,
            "GroupInstanceId": None, "Topics": [{"Name": "__none", "Partitions": [
                {"PartitionIndex": 0, "CommittedOffset": 1, "CommittedLeaderEpoch": -1,
                 "CommittedMetadata": ""}]}]})
        steps.append(("commit at a wrong generation",
                      r["Topics"][0]["Partitions"][0]["ErrorCode"]))
        r = self.retrying(bootstrap, 11, 9, dict(join, MemberId="bogus"))
        steps.append(("join with an unknown member id", r["ErrorCode"]))
        r = call(self.messages, bootstrap, 13, 5, {"GroupId": group, "Members": [
            {"MemberId": "nobody", "GroupInstanceId": None, "Reason": None}]})
        steps.append(("leave of an unknown member", r["ErrorCode"],
                      [m["ErrorCode"] for m in r["Members"]]))
        r = call(self.messages, bootstrap, 15, 5, {"Groups": [group],
                                                   "IncludeAuthorizedOperations": False})
        g = r["Groups"][0]
        steps.append(("describe", g["ErrorCode"], g["GroupState"], g["ProtocolType"],
                      g["ProtocolData"], len(g["Members"])))

        # Static membership (KIP-345): a second process with the same instance id takes the
        # place; the first one's heartbeat is then FENCED_INSTANCE_ID.
        sjoin = dict(join, GroupId=static_group, GroupInstanceId="instance-1")
        first = self.retrying(bootstrap, 11, 9, sjoin)
        steps.append(("static join", first["ErrorCode"], first["GenerationId"]))
        sync_body = {"GroupId": static_group, "GenerationId": first["GenerationId"],
                     "MemberId": first["MemberId"], "GroupInstanceId": "instance-1",
                     "ProtocolType": "consumer", "ProtocolName": "range",
                     "Assignments": [{"MemberId": first["MemberId"], "Assignment": b""}]}
        steps.append(("static sync", call(self.messages, bootstrap, 14, 5,
                                          sync_body)["ErrorCode"]))
        second = self.retrying(bootstrap, 11, 9, sjoin)
        steps.append(("static rejoin from another process", second["ErrorCode"],
                      second["MemberId"] != first["MemberId"]))
        r = call(self.messages, bootstrap, 12, 4, {
            "GroupId": static_group, "GenerationId": first["GenerationId"],
            "MemberId": first["MemberId"], "GroupInstanceId": "instance-1"})
        steps.append(("the replaced static member's heartbeat", r["ErrorCode"]))
        return steps

    def test_the_classic_group_state_machine_answers_alike(self):
        # The same names on both brokers, so that later listings (ListGroups) agree too.
        names = (unique_name("vk-classic"), unique_name("vk-static"))
        self.assertEqual(self.classic_flow(self.kafka.bootstrap, *names),
                         self.classic_flow(self.runnel.bootstrap, *names))

    def test_committed_offsets_answer_alike(self):
        """Offsets committed outside any generation (as admin tools and simple consumers do),
        their refusals, OffsetFetch v8 for several groups at once, DescribeGroups and ListGroups
        filters on groups that only hold offsets, OffsetDelete and DeleteGroups."""
        topic = unique_name("vk-offsets-topic")
        self.create_topic(topic, 2)
        first, second, unknown = (unique_name("vk-offsets-a"), unique_name("vk-offsets-b"),
                                  unique_name("vk-offsets-none"))

        def commit(group, partitions, name=topic, metadata="m"):
            body = {"GroupId": group, "GenerationIdOrMemberEpoch": -1, "MemberId": "",
                    "GroupInstanceId": None, "Topics": [{"Name": name, "Partitions": [
                        {"PartitionIndex": p, "CommittedOffset": offset,
                         "CommittedLeaderEpoch": -1, "CommittedMetadata": metadata}
                        for p, offset in partitions]}]}
            kafka, runnel = self.both(8, 9, body)
            # Coordinators come up on first use: ask again while either is loading.
            deadline = time.monotonic() + 30
            while any(p["ErrorCode"] in (14, 15, 16) for r in (kafka, runnel)
                      for t in r["Topics"] for p in t["Partitions"]) \
                    and time.monotonic() < deadline:
                time.sleep(0.2)
                kafka, runnel = self.both(8, 9, body)
            return self.assert_same(8, 9, body)[1]
        ok = commit(first, [(0, 5), (1, 7)])
        self.assertEqual([p["ErrorCode"] for p in ok["Topics"][0]["Partitions"]], [0, 0])
        commit(second, [(0, 3)], metadata=None)
        # Refusals: a partition the topic lacks, a topic that does not exist, metadata above
        # offset.metadata.max.bytes (4096).
        commit(first, [(9, 1)])
        commit(first, [(0, 1)], name=unique_name("vk-offsets-missing"))
        commit(first, [(0, 1)], metadata="x" * 5000)

        def by_group(r):
            return dict(r, Groups=[dict(g, Topics=by_name(g["Topics"])) for g in r["Groups"]])
        body = {"Groups": [
            {"GroupId": first, "Topics": None},
            {"GroupId": second, "Topics": [{"Name": topic, "PartitionIndexes": [0, 1]}]},
            {"GroupId": unknown, "Topics": [{"Name": topic, "PartitionIndexes": [0]}]}],
            "RequireStable": True}
        fetched = self.assert_same(9, 8, body, normalize=by_group)[1]
        self.assertEqual([p["CommittedOffset"] for p in fetched["Groups"][0]["Topics"][0][
            "Partitions"]], [5, 7])
        # Kafka answers groups in the order its coordinator shards handle them, not the
        # request's; clients match them by id.
        self.assert_same(15, 5, {"Groups": [first, unknown],
                                 "IncludeAuthorizedOperations": False},
                         normalize=lambda r: dict(r, Groups=by_name(r["Groups"], "GroupId")))

        def ours(r):
            return dict(r, Groups=sorted(
                (g for g in r["Groups"] if g["GroupId"] in (first, second, unknown)),
                key=lambda g: g["GroupId"]))
        for filters in ({"StatesFilter": [], "TypesFilter": []},
                        {"StatesFilter": ["Empty"], "TypesFilter": ["classic"]},
                        {"StatesFilter": ["Stable"], "TypesFilter": []},
                        {"StatesFilter": [], "TypesFilter": ["consumer"]}):
            with self.subTest(filters=filters):
                self.assert_same(16, 5, filters, normalize=ours)
        self.assert_same(47, 0, {"GroupId": first, "Topics": [
            {"Name": topic, "Partitions": [{"PartitionIndex": 0}]}]})
        self.assert_same(9, 8, body, normalize=by_group)
        self.assert_same(42, 2, {"GroupsNames": [first, unknown]},
                         normalize=lambda r: dict(r, Results=by_name(r["Results"], "GroupId")))
        self.assert_same(9, 8, body, normalize=by_group)

    def consumer_flow(self, bootstrap, topic, group):
        """KIP-848 ConsumerGroupHeartbeat's answers along one path: join, fencing, errors,
        leave."""
        steps = []
        member = "member-" + group

        def beat(epoch, who=member, **extra):
            body = {"GroupId": group, "MemberId": who, "MemberEpoch": epoch,
                    "InstanceId": None, "RackId": None, "RebalanceTimeoutMs": -1,
                    "SubscribedTopicNames": None, "SubscribedTopicRegex": None,
                    "ServerAssignor": None, "TopicPartitions": None}
            body.update(extra)
            return self.retrying(bootstrap, 68, 1, body)
        joining = {"RebalanceTimeoutMs": 30000, "SubscribedTopicNames": [topic],
                   "TopicPartitions": []}
        r = beat(0, who="", **joining)
        steps.append(("join without a member id (v1)", r["ErrorCode"]))
        r = beat(0, ServerAssignor="nope", **joining)
        steps.append(("unknown assignor", r["ErrorCode"]))
        r = beat(0, **dict(joining, SubscribedTopicNames=None, SubscribedTopicRegex="("))
        steps.append(("bad regex", r["ErrorCode"]))
        r = beat(0, **joining)
        steps.append(("join", r["ErrorCode"], r["MemberEpoch"],
                      sorted(p for t in (r["Assignment"] or {}).get("TopicPartitions", [])
                             for p in t["Partitions"])))
        epoch = r["MemberEpoch"]
        steps.append(("heartbeat ahead of the epoch", beat(epoch + 5)["ErrorCode"]))
        steps.append(("heartbeat of an unknown member", beat(epoch, who="nobody")["ErrorCode"]))
        steps.append(("heartbeat with an invalid epoch", beat(-7)["ErrorCode"]))
        r = beat(-1)
        steps.append(("leave", r["ErrorCode"], r["MemberEpoch"]))
        return steps

    def test_kip848_heartbeats_answer_alike(self):
        topic = unique_name("vk-848-topic")
        self.create_topic(topic, 2)
        group = unique_name("vk-848")
        self.assertEqual(self.consumer_flow(self.kafka.bootstrap, topic, group),
                         self.consumer_flow(self.runnel.bootstrap, topic, group))


    def revocation_flow(self, bootstrap, topic, group):
        """Two KIP-848 members sharing two partitions, heartbeat by heartbeat: the first holds
        both, the second joins with nothing until the first has released a partition, the
        first is asked to revoke (its epoch held back until it acknowledges), then the second
        gets the released partition. Each answer as (member, error, epoch, assignment or None
        when unchanged)."""
        steps = []
        topic_id = {}

        def beat(member, epoch, owned, joining=False):
            body = {"GroupId": group, "MemberId": member, "MemberEpoch": epoch,
                    "InstanceId": None, "RackId": None, "RebalanceTimeoutMs": -1,
                    "SubscribedTopicNames": None, "SubscribedTopicRegex": None,
                    "ServerAssignor": None,
                    "TopicPartitions": [{"TopicId": topic_id["id"], "Partitions": owned}]
                    if owned and topic_id else []}
            if joining:
                body.update(RebalanceTimeoutMs=30000, SubscribedTopicNames=[topic])
            r = self.retrying(bootstrap, 68, 1, body)
            assigned = None
            if r["Assignment"] is not None:
                for t in r["Assignment"]["TopicPartitions"]:
                    topic_id["id"] = t["TopicId"]
                assigned = sorted(p for t in r["Assignment"]["TopicPartitions"]
                                  for p in t["Partitions"])
            steps.append((member, r["ErrorCode"], r["MemberEpoch"], assigned))
            return r["MemberEpoch"], owned if assigned is None else assigned

        first, second = "first-" + group, "second-" + group
        e1, owned1 = beat(first, 0, [], joining=True)
        e1, owned1 = beat(first, e1, owned1)
        e2, owned2 = beat(second, 0, [], joining=True)
        # The first member's next heartbeat is told to give one partition up; once it says it
        # has, it moves to the new epoch and the second member receives the partition.
        for _ in range(2):
            e1, owned1 = beat(first, e1, owned1)
            e2, owned2 = beat(second, e2, owned2)
        steps.append(("final", owned1, owned2))
        beat(first, -1, owned1)
        e2, owned2 = beat(second, e2, owned2)
        steps.append(("after the first left", owned2))
        return steps

    def test_kip848_revocation_between_two_members_answers_alike(self):
        topic = unique_name("vk-848-two")
        self.create_topic(topic, 2)
        group = unique_name("vk-848-two")
        kafka = self.revocation_flow(self.kafka.bootstrap, topic, group)
        # The flow did what it says on Kafka: the partitions ended split, then the second
        # member took both.
        self.assertIn(("final", [0], [1]), kafka)
        self.assertEqual(kafka[-1], ("after the first left", [0, 1]))
        self.assertEqual(kafka, self.revocation_flow(self.runnel.bootstrap, topic, group))

    def test_compression_type_recompresses_what_producers_send(self):
        """A topic with compression.type=gzip, at the default level and at level 1, stores an
        uncompressed batch gzipped on both brokers; the compressed bytes differ (zlib against
        Java's Deflater), so the batch fields and the decoded records are compared. (This
        decoder reads gzip only; lz4 and zstd levels are checked in-process, InProcessBroker.
        TopicCompressionLevelIsApplied, and against the codecs, Compression.Levels*.)"""
        for codec, code, configs in (("gzip", 1, {}), ("gzip", 1, {"compression.gzip.level": "1"})):
            with self.subTest(codec=codec, configs=configs):
                topic = unique_name("vk-" + codec)
                self.create_topic(topic, 1, dict(configs, **{"compression.type": codec}))
                now = int(time.time() * 1000)
                self.produce(topic, kw.build_record_batch(
                    [(b"k%d" % i, b"v" * (50 + i), [("h", b"x")]) for i in range(5)],
                    base_timestamp=now))
                seen = []
                for bootstrap in (self.kafka.bootstrap, self.runnel.bootstrap):
                    r = call(self.messages, bootstrap, 1, 12, self.fetch(topic, 0))
                    batches = kw.decode_record_batches(
                        r["Responses"][0]["Partitions"][0]["Records"])
                    seen.append([(b.base_offset, b.compression, b.last_offset_delta,
                                  b.base_timestamp, b.max_timestamp, b.producer_id, b.crc_ok,
                                  [(x.offset, x.key, x.value, x.headers, x.timestamp)
                                   for x in b.records]) for b in batches])
                self.assertEqual(seen[0][0][1], code, "Kafka stored " + codec)
                self.assertEqual(seen[0], seen[1])

    def test_compaction_leaves_the_same_segments(self):
        """A compacted topic rolled every 100 ms: twelve single-record batches of two keys, then
        the cleaner. Both brokers group the cleaned segments the same way and leave the same
        segment files, of the same sizes, and the same records (the latest per key, at their
        original offsets)."""
        topic = unique_name("vk-compact")
        self.create_topic(topic, 1, {
            "cleanup.policy": "compact", "segment.ms": "100", "min.cleanable.dirty.ratio": "0.01",
            "min.compaction.lag.ms": "0", "delete.retention.ms": "0"})
        for i in range(12):
            batch = kw.build_record_batch([(b"ab"[i % 2:i % 2 + 1], b"v%d" % i)],
                                          base_timestamp=int(time.time() * 1000))
            self.produce(topic, batch, acks=1)
            time.sleep(0.25)  # past segment.ms: the next append rolls

        def state(bootstrap, data_dir):
            files = sorted((os.path.basename(f), os.path.getsize(f)) for f in glob.glob(
                os.path.join(data_dir, topic + "-0", "*.log")))
            # Fetch by fetch: Kafka answers from one segment at a time.
            records, offset = [], 0
            while True:
                r = call(self.messages, bootstrap, 1, 12, self.fetch(topic, offset))
                batches = kw.decode_record_batches(r["Responses"][0]["Partitions"][0]["Records"])
                if not batches:
                    return files, records
                records += [(x.offset, x.key, x.value) for b in batches for x in b.records]
                offset = batches[-1].base_offset + batches[-1].last_offset_delta + 1
        deadline = time.monotonic() + 30
        while True:
            kafka = state(self.kafka.bootstrap, os.path.join(self.kafka.dir, "data"))
            runnel = state(self.runnel.bootstrap, self.runnel.data_dir)
            if (kafka == runnel and len(kafka[1]) < 12) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertLess(len(kafka[1]), 12, "Kafka's cleaner did not run")
        self.assertEqual(kafka, runnel)

    # ------------------------------------------------------------------ admin and transactions

    def test_create_partitions_delete_records_and_delete_topics(self):
        topic = unique_name("vk-admin")
        self.create_topic(topic, 1)
        self.produce(topic, kw.build_record_batch([(None, b"x")] * 3))

        def grow(name, count, validate=False):
            return {"Topics": [{"Name": name, "Count": count, "Assignments": None}],
                    "TimeoutMs": 10000, "ValidateOnly": validate}
        for name, count, validate in ((topic, 1, False), (topic, 0, False), (topic, 3, True),
                                      (unique_name("vk-none"), 3, False), (topic, 3, False)):
            with self.subTest(create_partitions=(name[:20], count, validate)):
                self.assert_same(37, 3, grow(name, count, validate))
        wait_for_topic(self.messages, self.kafka.bootstrap, topic)
        self.assert_same(3, 12, {"Topics": [{"Name": topic}], "AllowAutoTopicCreation": False})

        def delete(partition, offset):
            return {"Topics": [{"Name": topic, "Partitions": [
                {"PartitionIndex": partition, "Offset": offset}]}], "TimeoutMs": 10000}
        for partition, offset in ((0, 9), (0, -2), (7, 1), (0, 1), (0, -1)):
            with self.subTest(delete_records=(partition, offset)):
                self.assert_same(21, 2, delete(partition, offset))
        gone = unique_name("vk-gone")
        for version in (1, 6):
            body = ({"TopicNames": [gone], "TimeoutMs": 10000} if version < 6 else
                    {"Topics": [{"Name": gone, "TopicId": "AAAAAAAAAAAAAAAAAAAAAA"}],
                     "TimeoutMs": 10000})
            with self.subTest(delete_missing_topic=version):
                self.assert_same(20, version, body)
        self.assert_same(20, 6, {"Topics": [{"Name": topic, "TopicId": "AAAAAAAAAAAAAAAAAAAAAA"}],
                                 "TimeoutMs": 10000})

    def transaction_flow(self, bootstrap, topic, txn_id):
        """A transactional producer's path: InitProducerId, AddPartitionsToTxn, a transactional
        batch, abort, a read_committed Fetch; then the refusals. As [(step, answer facts)]
        without producer ids (each broker numbers its own)."""
        steps = []
        pid = self.retrying(bootstrap, 22, 4, {"TransactionalId": txn_id,
                                               "TransactionTimeoutMs": 60000,
                                               "ProducerId": -1, "ProducerEpoch": -1})
        steps.append(("init", pid["ErrorCode"], pid["ProducerEpoch"]))
        producer, epoch = pid["ProducerId"], pid["ProducerEpoch"]

        def add(pid_, epoch_, txn=txn_id, partition=0):
            r = call(self.messages, bootstrap, 24, 3, {
                "V3AndBelowTransactionalId": txn, "V3AndBelowProducerId": pid_,
                "V3AndBelowProducerEpoch": epoch_,
                "V3AndBelowTopics": [{"Name": topic, "Partitions": [partition]}]})
            return [p["PartitionErrorCode"] for t in r["ResultsByTopicV3AndBelow"]
                    for p in t["ResultsByPartition"]]
        steps.append(("add a partition", add(producer, epoch)))
        steps.append(("add at a stale epoch", add(producer, epoch - 1 if epoch else 5)))
        steps.append(("add for an unknown transactional id", add(producer, epoch, "nobody")))
        batch = kw.build_record_batch([(None, b"t")] * 2, producer_id=producer,
                                      producer_epoch=epoch, base_sequence=0,
                                      attributes=0x10)
        r = call(self.messages, bootstrap, 0, 9, {
            "TransactionalId": txn_id, "Acks": -1, "TimeoutMs": 10000, "TopicData": [{
                "Name": topic, "PartitionData": [{"Index": 0, "Records": batch}]}]})
        part = r["Responses"][0]["PartitionResponses"][0]
        steps.append(("transactional produce", part["ErrorCode"], part["BaseOffset"]))
        fetch = call(self.messages, bootstrap, 1, 12, self.fetch(topic, 0, isolation=1))
        p = fetch["Responses"][0]["Partitions"][0]
        steps.append(("read_committed fetch while open", p["ErrorCode"], p["HighWatermark"],
                      p["LastStableOffset"], len(p["Records"] or b"")))

        def end(commit, epoch_=epoch, txn=txn_id):
            return call(self.messages, bootstrap, 26, 4, {
                "TransactionalId": txn, "ProducerId": producer, "ProducerEpoch": epoch_,
                "Committed": commit})["ErrorCode"]
        steps.append(("end at a wrong epoch", end(False, epoch + 3)))
        steps.append(("abort", end(False)))
        deadline = time.monotonic() + 20
        while True:  # the markers are written after the answer
            fetch = call(self.messages, bootstrap, 1, 12, self.fetch(topic, 0, isolation=1))
            p = fetch["Responses"][0]["Partitions"][0]
            if p["LastStableOffset"] == p["HighWatermark"] or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        steps.append(("read_committed fetch after the abort", p["ErrorCode"],
                      p["HighWatermark"], p["LastStableOffset"],
                      [a["FirstOffset"] for a in p["AbortedTransactions"] or []]))
        steps.append(("end again", end(True)))
        r = call(self.messages, bootstrap, 65, 0, {"TransactionalIds": [txn_id, "nobody"]})
        steps.append(("describe", [(t["ErrorCode"], t["TransactionState"],
                                    len(t["Topics"])) for t in r["TransactionStates"]]))
        return steps

    def test_a_transaction_answers_alike(self):
        topic = unique_name("vk-txn-topic")
        self.create_topic(topic, 1)
        txn_id = unique_name("vk-txn")
        self.assertEqual(self.transaction_flow(self.kafka.bootstrap, topic, txn_id),
                         self.transaction_flow(self.runnel.bootstrap, topic, txn_id))
        # ListTransactions with filters, narrowed to this transaction (each broker has others
        # from other cases): by state, and by a duration no transaction reaches.

        def ours(r):
            return dict(r, TransactionStates=[dict(t, ProducerId=0) for t in
                                              r["TransactionStates"]
                                              if t["TransactionalId"] == txn_id])
        for filters in ({"StateFilters": [], "ProducerIdFilters": [], "DurationFilter": -1},
                        {"StateFilters": ["CompleteAbort"], "ProducerIdFilters": [],
                         "DurationFilter": -1},
                        {"StateFilters": ["Ongoing"], "ProducerIdFilters": [],
                         "DurationFilter": -1},
                        {"StateFilters": [], "ProducerIdFilters": [],
                         "DurationFilter": 3600000}):
            with self.subTest(filters=filters):
                self.assert_same(66, 1, filters, normalize=ours)
        # DescribeProducers: the transactional producer's state on the partition, and a
        # partition and a topic that do not exist. Producer ids are each broker's own.

        def without_ids(r):
            return dict(r, Topics=[dict(t, Partitions=[dict(p, ActiveProducers=[
                dict(a, ProducerId=0, LastTimestamp=a["LastTimestamp"] > 0)
                for a in p["ActiveProducers"]]) for p in t["Partitions"]])
                for t in r["Topics"]])
        self.assert_same(61, 0, {"Topics": [
            {"Name": topic, "PartitionIndexes": [0, 3]},
            {"Name": unique_name("vk-txn-missing"), "PartitionIndexes": [0]}]},
            normalize=without_ids)


class BadInputAgainstKafka(test_bad_input.BadInputTest):
    """test_bad_input.py's malformed and invalid requests, unchanged, against Kafka 4.4.0 with the
    same settings: where Runnel's answers are checked to be Kafka's, Kafka must pass too. The
    cases that check something of Runnel's own are skipped here, each with its reason."""

    RUNNEL_ONLY = {
        name: "checks the API versions Runnel advertises (CONTRACT_API_RANGES); the versions "
              "Kafka 4.4 has beyond them are listed in test_schema_facts.py"
        for name in ("test_api_versions_v0", "test_api_versions_v3",
                     "test_api_versions_unsupported_version")
    }

    @classmethod
    def setUpClass(cls):
        unittest.TestCase.setUpClass()
        if not kafka_jars():
            subprocess.run([os.path.join(REPO_ROOT, "scripts", "install-java-clients.sh")],
                           check=True, timeout=900)
        props = dict(cls.broker_properties)
        props.update(cls.broker_overrides)
        cls.messages = KafkaMessages.load()
        cls.broker = KafkaPeer(props, name="kafka-bad-input")
        try:
            VersusKafkaTest.warm_up.__func__(cls, cls.broker.bootstrap)
            cls.prepare_class()
            wait_for_topic(cls.messages, cls.broker.bootstrap, cls.topic)
        except BaseException:
            cls.broker.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.broker.cleanup()
        unittest.TestCase.tearDownClass()

    def setUp(self):
        why = self.RUNNEL_ONLY.get(self._testMethodName)
        if why:
            self.skipTest(why)
        super().setUp()


if __name__ == "__main__":
    unittest.main(verbosity=2)

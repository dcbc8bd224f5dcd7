#!/usr/bin/python3
"""Our protocol schema files (protocol/schema/*.msg) checked against the facts: Apache Kafka's
own message definitions, read at test time from the jars Maven resolved (kafka-clients for the
APIs and headers, the group and transaction coordinators' jars for the records of
__consumer_offsets and __transaction_state). Nothing of them is copied into the repository.

For every message both sides define, over the versions both describe: the same fields in the same
order, with the same names, types, nullability and tags, and the same flexible versions; our
newest version equal to Kafka's. Every mismatch is a failure unless ACCEPTED lists it with the
reason.

Run: python3 integration/test_schema_facts.py [-v]   (label java: needs the Maven cache)
"""

import glob
import os
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "protocol"))

import generate  # noqa: E402  (our schema parser)
sys.path.insert(0, HERE)
from kafka_messages import Range, kafka_jars  # noqa: E402
from kafka_messages import load_definitions as load_kafka_messages  # noqa: E402

# Differences we keep on purpose: (message, what) -> why. `what` is the text a mismatch reports.
NEWER = "newest version %d, Kafka's %d"
ACCEPTED = {
    # Versions Kafka 4 removed (KIP-896) that Runnel still describes are outside Kafka's range
    # and not compared. Listed here: versions newer than ours, added by Kafka 4.1-4.4 for features
    # Runnel does not build yet; clients negotiate down to the versions we advertise.
    **{(name + side, NEWER % (ours, kafkas)): why
       for name, ours, kafkas, why in [
           ("ApiVersions", 4, 5, "v5: ClusterId/NodeId checks and REBOOTSTRAP_REQUIRED (KIP-1242)"),
           ("ConsumerGroupDescribe", 0, 1, "v1: member type of upgraded classic members "
                                           "(KIP-1099)"),
           ("DeleteGroups", 2, 3, "v3: a per-group ErrorMessage"),
           ("DescribeCluster", 1, 2, "v2: IncludeFencedBrokers (KIP-1073): no fencing on a "
                                     "single node"),
           ("DescribeGroups", 5, 6, "v6: GROUP_ID_NOT_FOUND for unknown groups (KIP-1043)"),
           ("DescribeLogDirs", 4, 5, "v5: new response fields (KIP-1066 cordoned log dirs)"),
           ("Fetch", 17, 18, "v18: the high watermark per partition for KIP-1166"),
           ("InitProducerId", 5, 6, "v6: two-phase commit (KIP-939)"),
           ("ListOffsets", 10, 11, "v11: earliest pending upload offset (KIP-1023, tiered "
                                   "storage)"),
           ("ListTransactions", 1, 2, "v2: TransactionalIdPattern (KIP-1152)"),
           ("OffsetCommit", 9, 10, "v10: topic ids instead of names (KIP-848)"),
           ("OffsetFetch", 9, 10, "v10: topic ids instead of names (KIP-848)"),
           ("Produce", 12, 13, "v13: topic ids instead of names (KIP-516)"),
           ("TxnOffsetCommit", 4, 6, "v5 (transactions V2 semantics, KIP-890) and v6 (topic "
                                     "ids, KIP-1319)"),
           ("WriteTxnMarkers", 1, 2, "v2: TransactionVersion per marker (KIP-1228)"),
       ] for side in ("Request", "Response")},
}


def kafka_fields_at(fields, commons, v):
    """Kafka's fields present at version v: [(name, type, nullable, tag, children)]."""
    out = []
    for f in fields:
        if not Range(f.get("versions", f.get("taggedVersions", "none"))).has(v):
            continue
        tagged = "tag" in f and Range(f.get("taggedVersions", f.get("versions"))).has(v)
        nullable = Range(f.get("nullableVersions", "none")).has(v)
        typ = f["type"]
        elem = typ[2:] if typ.startswith("[]") else typ
        children = None
        if "fields" in f:
            children = kafka_fields_at(f["fields"], commons, v)
        elif elem in commons:
            children = kafka_fields_at(commons[elem], commons, v)
        shape = typ if children is None else ("[]" if typ.startswith("[]") else "") + "struct"
        out.append((f["name"], shape, nullable, f.get("tag") if tagged else None, children))
    return out


def our_fields_at(fields, commons, v):
    out = []
    for f in fields:
        if not f.versions.contains(v):
            continue
        tagged = f.tag is not None and f.tagged.contains(v)
        nullable = f.nullable.contains(v)
        children = None
        if f.children:
            children = our_fields_at(f.children, commons, v)
        elif f.elem in commons:
            children = our_fields_at(commons[f.elem], commons, v)
        shape = f.type if children is None else ("[]" if f.is_array else "") + "struct"
        out.append((f.name, shape, nullable, f.tag if tagged else None, children))
    return out


def compare_fields(ours, theirs, path, problems):
    # Names never go on the wire; Kafka's older record files spell them in lowerCamelCase.
    names_o = [f[0][0].lower() + f[0][1:] for f in ours]
    names_t = [f[0][0].lower() + f[0][1:] for f in theirs]
    if names_o != names_t:
        problems.append("%s: fields %s, Kafka has %s" % (path or "top level", names_o, names_t))
        return
    for o, t in zip(ours, theirs):
        where = (path + "." if path else "") + o[0]
        if o[1] != t[1]:
            problems.append("%s: type %s, Kafka's is %s" % (where, o[1], t[1]))
        if o[2] != t[2]:
            problems.append("%s: nullable %s, Kafka's %s" % (where, o[2], t[2]))
        if o[3] != t[3]:
            problems.append("%s: tag %s, Kafka's %s" % (where, o[3], t[3]))
        if o[4] is not None and t[4] is not None:
            compare_fields(o[4], t[4], where, problems)


def our_schemas():
    for path in sorted(glob.glob(os.path.join(REPO, "protocol", "schema", "*.msg"))):
        yield generate.parse_schema(path)


def kafka_name(schema, section):
    if schema.kind == "api":
        return schema.name + ("Request" if section == "request" else "Response")
    return schema.name


class SchemaFactsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not kafka_jars():
            subprocess.run([os.path.join(REPO, "scripts", "install-java-clients.sh")],
                           check=True, timeout=900)
        cls.kafka = load_kafka_messages()

    def test_the_jars_were_read(self):
        self.assertIn("ProduceRequest", self.kafka)
        self.assertIn("ConsumerGroupMetadataValue", self.kafka)
        self.assertIn("TransactionLogValue", self.kafka)

    def test_every_message_matches_kafkas_definition(self):
        problems, compared, unmatched, removed = [], 0, [], []
        for schema in our_schemas():
            for section, fields in schema.sections.items():
                name = kafka_name(schema, section)
                k = self.kafka.get(name)
                if k is None:
                    unmatched.append(name)
                    continue
                if Range(k["validVersions"]).lo is None:
                    # Gone from Kafka 4 (ZooKeeper mode's ControlledShutdown): its definition
                    # keeps no version to compare with; ours follows Kafka 3's.
                    removed.append(name)
                    continue
                compared += 1
                found = []
                kafka_valid = Range(k["validVersions"])
                kafka_flex = Range(k.get("flexibleVersions", "none"))
                commons = {c["name"]: c["fields"] for c in k.get("commonStructs", [])}
                our_commons = schema.commons
                if k["type"] == "header":
                    versions = [(v, v) for v in range(kafka_valid.lo, kafka_valid.hi + 1)
                                if schema.valid.contains(v)]
                elif k["type"] in ("request", "response"):
                    if schema.key != k["apiKey"]:
                        found.append("api key %s, Kafka's %s" % (schema.key, k["apiKey"]))
                    if schema.valid.hi != kafka_valid.hi:
                        found.append("newest version %s, Kafka's %s" % (
                            schema.valid.hi, kafka_valid.hi))
                    versions = [(v, v) for v in range(kafka_valid.lo, kafka_valid.hi + 1)
                                if schema.valid.contains(v)]
                else:
                    # Records of internal topics. Kafka 4 numbers a coordinator key's record type
                    # as its apiKey and the key itself at version 0; our key files carry the
                    # type as their one version. Compare each of ours with Kafka's lowest.
                    versions = []
                    for v in range(schema.valid.lo, (schema.valid.hi or schema.valid.lo) + 1):
                        kv = v if kafka_valid.has(v) else kafka_valid.lo
                        versions.append((v, kv))
                for ov, kv in versions:
                    if k["type"] in ("request", "response") and \
                            schema.flexible.contains(ov) != kafka_flex.has(kv):
                        found.append("v%d flexible %s, Kafka's %s" % (
                            ov, schema.flexible.contains(ov), kafka_flex.has(kv)))
                    sub = []
                    compare_fields(our_fields_at(fields, our_commons, ov),
                                   kafka_fields_at(k["fields"], commons, kv), "", sub)
                    found += ["v%d %s" % (ov, s) for s in sub]
                for f in found:
                    if (name, f) not in ACCEPTED:
                        problems.append("%s (%s): %s" % (name, os.path.basename(schema.path), f))
        self.assertGreater(compared, 60)
        # Our own records (e.g. the producer state snapshot) have no Kafka message definition.
        self.assertLessEqual(set(unmatched), {"ProducerSnapshot"}, unmatched)
        self.assertLessEqual(set(removed),
                             {"ControlledShutdownRequest", "ControlledShutdownResponse"}, removed)
        self.assertEqual(problems, [], "\n" + "\n".join(problems))


if __name__ == "__main__":
    unittest.main(verbosity=2)

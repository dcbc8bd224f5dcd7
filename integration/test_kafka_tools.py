#!/usr/bin/python3
"""Apache Kafka's own command-line tools (the pinned release of integration/java/pom.xml, run by
scripts/kafka-tool.sh) against a real Runnel broker: the commands the seed tutorials type.

Run: /usr/bin/python3 integration/test_kafka_tools.py [-v]
Needs Java 17 and Maven (scripts/install-deps.sh --test); the clients are resolved into
~/.cache/runnel-java on first use.
"""

import json
import os
import re
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from broker_process import REPO_ROOT, BrokerTestCase, unique_name, wait_until  # noqa: E402

KAFKA_TOOL = os.path.join(REPO_ROOT, "scripts", "kafka-tool.sh")
RUN_TIMEOUT = 90


def setUpModule():
    # Resolving the clients (once per machine) is not part of any test's time.
    subprocess.run([os.path.join(REPO_ROOT, "scripts", "install-java-clients.sh")], check=True,
                   timeout=600)


class KafkaToolsTest(BrokerTestCase):
    broker_properties = {"num.partitions": 1, "group.initial.rebalance.delay.ms": 0}

    def tool(self, name, *args, input=None, check=True):
        """Runs `name` (e.g. kafka-topics.sh) with --bootstrap-server added; returns stdout."""
        cmd = [KAFKA_TOOL, name, "--bootstrap-server", self.broker.bootstrap] + list(args)
        p = subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=RUN_TIMEOUT)
        if check and p.returncode != 0:
            self.fail("%s exited with %d\nstdout:\n%s\nstderr:\n%s" % (
                " ".join(cmd), p.returncode, p.stdout, p.stderr))
        return p.stdout

    def tool_output(self, name, *args, input=None):
        """Runs `name` like tool() and returns (exit code, stdout and stderr together), for the
        runs expected to fail and the messages they print."""
        p = subprocess.run([KAFKA_TOOL, name, "--bootstrap-server", self.broker.bootstrap]
                           + list(args), input=input, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=RUN_TIMEOUT)
        return p.returncode, p.stdout

    def produce_lines(self, topic, lines, keyed=False):
        args = ["--topic", topic]
        if keyed:
            args += ["--reader-property", "parse.key=true",
                     "--reader-property", "key.separator=:"]
        self.tool("kafka-console-producer.sh", *args, input="".join(l + "\n" for l in lines))

    def consume(self, topic, count, *extra):
        out = self.tool("kafka-console-consumer.sh", "--topic", topic, "--from-beginning",
                        "--max-messages", str(count), "--timeout-ms", "20000", *extra)
        return out.splitlines()

    def test_topics_create_describe_list_alter_delete(self):
        topic = unique_name("tool-topics")
        out = self.tool("kafka-topics.sh", "--create", "--topic", topic, "--partitions", "2",
                        "--replication-factor", "1", "--config", "retention.ms=3600000")
        self.assertIn("Created topic %s." % topic, out)
        self.assertIn(topic, self.tool("kafka-topics.sh", "--list").split())
        out = self.tool("kafka-topics.sh", "--describe", "--topic", topic)
        self.assertRegex(out, r"PartitionCount: 2\s+ReplicationFactor: 1")
        self.assertIn("retention.ms=3600000", out)
        self.tool("kafka-topics.sh", "--alter", "--topic", topic, "--partitions", "4")
        out = self.tool("kafka-topics.sh", "--describe", "--topic", topic)
        self.assertIn("PartitionCount: 4", out)
        self.assertEqual(len(re.findall(r"Partition: \d+\s+Leader: \d+", out)), 4)
        # Creating it again is refused with Kafka's message.
        _, out = self.tool_output("kafka-topics.sh", "--create", "--topic", topic)
        self.assertIn("already exists", out)
        self.tool("kafka-topics.sh", "--delete", "--topic", topic)
        wait_until(lambda: topic not in self.tool("kafka-topics.sh", "--list").split(),
                   message="the topic gone from --list")

    def test_console_producer_and_consumer_with_keys_and_a_group(self):
        topic = unique_name("tool-console")
        self.tool("kafka-topics.sh", "--create", "--topic", topic, "--partitions", "1")
        self.produce_lines(topic, ["k1:hello", "k2:world", "k3:again"], keyed=True)
        group = unique_name("readers")
        lines = self.consume(topic, 3, "--group", group, "--formatter-property", "print.key=true")
        self.assertEqual(lines, ["k1\thello", "k2\tworld", "k3\tagain"])
        out = self.tool("kafka-consumer-groups.sh", "--describe", "--group", group)
        self.assertRegex(out, r"%s\s+%s\s+0\s+3\s+3\s+0" % (re.escape(group), re.escape(topic)))
        self.assertIn(group, self.tool("kafka-consumer-groups.sh", "--list").split())
        # Back to the start, then the group reads everything again.
        out = self.tool("kafka-consumer-groups.sh", "--reset-offsets", "--group", group,
                        "--topic", topic, "--to-earliest", "--execute")
        self.assertRegex(out, r"%s\s+0\s+0" % re.escape(topic))
        lines = self.consume(topic, 3, "--group", group)
        self.assertEqual(lines, ["hello", "world", "again"])
        out = self.tool("kafka-consumer-groups.sh", "--delete", "--group", group)
        self.assertIn("Deletion of requested consumer groups ('%s') was successful." % group, out)

    def test_offsets_delete_records_and_configs(self):
        topic = unique_name("tool-offsets")
        self.tool("kafka-topics.sh", "--create", "--topic", topic, "--partitions", "1")
        self.produce_lines(topic, ["r%d" % i for i in range(10)])
        self.assertEqual(self.tool("kafka-get-offsets.sh", "--topic", topic).split(),
                         ["%s:0:10" % topic])
        spec = os.path.join(self.broker.tmpdir, "delete.json")
        with open(spec, "w") as f:
            f.write('{"partitions": [{"topic": "%s", "partition": 0, "offset": 4}], '
                    '"version": 1}' % topic)
        out = self.tool("kafka-delete-records.sh", "--offset-json-file", spec)
        self.assertRegex(out, r"partition: %s-0\s+low_watermark: 4" % re.escape(topic))
        self.assertEqual(self.consume(topic, 6), ["r%d" % i for i in range(4, 10)])
        out = self.tool("kafka-configs.sh", "--describe", "--entity-type", "topics",
                        "--entity-name", topic, "--all")
        self.assertIn("segment.bytes=1073741824", out)
        out = self.tool("kafka-configs.sh", "--describe", "--entity-type", "brokers",
                        "--entity-name", "0", "--all")
        self.assertIn("num.partitions=1", out)

    def test_configs_alter_and_log_dirs(self):
        topic = unique_name("tool-alter")
        self.tool("kafka-topics.sh", "--create", "--topic", topic, "--partitions", "2")
        configs = ["--entity-type", "topics", "--entity-name", topic]
        out = self.tool("kafka-configs.sh", "--alter", *configs,
                        "--add-config", "retention.ms=60000,cleanup.policy=[delete,compact]")
        self.assertIn("Completed updating config for topic %s." % topic, out)
        out = self.tool("kafka-configs.sh", "--describe", *configs)
        self.assertIn("retention.ms=60000 sensitive=false", out)
        self.assertIn("cleanup.policy=delete,compact sensitive=false", out)
        # Unkeyed records are refused while the policy compacts; back to the default.
        self.tool("kafka-configs.sh", "--alter", *configs, "--delete-config",
                  "retention.ms,cleanup.policy")
        out = self.tool("kafka-configs.sh", "--describe", *configs)
        self.assertNotIn("retention.ms=", out)
        self.assertNotIn("cleanup.policy=", out)
        # A bad value is refused with Kafka's message, and nothing changes.
        code, out = self.tool_output("kafka-configs.sh", "--alter", *configs, "--add-config",
                                     "segment.bytes=5")
        self.assertNotEqual(code, 0)
        self.assertIn("InvalidConfigurationException: Invalid value 5 for configuration "
                      "segment.bytes", out)
        self.assertNotIn("segment.bytes", self.tool("kafka-configs.sh", "--describe", *configs))
        # Broker loggers (KIP-412).
        loggers = ["--entity-type", "broker-loggers", "--entity-name", "0"]
        self.tool("kafka-configs.sh", "--alter", *loggers, "--add-config", "storage=DEBUG")
        self.assertIn("storage=DEBUG", self.tool("kafka-configs.sh", "--describe", *loggers))
        self.tool("kafka-configs.sh", "--alter", *loggers, "--delete-config", "storage")
        self.assertIn("storage=INFO", self.tool("kafka-configs.sh", "--describe", *loggers))

        self.produce_lines(topic, ["x" * 100] * 5)
        out = self.tool("kafka-log-dirs.sh", "--describe", "--topic-list", topic)
        report = json.loads(out.strip().splitlines()[-1])
        (broker,) = report["brokers"]
        (log_dir,) = broker["logDirs"]
        self.assertEqual(log_dir["logDir"], os.path.abspath(self.broker.data_dir))
        self.assertIsNone(log_dir["error"])
        sizes = {p["partition"]: p["size"] for p in log_dir["partitions"]}
        self.assertEqual(set(sizes), {topic + "-0", topic + "-1"})
        self.assertGreater(sum(sizes.values()), 500)

    def test_broker_configs_alter_describe_and_survive_a_restart(self):
        """kafka-configs on brokers (KIP-226): a cluster default and a per-broker value are
        stored, described with their sources, inherited by topics at once, kept across a
        restart, and deleted again; a key that cannot change at run time is refused."""
        topic = unique_name("tool-broker-configs")
        self.tool("kafka-topics.sh", "--create", "--topic", topic)
        default = ["--entity-type", "brokers", "--entity-default"]
        broker = ["--entity-type", "brokers", "--entity-name", "0"]
        try:
            out = self.tool("kafka-configs.sh", "--alter", *default,
                            "--add-config", "message.max.bytes=2000")
            self.assertIn("Completed updating default config for brokers in the cluster.", out)
            self.tool("kafka-configs.sh", "--alter", *broker,
                      "--add-config", "log.cleaner.backoff.ms=1000")
            self.assertIn("message.max.bytes=2000 sensitive=false",
                          self.tool("kafka-configs.sh", "--describe", *default))
            out = self.tool("kafka-configs.sh", "--describe", *broker)
            self.assertIn("log.cleaner.backoff.ms=1000 sensitive=false "
                          "synonyms={DYNAMIC_BROKER_CONFIG:log.cleaner.backoff.ms=1000", out)
            # The topic inherits the new default at once: a 5,000-byte record is too large.
            out = self.tool("kafka-configs.sh", "--describe", "--all", "--entity-type",
                            "topics", "--entity-name", topic)
            self.assertIn("max.message.bytes=2000 sensitive=false "
                          "synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:message.max.bytes=2000", out)
            _, out = self.tool_output("kafka-console-producer.sh", "--topic", topic,
                                      input="x" * 5000 + "\n")
            self.assertIn("RecordTooLargeException", out)
            # Thread counts and the like are read from server.properties only.
            code, out = self.tool_output("kafka-configs.sh", "--alter", *default,
                                         "--add-config", "num.partitions=3")
            self.assertNotEqual(code, 0)
            self.assertIn("Cannot update these configs dynamically: [num.partitions]", out)

            self.broker.restart()
            self.assertIn("message.max.bytes=2000 sensitive=false",
                          self.tool("kafka-configs.sh", "--describe", *default))
            self.assertIn("log.cleaner.backoff.ms=1000",
                          self.tool("kafka-configs.sh", "--describe", *broker))
        finally:
            self.tool("kafka-configs.sh", "--alter", *default, "--delete-config",
                      "message.max.bytes", check=False)
            self.tool("kafka-configs.sh", "--alter", *broker, "--delete-config",
                      "log.cleaner.backoff.ms", check=False)
        self.assertNotIn("message.max.bytes", self.tool("kafka-configs.sh", "--describe",
                                                         *default))
        self.produce_lines(topic, ["x" * 5000])
        self.assertEqual(len(self.consume(topic, 1)[0]), 5000)

    def test_quotas_reassignments_and_elections_on_one_node(self):
        """The admin tools that ask about replicas and quotas get a single node's honest answers:
        no quotas set, no reassignment in progress, every leader already the preferred one."""
        topic = unique_name("tool-elect")
        self.tool("kafka-topics.sh", "--create", "--topic", topic, "--partitions", "2")
        out = self.tool("kafka-configs.sh", "--describe", "--entity-type", "clients")
        self.assertNotIn("Quota configs", out)
        self.assertIn("No partition reassignments found.",
                      self.tool("kafka-reassign-partitions.sh", "--list"))
        out = self.tool("kafka-leader-election.sh", "--election-type", "preferred", "--topic",
                        topic, "--partition", "1")
        self.assertIn("Valid replica already elected for partitions %s-1" % topic, out)
        # What Runnel does not build yet fails with the Java client's own unsupported message.
        code, out = self.tool_output("kafka-configs.sh", "--alter", "--entity-type", "clients",
                                     "--entity-name", "app", "--add-config",
                                     "producer_byte_rate=1024")
        self.assertNotEqual(code, 0)
        self.assertIn("The node does not support ALTER_CLIENT_QUOTAS", out)

    def test_java_consumer_with_the_kip848_protocol(self):
        """The Java KafkaConsumer with group.protocol=consumer (KIP-848): the broker assigns;
        kafka-consumer-groups describes the live members."""
        topic, group = unique_name("tool-848"), unique_name("j848")
        self.tool("kafka-topics.sh", "--create", "--topic", topic, "--partitions", "3")
        self.produce_lines(topic, ["m%d" % i for i in range(6)])
        cmd = [KAFKA_TOOL, "kafka-console-consumer.sh", "--bootstrap-server",
               self.broker.bootstrap, "--topic", topic, "--group", group, "--from-beginning",
               "--command-property", "group.protocol=consumer"]
        consumer = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                    text=True)
        self.addCleanup(lambda: consumer.poll() is None and consumer.kill())
        got = [consumer.stdout.readline().strip() for _ in range(6)]
        self.assertEqual(sorted(got), ["m%d" % i for i in range(6)])
        out = self.tool("kafka-consumer-groups.sh", "--describe", "--group", group, "--members")
        # One member holding the 3 partitions.
        self.assertRegex(out, r"%s\s+\S+\s+/127\.0\.0\.1\s+\S+\s+3" % re.escape(group))
        out = self.tool("kafka-consumer-groups.sh", "--describe", "--group", group, "--state")
        self.assertRegex(out, r"%s\s+\S+\s+\(0\)\s+uniform\s+Stable\s+1" % re.escape(group))
        consumer.terminate()
        consumer.wait(timeout=30)
        consumer.stdout.close()

    def test_seed_commands_with_the_kafka_2_8_tools(self):
        """The seed tutorials' own commands, with the Kafka 2.8 tools they were written for:
        kafka-console-producer --broker-list (gone from 4.x), the consumer, topics, groups."""
        old = [KAFKA_TOOL, "--release", "2.8"]
        topic, group = unique_name("seed-hw4"), unique_name("seed-readers")
        out = subprocess.run(old + ["kafka-topics.sh", "--create", "--bootstrap-server",
                                    self.broker.bootstrap, "--replication-factor", "1",
                                    "--partitions", "2", "--topic", topic],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             timeout=RUN_TIMEOUT)
        self.assertEqual(out.returncode, 0, out.stdout)
        self.assertIn("Created topic %s." % topic, out.stdout)
        p = subprocess.run(old + ["kafka-console-producer.sh", "--broker-list",
                                  self.broker.bootstrap, "--topic", topic],
                           input="hello\nfrom\nthe seeds\n", stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=RUN_TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = subprocess.run(old + ["kafka-console-consumer.sh", "--bootstrap-server",
                                  self.broker.bootstrap, "--topic", topic, "--from-beginning",
                                  "--group", group, "--max-messages", "3",
                                  "--timeout-ms", "20000"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=RUN_TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(p.stdout.splitlines()), ["from", "hello", "the seeds"])
        p = subprocess.run(old + ["kafka-consumer-groups.sh", "--bootstrap-server",
                                  self.broker.bootstrap, "--describe", "--group", group],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=RUN_TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stderr)
        lags = re.findall(r"%s\s+%s\s+\d+\s+(\d+)\s+(\d+)\s+(\d+)" % (
            re.escape(group), re.escape(topic)), p.stdout)
        self.assertEqual(len(lags), 2, p.stdout)
        self.assertEqual(sum(int(end) for _, end, _ in lags), 3)
        self.assertEqual([lag for _, _, lag in lags], ["0", "0"])

    def test_perf_tests_and_idempotent_default_producer(self):
        topic = unique_name("tool-perf")
        self.tool("kafka-topics.sh", "--create", "--topic", topic, "--partitions", "2")
        # The Java producer is idempotent by default (acks=all, enable.idempotence=true).
        out = subprocess.run(
            [KAFKA_TOOL, "kafka-producer-perf-test.sh", "--topic", topic, "--num-records",
             "20000", "--record-size", "100", "--throughput", "-1", "--producer-props",
             "bootstrap.servers=" + self.broker.bootstrap],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=RUN_TIMEOUT)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"20000 records sent")
        out = self.tool("kafka-get-offsets.sh", "--topic", topic)
        total = sum(int(line.rsplit(":", 1)[1]) for line in out.split())
        self.assertEqual(total, 20000)
        out = self.tool("kafka-consumer-perf-test.sh", "--topic", topic, "--messages", "20000",
                        "--timeout", "30000")
        self.assertRegex(out, r"\n[^\n]*,\s*20000,")

    def test_transactions_list_describe_and_describe_producers(self):
        """kafka-transactions list / describe / describe-producers while a transaction of a
        real transactional producer (librdkafka) is open, and after it commits."""
        from confluent_kafka import Producer
        topic = unique_name("tool-txn")
        txn_id = unique_name("tool-txn-id")
        self.tool("kafka-topics.sh", "--create", "--topic", topic)
        producer = Producer({"bootstrap.servers": self.broker.bootstrap,
                             "transactional.id": txn_id})
        producer.init_transactions(30)
        producer.begin_transaction()
        producer.produce(topic, b"in a transaction")
        self.assertEqual(producer.flush(30), 0)

        out = self.tool("kafka-transactions.sh", "list")
        self.assertRegex(out, r"\n%s\s+\d+\s+\d+\s+Ongoing" % re.escape(txn_id))
        out = self.tool("kafka-transactions.sh", "describe", "--transactional-id", txn_id)
        self.assertRegex(out, r"%s\s+\d+\s+\d+\s+Ongoing" % re.escape(txn_id))
        self.assertIn("%s-0" % topic, out)
        # The open transaction starts at offset 0 of the partition; epoch 0, last sequence 0,
        # and no coordinator epoch yet (-1: no marker written), as Kafka shows it.
        out = self.tool("kafka-transactions.sh", "describe-producers", "--topic", topic,
                        "--partition", "0")
        self.assertRegex(out, r"ProducerId.*CurrentTransactionStartOffset")
        self.assertRegex(out, r"\n\d+\s+0\s+-1\s+0\s+\d+\s+0\s*\n")

        producer.commit_transaction(30)
        out = self.tool("kafka-transactions.sh", "describe", "--transactional-id", txn_id)
        self.assertRegex(out, r"%s\s+\d+\s+\d+\s+CompleteCommit" % re.escape(txn_id))
        self.assertEqual(self.consume(topic, 1, "--isolation-level", "read_committed"),
                         ["in a transaction"])


if __name__ == "__main__":
    unittest.main()

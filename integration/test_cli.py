#!/usr/bin/python3
"""The `runnel` command (the broker's binary with a command as its first argument) against a real
broker's admin API, as an operator types it: cluster info; topics created with partitions and
configs, listed, described (after a real client produced), deleted; a consumer group described
with its lag and seeked; a pipeline applied from a file, listed, its results read, deleted;
--format json for scripts; and the exit codes scripts rely on: 0 done, 1 refused by the broker
(its reason on stderr), 2 a usage mistake, 3 no broker at the address (named in the message).

Run: /usr/bin/python3 integration/test_cli.py [-v]
"""

import json
import os
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import confluent_kafka  # noqa: E402
from broker_process import BrokerTestCase, find_broker_binary, unique_name, wait_until  # noqa: E402,E501
from ck_helpers import group_with_commit  # noqa: E402


class CliTest(BrokerTestCase):
    broker_pipelines = True

    def runnel(self, *args, admin=None, stdin=""):
        """(exit code, stdout, stderr) of `runnel ARGS` against the test broker."""
        env = dict(os.environ, RUNNEL_ADMIN=admin or self.broker.admin_url)
        p = subprocess.run([find_broker_binary()] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60, env=env, input=stdin)
        return p.returncode, p.stdout, p.stderr

    def ok(self, *args, stdin=""):
        code, out, err = self.runnel(*args, stdin=stdin)
        self.assertEqual(code, 0, "runnel %s: %s%s" % (" ".join(args), out, err))
        return out

    def test_cluster_info_in_text_and_json(self):
        out = self.ok("cluster", "info")
        self.assertIn("PLAINTEXT://127.0.0.1:%d" % self.broker.port, out)
        info = json.loads(self.ok("--format", "json", "cluster", "info"))
        self.assertEqual(info["brokers"][0]["listeners"][0]["port"], self.broker.port)
        self.assertIn(info["cluster_id"], out)

    def test_topics_created_described_and_deleted(self):
        topic = unique_name("cli-topic")
        out = self.ok("topic", "create", topic, "-p", "3", "-c", "retention.ms=600000")
        self.assertIn("created topic %s with 3 partition(s)" % topic, out)
        self.assertIn(topic, self.ok("topic", "list"))
        p = confluent_kafka.Producer({"bootstrap.servers": self.broker.bootstrap})
        for _ in range(4):
            p.produce(topic, b"x", partition=2)
        self.assertEqual(p.flush(30), 0)
        out = self.ok("topic", "describe", topic)
        rows = [line.split() for line in out.splitlines()]
        self.assertIn(["2", "0", "0", "4"], [r[:4] for r in rows if r and r[0] == "2"])
        self.assertIn(["retention.ms", "600000", "DYNAMIC_TOPIC_CONFIG"], rows)
        described = json.loads(self.ok("--format", "json", "topic", "describe", topic))
        self.assertEqual(described["partitions"][2]["log_end_offset"], 4)

        code, out, err = self.runnel("topic", "create", topic)
        self.assertEqual(code, 1)
        self.assertIn("error:", err)
        self.assertIn("(field name)", err)
        self.assertIn("deleted topic", self.ok("topic", "delete", topic))
        code, _, err = self.runnel("topic", "delete", topic)
        self.assertEqual((code, "no topic named '%s'" % topic in err), (1, True))

    def test_a_group_described_and_seeked(self):
        topic, group = unique_name("cli-grouped"), unique_name("cli-readers")
        self.ok("topic", "create", topic)
        c = group_with_commit(self.broker.bootstrap, topic, group,
                              [b"%d" % i for i in range(5)], committed=4)
        self.assertIn(group, self.ok("group", "list"))
        out = self.ok("group", "describe", group)
        self.assertIn("Stable, 1 member(s), lag 1", out)
        self.assertIn([topic, "0", "4", "5", "1"], [line.split() for line in out.splitlines()])
        code, _, err = self.runnel("group", "seek", group, "--topic", topic, "--to", "earliest")
        self.assertEqual(code, 1)
        self.assertIn("has members", err)
        c.close()
        wait_until(lambda: "0 member(s)" in self.ok("group", "describe", group), timeout=30,
                   message="the member gone")
        out = self.ok("group", "seek", group, "--topic", topic, "--to", "earliest")
        self.assertIn([topic, "0", "0"], [line.split() for line in out.splitlines()])
        self.assertIn("lag 5", self.ok("group", "describe", group))
        code, _, err = self.runnel("group", "seek", group, "--topic", topic, "--to", "soon")
        self.assertEqual(code, 2)

    def test_a_pipeline_applied_listed_read_and_deleted(self):
        name, source, sink = unique_name("cli-counts"), unique_name("cli-lines"), \
            unique_name("cli-out")
        path = os.path.join(self.broker.tmpdir, "counts.yaml")
        with open(path, "w") as f:
            f.write("pipeline: %s\nsource: {topic: %s, format: text}\nsteps:\n"
                    "  - flat_map: {split: \" \"}\n  - count: {by: value}\n"
                    "emit: on_update\nsink: {topic: %s, format: json}\n" % (name, source, sink))
        self.assertIn("pipeline %s applied" % name, self.ok("pipeline", "apply", path))
        wait_until(lambda: "running" in self.ok("pipeline", "list"), timeout=30,
                   message="the pipeline running")
        p = confluent_kafka.Producer({"bootstrap.servers": self.broker.bootstrap})
        p.produce(source, b"x y x")
        self.assertEqual(p.flush(30), 0)

        def counts():
            doc = json.loads(self.ok("--format", "json", "pipeline", "results", name, "--by-key"))
            return {r["key"]: r["value"]["count"] for r in doc["results"]}
        wait_until(lambda: counts() == {"x": 2, "y": 1}, timeout=30, message="the counts")
        self.assertIn("x", self.ok("pipeline", "results", name, "-n", "1"))
        self.assertIn("deleted pipeline", self.ok("pipeline", "delete", name))
        bad = os.path.join(self.broker.tmpdir, "bad.yaml")
        with open(bad, "w") as f:
            f.write("pipeline: broken\nsource: {topic: a}\nsteps:\n  - frobnicate: {}\n")
        code, _, err = self.runnel("pipeline", "apply", bad)
        self.assertEqual(code, 1)
        self.assertIn("unknown step 'frobnicate'", err)

    def test_lines_produced_and_consumed(self):
        topic = unique_name("cli-records")
        self.ok("topic", "create", topic, "-p", "2")
        out = self.ok("topic", "produce", topic, "--key-separator", ":", "-H", "src=cli",
                      stdin="a:one\nb:two\na:three\n")
        self.assertEqual(out, "produced 3 record(s) to %s\n" % topic)
        lines = self.ok("topic", "consume", topic, "--print-key", "--print-headers").splitlines()
        self.assertEqual(sorted(lines), ["src:cli\ta\tone", "src:cli\ta\tthree",
                                         "src:cli\tb\ttwo"])
        # One key, one partition, in order (Kafka's default partitioner).
        records = [json.loads(line) for line in
                   self.ok("--format", "json", "topic", "consume", topic).splitlines()]
        a = [(r["partition"], r["offset"], r["value"]) for r in records if r["key"] == "a"]
        self.assertEqual([v for _, _, v in a], ["one", "three"])
        self.assertEqual(a[0][0], a[1][0])
        self.assertLess(a[0][1], a[1][1])
        # -N: the last N of each partition; -n: stop after N.
        self.assertEqual(self.ok("topic", "consume", topic, "-p", str(a[0][0]),
                                 "--offset=-1").splitlines(), ["three"])
        self.assertEqual(len(self.ok("topic", "consume", topic, "-n", "1").splitlines()), 1)
        # A Kafka consumer sees what the CLI wrote.
        c = confluent_kafka.Consumer({"bootstrap.servers": self.broker.bootstrap,
                                      "group.id": unique_name("g"),
                                      "auto.offset.reset": "earliest"})
        c.subscribe([topic])
        seen = []
        deadline = time.monotonic() + 60
        while len(seen) < 3 and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                seen.append((m.key(), m.value(), m.headers()))
        c.close()
        self.assertEqual(sorted(seen), [(b"a", b"one", [("src", b"cli")]),
                                        (b"a", b"three", [("src", b"cli")]),
                                        (b"b", b"two", [("src", b"cli")])])

    def test_a_long_produce_shows_progress_and_a_follower_sees_new_records(self):
        topic = unique_name("cli-long")
        self.ok("topic", "create", topic, "-p", "1")
        n = 20000
        code, out, err = self.runnel("--format", "json", "topic", "produce", topic, "--progress",
                                     stdin="".join("record %d\n" % i for i in range(n)))
        self.assertEqual(code, 0, err)
        self.assertEqual(json.loads(out), {"topic": topic, "records": n, "partitions": [
            {"partition": 0, "first_offset": 0, "last_offset": n - 1}]})
        self.assertRegex(err, r"produced %d records, [0-9.]+ MB in [0-9.]+ s" % n)
        code, out, err = self.runnel("topic", "consume", topic, "--progress")
        self.assertEqual(code, 0, err)
        self.assertEqual(out.splitlines(), ["record %d" % i for i in range(n)])
        self.assertIn("consumed %d records" % n, err)

        follower = subprocess.Popen(
            [find_broker_binary(), "topic", "consume", topic, "--offset", "end", "-f", "-n", "2"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, RUNNEL_ADMIN=self.broker.admin_url))
        try:
            time.sleep(1)
            self.assertIsNone(follower.poll())  # waiting at the end
            self.ok("topic", "produce", topic, stdin="late 1\nlate 2\n")
            out, err = follower.communicate(timeout=30)
        finally:
            follower.kill()
        self.assertEqual((follower.returncode, out), (0, "late 1\nlate 2\n"), err)

    def test_bytes_that_are_not_text_and_large_requests(self):
        topic = unique_name("cli-bytes")
        self.ok("topic", "create", topic, "-p", "1")
        env = dict(os.environ, RUNNEL_ADMIN=self.broker.admin_url)
        binary = [find_broker_binary(), "topic"]
        p = subprocess.run(binary + ["produce", topic, "-H", b"h=\xff"],
                           input=b"text\n\xff\xfe not text\n", stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = subprocess.run(binary + ["consume", topic, "--print-headers"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"h:\xff\ttext\nh:\xff\t\xff\xfe not text\n")
        # 1,000 lines of 600-byte keys and 400-byte values: more than one request's worth of
        # JSON, split before the API's 1 MiB limit.
        lines = "".join("%s:%s\n" % (("k%04d" % i) * 120, "v" * 400) for i in range(1000))
        out = self.ok("topic", "produce", topic, "--key-separator", ":", stdin=lines)
        self.assertEqual(out, "produced 1000 record(s) to %s\n" % topic)
        self.assertEqual(len(self.ok("topic", "consume", topic, "--offset", "2").splitlines()),
                         1000)
        # -N is bounded; `end` under read_committed is the last stable offset.
        self.assertEqual(self.runnel("topic", "consume", topic, "--offset=-0")[0], 2)
        self.assertEqual(self.runnel("topic", "consume", topic, "--offset=-1001")[0], 2)
        self.assertEqual(self.ok("topic", "consume", topic, "--offset", "end",
                                 "--isolation", "read_committed"), "")

    def test_exit_codes_for_mistakes_and_an_absent_broker(self):
        self.assertEqual(self.runnel("topic")[0], 2)                # no subcommand
        self.assertEqual(self.runnel("topic", "create")[0], 2)      # no name
        self.assertEqual(self.runnel("--format", "yaml", "topic", "list")[0], 2)
        self.assertEqual(self.runnel("topic", "create", "t", "-c", "nokey")[0], 2)
        self.assertEqual(self.runnel("pipeline", "apply", "/no/such/file.yaml")[0], 2)
        code, _, err = self.runnel("topic", "list", admin="http://127.0.0.1:1")
        self.assertEqual(code, 3)
        self.assertIn("cannot reach the admin API at http://127.0.0.1:1", err)
        code, _, err = self.runnel("topic", "list", admin="127.0.0.1:9644")
        self.assertEqual(code, 2)
        self.assertIn("http://host:port", err)
        code, _, err = self.runnel("topic", "consume", "no-such-topic")
        self.assertEqual(code, 1)
        self.assertIn("no topic named 'no-such-topic'", err)
        code, _, err = self.runnel("topic", "produce", "no-such-topic", stdin="x\n")
        self.assertEqual(code, 1)
        self.assertIn("no topic named 'no-such-topic'", err)
        self.assertEqual(self.runnel("topic", "consume", "t", "--offset", "soon")[0], 2)
        self.assertEqual(self.runnel("topic", "produce", "t", "--key-separator", ":",
                                     stdin="no separator\n")[0], 2)
        code, out, _ = self.runnel("topic", "--help")
        self.assertEqual(code, 0)
        self.assertIn("create", out)


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/python3
"""The admin HTTP API (runnel.admin.listeners) of a real broker, driven over HTTP/1.1 with the
standard library: health and readiness, the cluster, topics created, described with their
partitions' offsets (after a real client produced to them) and deleted, pipelines put as YAML,
listed and removed, the OpenAPI document served; and every kind of bad request answered with
its 4xx and a JSON error naming the field — bad JSON, wrong types, out-of-range and unknown
fields, a wrong media type, oversized bodies, headers and paths, broken escapes, unknown paths,
wrong methods, bytes that are not HTTP — while the Kafka listener and other admin clients keep
being served.

Run: /usr/bin/python3 integration/test_admin_api.py [-v]
"""

import http.client
import json
import os
import re
import socket
import sys
import time
import unittest
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import confluent_kafka  # noqa: E402
import confluent_kafka.admin  # noqa: E402
from broker_process import BrokerTestCase, unique_name, wait_until  # noqa: E402
from ck_helpers import group_with_commit  # noqa: E402

WORD_COUNT = """pipeline: %s
source: {topic: %s, format: text}
steps:
  - flat_map: {split: " "}
  - count: {by: value}
emit: on_update
sink: {topic: %s, format: json}
"""


class AdminApiTest(BrokerTestCase):
    broker_pipelines = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        url = urllib.parse.urlparse(cls.broker.admin_url)
        cls.admin = (url.hostname, url.port)

    def call(self, method, path, body=None, content_type="application/json", headers=None):
        """(status, decoded JSON or None, response headers) of one request on a new connection."""
        c = http.client.HTTPConnection(*self.admin, timeout=30)
        try:
            h = dict(headers or {})
            if body is not None:
                if not isinstance(body, (bytes, str)):
                    body = json.dumps(body)
                h["Content-Type"] = content_type
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            doc = json.loads(data) if data and r.getheader("Content-Type") == "application/json" \
                else None
            return r.status, doc, dict(r.getheaders())
        finally:
            c.close()

    def raw(self, data):
        """What the server sends back to `data` before it closes (or 5 s pass)."""
        with socket.create_connection(self.admin, timeout=5) as s:
            s.sendall(data)
            out = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    out += chunk
            except socket.timeout:
                pass
            return out

    def assertRefused(self, answer, status, field=None):
        got, doc, _ = answer
        self.assertEqual(got, status, doc)
        self.assertIsInstance(doc, dict)
        self.assertIn("error", doc)
        if field is not None:
            self.assertEqual(doc.get("field"), field, doc)

    # ------------------------------------------------------------------ what works

    def test_health_ready_and_the_cluster(self):
        self.assertEqual(self.call("GET", "/v1/health")[:2], (200, {"status": "ok"}))
        self.assertEqual(self.call("GET", "/v1/ready")[:2],
                         (200, {"ready": True, "status": "ready"}))
        status, cluster, _ = self.call("GET", "/v1/cluster")
        self.assertEqual(status, 200)
        self.assertTrue(cluster["cluster_id"])
        self.assertEqual(len(cluster["brokers"]), 1)
        listener = cluster["brokers"][0]["listeners"][0]
        self.assertEqual((listener["name"], listener["port"]), ("PLAINTEXT", self.broker.port))

    def test_the_openapi_document_lists_every_route_and_each_get_answers(self):
        status, doc, _ = self.call("GET", "/v1/openapi.json")
        self.assertEqual(status, 200)
        self.assertEqual(doc["openapi"], "3.0.3")
        for path, ops in doc["paths"].items():
            if "{" in path or "get" not in ops:
                continue
            got = self.call("GET", path)[0]
            self.assertIn(str(got), ops["get"]["responses"], path)

    def test_a_topic_created_described_produced_to_and_deleted(self):
        name = unique_name("admin-topic")
        status, doc, _ = self.call("POST", "/v1/topics", {
            "name": name, "partitions": 3, "configs": {"retention.ms": "600000"}})
        self.assertEqual(status, 201, doc)
        self.assertEqual((doc["name"], doc["partitions"], doc["internal"]), (name, 3, False))
        self.assertIn(name, [t["name"] for t in self.call("GET", "/v1/topics")[1]])

        p = confluent_kafka.Producer({"bootstrap.servers": self.broker.bootstrap})
        for i in range(5):
            p.produce(name, b"v%d" % i, partition=1)
        self.assertEqual(p.flush(30), 0)
        status, topic, _ = self.call("GET", "/v1/topics/" + name)
        self.assertEqual(status, 200)
        self.assertEqual(topic["configs"], {"retention.ms": "600000"})
        ends = [(q["partition"], q["log_start_offset"], q["log_end_offset"])
                for q in topic["partitions"]]
        self.assertEqual(ends, [(0, 0, 0), (1, 0, 5), (2, 0, 0)])
        self.assertGreater(topic["partitions"][1]["size_bytes"], 0)
        self.assertEqual(topic["partitions"][1]["segments"], 1)

        self.assertRefused(self.call("POST", "/v1/topics", {"name": name}), 409, "name")
        self.assertEqual(self.call("DELETE", "/v1/topics/" + name)[0], 204)
        self.assertRefused(self.call("GET", "/v1/topics/" + name), 404)
        self.assertRefused(self.call("DELETE", "/v1/topics/" + name), 404)

    def test_topic_configs_described_and_altered(self):
        name = unique_name("configured")
        self.assertEqual(self.call("POST", "/v1/topics", {
            "name": name, "configs": {"retention.ms": "600000"}})[0], 201)
        status, configs, _ = self.call("GET", "/v1/topics/%s/configs" % name)
        self.assertEqual(status, 200)
        by_name = {c["name"]: c for c in configs}
        self.assertEqual((by_name["retention.ms"]["value"], by_name["retention.ms"]["source"]),
                         ("600000", "DYNAMIC_TOPIC_CONFIG"))
        self.assertEqual(by_name["cleanup.policy"]["source"], "DEFAULT_CONFIG")
        self.assertTrue(by_name["cleanup.policy"]["documentation"])

        status, doc, _ = self.call("PATCH", "/v1/topics/%s/configs" % name, {
            "set": {"cleanup.policy": "compact"}, "delete": ["retention.ms"]})
        self.assertEqual((status, doc), (200, {"configs": {"cleanup.policy": "compact"}}))
        by_name = {c["name"]: c for c in self.call("GET", "/v1/topics/%s/configs" % name)[1]}
        self.assertEqual(by_name["cleanup.policy"]["value"], "compact")
        self.assertEqual(by_name["retention.ms"]["source"], "DEFAULT_CONFIG")

        patch = lambda body: self.call("PATCH", "/v1/topics/%s/configs" % name, body)  # noqa
        self.assertRefused(patch({"set": {"retention.ms": "soon"}}), 400, "set")
        self.assertRefused(patch({"set": {"no.such.config": "1"}}), 400, "set")
        self.assertRefused(patch({"delete": "retention.ms"}), 400, "delete")
        self.assertRefused(patch({"delete": [3]}), 400, "delete[0]")
        self.assertRefused(patch({"sets": {}}), 400, "sets")
        self.assertRefused(self.call("PATCH", "/v1/topics/no-such/configs", {"set": {}}), 404)
        self.assertRefused(self.call("GET", "/v1/topics/no-such/configs"), 404)
        self.assertEqual(
            {c["name"]: c["value"] for c in self.call("GET", "/v1/topics/%s/configs" % name)[1]}
            ["cleanup.policy"], "compact")  # nothing half-applied

    def test_an_open_transaction_and_its_producer(self):
        topic, txn = unique_name("txn-topic"), unique_name("txn")
        self.assertEqual(self.call("POST", "/v1/topics", {"name": topic})[0], 201)
        p = confluent_kafka.Producer({"bootstrap.servers": self.broker.bootstrap,
                                      "transactional.id": txn})
        p.init_transactions(30)
        p.begin_transaction()
        p.produce(topic, b"inside")
        self.assertEqual(p.flush(30), 0)
        found = [t for t in self.call("GET", "/v1/transactions")[1]
                 if t["transactional_id"] == txn]
        self.assertEqual(len(found), 1)
        self.assertEqual((found[0]["state"], found[0]["partitions"]),
                         ("Ongoing", [{"topic": topic, "partition": 0}]))
        status, producers, _ = self.call("GET", "/v1/topics/%s/producers" % topic)
        self.assertEqual(status, 200)
        (only,) = producers[0]["producers"]
        self.assertEqual((only["producer_id"], only["current_txn_start_offset"]),
                         (found[0]["producer_id"], 0))
        p.commit_transaction(30)
        t = [t for t in self.call("GET", "/v1/transactions")[1] if t["transactional_id"] == txn]
        self.assertEqual(t[0]["state"], "CompleteCommit")
        (only,) = self.call("GET", "/v1/topics/%s/producers" % topic)[1][0]["producers"]
        self.assertEqual(only["current_txn_start_offset"], -1)
        self.assertRefused(self.call("GET", "/v1/topics/no-such/producers"), 404)
        # AddPartitionsToTxn's per-partition PartitionErrorCode (v0-3) is counted too.
        self.assertGreaterEqual(self.scrape()[("kafka_network_requestmetrics_errors_total", (
            ("error", "NONE"), ("request", "AddPartitionsToTxn")))], 1)

    def test_validate_only_creates_nothing(self):
        name = unique_name("admin-validate")
        status, doc, _ = self.call("POST", "/v1/topics?validate_only=true", {"name": name})
        self.assertEqual((status, doc), (200, {"valid": True}))
        self.assertRefused(self.call("GET", "/v1/topics/" + name), 404)
        self.assertRefused(self.call("POST", "/v1/topics?validate_only=yes", {"name": name}),
                           400, "validate_only")
        self.assertRefused(self.call("GET", "/v1/topics/" + name), 404)

    def test_keep_alive_serves_requests_in_turn_on_one_connection(self):
        c = http.client.HTTPConnection(*self.admin, timeout=10)
        try:
            for _ in range(3):
                c.request("GET", "/v1/health")
                r = c.getresponse()
                self.assertEqual((r.status, json.loads(r.read())), (200, {"status": "ok"}))
        finally:
            c.close()

    def test_a_pipeline_put_as_yaml_runs_is_listed_and_removed(self):
        name, source, sink = unique_name("counts"), unique_name("lines"), unique_name("counts")
        yaml = WORD_COUNT % (name, source, sink)
        status, doc, _ = self.call("PUT", "/v1/pipelines/" + name, yaml, "application/yaml")
        self.assertEqual((status, doc), (202, {"name": name, "state": "submitted"}))
        wait_until(lambda: self.call("GET", "/v1/pipelines/" + name)[0] == 200, timeout=30,
                   message="the pipeline running")
        status, p, _ = self.call("GET", "/v1/pipelines/" + name)
        self.assertEqual((p["state"], p["yaml"]), ("running", yaml))
        self.assertIn(name, [q["name"] for q in self.call("GET", "/v1/pipelines")[1]])

        producer = confluent_kafka.Producer({"bootstrap.servers": self.broker.bootstrap})
        producer.produce(source, b"a b a")
        self.assertEqual(producer.flush(30), 0)
        wait_until(lambda: self.call("GET", "/v1/pipelines/" + name)[1]["records_in"] >= 1,
                   timeout=30, message="the pipeline counting")
        metrics = self.scrape()
        self.assertGreaterEqual(
            metrics[("runnel_pipeline_records_in_total", (("pipeline", name),))], 1)
        self.assertEqual(metrics[("runnel_pipeline_tasks", (("pipeline", name),))], 2)

        def counts():
            status, doc, _ = self.call("GET", "/v1/pipelines/%s/results?by_key=true" % name)
            self.assertEqual((status, doc["topic"]), (200, sink))
            return {r["key"]: r["value"]["count"] for r in doc["results"]}
        wait_until(lambda: counts() == {"a": 2, "b": 1}, timeout=30, message="the counts")
        metrics = self.scrape()
        label = (("pipeline", name),)
        self.assertGreater(metrics[("runnel_pipeline_state_bytes", label)], 0)
        self.assertGreater(metrics[("runnel_pipeline_commit_seconds_total", label)], 0)
        # The records carry the producer's time: event time is about now.
        delay = metrics[("runnel_pipeline_watermark_delay_ms", label)]
        self.assertTrue(0 <= delay < 120000, delay)
        latest = self.call("GET", "/v1/pipelines/%s/results?limit=1" % name)[1]["results"]
        self.assertEqual(len(latest), 1)
        self.assertRefused(self.call("GET", "/v1/pipelines/%s/results?limit=0" % name), 400,
                           "limit")
        self.assertRefused(self.call("GET", "/v1/pipelines/%s/results?topic=x" % name), 400,
                           "topic")
        self.assertRefused(self.call("GET", "/v1/pipelines/nothing/results"), 404)

        # Paused: nothing counted, its file and state kept; resumed: it goes on from there.
        self.assertEqual(self.call("POST", "/v1/pipelines/%s/pause" % name)[:2],
                         (200, {"name": name, "state": "paused"}))
        self.assertEqual(self.call("GET", "/v1/pipelines/" + name)[1]["state"], "paused")
        producer.produce(source, b"a")
        self.assertEqual(producer.flush(30), 0)
        time.sleep(1)
        self.assertEqual(counts(), {"a": 2, "b": 1})
        self.assertEqual(self.call("POST", "/v1/pipelines/%s/resume" % name)[0], 202)
        wait_until(lambda: counts() == {"a": 3, "b": 1}, timeout=30, message="counting again")
        self.assertEqual(self.call("GET", "/v1/pipelines/" + name)[1]["state"], "running")
        self.assertRefused(self.call("POST", "/v1/pipelines/nothing/pause"), 404)
        self.assertRefused(self.call("POST", "/v1/pipelines/nothing/resume"), 404)

        self.assertRefused(self.call("PUT", "/v1/pipelines/other", yaml, "application/yaml"),
                           400, "pipeline")
        bad = self.call("PUT", "/v1/pipelines/" + name, yaml.replace("count:", "cuont:"),
                        "application/yaml")
        self.assertRefused(bad, 400)
        self.assertIn("the submitted pipeline:", bad[1]["error"])
        self.assertRefused(self.call("PUT", "/v1/pipelines/" + name, yaml), 415)

        self.assertEqual(self.call("DELETE", "/v1/pipelines/" + name)[0], 204)
        wait_until(lambda: self.call("GET", "/v1/pipelines/" + name)[0] == 404, timeout=30,
                   message="the pipeline stopped")
        self.assertRefused(self.call("DELETE", "/v1/pipelines/" + name), 404)

    def test_prometheus_metrics_count_what_clients_did(self):
        topic = unique_name("metered")
        # flush.messages=1: every produce is synced, so the flush histogram counts them.
        self.assertEqual(self.call("POST", "/v1/topics", {
            "name": topic, "partitions": 1, "configs": {"flush.messages": "1"}})[0], 201)
        before = self.scrape()
        p = confluent_kafka.Producer({"bootstrap.servers": self.broker.bootstrap})
        for i in range(7):
            p.produce(topic, b"value %d" % i)
        self.assertEqual(p.flush(30), 0)
        c = confluent_kafka.Consumer({"bootstrap.servers": self.broker.bootstrap,
                                      "group.id": unique_name("metered"),
                                      "auto.offset.reset": "earliest",
                                      "enable.partition.eof": True})
        c.assign([confluent_kafka.TopicPartition(topic, 0, 0)])
        got = 0
        deadline = time.monotonic() + 30
        while got < 7 and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                got += 1
        self.assertEqual(got, 7)

        samples = self.scrape()  # the consumer still connected
        c.close()
        self.assertEqual(samples[("kafka_server_brokertopicmetrics_messagesin_total",
                                  (("topic", topic),))], 7)
        bytes_in = samples[("kafka_server_brokertopicmetrics_bytesin_total", (("topic", topic),))]
        self.assertGreater(bytes_in, 7 * len("value 0"))
        self.assertGreaterEqual(samples[("kafka_server_brokertopicmetrics_bytesout_total",
                                         (("topic", topic),))], bytes_in)
        self.assertEqual(samples[("kafka_log_log_logendoffset",
                                  (("partition", "0"), ("topic", topic)))], 7)
        self.assertEqual(samples[("kafka_log_log_logstartoffset",
                                  (("partition", "0"), ("topic", topic)))], 0)
        self.assertGreater(samples[("kafka_log_log_size", (("partition", "0"), ("topic", topic)))],
                           bytes_in - 1)
        produced = sum(v for (name, labels), v in samples.items()
                       if name == "kafka_network_requestmetrics_requests_total"
                       and dict(labels)["request"] == "Produce")
        self.assertGreaterEqual(produced, 1)
        self.assertGreaterEqual(
            samples[("kafka_network_requestmetrics_totaltimems_count", (("request", "Fetch"),))], 1)
        self.assertGreaterEqual(samples[("kafka_server_socketservermetrics_connection_count", ())],
                                1)
        self.assertGreater(samples[("runnel_shard_cpu_seconds_total", (("shard", "0"),))], 0)
        # Error codes answered, per API (Kafka's ErrorsPerSec): every partition's NONE of the
        # produces, and a CreateTopics refused for a topic that exists.
        errors = lambda s, api, code: s.get(  # noqa: E731
            ("kafka_network_requestmetrics_errors_total", (("error", code), ("request", api))), 0)
        self.assertGreaterEqual(errors(samples, "Produce", "NONE") -
                                errors(before, "Produce", "NONE"), 1)
        admin = confluent_kafka.admin.AdminClient({"bootstrap.servers": self.broker.bootstrap})
        future = admin.create_topics([confluent_kafka.admin.NewTopic(topic, 1)])[topic]
        with self.assertRaises(confluent_kafka.KafkaException):
            future.result(30)
        after = self.scrape()
        self.assertEqual(errors(after, "CreateTopics", "TOPIC_ALREADY_EXISTS") -
                         errors(samples, "CreateTopics", "TOPIC_ALREADY_EXISTS"), 1)
        flushes = ("kafka_log_logflushstats_logflushrateandtimems_count", ())
        self.assertGreaterEqual(samples[flushes] - before[flushes], 1)

        # Zero-copy fetches, and one that misses the page cache: a 900 KB record's pages
        # (synced, so clean) are dropped from the cache before a consumer reads it. (The fetch
        # reads the batch header itself, which brings the first pages back; the rest is read in
        # on the I/O pool before sendfile.)
        ranges = ("runnel_fetch_file_ranges_total", ())
        misses = ("runnel_fetch_page_cache_misses_total", ())
        self.assertGreaterEqual(samples[ranges] - before[ranges], 1)
        p.produce(topic, b"x" * 900000)
        self.assertEqual(p.flush(30), 0)
        segment = os.path.join(self.broker.data_dir, topic + "-0", "%020d.log" % 0)
        fd = os.open(segment, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
        c = confluent_kafka.Consumer({"bootstrap.servers": self.broker.bootstrap,
                                      "group.id": unique_name("cold")})
        c.assign([confluent_kafka.TopicPartition(topic, 0, 7)])
        got = None
        deadline = time.monotonic() + 30
        while got is None and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                got = m.value()
        c.close()
        self.assertEqual(got, b"x" * 900000)
        cold = self.scrape()
        self.assertGreaterEqual(cold[misses] - after[misses], 1)
        self.assertGreaterEqual(cold[("runnel_fetch_page_cache_miss_bytes_total", ())] -
                                after[("runnel_fetch_page_cache_miss_bytes_total", ())],
                                900000)

    def test_a_consumer_group_its_lag_and_its_deletion(self):
        topic, group = unique_name("grouped"), unique_name("readers")
        self.assertEqual(self.call("POST", "/v1/topics", {"name": topic, "partitions": 1})[0],
                         201)
        c = group_with_commit(self.broker.bootstrap, topic, group,
                              [b"%d" % i for i in range(7)], committed=5)

        self.assertIn(group, [g["group_id"] for g in self.call("GET", "/v1/groups")[1]])
        status, d, _ = self.call("GET", "/v1/groups/" + group)
        self.assertEqual(status, 200)
        self.assertEqual((d["state"], d["type"], d["protocol_type"]),
                         ("Stable", "classic", "consumer"))
        self.assertEqual(len(d["members"]), 1)
        self.assertEqual(d["offsets"], [{"topic": topic, "partition": 0, "committed_offset": 5,
                                         "log_end_offset": 7, "lag": 2}])
        self.assertEqual(d["lag"], 2)
        metrics = self.scrape()
        self.assertEqual(metrics[("kafka_consumergroup_lag", (
            ("consumergroup", group), ("partition", "0"), ("topic", topic)))], 2)
        self.assertEqual(metrics[("kafka_consumergroup_current_offset", (
            ("consumergroup", group), ("partition", "0"), ("topic", topic)))], 5)

        self.assertRefused(self.call("DELETE", "/v1/groups/" + group), 409)
        reset = lambda body: self.call("POST", "/v1/groups/%s/offsets" % group, body)  # noqa
        self.assertRefused(reset({"topic": topic, "to": "earliest"}), 409)
        c.close()  # leaves the group
        wait_until(lambda: self.call("GET", "/v1/groups/" + group)[1]["members"] == [],
                   timeout=30, message="the member gone")

        # Offsets moved, as kafka-consumer-groups --reset-offsets does.
        self.assertEqual(reset({"topic": topic, "to": "earliest"})[:2], (200, {
            "group_id": group, "offsets": [{"topic": topic, "partition": 0, "offset": 0}]}))
        self.assertEqual(self.call("GET", "/v1/groups/" + group)[1]["lag"], 7)
        self.assertEqual(reset({"topic": topic, "to": 3, "partitions": [0]})[0], 200)
        self.assertEqual(self.call("GET", "/v1/groups/" + group)[1]["offsets"][0]
                         ["committed_offset"], 3)
        self.assertEqual(reset({"topic": topic, "to": 1000})[1]["offsets"][0]["offset"], 7)
        self.assertEqual(reset({"topic": topic, "to": "latest"})[1]["offsets"][0]["offset"], 7)
        self.assertRefused(reset({"topic": topic, "to": "soon"}), 400, "to")
        self.assertRefused(reset({"topic": topic}), 400, "to")
        self.assertRefused(reset({"topic": "no-such", "to": 0}), 400, "topic")
        self.assertRefused(reset({"topic": topic, "to": 0, "partitions": [1]}), 400, "partitions")
        self.assertRefused(reset({"topic": topic, "to": 0, "partitions": ["0"]}), 400,
                           "partitions[0]")
        self.assertEqual(self.call("DELETE", "/v1/groups/" + group)[0], 204)
        self.assertRefused(self.call("GET", "/v1/groups/" + group), 404)
        self.assertRefused(self.call("DELETE", "/v1/groups/" + group), 404)
        self.assertRefused(self.call("GET", "/v1/groups/no-such-group"), 404)

    def scrape(self):
        """{(name, sorted labels): value} of /metrics, checked line by line against the text
        format: every sample under its family's HELP and TYPE, histograms cumulative up to
        +Inf, which equals their count."""
        c = http.client.HTTPConnection(*self.admin, timeout=30)
        try:
            c.request("GET", "/metrics")
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            self.assertTrue(r.getheader("Content-Type").startswith("text/plain; version=0.0.4"))
            text = r.read().decode()
        finally:
            c.close()
        sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
        label = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)')
        samples, types, helped = {}, {}, set()
        for line in text.splitlines():
            if line.startswith("# HELP "):
                helped.add(line.split(" ")[2])
                continue
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(" ")
                self.assertIn(name, helped, line)
                self.assertIn(kind, ("counter", "gauge", "histogram"), line)
                types[name] = kind
                continue
            m = sample.match(line)
            self.assertTrue(m, "not a sample line: %r" % line)
            name, labels, value = m.groups()
            family = re.sub(r"_(bucket|sum|count)$", "", name)
            self.assertTrue(name in types or (family in types and types[family] == "histogram"),
                            "sample before its TYPE: %r" % line)
            pairs = tuple(sorted(label.findall(labels or "")))
            samples[(name, pairs)] = float(value)
        for (name, labels), value in samples.items():
            if name.endswith("_bucket") and ("le", "+Inf") in labels:
                rest = tuple(kv for kv in labels if kv[0] != "le")
                self.assertEqual(value, samples[(name[:-len("_bucket")] + "_count", rest)])
        return samples

    # ------------------------------------------------------------------ bad requests

    def test_bad_bodies_name_the_field(self):
        post = lambda body, **kw: self.call("POST", "/v1/topics", body, **kw)  # noqa: E731
        self.assertRefused(post("{not json"), 400)
        self.assertRefused(post("[1, 2]"), 400)
        self.assertRefused(post({"partitions": 2}), 400, "name")
        self.assertRefused(post({"name": 7}), 400, "name")
        self.assertRefused(post({"name": "t", "partitions": "3"}), 400, "partitions")
        self.assertRefused(post({"name": "t", "partitions": 0}), 400, "partitions")
        self.assertRefused(post({"name": "t", "partitions": 2 ** 70}), 400, "partitions")
        self.assertRefused(post({"name": "t", "partitions": 1.5}), 400, "partitions")
        self.assertRefused(post({"name": "t", "replication_factor": 40000}), 400,
                           "replication_factor")
        self.assertRefused(post({"name": "t", "configs": {"retention.ms": 5}}), 400,
                           "configs.retention.ms")
        self.assertRefused(post({"name": "t", "configs": ["x"]}), 400, "configs")
        self.assertRefused(post({"name": "t", "partitons": 3}), 400, "partitons")
        self.assertRefused(post({"name": "a/b"}), 400, "name")
        self.assertRefused(post({"name": "t", "configs": {"retention.ms": "soon"}}), 400,
                           "configs")
        self.assertRefused(post({"name": "t"}, content_type="text/plain"), 415)
        self.assertRefused(post("x" * (1 << 20 + 1)), 413)
        self.assertRefused(self.call("GET", "/v1/topics/" + "t" * 3000), 414)
        self.assertRefused(self.call("GET", "/v1/topics/%zz"), 400)
        self.assertRefused(self.call("GET", "/v1/nothing"), 404)
        self.assertRefused(self.call("GET", "/v1/topics/t/nothing"), 404)
        wrong = self.call("PATCH", "/v1/topics")
        self.assertRefused(wrong, 405)
        self.assertEqual(wrong[2]["Allow"], "GET, POST")

    def test_what_is_not_http_is_answered_and_closed(self):
        out = self.raw(b"\x00\x01\x02 garbage\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 400"), out[:100])
        self.assertIn(b'"error"', out)
        out = self.raw(b"GET /v1/health HTTP/1.1\r\nX-Big: " + b"h" * 20000 + b"\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 431"), out[:100])

    def test_a_slow_client_holds_up_no_one(self):
        # A request that never finishes (slowloris) on one connection...
        slow = socket.create_connection(self.admin, timeout=5)
        try:
            slow.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")
            # ...while others are answered, and the Kafka listener serves.
            for _ in range(3):
                self.assertEqual(self.call("GET", "/v1/health")[0], 200)
            p = confluent_kafka.Producer({"bootstrap.servers": self.broker.bootstrap})
            p.produce(unique_name("after-slow"), b"x")
            self.assertEqual(p.flush(30), 0)
        finally:
            slow.close()
        self.broker.assert_running()


class AdminListenerTest(BrokerTestCase):
    per_test_broker = True

    def test_a_taken_port_stops_the_start_only_when_the_key_is_set(self):
        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        try:
            self.broker.stop()
            self.broker.properties["runnel.admin.listeners"] = "http://127.0.0.1:%d" % port
            with self.assertRaises(Exception):
                self.broker.start()
            self.assertIn("cannot listen on http://127.0.0.1:%d" % port, self.broker.log_text())
        finally:
            taken.close()

    def test_an_empty_key_means_no_admin_api(self):
        self.broker.stop()
        self.broker.properties["runnel.admin.listeners"] = ""
        self.broker.start()
        time.sleep(0.5)
        self.assertNotIn("admin API listening", self.broker.log_text().split("===== start #2")[-1])


if __name__ == "__main__":
    unittest.main()

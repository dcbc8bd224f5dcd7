#!/usr/bin/python3
"""Spark 4.2 (pyspark from the project venv, its Kafka connectors from Maven), unchanged, against
a real broker: the seed tutorial's sliding-window hashtag count (integration/spark/hashtags.py)
gives the expected counts on deterministic event-time input, a second run from its checkpoint
neither loses nor repeats input, and batch reads by offsets and by timestamp see what they
should; the seed's DStream job (integration/spark/HashtagsDStream.java, Kafka 0-10 direct
stream, reduceByKeyAndWindow) built and spark-submitted as a user would counts every hashtag
once and commits its offsets to its group.

Run: ~/.cache/runnel-python/venv/bin/python integration/test_spark.py [-v]   (label spark)
"""

import collections
import datetime
import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from broker_process import REPO_ROOT, BrokerTestCase, unique_name  # noqa: E402
from ck_helpers import TIMEOUT, admin_client, make_consumer, make_producer, result  # noqa: E402

from confluent_kafka import KafkaError, TopicPartition  # noqa: E402
from confluent_kafka.admin import NewTopic  # noqa: E402

import pyspark  # noqa: E402

JAVA_CACHE = os.environ.get("RUNNEL_JAVA_CACHE", os.path.expanduser("~/.cache/runnel-java"))
JOB = os.path.join(REPO_ROOT, "integration", "spark", "hashtags.py")
DSTREAM_JOB = os.path.join(REPO_ROOT, "integration", "spark", "HashtagsDStream.java")
BASE = datetime.datetime(2026, 1, 1, 12, 0, 0)  # event time of the first tweet (UTC)
JOB_TIMEOUT = 300


def connector_jars():
    """The connector's jars that pyspark does not ship itself (compared without versions)."""
    shipped = os.listdir(os.path.join(os.path.dirname(pyspark.__file__), "jars"))
    artifact = lambda name: re.sub(r"-\d[^-]*\.jar$", "", name)  # noqa: E731
    have = {artifact(n) for n in shipped}
    with open(os.path.join(JAVA_CACHE, "classpath-spark.txt")) as f:
        jars = f.read().strip().split(":")
    return ",".join(j for j in jars if artifact(os.path.basename(j)) not in have)


def tweets(start, count):
    """Tweet i at BASE + 30 s * i: hashtags chosen by i, so counts are known in advance."""
    out = []
    for i in range(start, start + count):
        tags = ["#spark"] + (["#kafka"] if i % 2 else []) + (["#runnel"] if i % 3 == 0 else [])
        out.append({"text": "tweet %d %s" % (i, " ".join(tags)),
                    "created_at": (BASE + datetime.timedelta(seconds=30 * i)).isoformat()})
    return out


def expected_counts(all_tweets):
    """{(window start "YYYY-MM-DD HH:MM", hashtag): count} for 5-minute windows every 2 minutes
    (Spark's sliding windows start at multiples of the slide since the epoch)."""
    counts = collections.Counter()
    for t in all_tweets:
        at = datetime.datetime.fromisoformat(t["created_at"])
        minute = at.replace(second=0)
        for back in range(0, 5):
            start = minute - datetime.timedelta(minutes=back)
            epoch_minutes = int(start.replace(tzinfo=datetime.timezone.utc).timestamp()) // 60
            if epoch_minutes % 2 or not (start <= at < start + datetime.timedelta(minutes=5)):
                continue
            for word in t["text"].split():
                if word.startswith("#"):
                    counts[(start.strftime("%Y-%m-%d %H:%M"), word)] += 1
    return dict(counts)


class SparkTest(BrokerTestCase):
    broker_properties = {"num.partitions": 1, "group.initial.rebalance.delay.ms": 0}

    @classmethod
    def prepare_class(cls):
        subprocess.run([os.path.join(REPO_ROOT, "scripts", "install-java-clients.sh")],
                       check=True, timeout=600)
        cls.jars = connector_jars()

    def create(self, topic, partitions):
        a = admin_client(self.broker.bootstrap)  # kept until the answer: its futures need it
        result(a.create_topics([NewTopic(topic, partitions, 1)])[topic])

    def produce(self, topic, items):
        p = make_producer(self.broker.bootstrap)
        for i, t in enumerate(items):
            p.produce(topic, value=json.dumps(t).encode(), partition=i % 2)
        self.assertEqual(p.flush(TIMEOUT), 0)

    def run_job(self, source, sink, checkpoint):
        p = subprocess.run([sys.executable, JOB, self.broker.bootstrap, source, sink, checkpoint,
                            self.jars], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=JOB_TIMEOUT)
        self.assertEqual(p.returncode, 0, "the Spark job failed:\n" + p.stderr[-5000:])

    def latest_counts(self, topic):
        """{(start, word): count}: the last value written for each key."""
        c = make_consumer(self.broker.bootstrap)
        c.assign([TopicPartition(topic, 0, 0)])
        latest, errors = {}, []
        deadline = time.monotonic() + 60
        at_end = False
        while time.monotonic() < deadline and not at_end:
            for m in c.consume(500, 0.5):
                if m.error() and m.error().code() == KafkaError._PARTITION_EOF:
                    at_end = True
                elif m.error():
                    errors.append(str(m.error()))  # transient (a reconnect): read on
                else:
                    key = json.loads(m.key())
                    latest[(key["start"], key["word"])] = int(m.value())
        c.close()
        self.assertTrue(at_end, "the end of %s not reached; errors: %s" % (topic, errors))
        return latest

    def test_sliding_window_counts_and_a_restart_from_the_checkpoint(self):
        source, sink = unique_name("tweets"), unique_name("hashtag-counts")
        self.create(source, 2)
        self.create(sink, 1)
        checkpoint = os.path.join(self.broker.tmpdir, "checkpoint")
        first = tweets(0, 40)  # 20 minutes of tweets
        self.produce(source, first)
        self.run_job(source, sink, checkpoint)
        self.assertEqual(self.latest_counts(sink), expected_counts(first))

        # More tweets, the query started again from its checkpoint: it reads only the new ones
        # (nothing repeated: counts would grow too much; nothing lost: they would not reach).
        second = tweets(40, 20)
        self.produce(source, second)
        self.run_job(source, sink, checkpoint)
        self.assertEqual(self.latest_counts(sink), expected_counts(first + second))

    def test_the_seed_dstream_job_with_the_kafka_0_10_direct_stream(self):
        topic, group = unique_name("tweets-dstream"), unique_name("dstream")
        self.create(topic, 2)
        p = make_producer(self.broker.bootstrap)
        for i in range(60):
            tags = ["#spark"] + (["#kafka"] if i % 2 else []) + (["#runnel"] if i % 3 == 0 else [])
            line = "tweet %d %s,2021-03-01 10:%02d:00" % (i, " ".join(tags), i)
            p.produce(topic, value=line.encode(), partition=i % 2)
        self.assertEqual(p.flush(TIMEOUT), 0)

        # Built as the seed builds its job: compiled against Spark and the connector, packaged,
        # and spark-submitted with the connector's jars.
        work = os.path.join(self.broker.tmpdir, "dstream")
        classes = os.path.join(work, "classes")
        os.makedirs(classes)
        spark_jars = os.path.join(os.path.dirname(pyspark.__file__), "jars", "*")
        subprocess.run(["javac", "-nowarn", "-cp", spark_jars + ":" + self.jars.replace(",", ":"),
                        "-d", classes, DSTREAM_JOB], check=True, timeout=JOB_TIMEOUT)
        app = os.path.join(work, "hashtags-dstream.jar")
        subprocess.run(["jar", "cf", app, "-C", classes, "."], check=True, timeout=60)
        spark_submit = os.path.join(os.path.dirname(sys.executable), "spark-submit")
        log = open(os.path.join(work, "spark.log"), "w")
        self.addCleanup(log.close)
        # The venv's spark-submit looks for Spark with whatever python3 is first on PATH; point
        # it at the venv's pyspark, as a pip user exports SPARK_HOME.
        env = dict(os.environ, SPARK_HOME=os.path.dirname(pyspark.__file__))
        job = subprocess.Popen([spark_submit, "--jars", self.jars, "--class", "HashtagsDStream",
                                app, self.broker.bootstrap, topic, group,
                                os.path.join(work, "checkpoint")],
                               stdout=subprocess.PIPE, stderr=log, text=True, env=env)
        self.addCleanup(lambda: job.poll() is None and job.kill())

        want = "window #spark=60 #kafka=30 #runnel=20"
        windows = []
        deadline = time.monotonic() + JOB_TIMEOUT
        while time.monotonic() < deadline and want not in windows:
            line = job.stdout.readline()
            if not line:
                break
            if line.startswith("window"):
                windows.append(line.strip())
        self.assertIn(want, windows, "the windows printed: %s (log in %s)" % (windows, work))
        # Its offsets, committed after each batch, reach the end of both partitions.
        c = make_consumer(self.broker.bootstrap, **{"group.id": group})
        deadline = time.monotonic() + 60
        while True:
            committed = c.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)],
                                    timeout=TIMEOUT)
            if [tp.offset for tp in committed] == [30, 30] or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        c.close()
        self.assertEqual([tp.offset for tp in committed], [30, 30])
        job.kill()
        job.wait()

    def test_batch_reads_by_offsets_and_by_timestamp(self):
        topic = unique_name("tweets-batch")
        self.create(topic, 2)
        items = tweets(0, 30)
        self.produce(topic, items)
        # The records' own timestamps (CreateTime): now, give or take; a cut in the middle.
        script = """
import json, sys
from pyspark.sql import SparkSession
bs, topic, jars = sys.argv[1:4]
spark = (SparkSession.builder.master("local[1]").config("spark.jars", jars)
         .config("spark.ui.enabled", "false").getOrCreate())
spark.sparkContext.setLogLevel("WARN")
def read(**opts):
    r = spark.read.format("kafka").option("kafka.bootstrap.servers", bs).option("subscribe", topic)
    for k, v in opts.items():
        r = r.option(k, v)
    return r.load()
everything = read(startingOffsets="earliest", endingOffsets="latest")
middle = read(startingOffsets=json.dumps({topic: {"0": 5, "1": 5}}),
              endingOffsets=json.dumps({topic: {"0": 10, "1": -1}}))
stamps = sorted(r.timestamp for r in everything.select("timestamp").collect())
cut = int(stamps[len(stamps) // 2].timestamp() * 1000)
later = read(startingTimestamp=str(cut), endingOffsets="latest")
print(json.dumps({"all": everything.count(), "middle": middle.count(),
                  "later": later.count(), "at_or_after_cut": sum(
                      1 for s in stamps if s.timestamp() * 1000 >= cut)}))
spark.stop()
"""
        p = subprocess.run([sys.executable, "-c", script, self.broker.bootstrap, topic,
                            self.jars], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=JOB_TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stderr[-5000:])
        got = json.loads(p.stdout.strip().splitlines()[-1])
        self.assertEqual(got["all"], 30)
        self.assertEqual(got["middle"], 5 + 10)  # partition 0: 5..9; partition 1: 5..end (15)
        self.assertEqual(got["later"], got["at_or_after_cut"])
        self.assertGreater(got["later"], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/python3
"""The web console end to end: a real broker (3 shards) with the seed's hashtag pipeline, a topic
of JSON records with headers, and a consumer group with lag; then integration/console/
drive_console.js opens every page in Debian's headless Chromium through Playwright
(playwright-core from npm, scripts/install-console-test.sh) and checks what each shows: the
overview's cards and live charts, the message browser (JSON pretty-printed, headers, a seek to
offset 0), the group's lag, the pipeline's YAML and the latest window's top hashtags. Any page
error, console error (a Content-Security-Policy violation included) or failed request fails it.
Screenshots go to $RUNNEL_SCREENSHOTS (ctest: <build>/integration/console-screenshots).

Run: /usr/bin/python3 integration/test_console.py [-v]
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import confluent_kafka  # noqa: E402
from broker_process import BrokerTestCase, unique_name, wait_until  # noqa: E402

ROOT = os.path.dirname(HERE)
NODE_DIR = os.environ.get("RUNNEL_NODE_DIR",
                          os.path.expanduser("~/.cache/runnel-node/console"))
SCREENSHOTS = os.environ.get("RUNNEL_SCREENSHOTS",
                             os.path.join(tempfile.gettempdir(), "runnel-console-screenshots"))


class ConsoleTest(BrokerTestCase):
    broker_pipelines = True

    def test_every_page_in_chromium(self):
        self.assertTrue(os.path.isdir(os.path.join(NODE_DIR, "node_modules", "playwright-core")),
                        "run scripts/install-console-test.sh")
        shutil.copy(os.path.join(ROOT, "etc", "pipelines", "top-hashtags.yaml"), self.pipelines)
        p = confluent_kafka.Producer({"bootstrap.servers": self.broker.bootstrap})

        # Tweets 5 s apart in event time over 17 minutes: the hopping windows close, and in
        # every one #alpha (each tweet) leads #beta (every other one) and #gamma.
        start = 1617616800000  # 2021-04-05 10:00:00 UTC
        wait_until(lambda: self.admin_get("/v1/pipelines/top-hashtags")[0] == 200, timeout=30,
                   message="the hashtag pipeline running")
        for i in range(200):
            tags = "#alpha" + (" #beta" if i % 2 == 0 else "") + (" #gamma" if i % 3 == 0 else "")
            p.produce("tweets", ("tweet %d %s,2021-04-05 10:00:00,x" % (i, tags)).encode(),
                      timestamp=start + i * 5000)
        self.assertEqual(p.flush(30), 0)

        # JSON records with headers, as the seeds' Python producer sends them.
        topic = unique_name("events")
        self.assertEqual(self.admin_post("/v1/topics", {"name": topic, "partitions": 1})[0], 201)
        for i in range(10):
            p.produce(topic, json.dumps({"event_type": "purchase_sword", "n": i}).encode(),
                      key=b"player-%d" % i, headers=[("trace", b"abc")])
        self.assertEqual(p.flush(30), 0)

        # A group that read three records and left: lag 7.
        group = unique_name("readers")
        c = confluent_kafka.Consumer({"bootstrap.servers": self.broker.bootstrap,
                                      "group.id": group, "enable.auto.commit": False})
        c.assign([confluent_kafka.TopicPartition(topic, 0, 0)])
        c.commit(offsets=[confluent_kafka.TopicPartition(topic, 0, 3)], asynchronous=False)
        c.close()

        # Traffic while the overview is open, so its charts have something to draw.
        stop = threading.Event()

        def traffic():
            q = confluent_kafka.Producer({"bootstrap.servers": self.broker.bootstrap})
            while not stop.is_set():
                q.produce("tweets", b"more #noise,2021,x", timestamp=start)
                q.poll(0)
                time.sleep(0.01)
            q.flush(10)
        background = threading.Thread(target=traffic, daemon=True)
        background.start()
        self.addCleanup(stop.set)

        work = tempfile.mkdtemp(prefix="runnel-console-")
        self.addCleanup(shutil.rmtree, work, True)
        config = os.path.join(work, "config.json")
        with open(config, "w") as f:
            json.dump({"admin": self.broker.admin_url, "screenshots": SCREENSHOTS,
                       "topic": topic,
                       "json_value": json.dumps({"event_type": "purchase_sword", "n": 9},
                                                indent=2),
                       "header": "trace: abc", "group": group, "lag": 7,
                       "pipeline": "top-hashtags", "top_key": "#alpha"}, f)
        run = subprocess.run(["node", os.path.join(HERE, "console", "drive_console.js"), config],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             timeout=240, env=dict(os.environ,
                                                   NODE_PATH=os.path.join(NODE_DIR,
                                                                          "node_modules")))
        stop.set()
        background.join(30)
        print(run.stdout)
        self.assertEqual(run.returncode, 0, run.stdout[-6000:])
        self.assertIn("console: all checks passed", run.stdout)
        for name in ("overview", "topic", "group", "pipeline"):
            self.assertGreater(os.path.getsize(os.path.join(SCREENSHOTS, name + ".png")), 10000)
        self.broker.assert_running()

    def admin_get(self, path):
        return self.admin_call("GET", path)

    def admin_post(self, path, body):
        return self.admin_call("POST", path, body)

    def admin_call(self, method, path, body=None):
        import http.client
        import urllib.parse
        url = urllib.parse.urlparse(self.broker.admin_url)
        c = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            c.request(method, path, body=json.dumps(body) if body is not None else None,
                      headers=headers)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()


if __name__ == "__main__":
    unittest.main()

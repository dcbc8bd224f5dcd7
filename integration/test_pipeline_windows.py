#!/usr/bin/python3
"""Pipelines inside the broker, operator by operator, on deterministic event times: records
are produced with chosen timestamps to a one-partition source, so the watermark is known at
every record, and the results read by a read_committed consumer must be exactly these:

- tumbling windows with grace, emit on_close: a record late but within the grace is counted, a
  record past it goes to the late topic, each window's count is written once, also across a
  SIGKILL of the broker between the records;
- hopping windows with emit on_update: every change of every window, in order, with count and
  sum;
- sliding windows: one window ending at each record, reaching size back;
- session windows: a record bridging two sessions merges them; count and count_distinct;
- late: drop: nothing written for a late record, the window's result unchanged;
- CSV parse with a schema, filter, rekey and map of fields, with the unparseable record
  dead-lettered; dedupe within an event-time span;
- a changed pipeline file: the new version goes on from the old one's committed offset.

Run: /usr/bin/python3 integration/test_pipeline_windows.py [-v]
"""

import json
import os
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from broker_process import BrokerTestCase, wait_until  # noqa: E402
from test_pipelines import producer, read_committed  # noqa: E402

# Event time of the tests' first records: a whole minute an hour ago (recent enough for the
# topics' time retention, aligned for every window size used here).
BASE = (int(time.time() * 1000) - 3_600_000) // 60_000 * 60_000


class PipelineWindowsTest(BrokerTestCase):
    broker_pipelines = True
    broker_properties = {"num.partitions": 1}

    def start(self, name, text):
        """Writes <name>.yaml and waits until its pipeline has started."""
        path = os.path.join(self.pipelines, name + ".yaml")
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.rename(path + ".tmp", path)
        before = self.broker.log_text().count("pipeline %s started" % name)
        wait_until(lambda: self.broker.log_text().count("pipeline %s started" % name) > before,
                   timeout=30, message="pipeline %s started" % name)
        return path

    def send(self, topic, records):
        """records: [(value, event time relative to BASE, key or None)]."""
        p = producer(self.broker)
        for value, at, key in records:
            p.produce(topic, value.encode(), key=key.encode() if key else None,
                      timestamp=BASE + at)
        self.assertEqual(p.flush(30), 0)

    def results(self, topic, n, timeout=60):
        """The first n results of `topic` as (key, window start/end relative to BASE, the rest
        of the value), in the order written; exactly n of them."""
        got = read_committed(self.broker, topic, lambda g: len(g) >= n, timeout=timeout)
        out = []
        for k, v, _, _ in got:
            value = json.loads(v)
            window = value.pop("window", None)
            if window is not None:
                window = (window["start"] - BASE, window["end"] - BASE)
            value.pop("key", None)
            out.append((k.decode() if k is not None else None, window, value))
        self.assertEqual(len(out), n, out)
        return out

    def test_tumbling_windows_with_grace_on_close_through_a_sigkill(self):
        self.start("tumbling", """
pipeline: tumbling
source: {topic: tumbling-in, format: text}
event_time: {from: record_timestamp, max_out_of_order: 0s}
steps:
  - window: {type: tumbling, size: 10s, grace: 5s}
  - count: {by: value}
emit: on_close
late: {to: tumbling-late}
sink: {topic: tumbling-out, format: json}
""")
        self.send("tumbling-in", [("a", 1000, None), ("b", 2000, None), ("a", 9999, None),
                                  ("a", 10_000, None), ("b", 12_000, None)])
        # The watermark is at 12 s: [0, 10 s) is still open, for the grace of 5 s.
        time.sleep(0.5)
        self.broker.restart(hard=True)
        self.start_waited("tumbling")
        self.send("tumbling-in", [("a", 3000, None),     # late, within the grace: counted
                                  ("c", 15_000, None),   # watermark 15 s: [0, 10 s) closes
                                  ("a", 4000, None),     # past the grace: to the late topic
                                  ("c", 40_000, None)])  # [10 s, 20 s) closes
        self.assertEqual(sorted(self.results("tumbling-out", 5)), [
            ("a", (0, 10_000), {"count": 3}),
            ("a", (10_000, 20_000), {"count": 1}),
            ("b", (0, 10_000), {"count": 1}),
            ("b", (10_000, 20_000), {"count": 1}),
            ("c", (10_000, 20_000), {"count": 1})])
        late = read_committed(self.broker, "tumbling-late", lambda g: len(g) >= 1)
        self.assertEqual([v for _, v, _, _ in late], [b"a"])

    def start_waited(self, name):
        """After a restart: waits until `name` has started again."""
        log = lambda: self.broker.log_text().split("===== start #")[-1]  # noqa: E731
        wait_until(lambda: ("pipeline %s started" % name) in log(), timeout=30,
                   message="pipeline %s started again" % name)

    def test_hopping_windows_emit_every_update(self):
        self.start("hopping", """
pipeline: hopping
source: {topic: hopping-in, format: json}
event_time: {from: record_timestamp, max_out_of_order: 0s}
steps:
  - window: {type: hopping, size: 10s, advance: 5s, grace: 0s}
  - aggregate: {by: value.k, count: true, sum: value.n}
emit: on_update
sink: {topic: hopping-out}
""")
        self.send("hopping-in", [('{"k": "x", "n": 1}', 1000, None),
                                 ('{"k": "x", "n": 2}', 6000, None),
                                 ('{"k": "y", "n": 5}', 7000, None)])
        got = self.results("hopping-out", 6)
        by_window = {}
        for key, window, value in got:
            by_window.setdefault((key, window), []).append((value["count"], value["sum"]))
        self.assertEqual(by_window, {
            ("x", (-5000, 5000)): [(1, 1)],
            ("x", (0, 10_000)): [(1, 1), (2, 3)],
            ("x", (5000, 15_000)): [(1, 2)],
            ("y", (0, 10_000)): [(1, 5)],
            ("y", (5000, 15_000)): [(1, 5)]})

    def test_sliding_windows_end_at_each_record(self):
        self.start("sliding", """
pipeline: sliding
source: {topic: sliding-in, format: text}
event_time: {from: record_timestamp, max_out_of_order: 0s}
steps:
  - window: {type: sliding, size: 10s, grace: 0s}
  - count: {by: value}
emit: on_close
sink: {topic: sliding-out}
""")
        self.send("sliding-in", [("a", 0, None), ("a", 5000, None), ("a", 10_000, None),
                                 ("a", 11_000, None), ("z", 40_000, None)])
        # Each window [t - 10 s, t] ends at a record (end exclusive: t + 1); the one at 40 s
        # is still open.
        self.assertEqual(self.results("sliding-out", 4), [
            ("a", (-10_000, 1), {"count": 1}),
            ("a", (-5000, 5001), {"count": 2}),
            ("a", (0, 10_001), {"count": 3}),
            ("a", (1000, 11_001), {"count": 3})])

    def test_session_windows_merge_when_a_record_bridges_the_gap(self):
        self.start("sessions", """
pipeline: sessions
source: {topic: sessions-in, format: text}
event_time: {from: record_timestamp, max_out_of_order: 30s}
steps:
  - window: {type: session, gap: 10s, grace: 0s}
  - aggregate: {by: key, count: true, count_distinct: value}
emit: on_close
sink: {topic: sessions-out}
""")
        self.send("sessions-in", [("a", 0, "u"), ("b", 25_000, "u"), ("a", 9000, "u"),
                                  ("c", 18_000, "u"),  # 9 s and 25 s: within 10 s of both
                                  ("z", 3000, "v"), ("x", 100_000, "w")])
        self.assertEqual(sorted(self.results("sessions-out", 2)), [
            ("u", (0, 25_001), {"count": 4, "count_distinct": 3}),
            ("v", (3000, 3001), {"count": 1, "count_distinct": 1})])

    def test_late_records_dropped_when_the_file_says_so(self):
        self.start("dropping", """
pipeline: dropping
source: {topic: dropping-in, format: text}
event_time: {from: record_timestamp, max_out_of_order: 0s}
steps:
  - window: {type: tumbling, size: 10s, grace: 0s}
  - count: {by: value}
emit: on_close
late: drop
sink: {topic: dropping-out}
""")
        self.send("dropping-in", [("a", 1000, None), ("a", 10_000, None), ("a", 2000, None),
                                  ("a", 20_000, None)])
        self.assertEqual(self.results("dropping-out", 2), [
            ("a", (0, 10_000), {"count": 1}),
            ("a", (10_000, 20_000), {"count": 1})])
        self.assertNotIn("dropping.late", self.broker.log_text())  # no late topic made

    def test_csv_parse_filter_rekey_and_map_with_a_dead_letter(self):
        self.start("purchases", """
pipeline: purchases
source: {topic: purchases-in, format: text}
steps:
  - parse: {format: csv, columns: [user, action, amount], schema: {amount: number}}
  - filter: {field: action, equals: buy}
  - rekey: {by: user}
  - map: {fields: {who: user, paid: amount}}
sink: {topic: purchases-out, format: json}
dead_letter: purchases-bad
""")
        self.send("purchases-in", [("ann,buy,10", 0, None), ("bob,view,0", 1, None),
                                   ("cy,buy,lots", 2, None), ("dan,buy,7.5", 3, None)])
        got = read_committed(self.broker, "purchases-out", lambda g: len(g) >= 2)
        self.assertEqual([(k, json.loads(v)) for k, v, _, _ in got],
                         [(b"ann", {"who": "ann", "paid": 10}),
                          (b"dan", {"who": "dan", "paid": 7.5})])
        bad = read_committed(self.broker, "purchases-bad", lambda g: len(g) >= 1)
        self.assertEqual([v for _, v, _, _ in bad], [b"cy,buy,lots"])
        self.assertIn("runnel-error", dict(bad[0][2]))

    def test_dedupe_within_an_event_time_span(self):
        self.start("once", """
pipeline: once
source: {topic: once-in, format: json}
steps:
  - dedupe: {by: value.id, within: 10s}
  - map: {field: id}
sink: {topic: once-out, format: text}
""")
        self.send("once-in", [('{"id": "a"}', 0, None), ('{"id": "a"}', 5000, None),
                              ('{"id": "b"}', 6000, None), ('{"id": "a"}', 12_000, None)])
        got = read_committed(self.broker, "once-out", lambda g: len(g) >= 3)
        self.assertEqual([v for _, v, _, _ in got], [b"a", b"b", b"a"])

    def test_a_changed_file_goes_on_from_the_committed_offset(self):
        path = self.start("changing", """
pipeline: changing
source: {topic: changing-in, format: text}
steps:
  - filter: {starts_with: x}
sink: {topic: changing-out, format: text}
""")
        self.send("changing-in", [("x1", 0, None), ("y1", 1, None)])
        self.assertEqual([v for _, v, _, _ in read_committed(
            self.broker, "changing-out", lambda g: len(g) >= 1)], [b"x1"])
        with open(path) as f:
            changed = f.read().replace("starts_with: x", "starts_with: y")
        self.start("changing", changed)
        self.send("changing-in", [("x2", 2, None), ("y2", 3, None)])
        # y1 was read by the first version: the second does not see it again.
        self.assertEqual([v for _, v, _, _ in read_committed(
            self.broker, "changing-out", lambda g: len(g) >= 2)], [b"x1", b"y2"])


if __name__ == "__main__":
    unittest.main()

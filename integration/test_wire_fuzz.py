#!/usr/bin/python3
"""Mutated requests over the wire for a bounded time (wire_fuzzer.py); after every burst the broker
must still answer a well-formed client, and its descriptors, memory and log must stay bounded. A
handler that throws on client input (logged as "... failed: ...; closing the connection") is a
bug and fails the test too.

Run: /usr/bin/python3 integration/test_wire_fuzz.py [-v]
Environment: RUNNEL_FUZZ_SECONDS (default 30), RUNNEL_FUZZ_SEED (default: random, printed).
"""

import os
import random
import re
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kafka_wire as kw  # noqa: E402
import wire_fuzzer  # noqa: E402
from broker_process import BrokerTestCase, test_timeout  # noqa: E402

OPEN_FILES = 256  # runnel.log.open.files.max: descriptors stay bounded whatever gets created
MAX_PARTITIONS = 3000
# Bounds checked after every burst.
MAX_DESCRIPTORS = OPEN_FILES + 200
MAX_RSS_KIB = 512 * 1024
MAX_LOG_GROWTH_PER_BURST = 64 * 1024  # bytes

# Lines a handler writes when it throws on what a client sent.
HANDLER_THREW = re.compile(r"failed: .*; closing the connection|unexpected error|critical")


class WireFuzzTest(BrokerTestCase):
    per_test_broker = True
    broker_properties = {"runnel.log.open.files.max": OPEN_FILES,
                         "runnel.max.partitions": MAX_PARTITIONS,
                         "num.partitions": 2,
                         # The fuzzer's groups rebalance at once instead of waiting 3 s.
                         "group.initial.rebalance.delay.ms": 0}

    def assert_healthy(self, log_size_before, burst_no, seed):
        b = self.broker
        where = "after burst %d (seed %d)" % (burst_no, seed)
        b.assert_running()
        with kw.Connection.to(b.bootstrap, timeout=15) as c:
            self.assertEqual(c.api_versions(3)[0], 0, where)
            md = c.metadata(None)
            self.assertEqual(len(md["brokers"]), 1, where)
        fds = b.open_descriptors()
        self.assertLessEqual(fds, MAX_DESCRIPTORS, "%d descriptors %s" % (fds, where))
        rss = b.rss_kib()
        self.assertLessEqual(rss, MAX_RSS_KIB, "RSS %d KiB %s" % (rss, where))
        log_size = os.path.getsize(b.log_path)
        self.assertLessEqual(log_size - log_size_before, MAX_LOG_GROWTH_PER_BURST,
                             "log grew by %d bytes %s" % (log_size - log_size_before, where))
        return log_size

    def test_mutated_requests_leave_the_broker_serving(self):
        seconds = float(os.environ.get("RUNNEL_FUZZ_SECONDS", "30"))
        seed = int(os.environ.get("RUNNEL_FUZZ_SEED", random.randrange(1 << 30)))
        print("\nwire fuzz: seed %d, %.0f s (RUNNEL_FUZZ_SEED / RUNNEL_FUZZ_SECONDS)" % (
            seed, seconds), file=sys.stderr)
        mutator = wire_fuzzer.Mutator(wire_fuzzer.load_seeds(), random.Random(seed))
        address = ("127.0.0.1", self.broker.port)
        log_size = os.path.getsize(self.broker.log_path)
        # Leave room under the test's watchdog for the checks and a slow last burst.
        end = time.monotonic() + min(seconds, test_timeout() - 60)
        bursts = frames = 0
        while time.monotonic() < end:
            frames += wire_fuzzer.burst(address, mutator)
            bursts += 1
            log_size = self.assert_healthy(log_size, bursts, seed)
        threw = [l for l in self.broker.log_text().splitlines() if HANDLER_THREW.search(l)]
        self.assertEqual(threw, [], "seed %d" % seed)
        print("wire fuzz: %d bursts, %d frames; %d descriptors, %d KiB RSS, log %d bytes" % (
            bursts, frames, self.broker.open_descriptors(), self.broker.rss_kib(),
            os.path.getsize(self.broker.log_path)), file=sys.stderr)
        self.assertGreater(frames, 0)


if __name__ == "__main__":
    unittest.main()

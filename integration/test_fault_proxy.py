#!/usr/bin/python3
"""Tests of integration/fault_proxy.py: against an echo server of this file (no broker), and
one round trip of confluent-kafka records through the proxy to a real broker that advertises
the proxy's address.

Run: RUNNEL_BROKER=build/server/runnel /usr/bin/python3 integration/test_fault_proxy.py -v
"""

import concurrent.futures
import os
import random
import socket
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from broker_process import Watchdog, free_port, test_timeout, unique_name  # noqa: E402
from ck_helpers import (Deliveries, admin_client, consume_partition, make_consumer,  # noqa: E402
                        make_producer, result)
from fault_proxy import FaultProxy  # noqa: E402
from proxied_broker import ProxiedBrokerTestCase  # noqa: E402

from confluent_kafka import OFFSET_BEGINNING, TopicPartition  # noqa: E402
from confluent_kafka.admin import NewTopic  # noqa: E402

MB = 1 << 20


class EchoServer:
    """Echoes each connection's bytes back; half-closes after the client's EOF."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.address = self.sock.getsockname()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn):
        with conn:
            try:
                while True:
                    data = conn.recv(65536)
                    if not data:
                        conn.shutdown(socket.SHUT_WR)
                        return
                    conn.sendall(data)
            except OSError:
                pass  # reset by the proxy

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes accept()
        except OSError:
            pass
        self.sock.close()


def transfer(address, payload):
    """Sends payload (from a thread), half-closes, reads until EOF or an error.
    Returns (bytes received, exception or None). An RST's error is reported to whichever
    call sees it first, send or recv, so either one's error counts."""
    s = socket.create_connection(address, timeout=30)
    send_errors = []

    def send():
        try:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            send_errors.append(e)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    got, err = bytearray(), None
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    except OSError as e:
        err = e
    sender.join(30)
    s.close()
    errors = [e for e in [err] + send_errors if e is not None]
    resets = [e for e in errors if isinstance(e, ConnectionResetError)]
    return bytes(got), (resets or errors or [None])[0]


def payload(seed, n):
    return random.Random(seed).randbytes(n)


class WatchdogTestCase(unittest.TestCase):
    def run(self, result=None):
        with Watchdog(test_timeout(), self.id()):
            return super().run(result)


class FaultProxyTest(WatchdogTestCase):
    def setUp(self):
        self.echo = EchoServer()
        self.addCleanup(self.echo.close)
        self.proxy = FaultProxy(self.echo.address, seed=1234).start()
        self.addCleanup(self.proxy.stop)
        self.address = ("127.0.0.1", self.proxy.port)

    def assert_dropped_prefix(self, sent, got, err):
        self.assertIsInstance(err, ConnectionResetError, "expected an RST, got %r" % (err,))
        self.assertLess(len(got), len(sent))
        self.assertEqual(got, sent[:len(got)], "bytes before the drop differ")

    def test_clean_forwarding_keeps_bytes_intact_and_in_order(self):
        data = [payload(i, 3 * MB + i * 4099) for i in range(4)]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda d: transfer(self.address, d), data))
        for i, (d, (got, err)) in enumerate(zip(data, results)):
            self.assertIsNone(err, "connection %d" % i)
            self.assertEqual(len(got), len(d), "connection %d" % i)
            self.assertTrue(got == d, "connection %d: bytes differ" % i)
        s = self.proxy.stats()
        total = sum(map(len, data))
        self.assertEqual((s["connections"], s["bytes_to_server"], s["bytes_to_client"]),
                         (4, total, total))
        self.assertEqual((s["drops"], s["delays"], s["connect_failures"]), (0, 0, 0))

    def check_probabilistic_drops(self, direction):
        getattr(self.proxy, direction).drop_probability = 0.3
        outcomes = []
        for i in range(20):  # 1 MB is at least 16 chunks each way: P(no drop) < 0.7^16
            d = payload(100 + i, MB)
            got, err = transfer(self.address, d)
            if err is None:
                self.assertEqual(got, d, "connection %d was not dropped but differs" % i)
            else:
                self.assert_dropped_prefix(d, got, err)
            outcomes.append(err is not None)
        s = self.proxy.stats()
        other = "to_client" if direction == "to_server" else "to_server"
        self.assertGreater(s["drops_" + direction], 0)
        self.assertEqual(s["drops_" + direction], sum(outcomes), "drops counted vs. seen")
        self.assertEqual(s["drops_" + other], 0)
        events = self.proxy.drop_events()
        self.assertEqual(len(events), sum(outcomes))
        self.assertEqual({(e[1], e[3]) for e in events}, {(direction, "probability")})

    def test_drops_server_to_client(self):
        self.check_probabilistic_drops("to_client")

    def test_drops_client_to_server(self):
        self.check_probabilistic_drops("to_server")

    def cut_points(self, seed, lo=1000, hi=150000, n=8):
        """Received byte counts of n sequential 200 KB echoes through a proxy with
        to_client.drop_after_bytes = (lo, hi)."""
        with FaultProxy(self.echo.address, seed=seed) as proxy:
            proxy.to_client.drop_after_bytes = (lo, hi)
            cuts = []
            for i in range(n):
                d = payload(i, 200000)
                got, err = transfer(("127.0.0.1", proxy.port), d)
                self.assert_dropped_prefix(d, got, err)
                cuts.append(len(got))
            events = proxy.drop_events()
        self.assertEqual(events, [(i, "to_client", c, "after_bytes") for i, c in enumerate(cuts)])
        for c in cuts:
            self.assertTrue(lo <= c <= hi, c)
        return cuts

    def test_drop_after_bytes_is_exact_and_replays_with_the_seed(self):
        first = self.cut_points(seed=77)
        self.assertEqual(self.cut_points(seed=77), first)
        self.assertNotEqual(self.cut_points(seed=78), first)

    def test_delays_hold_data_back_and_keep_it_intact(self):
        self.proxy.to_client.delay_probability = 1.0
        self.proxy.to_client.delay_max_ms = 60
        s = socket.create_connection(self.address, timeout=10)
        t0 = time.monotonic()
        with s:
            for i in range(30):  # ping-pong: every delay is on the critical path
                msg = payload(i, 1000)
                s.sendall(msg)
                got = b""
                while len(got) < len(msg):
                    got += s.recv(65536)
                self.assertEqual(got, msg)
        elapsed = time.monotonic() - t0
        st = self.proxy.stats()
        self.assertGreaterEqual(st["delays_to_client"], 30)
        self.assertEqual(st["delays_to_server"], 0)
        delayed_s = st["delay_ms_to_client"] / 1000.0
        self.assertGreater(delayed_s, 0.3)  # expected ~0.9 s
        self.assertGreaterEqual(elapsed, delayed_s * 0.95, "round trips not held back")
        # bulk data with random delays on many chunks still arrives in order
        self.proxy.to_client.delay_probability, self.proxy.to_client.delay_max_ms = 0.3, 5
        d = payload(99, 4 * MB)
        got, err = transfer(self.address, d)
        self.assertIsNone(err)
        self.assertTrue(got == d, "bytes differ after delays")
        self.assertGreater(self.proxy.stats()["delays_to_client"], st["delays_to_client"])

    def test_switch_off_gives_a_clean_phase(self):
        self.proxy.to_client.drop_probability = 1.0
        self.proxy.to_server.drop_probability = 1.0
        self.proxy.to_client.delay_probability = 1.0
        self.proxy.to_client.delay_max_ms = 1000
        self.proxy.enabled = False
        d = payload(5, 2 * MB)
        t0 = time.monotonic()
        self.assertEqual(transfer(self.address, d), (d, None))
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual(self.proxy.stats()["drops"], 0)
        self.proxy.enabled = True
        got, err = transfer(self.address, d)
        self.assert_dropped_prefix(d, got, err)
        self.assertEqual(got, b"")
        self.assertEqual(self.proxy.stats()["drops_to_server"], 1)

    def test_target_down_resets_the_client(self):
        self.proxy.target = ("127.0.0.1", free_port())
        # not a clean EOF; on a busy machine the RST can even beat connect()'s return
        with self.assertRaises(ConnectionResetError):
            with socket.create_connection(self.address, timeout=10) as s:
                s.recv(10)
        self.assertEqual(self.proxy.stats()["connect_failures"], 1)

    def test_stop_resets_open_connections_and_closes_the_port(self):
        s = socket.create_connection(self.address, timeout=10)
        with s:
            s.sendall(b"ping")
            self.assertEqual(s.recv(10), b"ping")
            self.proxy.stop()
            with self.assertRaises(ConnectionResetError):
                s.recv(10)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(self.address, timeout=2).close()


class ProxiedBrokerRoundTripTest(ProxiedBrokerTestCase):
    N = 10000

    def produce_and_consume(self, topic, n):
        bs = self.proxy.address
        admin = admin_client(bs)  # must outlive the future
        result(admin.create_topics([NewTopic(topic, 1, 1)])[topic])
        p = make_producer(bs, acks="all")
        d = Deliveries()
        values = [b"rt-%06d-" % i + b"v" * (i % 50) for i in range(n)]
        for i, v in enumerate(values):
            p.produce(topic, value=v, partition=0, on_delivery=d)
            if i % 500 == 0:
                p.poll(0)
        self.assertEqual(p.flush(30), 0)
        d.check(self, n)
        c = make_consumer(bs)
        try:
            c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
            got = [m.value() for m in consume_partition(c, n, timeout=60)]
        finally:
            c.close()
        self.assertEqual(len(got), n)
        self.assertTrue(got == values, "records differ or out of order")
        return sum(map(len, values))

    def test_round_trip_through_proxy(self):
        payload_bytes = self.produce_and_consume(unique_name("fp-rt"), self.N)
        s = self.proxy.stats()
        # produce and fetch went through the proxy, not just the bootstrap Metadata
        self.assertGreater(s["bytes_to_server"], payload_bytes)
        self.assertGreater(s["bytes_to_client"], payload_bytes)
        self.assertEqual((s["drops"], s["peer_errors"]), (0, 0))
        sys.stderr.write("\n[round trip] proxy stats %s\n" % s)

    def test_without_advertised_listeners_data_bypasses_the_proxy(self):
        # the control for the test above: the bootstrap connection alone carries no records
        self.broker.stop()
        del self.broker.properties["advertised.listeners"]
        self.broker.start()
        payload_bytes = self.produce_and_consume(unique_name("fp-bypass"), 1000)
        s = self.proxy.stats()
        self.assertLess(s["bytes_to_server"] + s["bytes_to_client"], payload_bytes)


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/python3
"""Kafka's connection limits at a real broker: max.connections.per.ip closes a connection over
its address's limit at once while the others keep being served, max.connections.per.ip.overrides
gives one address its own limit (clients bound to other loopback addresses), and max.connections
makes the listener stop accepting until a connection closes (the waiting client is then served);
an override that does not parse stops the start with a message naming the key.

Run: /usr/bin/python3 integration/test_connection_limits.py [-v]
"""

import os
import socket
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kafka_wire as kw  # noqa: E402
from broker_process import BrokerTestCase  # noqa: E402


def connect(broker, source="127.0.0.1"):
    host, port = broker.bootstrap.rsplit(":", 1)
    s = socket.socket()
    s.settimeout(5)
    s.bind((source, 0))
    s.connect((host, int(port)))
    return s


def api_versions_frame(correlation_id=1):
    body = kw.Writer()
    body.i16(18).i16(0).i32(correlation_id).string("limits")
    data = bytes(body.buf)
    return len(data).to_bytes(4, "big") + data


def answered(s, wait=5.0):
    """True when an ApiVersions request on `s` gets its answer within `wait` seconds; False when
    the broker closed the connection; None when nothing came (not accepted yet)."""
    s.settimeout(wait)
    try:
        s.sendall(api_versions_frame())
        head = s.recv(4)
    except socket.timeout:
        return None
    except (ConnectionResetError, BrokenPipeError):
        return False
    return len(head) == 4


def closed_by_broker(s, wait=5.0):
    s.settimeout(wait)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


class PerAddressLimitTest(BrokerTestCase):
    broker_overrides = {"max.connections.per.ip": 3,
                        "max.connections.per.ip.overrides": "127.0.0.2:1"}

    def test_one_more_than_the_limit_is_closed_and_the_others_are_served(self):
        kept = [connect(self.broker) for _ in range(3)]
        try:
            for s in kept:
                self.assertTrue(answered(s))
            extra = connect(self.broker)
            self.assertTrue(closed_by_broker(extra))
            extra.close()
            for s in kept:  # still served
                self.assertTrue(answered(s))
            kept.pop().close()
            time.sleep(0.3)  # the broker sees the close
            again = connect(self.broker)
            kept.append(again)
            self.assertTrue(answered(again))
        finally:
            for s in kept:
                s.close()
        self.assertIn("(max.connections.per.ip)", self.broker.log_text())

    def test_an_override_gives_one_address_its_own_limit(self):
        first = connect(self.broker, "127.0.0.2")
        try:
            self.assertTrue(answered(first))
            second = connect(self.broker, "127.0.0.2")
            self.assertTrue(closed_by_broker(second))
            second.close()
            other = connect(self.broker, "127.0.0.3")  # the default limit, 3
            self.assertTrue(answered(other))
            other.close()
        finally:
            first.close()


class BrokerWideLimitTest(BrokerTestCase):
    broker_overrides = {"max.connections": 2}

    def test_the_listener_waits_until_a_connection_closes(self):
        a, b = connect(self.broker), connect(self.broker)
        try:
            self.assertTrue(answered(a))
            self.assertTrue(answered(b))
            # Connected in the kernel's backlog, but not accepted: no answer.
            waiting = connect(self.broker)
            self.assertIsNone(answered(waiting, wait=1.5))
            a.close()
            waiting.settimeout(10)
            self.assertEqual(len(waiting.recv(4)), 4)  # the request it sent is answered now
            waiting.close()
        finally:
            a.close()
            b.close()


class BadOverrideTest(BrokerTestCase):
    per_test_broker = True

    def test_an_override_that_does_not_parse_stops_the_start(self):
        self.broker.stop()
        self.broker.properties["max.connections.per.ip.overrides"] = "somehost:3"
        with self.assertRaises(Exception):
            self.broker.start()
        self.assertIn("max.connections.per.ip.overrides: 'somehost:3'", self.broker.log_text())


if __name__ == "__main__":
    unittest.main()

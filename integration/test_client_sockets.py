#!/usr/bin/python3
"""Socket options of client connections (server/net/client_socket.h), read off the broker's side of
real connections with `ss` (iproute2).

- runnel.socket.loopback.congestion.control (default reno): connections from loopback addresses
  get it, on a loopback listener and on a wildcard one; empty keeps the system's; a name the
  kernel does not have stops the broker at start-up with a message naming the key.
- Connections from another host (here: this machine's own non-loopback address, so the traffic
  stays on the machine) get the system's congestion control back.
- socket.send.buffer.bytes / socket.receive.buffer.bytes: applied when not -1 (the kernel
  doubles the value it is given, as its bookkeeping overhead), kernel autotuning when -1.

Run: /usr/bin/python3 integration/test_client_sockets.py [-v]
"""

import os
import re
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kafka_wire as kw  # noqa: E402
from broker_process import Broker, BrokerError, BrokerTestCase, free_port  # noqa: E402


def system_congestion_control():
    with open("/proc/sys/net/ipv4/tcp_congestion_control") as f:
        return f.read().strip()


def broker_side(port, client):
    """`ss -tinm` of the broker's end of the connection whose client socket is `client`."""
    host, client_port = client.getsockname()[:2]
    out = subprocess.run(
        ["ss", "-H", "-tinm", "state", "established", "( sport = :%d and dport = :%d )" % (
            port, client_port)], capture_output=True, text=True, check=True).stdout
    if not out.strip():
        raise AssertionError("ss shows no broker side for client %s:%d" % (host, client_port))
    return " ".join(out.split())


def congestion_control_of(ss_line):
    # `ss -tinm` prints the algorithm's name right after the socket memory figures.
    m = re.search(r"skmem:\([^)]*\)\s+(\S+)", ss_line)
    if not m:
        raise AssertionError("no congestion control in: " + ss_line)
    return m.group(1)


def non_loopback_address():
    """An IPv4 address of this machine that is not a loopback one, or None."""
    try:
        out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    m = re.search(r"inet (\d+\.\d+\.\d+\.\d+)/", out)
    return m.group(1) if m else None


def Connected(host, port, source=None):
    """A client connection that has finished an ApiVersions exchange (so the broker serves it)."""
    c = kw.Connection(host, port, source=source)
    try:
        c.api_versions()
    except BaseException:
        c.close()
        raise
    return c


class DefaultLoopbackListenerTest(BrokerTestCase):
    def connect(self):
        c = Connected("127.0.0.1", self.broker.port)
        self.addCleanup(c.close)
        return c

    def test_loopback_connection_gets_reno(self):
        c = self.connect()
        self.assertEqual(congestion_control_of(broker_side(self.broker.port, c.sock)), "reno")

    def test_buffers_are_left_to_the_kernel(self):
        # -1 by default (Kafka's default is 102400): no SO_SNDBUF / SO_RCVBUF, which the kernel
        # would have stored doubled, 204800.
        c = self.connect()
        line = broker_side(self.broker.port, c.sock)
        self.assertNotIn("tb204800", line)
        self.assertNotIn("rb204800", line)


class WildcardListenerTest(BrokerTestCase):
    broker_properties = {"socket.send.buffer.bytes": 102400,  # Kafka's defaults
                         "socket.receive.buffer.bytes": 102400}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The class broker listens on 127.0.0.1; this one on every address, same settings.
        port = free_port()
        try:
            cls.wildcard = Broker(properties=dict(cls.broker_properties,
                                                  listeners="PLAINTEXT://:%d" % port),
                                  port=port, name="wildcard")
        except BaseException:
            super().tearDownClass()  # the class broker, which setUpClass already started
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.wildcard.stop()
        finally:
            cls.wildcard.cleanup()
            super().tearDownClass()

    def test_loopback_connection_to_a_wildcard_listener_gets_reno(self):
        c = Connected("127.0.0.1", self.wildcard.port)
        self.addCleanup(c.close)
        self.assertEqual(congestion_control_of(broker_side(self.wildcard.port, c.sock)), "reno")

    def test_ipv6_loopback_connection_gets_reno(self):
        try:
            c = Connected("::1", self.wildcard.port)
        except OSError as e:
            self.skipTest("no IPv6 loopback here: %s" % e)
        self.addCleanup(c.close)
        self.assertEqual(congestion_control_of(broker_side(self.wildcard.port, c.sock)), "reno")

    def test_connection_from_another_address_keeps_the_systems_choice(self):
        address = non_loopback_address()
        if address is None:
            self.skipTest("this machine has no non-loopback IPv4 address")
        if system_congestion_control() == "reno":
            self.skipTest("the system's congestion control is reno too: nothing to tell apart")
        c = Connected(address, self.wildcard.port, source=address)
        self.addCleanup(c.close)
        self.assertEqual(congestion_control_of(broker_side(self.wildcard.port, c.sock)),
                         system_congestion_control())

    def test_buffer_sizes_are_applied(self):
        for port in (self.broker.port, self.wildcard.port):
            c = Connected("127.0.0.1", port)
            self.addCleanup(c.close)
            line = broker_side(port, c.sock)
            # The kernel stores twice the requested size (its bookkeeping overhead).
            self.assertIn("tb204800", line)
            self.assertIn("rb204800", line)


class CongestionControlSettingTest(unittest.TestCase):
    def test_empty_keeps_the_systems_choice(self):
        b = Broker(properties={"runnel.socket.loopback.congestion.control": ""}, name="empty-cc")
        try:
            c = Connected("127.0.0.1", b.port)
            try:
                self.assertEqual(congestion_control_of(broker_side(b.port, c.sock)),
                                 system_congestion_control())
            finally:
                c.close()
            b.stop()
        finally:
            b.cleanup()

    def test_unknown_name_stops_the_broker_with_a_message(self):
        b = Broker(properties={"runnel.socket.loopback.congestion.control": "no-such-cc"},
                   name="bad-cc", start=False)
        try:
            with self.assertRaises(BrokerError) as failed:
                b.start()
            self.assertNotEqual(b.last_exit_code, 0)
            message = str(failed.exception)
            self.assertIn("runnel.socket.loopback.congestion.control", message)
            self.assertIn('no congestion control named "no-such-cc"', message)
        finally:
            b.cleanup()


if __name__ == "__main__":
    unittest.main()

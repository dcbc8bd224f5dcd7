#!/usr/bin/python3
"""A fault-injecting TCP proxy (stdlib asyncio) for tests of clients against a flaky network.

    proxy = FaultProxy(("127.0.0.1", broker_port), seed=7).start()   # or `with FaultProxy(...)`
    broker = Broker(port=broker_port, properties={
        "advertised.listeners": proxy.advertised_listener})          # clients must come back
    proxy.to_client.drop_probability = 0.05   # lose responses: the broker did the work
    proxy.to_client.delay_probability, proxy.to_client.delay_max_ms = 0.2, 300
    proxy.enabled = False                     # a clean phase; the knobs stay as set
    proxy.stats()  # {"connections": .., "drops_to_client": .., "bytes_to_server": .., ...}
    proxy.stop()

Kafka clients learn broker addresses from Metadata, so the broker must advertise the proxy's
address (`advertised_listener`); otherwise only the bootstrap connection goes through it. The
listening port is bound in the constructor, so it is known before the broker starts.

Faults, per direction (`to_server`: client->server, `to_client`: server->client), each a
`Faults`; they apply only while `enabled`:
  drop_probability   per forwarded chunk: that chunk is discarded and both sockets are reset
                     (SO_LINGER 0, so the peers see RST, not a clean FIN)
  drop_after_bytes   (lo, hi): each connection forwards a random number of bytes in [lo, hi]
                     in that direction, then resets both sockets (a cut inside a frame)
  delay_probability, delay_max_ms
                     a chunk waits uniform(0, max) ms before it is forwarded; later chunks of
                     the connection wait behind it, so byte order is kept

Randomness: connection k (in accept order) and direction d use random.Random("seed/k/d"), so
a run with the same seed makes the same decisions for the same chunks. Chunk boundaries depend
on timing, so a replay through a busy client is close, not exact; drop_after_bytes cuts are
exact per connection. `drop_events()` lists where each drop happened.

Command line (for manual runs against a broker that advertises the proxy's port):
    fault_proxy.py --target 127.0.0.1:9092 --port 19092 --seed 1 \
        --drop-to-client 0.02 --delay-to-client 0.2:300
"""

import argparse
import asyncio
import collections
import dataclasses
import fcntl
import random
import socket
import struct
import sys
import termios
import threading
import time

CHUNK = 65536


@dataclasses.dataclass
class Faults:
    drop_probability: float = 0.0
    drop_after_bytes: tuple = None  # (lo, hi) or None
    delay_probability: float = 0.0
    delay_max_ms: float = 0.0


DIRECTIONS = ("to_server", "to_client")


def _reset(writer):
    """Closes with RST: SO_LINGER 0 makes close() abort the TCP connection."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


async def _unacked_bytes_gone(writer, timeout=2.0):
    """Waits until the kernel holds no unacknowledged bytes of this socket (Linux SIOCOUTQ),
    i.e. the peer received everything written; gives up after `timeout` (peer not reading)."""
    sock = writer.get_extra_info("socket")
    deadline = time.monotonic() + timeout
    while sock is not None and time.monotonic() < deadline:
        try:
            raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
        except OSError:
            return
        if struct.unpack("i", raw)[0] == 0:
            return
        await asyncio.sleep(0.001)


class _Conn:
    def __init__(self, index, client_writer, server_writer):
        self.index = index
        self.writers = (client_writer, server_writer)
        self.tasks = []
        self.dropped = False

    def reset(self):
        """Both sides at once; the pump that is still reading is cancelled."""
        self.dropped = True
        for w in self.writers:
            _reset(w)
        current = asyncio.current_task()
        for t in self.tasks:
            if t is not current:
                t.cancel()


class FaultProxy:
    def __init__(self, target, seed=0, port=0, host="127.0.0.1", enabled=True,
                 to_server=None, to_client=None):
        """target: (host, port) to forward to; may be reassigned, new connections use it."""
        self.target = tuple(target)
        self.seed = seed
        self.enabled = enabled
        self.to_server = to_server or Faults()
        self.to_client = to_client or Faults()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(128)
        self.host, self.port = self._sock.getsockname()[:2]
        self._lock = threading.Lock()
        self._stats = collections.Counter()
        self._events = collections.deque(maxlen=10000)
        self._next_index = 0
        self._conns = set()
        self._loop = None
        self._thread = None
        self._server = None

    @property
    def address(self):
        return "%s:%d" % (self.host, self.port)

    @property
    def advertised_listener(self):
        return "PLAINTEXT://%s" % self.address

    # ------------------------------------------------------------------ counters

    def _count(self, key, n=1):
        with self._lock:
            self._stats[key] += n

    def stats(self):
        """Snapshot: connections, connect_failures, active, drops_to_{server,client},
        delays_to_{server,client}, delay_ms_to_{server,client}, bytes_to_{server,client},
        chunks_to_{server,client}, peer_errors (a peer reset its side)."""
        with self._lock:
            s = collections.Counter(self._stats)
        for key in ("connections", "connect_failures", "peer_errors"):
            s[key] += 0
        for d in DIRECTIONS:
            for key in ("drops_", "delays_", "delay_ms_", "bytes_", "chunks_"):
                s[key + d] += 0
        s["active"] = len(self._conns)
        s["drops"] = s["drops_to_server"] + s["drops_to_client"]
        s["delays"] = s["delays_to_server"] + s["delays_to_client"]
        return dict(s)

    def drop_events(self):
        """[(connection index, direction, bytes forwarded in that direction, reason)]"""
        with self._lock:
            return list(self._events)

    # ------------------------------------------------------------------ lifecycle

    def start(self):
        if self._thread is not None:
            return self
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure = []

        def run():
            asyncio.set_event_loop(self._loop)
            try:
                self._server = self._loop.run_until_complete(
                    asyncio.start_server(self._handle, sock=self._sock))
            except BaseException as e:  # noqa: BLE001 - re-raised in start()
                failure.append(e)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fault-proxy:%d" % self.port,
                                        daemon=True)
        self._thread.start()
        if not ready.wait(10) or failure:
            raise RuntimeError("fault proxy did not start: %r" % (failure or "timeout"))
        return self

    def stop(self):
        """Resets open connections, closes the listener, ends the thread. Idempotent."""
        if self._thread is None:
            self._sock.close()
            return
        loop, self._thread, thread = self._loop, None, self._thread
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()

    async def _shutdown(self):
        self._server.close()
        for conn in list(self._conns):
            conn.reset()
        await self._server.wait_closed()
        pending = [t for c in list(self._conns) for t in c.tasks]
        if pending:
            await asyncio.wait(pending, timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # ------------------------------------------------------------------ forwarding

    async def _handle(self, client_reader, client_writer):
        with self._lock:
            index = self._next_index
            self._next_index += 1
        self._count("connections")
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            self._count("connect_failures")  # target down (e.g. broker killed): reset client
            _reset(client_writer)
            return
        conn = _Conn(index, client_writer, server_writer)
        self._conns.add(conn)
        try:
            conn.tasks = [
                asyncio.ensure_future(self._pump(conn, client_reader, server_writer, "to_server")),
                asyncio.ensure_future(self._pump(conn, server_reader, client_writer, "to_client")),
            ]
            await asyncio.gather(*conn.tasks, return_exceptions=True)
        finally:
            self._conns.discard(conn)
            if not conn.dropped:
                for w in conn.writers:
                    w.close()

    async def _pump(self, conn, reader, writer, direction):
        faults = getattr(self, direction)
        rng = random.Random("%s/%d/%s" % (self.seed, conn.index, direction))
        budget = rng.randint(*faults.drop_after_bytes) if faults.drop_after_bytes else None
        forwarded = 0
        while True:
            try:
                data = await reader.read(CHUNK)
            except OSError:
                self._count("peer_errors")  # pass a reset on to the other side
                conn.reset()
                return
            if not data:
                try:
                    if writer.can_write_eof() and not writer.is_closing():
                        writer.write_eof()  # half-close: the other direction may still flow
                except OSError:
                    pass
                return
            if self.enabled:
                if rng.random() < faults.drop_probability:
                    return await self._drop(conn, writer, b"", direction, forwarded, "probability")
                if budget is not None and forwarded + len(data) >= budget:
                    head = data[:budget - forwarded]
                    return await self._drop(conn, writer, head, direction, forwarded + len(head),
                                            "after_bytes")
                if rng.random() < faults.delay_probability:
                    delay_ms = rng.uniform(0, faults.delay_max_ms)
                    self._count("delays_" + direction)
                    self._count("delay_ms_" + direction, delay_ms)
                    await asyncio.sleep(delay_ms / 1000.0)
            try:
                writer.write(data)
                await writer.drain()
            except OSError:
                self._count("peer_errors")
                conn.reset()
                return
            forwarded += len(data)
            with self._lock:
                self._stats["bytes_" + direction] += len(data)
                self._stats["chunks_" + direction] += 1

    async def _drop(self, conn, writer, head, direction, at_byte, reason):
        """Forwards `head`, waits until this direction's bytes reached the peer (an RST
        discards the send queue, which would make the cut point depend on timing), resets."""
        with self._lock:
            self._stats["drops_" + direction] += 1
            self._stats["bytes_" + direction] += len(head)
            self._events.append((conn.index, direction, at_byte, reason))
        try:
            writer.transport.set_write_buffer_limits(high=0)
            writer.write(head)
            await asyncio.wait_for(writer.drain(), 2.0)
            await _unacked_bytes_gone(writer)
        except (OSError, asyncio.TimeoutError):
            pass  # the peer is gone or not reading: reset anyway
        conn.reset()


# ---------------------------------------------------------------------- command line


def _pair(text, conv=float):
    a, _, b = text.partition(":")
    return conv(a), conv(b)


def main(argv=None):
    p = argparse.ArgumentParser(description="Fault-injecting TCP proxy (see module doc).")
    p.add_argument("--target", required=True, help="HOST:PORT to forward to")
    p.add_argument("--port", type=int, default=0, help="listening port on 127.0.0.1")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--off", action="store_true", help="start with faults disabled")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between stats lines")
    for d, short in (("to_client", "to-client"), ("to_server", "to-server")):
        p.add_argument("--drop-" + short, type=float, default=0.0, metavar="P",
                       help="drop probability per chunk %s" % d)
        p.add_argument("--drop-after-" + short, type=lambda t: _pair(t, int), metavar="LO:HI",
                       help="reset each connection after LO..HI bytes %s" % d)
        p.add_argument("--delay-" + short, type=_pair, metavar="P:MAXMS",
                       help="delay a chunk %s with probability P by up to MAXMS ms" % d)
    args = p.parse_args(argv)
    host, _, port = args.target.rpartition(":")
    proxy = FaultProxy((host or "127.0.0.1", int(port)), seed=args.seed, port=args.port,
                       enabled=not args.off)
    for d, short in (("to_client", "to_client"), ("to_server", "to_server")):
        f = getattr(proxy, d)
        f.drop_probability = getattr(args, "drop_" + short)
        f.drop_after_bytes = getattr(args, "drop_after_" + short)
        if getattr(args, "delay_" + short):
            f.delay_probability, f.delay_max_ms = getattr(args, "delay_" + short)
    with proxy:
        print("fault proxy %s -> %s:%d (seed %d); the broker needs advertised.listeners=%s" % (
            proxy.address, proxy.target[0], proxy.target[1], args.seed,
            proxy.advertised_listener), flush=True)
        try:
            while True:
                time.sleep(args.interval)
                print(" ".join("%s=%s" % (k, round(v) if isinstance(v, float) else v)
                               for k, v in sorted(proxy.stats().items())), flush=True)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A mutation fuzzer over the wire: request frames captured from real clients (tests/data/captured)
and frames built by the test encoders for the group and transaction APIs, mutated and sent in
bursts over many connections. Used by test_wire_fuzz.py (bounded time) and runnable by hand:

    /usr/bin/python3 integration/wire_fuzzer.py 127.0.0.1:9092 --seconds 600 --seed 7

It only sends; what the broker must still do after each burst is the caller's to check.
"""

import argparse
import glob
import os
import random
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kafka_wire as kw  # noqa: E402
import txn_wire  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CAPTURED = os.path.join(REPO_ROOT, "tests", "data", "captured")

INTERESTING_32 = [0, 1, -1, 2, 127, 128, 255, 256, 0x7fff, 0x8000, 0xffff, 0x10000, 50000,
                  1 << 20, 0x7fffffff, -0x80000000, 10001, 100000]
INTERESTING_16 = [0, 1, -1, 0x7f, 0x80, 0xff, 0x7fff, -0x8000, 100, 1000]
API_KEYS = [0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 24, 25, 26, 28,
            32, 37, 42, 47, 60, 61, 65, 66, 68, 69, 9999, -1]


def _frame(api_key, version, body, client_id="fuzz"):
    header_version = kw.request_header_version(api_key, version)
    w = kw.Writer()
    w.i16(api_key).i16(version).i32(1).string(client_id)
    if header_version >= 2:
        w.tags()
    return w.getvalue() + body


def built_seeds():
    """Frames for APIs the captured clients never sent (groups, transactions, offsets)."""
    sub = kw.encode_consumer_subscription(["fuzz-topic"])
    seeds = [
        _frame(kw.FIND_COORDINATOR, 3, kw.encode_find_coordinator(3, key="fuzz-group")),
        _frame(kw.JOIN_GROUP, 5, kw.encode_join_group(5, "fuzz-group",
                                                      protocols=[("range", sub)])),
        _frame(kw.SYNC_GROUP, 3, kw.encode_sync_group(3, "fuzz-group", 1, "m-1")),
        _frame(kw.HEARTBEAT, 3, kw.encode_heartbeat(3, "fuzz-group", 1, "m-1")),
        _frame(kw.LEAVE_GROUP, 3, kw.encode_leave_group(3, "fuzz-group",
                                                        members=[("m-1", None)])),
        _frame(kw.OFFSET_COMMIT, 7, kw.encode_offset_commit(7, "fuzz-group",
                                                            {"fuzz-topic": {0: 5}})),
        _frame(kw.OFFSET_FETCH, 7, kw.encode_offset_fetch(7, "fuzz-group",
                                                          topics={"fuzz-topic": [0]})),
        _frame(kw.LIST_GROUPS, 4, kw.encode_list_groups(4, states_filter=["Stable"])),
        _frame(kw.DESCRIBE_GROUPS, 5, kw.encode_describe_groups(5, ["fuzz-group"])),
        _frame(kw.DELETE_GROUPS, 2, kw.encode_delete_groups(2, ["fuzz-group"])),
        _frame(kw.INIT_PRODUCER_ID, 4, kw.encode_init_producer_id(4, transactional_id="fz")),
        _frame(kw.ADD_OFFSETS_TO_TXN, 3, txn_wire.encode_add_offsets_to_txn(
            3, "fz", 1, 0, "fuzz-group")),
        _frame(kw.END_TXN, 3, txn_wire.encode_end_txn(3, "fz", 1, 0, True)),
        _frame(kw.LIST_TRANSACTIONS, 1, txn_wire.encode_list_transactions(1)),
        _frame(kw.DESCRIBE_TRANSACTIONS, 0, txn_wire.encode_describe_transactions(["fz"])),
        _frame(kw.DESCRIBE_PRODUCERS, 0, kw.encode_describe_producers([("fuzz-topic", [0])])),
        _frame(kw.DESCRIBE_CLUSTER, 0, kw.encode_describe_cluster_v0()),
        _frame(kw.CREATE_TOPICS, 2, kw.encode_create_topics_v2([("fuzz-topic", 3, 1, {})])),
        _frame(kw.PRODUCE, 3, kw.encode_produce_v3(1, 1000, {"fuzz-topic": {
            0: kw.build_record_batch([kw.Record(key=b"k", value=b"v" * 40)])}})),
        _frame(kw.FETCH, 4, kw.encode_fetch_v4({"fuzz-topic": {0: 0}}, max_wait_ms=50)),
    ]
    return seeds


def load_seeds():
    seeds = []
    for path in sorted(glob.glob(os.path.join(CAPTURED, "*.bin"))):
        with open(path, "rb") as f:
            seeds.append(f.read())
    return seeds + built_seeds()


class Mutator:
    def __init__(self, seeds, rng):
        self.seeds = seeds
        self.rng = rng

    def mutate(self, frame):
        b = bytearray(frame)
        for _ in range(self.rng.choice([1, 1, 1, 2, 3, 5])):
            op = self.rng.randrange(10)
            if op == 0 and b:  # flip bits
                i = self.rng.randrange(len(b))
                b[i] ^= 1 << self.rng.randrange(8)
            elif op == 1 and b:  # an interesting byte
                b[self.rng.randrange(len(b))] = self.rng.choice([0, 1, 0x7f, 0x80, 0xfe, 0xff])
            elif op == 2 and len(b) >= 4:  # an interesting int32 (counts, lengths, partitions)
                i = self.rng.randrange(len(b) - 3)
                b[i:i + 4] = struct.pack(">i", self.rng.choice(INTERESTING_32))
            elif op == 3 and len(b) >= 2:  # an interesting int16 (string lengths, versions)
                i = self.rng.randrange(len(b) - 1)
                b[i:i + 2] = struct.pack(">h", self.rng.choice(INTERESTING_16))
            elif op == 4 and b:  # truncate
                del b[self.rng.randrange(len(b)):]
            elif op == 5:  # append junk
                b += bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(1, 64)))
            elif op == 6 and len(b) > 2:  # duplicate a chunk in place
                i = self.rng.randrange(len(b))
                j = min(len(b), i + self.rng.randrange(1, 32))
                b[i:i] = b[i:j]
            elif op == 7 and len(b) >= 4:  # another version of the same API
                b[2:4] = struct.pack(">h", self.rng.randrange(-1, 20))
            elif op == 8 and len(b) >= 2:  # another API with the same bytes
                b[0:2] = struct.pack(">h", self.rng.choice(API_KEYS))
            elif op == 9 and len(b) > 8:  # splice with another seed
                other = self.rng.choice(self.seeds)
                cut = self.rng.randrange(8, len(b))
                b = b[:cut] + other[self.rng.randrange(min(len(other), cut)):]
        return bytes(b)

    def frame_bytes(self):
        """One size-prefixed frame; sometimes the size lies."""
        payload = self.mutate(self.rng.choice(self.seeds))
        size = len(payload)
        r = self.rng.random()
        if r < 0.03:
            size = self.rng.choice([-1, 0, 1, 0x7fffffff, len(payload) + 100000])
        elif r < 0.08:
            size = max(0, len(payload) - self.rng.randrange(1, 8))
        return struct.pack(">i", size) + payload


def drain(sock, deadline):
    """Reads answers until the broker closes, the deadline passes or nothing comes for 50 ms."""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, min(0.05, deadline - time.monotonic())))
        try:
            if not sock.recv(65536):
                return
        except socket.timeout:
            return
        except OSError:
            return


def burst(address, mutator, connections=40, max_frames=6, seconds=2.0):
    """Sends mutated frames over `connections` connections (a few pipelined frames each);
    returns the number of frames sent."""
    host, port = address
    sent = 0
    deadline = time.monotonic() + seconds
    for _ in range(connections):
        if time.monotonic() > deadline:
            break
        try:
            s = socket.create_connection((host, port), timeout=2)
        except OSError:
            continue
        try:
            frames = [mutator.frame_bytes()
                      for _ in range(mutator.rng.randrange(1, max_frames + 1))]
            s.settimeout(2)
            try:
                s.sendall(b"".join(frames))
                sent += len(frames)
            except OSError:
                pass
            drain(s, min(deadline, time.monotonic() + 0.3))
        finally:
            s.close()
    return sent


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bootstrap", help="host:port of the broker")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    host, port = args.bootstrap.rsplit(":", 1)
    mutator = Mutator(load_seeds(), random.Random(seed))
    print("seed %d, %d seed frames" % (seed, len(mutator.seeds)), flush=True)
    end = time.monotonic() + args.seconds
    bursts = frames = 0
    while time.monotonic() < end:
        frames += burst((host, int(port)), mutator)
        bursts += 1
    print("%d bursts, %d frames" % (bursts, frames))


if __name__ == "__main__":
    main()

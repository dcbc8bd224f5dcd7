#!/usr/bin/python3
"""Records request frames sent by real Kafka clients, for tests/protocol/captured_requests_test.cc.

    /usr/bin/python3 scripts/capture-client-requests.py [--broker PATH] [--out DIR]
                                                        [--no-patch-produce-min-version]

Starts the Runnel broker (default build/server/runnel) on a free loopback port with a temp data
dir, and a TCP proxy on another free loopback port that forwards to it. The broker advertises the
proxy's address (advertised.listeners), so clients that reconnect to the advertised broker
(librdkafka) keep going through the proxy. Every request frame from client to broker is recorded
(the 4-byte size prefix stripped). Then it drives, through the proxy:

  kcat             -L (metadata), -P with -z gzip/snappy/lz4/zstd and -K:, -C -o beginning -e
  kafka-python     KafkaAdminClient create_topics (with a config) + describe_configs,
                   KafkaProducer (JSON value serializer, headers),
                   KafkaConsumer (no group_id, auto_offset_reset='earliest')
  confluent-kafka  AdminClient create_topics / describe_configs / create_partitions,
                   Producer, Consumer with assign(), AdminClient delete_topics

The client of a frame is known from the client id in its request header (each client is given
one explicitly). ApiVersions responses may be patched on their way back: see PATCH_NOTE. The
FIRST frame of each (client, API key, API version) is written to
<out>/<client>-<ApiName>-v<version>.bin; kcat's Produce frames are kept once per compression
codec, as <out>/kcat-Produce-v<version>-<codec>.bin. Frames above 64 KiB and frames of APIs
that protocol/schema does not describe are not written. <out>/README.md lists the files and what
produced them. Python 3 standard library only (the clients are run as subprocesses).
"""

import argparse
import glob
import os
import re
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3"
TOPIC = "captured-topic"
MAX_SAVED_FRAME = 64 * 1024
CLIENT_IDS = {
    "captured-kcat": "kcat",
    "captured-kafka-python": "kafka-python",
    "captured-confluent": "confluent-kafka",
}
KCAT_CODECS = ["gzip", "snappy", "lz4", "zstd"]
KCAT_FILLER = "abcdefgh" * 32
STEP_TIMEOUT = 60


def log(msg):
    print("[capture] %s" % msg, flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_names():
    """API key -> name, from the `api <key> <Name> versions ...` lines of protocol/schema."""
    names = {}
    for path in glob.glob(os.path.join(REPO_ROOT, "protocol", "schema", "*.msg")):
        with open(path) as f:
            for line in f:
                m = re.match(r"\s*api\s+(\d+)\s+(\w+)\s+versions", line)
                if m:
                    names[int(m.group(1))] = m.group(2)
    return names


# ---------------------------------------------------------------------------------------- proxy


class Frame:
    __slots__ = ("seq", "conn", "variant", "data")

    def __init__(self, seq, conn, variant, data):
        self.seq, self.conn, self.variant, self.data = seq, conn, variant, data

    @property
    def api_key(self):
        return struct.unpack_from(">h", self.data, 0)[0]

    @property
    def api_version(self):
        return struct.unpack_from(">h", self.data, 2)[0]

    @property
    def correlation_id(self):
        return struct.unpack_from(">i", self.data, 4)[0]

    @property
    def client_id(self):
        # Request header v1 and v2 both carry client_id as a (non-compact) nullable string.
        if len(self.data) < 10:
            return None
        n = struct.unpack_from(">h", self.data, 8)[0]
        if n < 0 or len(self.data) < 10 + n:
            return None
        return self.data[10:10 + n].decode("utf-8", "replace")


def read_uvarint(buf, pos):
    value = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def patch_produce_min_version(body, version):
    """Rewrites, in place, the Produce (key 0) MinVersion of an ApiVersions response body (what
    follows the correlation id) to 0 when it is above 0. Returns the old MinVersion, or None when
    nothing was changed. See PATCH_NOTE."""
    pos = 0
    error_code = struct.unpack_from(">h", body, pos)[0]
    pos += 2
    flexible = version >= 3 and error_code != 35  # UNSUPPORTED_VERSION answers in the v0 layout
    if flexible:
        n, pos = read_uvarint(body, pos)
        n -= 1
    else:
        n = struct.unpack_from(">i", body, pos)[0]
        pos += 4
    for _ in range(max(n, 0)):
        key, min_version, _max_version = struct.unpack_from(">hhh", body, pos)
        if key == 0 and min_version > 0:
            struct.pack_into(">h", body, pos + 2, 0)
            return min_version
        pos += 6
        if flexible:
            tags, pos = read_uvarint(body, pos)
            for _ in range(tags):
                _tag, pos = read_uvarint(body, pos)
                size, pos = read_uvarint(body, pos)
                pos += size
    return None


PATCH_NOTE = (
    "librdkafka up to at least 2.0.2 sends gzip, snappy and lz4 batches uncompressed (logging "
    "\"Broker does not support compression type gzip: not compressing batch\") unless the "
    "broker's ApiVersions response lists Produce v0 as supported (confluentinc/librdkafka#4956). "
    "Apache Kafka 4.0 dropped Produce v0-v2 but keeps advertising MinVersion 0 for Produce for "
    "that reason (KAFKA-18659). When the broker advertises a Produce MinVersion above 0, the "
    "proxy rewrites it to 0 in the ApiVersions responses it forwards, as Kafka 4.0 would "
    "advertise it, so that kcat's -z captures hold compressed batches. Requests are recorded "
    "unchanged.")


class RecordingProxy:
    """Forwards loopback connections to the broker; records complete client->broker frames.
    With patch_produce_min, rewrites the Produce MinVersion in ApiVersions responses (see
    PATCH_NOTE)."""

    def __init__(self, target_port, patch_produce_min=True):
        self.target_port = target_port
        self.patch_produce_min = patch_produce_min
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.frames = []
        self.variant = None  # tag attached to frames received while it is set
        self.connections = 0
        self.patched = []  # (old Produce MinVersion, ApiVersions version) per rewritten response
        self.stopping = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def set_variant(self, variant):
        with self.lock:
            self.variant = variant

    def _accept_loop(self):
        while not self.stopping:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                conn_id = self.connections
            threading.Thread(target=self._serve, args=(client, conn_id), daemon=True).start()

    def _serve(self, client, conn_id):
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        requests = bytearray()
        responses = bytearray()
        api_versions_pending = {}  # correlation id -> ApiVersions request version
        socks = [client, upstream]
        try:
            while True:
                readable, _, _ = select.select(socks, [], [], 1.0)
                if self.stopping:
                    return
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    if s is client:
                        requests += data
                        for f in self._take_frames(requests):
                            frame = Frame(0, conn_id, None, bytes(f))
                            if frame.api_key == 18:
                                api_versions_pending[frame.correlation_id] = frame.api_version
                            with self.lock:
                                frame.seq = len(self.frames)
                                frame.variant = self.variant
                                self.frames.append(frame)
                        upstream.sendall(data)
                    else:
                        responses += data
                        out = bytearray()
                        for f in self._take_frames(responses):
                            corr = struct.unpack_from(">i", f, 0)[0]
                            version = api_versions_pending.pop(corr, None)
                            if version is not None and self.patch_produce_min:
                                body = memoryview(f)[4:]
                                old = patch_produce_min_version(body, version)
                                if old is not None:
                                    with self.lock:
                                        self.patched.append((old, version))
                            out += struct.pack(">i", len(f)) + f
                        if out:
                            client.sendall(out)
        except (OSError, struct.error, IndexError):
            pass
        finally:
            for s in socks:
                try:
                    s.close()
                except OSError:
                    pass

    @staticmethod
    def _take_frames(pending):
        """Removes and yields the complete size-prefixed frames at the start of `pending`."""
        frames = []
        while len(pending) >= 4:
            size = struct.unpack_from(">i", pending, 0)[0]
            if size < 0 or len(pending) < 4 + size:
                break
            frames.append(bytearray(pending[4:4 + size]))
            del pending[:4 + size]
        return frames

    def close(self):
        self.stopping = True
        try:
            self.sock.close()
        except OSError:
            pass


# --------------------------------------------------------------------------------------- broker


class BrokerProcess:
    def __init__(self, binary, port, advertised_port):
        self.tmpdir = tempfile.mkdtemp(prefix="runnel-capture-")
        self.port = port
        data_dir = os.path.join(self.tmpdir, "data")
        os.makedirs(data_dir)
        props = os.path.join(self.tmpdir, "server.properties")
        with open(props, "w") as f:
            f.write("listeners=PLAINTEXT://127.0.0.1:%d\n" % self.port)
            f.write("log.dirs=%s\n" % data_dir)
            f.write("runnel.admin.listeners=\n")
            f.write("num.partitions=1\n")
            f.write("default.replication.factor=1\n")
            f.write("auto.create.topics.enable=true\n")
            f.write("runnel.shards=1\n")
        self.log_path = os.path.join(self.tmpdir, "broker.log")
        cmd = [binary, props, "--override",
               "advertised.listeners=PLAINTEXT://127.0.0.1:%d" % advertised_port]
        log("starting broker: %s" % " ".join(cmd))
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log_file,
                                     stderr=subprocess.STDOUT, cwd=self.tmpdir)
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("broker exited with code %d:\n%s" % (self.proc.returncode,
                                                                        self.log_tail()))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.25).close()
                break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("broker did not start listening:\n%s" % self.log_tail())
            time.sleep(0.1)

    def log_tail(self, n=40):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()
        shutil.rmtree(self.tmpdir, ignore_errors=True)


# -------------------------------------------------------------------------------------- clients

# Each Python step is run as its own /usr/bin/python3 process; BOOTSTRAP and TOPIC are prepended.

CONFLUENT_ADMIN_CREATE = """
from confluent_kafka.admin import AdminClient, NewTopic, NewPartitions, ConfigResource
admin = AdminClient({'bootstrap.servers': BOOTSTRAP, 'client.id': 'captured-confluent'})
fs = admin.create_topics([NewTopic(TOPIC, num_partitions=1, replication_factor=1,
                                   config={'retention.ms': '3600000'})], request_timeout=15)
for f in fs.values(): f.result()
fs = admin.describe_configs([ConfigResource('topic', TOPIC)], request_timeout=15)
for f in fs.values(): print(len(f.result()), 'config entries')
fs = admin.create_partitions([NewPartitions(TOPIC, 2)], request_timeout=15)
for f in fs.values(): f.result()
"""

CONFLUENT_PRODUCE = """
from confluent_kafka import Producer
p = Producer({'bootstrap.servers': BOOTSTRAP, 'client.id': 'captured-confluent'})
for i in range(3):
    p.produce(TOPIC, key=b'ck%d' % i, value=b'confluent value %d' % i, partition=0,
              headers=[('source', b'confluent-kafka')])
assert p.flush(15) == 0
"""

CONFLUENT_CONSUME = """
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
import time
c = Consumer({'bootstrap.servers': BOOTSTRAP, 'client.id': 'captured-confluent',
              'group.id': 'captured-unused-group',  # required by librdkafka; never joined
              'enable.auto.commit': False, 'enable.auto.offset.store': False})
c.assign([TopicPartition(TOPIC, 0, OFFSET_BEGINNING)])
got = 0
deadline = time.time() + 20
while got < 3 and time.time() < deadline:
    m = c.poll(1.0)
    if m is not None and not m.error():
        got += 1
c.close()
print('consumed', got)
assert got >= 3
"""

CONFLUENT_ADMIN_DELETE = """
from confluent_kafka.admin import AdminClient
admin = AdminClient({'bootstrap.servers': BOOTSTRAP, 'client.id': 'captured-confluent'})
fs = admin.delete_topics([TOPIC], request_timeout=15)
for f in fs.values(): f.result()
"""

KAFKA_PYTHON_ADMIN = """
import time
from kafka.admin import KafkaAdminClient, NewTopic, ConfigResource, ConfigResourceType
from kafka.errors import TopicAlreadyExistsError
admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP, client_id='captured-kafka-python')
for attempt in range(20):
    try:
        admin.create_topics([NewTopic(TOPIC, num_partitions=2, replication_factor=1,
                                      topic_configs={'retention.ms': '7200000'})])
        break
    except TopicAlreadyExistsError:   # the confluent-kafka step's delete may still be settling
        time.sleep(0.5)
print(admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, TOPIC)]))
admin.close()
"""

KAFKA_PYTHON_PRODUCE = """
import json
from kafka import KafkaProducer
p = KafkaProducer(bootstrap_servers=BOOTSTRAP, client_id='captured-kafka-python',
                  value_serializer=lambda v: json.dumps(v).encode('utf-8'))
for i in range(3):
    p.send(TOPIC, key=b'kp%d' % i, value={'n': i, 'from': 'kafka-python'}, partition=0,
           headers=[('source', b'kafka-python')]).get(timeout=15)
p.close()
"""

KAFKA_PYTHON_CONSUME = """
from kafka import KafkaConsumer
c = KafkaConsumer(TOPIC, bootstrap_servers=BOOTSTRAP, client_id='captured-kafka-python',
                  group_id=None, auto_offset_reset='earliest', consumer_timeout_ms=5000)
n = sum(1 for _ in c)
c.close()
print('consumed', n)
assert n >= 3
"""


def kcat_commands(bootstrap):
    base = ["kcat", "-b", bootstrap, "-X", "client.id=captured-kcat"]
    steps = [("kcat -L", None, base + ["-L", "-t", TOPIC], None)]
    for codec in KCAT_CODECS:
        # librdkafka sends a batch uncompressed when compressing does not make it smaller: the
        # values repeat a pattern so that every codec does.
        stdin = "".join("k%d:%s value %d %s\n" % (i, codec, i, KCAT_FILLER) for i in range(3))
        steps.append(("kcat -P -z %s" % codec, codec,
                      base + ["-P", "-t", TOPIC, "-p", "0", "-z", codec, "-K:"], stdin))
    steps.append(("kcat -C", None, base + ["-C", "-t", TOPIC, "-o", "beginning", "-e"], None))
    return steps


def run_step(name, cmd, stdin=None):
    log("%s: %s" % (name, " ".join(cmd) if cmd[0] != PYTHON else PYTHON + " -c ..."))
    r = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=STEP_TIMEOUT)
    if r.returncode != 0:
        raise RuntimeError("%s failed (exit %d)\nstdout:\n%s\nstderr:\n%s" % (
            name, r.returncode, r.stdout[-3000:], r.stderr[-3000:]))


def run_python(name, code, bootstrap):
    prologue = "BOOTSTRAP = %r\nTOPIC = %r\n" % (bootstrap, TOPIC)
    run_step(name, [PYTHON, "-c", prologue + textwrap.dedent(code)])


# ----------------------------------------------------------------------------------------- main


def describe_python(code):
    return "\n".join("    " + l for l in textwrap.dedent(code).strip().splitlines())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--broker", default=os.path.join(REPO_ROOT, "build", "server", "runnel"))
    ap.add_argument("--out", default=os.path.join(REPO_ROOT, "tests", "data", "captured"))
    ap.add_argument("--no-patch-produce-min-version", dest="patch", action="store_false",
                    help="forward ApiVersions responses unchanged (see PATCH_NOTE in the source; "
                         "kcat then sends gzip/snappy/lz4 batches uncompressed)")
    args = ap.parse_args()

    names = api_names()
    if not names:
        sys.exit("no API definitions found under protocol/schema")

    proxy = None
    broker = None
    steps_run = []
    try:
        # The proxy listens first (the broker advertises its port) and forwards to a port
        # chosen for the broker.
        broker_port = free_port()
        proxy = RecordingProxy(broker_port, patch_produce_min=args.patch)
        broker = BrokerProcess(args.broker, broker_port, proxy.port)
        bootstrap = "127.0.0.1:%d" % proxy.port

        # confluent-kafka: admin create/describe/partitions, produce, consume, delete.
        for name, code in [("confluent-kafka admin create_topics/describe_configs/"
                            "create_partitions", CONFLUENT_ADMIN_CREATE),
                           ("confluent-kafka Producer", CONFLUENT_PRODUCE),
                           ("confluent-kafka Consumer assign()", CONFLUENT_CONSUME),
                           ("confluent-kafka admin delete_topics", CONFLUENT_ADMIN_DELETE)]:
            run_python(name, code, bootstrap)
            steps_run.append(("confluent-kafka", name, "python", code))

        # kafka-python: admin (re)creates the topic, produce, consume.
        for name, code in [("kafka-python KafkaAdminClient create_topics/describe_configs",
                            KAFKA_PYTHON_ADMIN),
                           ("kafka-python KafkaProducer", KAFKA_PYTHON_PRODUCE),
                           ("kafka-python KafkaConsumer", KAFKA_PYTHON_CONSUME)]:
            run_python(name, code, bootstrap)
            steps_run.append(("kafka-python", name, "python", code))

        # kcat: metadata, produce with each codec, consume.
        for name, variant, cmd, stdin in kcat_commands(bootstrap):
            proxy.set_variant(variant)
            run_step(name, cmd, stdin)
            proxy.set_variant(None)
            shown = " ".join(c if c != bootstrap else "127.0.0.1:<proxy>" for c in cmd)
            if stdin is not None:
                shown += "   # stdin, i = 0..2: \"k<i>:%s value <i> \" + \"abcdefgh\" * 32" % variant
            steps_run.append(("kcat", name, "shell", shown))
        time.sleep(0.5)
    except BaseException:
        if broker is not None:
            sys.stderr.write("broker log tail:\n%s\n" % broker.log_tail())
        raise
    finally:
        if proxy is not None:
            proxy.close()
        if broker is not None:
            broker.stop()

    if proxy.patched:
        log("rewrote Produce MinVersion %s -> 0 in %d ApiVersions responses" % (
            "/".join(sorted({str(old) for old, _ in proxy.patched})), len(proxy.patched)))
    write_output(args.out, proxy.frames, names, steps_run, proxy.patched)


def write_output(out, frames, names, steps_run, patched):
    chosen = {}  # (client, api key, version, variant) -> Frame
    seen = {}    # client -> {(api name, version)}
    skipped = []
    for f in frames:
        if len(f.data) < 8:
            continue
        client = CLIENT_IDS.get(f.client_id)
        if client is None:
            skipped.append("frame %d: unknown client id %r" % (f.seq, f.client_id))
            continue
        name = names.get(f.api_key)
        if name is None:
            skipped.append("%s: API key %d v%d (not in protocol/schema)" % (
                client, f.api_key, f.api_version))
            continue
        seen.setdefault(client, set()).add((f.api_key, name, f.api_version))
        variant = f.variant if (client == "kcat" and name == "Produce") else None
        key = (client, f.api_key, f.api_version, variant)
        if key in chosen:
            continue
        if len(f.data) > MAX_SAVED_FRAME:
            skipped.append("%s %s v%d: frame of %d bytes" % (client, name, f.api_version,
                                                             len(f.data)))
            continue
        chosen[key] = f

    os.makedirs(out, exist_ok=True)
    for old in glob.glob(os.path.join(out, "*.bin")):
        os.remove(old)
    rows = []
    for (client, api_key, version, variant), f in sorted(
            chosen.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2], kv[0][3] or "")):
        fname = "%s-%s-v%d%s.bin" % (client, names[api_key], version,
                                     "-" + variant if variant else "")
        with open(os.path.join(out, fname), "wb") as fh:
            fh.write(f.data)
        note = ""
        if api_key == 0:
            codec = produce_codec(f.data)
            if codec is not None:
                note = "records: %s" % codec
        rows.append((fname, len(f.data), client, names[api_key], api_key, version, note))
        log("wrote %s (%d bytes)" % (fname, len(f.data)))

    write_readme(out, rows, seen, skipped, steps_run, patched)
    log("%d frames recorded, %d files written to %s" % (len(frames), len(rows), out))


CODEC_NAMES = ["none", "gzip", "snappy", "lz4", "zstd"]


def produce_codec(data):
    """Compression codec of the first batch of a non-flexible (v3-v8) Produce request frame."""
    try:
        if struct.unpack_from(">h", data, 2)[0] >= 9:
            return None
        pos = 8
        n = struct.unpack_from(">h", data, pos)[0]  # client id
        pos += 2 + max(n, 0)
        n = struct.unpack_from(">h", data, pos)[0]  # transactional id
        pos += 2 + max(n, 0) + 2 + 4 + 4  # acks, timeout, topic count
        n = struct.unpack_from(">h", data, pos)[0]  # topic name
        pos += 2 + n + 4 + 4 + 4  # partition count, index, records size
        attributes = struct.unpack_from(">h", data, pos + 21)[0]
        codec = attributes & 7
        return CODEC_NAMES[codec] if codec < len(CODEC_NAMES) else str(codec)
    except (struct.error, IndexError):
        return None


def client_versions():
    vers = {}
    try:
        r = subprocess.run(["kcat", "-V"], capture_output=True, text=True, timeout=10)
        m = re.search(r"Version (\S+) \(.*?librdkafka (\S+)", r.stdout + r.stderr)
        if m:
            vers["kcat"] = "kcat %s (librdkafka %s)" % (m.group(1), m.group(2))
    except (OSError, subprocess.SubprocessError):
        pass
    code = ("import kafka, confluent_kafka; print(kafka.__version__); "
            "print(confluent_kafka.version()[0]); print(confluent_kafka.libversion()[0])")
    try:
        r = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, timeout=30)
        kp, ck, lib = r.stdout.split()
        vers["kafka-python"] = "kafka-python %s" % kp
        vers["confluent-kafka"] = "confluent-kafka-python %s (librdkafka %s)" % (ck, lib)
    except (OSError, ValueError, subprocess.SubprocessError):
        pass
    return vers


def write_readme(out, rows, seen, skipped, steps_run, patched):
    vers = client_versions()
    lines = [
        "# Request frames captured from real clients",
        "",
        "Written by `scripts/capture-client-requests.py` (run it with `/usr/bin/python3`); "
        "decoded by `tests/protocol/captured_requests_test.cc`.",
        "Each `.bin` file is one request frame as a client sent it to the broker, without the "
        "4-byte size prefix: request header, then body. It is the first frame the client sent "
        "for that API key and version (kcat's Produce frames: the first one per `-z` codec). "
        "The client is identified by the client id it was given.",
        "",
        "Clients: " + "; ".join(vers.get(c, c) for c in ("kcat", "kafka-python",
                                                         "confluent-kafka")) + ".",
        "Topic: `%s`. Client ids: `captured-kcat`, `captured-kafka-python`, "
        "`captured-confluent`." % TOPIC,
        "",
        "| file | bytes | client | API (key) | version | note |",
        "|---|---:|---|---|---:|---|",
    ]
    for fname, size, client, api, key, version, note in rows:
        lines.append("| `%s` | %d | %s | %s (%d) | %d | %s |" % (fname, size, client, api, key,
                                                                version, note))
    lines += ["", "The note column gives the codec of a Produce capture's first batch. librdkafka "
              "compresses with lz4 only when the broker advertises FindCoordinator (its LZ4 "
              "feature dates from Kafka 0.8.2 and is keyed on that API); against a broker "
              "without it, `kcat -z lz4` sends its batches uncompressed."]
    lines += ["", "## API versions each client used", ""]
    for client in ("kcat", "kafka-python", "confluent-kafka"):
        apis = sorted(seen.get(client, ()))
        by_api = {}
        for key, name, v in apis:
            by_api.setdefault((key, name), []).append(v)
        lines.append("- %s: %s" % (client, ", ".join(
            "%s v%s" % (name, "/".join(str(v) for v in sorted(vs)))
            for (key, name), vs in sorted(by_api.items()))))
    lines += ["", "## What produced them", "",
              "The broker ran with `advertised.listeners` set to the proxy's address, so every "
              "connection went through the recording proxy."]
    if patched:
        lines += ["", "The proxy rewrote the broker's Produce MinVersion (%s) to 0 in %d ApiVersions "
                  "responses: %s" % ("/".join(sorted({str(o) for o, _ in patched})), len(patched),
                                     PATCH_NOTE)]
    lines += ["", "Steps, in order:", ""]
    for client, name, kind, what in steps_run:
        if kind == "shell":
            lines.append("- %s: `%s`" % (client, what))
        else:
            lines.append("- %s (`/usr/bin/python3`, BOOTSTRAP is the proxy, TOPIC = `%s`):"
                         % (name, TOPIC))
            lines.append("")
            lines.append("  ```python")
            lines += ["  " + l for l in textwrap.dedent(what).strip().splitlines()]
            lines.append("  ```")
            lines.append("")
    if skipped:
        lines += ["", "## Frames not written", ""]
        lines += ["- " + s for s in sorted(set(skipped))]
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write("\n".join(lines).rstrip() + "\n")


if __name__ == "__main__":
    main()

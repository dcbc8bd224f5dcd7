"""Shared pieces of the benchmark scripts: a broker process on a free loopback port with its own
data dir, CPU accounting from /proc, rdkafka_performance and the programs built in build/bench/
(floor and lean load generator). Standard library only, plus the repository's
integration/kafka_wire.py to create topics."""

import contextlib
import glob
import json
import mmap
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BROKER = os.path.join(ROOT, "build", "server", "runnel")
TOOLS = os.path.join(ROOT, "build", "bench")

sys.path.insert(0, os.path.join(ROOT, "integration"))
import kafka_wire as kw  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(count):
    """`count` different free ports: the sockets stay bound until all are chosen (two calls of
    free_port() can return the same port, which once gave Kafka's peer one port for its broker
    and its controller)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            sockets.append(s)
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def cpu_times():
    """(total jiffies, steal jiffies) of the machine, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return sum(fields), fields[7]


def steal_since(before):
    """CPU steal in % of the machine's time since `before` (a cpu_times() reading)."""
    total, steal = cpu_times()
    dt = total - before[0]
    return 100.0 * (steal - before[1]) / dt if dt else 0.0


def process_cpu_seconds(pid):
    """User + system CPU seconds process `pid` used so far (all its threads)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid):
    """Resident memory (VmRSS) of process `pid` in MiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def voluntary_switches(pid):
    """Voluntary context switches of all threads of process `pid` so far: each is a thread going
    to sleep (an epoll wait with nothing ready, a lock), so a busy server that keeps up with its
    clients shows about one per request and thread."""
    total = 0
    for status in glob.glob("/proc/%d/task/*/status" % pid):
        try:
            with open(status) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        total += int(line.split()[1])
        except FileNotFoundError:  # a thread that has just ended
            pass
    return total


def cpu_per_gb(cpu_seconds, nbytes):
    return cpu_seconds / (nbytes / 1e9) if nbytes else float("nan")


def warm_free_memory(nbytes):
    """Touches `nbytes` of memory and frees it again, just before a run that will fill as much
    page cache. This VM hands freed memory back to its host (virtio-balloon free page reporting);
    the first write to such a page costs a host fault, inside the page-cache copy of whoever
    writes next. That made the same floor run cost 0.4 or 3.6 CPU s/GB depending on what ran
    before it; freshly freed pages are used first, so after this every run starts alike."""
    m = mmap.mmap(-1, int(nbytes), flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | mmap.MAP_POPULATE)
    m.close()


def tool(name):
    """Path of a program built in build/bench/ (bench/CMakeLists.txt)."""
    path = os.path.join(TOOLS, name)
    if not os.access(path, os.X_OK):
        sys.exit("%s is missing: run scripts/build.sh" % path)
    return path


def run_tool(name, args, timeout=600):
    """Runs build/bench/NAME with `args`; returns the JSON object it prints last."""
    out = subprocess.run([tool(name)] + [str(a) for a in args], capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        sys.exit("%s %s failed:\n%s%s" % (name, " ".join(map(str, args)), out.stdout[-2000:],
                                          out.stderr[-2000:]))
    return json.loads(out.stdout.strip().splitlines()[-1])


def rdkafka_performance():
    """Path of rdkafka_performance, built from Debian's example source if needed."""
    script = os.path.join(ROOT, "scripts", "bench", "build-rdkafka-performance.sh")
    return subprocess.run([script], check=True, capture_output=True, text=True).stdout.strip()


# What rdkafka_performance prints at the end of a produce and a consume run.
PRODUCED = re.compile(r"(\d+) messages produced \((\d+) bytes\), (\d+) delivered.*?in (\d+)ms")
CONSUMED = re.compile(r"(\d+) messages \((\d+) bytes\) consumed in (\d+)ms")


def run_rdkafka_performance(broker, args, pattern, perf=None):
    """rdkafka_performance with `args` against `broker` (anything with bootstrap and
    cpu_seconds()); returns (records, bytes, seconds, broker CPU seconds, steal %)."""
    before_cpu = broker.cpu_seconds()
    before = cpu_times()
    out = subprocess.run([perf or rdkafka_performance(), "-b", broker.bootstrap] + args,
                         capture_output=True, text=True, timeout=900)
    steal = steal_since(before)
    cpu = broker.cpu_seconds() - before_cpu
    matches = pattern.findall(out.stdout + out.stderr)
    if out.returncode != 0 or not matches:
        sys.exit("rdkafka_performance %s failed:\n%s%s" % (" ".join(args), out.stdout[-2000:],
                                                             out.stderr[-2000:]))
    last = matches[-1]
    records, nbytes, ms = int(last[0]), int(last[1]), int(last[-1])
    return records, nbytes, max(ms, 1) / 1000.0, cpu, steal


def create_topics(bootstrap, topics, partitions, timeout=600):
    """Creates `topics` with `partitions` partitions each, ten a CreateTopics request."""
    with kw.Connection.to(bootstrap, timeout=timeout) as c:
        for i in range(0, len(topics), 10):
            res = c.create_topics([(t, partitions, 1, {}) for t in topics[i:i + 10]],
                                  timeout_ms=int(timeout * 1000))
            bad = {t: r for t, r in res.items() if r[0] != 0}
            if bad:
                sys.exit("CreateTopics failed: %r" % bad)


def drop_caches():
    """Empties the page cache (root on a machine that allows it); False where it cannot."""
    try:
        subprocess.run(["sync"], check=True)
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def bench_properties():
    """Experiments: RUNNEL_BENCH_PROPERTIES="key=value,key=value" overrides broker settings."""
    props = {}
    for kv in filter(None, os.environ.get("RUNNEL_BENCH_PROPERTIES", "").split(",")):
        key, _, value = kv.partition("=")
        props[key.strip()] = value.strip()
    return props


def loopback_congestion_control():
    """What the benchmark brokers' loopback connections send with (broker default: reno); the
    floor programs use the same."""
    return bench_properties().get("runnel.socket.loopback.congestion.control", "reno")


class Broker:
    def __init__(self, workdir, shards, extra=None, binary=None):
        self.binary = binary or BROKER  # another build, for A/B runs
        self.port = free_port()
        self.bootstrap = "127.0.0.1:%d" % self.port
        self.data = os.path.join(workdir, "data")
        self.props = os.path.join(workdir, "server.properties")
        self.log_path = os.path.join(workdir, "broker.log")
        props = {"node.id": 1, "listeners": "PLAINTEXT://" + self.bootstrap,
                 "log.dirs": self.data, "runnel.shards": shards,
                 "runnel.admin.listeners": ""}
        props.update(extra or {})
        props.update(bench_properties())
        with open(self.props, "w") as f:
            f.writelines("%s=%s\n" % kv for kv in props.items())
        self.proc = None

    def start(self):
        """Starts the broker; returns seconds until it accepts connections."""
        log = open(self.log_path, "a")
        t0 = time.monotonic()
        self.proc = subprocess.Popen([self.binary, self.props], stdout=log,
                                     stderr=subprocess.STDOUT)
        while True:
            if self.proc.poll() is not None:
                sys.exit("broker exited with %d; see %s" % (self.proc.returncode, self.log_path))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.05):
                    return time.monotonic() - t0
            except OSError:
                time.sleep(0.005)

    def cpu_seconds(self):
        """User + system CPU seconds the broker process used so far."""
        return process_cpu_seconds(self.proc.pid)

    def rss_mib(self):
        return rss_mib(self.proc.pid)

    def create_topic(self, name, partitions, timeout=10.0):
        """Creates `name` with `partitions` partitions, waiting up to `timeout` seconds."""
        with kw.Connection.to(self.bootstrap, timeout=timeout) as c:
            c.create_topic_or_fail(name, partitions, timeout_ms=int(timeout * 1000))

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self, timeout=30):
        """SIGTERM; returns seconds until the process exited."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=timeout)
        return time.monotonic() - t0

    def open_descriptors(self):
        return len(os.listdir("/proc/%d/fd" % self.proc.pid))


@contextlib.contextmanager
def fresh_broker(shards):
    """A started broker with a new, empty data dir, stopped and deleted on leaving."""
    workdir = tempfile.mkdtemp(prefix="runnel-bench-")
    broker = Broker(workdir, shards)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)

"""Shared pieces of the benchmark scripts: a broker process on a free loopback port with its own
data dir, CPU accounting from /proc, and rdkafka_performance. Standard library only."""

import os
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BROKER = os.path.join(ROOT, "build", "server", "runnel")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def rdkafka_performance():
    """Path of rdkafka_performance, built from Debian's example source if needed."""
    script = os.path.join(ROOT, "scripts", "bench", "build-rdkafka-performance.sh")
    return subprocess.run([script], check=True, capture_output=True, text=True).stdout.strip()


class Broker:
    def __init__(self, workdir, shards, extra=None):
        self.port = free_port()
        self.bootstrap = "127.0.0.1:%d" % self.port
        self.data = os.path.join(workdir, "data")
        self.props = os.path.join(workdir, "server.properties")
        self.log_path = os.path.join(workdir, "broker.log")
        props = {"node.id": 1, "listeners": "PLAINTEXT://" + self.bootstrap,
                 "log.dirs": self.data, "runnel.shards": shards}
        props.update(extra or {})
        with open(self.props, "w") as f:
            f.writelines("%s=%s\n" % kv for kv in props.items())
        self.proc = None

    def start(self):
        """Starts the broker; returns seconds until it accepts connections."""
        log = open(self.log_path, "a")
        t0 = time.monotonic()
        self.proc = subprocess.Popen([BROKER, self.props], stdout=log, stderr=subprocess.STDOUT)
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
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)

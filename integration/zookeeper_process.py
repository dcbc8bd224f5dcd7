"""Starts and stops Apache ZooKeeper (Debian's `zookeeper` package, installed by
scripts/install-deps.sh --test) for the cluster tests: one server, or an ensemble of three, on
free loopback ports with their own temp dirs.

    with ZooKeeper() as zk:                      # one server
        broker = Broker(properties={"zookeeper.connect": zk.connect + "/runnel", ...})
    with ZooKeeper(servers=3) as zk:             # an ensemble
        zk.stop_server(0); zk.start_server(0)

tickTime is 200 ms, so sessions may be as short as 400 ms (2 ticks) and at most 4 s (20 ticks):
session expiry happens within a test's patience.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from broker_process import BrokerError, _die_with_parent, free_port

ZOOKEEPER_JAR = "/usr/share/java/zookeeper.jar"
TICK_MS = 200
START_TIMEOUT = 30.0


def zookeeper_available():
    return os.path.exists(ZOOKEEPER_JAR) and shutil.which("java") is not None


def four_letter_word(port, word, timeout=1.0):
    """A ZooKeeper four-letter command's answer ("" when the server does not answer)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(word.encode())
            chunks = []
            while True:
                data = s.recv(4096)
                if not data:
                    break
                chunks.append(data)
            return b"".join(chunks).decode(errors="replace")
    except OSError:
        return ""


class ZooKeeper:
    def __init__(self, servers=1, start=True):
        if not zookeeper_available():
            raise BrokerError("ZooKeeper is not installed (%s); run scripts/install-deps.sh "
                              "--test" % ZOOKEEPER_JAR)
        self.tmpdir = tempfile.mkdtemp(prefix="runnel-it-zookeeper-")
        self.count = servers
        self.client_ports = [free_port() for _ in range(servers)]
        self.peer_ports = [(free_port(), free_port()) for _ in range(servers)] if servers > 1 else []
        self.procs = [None] * servers
        for i in range(servers):
            self._write_config(i)
        if start:
            try:
                for i in range(servers):
                    self.start_server(i, wait=False)
                for i in range(servers):
                    self.wait_serving(i)
            except BaseException:
                self.close()
                raise

    @property
    def connect(self):
        """The connection string of every server (no chroot)."""
        return ",".join("127.0.0.1:%d" % p for p in self.client_ports)

    def _dir(self, i):
        return os.path.join(self.tmpdir, "server%d" % i)

    def _write_config(self, i):
        d = self._dir(i)
        os.makedirs(os.path.join(d, "data"), exist_ok=True)
        lines = [
            "tickTime=%d" % TICK_MS,
            "initLimit=20",
            "syncLimit=10",
            "dataDir=%s" % os.path.join(d, "data"),
            "clientPort=%d" % self.client_ports[i],
            "clientPortAddress=127.0.0.1",
            "admin.enableServer=false",
            "4lw.commands.whitelist=ruok,stat,srvr,mntr",
            "maxClientCnxns=0",
            # A test's ZooKeeper needs no durability: without an fsync per transaction, a busy
            # disk does not hold up session creation for seconds.
            "forceSync=no",
        ]
        if self.count > 1:
            for j, (quorum, election) in enumerate(self.peer_ports):
                lines.append("server.%d=127.0.0.1:%d:%d" % (j + 1, quorum, election))
            with open(os.path.join(d, "data", "myid"), "w") as f:
                f.write("%d\n" % (i + 1))
        with open(os.path.join(d, "zoo.cfg"), "w") as f:
            f.write("\n".join(lines) + "\n")

    def log_path(self, i=0):
        return os.path.join(self._dir(i), "zookeeper.log")

    def start_server(self, i=0, wait=True):
        if self.procs[i] is not None and self.procs[i].poll() is None:
            raise BrokerError("ZooKeeper server %d is already running" % i)
        main = ("org.apache.zookeeper.server.quorum.QuorumPeerMain" if self.count > 1
                else "org.apache.zookeeper.server.ZooKeeperServerMain")
        cmd = ["java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
               "-Dzookeeper.log.dir=" + self._dir(i),
               "-cp", "/etc/zookeeper/conf:" + ZOOKEEPER_JAR, main,
               os.path.join(self._dir(i), "zoo.cfg")]
        with open(self.log_path(i), "ab") as log:
            self.procs[i] = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=log, cwd=self._dir(i),
                                             preexec_fn=_die_with_parent, close_fds=True)
        if wait:
            self.wait_serving(i)

    def wait_serving(self, i=0, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            proc = self.procs[i]
            if proc is not None and proc.poll() is not None:
                raise BrokerError("ZooKeeper server %d exited with code %d\n%s" % (
                    i, proc.returncode, self.log_tail(i)))
            # "stat" answers only once the server serves clients (in an ensemble: has a quorum).
            if "Mode:" in four_letter_word(self.client_ports[i], "srvr"):
                return
            if time.monotonic() > deadline:
                raise BrokerError("ZooKeeper server %d did not serve within %.0f s\n%s" % (
                    i, timeout, self.log_tail(i)))
            time.sleep(0.1)

    def stop_server(self, i=0, sig=signal.SIGTERM):
        proc = self.procs[i]
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def log_tail(self, i=0, lines=40):
        try:
            with open(self.log_path(i), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no log)"

    def close(self):
        for i in range(self.count):
            self.stop_server(i, signal.SIGKILL)
        if not os.environ.get("RUNNEL_KEEP_DIRS"):
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

"""scripts/cluster.sh, the newcomer's way to the seeds' cluster: `start 2` runs ZooKeeper and two
brokers that know each other, a topic with replication factor 2 made through one is served,
`stop` stops everything cleanly, and a second `start` serves the same records again.

Runs the script with its own cluster dir and free ports (RUNNEL_CLUSTER_*), the binary as built
(RUNNEL_CLUSTER_NO_BUILD). Needs Debian's zookeeper (scripts/install-deps.sh --test)."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kafka_wire as kw  # noqa: E402
from broker_process import REPO_ROOT, free_port, wait_until  # noqa: E402

SCRIPT = os.path.join(REPO_ROOT, "scripts", "cluster.sh")


def free_port_pair():
    """A base port b with b+1 and b+2 free a moment ago."""
    for _ in range(100):
        base = free_port()
        ok = True
        for port in (base + 1, base + 2):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
        if ok:
            return base
    raise AssertionError("no two consecutive free ports")


class ClusterScriptTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="runnel-it-cluster-sh-")
        self.base = free_port_pair()
        self.env = dict(os.environ,
                        RUNNEL_CLUSTER_DIR=self.dir,
                        RUNNEL_ZK_PORT=str(free_port()),
                        RUNNEL_CLUSTER_BASE_PORT=str(self.base),
                        RUNNEL_CLUSTER_ADMIN_BASE_PORT=str(free_port_pair()),
                        RUNNEL_CLUSTER_NO_BUILD="1")
        self.addCleanup(self.cleanup)

    def cleanup(self):
        subprocess.run([SCRIPT, "stop"], env=self.env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=120)
        if not os.environ.get("RUNNEL_KEEP_DIRS"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def script(self, *args):
        p = subprocess.run([SCRIPT] + list(args), env=self.env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=180)
        if p.returncode != 0:
            self.fail("cluster.sh %s exited with %d:\n%s\n%s" % (
                " ".join(args), p.returncode, p.stdout, self.logs()))
        return p.stdout

    def logs(self):
        out = []
        for name in sorted(os.listdir(self.dir)):
            for log in ("broker.log", "zookeeper.log"):
                path = os.path.join(self.dir, name, log)
                if os.path.exists(path):
                    with open(path, errors="replace") as f:
                        out.append("----- %s\n%s" % (path, "".join(f.readlines()[-30:])))
        return "\n".join(out)

    def port(self, broker_id):
        return self.base + broker_id

    def test_start_two_brokers_use_them_stop_and_start_again(self):
        out = self.script("start", "2")
        self.assertIn("bootstrap servers: 127.0.0.1:%d,127.0.0.1:%d" % (
            self.port(1), self.port(2)), out)
        for i in (1, 2):
            with kw.Connection("127.0.0.1", self.port(i)) as c:
                wait_until(lambda: sorted(b["node_id"] for b in c.metadata([])["brokers"]) ==
                           [1, 2], 15, message="broker %d listing both" % i)
        status = self.script("status")
        self.assertIn("ZooKeeper runs", status)
        self.assertIn("broker 1 runs", status)
        self.assertIn("broker 2 runs", status)

        with kw.Connection("127.0.0.1", self.port(1)) as c:
            created = c.create_topics([("seeds", 2, 2, {})])
            self.assertEqual(created["seeds"][0], 0, created)
            md = c.metadata(["seeds"])["topics"][0]
        leaders = {p["partition_index"]: p["leader_id"] for p in md["partitions"]}
        self.assertEqual(sorted(leaders), [0, 1])
        for p in md["partitions"]:
            self.assertEqual(sorted(p["replica_nodes"]), [1, 2])
        for partition, leader in leaders.items():
            with kw.Connection("127.0.0.1", self.port(leader)) as c:
                batch = kw.build_record_batch([kw.Record(value=b"hello %d" % partition)])
                self.assertEqual(c.produce_one("seeds", partition, batch, acks=-1)["error_code"],
                                 0)

        self.assertIn("stopped ZooKeeper", self.script("stop"))
        for i in (1, 2):
            with open(os.path.join(self.dir, "broker-%d" % i, "broker.log")) as f:
                self.assertIn("shut down cleanly", f.read())
        self.assertIn("ZooKeeper is not running", self.script("status"))

        self.script("start", "2")

        # Broker 1 stopped first and handed its partition to broker 2 (controlled shutdown),
        # so each partition is served by whichever broker leads it now.
        def served_again(partition):
            with kw.Connection("127.0.0.1", self.port(1)) as c:
                md = c.metadata(["seeds"])["topics"][0]
            leader = {p["partition_index"]: p["leader_id"] for p in md["partitions"]}[partition]
            if leader not in (1, 2):
                return False
            with kw.Connection("127.0.0.1", self.port(leader)) as c:
                return c.latest_offset("seeds", partition) == 1

        for partition in leaders:
            wait_until(lambda: served_again(partition), 15,
                       message="seeds-%d served again" % partition)

    def test_bad_arguments(self):
        p = subprocess.run([SCRIPT, "start", "zero"], env=self.env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn("usage", p.stdout)
        p = subprocess.run([SCRIPT], env=self.env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)


if __name__ == "__main__":
    unittest.main()

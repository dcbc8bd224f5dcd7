"""Apache Kafka 4.4.0 as a test peer: scripts/peer/kafka.sh in a temp dir of its own, with the
interface the tests use of broker_process.Broker (bootstrap, port, assert_running, stop,
cleanup, print_log), so a test class written for Runnel can run unchanged against Kafka."""

import os
import subprocess
import tempfile

from broker_process import REPO_ROOT

PEER = os.path.join(REPO_ROOT, "scripts", "peer", "kafka.sh")


class KafkaPeer:
    def __init__(self, properties=None, name="kafka"):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="runnel-kafka-peer-")
        args = ["%s=%s" % (k, str(v).lower() if isinstance(v, bool) else v)
                for k, v in (properties or {}).items()]
        out = subprocess.run([PEER, "start", self.dir] + args, check=True, timeout=300,
                             stdout=subprocess.PIPE, text=True).stdout
        self.bootstrap = out.strip().splitlines()[-1]
        self.port = int(self.bootstrap.rsplit(":", 1)[1])
        self._stopped = False
        self._cleaned = False

    def assert_running(self):
        with open(os.path.join(self.dir, "kafka.pid")) as f:
            os.kill(int(f.read()), 0)

    def print_log(self, title="", only_if_changed=False):
        path = os.path.join(self.dir, "logs", "server.log")
        if os.path.exists(path):
            with open(path) as f:
                print("----- %s -----\n%s" % (title, "".join(f.readlines()[-60:])))

    def stop(self, **_):
        if not self._stopped:
            self._stopped = True
            subprocess.run([PEER, "stop", self.dir], timeout=120)

    def cleanup(self):
        if self._cleaned:
            return
        self._cleaned = True
        self.stop()
        if not os.environ.get("RUNNEL_KEEP_DIRS"):
            subprocess.run(["rm", "-rf", self.dir])

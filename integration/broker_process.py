"""Starts and stops a real Runnel broker process for the integration tests.

    with Broker(properties={"num.partitions": 3}) as broker:
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
        ...
        broker.restart()          # SIGTERM, wait for exit code 0, start again on the same dir/port
        broker.kill(); broker.start()   # SIGKILL, then start again

Environment:
    RUNNEL_BROKER        path of the broker binary (default: <repo>/build/server/runnel, or the
                         first <repo>/build*/server/runnel found)
    RUNNEL_SHARDS        value of runnel.shards (default 1)
    RUNNEL_TEST_TIMEOUT  seconds one test may take before the watchdog kills the whole run
                         (default 120)
    RUNNEL_KEEP_DIRS     if set, temp dirs are left behind (their path is printed)

Each Broker owns a temp dir holding server.properties, data/ (log.dirs, unless a data_dir is
given) and broker.log (stdout+stderr of every run of the process, appended). The log's tail is
printed when a test of a BrokerTestCase fails, and when the watchdog fires.
"""

import ctypes
import faulthandler
import glob
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import unittest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

STARTUP_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0

_live_brokers = set()
_live_lock = threading.Lock()


def _describe_exit(rc):
    if rc < 0:
        try:
            return "killed by %s" % signal.Signals(-rc).name
        except ValueError:
            return "killed by signal %d" % -rc
    return "exited with code %d" % rc


class BrokerError(AssertionError):
    """The broker process did something the harness did not expect (failed to start, exited
    with a non-zero code, did not stop in time). An AssertionError, so unittest reports a
    failure rather than an error."""


def find_broker_binary():
    path = os.environ.get("RUNNEL_BROKER")
    if path:
        if not os.access(path, os.X_OK):
            raise BrokerError("RUNNEL_BROKER=%s is not an executable file" % path)
        return path
    candidates = [os.path.join(REPO_ROOT, "build", "server", "runnel")]
    candidates += sorted(glob.glob(os.path.join(REPO_ROOT, "build*", "server", "runnel")))
    for c in candidates:
        if os.access(c, os.X_OK):
            return c
    raise BrokerError("broker binary not found: set RUNNEL_BROKER or build %s" % candidates[0])


def shard_count():
    return int(os.environ.get("RUNNEL_SHARDS", "1"))


def parse_checkpoint(path):
    """Entries of a Kafka offset checkpoint file; AssertionError when it is malformed."""
    with open(path) as f:
        lines = f.read().splitlines()
    if len(lines) < 2 or lines[0] != "0" or int(lines[1]) != len(lines) - 2:
        raise AssertionError("malformed checkpoint %s: %r" % (path, lines))
    out = {}
    for line in lines[2:]:
        topic, partition, offset = line.split()
        out[(topic, int(partition))] = int(offset)
    return out


def free_port():
    """A loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_accepts(port, timeout=0.5):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def _die_with_parent():
    """preexec_fn: have the kernel SIGKILL the broker if the test process dies, so that a
    test killed by its timeout never leaves a broker behind."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


def _format_property(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Broker:
    """One broker process. Not thread-safe; use from the test's thread."""

    def __init__(self, properties=None, overrides=None, data_dir=None, port=None, shards=None,
                 binary=None, name="broker", startup_timeout=STARTUP_TIMEOUT, start=True,
                 env=None, open_file_limit=None):
        """properties: extra server.properties keys (they win over the defaults).
        overrides: {key: value} passed as `--override key=value` arguments.
        data_dir: log.dirs to use (kept on cleanup); default: <tempdir>/data (removed).
        port: listener port; default: a free one, kept across restarts.
        start: start the process now.
        env: extra environment variables for the process (e.g. RUNNEL_LOG_LEVEL).
        open_file_limit: RLIMIT_NOFILE (soft and hard) of the process, to run it out of
        descriptors."""
        self.binary = binary or find_broker_binary()
        self.name = name
        self.tmpdir = tempfile.mkdtemp(prefix="runnel-it-%s-" % name)
        self.owns_data_dir = data_dir is None
        self.data_dir = data_dir or os.path.join(self.tmpdir, "data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.port = port or free_port()
        self.shards = shards if shards is not None else shard_count()
        self.properties = {
            "listeners": "PLAINTEXT://127.0.0.1:%d" % self.port,
            "log.dirs": self.data_dir,
            "num.partitions": 1,
            "auto.create.topics.enable": True,
            "runnel.shards": self.shards,
            # Any free port: brokers of parallel tests must not meet on 9644 (admin_url).
            "runnel.admin.listeners": "http://127.0.0.1:0",
        }
        self.properties.update(properties or {})
        self.overrides = dict(overrides or {})
        self.startup_timeout = startup_timeout
        self.open_file_limit = open_file_limit
        self.env = dict(os.environ, **(env or {}))
        self.properties_path = os.path.join(self.tmpdir, "server.properties")
        self.log_path = os.path.join(self.tmpdir, "broker.log")
        self.proc = None
        self.starts = 0
        self.last_exit_code = None
        self._cleaned = False
        self._printed_log_size = None
        with _live_lock:
            _live_brokers.add(self)
        if start:
            try:
                self.start()
            except BaseException:
                self.cleanup()
                raise

    # ------------------------------------------------------------------ properties

    @property
    def bootstrap(self):
        return "127.0.0.1:%d" % self.port

    @property
    def admin_url(self):
        """The admin API's base URL in this start, from the broker's log (it binds after the
        Kafka listeners)."""
        deadline = time.monotonic() + 30
        while True:
            text = self.log_text().split("===== start #%d:" % self.starts)[-1]
            m = re.search(r"admin API listening on (http://\S+)", text)
            if m:
                return m.group(1)
            if time.monotonic() > deadline:
                raise BrokerError("%s: no admin API address in its log\n%s" % (
                    self.name, self.log_tail()))
            time.sleep(0.05)

    @property
    def host(self):
        return "127.0.0.1"

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def write_properties(self):
        lines = ["# written by integration/broker_process.py"]
        for k, v in self.properties.items():
            lines.append("%s=%s" % (k, _format_property(v)))
        with open(self.properties_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def command(self):
        cmd = [self.binary, self.properties_path]
        for k, v in self.overrides.items():
            cmd += ["--override", "%s=%s" % (k, _format_property(v))]
        return cmd

    # ------------------------------------------------------------------ lifecycle

    def start(self):
        if self.running:
            raise BrokerError("%s is already running (pid %d)" % (self.name, self.proc.pid))
        self.write_properties()
        self.starts += 1
        cmd = self.command()
        with open(self.log_path, "ab") as log:
            log.write(("\n===== start #%d: %s\n" % (self.starts, " ".join(cmd))).encode())
            log.flush()
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         cwd=self.tmpdir, env=self.env,
                                         preexec_fn=self._preexec,
                                         close_fds=True)
        deadline = time.monotonic() + self.startup_timeout
        while True:
            rc = self.proc.poll()
            if rc is not None:
                self.last_exit_code = rc
                raise BrokerError("%s exited with code %d during startup\n%s" % (
                    self.name, rc, self.log_tail()))
            if port_accepts(self.port, timeout=0.25):
                return self
            if time.monotonic() > deadline:
                self._kill_quietly()
                raise BrokerError("%s did not accept connections on %s within %.0f s\n%s" % (
                    self.name, self.bootstrap, self.startup_timeout, self.log_tail()))
            time.sleep(0.05)

    def _preexec(self):
        _die_with_parent()
        if self.open_file_limit is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.open_file_limit,
                                                        self.open_file_limit))

    def open_descriptors(self):
        """Descriptors the running process holds now."""
        return len(os.listdir("/proc/%d/fd" % self.proc.pid))

    def rss_kib(self):
        """Resident set size of the running process, in KiB."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1

    def stop(self, timeout=STOP_TIMEOUT, check_exit_code=True):
        """SIGTERM; waits up to `timeout` s; asserts exit code 0. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._kill_quietly()
                raise BrokerError("%s did not exit within %.0f s of SIGTERM\n%s" % (
                    self.name, timeout, self.log_tail()))
        rc = self.proc.returncode
        self.last_exit_code = rc
        self.proc = None
        if check_exit_code and rc != 0:
            raise BrokerError("%s exited with code %d after SIGTERM (expected 0)\n%s" % (
                self.name, rc, self.log_tail()))
        return rc

    def kill(self):
        """SIGKILL, and reap. Returns the exit code (-9)."""
        if self.proc is None:
            return None
        rc = self._kill_quietly()
        self.proc = None
        return rc

    def _kill_quietly(self):
        p = self.proc
        if p is None:
            return None
        if p.poll() is None:
            try:
                p.kill()
            except OSError:
                pass
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self.last_exit_code = p.returncode
        return p.returncode

    def restart(self, hard=False):
        """Stops (SIGTERM and exit code 0 checked, or SIGKILL if hard) and starts again on the
        same port and data dir."""
        if hard:
            self.kill()
        else:
            self.stop()
        return self.start()

    def assert_running(self):
        if self.proc is None:
            raise BrokerError("%s is not started" % self.name)
        rc = self.proc.poll()
        if rc is not None:
            raise BrokerError("%s died with exit code %d\n%s" % (self.name, rc, self.log_tail()))

    def cleanup(self):
        """Kills the process if still running and removes the temp dir (unless RUNNEL_KEEP_DIRS).
        A data_dir passed in by the caller is never removed."""
        if self._cleaned:
            return
        self._cleaned = True
        self._kill_quietly()
        self.proc = None
        with _live_lock:
            _live_brokers.discard(self)
        if os.environ.get("RUNNEL_KEEP_DIRS"):
            sys.stderr.write("[broker_process] keeping %s\n" % self.tmpdir)
        else:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def close(self):
        """Graceful stop (exit code checked) then cleanup."""
        try:
            if self.running:
                self.stop()
        finally:
            self.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.print_log("%s log (test raised %s)" % (self.name, exc_type.__name__))
            self.cleanup()
            return False
        self.close()
        return False

    # ------------------------------------------------------------------ logs

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines=150):
        text = self.log_text().splitlines()
        head = "----- %s (%s, %s), last %d of %d lines -----" % (
            self.log_path, self.bootstrap, self.process_state(), min(lines, len(text)), len(text))
        return "\n".join([head] + text[-lines:] + ["----- end of %s log -----" % self.name])

    def process_state(self):
        """"running (pid N)", "exited with code N" or "killed by SIGX": a log that just stops
        is then told apart from a broker that crashed."""
        if self.proc is None:
            return "not running" if self.last_exit_code is None else _describe_exit(
                self.last_exit_code)
        rc = self.proc.poll()
        return "running (pid %d)" % self.proc.pid if rc is None else _describe_exit(rc)

    def print_log(self, title=None, lines=150, only_if_changed=False):
        """Writes the log's tail to stderr. With only_if_changed, a log already printed and not
        grown since is replaced by a one-line note (keeps a dead class broker from flooding the
        output once per remaining test)."""
        try:
            size = os.path.getsize(self.log_path)
        except OSError:
            size = -1
        if only_if_changed and size == self._printed_log_size:
            sys.stderr.write("\n%s\n[%s log unchanged since printed above: %s]\n" % (
                title or "", self.name, self.log_path))
        else:
            sys.stderr.write("\n" + (title + "\n" if title else "") + self.log_tail(lines) + "\n")
        self._printed_log_size = size
        sys.stderr.flush()


def live_brokers():
    with _live_lock:
        return list(_live_brokers)


# ---------------------------------------------------------------------- watchdog


class Watchdog:
    """If not cancelled within `seconds`, dumps all thread stacks and the logs of every live
    broker, kills the brokers, and ends the process with exit code 3. Guards against a client
    library call that blocks forever on a hung broker."""

    def __init__(self, seconds, what):
        self.seconds = seconds
        self.what = what
        self.timer = threading.Timer(seconds, self._fire)
        self.timer.daemon = True

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
        return False

    def _fire(self):
        try:
            sys.stderr.write("\n\n!!!!! WATCHDOG: %s did not finish within %.0f s; "
                             "thread stacks follow !!!!!\n" % (self.what, self.seconds))
            sys.stderr.flush()
            faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
            for b in live_brokers():
                b.print_log("%s log at watchdog time (pid %s, running=%s)" % (
                    b.name, b.pid, b.running))
                b.cleanup()
        finally:
            sys.stderr.flush()
            os._exit(3)


def test_timeout():
    return float(os.environ.get("RUNNEL_TEST_TIMEOUT", "120"))


class BrokerTestCase(unittest.TestCase):
    """Base class: one broker per TestCase class (started in setUpClass with
    `broker_properties` / `broker_overrides`), a watchdog per test, and the broker log printed
    for every failed test. Set `per_test_broker = True` to get a fresh broker in each test
    (self.broker) instead."""

    broker_properties = {}
    broker_overrides = {}
    broker_shards = None  # runnel.shards; None: RUNNEL_SHARDS
    broker_env = {}  # extra environment of the broker process
    per_test_broker = False
    # The watchdog's patience per test (None: RUNNEL_TEST_TIMEOUT), for suites that run long.
    test_timeout_seconds = None
    # A pipeline directory of the class's own (cls.pipelines: runnel.pipelines.dir, scanned
    # every 200 ms), removed after the class.
    broker_pipelines = False
    broker = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if cls.broker_pipelines:
            cls.pipelines = tempfile.mkdtemp(prefix="runnel-pipelines-")
            cls.broker_properties = dict(cls.broker_properties, **{
                "runnel.pipelines.dir": cls.pipelines,
                "runnel.pipelines.scan.interval.ms": 200})
        if not cls.per_test_broker:
            with Watchdog(90, "%s.setUpClass" % cls.__name__):
                cls.broker = Broker(properties=cls.broker_properties,
                                    overrides=cls.broker_overrides, shards=cls.broker_shards,
                                    env=cls.broker_env, name=cls.__name__)
                try:
                    cls.prepare_class()
                except BaseException:
                    cls.broker.print_log("%s log after setUpClass failed" % cls.broker.name)
                    cls.broker.cleanup()
                    cls.broker = None
                    raise

    @classmethod
    def prepare_class(cls):
        """Hook: runs once after the class broker started (e.g. to produce shared data)."""

    @classmethod
    def tearDownClass(cls):
        if not cls.per_test_broker and cls.broker is not None:
            b, cls.broker = cls.broker, None
            with Watchdog(30, "%s.tearDownClass" % cls.__name__):
                try:
                    b.stop()
                finally:
                    b.cleanup()
        if cls.broker_pipelines:
            shutil.rmtree(cls.pipelines, True)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        if self.per_test_broker:
            self.broker = self.start_broker()
        else:
            self.broker.assert_running()

    def start_broker(self, **kw):
        """Starts a broker owned by this test. It is killed when the test ends; its temp dir is
        removed after the test's outcome is known (its log is printed first if it failed)."""
        kw.setdefault("properties", self.broker_properties)
        kw.setdefault("overrides", self.broker_overrides)
        kw.setdefault("shards", self.broker_shards)
        kw.setdefault("env", self.broker_env)
        kw.setdefault("name", self._testMethodName)
        b = Broker(**kw)
        self._owned_brokers.append(b)
        self.addCleanup(b.kill)
        return b

    def run(self, result=None):
        if result is None:
            return super().run(result)
        self._owned_brokers = []
        before = len(result.failures) + len(result.errors)
        try:
            with Watchdog(self.test_timeout_seconds or test_timeout(), self.id()):
                return super().run(result)
        finally:
            failed = len(result.failures) + len(result.errors) > before
            brokers = list(self._owned_brokers)
            if type(self).broker is not None:
                brokers.insert(0, type(self).broker)
            for b in brokers:
                if failed and not b._cleaned:
                    b.print_log("%s log after failure of %s" % (b.name, self.id()),
                                only_if_changed=True)
            for b in self._owned_brokers:
                b.cleanup()

    def tearDown(self):
        # the class broker must have survived the test
        if not self.per_test_broker and type(self).broker is not None:
            type(self).broker.assert_running()
        super().tearDown()


def wait_until(predicate, timeout=10.0, interval=0.1, message="condition"):
    """Polls predicate() until truthy; returns its value, or raises AssertionError."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = predicate()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - reported below
            last_exc = e
        if time.monotonic() > deadline:
            detail = "" if last_exc is None else "; last exception: %s" % "".join(
                traceback.format_exception_only(type(last_exc), last_exc)).strip()
            raise AssertionError("timed out after %.1f s waiting for %s%s" % (
                timeout, message, detail))
        time.sleep(interval)


def unique_name(prefix):
    unique_name.counter += 1
    return "%s-%d-%d" % (prefix, os.getpid(), unique_name.counter)


unique_name.counter = 0

#!/usr/bin/python3
"""A full disk: produce answers KAFKA_STORAGE_ERROR (56), nothing stored is damaged, the broker
keeps serving, and writes resume once space returns, also across restarts.

Each test mounts a small tmpfs as the broker's log.dirs (we run as root; without the right to
mount, every test is skipped and "RUNNEL-SKIP" is printed so ctest reports it as skipped). A filler
file put on the tmpfs first is deleted (or the tmpfs is remounted bigger) to give space back.
Records are produced through the raw protocol so the error code is seen as the broker sent it.
"""

import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kafka_wire as kw  # noqa: E402
from broker_process import parse_checkpoint, BrokerTestCase  # noqa: E402

KAFKA_STORAGE_ERROR = 56
TMPFS_SIZE = "4m"
FILLER_BYTES = 1 << 20
RECORDS_PER_BATCH = 4
VALUE_BYTES = 8 * 1024
CHECKPOINTS = ("recovery-point-offset-checkpoint", "log-start-offset-checkpoint")


def value_of(i):
    """Record i's value: its number, then a pattern that depends on it (so a shifted or torn
    record cannot pass for another one)."""
    head = b"%08d|" % i
    return head + bytes((i * 7 + j) & 0xFF for j in range(VALUE_BYTES - len(head)))


def batch_of(first):
    return kw.build_record_batch(
        [(b"k%d" % i, value_of(i)) for i in range(first, first + RECORDS_PER_BATCH)])


def fill_up(path):
    """Writes zeros to `path` until the filesystem is full. Returns the bytes written."""
    written = 0
    chunk = b"\0" * 4096
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                n = f.write(chunk)
            except OSError:
                return written
            written += n
            if n < len(chunk):
                return written


class DiskFullTest(BrokerTestCase):
    per_test_broker = True
    broker_properties = {
        "log.segment.bytes": 1 << 20,
        "log.index.size.max.bytes": 64 * 1024,
        # Checkpoints are attempted (and fail) several times while the disk is full.
        "log.flush.offset.checkpoint.interval.ms": 1000,
        "auto.create.topics.enable": False,
    }

    def setUp(self):
        # The tmpfs goes before BrokerTestCase.setUp starts a broker on it.
        self.mount_point = tempfile.mkdtemp(prefix="runnel-it-tmpfs-")
        self.addCleanup(os.rmdir, self.mount_point)
        self.mount("-t", "tmpfs", "-o", "size=" + TMPFS_SIZE, "tmpfs", self.mount_point)
        self.addCleanup(subprocess.run, ["umount", "-l", self.mount_point], check=False)
        self.data_dir = os.path.join(self.mount_point, "data")
        self.filler = os.path.join(self.mount_point, "filler")
        with open(self.filler, "wb") as f:
            f.write(b"\0" * FILLER_BYTES)
        super().setUp()
        self.acked = 0  # records acknowledged so far, all in `self.topic` partition 0

    def mount(self, *args):
        r = subprocess.run(["mount"] + list(args), capture_output=True, text=True)
        if r.returncode == 0:
            return
        err = r.stderr.strip()
        if os.geteuid() != 0 or "permission denied" in err.lower() or \
                "not permitted" in err.lower() or "superuser" in err.lower():
            print("RUNNEL-SKIP: cannot mount a tmpfs: %s" % err, flush=True)
            self.skipTest("cannot mount a tmpfs (not allowed here): %s" % err)
        self.fail("mount %s failed (%d): %s" % (" ".join(args), r.returncode, err))

    def start_broker(self, **kw_args):
        kw_args.setdefault("data_dir", self.data_dir)
        return super().start_broker(**kw_args)

    def conn(self):
        c = kw.Connection.to(self.broker.bootstrap)
        self.addCleanup(c.close)
        return c

    # ------------------------------------------------------------------ helpers

    def produce_batch(self, c):
        """Produces the next batch; returns its error code. Acknowledged records must continue
        exactly at the next offset."""
        res = c.produce_one(self.topic, 0, batch_of(self.acked), acks=1)
        if res["error_code"] == 0:
            self.assertEqual(res["base_offset"], self.acked, "acknowledged at the wrong offset")
            self.acked += RECORDS_PER_BATCH
        return res["error_code"]

    def produce_until_full(self, c):
        for _ in range(4 * (4 << 20) // (RECORDS_PER_BATCH * VALUE_BYTES)):
            err = self.produce_batch(c)
            if err == KAFKA_STORAGE_ERROR:
                return
            self.assertEqual(err, 0, "unexpected produce error")
        self.fail("the disk never filled up")

    def fill_rest(self):
        """Takes every byte still free, so that no write of the broker can succeed."""
        fill_up(self.filler2())

    def filler2(self):
        return os.path.join(self.mount_point, "filler2")

    def check_reads_back(self, c, count):
        """Every acknowledged record is there, in order, unchanged, and nothing else."""
        got = []
        offset = 0
        while offset < count:
            res = c.fetch({self.topic: {0: offset}}, max_wait_ms=0)[(self.topic, 0)]
            self.assertEqual(res["error_code"], 0)
            self.assertEqual(res["high_watermark"], count)
            recs = kw.decode_records(res["records"])
            self.assertTrue(recs, "fetch at %d returned nothing" % offset)
            for r in recs:
                if r.offset >= offset:
                    got.append(r)
            offset = got[-1].offset + 1
        self.assertEqual([r.offset for r in got], list(range(count)))
        for r in got:
            self.assertEqual(r.key, b"k%d" % r.offset)
            self.assertEqual(r.value, value_of(r.offset), "record %d damaged" % r.offset)

    def check_still_serving(self, c):
        md = c.metadata([self.topic, self.other])
        by_name = {t["name"]: t for t in md["topics"]}
        for name in (self.topic, self.other):
            self.assertEqual(by_name[name]["error_code"], 0)
            self.assertEqual([p["leader_id"] for p in by_name[name]["partitions"]], [0])
        other = c.fetch({self.other: {0: 0}}, max_wait_ms=0)[(self.other, 0)]
        self.assertEqual(other["error_code"], 0)
        self.assertEqual([r.value for r in kw.decode_records(other["records"])], [b"before"])
        self.assertEqual(c.latest_offset(self.topic, 0), self.acked)

    def check_checkpoints_intact(self):
        names = os.listdir(self.data_dir)
        self.assertEqual([n for n in names if n.endswith(".tmp")], [],
                         "failed checkpoint writes must not leave temp files")
        for name in CHECKPOINTS:
            path = os.path.join(self.data_dir, name)
            if os.path.exists(path):
                parse_checkpoint(path)

    def set_up_topics(self):
        self.topic = "full"
        self.other = "other"
        c = self.conn()
        c.create_topic_or_fail(self.topic, 1)
        c.create_topic_or_fail(self.other, 1)
        res = c.produce_one(self.other, 0, kw.build_record_batch([(None, b"before")]))
        self.assertEqual(res["error_code"], 0)
        return c

    # ------------------------------------------------------------------ tests

    def test_full_disk_refuses_produce_keeps_data_and_recovers(self):
        c = self.set_up_topics()
        self.produce_until_full(c)
        self.assertGreater(self.acked, 0)
        log_before = len(self.broker.log_text())
        self.fill_rest()
        # A whole batch cannot fit now; a refused produce takes no offsets.
        for _ in range(3):
            self.assertEqual(self.produce_batch(c), KAFKA_STORAGE_ERROR)
        full_at = self.acked
        self.check_still_serving(c)
        self.check_reads_back(c, full_at)

        # Several checkpoint rounds fail while the disk is full; the streak is logged once.
        time.sleep(3.5)
        self.check_checkpoints_intact()

        def failures(text):
            return [ln for ln in text.splitlines()
                    if "cannot write" in ln and "recovery-point-offset-checkpoint" in ln]
        log = self.broker.log_text()
        self.assertGreaterEqual(len(failures(log)), 1, "the checkpoint failure is logged")
        self.assertLessEqual(len(failures(log[log_before:])), 1,
                             "checkpoint failure logged once:\n" + log[log_before:][-4000:])

        # Space comes back: produce resumes at the next offset, checkpoints are written again.
        os.remove(self.filler)
        os.remove(self.filler2())
        for _ in range(10):
            self.assertEqual(self.produce_batch(c), 0)
        self.assertEqual(self.acked, full_at + 10 * RECORDS_PER_BATCH)
        self.check_reads_back(c, self.acked)
        deadline = time.monotonic() + 10
        while "recovery-point-offset-checkpoint written again" not in \
                self.broker.log_text()[log_before:] and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertIn("recovery-point-offset-checkpoint written again",
                      self.broker.log_text()[log_before:])

        # A restart finds everything acknowledged.
        c.close()
        self.broker.restart()
        c = self.conn()
        self.check_reads_back(c, self.acked)
        self.assertEqual(self.produce_batch(c), 0)
        self.check_reads_back(c, self.acked)
        cp = parse_checkpoint(os.path.join(self.data_dir, CHECKPOINTS[0]))
        self.assertIn((self.topic, 0), cp)

    def test_stop_while_full_then_grow(self):
        c = self.set_up_topics()
        self.produce_until_full(c)
        self.fill_rest()
        self.assertEqual(self.produce_batch(c), KAFKA_STORAGE_ERROR)
        c.close()
        # SIGTERM with no space: the broker still exits with 0, leaves no temp files or broken
        # checkpoints, and does not claim a clean shutdown it could not record.
        self.broker.stop()
        self.check_checkpoints_intact()
        # Remount bigger instead of deleting the filler.
        self.mount("-o", "remount,size=16m", self.mount_point)
        self.broker.start()
        c = self.conn()
        self.check_reads_back(c, self.acked)
        for _ in range(5):
            self.assertEqual(self.produce_batch(c), 0)
        self.check_reads_back(c, self.acked)

    def test_kill_while_full_then_free_space(self):
        c = self.set_up_topics()
        self.produce_until_full(c)
        self.fill_rest()
        self.assertEqual(self.produce_batch(c), KAFKA_STORAGE_ERROR)
        c.close()
        self.broker.kill()
        os.remove(self.filler)
        os.remove(self.filler2())
        self.broker.start()
        c = self.conn()
        self.check_reads_back(c, self.acked)
        self.assertEqual(self.produce_batch(c), 0)
        self.check_reads_back(c, self.acked)


if __name__ == "__main__":
    unittest.main(verbosity=2)

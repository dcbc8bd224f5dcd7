"""The floor, measured beside the broker in the same run (docs/benchmarks.md): what this machine
costs to receive produced bytes (floor_receiver + floor_sender: recv, CRC-32C, append to the page
cache, a small ack per frame) and to serve stored ones (floor_sendfile: sendfile to loopback).
Both report the serving side's CPU seconds, which the drivers divide by the bytes moved. The
serving side sends under the broker's loopback congestion control, as the broker does."""

import json
import shutil
import subprocess
import sys
import tempfile

from bench_broker import loopback_congestion_control, run_tool, tool


def produce_floor(connections, frame_bytes, window, seconds, rate=0, max_bytes=0):
    """Sends floor frames over `connections` for `seconds` or until `max_bytes`, as fast as the
    window allows or at `rate` bytes/s, into files deleted afterwards. Returns (sender's JSON,
    receiver's JSON): the sender has the ack latency, the receiver its bytes and CPU seconds."""
    files = tempfile.mkdtemp(prefix="runnel-floor-")
    receiver = subprocess.Popen([tool("floor_receiver"), "--connections", str(connections),
                                 "--dir", files,
                                 "--congestion-control", loopback_congestion_control()],
                                stdout=subprocess.PIPE, text=True)
    try:
        port = int(receiver.stdout.readline().split()[1])
        sender = run_tool("floor_sender", ["--connect", "127.0.0.1:%d" % port,
                                           "--connections", connections,
                                           "--frame-bytes", frame_bytes, "--window", window,
                                           "--seconds", seconds, "--rate", rate,
                                           "--max-bytes", int(max_bytes)])
        out, _ = receiver.communicate(timeout=60)
        if receiver.returncode != 0:
            sys.exit("floor_receiver failed")
        return sender, json.loads(out.strip().splitlines()[-1])
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.wait()
        shutil.rmtree(files, ignore_errors=True)


def sendfile_floor(path, passes, chunk_bytes):
    """Sends the file at `path` `passes` times with sendfile; returns floor_sendfile's JSON."""
    return run_tool("floor_sendfile", ["--file", path, "--passes", passes,
                                       "--chunk-bytes", chunk_bytes,
                                       "--congestion-control", loopback_congestion_control()])

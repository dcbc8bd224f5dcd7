#!/usr/bin/env python3
"""Fails when a source file includes a header of a layer above its own (Kafka keeps
import-control files for the same purpose). The layers, lowest first:

    protocol  <  storage  <  streams  <  server/core  <  server/config  <  server/zookeeper
              <  server/cluster  <  server/replication  <  server/controller
              <  server/coordinators  <  server/pipelines  <  server/kafka  <  server/net
              <  server/admin  <  server/ (broker, main)

A file may include its own layer and any layer below it. The CMake targets link only downward
too, but a header-only use would still slip through a link; this catches the include itself.
Run: scripts/check-layers.py [repository root]   (ctest runs it as `layers`)."""

import os
import re
import sys

LAYERS = ["protocol", "storage", "streams", "server/core", "server/config", "server/zookeeper",
          "server/cluster", "server/replication", "server/controller", "server/coordinators", "server/pipelines", "server/kafka", "server/net", "server/admin",
          "server"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(path):
    """Index in LAYERS of a repository-relative path, or None outside the layered folders."""
    best = None
    for i, prefix in enumerate(LAYERS):
        if path == prefix or path.startswith(prefix + "/"):
            if best is None or len(prefix) > len(LAYERS[best]):
                best = i
    return best


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), ".."))
    problems = []
    for top in ("protocol", "storage", "streams", "server"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in files:
                if not name.endswith((".h", ".cc")):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, name), root)
                own = layer_of(rel)
                with open(os.path.join(dirpath, name), encoding="utf-8") as f:
                    text = f.read()
                for inc in INCLUDE.findall(text):
                    other = layer_of(inc)
                    if own is not None and other is not None and other > own:
                        problems.append("%s (%s) includes %s (%s)" % (
                            rel, LAYERS[own], inc, LAYERS[other]))
    for p in problems:
        print(p)
    if problems:
        print("%d include(s) run up the layers" % len(problems))
        return 1
    print("layers: every include runs downward")
    return 0


if __name__ == "__main__":
    sys.exit(main())

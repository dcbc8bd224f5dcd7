#!/usr/bin/python3
"""The README's tutorial, followed top to bottom as a newcomer does: every ```sh and ```python
block of its "tutorial workflow" section runs in order against a real broker (the address
127.0.0.1:9092 replaced by the test broker's), and what each step prints is checked.

Run: /usr/bin/python3 integration/test_readme.py [-v]   (label java: it runs Kafka's tools)
"""

import os
import re
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from broker_process import REPO_ROOT, BrokerTestCase  # noqa: E402

SECTION = "## The tutorial workflow against Runnel"
README_ADDRESS = "127.0.0.1:9092"
STEP_TIMEOUT = 180

# What a step must print, keyed by a piece of its text.
EXPECTED = [
    ("--create --topic events", [r"Created topic events\.", r"PartitionCount: 3",
                                 r"(?m)^greetings$"]),
    ("kafka-console-consumer.sh", [r"(?m)^hello$", r"(?m)^world$",
                                   r"readers\s+greetings\s+\d",
                                   r"Completed updating config for topic greetings\."]),
    ("kcat -C", [r"first\nsecond\ncompressed\n"]),
]


def tutorial_blocks(text):
    """[(language, code)] of the fenced blocks of the tutorial section, in order."""
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    section = text[start:end if end >= 0 else len(text)]
    return re.findall(r"```(sh|python)\n(.*?)```", section, re.S)


class ReadmeTutorialTest(BrokerTestCase):
    broker_properties = {"num.partitions": 1, "group.initial.rebalance.delay.ms": 0}

    @classmethod
    def prepare_class(cls):
        subprocess.run([os.path.join(REPO_ROOT, "scripts", "install-java-clients.sh")],
                       check=True, timeout=600)

    def run_step(self, language, code):
        code = code.replace(README_ADDRESS, self.broker.bootstrap)
        if language == "sh":
            cmd = ["bash", "-e", "-o", "pipefail", "-c", code]
        else:
            name = code.splitlines()[0].lstrip("# ").strip()
            self.assertTrue(name.endswith(".py"), "a python block starts with '# <file>.py'")
            path = os.path.join(self.broker.tmpdir, name)
            with open(path, "w") as f:
                f.write(code)
            cmd = [sys.executable, path]
        p = subprocess.run(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=STEP_TIMEOUT)
        self.assertEqual(p.returncode, 0, "step failed:\n%s\nstdout:\n%s\nstderr:\n%s" % (
            code, p.stdout, p.stderr))
        return p.stdout

    def test_tutorial_runs_in_order(self):
        with open(os.path.join(REPO_ROOT, "README.md")) as f:
            blocks = tutorial_blocks(f.read())
        self.assertGreaterEqual(len(blocks), 5, "the tutorial section lost its steps")
        checked = set()
        for language, code in blocks:
            out = self.run_step(language, code)
            for key, patterns in EXPECTED:
                if key in code:
                    checked.add(key)
                    for pattern in patterns:
                        self.assertRegex(out, pattern, "after the step:\n" + code)
            if code.startswith("# get.py"):
                # put.py's ten JSON events, read back (3 partitions: ordered within each).
                events = [line for line in out.splitlines() if "purchase_sword" in line]
                self.assertEqual(len(events), 10, out)
                checked.add("get.py")
        self.assertEqual(checked, {k for k, _ in EXPECTED} | {"get.py"},
                         "a step the test checks is gone from the README")


if __name__ == "__main__":
    unittest.main(verbosity=2)

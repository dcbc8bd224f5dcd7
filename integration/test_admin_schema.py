#!/usr/bin/python3
"""schemathesis (from the project's venv) against a real broker's admin API: it reads the
OpenAPI document the broker serves at /v1/openapi.json and sends generated requests, valid and
invalid (wrong types, missing and extra fields, odd paths, methods the paths do not take, ...)
to every operation, checking that none gets a 5xx, that every status, content type, header and
body matches the document, that invalid data is refused, and that what the document allows is
accepted (except where integration/python/schemathesis.toml says why not). The broker must
still answer afterwards.

Run: ~/.cache/runnel-python/venv/bin/python integration/test_admin_schema.py [-v]   (label newest)
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from broker_process import BrokerTestCase  # noqa: E402

SCHEMATHESIS = os.path.join(os.path.dirname(sys.executable), "schemathesis")
CONFIG = os.path.join(HERE, "python", "schemathesis.toml")


class AdminSchemaTest(BrokerTestCase):
    broker_pipelines = True

    def test_every_operation_keeps_to_the_openapi_document(self):
        work = tempfile.mkdtemp(prefix="runnel-schemathesis-")
        self.addCleanup(shutil.rmtree, work, True)
        p = subprocess.run(
            [SCHEMATHESIS, "--no-color", "--config-file", CONFIG, "run",
             self.broker.admin_url + "/v1/openapi.json", "--max-examples", "100", "--seed", "1",
             "--request-timeout", "30"],
            cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=500,
            env=dict(os.environ, SCHEMATHESIS_HOOKS=""))
        self.assertEqual(p.returncode, 0, p.stdout[-8000:])
        self.assertIn("passed", p.stdout)
        self.broker.assert_running()
        # No request reached a route's unexpected failure (logged, and answered 500).
        self.assertNotIn("error server: admin API", self.broker.log_text())


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env bash
# Installs the pinned Python clients of integration/python/requirements.txt (kafka-python 3.x,
# confluent-kafka 2.x and their codecs) into a virtual environment the project owns, outside the
# clone: $RUNNEL_PYTHON_VENV (default ~/.cache/runnel-python/venv). The system Python is not
# touched. A second run with the same requirements installs nothing.
# The integration tests run the venv's interpreter, $RUNNEL_PYTHON_VENV/bin/python.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${RUNNEL_PYTHON_VENV:-$HOME/.cache/runnel-python/venv}"
requirements="$root/integration/python/requirements.txt"
stamp="$venv/requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    exit 0
fi
echo "installing the Python clients of integration/python/requirements.txt into $venv"
mkdir -p "$(dirname "$venv")"
/usr/bin/python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --use-pep517 -r "$requirements"
echo "$want" >"$stamp"

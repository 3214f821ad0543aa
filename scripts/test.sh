#!/usr/bin/env bash
# The whole test suite on a fresh machine: makes a virtualenv, installs driftd with
# its test dependencies, lints, and runs every test (unit, end-to-end, and, as later
# issues add them, the Kafka/Redis/browser ones, which start their own services).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
.venv/bin/ruff check driftd tests bench
.venv/bin/python -m pytest "$@"

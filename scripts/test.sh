#!/usr/bin/env bash
# The whole test suite on a fresh machine: makes a virtualenv, installs driftd with
# its test dependencies, installs Debian's redis-server, kcat and chromium if they are
# missing, lints, and runs every test. Tests that need Kafka or Redis start them through tests/services
# (Kafka's jars come from Maven Central into ~/.cache/driftd on first use), unless
# KAFKA_BOOTSTRAP / REDIS_URL point at running ones or a Docker engine answers.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"

# Prometheus' promtool (the exposition linter, rule tests) and Alertmanager are built
# from their Go modules on first use (tests/services/gotools.py); start that now, in the
# background: the tests that need them wait for it.
if [ -z "${PROMTOOL:-}${ALERTMANAGER:-}" ] && command -v go >/dev/null 2>&1; then
  mkdir -p "${HOME}/.cache/driftd"
  setsid "$PYTHON" tests/services/gotools.py > "${HOME}/.cache/driftd/gotools-build.log" 2>&1 < /dev/null &
  GO_TOOLS_BUILD=$!
  trap 'kill -- "-$GO_TOOLS_BUILD" 2>/dev/null || true' EXIT  # the builds and their go children
fi

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
# apt_install PACKAGE WHY: install one Debian package, saying why.
apt_install() {
  echo "installing $1 (Debian package) $2" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$1" >/dev/null
}
if [ -z "${REDIS_URL:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
  apt_install redis-server "for the Redis tests"
  # Debian starts a system instance on 6379; the tests use their own on free ports.
  $SUDO systemctl stop redis-server >/dev/null 2>&1 || $SUDO service redis-server stop >/dev/null 2>&1 || true
fi
command -v kcat >/dev/null 2>&1 || apt_install kcat "for the shell producer example"
command -v chromium >/dev/null 2>&1 || apt_install chromium "for the browser tests"
if [ -z "${KAFKA_BOOTSTRAP:-}" ]; then
  command -v java >/dev/null && command -v mvn >/dev/null || {
    echo "the Kafka tests need java (17+) and mvn to fetch Apache Kafka's jars" >&2
    exit 1
  }
fi

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e sdk/python -e '.[test]'  # the SDK is the daemon's dependency
.venv/bin/ruff check driftd sdk tests bench
# The layers and the absence of import cycles (pyproject.toml [tool.importlinter]).
.venv/bin/lint-imports --no-cache
# Two workers, a test file each at a time (its module fixtures, such as a demo run or a
# served API, are made once); DRIFTD_TEST_WORKERS=0 runs everything in this process.
# The 25 slowest tests are listed at the end, to keep the suite's time in view.
.venv/bin/python -m pytest -n "${DRIFTD_TEST_WORKERS:-2}" --dist loadfile --durations=25 "$@"

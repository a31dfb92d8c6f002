#!/usr/bin/env bash
# The test command: set up everything on a fresh machine, then lint, type-check and test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh edge,train,dev,demo mosquitto mosquitto-clients openssl ffmpeg systemd \
  chromium chromium-driver \
  fonts-dejavu-core fonts-liberation fonts-liberation2 fonts-dseg fonts-freefont-ttf \
  fonts-urw-base35 fonts-noto-mono fonts-croscore fonts-open-sans fonts-roboto
export TF_CPP_MIN_LOG_LEVEL=2
echo "== ruff"; .venv/bin/ruff check .
echo "== mypy"; .venv/bin/mypy edge install train convert models tests $(ls bench/*.py 2>/dev/null)
# Tests wait on brokers, daemons and browsers far more than they compute, so they run
# in parallel: one file per worker (its module fixtures are made once), workers as set.
echo "== pytest"; .venv/bin/python -m pytest -n "${DIGITD_TEST_WORKERS:-4}" --dist loadfile "$@"

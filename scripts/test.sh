#!/usr/bin/env bash
# Install everything the tests need (system packages included), lint, and run the whole suite.
# A lint finding (ruff, configured in pyproject.toml) fails the script before any test runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --dev
PY=${PYTHON:-python3}
$PY -m ruff check .
exec $PY -m pytest "$@"

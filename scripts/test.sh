#!/usr/bin/env bash
# Install everything the tests need (system packages included) and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --dev
exec ${PYTHON:-python3} -m pytest "$@"

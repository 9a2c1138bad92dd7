#!/usr/bin/env bash
# Install and start the app on http://localhost:${PORT:-8501}
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec ${PYTHON:-python3} -m streamlit run app.py --server.port "${PORT:-8501}" "$@"

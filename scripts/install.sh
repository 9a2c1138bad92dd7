#!/usr/bin/env bash
# Install what the app (and, with --dev, the tests and the linter) need on a fresh Debian machine.
# System packages: graphviz (the `dot` binary renders SVG/PNG diagrams); with --dev also chromium
# (the end-to-end browser tests drive Debian's chromium through Playwright).
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(graphviz)
[[ "${1:-}" == "--dev" ]] && pkgs+=(chromium)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
PY=${PYTHON:-python3}
# A CUDA torch already installed (GPU users) is kept: the CPU pin is left out for them.
if $PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  grep -v '^torch==' requirements.txt > /tmp/cspnet-requirements.txt
else
  cp requirements.txt /tmp/cspnet-requirements.txt
fi
PIP=($PY -m pip install -q --disable-pip-version-check --root-user-action=ignore)
"${PIP[@]}" -r /tmp/cspnet-requirements.txt
# the project itself, editable (pyproject.toml): the `cspnet-explorer` command; its dependencies are
# the ones just installed (--no-deps keeps a CUDA torch and the CPU pin as chosen above)
"${PIP[@]}" --no-deps -e .
# --dev: the test and lint tools (pytest, hypothesis, playwright, ruff)
if [[ "${1:-}" == "--dev" ]]; then "${PIP[@]}" -r requirements-dev.txt; fi
exit 0

#!/usr/bin/env bash
# Create ./.venv (Python 3.11) and install Nu3D into it. Usage: scripts/setup.sh [test]
# Sourced by scripts/demo.sh and scripts/test.sh; safe to run again (it only installs what changed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))'; then
  echo "setup: Python 3.11 or newer is required (found $("$PYTHON" --version 2>&1))" >&2
  exit 2
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip install --disable-pip-version-check -q)
# CPU PyTorch first, pinned: a bare `torch` requirement would pull a multi-GB CUDA build.
.venv/bin/python -c 'import torch, sys; sys.exit(torch.__version__.split("+")[0] != "2.13.0")' 2>/dev/null \
  || "${PIP[@]}" torch==2.13.0
if [ "${1:-}" = "test" ]; then
  "${PIP[@]}" -e '.[test]'
else
  "${PIP[@]}" -e .
fi

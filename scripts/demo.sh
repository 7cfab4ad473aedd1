#!/usr/bin/env bash
# Quickstart 1: set everything up and run the whole product on embedded defaults (SQLite, ./var, CPU engine,
# devstore as the shop). Open the URL it prints.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
exec .venv/bin/nu3d demo "$@"

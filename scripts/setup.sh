#!/usr/bin/env bash
# Set up ethproofs-daemon on a fresh machine: a virtual environment with the package and its test
# tools (.venv/), and anvil from the npm registry (.tools/) for the demo and the tests.
# Idempotent. Needs python3 (>= 3.11) with venv, and npm.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
bash scripts/install-anvil.sh >/dev/null
echo "setup: done (.venv/bin/ethproofs-daemon, $(.tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil --version | head -n 1))"

#!/usr/bin/env bash
# What an operator installs: build the wheel (not an editable install), install it into a fresh
# virtual environment outside the checkout, and run the daemon from another directory:
# `ethproofs-daemon config` (settings and the shipped guest manifest) and `build-input` on a golden
# case, whose output must equal the golden vector byte for byte.
# Needs python3 with venv and ../shared/fixtures (or SHARED_FIXTURES). Leaves nothing behind.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FIXTURES="${SHARED_FIXTURES:-$ROOT/../shared/fixtures}"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet --upgrade pip
"$WORK/venv/bin/python" -m pip wheel --quiet --no-deps --wheel-dir "$WORK/dist" "$ROOT"
"$WORK/venv/bin/python" -m pip install --quiet "$WORK"/dist/ethproofs_daemon-*.whl

mkdir "$WORK/elsewhere"
cd "$WORK/elsewhere"
env -u PYTHONPATH "$WORK/venv/bin/ethproofs-daemon" config > config.txt
grep -q "GUEST_PROFILE" config.txt
env -u PYTHONPATH "$WORK/venv/bin/ethproofs-daemon" build-input \
    --profile ethrex-24d4b6404-zisk-0.14.0 \
    --block "$FIXTURES/real-data/hive-chain/block_0x2d.json" \
    --witness "$FIXTURES/real-data/hive-chain/witness_0x2d.reth-canonical.json" \
    -o input.bin
cmp input.bin "$FIXTURES/ethrex-input/hive_0x2d_reth-canonical.rkyv.bin"
# the default profile (zec-reth, from the manifest shipped in the wheel)
env -u PYTHONPATH "$WORK/venv/bin/ethproofs-daemon" build-input \
    --block "$FIXTURES/zec-reth/block_24628607.json" \
    --witness "$FIXTURES/zec-reth/witness_24628607.json" \
    -o zec.bin
cmp zec.bin "$FIXTURES/zec-reth/mainnet_24628607_66_7_zec_reth.bin"
echo "check-wheel: the wheel installs and runs from $WORK/elsewhere (config, build-input goldens)"

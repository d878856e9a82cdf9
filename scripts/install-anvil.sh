#!/usr/bin/env bash
# Install anvil (foundry's local Ethereum node) from the npm registry into <project>/.tools/.
#
# Idempotent: does nothing when the pinned version is already installed. The binary ends up at
#   .tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
# which is where ethproofs_daemon.demo.anvil.find_anvil() looks (after $ANVIL_BIN).
# Facts (version, package layout): ../shared/docs/real-data.md §1.
set -euo pipefail

ANVIL_VERSION="${ANVIL_VERSION:-1.7.1}"
PACKAGE="@foundry-rs/anvil-linux-amd64"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
BIN="$TOOLS/node_modules/$PACKAGE/bin/anvil"

if [[ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]]; then
    echo "install-anvil: $PACKAGE is for Linux x86-64 only (this is $(uname -s)-$(uname -m))" >&2
    exit 1
fi

if [[ -x "$BIN" ]] && "$BIN" --version 2>/dev/null | grep -q "Version: $ANVIL_VERSION"; then
    echo "install-anvil: anvil $ANVIL_VERSION already at $BIN"
    exit 0
fi

command -v npm >/dev/null || { echo "install-anvil: npm not found (apt-get install npm)" >&2; exit 1; }
mkdir -p "$TOOLS"
# A private package.json keeps npm from walking up to another project's.
[[ -f "$TOOLS/package.json" ]] || echo '{"name": "ethproofs-daemon-tools", "private": true}' > "$TOOLS/package.json"
npm install --prefix "$TOOLS" --no-audit --no-fund --save-exact "$PACKAGE@$ANVIL_VERSION" >&2
chmod +x "$BIN"
"$BIN" --version | head -n 1
echo "install-anvil: installed at $BIN"

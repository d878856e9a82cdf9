#!/usr/bin/env bash
# Install Debian's chromium for the headless status-page test (tests/ops/test_status_page.py).
# Idempotent: does nothing when a chromium is already on PATH. Installs only as root with apt-get;
# otherwise says what to do and exits 0 (the test then skips, saying why).
set -euo pipefail
for candidate in chromium chromium-browser; do
    if command -v "$candidate" >/dev/null 2>&1; then
        echo "install-chromium: $("$candidate" --version 2>/dev/null | tail -n 1)"
        exit 0
    fi
done
if [[ "$(id -u)" != "0" ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-chromium: chromium not found; install it (Debian/Ubuntu:" \
         "sudo apt-get install -y chromium), or the status-page test is skipped" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet: try, then update once and install.
if ! apt-get install -y -qq chromium >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
fi
echo "install-chromium: $(chromium --version 2>/dev/null | tail -n 1)"

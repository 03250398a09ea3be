#!/usr/bin/env bash
# System packages some tests need (headless browser tests): Debian's chromium and chromedriver.
# Idempotent; does nothing when they are present. Needs root and apt-get; otherwise says why and
# exits 0 (the browser tests then skip with that reason).
set -u
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-deps: not root or no apt-get; browser tests will be skipped" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null 2>&1 \
    || echo "install-system-deps: apt-get install chromium chromium-driver failed; browser tests will be skipped" >&2
exit 0

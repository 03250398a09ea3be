#!/usr/bin/env bash
# System packages some tests need: Debian's chromium and chromedriver (headless browser tests), etcd-server
# and etcd-client (the etcd target, tier7/targets/etcd.py), redis-server and redis-sentinel (the
# redis-sentinel target). Idempotent and quiet; does nothing when every binary is present. Needs root and
# apt-get; otherwise says which package is missing, one line each, and exits 0 (those tests then skip).
set -u
# binary:package pairs
NEEDED="chromium:chromium chromedriver:chromium-driver etcd:etcd-server etcdctl:etcd-client \
redis-server:redis-server redis-sentinel:redis-sentinel node:nodejs npm:npm \
docker-compose:docker-compose kubectl:kubernetes-client"  # node/npm: Azurite (make emulators); docker-compose, kubectl: offline checks of docker-compose.yml and deploy/k8s (issue 15)
missing=""
for pair in $NEEDED; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing="$missing ${pair#*:}"
done
if [ -z "$missing" ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    for package in $missing; do
        echo "install-system-deps: not root or no apt-get: package $package missing; its tests will be skipped" >&2
    done
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
# all at once first (one resolution, one run of dpkg's triggers: the quick path on a fresh CI machine)
# shellcheck disable=SC2086
if apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; then
    exit 0
fi
for package in $missing; do
    # then one at a time: a package this Debian lacks must not keep the others out
    apt-get install -y -qq --no-install-recommends "$package" >/dev/null 2>&1 \
        || echo "install-system-deps: apt-get install $package failed; its tests will be skipped" >&2
done
exit 0

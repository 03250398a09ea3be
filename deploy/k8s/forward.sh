#!/bin/sh
# Loopback forwarders of a harness pod (native sidecar): the harness only sends traffic to 127.0.0.1
# (tier7/targets/loopback.py), so node N of target.toml is 127.0.0.1:1800N here, forwarded to its pod.
set -eu
n=1
for g in g0 g1 g2; do
  for i in 0 1 2; do
    socat TCP-LISTEN:$((18000 + n)),bind=127.0.0.1,fork,reuseaddr TCP:$g-$i.$g.tier7.svc.cluster.local:8000 &
    n=$((n + 1))
  done
done
wait

#!/bin/sh
# Mass resolution, c-ares vs the thread pool, against the same local DNS
# server (bench/resolve_bench.cpp). glibc asks only resolv.conf's servers on
# port 53, so the bench runs in a private mount namespace whose
# /etc/resolv.conf names 127.0.0.1; the machine's own file is untouched.
# Needs root (unshare -m, port 53).
#   bench/resolve_compare.sh build-rel
set -eu
build=${1:-build-rel}
conf=$(mktemp)
trap 'rm -f "$conf"' EXIT
echo "nameserver 127.0.0.1" > "$conf"
unshare -m sh -c "mount --bind '$conf' /etc/resolv.conf && exec '$build/bench/resolve_bench'"

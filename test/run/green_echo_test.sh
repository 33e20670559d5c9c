#!/bin/sh
# green_echo_test.sh GROVE_RUN SERVER CLIENTS N — the unmodified
# thread-per-connection echo server under grove-run --green-threads serves N
# concurrent clients (a std::thread each) on one OS thread: every echo
# correct, and the server reports N clients on 1 OS thread while all are
# connected.
set -u
run=$1 server=$2 clients=$3 n=$4
tmp=$(mktemp -d)
mkfifo "$tmp/out"
"$run" --green-threads "$server" >"$tmp/out" 2>"$tmp/err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
read -r word port <"$tmp/out" || port=  # "port N" once listening; EOF if it died
[ -n "$port" ] || { echo "FAIL: no port from the server"; cat "$tmp/err"; exit 1; }
out=$(timeout 60 "$clients" "$port" "$n" 3 2>&1)
rc=$?
echo "$out"
[ "$rc" = 0 ] || { echo "FAIL: clients exit $rc"; cat "$tmp/err"; exit 1; }
echo "$out" | grep -q "^server with all connected: clients $n threads 1 " \
    || { echo "FAIL: expected $n clients on 1 OS thread"; exit 1; }

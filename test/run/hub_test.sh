#!/bin/sh
# hub_test.sh GROVE_RUN PROGRAM — under grove-run the main thread gets a hub
# on its first wait, and not before (a program that never waits has none):
# the legacy program sees no epoll fd before usleep() and the hub's after it;
# plainly, none at all.
set -u
run=$1 prog=$2
plain=$(timeout 60 "$prog" hub 2>&1)
grove=$(timeout 60 "$run" "$prog" hub 2>&1)
printf 'plain:\n%s\nunder grove-run:\n%s\n' "$plain" "$grove"
[ "$plain" = "epoll fds before: 0
epoll fds after usleep: 0" ] && [ "$grove" = "epoll fds before: 0
epoll fds after usleep: 1" ]

#!/bin/sh
# same_output.sh GROVE_RUN PROGRAM ARGS... — runs PROGRAM ARGS plainly, under
# grove-run (lazy: grove loaded on the first wait) and under grove-run with
# GROVE_RUN_EAGER=1 (grove and every hook from the start); passes when all
# three exit 0 with the same output (issue 21: a legacy program under
# grove-run behaves exactly as it does plainly).
set -u
run=$1
shift
plain=$(timeout 60 "$@" 2>&1)
plain_rc=$?
lazy=$(timeout 60 "$run" "$@" 2>&1)
lazy_rc=$?
eager=$(GROVE_RUN_EAGER=1 timeout 60 "$run" "$@" 2>&1)
eager_rc=$?
printf 'plain (exit %s):\n%s\n\nunder grove-run (exit %s):\n%s\n\nunder grove-run, eager (exit %s):\n%s\n' \
    "$plain_rc" "$plain" "$lazy_rc" "$lazy" "$eager_rc" "$eager"
[ "$plain_rc" = 0 ] && [ "$lazy_rc" = 0 ] && [ "$eager_rc" = 0 ] && [ "$plain" = "$lazy" ] && [ "$plain" = "$eager" ]

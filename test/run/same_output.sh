#!/bin/sh
# same_output.sh GROVE_RUN PROGRAM ARGS... — runs PROGRAM ARGS plainly, under
# grove-run (lazy: grove loaded on the first wait) and under grove-run with
# GROVE_RUN_EAGER=1 (grove and every hook from the start); passes when all
# three exit 0 with the same output (issue 21: a legacy program under
# grove-run behaves exactly as it does plainly). With --eager-only first, the
# lazy run is left out (for a program that never waits, it is the plain run).
# With --green-threads first, the two runs are under grove-run --green-threads.
set -u
eager_only=0 green=
[ "$1" = --eager-only ] && eager_only=1 && shift
[ "$1" = --green-threads ] && green=--green-threads && shift
run=$1
shift
plain=$(timeout 60 "$@" 2>&1)
plain_rc=$?
if [ "$eager_only" = 1 ]; then
    lazy=$plain lazy_rc=$plain_rc
else
    lazy=$(timeout 60 "$run" $green "$@" 2>&1)
    lazy_rc=$?
fi
eager=$(GROVE_RUN_EAGER=1 timeout 60 "$run" $green "$@" 2>&1)
eager_rc=$?
printf 'plain (exit %s):\n%s\n\nunder grove-run (exit %s):\n%s\n\nunder grove-run, eager (exit %s):\n%s\n' \
    "$plain_rc" "$plain" "$lazy_rc" "$lazy" "$eager_rc" "$eager"
[ "$plain_rc" = 0 ] && [ "$lazy_rc" = 0 ] && [ "$eager_rc" = 0 ] && [ "$plain" = "$lazy" ] && [ "$plain" = "$eager" ]

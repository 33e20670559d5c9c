#!/bin/sh
# same_output.sh GROVE_RUN PROGRAM ARGS... — runs PROGRAM ARGS plainly and
# under grove-run; passes when both exit 0 with the same output (issue 21:
# a legacy program under grove-run behaves exactly as it does plainly).
set -u
run=$1
shift
plain=$(timeout 60 "$@" 2>&1)
plain_rc=$?
grove=$(timeout 60 "$run" "$@" 2>&1)
grove_rc=$?
printf 'plain (exit %s):\n%s\n\nunder grove-run (exit %s):\n%s\n' "$plain_rc" "$plain" "$grove_rc" "$grove"
[ "$plain_rc" = 0 ] && [ "$grove_rc" = 0 ] && [ "$plain" = "$grove" ]

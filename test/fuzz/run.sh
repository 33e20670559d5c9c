#!/bin/sh
# A short, bounded libFuzzer run of a harness (CI): run.sh <harness> [libFuzzer flags]
# Default budget: -max_total_time=30. The seed corpus (test/fuzz/corpus) is
# copied to a scratch directory so the run never writes into the source tree.
# A crash leaves crash-<sha1> in the current directory: replay it with
# `<harness> crash-<sha1>`.
set -eu
harness=$1
shift
if [ $# -eq 0 ]; then
  set -- -max_total_time=30
fi
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT INT TERM
cp "$(dirname "$0")"/corpus/* "$corpus"/
"$harness" "$corpus" -max_len=512 -timeout=10 -rss_limit_mb=4096 "$@"

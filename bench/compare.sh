#!/bin/sh
# Runs grove's benches, the in-binary baselines and the peers (Boost.Fiber,
# gevent, Go when installed), the scale probe and the echo benchmark, then
# prints one table of medians and ratios and draws bench/chart.svg.
#
#   bench/compare.sh [BUILD_DIR] [--quick] [--1m] [--redis]
#
# BUILD_DIR   a release build with benchmarks (default build-rel):
#             meson setup build-rel --buildtype=release -Dbenchmarks=enabled --wrap-mode=nodownload
# --quick     1 repetition, short runs (smoke test; numbers are noisy)
# --1m        also run 1M sleepers (needs ~5 GB of free RAM)
# --redis     also run bench/redis_compare.sh (hiredis through the hooks against
#             redis-benchmark; needs redis-server, a few minutes) in this run
# Env: REPS (default 5), OUT (default bench/results), ECHO_SECONDS (default 5).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=build-rel
QUICK=0
ONE_M=0
REDIS=0
for a in "$@"; do
    case "$a" in
        --quick) QUICK=1 ;;
        --1m) ONE_M=1 ;;
        --redis) REDIS=1 ;;
        -*) echo "unknown option $a" >&2; exit 2 ;;
        *) BUILD=$a ;;
    esac
done
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
OUT=${OUT:-$ROOT/bench/results}
REPS=${REPS:-5}
ECHO_SECONDS=${ECHO_SECONDS:-5}
MIN_TIME=0.5
if [ "$QUICK" = 1 ]; then REPS=1; MIN_TIME=0.05; ECHO_SECONDS=2; fi
mkdir -p "$OUT"
PY=/usr/bin/python3   # Debian's python: python3-gevent lives there
[ -x "$PY" ] || PY=python3

have_target() { ninja -C "$BUILD" -t targets all 2>/dev/null | grep -q "^$1:"; }
want=""
for t in bench/baseline_bench bench/core_bench bench/io_bench bench/sync_bench bench/fiber_peer_bench \
         tools/scale/sleepers tools/net/grove-echo-server tools/net/raw_libev_echo tools/net/grove-loadgen \
         tools/net/hiredis_load; do
    if have_target "$t"; then want="$want $t"; fi
done
echo "== building:$want"
# shellcheck disable=SC2086
ninja -C "$BUILD" $want >/dev/null

gbench() {  # gbench NAME BINARY
    if [ -x "$BUILD/$2" ]; then
        echo "== $1 ($2)"
        "$BUILD/$2" --benchmark_repetitions="$REPS" --benchmark_report_aggregates_only=true \
            --benchmark_min_time="$MIN_TIME" --benchmark_format=json >"$OUT/$1.json" 2>"$OUT/$1.log" ||
            echo "   $1 failed, see $OUT/$1.log"
    else
        echo "== $1: not built, skipped"; rm -f "$OUT/$1.json"
    fi
}
gbench baseline bench/baseline_bench
gbench core bench/core_bench
gbench io bench/io_bench
gbench sync bench/sync_bench
gbench fiber bench/fiber_peer_bench
# issue #18's cost-as-N-grows curves, N = 10 … 1M (Boost.Fiber's are in the run
# above, Go's in go_bench's below); --quick stops at N = 10k.
if have_target bench/curves_bench; then
    ninja -C "$BUILD" bench/curves_bench >/dev/null
    echo "== curves (bench/curves_bench)"
    rm -f "$OUT/timers.json"  # a later re-run of the timer rows alone (tools/plot_curves.py): superseded
    cf=.; [ "$QUICK" = 1 ] && cf='/(10|100|1000|10000)(/|$)'
    "$BUILD/bench/curves_bench" --benchmark_filter="$cf" --benchmark_repetitions="$REPS" \
        --benchmark_report_aggregates_only=true --benchmark_min_time="$MIN_TIME" --benchmark_format=json \
        >"$OUT/curves.json" 2>"$OUT/curves.log" || echo "   curves failed, see $OUT/curves.log"
else
    echo "== curves: not built, skipped"; rm -f "$OUT/curves.json"
fi

echo "== gevent"
if "$PY" -c 'import gevent' 2>/dev/null; then
    if [ "$QUICK" = 1 ]; then gq="--quick --sleepers 10000"; else gq="--reps $REPS"; fi
    # shellcheck disable=SC2086
    "$PY" "$ROOT/bench/peers/gevent_bench.py" $gq >"$OUT/gevent.json" 2>"$OUT/gevent.log" || echo "   gevent failed"
else
    echo "   python3-gevent not installed: skipped"; rm -f "$OUT/gevent.json"
fi

echo "== go"
if command -v go >/dev/null 2>&1 && [ -f "$ROOT/bench/peers/go_bench.go" ]; then
    gq=""; [ "$QUICK" = 1 ] && gq="-quick"
    # shellcheck disable=SC2086
    go run "$ROOT/bench/peers/go_bench.go" -reps "$REPS" $gq >"$OUT/go.json" 2>"$OUT/go.log" || echo "   go failed"
else
    echo "   go not installed (apt install golang-go): skipped"; rm -f "$OUT/go.json"
fi

# The echo comparison runs before the sleepers: the 1M runs leave the VM busy
# reclaiming gigabytes for a while, which showed as a 20 % loss in the echo rows.
if [ -x "$BUILD/tools/net/grove-echo-server" ] && [ -x "$BUILD/tools/net/raw_libev_echo" ] && [ -x "$BUILD/tools/net/grove-loadgen" ]; then
    echo "== echo ($ECHO_SECONDS s per server)"
    "$PY" "$ROOT/bench/echo_compare.py" --build "$BUILD" --seconds "$ECHO_SECONDS" --out "$OUT/echo.json" ||
        echo "   echo benchmark failed"
else
    echo "== echo: tools/net/{grove-echo-server,raw_libev_echo,grove-loadgen} not built yet: skipped"; rm -f "$OUT/echo.json"
fi
if [ -x "$BUILD/tools/scale/sleepers" ]; then
    n=100000; [ "$QUICK" = 1 ] && n=10000
    echo "== sleepers $n"
    "$BUILD/tools/scale/sleepers" $n >"$OUT/sleepers_100000.txt" 2>&1 || echo "   sleepers failed"
    echo "== sleepers $n --compact"
    "$BUILD/tools/scale/sleepers" $n --compact >"$OUT/sleepers_compact_100000.txt" 2>&1 || echo "   sleepers --compact failed"
    if [ "$ONE_M" = 1 ]; then
        echo "== sleepers 1000000"
        "$BUILD/tools/scale/sleepers" 1000000 --no-cleanup >"$OUT/sleepers_1000000.txt" 2>&1 || echo "   sleepers 1M failed"
        echo "== sleepers 1000000 --compact"
        "$BUILD/tools/scale/sleepers" 1000000 --compact --no-cleanup >"$OUT/sleepers_compact_1000000.txt" 2>&1 ||
            echo "   sleepers 1M --compact failed"
    fi
fi
# The same sleepers on goroutines (issue #18's memory row), right after grove's.
rm -f "$OUT/go_sleepers_100000.txt" "$OUT/go_sleepers_1000000.txt"
if command -v go >/dev/null 2>&1 && [ -x "$BUILD/tools/scale/sleepers" ]; then
    gs="$OUT/go_sleepers"
    if go build -o "$gs" "$ROOT/bench/peers/go_sleepers.go" 2>"$OUT/go_sleepers.log"; then
        n=100000; [ "$QUICK" = 1 ] && n=10000
        echo "== go sleepers $n"
        "$gs" $n >"$OUT/go_sleepers_100000.txt" 2>&1 || echo "   go sleepers failed"
        if [ "$ONE_M" = 1 ]; then
            echo "== go sleepers 1000000"
            "$gs" 1000000 >"$OUT/go_sleepers_1000000.txt" 2>&1 || echo "   go sleepers 1M failed"
        fi
    else
        echo "   go sleepers failed to build, see $OUT/go_sleepers.log"
    fi
fi


{
    echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; kernel $(uname -r); $(g++ --version | head -1)"
    echo "date: $(date -u +%Y-%m-%dT%H:%MZ); reps: $REPS; load: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/machine.txt"
echo
cat "$OUT/machine.txt"
echo
"$PY" "$ROOT/bench/compare.py" "$OUT" | tee "$OUT/table.md"
"$PY" "$ROOT/tools/plot_bench.py" "$OUT/summary.json" "$ROOT/bench/chart.svg" && echo "chart: bench/chart.svg"
"$PY" "$ROOT/tools/plot_curves.py" "$OUT" "$ROOT/bench/curves.svg" | tee "$OUT/curves.md" && echo "curves: bench/curves.svg"

# The price of a hooked call (issue 18): a non-blocking hooked read()/write()
# on a socket against libc's own call in the same binary (target <= 1.2x).
# The hiredis-vs-redis-benchmark half is its own, longer script
# (bench/redis_compare.sh), run here with --redis.
if have_target bench/hooked_call_bench; then
    ninja -C "$BUILD" bench/hooked_call_bench >/dev/null
    gbench hooked_call bench/hooked_call_bench
    echo
    "$PY" "$ROOT/bench/hooked_call_table.py" "$OUT/hooked_call.json" | tee "$OUT/hooked_call.md"
fi
if [ "$REDIS" = 1 ]; then
    echo "== redis: hiredis through the hooks against redis-benchmark"
    OUT="$OUT/redis.md" PYTHON="$PY" sh "$ROOT/bench/redis_compare.sh" "$BUILD" || echo "   redis comparison failed"
fi

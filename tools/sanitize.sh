#!/usr/bin/env bash
# The sanitizer and valgrind legs (docs/testing.md, "Sanitizers and valgrind"; CI runs
# them after the normal suite). Each leg has its own build directory.
#   ./tools/sanitize.sh [asan|tsan|valgrind|fuzz|clang]...   (default: all five)
set -euo pipefail
cd "$(dirname "$0")/.."
legs=("$@")
((${#legs[@]})) || legs=(asan tsan valgrind fuzz clang)

configure() {  # dir, options...
  local dir=$1; shift
  if [ -d "$dir" ]; then meson setup --reconfigure "$dir" "$@" >/dev/null
  else meson setup "$dir" "$@" >/dev/null; fi
}

# Suites that touch OS threads: TSan sees every cross-thread hand-off there.
# (TSan counts each live greenlet as a thread, limit ~8k: these suites stay far below.)
tsan_tests=(test/core/core_hub_test test/io/io_threadpool_test test/io/io_server_threads_test
            test/sync/sync_async_result_test)
tsan_tests+=(test/util/util_monitor_test test/util/run_info_child)  # the child: MonitorChild test

for leg in "${legs[@]}"; do
  case $leg in
  asan)
    echo "== ASan+UBSan: the whole suite"
    configure build-asan --wrap-mode=nodownload -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
      meson test -C build-asan --print-errorlogs
    ;;
  tsan)
    echo "== TSan: the thread-touching suites"
    configure build-tsan --wrap-mode=nodownload -Dwerror=true -Db_sanitize=thread -Db_lundef=false
    targets=("${tsan_tests[@]}")
    ninja -C build-tsan "${targets[@]}"
    for t in "${targets[@]}"; do
      [[ $t == *_test ]] || continue
      echo "-- $t"
      GROVE_UTIL_CHILD="$PWD/build-tsan/test/util/run_info_child" \
        TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 "build-tsan/$t"
    done
    ;;
  valgrind)
    echo "== valgrind: the core suite (without the 100k-greenlet scale test)"
    configure build-vg --wrap-mode=nodownload -Dwerror=true -Dvalgrind=true
    ninja -C build-vg $(sed -n "s/^  '\([a-z_]*\)' : files.*/test\/core\/core_\1_test/p" test/core/meson.build)
    for t in build-vg/test/core/core_*_test; do
      echo "-- $t"
      GTEST_FILTER='-*HundredThousand*' valgrind -q --error-exitcode=99 --leak-check=no "$t" >/dev/null
    done
    ;;
  fuzz)
    echo "== libFuzzer (clang): the sync operation-sequence harness, a short run"
    CXX=clang++ configure build-fuzz --wrap-mode=nodownload -Dfuzz=enabled -Db_sanitize=address -Db_lundef=false
    ninja -C build-fuzz test/fuzz/sync_fuzz
    test/fuzz/run.sh build-fuzz/test/fuzz/sync_fuzz -max_total_time="${GROVE_FUZZ_SECONDS:-20}"
    ;;
  clang)
    echo "== clang 14: the whole project builds warning-free (werror)"
    CXX=clang++ configure build-clang --wrap-mode=nodownload -Dwerror=true
    ninja -C build-clang
    ;;
  *) echo "unknown leg: $leg" >&2; exit 2 ;;
  esac
done
echo "sanitizer legs passed: ${legs[*]}"

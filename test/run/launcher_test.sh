#!/bin/sh
# launcher_test.sh SOURCE_ROOT BUILD_ROOT PROGRAM — every grove-run hooks the
# program (it reports nanosleep as libgrove-hooks'):
#   - the checkout's tools/grove-run, finding ../build next to it (a copy of
#     the checkout layout whose build/ is this build tree);
#   - the same with GROVE_LIBDIR instead;
#   - the build tree's generated launcher;
#   - the installed one, from `meson install --destdir` into a temporary dir.
set -eu
src=$1 build=$2 prog=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() {  # what, launcher...
    what=$1
    shift
    out=$("$@" "$prog" where 2>&1) || { echo "FAIL $what: exit $? ($out)"; exit 1; }
    case "$out" in
    "nanosleep from libgrove-hooks.so"*) echo "ok   $what: $out" ;;
    *) echo "FAIL $what: $out"; exit 1 ;;
    esac
}

plain=$("$prog" where)
[ "$plain" = "nanosleep from libc.so.6" ] || { echo "FAIL plain run: $plain"; exit 1; }

mkdir -p "$tmp/checkout/tools"
cp "$src/tools/grove-run" "$tmp/checkout/tools/grove-run"
ln -s "$build" "$tmp/checkout/build"
check "checkout launcher (../build)" "$tmp/checkout/tools/grove-run"
# GROVE_LIBDIR is explicit: a directory without both libraries is an error, not a fallback.
if GROVE_LIBDIR="$build/lib/hooks" "$src/tools/grove-run" "$prog" where >/dev/null 2>&1; then
    echo "FAIL: GROVE_LIBDIR without libgrove.so was accepted"; exit 1
fi
mkdir -p "$tmp/libs"
ln -s "$build/lib/hooks/libgrove-hooks.so" "$tmp/libs/libgrove-hooks.so"
ln -s "$build/lib/libgrove.so" "$tmp/libs/libgrove.so"
GROVE_LIBDIR="$tmp/libs" check "checkout launcher (GROVE_LIBDIR)" "$src/tools/grove-run"
check "build-tree launcher" "$build/lib/hooks/grove-run"

meson install -C "$build" --no-rebuild --quiet --destdir "$tmp/dest" >"$tmp/install.log" 2>&1 \
    || { cat "$tmp/install.log"; echo "FAIL: meson install"; exit 1; }
installed=$(find "$tmp/dest" -path '*/bin/grove-run' | head -n 1)
[ -n "$installed" ] || { echo "FAIL: no bin/grove-run installed"; exit 1; }
check "installed launcher ($installed)" "$installed"

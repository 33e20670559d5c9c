#!/bin/sh
# launcher_test.sh SOURCE_ROOT BUILD_ROOT PROGRAM — every grove-run hooks the
# program (its usleep() goes through a hub: the program then sees the hub's
# epoll fd; plainly it sees none):
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
    out=$("$@" "$prog" hub 2>&1) || { echo "FAIL $what: exit $? ($out)"; exit 1; }
    case "$out" in
    *"epoll fds after usleep: 1") echo "ok   $what" ;;
    *) echo "FAIL $what: $out"; exit 1 ;;
    esac
}

plain=$("$prog" hub)
case "$plain" in *"after usleep: 0") ;; *) echo "FAIL plain run: $plain"; exit 1 ;; esac

mkdir -p "$tmp/checkout/tools"
cp "$src/tools/grove-run" "$tmp/checkout/tools/grove-run"
ln -s "$build" "$tmp/checkout/build"
check "checkout launcher (../build)" "$tmp/checkout/tools/grove-run"
# GROVE_LIBDIR is explicit: a directory without both libraries is an error, not a fallback.
if GROVE_LIBDIR="$build/lib/hooks" "$src/tools/grove-run" "$prog" where >/dev/null 2>&1; then
    echo "FAIL: GROVE_LIBDIR without libgrove.so was accepted"; exit 1
fi
mkdir -p "$tmp/libs"
ln -s "$build/lib/hooks/libgrove-run.so" "$tmp/libs/libgrove-run.so"
ln -s "$build/lib/hooks/libgrove-hooks.so" "$tmp/libs/libgrove-hooks.so"
ln -s "$build/lib/libgrove.so" "$tmp/libs/libgrove.so"
GROVE_LIBDIR="$tmp/libs" check "checkout launcher (GROVE_LIBDIR)" "$src/tools/grove-run"
check "build-tree launcher" "$build/lib/hooks/grove-run"
GROVE_RUN_EAGER=1 check "build-tree launcher, eager" "$build/lib/hooks/grove-run"
[ "$(GROVE_RUN_EAGER=1 "$build/lib/hooks/grove-run" "$prog" where)" = "nanosleep from libgrove-hooks.so" ] \
    || { echo "FAIL: eager mode does not preload libgrove-hooks"; exit 1; }
[ "$("$build/lib/hooks/grove-run" "$prog" where)" = "nanosleep from libgrove-run.so" ] \
    || { echo "FAIL: lazy mode does not preload libgrove-run"; exit 1; }

# Children: plain by default (the program's own environment, which they
# inherit, has no trace of grove); --children keeps the preload.
leaks=$("$build/lib/hooks/grove-run" env | grep -E '^(LD_PRELOAD=.*libgrove|GROVE_PATCH|GROVE_CHILDREN|GROVE_RUN_|GLIBC_TUNABLES=)' || true)
[ -z "$leaks" ] || { echo "FAIL: the environment children inherit still has: $leaks"; exit 1; }
"$build/lib/hooks/grove-run" --children env | grep -q '^LD_PRELOAD=.*libgrove-run.so' \
    || { echo "FAIL: --children dropped the preload"; exit 1; }
echo "ok   children run plainly unless --children"

meson install -C "$build" --no-rebuild --quiet --destdir "$tmp/dest" >"$tmp/install.log" 2>&1 \
    || { cat "$tmp/install.log"; echo "FAIL: meson install"; exit 1; }
installed=$(find "$tmp/dest" -path '*/bin/grove-run' | head -n 1)
[ -n "$installed" ] || { echo "FAIL: no bin/grove-run installed"; exit 1; }
check "installed launcher ($installed)" "$installed"

#!/usr/bin/env bash
# Installs grove from a build tree into a scratch DESTDIR, then builds and runs
# the two out-of-tree consumers against that install: one with CMake
# (find_package(grove CONFIG REQUIRED)), one with make + pkg-config.
#   tools/consumers/check.sh BUILD_DIR
set -euo pipefail
build=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

meson install -C "$build" --no-rebuild --quiet --destdir "$scratch/root" >/dev/null
read -r prefix libdir_rel < <(meson introspect "$build" --buildoptions | python3 -c '
import json, sys
o = {x["name"]: x["value"] for x in json.load(sys.stdin)}
print(o["prefix"], o["libdir"])')
root="$scratch/root$prefix"                      # the prefix, under DESTDIR
libdir="$root/$libdir_rel"
[ -d "$libdir" ] || { echo "no libdir at $libdir" >&2; exit 1; }
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

echo "-- CMake consumer"
cmake -S "$here/cmake" -B "$scratch/cmake" -DCMAKE_PREFIX_PATH="$root" >/dev/null
cmake --build "$scratch/cmake" >/dev/null
"$scratch/cmake/consumer"

echo "-- pkg-config consumer"
# The .pc files name the configured prefix; the sysroot maps it into DESTDIR.
cp -r "$here/pkgconfig" "$scratch/make" && cp "$here/consumer.cpp" "$scratch/"
PKG_CONFIG_PATH="$libdir/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$scratch/root" make -s -C "$scratch/make"
"$scratch/make/consumer"

#!/usr/bin/env bash
# Builds grove's Debian packages (debian/) from a copy of the tracked tree,
# runs lintian on them (errors fail, warnings are listed), installs them with
# dpkg -i, builds and runs the out-of-tree consumers against the system
# install (CMake and make + pkg-config), then removes the packages again.
#   tools/check_debian.sh
set -euo pipefail
cd "$(dirname "$0")/.."
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
need=()
for p in build-essential debhelper lintian dpkg-dev cmake make; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if ((${#need[@]})); then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

scratch=$(mktemp -d)
installed=0
cleanup() {
  ((installed)) && $sudo dpkg -r grove-tools libgrove-dev libgrove0 >/dev/null
  rm -rf "$scratch"
}
trap cleanup EXIT

mkdir "$scratch/grove"
git ls-files -z | xargs -0 cp --parents -t "$scratch/grove"
echo "== dpkg-buildpackage -b -us -uc"
(cd "$scratch/grove" && dpkg-buildpackage -b -us -uc >"$scratch/build.log" 2>&1) ||
  { tail -40 "$scratch/build.log"; exit 1; }
ls "$scratch"/*.deb | xargs -n1 basename

echo "== lintian (errors fail; accepted warnings: docs/getting-started.md, 'Debian packages')"
lintian --tag-display-limit 0 "$scratch"/grove_*.changes | tee "$scratch/lintian.log" || true
if grep -q '^E:' "$scratch/lintian.log"; then echo "lintian reported errors" >&2; exit 1; fi

echo "== dpkg -i"
$sudo dpkg -i "$scratch"/libgrove0_*.deb "$scratch"/libgrove-dev_*.deb "$scratch"/grove-tools_*.deb >/dev/null
installed=1
command -v grove-run >/dev/null

echo "== consumers against /usr"
cmake -S tools/consumers/cmake -B "$scratch/cmake" >/dev/null
cmake --build "$scratch/cmake" >/dev/null
"$scratch/cmake/consumer"
cp -r tools/consumers/pkgconfig "$scratch/make" && cp tools/consumers/consumer.cpp "$scratch/"
make -s -C "$scratch/make"
"$scratch/make/consumer"
echo "Debian packages: built, installed, consumed, removed"

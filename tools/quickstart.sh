#!/usr/bin/env bash
# The README's first command: install what is missing (Debian 12 packages),
# configure, build, check the docs site (docs/), and run the flagship example.
#   ./tools/quickstart.sh            # build dir: ./build
# Re-running it is cheap: apt skips what is installed, meson reconfigures.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  g++ clang meson ninja-build pkg-config
  libboost-context-dev libboost-stacktrace-dev libboost-fiber-dev libev-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libssl-dev openssl curl
  redis-server libhiredis-dev libcurl4-openssl-dev
  memcached libmemcached-dev
  libc-ares-dev
  valgrind python3 wrk
  doxygen
  gdb
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

if [ -d build ]; then
  meson setup --reconfigure build --wrap-mode=nodownload -Dwerror=true >/dev/null
else
  meson setup build --wrap-mode=nodownload -Dwerror=true >/dev/null
fi
ninja -C build
# The HTML reference and guides (docs/): fails on any doxygen warning.
meson compile -C build docs
./build/tools/examples/greenlets_at_work

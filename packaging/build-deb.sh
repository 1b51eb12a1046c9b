#!/usr/bin/env bash
# Builds the sluice .deb for amd64 (the host) or arm64 (cross-compiled with
# packaging/aarch64-linux-gnu.cmake) with CPack, in build/deb-ARCH, and
# prints the package's path. Usage: packaging/build-deb.sh [amd64|arm64]
# Needs packaging/setup.sh (for arm64). Compiler and linker flags are
# Debian's (dpkg-buildflags with every hardening feature: fortify, stack
# protector, relro and bindnow, PIE) on top of RelWithDebInfo; CPack strips.
set -euo pipefail
cd "$(dirname "$0")/.."
arch="${1:-amd64}"
dir="build/deb-$arch"
args=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_TESTS=OFF -DSLUICE_BENCH=OFF -DCMAKE_INSTALL_PREFIX=/usr)
case "$arch" in
  amd64) ;;
  arm64)
    args+=(-DCMAKE_TOOLCHAIN_FILE="$PWD/packaging/aarch64-linux-gnu.cmake")
    export SLUICE_CROSS_PREFIX="$PWD/build/cross-arm64-prefix"
    ;;
  *) echo "build-deb.sh: unknown architecture '$arch' (amd64 or arm64)" >&2; exit 2 ;;
esac
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
flags() { dpkg-architecture -a "$arch" -c dpkg-buildflags --get "$1" 2>/dev/null; }
args+=(-DCMAKE_C_FLAGS="$(flags CPPFLAGS) $(flags CFLAGS)" -DCMAKE_CXX_FLAGS="$(flags CPPFLAGS) $(flags CXXFLAGS)"
  -DCMAKE_EXE_LINKER_FLAGS="$(flags LDFLAGS)")
cmake -S . -B "$dir" "${args[@]}" >/dev/null
cmake --build "$dir" -j "$(nproc)" --target sluice sluice_package_docs >&2
rm -f "$dir"/sluice_*.deb
(cd "$dir" && cpack -G DEB >&2)
ls "$PWD/$dir"/sluice_*_"$arch".deb

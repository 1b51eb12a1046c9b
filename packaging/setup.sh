#!/usr/bin/env bash
# Installs what packaging/test.sh needs on top of scripts/setup.sh: the .deb
# tools (dpkg-dev for dpkg-shlibdeps, lintian), debootstrap for a clean
# Debian 12 root, the arm64 cross compiler and the arm64 -dev packages
# (multiarch), and qemu-user to run the arm64 binary. Idempotent; run as root
# on Debian 12 (amd64).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bash "$here/../scripts/setup.sh"

# The arm64 -dev packages of every library the binary links (CMakeLists.txt).
arm64_dev=(
  libzstd-dev zlib1g-dev libsqlite3-dev libssl-dev libspdlog-dev libfmt-dev
  libpaho-mqttpp-dev libpaho-mqtt-dev libcurl4-openssl-dev libssh-dev librdkafka-dev
  libxxhash-dev libunistring-dev libpugixml-dev libpcre2-dev libtomlplusplus-dev
  libsmbclient-dev libnfs-dev libsodium-dev libsimdjson14
)
packages=(dpkg-dev fakeroot lintian debootstrap qemu-user g++-aarch64-linux-gnu binutils-aarch64-linux-gnu
  bash-completion systemd file iproute2 zstd curl)
for p in "${arm64_dev[@]}"; do packages+=("$p:arm64"); done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then dpkg --add-architecture arm64; fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "packaging setup: all ${#packages[@]} packages present"

# libsimdjson-dev is not Multi-Arch: same (its arm64 build would replace the
# amd64 one the host build needs), so its arm64 files are unpacked into a
# prefix of their own that the cross build searches first.
prefix="$here/../build/cross-arm64-prefix"
if [ ! -e "$prefix/usr/lib/aarch64-linux-gnu/cmake/simdjson/simdjson-config.cmake" ]; then
  tmp="$(mktemp -d)"
  chmod 0755 "$tmp"  # apt downloads as _apt
  (cd "$tmp" && apt-get download -qq libsimdjson-dev:arm64 libsimdjson14:arm64)
  mkdir -p "$prefix"
  for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$prefix"; done
  rm -rf "$tmp"
fi
echo "packaging setup: arm64 simdjson in $prefix"

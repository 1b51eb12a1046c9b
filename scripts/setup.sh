#!/usr/bin/env bash
# Installs every Debian package the build and the test suite need.
# Idempotent: a second run installs nothing new. Run as root on Debian 12.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates
  # libraries (DESIGN.md: Dependencies)
  libzstd-dev zlib1g-dev libsqlite3-dev libssl-dev libsodium-dev
  libtomlplusplus-dev libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  catch2
  libpaho-mqttpp-dev libpaho-mqtt-dev libcurl4-openssl-dev libssh-dev
  librdkafka-dev libxxhash-dev libunistring-dev
  # real tools the tests drive
  libpcre2-dev ccache python3
  logrotate procps sqlite3 zstd curl bc
  mosquitto mosquitto-clients openssl
  openssh-server openssh-client sshpass rsync rclone
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: these packages are missing and installing them needs root: ${missing[*]}" >&2
    exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "setup: all ${#packages[@]} packages present"

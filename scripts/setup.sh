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
  catch2 libcpp-httplib-dev  # the HTTP sink's tests and bench/agent_http.sh serve with it
  libpaho-mqttpp-dev libpaho-mqtt-dev libcurl4-openssl-dev libssh-dev
  librdkafka-dev libxxhash-dev libunistring-dev libpugixml-dev
  libsimdjson-dev  # the transforms read records with it (agent/transforms/json_doc.h)
  # real tools the tests drive
  libpcre2-dev ccache python3
  logrotate procps sqlite3 zstd curl bc
  systemd  # systemd-analyze verifies the packaged units (tests/integration/packaging)
  mosquitto mosquitto-clients openssl kcat
  openssh-server openssh-client sshpass rsync rclone
  # SMB and NFS endpoints: the client libraries, and the real servers and
  # peer tools the tests and bench/transfer_smb_nfs.sh drive
  libsmbclient-dev libnfs-dev samba smbclient nfs-ganesha nfs-ganesha-vfs libnfs-utils
)

# The npm emulators (tests/servers) need Node.js; a machine that has it from
# elsewhere keeps its own.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

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

# The emulators, exactly as the committed lockfile pins them. Skipped when
# node_modules was installed from this very lockfile (a stamp of its hash).
servers="$(cd "$(dirname "$0")/../tests/servers" && pwd)"
lock_hash="$(sha256sum "$servers/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$servers/node_modules/.sluice-lock-sha256" 2>/dev/null)" != "$lock_hash" ]; then
  (cd "$servers" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_hash" >"$servers/node_modules/.sluice-lock-sha256"
fi
echo "setup: npm emulators in tests/servers/node_modules"

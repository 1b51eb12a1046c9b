#!/usr/bin/env bash
# The packaging test (CI: .ci/packaging; too heavy for the main suite):
#   1. builds the amd64 .deb and checks it with lintian (no tag that
#      packaging/lintian-overrides does not explain);
#   2. installs it with dpkg -i into a clean Debian 12 root made with
#      debootstrap (its runtime dependencies from the Debian mirror), checks
#      what postinst set up, runs `sluice agent check` and a short agent run
#      there as the unit would (user sluice, group adm), verifies the units
#      with systemd-analyze;
#   3. upgrades it (same files, version -2): the admin's edit of the config
#      and the buffer stay; removes it (config and data stay) and purges it
#      (both go);
#   4. cross-builds the arm64 .deb, lintian again, and runs its binary under
#      qemu-aarch64: --version, `agent check`, and a short agent run that
#      must ship a file's lines into a lake.
# Prints "N passed, N failed" last; exit status 1 when a check failed.
# Run as root on Debian 12 amd64 (packaging/setup.sh installs the tools).
set -uo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(dirname "$repo")}"
mirror="${SLUICE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
work="$repo/build/packaging-test"
cache="$repo/build/packaging-cache"

passed=0
failed=0
check() {  # check "what" command...: one line per check
  local what="$1"
  shift
  if "$@" >"$work/last.out" 2>&1; then
    echo "ok   $what"
    passed=$((passed + 1))
  else
    echo "FAIL $what"
    sed 's/^/     | /' "$work/last.out" | tail -30
    failed=$((failed + 1))
  fi
}
finish() {
  trap - EXIT
  umount_root
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

root="$work/root"
umount_root() {
  for m in proc dev/pts dev; do mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"; done
  return 0
}
in_root() { chroot "$root" "$@"; }

bash packaging/setup.sh >/dev/null || { echo "packaging/setup.sh failed" >&2; exit 1; }
umount_root
rm -rf "$work"
mkdir -p "$work" "$cache"

# Sets deb to the package built for $1; a failed build ends the test.
build_deb() {
  deb="$(bash packaging/build-deb.sh "$1" 2>"$work/build-$1.log")" || {
    tail -30 "$work/build-$1.log"
    echo "FAIL $1 package build"
    failed=$((failed + 1))
    finish
  }
  echo "built $deb ($(stat -c %s "$deb") bytes)"
}

# --- 1. amd64 package ------------------------------------------------------
build_deb amd64
deb_amd64="$deb"
# Fails on any tag of any level that packaging/lintian-overrides does not
# list (--show-overrides would make lintian fail on the listed ones too, so
# the report below is a second run).
lint() {
  lintian --pedantic --display-info --display-experimental --fail-on error,warning,info,pedantic,experimental "$1"
}
lint_report() {
  lintian --pedantic --display-info --display-experimental --show-overrides "$1" 2>&1 |
    grep -Ev '^(running with root privileges|N:)' | sed 's/^/     lintian: /'
}
check "lintian amd64: no tag but those lintian-overrides explains" lint "$deb_amd64"
lint_report "$deb_amd64"
tree="$work/amd64"
dpkg-deb -x "$deb_amd64" "$tree"
# The completion asks the packaged binary's --help for subcommands and options.
complete_words() {
  PATH="$tree/usr/bin:$PATH" bash -c 'source /usr/share/bash-completion/bash_completion; source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; _sluice
    echo "${COMPREPLY[*]}"' _ "$tree/usr/share/bash-completion/completions/sluice" "$@"
}
expect_completion() {
  local want="$1" got
  shift
  got="$(complete_words "$@")"
  echo "offered: $got"
  [ "$got" = "$want" ]
}
check "bash completion: sluice agent <TAB> offers check replay" expect_completion "check replay" sluice agent ""
check "bash completion: sluice transfer copy --s3-r<TAB> completes --s3-region" \
  expect_completion "--s3-region" sluice transfer copy --s3-r
check "the man page renders without a warning" \
  bash -c "man --warnings -E UTF-8 -l '$tree/usr/share/man/man1/sluice.1.gz' 2>&1 >/dev/null | tee /dev/stderr | (! grep -q .)"
depends="$(dpkg-deb -f "$deb_amd64" Depends)"
check "Depends are Debian runtime packages only (no -dev, no local paths)" \
  bash -c '! grep -Eq "(-dev|/)" <<<"$1"' _ "$depends"

# --- 2. a clean Debian 12 root ---------------------------------------------
base="$cache/bookworm-minbase-systemd.tar"
if [ ! -s "$base" ]; then
  echo "debootstrap: a minimal bookworm with systemd from $mirror (cached in $base)"
  rm -rf "$cache/base"
  debootstrap --variant=minbase --include=systemd bookworm "$cache/base" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -20 "$work/debootstrap.log"
    echo "FAIL debootstrap"
    failed=$((failed + 1))
    finish
  }
  tar -C "$cache/base" -cf "$base" . && rm -rf "$cache/base"
fi
mkdir -p "$root"
tar -C "$root" -xf "$base"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
cp /etc/resolv.conf "$root/etc/resolv.conf"
echo "deb $mirror bookworm main" >"$root/etc/apt/sources.list"
trap finish EXIT

# The runtime dependencies from Debian, then the package itself with dpkg -i.
deps="$(sed -E 's/\([^)]*\)//g; s/,/ /g' <<<"$depends")"
check "the Depends install from the Debian mirror" \
  in_root env DEBIAN_FRONTEND=noninteractive sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $deps"
cp "$deb_amd64" "$root/tmp/sluice.deb"
check "dpkg -i installs the package" in_root dpkg -i /tmp/sluice.deb
check "sluice --version" bash -c "chroot '$root' sluice --version | grep -x 'sluice 0.1.0'"
check "the system user sluice exists (sysusers.d), with no login shell" \
  bash -c "chroot '$root' getent passwd sluice | grep -E ':/var/lib/sluice:/usr/sbin/nologin$'"
check "/var/lib/sluice is sluice:sluice 0750 (tmpfiles.d)" \
  bash -c "s=\$(chroot '$root' stat -c '%U:%G %a' /var/lib/sluice); echo \"\$s\"; [ \"\$s\" = 'sluice:sluice 750' ]"
check "sluice-agent.service is enabled" test -L "$root/etc/systemd/system/multi-user.target.wants/sluice-agent.service"
check "man page, bash completion and the drop example are installed" \
  test -s "$root/usr/share/man/man1/sluice.1.gz" -a -s "$root/usr/share/bash-completion/completions/sluice" \
  -a -s "$root/usr/share/doc/sluice/examples/partners.toml"
check "/etc/sluice/agent.toml is a conffile" bash -c "chroot '$root' dpkg-query -W -f='\${Conffiles}' sluice | grep -q /etc/sluice/agent.toml"
check "sluice agent check --config /etc/sluice/agent.toml" in_root sluice agent check --config /etc/sluice/agent.toml
check "systemd-analyze verify of the installed units" bash -c \
  "chroot '$root' systemd-analyze verify --man=no sluice-agent.service sluice-drop@example.service sluice-drop@example.timer 2>&1 | tee /dev/stderr | (! grep -q .)"

# A short run of the shipped configuration as the unit runs it (user sluice,
# supplementary group adm), in a network namespace of its own so that the
# metrics port cannot collide with anything on this machine. The log is
# root:adm 0640: only group adm lets the agent read it.
cat >"$root/tmp/short-run.sh" <<'RUN'
set -eu
ip link set lo up 2>/dev/null || true
chroot "$1" setpriv --reuid=sluice --regid=sluice --groups=adm \
  sluice agent --config /etc/sluice/agent.toml >"$1/tmp/agent.log" 2>&1 &
agent=$!
for _ in $(seq 100); do [ -e "$1/var/lib/sluice/buffer.db" ] && break; sleep 0.1; done
sleep 2  # the tail source's first scan
log="$1/var/log/sluice-packaging-test.log"
install -m 0640 -o root -g adm /dev/null "$log"
for n in $(seq 1 500); do echo "packaging test line $n"; done >>"$log"
healthz=$(curl -fsS http://127.0.0.1:9181/healthz)
echo "healthz: $healthz"
sleep 3
kill -TERM "$agent"
wait "$agent"
RUN
check "a short agent run as sluice:adm exits 0 on SIGTERM" unshare --net bash "$root/tmp/short-run.sh" "$root"
sed 's/^/     agent: /' "$root/tmp/agent.log" | head -20
lake_lines() { find "$root/var/lib/sluice/lake" -name '*.jsonl.zst' -exec zstdcat {} + 2>/dev/null | grep -c "$1"; }
check "the run shipped the 500 lines of a root:adm 0640 log into /var/lib/sluice/lake" \
  bash -c "[ \"\$(find '$root/var/lib/sluice/lake' -name '*.jsonl.zst' -exec zstdcat {} + | grep -c 'packaging test line')\" = 500 ]"
# find runs inside the root: the build machine has no user sluice.
check "everything under /var/lib/sluice belongs to sluice" \
  bash -c "n=\$(chroot '$root' find /var/lib/sluice ! -user sluice | wc -l) && [ \"\$n\" = 0 ] &&
    [ \"\$(chroot '$root' find /var/lib/sluice/lake -user sluice -name '*.jsonl.zst' | wc -l)\" -gt 0 ]"

# --- 3. upgrade, remove, purge ---------------------------------------------
echo "# edited by the admin" >>"$root/etc/sluice/agent.toml"
buffer_sum="$(sha256sum <"$root/var/lib/sluice/buffer.db")"
unpacked="$work/v2"
dpkg-deb -R "$deb_amd64" "$unpacked"
sed -i 's/^Version: .*/Version: 0.1.0-2/' "$unpacked/DEBIAN/control"
dpkg-deb --root-owner-group -b "$unpacked" "$root/tmp/sluice-2.deb" >/dev/null
check "dpkg -i of version 0.1.0-2 upgrades" in_root dpkg -i /tmp/sluice-2.deb
check "the upgrade left the admin's config edit" grep -qx "# edited by the admin" "$root/etc/sluice/agent.toml"
check "the upgrade left the buffer as it was" bash -c "[ \"\$(sha256sum <'$root/var/lib/sluice/buffer.db')\" = '$buffer_sum' ]"
check "installed version is 0.1.0-2" bash -c "[ \"\$(chroot '$root' dpkg-query -W -f='\${Version}' sluice)\" = 0.1.0-2 ]"
check "dpkg -r removes the package" in_root dpkg -r sluice
check "removal removed /usr/bin/sluice" test ! -e "$root/usr/bin/sluice"
check "removal kept the config" test -s "$root/etc/sluice/agent.toml"
check "removal kept the buffer and the lake" test -s "$root/var/lib/sluice/buffer.db" -a -d "$root/var/lib/sluice/lake"
check "dpkg -P purges the package" in_root dpkg -P sluice
check "purge deleted /etc/sluice and /var/lib/sluice" test ! -e "$root/etc/sluice" -a ! -e "$root/var/lib/sluice"

# --- 4. arm64 ----------------------------------------------------------------
build_deb arm64
deb_arm64="$deb"
check "lintian arm64: no tag but those lintian-overrides explains" lint "$deb_arm64"
lint_report "$deb_arm64"
arm="$work/arm64"
dpkg-deb -x "$deb_arm64" "$arm"
check "the arm64 binary is an AArch64 ELF" bash -c "file -b '$arm/usr/bin/sluice' | grep -q 'ARM aarch64'"
qemu() { qemu-aarch64 -L / "$arm/usr/bin/sluice" "$@"; }
check "qemu-aarch64 sluice --version" bash -c "qemu-aarch64 -L / '$arm/usr/bin/sluice' --version | grep -x 'sluice 0.1.0'"
check "qemu-aarch64 sluice agent check of the shipped config" qemu agent check --config "$arm/etc/sluice/agent.toml"
selftest="$work/arm64-selftest"
mkdir -p "$selftest/logs"
cat >"$selftest/agent.toml" <<TOML
[agent]
data_dir = "$selftest/state"
metrics = ""
shutdown_timeout = "20s"
[sources.app]
type = "tail"
paths = ["$selftest/logs/*.log"]
start_at = "beginning"
[sinks.lake]
type = "lake"
inputs = ["app"]
path = "$selftest/lake"
batch.max_age = "1s"
TOML
for n in $(seq 1 1000); do echo "arm64 self-test line $n"; done >"$selftest/logs/app.log"
arm_run() {
  qemu-aarch64 -L / "$arm/usr/bin/sluice" agent --config "$selftest/agent.toml" 2>"$selftest/agent.log" &
  local agent=$!
  for _ in $(seq 600); do
    [ "$(find "$selftest/lake" -name '*.jsonl.zst' -exec zstdcat {} + 2>/dev/null | grep -c 'self-test line')" = 1000 ] && break
    sleep 0.1
  done
  kill -TERM "$agent"
  wait "$agent"
}
check "qemu-aarch64: a short agent run exits 0 on SIGTERM" arm_run
check "qemu-aarch64: the run shipped each of the 1000 lines once" bash -c \
  "[ \"\$(find '$selftest/lake' -name '*.jsonl.zst' -exec zstdcat {} + | grep -o 'self-test line [0-9]*' | sort -u | wc -l)\" = 1000 ] &&
   [ \"\$(find '$selftest/lake' -name '*.jsonl.zst' -exec zstdcat {} + | wc -l)\" = 1000 ]"

finish

#!/usr/bin/env bash
# Benchmark: bulk transfer over SMB and NFS on loopback, Sluice against the
# peers in the same run.
#
#   - 1 file of SIZE_MIB (default 1024) up and down, FILES (default 10000)
#     files of 16 KiB up (10 directories);
#   - SMB: a Samba smbd started here (SMB3, no encryption); peers smbclient
#     (put/get, mput -r for the tree) and rclone's smb backend (if installed);
#   - NFS: an nfs-ganesha NFSv4 server started here; peer nfs-cp (libnfs-utils,
#     the same libnfs as Sluice; one process per file for the tree, 8 at once).
# Each figure is the median of RUNS (default 1) runs; destinations are removed
# between runs. Sluice runs with its defaults (SHA-256 of every byte, COMMIT /
# close of every file, size check; --transfers 8 for the tree). Needs root
# (smbd, ganesha), a release build and the packages of scripts/setup.sh.
#
# Usage: bench/transfer_smb_nfs.sh [SIZE_MIB] [FILES]. Prints a Markdown table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sluice="$root/build/release/app/sluice"
size_mib=${1:-1024}
files=${2:-10000}
runs=${RUNS:-1}
work=$(mktemp -d /tmp/sluice-bench-smbnfs-XXXXXX)
chmod 755 "$work"
smbd_pid="" ganesha_pid=""
cleanup() {
  [ -n "$smbd_pid" ] && { pkill -KILL -P "$smbd_pid" 2>/dev/null || true; kill -KILL "$smbd_pid" 2>/dev/null || true; }
  [ -n "$ganesha_pid" ] && kill -KILL "$ganesha_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 300); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }

# --- smbd (the recipe of tests/support/smbd.cpp) ---
S="$work/smb"; mkdir -p "$S"/{private,lock,state,cache,pid,ncalrpc,log,share}
smb_port=$(free_port); user=$(id -un); pw=sluice-bench-pw
cat >"$S/smb.conf" <<CONF
[global]
  server role = standalone server
  smb ports = $smb_port
  interfaces = 127.0.0.1
  bind interfaces only = yes
  disable netbios = yes
  private dir = $S/private
  lock directory = $S/lock
  state directory = $S/state
  cache directory = $S/cache
  pid directory = $S/pid
  ncalrpc dir = $S/ncalrpc
  log file = $S/log/smbd.log
  passdb backend = tdbsam:$S/private/passdb.tdb
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
  map to guest = never
  server min protocol = SMB2_02
[share]
  path = $S/share
  read only = no
  valid users = $user
CONF
printf '%s\n%s\n' "$pw" "$pw" | smbpasswd -c "$S/smb.conf" -s -a "$user" >/dev/null
printf '%s' "$pw" >"$work/pw"
setsid smbd --foreground --no-process-group -s "$S/smb.conf" >"$S/out" 2>&1 &
smbd_pid=$!
wait_port "$smb_port"

# --- ganesha (the recipe of tests/support/ganesha.cpp) ---
G="$work/nfs"; mkdir -p "$G"/{run,recov,export}
nfs_port=$(free_port)
cat >"$G/ganesha.conf" <<CONF
NFS_CORE_PARAM { Bind_addr = 127.0.0.1; NFS_Port = $nfs_port; Enable_NLM = false; Enable_RQUOTA = false;
  Enable_UDP = false; Protocols = 4; Plugins_Dir = "/usr/lib/x86_64-linux-gnu/ganesha"; }
NFS_KRB5 { Active_krb5 = false; CCacheDir = "$G/run"; }
NFSV4 { Graceless = true; RecoveryBackend = fs; RecoveryRoot = "$G/recov"; }
EXPORT { Export_Id = 1; Path = "$G/export"; Pseudo = "/export"; Access_Type = RW; Squash = No_Root_Squash;
  SecType = sys; Protocols = 4; Transports = TCP; FSAL { Name = VFS; } }
LOG { Default_Log_Level = EVENT; }
CONF
ganesha.nfsd -F -f "$G/ganesha.conf" -L "$G/ganesha.log" -p "$G/run/ganesha.pid" -N NIV_EVENT >"$G/out" 2>&1 &
ganesha_pid=$!
wait_port "$nfs_port"

# shellcheck source=bench/bench_lib.sh
source "$(dirname "$0")/bench_lib.sh"
make_data "$size_mib" "$files" "$work"
total_n=$(find "$work/srcN" -type f | wc -l)
bytes1=$(( size_mib << 20 ))
mbps() { echo "scale=1; $bytes1 / $1 / 1000000" | bc -l; }
fps() { echo "scale=0; $total_n / $1" | bc -l; }
row() { printf '| %s | %s | %s |\n' "$1" "$2" "$3"; }
ratio() { echo "scale=2; $2 / $1" | bc -l; }  # peer time / sluice time: > 1 means Sluice is faster

smb_url() { echo "smb://$user@127.0.0.1:$smb_port/share/$1"; }
nfs_url() { echo "nfs://127.0.0.1/export/$1?version=4&nfsport=$nfs_port"; }
sl() { "$sluice" transfer copy "$@" --smb-password-file "$work/pw" --progress=none 2>/dev/null; }
smbc() { smbclient "//127.0.0.1/share" -p "$smb_port" -U "$user%$pw" -m SMB3 -c "$1" >/dev/null 2>&1; }
have_rclone=0
if command -v rclone >/dev/null && rclone help backend smb >/dev/null 2>&1; then
  have_rclone=1
  export RCLONE_CONFIG_S_TYPE=smb RCLONE_CONFIG_S_HOST=127.0.0.1 RCLONE_CONFIG_S_PORT=$smb_port \
    RCLONE_CONFIG_S_USER=$user RCLONE_CONFIG_S_PASS=$(rclone obscure "$pw")
fi
rc() { rclone --config /dev/null copy "$@" --transfers 8 2>/dev/null; }

SH="$S/share"
clean_smb="rm -rf '$SH'/*"
clean_down="rm -rf '$work/down'; mkdir -p '$work/down'"

echo "| case | tool | result | peer time / sluice time |"
echo "|---|---|---|---|"
# --- SMB: 1 file up ---
t=$(median "$clean_smb" sl "$work/src1" "$(smb_url up)"); s=$t; row "SMB 1 file up" sluice "$(mbps "$t") MB/s | "
t=$(median "$clean_smb" smbc "put $work/src1/big.bin big.bin"); row "SMB 1 file up" smbclient "$(mbps "$t") MB/s | $(ratio "$s" "$t")"
if [ $have_rclone = 1 ]; then t=$(median "$clean_smb" rc "$work/src1" "s:share/up"); row "SMB 1 file up" rclone "$(mbps "$t") MB/s | $(ratio "$s" "$t")"; fi
# --- SMB: 1 file down ---
mkdir -p "$SH/one" && cp "$work/src1/big.bin" "$SH/one/"
t=$(median "$clean_down" sl "$(smb_url one)" "$work/down"); s=$t; row "SMB 1 file down" sluice "$(mbps "$t") MB/s | "
t=$(median "$clean_down" smbc "lcd $work/down; get one/big.bin big.bin"); row "SMB 1 file down" smbclient "$(mbps "$t") MB/s | $(ratio "$s" "$t")"
if [ $have_rclone = 1 ]; then t=$(median "$clean_down" rc "s:share/one" "$work/down"); row "SMB 1 file down" rclone "$(mbps "$t") MB/s | $(ratio "$s" "$t")"; fi
# --- SMB: many files up ---
t=$(median "$clean_smb" sl "$work/srcN" "$(smb_url many)" --transfers 8); s=$t; row "SMB $total_n × 16 KiB up" sluice "$(fps "$t") files/s | "
t=$(median "$clean_smb" smbc "mkdir many; cd many; lcd $work/srcN; prompt OFF; recurse ON; mput *"); row "SMB $total_n × 16 KiB up" smbclient "$(fps "$t") files/s | $(ratio "$s" "$t")"
if [ $have_rclone = 1 ]; then t=$(median "$clean_smb" rc "$work/srcN" "s:share/many"); row "SMB $total_n × 16 KiB up" rclone "$(fps "$t") files/s | $(ratio "$s" "$t")"; fi
rm -rf "${SH:?}"/*

# --- NFS ---
# ganesha caches what it served: the export is emptied through NFS, by sluice
# itself (a sync from an empty directory with --delete), never behind its back.
mkdir -p "$work/empty"
clean_nfs="'$sluice' transfer sync '$work/empty' '$(nfs_url "")' --delete --progress=none >/dev/null 2>&1"
mkdir -p "$work/dirsN" && (cd "$work/srcN" && find . -mindepth 1 -type d -exec mkdir -p "$work/dirsN/{}" \;)
nfscp_tree() {
  (cd "$work/srcN" && find . -type f -printf '%P\n' |
    xargs -P 8 -I{} nfs-cp "{}" "nfs://127.0.0.1/export/many/{}?version=4&nfsport=$nfs_port" >/dev/null)
}
t=$(median "$clean_nfs" sl "$work/src1" "$(nfs_url up)"); s=$t; row "NFS 1 file up" sluice "$(mbps "$t") MB/s | "
# libnfs 4.0's NFSv4 cannot encode a WRITE over ~3.9 KB (transfer/nfs/nfs_endpoint.h):
# nfs-cp, which writes in larger pieces, fails there; said so, not timed.
eval "$clean_nfs"
if nfs-cp "$work/src1/big.bin" "$(nfs_url big.bin)" >/dev/null 2>&1; then
  t=$(median "$clean_nfs" nfs-cp "$work/src1/big.bin" "$(nfs_url big.bin)"); row "NFS 1 file up" nfs-cp "$(mbps "$t") MB/s | $(ratio "$s" "$t")"
  nfscp_up=1
else
  row "NFS 1 file up" nfs-cp "fails (\"Failed to write to dest file\") | -"; nfscp_up=0
fi
eval "$clean_nfs"; "$sluice" transfer copy "$work/src1" "$(nfs_url one)" --progress=none >/dev/null 2>&1
t=$(median "$clean_down" sl "$(nfs_url one)" "$work/down"); s=$t; row "NFS 1 file down" sluice "$(mbps "$t") MB/s | "
t=$(median "$clean_down" nfs-cp "$(nfs_url one/big.bin)" "$work/down/big.bin"); row "NFS 1 file down" nfs-cp "$(mbps "$t") MB/s | $(ratio "$s" "$t")"
t=$(median "$clean_nfs" sl "$work/srcN" "$(nfs_url many)" --transfers 8); s=$t; row "NFS $total_n × 16 KiB up" sluice "$(fps "$t") files/s | "
# nfs-cp makes no directories: sluice makes the ten of them first, untimed.
if [ $nfscp_up = 1 ]; then
  t=$(median "$clean_nfs; '$sluice' transfer copy '$work/dirsN' '$(nfs_url many)' --progress=none >/dev/null 2>&1" nfscp_tree); row "NFS $total_n × 16 KiB up" "nfs-cp ×8" "$(fps "$t") files/s | $(ratio "$s" "$t")"
else
  row "NFS $total_n × 16 KiB up" "nfs-cp ×8" "fails (16 KiB writes) | -"
fi

#!/usr/bin/env bash
# Benchmark: bulk transfer over SFTP on loopback, Sluice against the peers in
# the same run, and local -> local against cp and rsync.
#
#   - 1 file of SIZE_MIB (default 1024) up and down;
#   - FILES (default 10000) files of 16 KiB up and down (10 directories);
#   - peers: OpenSSH sftp (batch put/get, -r for trees) and scp, and rclone
#     (sftp backend, --sftp-disable-hashcheck so it does not run md5sum on the
#     server, which Sluice does not need either), all with aes128-gcm@openssh.com
#     where the tool lets us set it (sftp/scp -c; rclone's Go client prefers it);
#   - local: sluice transfer copy vs cp -r (+ sync) vs rsync -a, 1 file and the tree.
# Each figure is the median of RUNS (default 3) runs; destinations are
# removed between runs; the page cache is warm for every tool alike.
# Sluice runs with its defaults (SHA-256 of every byte, fsync of every file,
# size check; --transfers 8 for the tree). The peers do not hash or fsync.
#
# Usage: bench/transfer_sftp.sh [SIZE_MIB] [FILES]; needs a release build
# (scripts/build.sh release sluice) and openssh-server, rclone, rsync.
# Prints a Markdown table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sluice="$root/build/release/app/sluice"
size_mib=${1:-1024}
files=${2:-10000}
runs=${RUNS:-3}
work=$(mktemp -d /tmp/sluice-bench-sftp-XXXXXX)
sshd_pid=""
cleanup() {
  [ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cipher=aes128-gcm@openssh.com
mkdir -p "$work/remote"
# shellcheck source=bench/loopback_sshd.sh
source "$(dirname "$0")/loopback_sshd.sh"
ssh_opts=(-o "UserKnownHostsFile=$kh" -o StrictHostKeyChecking=yes -i "$key" -c "$cipher")
url() { echo "sftp://$user@127.0.0.1:$port$1"; }
sl() { "$sluice" transfer copy "$@" --ssh-key "$key" --known-hosts "$kh" --progress=none 2>/dev/null; }
export RCLONE_CONFIG_B_TYPE=sftp RCLONE_CONFIG_B_HOST=127.0.0.1 RCLONE_CONFIG_B_PORT=$port \
  RCLONE_CONFIG_B_USER=$user RCLONE_CONFIG_B_KEY_FILE=$key RCLONE_CONFIG_B_KNOWN_HOSTS_FILE=$kh
rc() { rclone --config /dev/null copy "$@" --sftp-disable-hashcheck --transfers 8 2>/dev/null; }

# --- data ---
# shellcheck source=bench/bench_lib.sh
source "$(dirname "$0")/bench_lib.sh"
make_data "$size_mib" "$files" "$work"
total_n=$(find "$work/srcN" -type f | wc -l)
bytes1=$(( size_mib << 20 ))

mbps() { echo "scale=1; $bytes1 / $1 / 1000000" | bc -l; }
fps() { echo "scale=0; $total_n / $1" | bc -l; }
row() { printf '| %s | %s | %s |\n' "$1" "$2" "$3"; }

clean_remote='rm -rf "$work/remote"/*'
clean_local='rm -rf "$work/down"'
R="$work/remote"
# sftp batch files (a process substitution would be read by the first run only)
echo "put $work/src1/big.bin $R/" > "$work/b1"
echo "get $R/one/big.bin $work/down/" > "$work/b2"
echo "put -r $work/srcN $R/many" > "$work/b3"
echo "get -r $R/manysrc $work/down/" > "$work/b4"

echo "| case | tool | result |"
echo "|---|---|---|"
# 1 file up
t=$(median "$clean_remote" sl "$work/src1" "$(url "$R/up")");                         row "1 file up" sluice "$(mbps "$t") MB/s"; s_up=$t
t=$(median "$clean_remote" sftp -q "${ssh_opts[@]}" -P "$port" -b "$work/b1" "$user@127.0.0.1"); row "1 file up" "OpenSSH sftp" "$(mbps "$t") MB/s"; o_up=$t
t=$(median "$clean_remote" scp -q "${ssh_opts[@]}" -P "$port" "$work/src1/big.bin" "$user@127.0.0.1:$R/"); row "1 file up" "scp" "$(mbps "$t") MB/s"
t=$(median "$clean_remote" rc "$work/src1" "b:$R/up");                                 row "1 file up" "rclone" "$(mbps "$t") MB/s"; r_up=$t
# 1 file down
mkdir -p "$R/one" && cp "$work/src1/big.bin" "$R/one/"
t=$(median "$clean_local" sl "$(url "$R/one")" "$work/down");                          row "1 file down" sluice "$(mbps "$t") MB/s"; s_down=$t
t=$(median "$clean_local; mkdir -p $work/down" sftp -q "${ssh_opts[@]}" -P "$port" -b "$work/b2" "$user@127.0.0.1"); row "1 file down" "OpenSSH sftp" "$(mbps "$t") MB/s"; o_down=$t
t=$(median "$clean_local; mkdir -p $work/down" scp -q "${ssh_opts[@]}" -P "$port" "$user@127.0.0.1:$R/one/big.bin" "$work/down/"); row "1 file down" "scp" "$(mbps "$t") MB/s"
t=$(median "$clean_local" rc "b:$R/one" "$work/down");                                 row "1 file down" "rclone" "$(mbps "$t") MB/s"; r_down=$t
rm -rf "$R/one"
# many files up
t=$(median "$clean_remote" sl "$work/srcN" "$(url "$R/many")" --transfers 8);          row "$total_n × 16 KiB up" sluice "$(fps "$t") files/s"; sn_up=$t
t=$(median "$clean_remote" sftp -q "${ssh_opts[@]}" -P "$port" -b "$work/b3" "$user@127.0.0.1"); row "$total_n × 16 KiB up" "OpenSSH sftp" "$(fps "$t") files/s"; on_up=$t
t=$(median "$clean_remote" scp -q -r "${ssh_opts[@]}" -P "$port" "$work/srcN" "$user@127.0.0.1:$R/many"); row "$total_n × 16 KiB up" "scp" "$(fps "$t") files/s"
t=$(median "$clean_remote" rc "$work/srcN" "b:$R/many");                               row "$total_n × 16 KiB up" "rclone" "$(fps "$t") files/s"; rn_up=$t
# many files down
cp -r "$work/srcN" "$R/manysrc"
t=$(median "$clean_local" sl "$(url "$R/manysrc")" "$work/down" --transfers 8);        row "$total_n × 16 KiB down" sluice "$(fps "$t") files/s"; sn_down=$t
t=$(median "$clean_local; mkdir -p $work/down" sftp -q "${ssh_opts[@]}" -P "$port" -b "$work/b4" "$user@127.0.0.1"); row "$total_n × 16 KiB down" "OpenSSH sftp" "$(fps "$t") files/s"; on_down=$t
t=$(median "$clean_local" scp -q -r "${ssh_opts[@]}" -P "$port" "$user@127.0.0.1:$R/manysrc" "$work/down"); row "$total_n × 16 KiB down" "scp" "$(fps "$t") files/s"
t=$(median "$clean_local" rc "b:$R/manysrc" "$work/down");                             row "$total_n × 16 KiB down" "rclone" "$(fps "$t") files/s"; rn_down=$t
rm -rf "$R/manysrc"
# local -> local
t=$(median "$clean_local" "$sluice" transfer copy "$work/src1" "$work/down" --progress=none); row "local 1 file" sluice "$(mbps "$t") MB/s"; sl1=$t
t=$(median "$clean_local" sh -c "cp -r '$work/src1' '$work/down' && sync -f '$work/down'"); row "local 1 file" "cp -r + sync" "$(mbps "$t") MB/s"; cp1=$t
t=$(median "$clean_local" rsync -a "$work/src1/" "$work/down/");                        row "local 1 file" "rsync -a" "$(mbps "$t") MB/s"
t=$(median "$clean_local" "$sluice" transfer copy "$work/srcN" "$work/down" --progress=none --transfers 8); row "local $total_n files" sluice "$(fps "$t") files/s"; sln=$t
t=$(median "$clean_local" sh -c "cp -r '$work/srcN' '$work/down' && sync -f '$work/down'"); row "local $total_n files" "cp -r + sync" "$(fps "$t") files/s"
t=$(median "$clean_local" rsync -a "$work/srcN/" "$work/down/");                        row "local $total_n files" "rsync -a" "$(fps "$t") files/s"

ratio() { echo "scale=2; $2 / $1" | bc -l; }
echo
echo "Ratios (Sluice speed / peer speed): 1 file up: $(ratio "$s_up" "$o_up")× sftp, $(ratio "$s_up" "$r_up")× rclone;" \
  "down: $(ratio "$s_down" "$o_down")× sftp, $(ratio "$s_down" "$r_down")× rclone;" \
  "small files up: $(ratio "$sn_up" "$on_up")× sftp, $(ratio "$sn_up" "$rn_up")× rclone;" \
  "down: $(ratio "$sn_down" "$on_down")× sftp, $(ratio "$sn_down" "$rn_down")× rclone;" \
  "local 1 file: $(ratio "$sl1" "$cp1")× cp."

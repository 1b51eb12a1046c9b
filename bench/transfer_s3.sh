#!/usr/bin/env bash
# Benchmark: bulk transfer to and from S3 on loopback, Sluice against rclone
# (s3 backend) in the same run, both against the same s3rver (the emulator
# the tests use, tests/servers/s3rver-fixed.js).
#
#   - 1 file of SIZE_MIB (default 256) up and down;
#   - FILES (default 2000) files of 16 KiB up and down (10 directories).
# s3rver is a single Node process that stores every object as files on disk
# and checks no checksums; it is the bottleneck for both tools, so read the
# ratio, not the absolute figures, which say little about AWS.
# Sluice runs with its defaults (SHA-256 of every byte read; a CRC-64/NVME
# per part and per object sent for S3 to check; 8 MiB parts; --transfers 8
# for the tree); rclone with --transfers 8, its 5 MiB chunks, and its MD5
# (Content-MD5 / ETag) checks. Each figure is the median of RUNS (default 3).
#
# Usage: bench/transfer_s3.sh [SIZE_MIB] [FILES]; needs a release build
# (scripts/build.sh release sluice), rclone, and tests/servers/node_modules
# (scripts/setup.sh). Prints a Markdown table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sluice="$root/build/release/app/sluice"
size_mib=${1:-256}
files=${2:-2000}
runs=${RUNS:-3}
work=$(mktemp -d /tmp/sluice-bench-s3-XXXXXX)
s3_pid=""
cleanup() {
  [ -n "$s3_pid" ] && kill "$s3_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/s3"
node --openssl-legacy-provider "$root/tests/servers/s3rver-fixed.js" -d "$work/s3" -a 127.0.0.1 -p 0 --silent \
  --configure-bucket bench > "$work/s3rver.out" 2>&1 &
s3_pid=$!
for _ in $(seq 100); do grep -q 'listening on' "$work/s3rver.out" && break; sleep 0.1; done
port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/s3rver.out" | grep -o '[0-9]*$')
endpoint="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
export RCLONE_CONFIG_S_TYPE=s3 RCLONE_CONFIG_S_PROVIDER=Other RCLONE_CONFIG_S_ENDPOINT=$endpoint \
  RCLONE_CONFIG_S_ACCESS_KEY_ID=S3RVER RCLONE_CONFIG_S_SECRET_ACCESS_KEY=S3RVER RCLONE_CONFIG_S_REGION=us-east-1 \
  RCLONE_CONFIG_S_FORCE_PATH_STYLE=true
sl() { "$sluice" transfer copy "$@" --s3-endpoint "$endpoint" --progress=none 2>/dev/null; }
# rclone refuses any AWS_CA_BUNDLE on a plain-http endpoint ("unsupported transport").
rc() { env -u AWS_CA_BUNDLE rclone --config /dev/null copy "$@" --transfers 8 2>/dev/null; }

# shellcheck source=bench/bench_lib.sh
source "$(dirname "$0")/bench_lib.sh"
make_data "$size_mib" "$files" "$work"
total_n=$(find "$work/srcN" -type f | wc -l)
bytes1=$(( size_mib << 20 ))

mbps() { echo "scale=1; $bytes1 / $1 / 1000000" | bc -l; }
fps() { echo "scale=0; $total_n / $1" | bc -l; }
row() { printf '| %s | %s | %s |\n' "$1" "$2" "$3"; }
clean_bucket='rm -rf "$work/s3/bench"/up "$work/s3/bench"/many'
clean_local='rm -rf "$work/down"'

echo "| case | tool | result |"
echo "|---|---|---|"
t=$(median "$clean_bucket" sl "$work/src1" s3://bench/up);                    row "1 × ${size_mib} MiB up" sluice "$(mbps "$t") MB/s"; s_up=$t
t=$(median "$clean_bucket" rc "$work/src1" s:bench/up);                       row "1 × ${size_mib} MiB up" rclone "$(mbps "$t") MB/s"; r_up=$t
sl "$work/src1" s3://bench/one
t=$(median "$clean_local" sl s3://bench/one "$work/down");                   row "1 × ${size_mib} MiB down" sluice "$(mbps "$t") MB/s"; s_down=$t
t=$(median "$clean_local" rc s:bench/one "$work/down");                      row "1 × ${size_mib} MiB down" rclone "$(mbps "$t") MB/s"; r_down=$t
t=$(median "$clean_bucket" sl "$work/srcN" s3://bench/many --transfers 8);   row "$total_n × 16 KiB up" sluice "$(fps "$t") files/s"; sn_up=$t
t=$(median "$clean_bucket" rc "$work/srcN" s:bench/many);                    row "$total_n × 16 KiB up" rclone "$(fps "$t") files/s"; rn_up=$t
sl "$work/srcN" s3://bench/manysrc --transfers 8
t=$(median "$clean_local" sl s3://bench/manysrc "$work/down" --transfers 8); row "$total_n × 16 KiB down" sluice "$(fps "$t") files/s"; sn_down=$t
t=$(median "$clean_local" rc s:bench/manysrc "$work/down");                  row "$total_n × 16 KiB down" rclone "$(fps "$t") files/s"; rn_down=$t

ratio() { echo "scale=2; $2 / $1" | bc -l; }
echo
echo "Ratios (Sluice speed / rclone speed): 1 file up $(ratio "$s_up" "$r_up")×, down $(ratio "$s_down" "$r_down")×;" \
  "small files up $(ratio "$sn_up" "$rn_up")×, down $(ratio "$sn_down" "$rn_down")×."

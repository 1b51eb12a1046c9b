#!/usr/bin/env bash
# Benchmark: the agent's AWS sinks against the emulators on loopback, from a
# backlog: SIZE MiB of ~200-byte log lines tailed from the beginning and
# shipped to
#   - Kinesis Data Streams (kinesalite, 4 shards), one record per line;
#   - the same with KPL aggregation (aggregate = true);
#   - S3 (s3rver), zstd objects in the lake layout.
# Per run: records/s and MB/s of log end to end (until the sink acknowledged
# every record, polled on /metrics), requests/s, the batch fill ratio (record
# bytes per PutRecords request against the 5 MiB limit), agent CPU seconds
# per GiB and peak RSS. The peer, in the same session: the AWS SDK for
# JavaScript putting the same lines with PutRecords (bench/tools/kinesis-put.js),
# which is as fast as a client of this emulator gets with one request at a time.
#
# Usage: bench/agent_aws.sh [SIZE_MIB [PLAIN_MIB]] (defaults 1024 and 256);
# needs a release build and tests/servers/node_modules (scripts/setup.sh).
# The one-record-per-line runs (sluice and the peer) use the first PLAIN_MIB
# of the log: kinesalite keeps every record in the Node heap (3.9 GB after
# ~2 million records), so 5.4 million records of a 1 GiB backlog do not fit.
# Prints Markdown tables.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/release"
servers="$root/tests/servers"
size_mib=${1:-1024}
plain_mib=${2:-256}
work=$(mktemp -d /tmp/sluice-bench-aws-XXXXXX)
stop_servers() {
  [ -f "$work/pids" ] || return 0
  while read -r p; do kill "$p" 2>/dev/null || true; done < "$work/pids"
  while read -r p; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done < "$work/pids"
  rm -f "$work/pids"
}
cleanup() { stop_servers; rm -rf "$work"; }
trap cleanup EXIT
line_bytes=200
lines=$(( size_mib * 1024 * 1024 / line_bytes ))
tck=$(getconf CLK_TCK)
port=$(( 20000 + RANDOM % 20000 ))
export AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench-secret AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
unset AWS_CA_BUNDLE AWS_PROFILE AWS_SESSION_TOKEN

# shellcheck source=bench/agent_lib.sh
source "$(dirname "$0")/agent_lib.sh"

# Starts a server that prints "... 127.0.0.1:PORT"; echoes the port.
start_server() {  # $1 log, $2.. command
  local log=$1; shift
  "$@" > "$log" 2>&1 &
  echo $! >> "$work/pids"
  local p=""
  for _ in $(seq 200); do
    p=$(grep -o '127\.0\.0\.1:[0-9]*' "$log" | head -1 | cut -d: -f2) && [ -n "$p" ] && break
    sleep 0.05
  done
  [ -n "$p" ] || { echo "server did not start: $*" >&2; cat "$log" >&2; exit 1; }
  echo "$p"
}

kinesalite() {  # echoes the endpoint of a fresh kinesalite with stream "bench"
  local kp
  kp=$(NODE_OPTIONS=--max-old-space-size=12288 start_server "$work/kinesalite.log" node "$servers/kinesalite.js" 0)
  node "$servers/kinesis-client.js" "http://127.0.0.1:$kp" create bench 4 >&2
  echo "http://127.0.0.1:$kp"
}

echo "generating $size_mib MiB ($lines lines) in $work" >&2
"$bin/bench/sluice-loggen" --out "$work/app.log" --lines "$lines" --line-bytes "$line_bytes"
bytes=$(stat -c %s "$work/app.log")
plain_lines=$(( plain_mib * 1024 * 1024 / line_bytes ))
head -n "$plain_lines" "$work/app.log" > "$work/plain.log"
plain_bytes=$(stat -c %s "$work/plain.log")

run_agent() {  # $1 label, $2 sink TOML, $3 log file, $4 its lines, $5 its bytes; prints a row; uses $requests_metric
  local label=$1 sink=$2 log=$3 lines=$4 bytes=$5
  agent_backlog_start "$work/run" "$log" "$sink"
  agent_backlog_wait "$lines"
  local secs=$agent_secs cpu=$agent_cpu peak=$agent_peak_kib
  local requests="-"
  [ -n "$requests_metric" ] && requests=$(metric "$requests_metric")
  local record_bytes; record_bytes=$(metric sluice_sink_bytes_total)
  agent_backlog_stop
  local fill="-" rate="-"
  [ "$requests" != "-" ] && rate=$(printf '%.1f' "$(echo "$requests / $secs" | bc -l)")
  [ "$requests" != "-" ] && [ "$requests" -gt 0 ] && fill=$(printf '%.0f%%' "$(echo "$record_bytes / $requests / 5242880 * 100" | bc -l)")
  printf '| %s | %.0f MiB | %.0f | %.1f | %s | %s | %s | %.1f | %.0f |\n' "$label" "$(echo "$bytes / 1048576" | bc -l)" \
    "$(echo "$lines / $secs" | bc -l)" "$(echo "$bytes / 1000000 / $secs" | bc -l)" "$requests" "$rate" "$fill" \
    "$(echo "$cpu / $tck / ($bytes / 1073741824)" | bc -l)" "$(echo "$peak / 1024" | bc -l)"
}

echo
echo "sluice $("$bin/app/sluice" --version | awk '{print $2}'), $(nproc) cores, $(date -u +%Y-%m-%d), ${line_bytes}-byte lines: $size_mib MiB ($lines records), plain runs $plain_mib MiB ($plain_lines records)"
echo
echo "| run | backlog | records/s | MB/s of log | requests | requests/s | fill (bytes/request of 5 MiB) | agent CPU s/GiB | agent peak RSS MiB |"
echo "|---|---|---|---|---|---|---|---|---|"

endpoint=$(kinesalite)
t0=$(now)
peer=$(node "$root/bench/tools/kinesis-put.js" "$endpoint" bench "$work/plain.log")
t1=$(now)
secs=$(echo "$t1 - $t0" | bc -l)
preq=$(echo "$peer" | sed 's/.*"requests":\([0-9]*\).*/\1/')
pbytes=$(echo "$peer" | sed 's/.*"bytes":\([0-9]*\).*/\1/')
printf '| peer: AWS SDK for JS, PutRecords | %s MiB | %.0f | %.1f | %s | %.1f | %.0f%% | - | - |\n' "$plain_mib" \
  "$(echo "$plain_lines / $secs" | bc -l)" "$(echo "$plain_bytes / 1000000 / $secs" | bc -l)" "$preq" \
  "$(echo "$preq / $secs" | bc -l)" "$(echo "$pbytes / $preq / 5242880 * 100" | bc -l)"
stop_servers

requests_metric=sluice_kinesis_requests_total
endpoint=$(kinesalite)
run_agent "sluice → Kinesis, one record per line" "type = \"kinesis\"
stream = \"bench\"
endpoint = \"$endpoint\"" "$work/plain.log" "$plain_lines" "$plain_bytes"
stop_servers

endpoint=$(kinesalite)
run_agent "sluice → Kinesis, KPL aggregation" "type = \"kinesis\"
stream = \"bench\"
endpoint = \"$endpoint\"
aggregate = true" "$work/app.log" "$lines" "$bytes"
stop_servers

requests_metric=""  # S3: objects and multipart parts, counted from the bucket below
mkdir -p "$work/s3"
s3port=$(start_server "$work/s3rver.log" node --openssl-legacy-provider "$servers/s3rver-fixed.js" -d "$work/s3" \
  -a 127.0.0.1 -p 0 --silent --configure-bucket lake)
AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER run_agent "sluice → S3 (zstd objects)" "type = \"s3\"
bucket = \"lake\"
endpoint = \"http://127.0.0.1:$s3port\"
path_style = true" "$work/app.log" "$lines" "$bytes"
objects=$(find "$work/s3/lake" -type f -name '*._S3rver_object' | wc -l)
stored=$(du -sb "$work/s3/lake" | cut -f1)
stop_servers
echo
echo "S3: $objects objects, $(( stored / 1048576 )) MiB stored for $(( bytes / 1048576 )) MiB of log."

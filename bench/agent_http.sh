#!/usr/bin/env bash
# Benchmark: the agent's HTTP sink to a local endpoint, from a backlog: SIZE
# MiB of ~200-byte log lines tailed from the beginning and POSTed as JSON
# Lines (requests of up to 1 MiB before compression, the default) to
# sluice-http-receiver (bench/tools/http_receiver.cpp, cpp-httplib, counts
# records), with compression none, gzip and zstd. Per run: records/s and MB/s
# of log end to end (until the sink acknowledged every record, polled on
# /metrics), requests, agent CPU seconds per GiB and peak RSS; the receiver's
# record count is checked against the lines written.
# The peer, in the same session: one curl process POSTing the same log cut
# into 1 MiB chunks (split -C, whole lines) over one kept-alive connection:
# the cost of the HTTP part alone, with no reading, buffering or encoding.
#
# Usage: bench/agent_http.sh [SIZE_MIB] (default 1024); needs a release build
# (bash scripts/build.sh release sluice sluice-loggen sluice-http-receiver).
# Prints Markdown tables.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/release"
size_mib=${1:-1024}
work=$(mktemp -d /tmp/sluice-bench-http-XXXXXX)
rpid=""
stop_receiver() {
  if [ -n "$rpid" ]; then kill "$rpid" 2>/dev/null || true; wait "$rpid" 2>/dev/null || true; fi
  rpid=""
}
cleanup() { stop_receiver; rm -rf "$work"; }
trap cleanup EXIT
line_bytes=200
lines=$(( size_mib * 1024 * 1024 / line_bytes ))
tck=$(getconf CLK_TCK)
port=$(( 20000 + RANDOM % 20000 ))

source "$root/bench/agent_lib.sh"
received() { curl -s "http://127.0.0.1:$rport/count" | sed "s/.*\"$1\":\([0-9]*\).*/\1/"; }

start_receiver() {
  "$bin/bench/sluice-http-receiver" > "$work/receiver.log" 2>&1 &
  rpid=$!
  rport=""
  for _ in $(seq 200); do
    rport=$(grep -o '127\.0\.0\.1:[0-9]*' "$work/receiver.log" | head -1 | cut -d: -f2) && [ -n "$rport" ] && break
    sleep 0.05
  done
  [ -n "$rport" ] || { echo "receiver did not start" >&2; cat "$work/receiver.log" >&2; exit 1; }
}

echo "generating $size_mib MiB ($lines lines) in $work" >&2
"$bin/bench/sluice-loggen" --out "$work/app.log" --lines "$lines" --line-bytes "$line_bytes"
bytes=$(stat -c %s "$work/app.log")

run_agent() {  # $1 label, $2 compression; prints a row
  local label=$1 compression=$2
  start_receiver
  agent_backlog_start "$work/run" "$work/app.log" "type = \"http\"
url = \"http://127.0.0.1:$rport/ingest\"
compression = \"$compression\""
  agent_backlog_wait "$lines"
  local cpu=$agent_cpu peak=$agent_peak_kib secs=$agent_secs
  local requests; requests=$(metric sluice_http_requests_total)
  local wire; wire=$(metric sluice_http_request_bytes_total)
  agent_backlog_stop
  local got; got=$(received records)
  [ "$got" -eq "$lines" ] || { echo "$label: the receiver counted $got records of $lines" >&2; exit 1; }
  stop_receiver
  printf '| %s | %.0f MiB | %.0f | %.1f | %s | %.0f | %.2f | %.1f |\n' "$label" "$(echo "$bytes / 1048576" | bc -l)" \
    "$(echo "$lines / $secs" | bc -l)" "$(echo "$bytes / 1000000 / $secs" | bc -l)" "$requests" \
    "$(echo "$wire / 1048576" | bc -l)" "$(echo "$cpu / $tck / ($bytes / 1073741824)" | bc -l)" "$(echo "$peak / 1024" | bc -l)"
}

echo
echo "sluice $("$bin/app/sluice" --version | awk '{print $2}'), curl $(curl --version | head -1 | awk '{print $2}'), $(nproc) cores, $(date -u +%Y-%m-%d), load average before: $(cut -d' ' -f1-3 /proc/loadavg); ${line_bytes}-byte lines: $size_mib MiB ($lines records)"
echo
echo "| run | backlog | records/s | MB/s of log | requests | MiB on the wire | CPU s/GiB | peak RSS MiB |"
echo "|---|---|---|---|---|---|---|---|"

# The peer: 1 MiB chunks of whole lines, POSTed by one curl over one connection.
mkdir -p "$work/chunks"
split -C 1M -a 5 "$work/app.log" "$work/chunks/c"
start_receiver
{
  sep=""
  for f in "$work"/chunks/c*; do
    printf '%surl = "http://127.0.0.1:%s/ingest"\ndata-binary = "@%s"\nheader = "Content-Type: application/x-ndjson"\noutput = "/dev/null"\n' "$sep" "$rport" "$f"
    sep=$'next\n'
  done
} > "$work/curl.conf"
t0=$(now)
/usr/bin/time -f '%U %S %M' -o "$work/curl.time" curl -s -f -K "$work/curl.conf"
t1=$(now)
got=$(received records)
preq=$(received requests)
[ "$got" -eq "$lines" ] || { echo "curl: the receiver counted $got records of $lines" >&2; exit 1; }
stop_receiver
read -r cu cs cm < "$work/curl.time"
secs=$(echo "$t1 - $t0" | bc -l)
printf '| peer: curl, 1 MiB chunks of the raw lines | %.0f MiB | %.0f | %.1f | %s | %.0f | %.2f | %.1f |\n' \
  "$(echo "$bytes / 1048576" | bc -l)" "$(echo "$lines / $secs" | bc -l)" "$(echo "$bytes / 1000000 / $secs" | bc -l)" \
  "$preq" "$(echo "$bytes / 1048576" | bc -l)" "$(echo "($cu + $cs) / ($bytes / 1073741824)" | bc -l)" "$(echo "$cm / 1024" | bc -l)"
rm -rf "$work/chunks"

run_agent "sluice → HTTP, JSON Lines" none
run_agent "sluice → HTTP, JSON Lines, gzip" gzip
run_agent "sluice → HTTP, JSON Lines, zstd" zstd

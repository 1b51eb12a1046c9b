#!/usr/bin/env bash
# Benchmark: the agent's MQTT sink from a backlog, on loopback. SIZE MiB of
# ~200-byte log lines (sluice-loggen) are tailed from the beginning and
# published to a mosquitto started here, one message per line, at QoS 1 and
# at QoS 0 (encoding = "raw": the line as read, max_inflight 100). Per run:
# records/s and MB/s of log end to end (from the agent's start until the sink
# has delivered every record: PUBACKed at QoS 1, written at QoS 0; polled on
# /metrics), agent CPU seconds per GiB and peak RSS; a mosquitto_sub (QoS 1)
# on the same broker counts what arrived. The peers, in the same session:
#   - `mosquitto_pub -l` publishing the same file, one message per line, timed
#     until it exits. At QoS 1 it does not wait for its acknowledgements
#     (mosquitto-clients 2.0.11): it exits once the file is read, and what it
#     had not sent is lost, which the "received" column shows;
#   - sluice-mqtt-pub (bench/tools/mqtt_pub.cpp): Paho, the client library the
#     sink uses, publishing the same number of 200-byte messages with the same
#     in-flight window (100) and waiting for every acknowledgement: what Paho
#     alone costs, with no file, buffer or encoding.
#
# Usage: bench/agent_mqtt_sink.sh [SIZE_MIB] (default 256); needs a release
# build (scripts/build.sh release sluice sluice-loggen sluice-mqtt-pub) and mosquitto,
# mosquitto-clients. Prints a Markdown table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/release"
size_mib=${1:-256}
work=$(mktemp -d /tmp/sluice-bench-mqtt-sink-XXXXXX)
broker_pid=""
sub_pid=""
cleanup() {
  [ -n "$sub_pid" ] && kill "$sub_pid" 2>/dev/null || true
  [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
line_bytes=200
lines=$(( size_mib * 1024 * 1024 / line_bytes ))
tck=$(getconf CLK_TCK)
mport=$(( 20000 + RANDOM % 20000 ))
port=$(( mport + 1 ))

# shellcheck source=bench/agent_lib.sh
source "$(dirname "$0")/agent_lib.sh"

# A fresh broker and a subscriber counting every message under bench/.
start_broker() {
  start_mosquitto "$mport"
  mosquitto_sub -p "$mport" -t 'bench/#' -q 1 -C "$lines" > "$work/sub.out" &
  sub_pid=$!
  sleep 0.5
}
# Stops the broker after the subscriber got everything (or 60 s more); sets
# `received` to what the subscriber got. Not in a subshell: it clears the pids.
stop_broker() {
  for _ in $(seq 600); do kill -0 "$sub_pid" 2>/dev/null || break; sleep 0.1; done
  kill "$sub_pid" 2>/dev/null || true
  wait "$sub_pid" 2>/dev/null || true
  sub_pid=""
  kill "$broker_pid"; wait "$broker_pid" 2>/dev/null || true
  broker_pid=""
  received=$(wc -l < "$work/sub.out")
}

row() {  # label qos secs cpu_s peak_kib received
  local cpu="-" rss="-"
  [ "$4" != "-" ] && cpu=$(printf '%.1f' "$(echo "$4 / ($bytes / 1073741824)" | bc -l)")
  [ "$5" != "-" ] && rss=$(printf '%.1f' "$(echo "$5 / 1024" | bc -l)")
  printf '| %s | %s | %.0f | %.1f | %s | %s | %s of %s |\n' "$1" "$2" "$(echo "$lines / $3" | bc -l)" \
    "$(echo "$bytes / 1000000 / $3" | bc -l)" "$cpu" "$rss" "$6" "$lines"
}

peer() {  # $1 qos
  start_broker
  local t0 t1
  t0=$(now)
  mosquitto_pub -p "$mport" -t bench/peer -q "$1" -l < "$work/app.log"
  t1=$(now)
  stop_broker
  row "peer: mosquitto_pub -l" "$1" "$(echo "$t1 - $t0" | bc -l)" - - "$received"
}

paho() {  # $1 qos
  start_broker
  local out
  out=$("$bin/bench/sluice-mqtt-pub" --host 127.0.0.1 --port "$mport" --topic bench/paho --count "$lines" --size "$line_bytes" \
    --qos "$1" --inflight 100)
  stop_broker
  local rate; rate=$(echo "$out" | sed -n 's/.*"msg_per_s":\([0-9.]*\).*/\1/p')
  row "peer: Paho, window 100 (sluice-mqtt-pub)" "$1" "$(echo "$lines / $rate" | bc -l)" - - "$received"
}

sluice() {  # $1 qos
  start_broker
  agent_backlog_start "$work/run-q$1" "$work/app.log" "type = \"mqtt\"
url = \"mqtt://127.0.0.1:$mport\"
topic = \"bench/{source}\"
qos = $1
encoding = \"raw\"
max_inflight = 100"
  agent_backlog_wait "$lines"
  local cpu=$agent_cpu peak=$agent_peak_kib
  agent_backlog_stop
  stop_broker
  row "sluice agent → mqtt sink (tail → buffer → publish)" "$1" "$agent_secs" \
    "$(echo "$cpu / $tck" | bc -l)" "$peak" "$received"
}

echo "generating $size_mib MiB ($lines lines) in $work" >&2
"$bin/bench/sluice-loggen" --out "$work/app.log" --lines "$lines" --line-bytes "$line_bytes"
bytes=$(stat -c %s "$work/app.log")

echo
echo "sluice $("$bin/app/sluice" --version | awk '{print $2}'), mosquitto $(mosquitto -h | awk 'NR==1 {print $3}'), $(nproc) cores, $(date -u +%Y-%m-%d), ${line_bytes}-byte lines: $size_mib MiB ($lines records)"
echo
echo "| run | QoS | records/s | MB/s of log | agent CPU s/GiB | agent peak RSS MiB | received by mosquitto_sub |"
echo "|---|---|---|---|---|---|---|"
for qos in 1 0; do
  peer "$qos"
  paho "$qos"
  sluice "$qos"
done

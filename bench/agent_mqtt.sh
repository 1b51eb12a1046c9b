#!/usr/bin/env bash
# Benchmark: MQTT messages into the agent's durable buffer, on loopback.
# A Paho publisher (bench/tools/mqtt_pub.cpp, in-flight window 100) sends
# COUNT messages of 200 bytes to a mosquitto started here; we measure how fast
# they are committed to the buffer (sluice_source_records_total reaching
# COUNT, timed from the first message), for:
#   - QoS 0 (batched commits),
#   - QoS 1 with acknowledge-after-commit, durability "full" (fsync per commit)
#     and "normal" (survives kill -9, not power loss),
# plus the agent's CPU seconds and peak RSS, and, in the same run, the
# no-durability ceiling: `mosquitto_sub -q 1 > file` receiving the same COUNT
# QoS 1 messages. The lake sink runs too (batch.max_age 1s), as in production.
# PUBLISHERS (default 4) Paho publishers share the load, window 100 each.
#
# Usage: bench/agent_mqtt.sh [COUNT] (default 1000000); needs a release build
# (scripts/build.sh release sluice sluice-mqtt-pub) and mosquitto installed.
# Prints a Markdown table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/release"
count=${1:-1000000}
count=$(( count / 4 * 4 ))
size=200
work=$(mktemp -d /tmp/sluice-bench-mqtt-XXXXXX)
broker_pid=""
cleanup() {
  [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
tck=$(getconf CLK_TCK)
mport=$(( 20000 + RANDOM % 20000 ))
port=$(( mport + 1 ))

# shellcheck source=bench/agent_lib.sh
source "$(dirname "$0")/agent_lib.sh"

start_broker() { start_mosquitto "$mport"; }
stop_broker() { kill "$broker_pid"; wait "$broker_pid" 2>/dev/null || true; broker_pid=""; }

# One Paho publisher tops out near 12-30k msg/s here (its per-message
# overhead), below what the subscribers take: run several in parallel, each
# with its own topic and an equal share, and report their summed rate.
publishers=${PUBLISHERS:-4}
publish() {  # $1 qos, $2 client id prefix; prints the publishers' total msg/s
  local pids=() i
  for i in $(seq 1 "$publishers"); do
    "$bin/bench/sluice-mqtt-pub" --port "$mport" --topic "bench/p$i" --count $(( count / publishers )) \
      --size "$size" --qos "$1" --inflight 100 --client-id "$2-$i" > "$work/pub-$2-$i.json" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i"; done
  cat "$work"/pub-"$2"-*.json | sed -n 's/.*"msg_per_s":\([0-9.]*\).*/\1/p' | awk '{s += $1} END {printf "%.0f", s}'
}

baseline() {
  start_broker
  mosquitto_sub -p "$mport" -t 'bench/#' -q 1 -C "$count" > "$work/sub.out" &
  local sub=$!
  sleep 0.5
  local t0 t1
  t0=$(now)
  local pubrate; pubrate=$(publish 1 pub-baseline)
  wait "$sub"
  t1=$(now)
  local got; got=$(wc -l < "$work/sub.out")
  printf '| mosquitto_sub -q 1 > file (no durability) | 1 | - | %.0f | - | - | %s |\n' \
    "$(echo "$got / ($t1 - $t0)" | bc -l)" "$pubrate"
  stop_broker
}

run() {  # $1 qos, $2 durability
  local qos=$1 durability=$2
  local d="$work/run-q$qos-$durability"
  mkdir -p "$d"
  cat > "$d/agent.toml" <<TOML
[agent]
data_dir = "$d/state"
buffer_max = "4GiB"
durability = "$durability"
metrics = "127.0.0.1:$port"
[sources.mqtt]
type = "mqtt"
url = "mqtt://127.0.0.1:$mport"
topics = ["bench/#"]
qos = $qos
client_id = "bench-agent-$qos-$durability"
[sinks.lake]
type = "lake"
inputs = ["mqtt"]
path = "$d/lake"
batch.max_age = "1s"
TOML
  sync; sleep 2
  start_broker
  "$bin/app/sluice" agent --config "$d/agent.toml" 2> "$d/agent.log" &
  local pid=$!
  until curl -s -o /dev/null "http://127.0.0.1:$port/healthz"; do sleep 0.05; done
  until [ "$(metric 'sluice_mqtt_connected')" = 1 ]; do sleep 0.05; done
  local c0 t0 t1 got
  c0=$(cpu_ticks $pid)
  t0=$(now)
  publish "$qos" "pub-$qos-$durability" > "$d/pubrate" &
  local pub=$!
  while :; do
    got=$(metric 'sluice_source_records_total')
    [ "$got" -ge "$count" ] && break
    if ! kill -0 $pid 2>/dev/null; then echo "agent died: $(tail -5 "$d/agent.log")" >&2; exit 1; fi
    sleep 0.05
  done
  t1=$(now)
  wait "$pub" || true
  local c1; c1=$(cpu_ticks $pid)
  local hwm; hwm=$(hwm_kib $pid)
  kill -TERM $pid; wait $pid || true
  stop_broker
  local rate; rate=$(echo "$count / ($t1 - $t0)" | bc -l)
  printf '| sluice agent -> buffer | %s | %s | %.0f | %.1f | %.1f | %s |\n' "$qos" "$durability" "$rate" \
    "$(echo "($c1 - $c0) / $tck" | bc -l)" "$(echo "$hwm / 1024" | bc -l)" \
    "$(cat "$d/pubrate")"
}

echo "| what | QoS | durability | msg/s into the buffer | agent CPU s | agent peak RSS MiB | publisher msg/s |"
echo "|---|---|---|---|---|---|---|"
baseline
run 0 full
run 1 normal
run 1 full

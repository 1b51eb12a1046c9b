#!/usr/bin/env bash
# Benchmark: the agent's Kafka sink against librdkafka's mock cluster (3
# brokers on loopback, topic "bench" with 6 partitions, replication 3), from
# a backlog: SIZE MiB of ~200-byte log lines tailed from the beginning.
# Runs (each against a fresh cluster):
#   - the peer: kcat producing the same file, one message per line, with the
#     same producer settings (idempotent, acks=all, lz4, linger 10 ms,
#     1 MiB batches): what librdkafka itself does with no buffer in between;
#   - sluice, encoding = "raw" (the same bytes per message as kcat);
#   - sluice, encoding = "json" (DESIGN.md's envelope, ~2x the bytes).
# Per run: records/s and MB/s of log end to end (sluice: until the sink
# acknowledged every record, polled on /metrics; kcat: until it exited after
# its delivery reports), producer CPU seconds per GiB of log and peak RSS.
#
# Usage: bench/agent_kafka.sh [SIZE_MIB] (default 1024); needs a release
# build (sluice, sluice-loggen, sluice-kafka-mock) and kcat. The mock cluster
# keeps every message in memory (~1.5 GiB for the json run of 1 GiB).
# Prints a Markdown table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/release"
size_mib=${1:-1024}
work=$(mktemp -d /tmp/sluice-bench-kafka-XXXXXX)
mock_pid=""
stop_mock() {
  [ -n "$mock_pid" ] || return 0
  kill "$mock_pid" 2>/dev/null || true
  wait "$mock_pid" 2>/dev/null || true
  mock_pid=""
}
cleanup() { stop_mock; rm -rf "$work"; }
trap cleanup EXIT
line_bytes=200
lines=$(( size_mib * 1024 * 1024 / line_bytes ))
tck=$(getconf CLK_TCK)
port=$(( 20000 + RANDOM % 20000 ))

source "$root/bench/agent_lib.sh"

start_mock() {  # sets $brokers
  stop_mock
  "$bin/bench/sluice-kafka-mock" 3 bench 6 > "$work/mock.out" 2> "$work/mock.err" &
  mock_pid=$!
  brokers=""
  for _ in $(seq 200); do
    brokers=$(awk '/^bootstraps/ {print $2}' "$work/mock.out") && [ -n "$brokers" ] && break
    sleep 0.05
  done
  [ -n "$brokers" ] || { echo "mock cluster did not start" >&2; cat "$work/mock.err" >&2; exit 1; }
}

row() {  # label secs cpu_ticks peak_kib
  printf '| %s | %.0f MiB | %.0f | %.1f | %.1f | %.0f |\n' "$1" "$(echo "$bytes / 1048576" | bc -l)" \
    "$(echo "$lines / $2" | bc -l)" "$(echo "$bytes / 1000000 / $2" | bc -l)" \
    "$(echo "$3 / $tck / ($bytes / 1073741824)" | bc -l)" "$(echo "$4 / 1024" | bc -l)"
}

run_agent() {  # $1 label, $2 encoding
  agent_backlog_start "$work/run" "$work/app.log" "type = \"kafka\"
brokers = \"$brokers\"
topic = \"bench\"
encoding = \"$2\"
compression = \"lz4\"
linger = \"10ms\"
batch_size = \"1MiB\""
  agent_backlog_wait "$lines"
  agent_backlog_stop
  row "$1" "$agent_secs" "$agent_cpu" "$agent_peak_kib"
}

echo "generating $size_mib MiB ($lines lines) in $work" >&2
"$bin/bench/sluice-loggen" --out "$work/app.log" --lines "$lines" --line-bytes "$line_bytes"
bytes=$(stat -c %s "$work/app.log")

echo
echo "sluice $("$bin/app/sluice" --version | awk '{print $2}'), librdkafka $(kcat -V 2>&1 | sed -n 's/.*librdkafka version \([0-9.]*\).*/\1/p' | head -1), $(nproc) cores, $(date -u +%Y-%m-%d), ${line_bytes}-byte lines: $size_mib MiB ($lines records)"
echo
echo "| run | backlog | records/s | MB/s of log | producer CPU s/GiB | producer peak RSS MiB |"
echo "|---|---|---|---|---|---|"

start_mock
sync; sleep 2
t0=$(now)
/usr/bin/time -f '%e %U %S %M' -o "$work/kcat.time" kcat -P -b "$brokers" -t bench -l -z lz4 \
  -X enable.idempotence=true -X acks=all -X linger.ms=10 -X batch.size=1048576 "$work/app.log" 2> "$work/kcat.err"
t1=$(now)
read -r _ ku ks kmax < "$work/kcat.time"
row "peer: kcat -P (librdkafka, same settings)" "$(echo "$t1 - $t0" | bc -l)" \
  "$(echo "($ku + $ks) * $tck" | bc -l)" "$kmax"

start_mock
run_agent "sluice → Kafka, encoding = raw" raw
start_mock
run_agent "sluice → Kafka, encoding = json" json
stop_mock

#!/usr/bin/env bash
# Benchmark: the agent's core path, tail -> SQLite buffer -> lake, with default
# durability (every commit fsynced). Generates SIZE MiB of ~200-byte log lines
# as one file and as 10 files, and reports per run: MB/s and lines/s end to end
# (until the lake sink has acknowledged every record), CPU seconds per GiB,
# peak and steady RSS, idle RSS and CPU afterwards, and MB written to disk per
# GiB of log (buffer, WAL and lake: what wears a device's flash). `cat` and `wc -l` over
# the same files run in the same session as the ceiling.
#
# Usage: bench/agent_tail_lake.sh [SIZE_MIB] (default 1024); needs a release
# build (scripts/build.sh release). Prints a Markdown table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/release"
size_mib=${1:-1024}
idle_seconds=${IDLE_SECONDS:-30}
work=$(mktemp -d /tmp/sluice-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
line_bytes=200
lines=$(( size_mib * 1024 * 1024 / line_bytes ))
tck=$(getconf CLK_TCK)
port=$(( 20000 + RANDOM % 20000 ))

# shellcheck source=bench/agent_lib.sh
source "$root/bench/agent_lib.sh"  # now, cpu_ticks, hwm_kib, written_bytes, metric
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

echo "generating $size_mib MiB ($lines lines) as 1 file and as 10 files in $work" >&2
mkdir -p "$work/one" "$work/ten"
"$bin/bench/sluice-loggen" --out "$work/one/app.log" --lines "$lines" --line-bytes "$line_bytes"
for i in $(seq 0 9); do
  "$bin/bench/sluice-loggen" --out "$work/ten/app-$i.log" --lines $(( lines / 10 )) --first $(( i * lines / 10 + 1 )) \
    --line-bytes "$line_bytes" &
done
wait
bytes_one=$(stat -c %s "$work/one/app.log")
bytes_ten=$(cat "$work"/ten/*.log | wc -c)
lines_ten=$(( (lines / 10) * 10 ))

ceiling() {  # $1 label, $2.. files
  local label=$1; shift
  local t0 t1
  t0=$(now); cat "$@" > /dev/null; t1=$(now)
  local bytes; bytes=$(cat "$@" | wc -c)
  printf '| %s | cat | %.0f |\n' "$label" "$(echo "$bytes / 1000000 / ($t1 - $t0)" | bc -l)"
  t0=$(now); cat "$@" | wc -l > /dev/null; t1=$(now)
  printf '| %s | cat \\| wc -l | %.0f |\n' "$label" "$(echo "$bytes / 1000000 / ($t1 - $t0)" | bc -l)"
}

run() {  # $1 label, $2 glob, $3 expected lines, $4 bytes
  local label=$1 glob=$2 expect=$3 bytes=$4
  local d="$work/run-$label"
  mkdir -p "$d"
  cat > "$d/agent.toml" <<TOML
[agent]
data_dir = "$d/state"
buffer_max = "2GiB"
metrics = "127.0.0.1:$port"
[sources.app]
type = "tail"
paths = ["$glob"]
start_at = "beginning"
[sinks.lake]
type = "lake"
inputs = ["app"]
path = "$d/lake"
batch.max_age = "1s"
TOML
  # Start on a quiet disk: the previous run's writeback must not slow this one's fsyncs.
  sync; sleep 3
  local t0; t0=$(now)
  "$bin/app/sluice" agent --config "$d/agent.toml" 2> "$d/agent.log" &
  local pid=$!
  local samples=() done_records=0
  until curl -s -o /dev/null "http://127.0.0.1:$port/healthz"; do sleep 0.05; done
  while :; do
    done_records=$(metric sluice_sink_records_total)
    samples+=("$(rss_kib $pid)")
    [ "$done_records" -ge "$expect" ] && break
    sleep 0.2
  done
  local t1; t1=$(now)
  local cpu; cpu=$(cpu_ticks $pid)
  local peak; peak=$(hwm_kib $pid)
  local written; written=$(written_bytes $pid)
  local steady; steady=$(printf '%s\n' "${samples[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  # Idle: nothing to read; measure CPU and RSS over idle_seconds.
  local c0; c0=$(cpu_ticks $pid)
  sleep "$idle_seconds"
  local c1; c1=$(cpu_ticks $pid)
  local idle_rss; idle_rss=$(rss_kib $pid)
  kill -TERM $pid; wait $pid
  local secs; secs=$(echo "$t1 - $t0" | bc -l)
  local lake_bytes; lake_bytes=$(du -sb "$d/lake" | cut -f1)
  printf '| %s | %.0f | %.0f | %.2f | %.1f | %.1f | %.1f | %.2f%% | %.1f | %.0f |\n' "$label" \
    "$(echo "$bytes / 1000000 / $secs" | bc -l)" "$(echo "$expect / $secs" | bc -l)" \
    "$(echo "$cpu / $tck / ($bytes / 1073741824)" | bc -l)" \
    "$(echo "$peak / 1024" | bc -l)" "$(echo "$steady / 1024" | bc -l)" "$(echo "$idle_rss / 1024" | bc -l)" \
    "$(echo "($c1 - $c0) / $tck / $idle_seconds * 100" | bc -l)" \
    "$(echo "$bytes / $lake_bytes" | bc -l)" "$(echo "$written / 1000000 / ($bytes / 1073741824)" | bc -l)"
  rm -rf "$d"
}

echo
echo "sluice $("$bin/app/sluice" --version | awk '{print $2}'), $(nproc) cores, $(date -u +%Y-%m-%d), $size_mib MiB of ${line_bytes}-byte lines"
echo
echo "| input | ceiling | MB/s |"
echo "|---|---|---|"
ceiling "1 file" "$work/one/app.log"
ceiling "10 files" "$work"/ten/*.log
echo
echo "| input | MB/s | lines/s | CPU s/GiB | peak RSS MiB | steady RSS MiB | idle RSS MiB | idle CPU | lake compression | MB written/GiB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
run "1 file" "$work/one/app.log" "$lines" "$bytes_one"
run "10 files" "$work/ten/*.log" "$lines_ten" "$bytes_ten"

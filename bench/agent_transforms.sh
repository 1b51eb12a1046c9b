#!/usr/bin/env bash
# Benchmark: the transforms' cost. A backlog of JSON log lines (~200 bytes:
# level, user e-mail, client IP, path, status, latency) is tailed from the
# beginning into the lake, once as it is and once through
# parse(json) -> tokenize(user, ip) -> lake, in the same session, RUNS times
# each, alternating. Per run: records/s and MB/s of log end to end (until the
# sink acknowledged every record), records/s into the buffer (until every line
# was committed, through the transforms: the sink's last batch then still
# waits out its 1s max_age, longer on average for the transformed stream,
# whose batches fill by size sooner), agent CPU seconds per GiB of log, peak RSS,
# and MB the agent wrote to disk per GiB of log (buffer, WAL and lake: what
# wears a device's flash).
# The target (issue 10): the transforms cost at most 30% of the records/s.
#
# Usage: bench/agent_transforms.sh [LINES] [RUNS] (default 6000000 and 2:
# below ~5M lines the baseline's run is short enough that whether its last
# batch waits for the sink's max_age moves it by a third);
# needs a release build (bash scripts/build.sh release sluice). Prints a
# Markdown table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/release"
lines=${1:-6000000}
runs=${2:-2}
work=$(mktemp -d /tmp/sluice-bench-transforms-XXXXXX)
trap 'rm -rf "$work"' EXIT
tck=$(getconf CLK_TCK)
port=$(( 20000 + RANDOM % 20000 ))
source "$root/bench/agent_lib.sh"

echo "generating $lines JSON lines in $work" >&2
json_request_log "$lines" > "$work/app.log"
bytes=$(stat -c %s "$work/app.log")
openssl rand -hex 32 > "$work/key"

transforms="[transforms.parsed]
type = \"parse\"
inputs = [\"app\"]
format = \"json\"
[transforms.tokens]
type = \"tokenize\"
inputs = [\"parsed\"]
fields = [\"fields.user\", \"fields.ip\"]
key_file = \"$work/key\""

run() {  # $1 label, $2 tables, $3 inputs; prints a row
  agent_backlog_start "$work/run" "$work/app.log" "type = \"lake\"
path = \"$work/run/lake\"" "$2" "$3"
  agent_backlog_wait_stored "$lines"
  agent_backlog_wait "$lines"
  local secs=$agent_secs stored=$agent_stored_secs cpu=$agent_cpu peak=$agent_peak_kib written=$agent_written
  agent_backlog_stop
  local files; files=$(find "$work/run/lake" -name '*.jsonl.zst' | wc -l)
  local sample; sample=$(set +o pipefail; find "$work/run/lake" -name '*.jsonl.zst' | head -1 | xargs zstd -dcq 2>/dev/null | head -1)
  echo "sample $1: $sample" >&2
  printf '| %s | %.0f | %.0f | %.1f | %.2f | %.1f | %.0f | %s |\n' "$1" "$(echo "$lines / $secs" | bc -l)" \
    "$(echo "$lines / $stored" | bc -l)" \
    "$(echo "$bytes / $secs / 1000000" | bc -l)" \
    "$(echo "$cpu / $tck / ($bytes / 1073741824)" | bc -l)" "$(echo "$peak / 1024" | bc -l)" \
    "$(echo "$written / 1000000 / ($bytes / 1073741824)" | bc -l)" "$files"
}

echo "| pipeline | records/s | records/s into the buffer | MB/s of log | agent CPU s/GiB | peak RSS MiB | MB written/GiB | lake files |"
echo "|---|---|---|---|---|---|---|---|"
for r in $(seq "$runs"); do
  run "tail -> lake" "" "app"
  run "tail -> parse(json) -> tokenize(2 fields) -> lake" "$transforms" "tokens"
done

#!/usr/bin/env bash
# Study: zstd's hash table for the lake's streams. Lake records of four
# shapes are made by the agent itself (tail -> lake, decompressed again):
#   logs      this repo's benchmark JSON log (bench/agent_transforms.sh's), as read
#   tokens    the same through parse(json) -> tokenize(user, ip)
#   ordinary  the machine's dpkg, apt and alternatives logs and a package-lock.json
#   telemetry sensor readings (200 devices, random walks) through parse(json)
# and each is compressed as a stream is stored (sluice-zstd-frames: level 1,
# 1024-record frames as a transform worker makes them, then 50000-record ones
# as a source's own batch) with level 1's hash table (2^14) and with 2^13 and
# 2^12. Prints a Markdown table of MB/s and ratio.
#
# Usage: bench/zstd_hashlog.sh [LINES] (default 300000 per shape); needs
# bash scripts/build.sh release sluice sluice-zstd-frames.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/release"
lines=${1:-300000}
work=$(mktemp -d /tmp/sluice-bench-zstd-XXXXXX)
trap 'rm -rf "$work"' EXIT
port=$(( 20000 + RANDOM % 20000 ))
source "$root/bench/agent_lib.sh"

json_request_log "$lines" > "$work/app.log"
awk -v n="$lines" 'BEGIN {
  srand(1)
  for (i = 1; i <= n; i++) {
    d = int(rand() * 200)
    if (!(d in t)) { t[d] = 20; h[d] = 40; b[d] = 3.9; s[d] = 0 }
    t[d] += rand() * 0.2 - 0.1; h[d] += rand() * 0.6 - 0.3; b[d] -= rand() * 0.0001; s[d]++
    printf "{\"device\":\"dev-%d\",\"temp\":%.2f,\"humidity\":%.1f,\"battery\":%.3f,\"seq\":%d}\n", d, t[d], h[d], b[d], s[d]
  }
}' > "$work/telemetry.log"
: > "$work/ordinary.log"
for f in /var/log/dpkg.log /var/log/apt/term.log /var/log/apt/history.log /var/log/alternatives.log \
         "$root/tests/servers/package-lock.json"; do
  [ -r "$f" ] && cat "$f" >> "$work/ordinary.log"
done
openssl rand -hex 32 > "$work/key"

parse="[transforms.parsed]
type = \"parse\"
inputs = [\"app\"]
format = \"json\""
tokens="$parse
[transforms.tokens]
type = \"tokenize\"
inputs = [\"parsed\"]
fields = [\"fields.user\", \"fields.ip\"]
key_file = \"$work/key\""

records() {  # $1 name, $2 log, $3 tables, $4 input: the lake's records, decompressed
  agent_backlog_start "$work/run" "$2" "type = \"lake\"
path = \"$work/run/lake\"" "$3" "$4"
  agent_backlog_wait "$(wc -l < "$2")"
  agent_backlog_stop
  find "$work/run/lake" -name '*.jsonl.zst' | sort | xargs zstd -dcq > "$work/$1.jsonl"
}
records logs "$work/app.log" "" app
records tokens "$work/app.log" "$tokens" tokens
records ordinary "$work/ordinary.log" "" app
records telemetry "$work/telemetry.log" "$parse" parsed

echo "| records | frame (records) | level 1 (2^14) MB/s, ratio | 2^13 | 2^12 |"
echo "|---|---|---|---|---|"
for shape in logs tokens ordinary telemetry; do
  for frame in 1024 50000; do
    row="| $shape ($(wc -l < "$work/$shape.jsonl") records, $(( $(stat -c %s "$work/$shape.jsonl") / 1000000 )) MB) | $frame |"
    for h in 0 13 12; do
      r=$("$bin/bench/sluice-zstd-frames" --frame-records "$frame" --hash-log "$h" "$work/$shape.jsonl")
      row="$row $(echo "$r" | awk '{print $1, "MB/s,", $3}' | tr -d '(') |"
    done
    echo "$row"
  done
done

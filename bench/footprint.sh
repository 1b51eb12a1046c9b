#!/usr/bin/env bash
# The agent's footprint on a device, measured on what the Debian package
# ships: the stripped binary's size, the shared libraries it links, and the
# resident memory and CPU of the agent tailing one idle file into a lake
# (with the metrics endpoint on, as /etc/sluice/agent.toml has it) for
# DURATION seconds (default 60), with the environment sluice-agent.service
# sets. Targets (issue 11): binary <= 8 MiB
# stripped, idle RSS <= 8 MiB, idle CPU < 0.5 %.
# Usage: bench/footprint.sh [DURATION]; SLUICE_BIN=path skips the build.
# Prints a Markdown report; exit 1 when a target is missed.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-60}"
if [ -z "${SLUICE_BIN:-}" ]; then
  deb="$(bash packaging/build-deb.sh amd64 2>/dev/null)"
  unpacked="$(mktemp -d)"
  dpkg-deb -x "$deb" "$unpacked"
  SLUICE_BIN="$unpacked/usr/bin/sluice"
fi
work="$(mktemp -d)"
trap 'kill "$agent" 2>/dev/null || true; rm -rf "$work" ${unpacked:+"$unpacked"}' EXIT

stripped="$work/sluice.stripped"
strip -o "$stripped" "$SLUICE_BIN"
size=$(stat -c %s "$stripped")
libs=$(ldd "$SLUICE_BIN" | awk '$1 !~ /^linux-vdso/ {print $1}')
direct=$(readelf -d "$SLUICE_BIN" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/logs"
echo "one line before the start" >"$work/logs/app.log"
cat >"$work/agent.toml" <<TOML
[agent]
data_dir = "$work/state"
metrics = "127.0.0.1:$port"
[sources.app]
type = "tail"
paths = ["$work/logs/app.log"]
[sinks.lake]
type = "lake"
inputs = ["app"]
path = "$work/lake"
TOML
# The environment sluice-agent.service gives the agent.
unit_env=$(sed -n 's/^Environment=//p' packaging/systemd/sluice-agent.service)
env $unit_env "$SLUICE_BIN" agent --config "$work/agent.toml" 2>"$work/agent.log" &
agent=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
sleep 5  # past start-up: the first line is read, committed and delivered

ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$agent/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$agent/status"; }
cpu0=$(cpu)
t0=$(date +%s.%N)
max_rss=0
for _ in $(seq "$duration"); do
  r=$(rss_kib)
  [ "$r" -gt "$max_rss" ] && max_rss=$r
  sleep 1
done
cpu1=$(cpu)
t1=$(date +%s.%N)
threads=$(awk '/^Threads/ {print $2}' "/proc/$agent/status")
rollup="$(cat "/proc/$agent/smaps_rollup")"
# RSS per mapping (the binary, each library, the heap, stacks, anonymous).
per_mapping="$(awk '
  /^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6) ? $6 : "[anonymous]" }
  /^Rss:/ { rss[name] += $2 }
  END { for (n in rss) if (rss[n] > 0) printf "%d %s\n", rss[n], n }' "/proc/$agent/smaps" | sort -rn)"
kill -TERM "$agent"
wait "$agent" || true

cpu_pct=$(echo "scale=3; ($cpu1 - $cpu0) * 100 / $ticks / ($t1 - $t0)" | bc -l)
mib() { echo "scale=2; $1 / 1048576" | bc -l; }
kib_mib() { echo "scale=2; $1 / 1024" | bc -l; }
field() { awk -v k="$1:" '$1 == k {print $2}' <<<"$rollup"; }
anon=$(field Anonymous)
file_rss=$(( $(field Rss) - anon ))
# Each verdict is computed here, not in the report's $(...) (a subshell).
missed=0
verdict() { if [ "$(echo "$1" | bc -l)" = 1 ]; then echo "met"; else echo "**missed**"; fi; }
v_size=$(verdict "$size <= 8 * 1048576")
v_rss=$(verdict "$max_rss <= 8 * 1024")
v_cpu=$(verdict "$cpu_pct < 0.5")
for v in "$v_size" "$v_rss" "$v_cpu"; do [ "$v" = met ] || missed=1; done

cat <<REPORT
### Footprint ($(date -u +%Y-%m-%d), $(uname -m), $(nproc) cores; \`bench/footprint.sh $duration\`)

| measure | value | target | |
|---|---|---|---|
| stripped binary | $(mib "$size") MiB ($size bytes) | <= 8 MiB | $v_size |
| idle RSS, peak over ${duration} s | $(kib_mib "$max_rss") MiB | <= 8 MiB | $v_rss |
| idle CPU over ${duration} s | ${cpu_pct} % | < 0.5 % | $v_cpu |
| threads | $threads | | |
| RSS: anonymous (heap, stacks) / file-backed (code) | $(kib_mib "$anon") / $(kib_mib "$file_rss") MiB | | |
| PSS (shared pages divided among their users) | $(kib_mib "$(field Pss)") MiB | | |
| private dirty (what only the agent holds and the kernel cannot drop) | $(kib_mib "$(field Private_Dirty)") MiB | | |
| clean file pages (page cache the kernel can drop and read again) | $(kib_mib "$(( $(field Shared_Clean) + $(field Private_Clean) ))") MiB | | |

Shared libraries linked directly ($(wc -l <<<"$direct")): $(tr '\n' ' ' <<<"$direct")

All libraries loaded ($(wc -l <<<"$libs")): $(tr '\n' ' ' <<<"$libs")

Largest resident mappings (KiB):
\`\`\`
$(head -15 <<<"$per_mapping")
\`\`\`
REPORT
[ "$missed" = 0 ]

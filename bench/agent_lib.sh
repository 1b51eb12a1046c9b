# Shared by the agent benchmarks (sourced): one `sluice agent` shipping a
# tailed backlog to one sink, measured end to end. Needs $bin (the release
# build) and $port (the agent's metrics port).
#   now                      -> seconds since the epoch, with nanoseconds
#   cpu_ticks PID, hwm_kib PID
#   metric NAME              -> the sum of a metric's series on the agent's /metrics
#   agent_backlog_start DIR LOG SINK_TOML
#                            -> starts the agent on LOG (from the beginning) with the
#                               sink [sinks.out] = SINK_TOML; sets agent_pid and agent_t0
#   agent_backlog_wait LINES -> waits until the sink acknowledged LINES records; sets
#                               agent_secs, agent_cpu (ticks) and agent_peak_kib
#   agent_backlog_stop       -> SIGTERM and wait
now() { date +%s.%N; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 ~ "^"m {s += $2} END {printf "%.0f", s + 0}'; }

agent_backlog_start() {
  local d=$1 log=$2 sink=$3
  rm -rf "$d"; mkdir -p "$d"
  cat > "$d/agent.toml" <<TOML
[agent]
data_dir = "$d/state"
buffer_max = "4GiB"
metrics = "127.0.0.1:$port"
[sources.app]
type = "tail"
paths = ["$log"]
start_at = "beginning"
[sinks.out]
inputs = ["app"]
batch.max_age = "1s"
batch.max_bytes = "16MiB"
$sink
TOML
  sync; sleep 2
  agent_log="$d/agent.log"
  agent_t0=$(now)
  "$bin/app/sluice" agent --config "$d/agent.toml" 2> "$agent_log" &
  agent_pid=$!
  until curl -s -o /dev/null "http://127.0.0.1:$port/healthz"; do sleep 0.05; done
}

agent_backlog_wait() {
  while [ "$(metric sluice_sink_records_total)" -lt "$1" ]; do
    kill -0 "$agent_pid" 2>/dev/null || { echo "agent exited" >&2; tail -20 "$agent_log" >&2; exit 1; }
    sleep 0.2
  done
  local t1; t1=$(now)
  agent_secs=$(echo "$t1 - $agent_t0" | bc -l)
  agent_cpu=$(cpu_ticks "$agent_pid")
  agent_peak_kib=$(hwm_kib "$agent_pid")
}

agent_backlog_stop() { kill -TERM "$agent_pid"; wait "$agent_pid"; }

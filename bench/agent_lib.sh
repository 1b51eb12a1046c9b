# Shared by the agent benchmarks (sourced): timing, a process's CPU and peak
# RSS, the agent's metrics, starting the agent and a mosquitto, and waiting
# for a sink. Uses the caller's $bin (the release build), $work (scratch
# directory) and $port (the agent's metrics port).
now() { date +%s.%N; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
# Bytes a process sent to storage so far (buffered writes count when made).
written_bytes() { awk '/^write_bytes/ {print $2}' "/proc/$1/io"; }
# The sum of a metric's series on the running agent (0 when absent).
metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 ~ "^"m {s += $2} END {printf "%.0f", s + 0}'; }

# Starts a mosquitto on 127.0.0.1:$1 (no persistence, no queue limit) and
# waits until it accepts connections; sets broker_pid.
start_mosquitto() {
  cat > "$work/mosquitto.conf" <<CONF
listener $1 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 0
$( [ "$(id -u)" = 0 ] && echo "user root" )
CONF
  mosquitto -c "$work/mosquitto.conf" > "$work/mosquitto.log" 2>&1 &
  broker_pid=$!
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.05; done
  echo "mosquitto did not start" >&2; exit 1
}

# Starts `sluice agent --config $1` (stderr to $2) and waits until its
# metrics endpoint answers; sets agent_pid.
start_agent() {
  "$bin/app/sluice" agent --config "$1" 2> "$2" &
  agent_pid=$!
  until curl -s -o /dev/null "http://127.0.0.1:$port/healthz"; do sleep 0.05; done
}

# Waits until the agent's sinks delivered $1 records; exits when the agent
# dies meanwhile (its log is $2).
wait_sink_records() {
  while [ "$(metric sluice_sink_records_total)" -lt "$1" ]; do
    kill -0 "$agent_pid" 2>/dev/null || { echo "agent exited" >&2; tail -20 "$2" >&2; exit 1; }
    sleep 0.2
  done
}

# A backlog run: the agent tails $2 from its beginning into one sink,
# [sinks.out] = $3 (TOML lines), in the scratch directory $1. Optional: $4
# more tables (transforms), $5 the sink's inputs (default "app").
#   agent_backlog_start DIR LOG SINK_TOML [TABLES] [INPUTS] -> starts it; sets agent_pid, agent_t0, agent_log
#   agent_backlog_wait LINES               -> waits until the sink acknowledged LINES records;
#                                             sets agent_secs, agent_cpu (ticks), agent_peak_kib,
#                                             agent_written (bytes written to disk: buffer and sink)
#   agent_backlog_stop                     -> SIGTERM and wait
agent_backlog_start() {
  local d=$1 log=$2 sink=$3 tables=${4:-} inputs=${5:-app}
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
$tables
[sinks.out]
inputs = ["$inputs"]
batch.max_age = "1s"
batch.max_bytes = "16MiB"
$sink
TOML
  sync; sleep 2
  agent_log="$d/agent.log"
  agent_t0=$(now)
  start_agent "$d/agent.toml" "$agent_log"
}

agent_backlog_wait() {
  wait_sink_records "$1" "$agent_log"
  local t1; t1=$(now)
  agent_secs=$(echo "$t1 - $agent_t0" | bc -l)
  agent_cpu=$(cpu_ticks "$agent_pid")
  agent_peak_kib=$(hwm_kib "$agent_pid")
  agent_written=$(written_bytes "$agent_pid")
}

# Until every line of the tailed file is committed to the buffer (its
# records through the transforms and stored), before the sink has shipped
# them all: sets agent_stored_secs. The sink's last batch then still waits
# out its max_age (1s), which this time leaves out.
agent_backlog_wait_stored() {
  local m
  while :; do
    m=$(curl -s "http://127.0.0.1:$port/metrics" | awk '
      $1 ~ /^sluice_source_records_total/ {r += $2}
      $1 ~ /^sluice_tail_bytes_behind/ {b += $2; seen = 1}
      END {printf "%.0f %d %.0f", r + 0, seen, b + 0}')
    set -- "$1" $m
    [ "$2" -ge "$1" ] && [ "$3" = 1 ] && [ "$4" = 0 ] && break
    kill -0 "$agent_pid" 2>/dev/null || { echo "agent exited" >&2; tail -20 "$agent_log" >&2; exit 1; }
    sleep 0.1  # each poll is a curl: more often would take CPU from the agent
  done
  agent_stored_secs=$(echo "$(now) - $agent_t0" | bc -l)
}

agent_backlog_stop() { kill -TERM "$agent_pid"; wait "$agent_pid"; }

# json_request_log N: N JSON log lines of ~200 bytes (level, user e-mail of
# 5000, client IP, path, status, latency), the transforms' benchmark input.
json_request_log() {
  awk -v n="$1" 'BEGIN {
  for (i = 1; i <= n; i++) {
    printf "{\"ts\":\"2026-11-22T10:%02d:%02d.%03dZ\",\"level\":\"%s\",\"user\":\"user-%d@example.com\",\"ip\":\"10.%d.%d.%d\",\"path\":\"/api/v1/items/%d\",\"status\":%d,\"latency_ms\":%d.%d,\"msg\":\"request served\"}\n",
      (i / 60000) % 60, (i / 1000) % 60, i % 1000, (i % 10 ? "info" : "warn"), i % 5000, i % 256, (i / 256) % 256, i % 7,
      i, (i % 50 ? 200 : 503), i % 300, i % 10
  }
}'
}

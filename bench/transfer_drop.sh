#!/usr/bin/env bash
# Benchmark: SFTP drop ingestion (`sluice transfer drop --once`) against the
# naive peer, a cron script running an OpenSSH `sftp -b` batch that does
# `get FILE` then `rm FILE` for every file. Both run against the same loopback
# sshd (internal-sftp) in the same run.
#
#   - N_SMALL (default 10000) files of 16 KiB: files/s;
#   - LARGE_FILES (default 4) files totalling LARGE_MB (default 1024) MiB: MB/s.
#
# Sluice does the whole pipeline for every file: list (twice: a file must be
# seen unchanged in two listings), copy to a temporary name, verify by reading
# the landed file back (SHA-256), rename into raw/bench/dt=DATE/, fsync,
# ledger (SQLite) and landed.jsonl, then move the source to ../processed on the
# server. Config: transfers = 4, batch = 256, stable_for = "0s" (the files
# exist before the run starts), poll = "100ms"; everything else default. The
# peer neither hashes, fsyncs nor keeps a record; it uses
# -c aes128-gcm@openssh.com as in transfer_sftp.sh (Sluice's client negotiates
# the same cipher with this sshd). Sluice's time includes its start, the SSH
# handshakes of its source connections (4 by default) and the second listing,
# the peer's its ssh start and one handshake: small runs (the smoke run)
# mostly measure that fixed cost.
#
# Before every run, untimed: the inbox is recreated from a pristine local copy
# (cp -a, so the files keep old mtimes), and the lake, ledger and download
# directory are removed (a fresh ledger: with the same one, the re-created
# files would be recognised as already landed). The page cache is warm for
# both alike. Each figure is the median of RUNS (default 3) runs; every run is
# checked (counts, inbox emptied, processed/ filled, SHA-256 of a sample,
# nothing left over in the lake) and the bench stops on the first failure.
#
# Usage: [N_SMALL=10000] [LARGE_MB=1024] [LARGE_FILES=4] [RUNS=3] [KEEP=0] [LOG_LEVEL=info] \
#          bench/transfer_drop.sh
# Smoke run (~25 s on 2 cores): N_SMALL=200 LARGE_MB=64 bash bench/transfer_drop.sh
# Needs a release build (scripts/build.sh release sluice), openssh-server,
# openssh-client, bc and GNU time. Prints a Markdown table. KEEP=1 keeps the
# work directory (logs, lake, ledger) for inspection; LOG_LEVEL=debug makes
# sluice's logs (in the work directory) more verbose.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sluice="$root/build/release/app/sluice"
n_small=${N_SMALL:-10000}
large_mb=${LARGE_MB:-1024}
large_files=${LARGE_FILES:-4}
runs=${RUNS:-3}
keep=${KEEP:-0}
small_bytes=16384
[ -x "$sluice" ] || { echo "no $sluice: run scripts/build.sh release sluice first" >&2; exit 1; }
(( n_small > 0 && large_mb > 0 && large_files > 0 && runs > 0 )) || { echo "bad N_SMALL/LARGE_MB/LARGE_FILES/RUNS" >&2; exit 1; }
large_each_bytes=$(( (large_mb << 20) / large_files ))

work=$(mktemp -d /tmp/sluice-bench-drop-XXXXXX)
sshd_pid=""
cleanup() {
  local rc=$?
  if [ -n "$sshd_pid" ]; then
    kill "$sshd_pid" 2>/dev/null || true
    wait "$sshd_pid" 2>/dev/null || true
  fi
  if [ "$keep" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
die() {
  echo "FAILED: $*" >&2
  exit 1
}

cipher=aes128-gcm@openssh.com
mkdir -p "$work/remote" "$work/logs"
# shellcheck source=bench/loopback_sshd.sh
source "$(dirname "$0")/loopback_sshd.sh"
ssh_opts=(-o "UserKnownHostsFile=$kh" -o StrictHostKeyChecking=yes -o BatchMode=yes -i "$key" -c "$cipher")

# --- data: pristine local copies, copied into the inbox before every run ---
R="$work/remote"
inbox="$R/inbox"
processed="$R/processed"
lake="$work/lake"
state="$work/state"
down="$work/down"
mkdir -p "$work/pristine/small" "$work/pristine/large"
# One stream cut into 16 KiB files: much faster than a process per file.
head -c "$(( n_small * small_bytes ))" /dev/urandom |
  split -b "$small_bytes" -a 6 -d --additional-suffix=.bin - "$work/pristine/small/f"
for i in $(seq 1 "$large_files"); do
  head -c "$large_each_bytes" /dev/urandom > "$work/pristine/large/big$i.bin"
done
[ "$(find "$work/pristine/small" -type f | wc -l)" -eq "$n_small" ] || die "generating the small files"

# The naive peer's batch: one get + rm per file, in listing order.
write_batch() {  # $1 = pristine dir, $2 = batch file
  local f
  for f in $(cd "$1" && ls); do
    printf 'get %s %s\nrm %s\n' "$inbox/$f" "$down/$f" "$inbox/$f"
  done > "$2"
}
write_batch "$work/pristine/small" "$work/batch.small"
write_batch "$work/pristine/large" "$work/batch.large"

cat > "$work/drop.toml" <<CONF
[drop]
data_dir = "$state"
log_level = "${LOG_LEVEL:-info}"
[drops.bench]
source = "sftp://$user@127.0.0.1:$port$inbox"
known_hosts = "$kh"
ssh_key = "$key"
destination = "$lake"
poll = "100ms"
stable_for = "0s"
after = "move"
transfers = 4
batch = 256
CONF
"$sluice" transfer drop --config "$work/drop.toml" --check > "$work/logs/check.txt" 2>&1 ||
  { cat "$work/logs/check.txt" >&2; die "sluice transfer drop --check rejected the config"; }

# --- one run of each tool, with its untimed setup and its checks ---
reset_inbox() {  # $1 = pristine dir
  rm -rf "$inbox" "$processed" "$lake" "$state" "$down"
  cp -a "$1" "$inbox"
}
now() { date +%s.%N; }
# A sample of names to hash: first, last and a few in between.
sample_names() {  # $1 = pristine dir
  local all n
  mapfile -t all < <(cd "$1" && ls)
  n=${#all[@]}
  printf '%s\n' "${all[0]}" "${all[n / 4]}" "${all[n / 2]}" "${all[3 * n / 4]}" "${all[n - 1]}" | sort -u
}

last_t="" last_rss=""
sluice_run() {  # $1 = pristine dir, $2 = label for the logs
  local src=$1 log="$work/logs/sluice-$2.log" tv="$work/logs/sluice-$2.time" s e rc=0
  reset_inbox "$src"
  local n
  n=$(find "$src" -type f | wc -l)
  s=$(now)
  /usr/bin/time -v -o "$tv" "$sluice" transfer drop --config "$work/drop.toml" --once > "$log" 2>&1 || rc=$?
  e=$(now)
  if [ "$rc" -ne 0 ]; then tail -n 30 "$log" >&2; die "sluice exited with $rc ($2)"; fi
  last_t=$(echo "$e - $s" | bc -l)
  last_rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$tv")
  # Checks: every file landed once, nothing else in the lake, the inbox
  # emptied, every source in processed/, every file in the landed log.
  local landed all left moved lines logged f got want
  landed=$(find "$lake/raw/bench" -path '*/dt=*/*' -type f 2>/dev/null | wc -l)
  all=$(find "$lake" -type f 2>/dev/null | wc -l)
  left=$(find "$inbox" -mindepth 1 2>/dev/null | wc -l)
  moved=$(find "$processed" -type f 2>/dev/null | wc -l)
  lines=$(wc -l < "$state/landed.jsonl" 2>/dev/null || echo 0)
  logged=$(grep -o '"path":"[^"]*"' "$state/landed.jsonl" 2>/dev/null | sort -u | wc -l)
  [ "$landed" -eq "$n" ] || die "sluice ($2): $landed files landed, $n created"
  [ "$all" -eq "$n" ] || die "sluice ($2): $all files in the lake for $n landed: $(find "$lake" -type f | grep -v '/dt=' | head -5)"
  [ "$left" -eq 0 ] || die "sluice ($2): $left entries left in the inbox: $(ls -A "$inbox" | head -5)"
  [ "$moved" -eq "$n" ] || die "sluice ($2): $moved files in processed/, $n expected"
  [ "$logged" -eq "$n" ] || die "sluice ($2): $logged files in landed.jsonl, $n expected"
  # A line per file is the contract; more is a bug worth reporting, not a
  # reason to lose the timing.
  [ "$lines" -eq "$n" ] || echo "note: sluice ($2): $lines lines in landed.jsonl for $n files" >&2
  for f in $(sample_names "$src"); do
    got=$(find "$lake/raw/bench" -path "*/dt=*/$f" -type f -exec sha256sum {} + | cut -d' ' -f1)
    want=$(sha256sum "$src/$f" | cut -d' ' -f1)
    [ "$got" = "$want" ] || die "sluice ($2): $f: landed SHA-256 '$got', source $want"
  done
  # Anything sluice logged above info is worth a look.
  if grep -qiE '\b(warn|warning|error|critical)\b' "$log"; then
    echo "note: sluice ($2) logged warnings/errors:" >&2
    grep -iE '\b(warn|warning|error|critical)\b' "$log" | head -5 >&2
  fi
}

sftp_run() {  # $1 = pristine dir, $2 = batch file, $3 = label
  local src=$1 s e rc=0 n got left f
  reset_inbox "$src"
  mkdir -p "$down"
  n=$(find "$src" -type f | wc -l)
  s=$(now)
  sftp -q "${ssh_opts[@]}" -P "$port" -b "$2" "$user@127.0.0.1" > "$work/logs/sftp-$3.log" 2>&1 || rc=$?
  e=$(now)
  if [ "$rc" -ne 0 ]; then tail -n 30 "$work/logs/sftp-$3.log" >&2; die "sftp exited with $rc ($3)"; fi
  last_t=$(echo "$e - $s" | bc -l)
  last_rss=""
  got=$(find "$down" -type f | wc -l)
  left=$(find "$inbox" -mindepth 1 | wc -l)
  [ "$got" -eq "$n" ] || die "sftp ($3): $got files fetched, $n created"
  [ "$left" -eq 0 ] || die "sftp ($3): $left entries left in the inbox"
  for f in $(sample_names "$src"); do
    cmp -s "$down/$f" "$src/$f" || die "sftp ($3): $f differs"
  done
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
max() { printf '%s\n' "$@" | sort -n | tail -1; }
row() { printf '| %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4" "$5"; }

# $1 = tool (sluice|sftp), $2 = pristine dir, $3 = case label; sets med_t, peak_rss
measure() {
  local tool=$1 src=$2 label=$3 ts=() rss=() i
  for i in $(seq "$runs"); do
    if [ "$tool" = sluice ]; then
      sluice_run "$src" "$label-$i"
      rss+=("$last_rss")
    else
      sftp_run "$src" "$work/batch.$label" "$label-$i"
    fi
    ts+=("$last_t")
  done
  med_t=$(median "${ts[@]}")
  peak_rss=$([ "${#rss[@]}" -gt 0 ] && max "${rss[@]}" || echo "")
}

small_total=$(( n_small * small_bytes ))
large_total=$(( large_each_bytes * large_files ))
fps() { echo "scale=0; $n_small / $1" | bc -l; }
mbps() { echo "scale=1; $2 / $1 / 1000000" | bc -l; }
secs() { printf '%.2f' "$1"; }

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain 2>/dev/null | grep -q . && echo "+dirty" || true)
echo "N_SMALL=$n_small LARGE_MB=$large_mb LARGE_FILES=$large_files RUNS=$runs bash bench/transfer_drop.sh"
echo "($(date -u +%F), $(nproc) cores, commit $commit$dirty; median of $runs run(s); sluice: transfers 4, batch 256, verify readback)"
echo
echo "| case | tool | result | seconds | sluice peak RSS MiB |"
echo "|---|---|---|---|---|"
small_case="$n_small × 16 KiB"
large_case="$large_files × $(( large_each_bytes >> 20 )) MiB"

measure sluice "$work/pristine/small" small; s_small=$med_t
row "$small_case" "sluice transfer drop --once" "$(fps "$med_t") files/s" "$(secs "$med_t")" "$peak_rss"
measure sftp "$work/pristine/small" small; o_small=$med_t
row "$small_case" "sftp -b get+rm" "$(fps "$med_t") files/s" "$(secs "$med_t")" ""
measure sluice "$work/pristine/large" large; s_large=$med_t
row "$large_case" "sluice transfer drop --once" "$(mbps "$med_t" "$large_total") MB/s" "$(secs "$med_t")" "$peak_rss"
measure sftp "$work/pristine/large" large; o_large=$med_t
row "$large_case" "sftp -b get+rm" "$(mbps "$med_t" "$large_total") MB/s" "$(secs "$med_t")" ""

ratio() { printf "%.2f" "$(echo "$2 / $1" | bc -l)"; }
echo
echo "Ratios (sluice speed / sftp -b speed): small files $(ratio "$s_small" "$o_small")×, large files $(ratio "$s_large" "$o_large")×." \
  "(small-file payload $(( small_total >> 20 )) MiB)"
echo

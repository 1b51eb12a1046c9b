#!/usr/bin/env bash
# A/B of `sluice appliance export` builds on small files: each round runs
# every given binary once and `tar | zstd` once, in turn, on the same tree
# (FILES files of 4 KiB in 100 directories), each after `sync` and with the
# source read once (warm, as bench/appliance.sh does). On this VM the speed
# of the whole machine drifts by 20-30% within minutes, so builds compared
# in separate runs of bench/appliance.sh can differ by more than a change
# does; interleaved rounds see the same drift. Prints each run, then the
# median seconds and files/s per binary, and tar | zstd's as the yardstick.
#
# Usage: bench/appliance_ab.sh ROUNDS FILES SLUICE_BINARY...
#   e.g. git worktree add /tmp/old <commit> && (cd /tmp/old && bash scripts/build.sh release sluice)
#        bash bench/appliance_ab.sh 5 100000 /tmp/old/build/release/app/sluice build/release/app/sluice
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 ROUNDS FILES SLUICE_BINARY..." >&2
  exit 2
fi
rounds=$1 files=$2
shift 2
for b in "$@"; do
  [ -x "$b" ] || { echo "$b: not an executable" >&2; exit 2; }
done
work=$(mktemp -d /tmp/sluice-bench-ab-XXXXXX)
trap 'rm -rf "$work"' EXIT
# shellcheck source=bench/bench_lib.sh
source "$(dirname "$0")/bench_lib.sh"
make_small_files "$work/small" "$files"
"$1" appliance keygen --out "$work/keys" >/dev/null 2>&1

prepare() {
  rm -rf "${work:?}/dev" "$work/out.tar.zst"
  sync
  find "$work/small" -type f -exec cat {} + >/dev/null
}
timed() {  # prints the wall seconds of "$@"
  local s e
  s=$(date +%s.%N)
  if ! "$@" >/dev/null 2>&1; then echo "failed: $*" >&2; exit 1; fi
  e=$(date +%s.%N)
  echo "$e - $s" | bc -l
}
tar_zstd() { tar -C "$work/small" -cf - . | zstd -q -o "$work/out.tar.zst"; }

declare -A times
labels=()
for k in $(seq $#); do labels+=("$k: ${!k}"); done
labels+=("tar | zstd")
for r in $(seq "$rounds"); do
  k=0
  for b in "$@"; do
    k=$((k + 1))
    prepare
    secs=$(timed "$b" appliance export "$work/small" "$work/dev" --sign-key "$work/keys/sign.key" --progress=none)
    times[$k]+="$secs "
    printf 'round %s  %-60s %.2f s\n' "$r" "${labels[$((k - 1))]}" "$secs" >&2
  done
  prepare
  secs=$(timed tar_zstd)
  times[tar]+="$secs "
  printf 'round %s  %-60s %.2f s\n' "$r" "tar | zstd" "$secs" >&2
done
median_of() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
runs() { for t in $1; do printf '%.2f ' "$t"; done; }
echo "| build | median seconds | files/s | runs |"
echo "|---|---|---|---|"
k=0
for b in "$@"; do
  k=$((k + 1))
  m=$(echo "${times[$k]}" | median_of)
  printf '| %s | %.2f | %.0f | %s|\n' "${labels[$((k - 1))]}" "$m" "$(echo "$files / $m" | bc -l)" "$(runs "${times[$k]}")"
done
m=$(echo "${times[tar]}" | median_of)
printf '| tar \\| zstd | %.2f | %.0f | %s|\n' "$m" "$(echo "$files / $m" | bc -l)" "$(runs "${times[tar]}")"

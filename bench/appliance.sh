#!/usr/bin/env bash
# Benchmark: `sluice appliance export` and `verify` against the obvious
# alternatives, in the same run, on the same data:
#   - large: LARGE_MIB (default 1024) MiB as 4 files of random bytes;
#   - small: FILES (default 100000) files of 4 KiB of random bytes, 100 directories.
# For each: sluice appliance export (signed; SHA-256 + CRC-64/NVME of every
# file, tar bundles + zstd for the small files, every object fsynced, manifest)
# vs `cp -r` then `sha256sum` of every copied file, vs `tar | zstd` (no hashes),
# vs `rsync -a` (no hashes kept); and sluice appliance verify vs `sha256sum -c`
# over the copy. Each figure is the median of RUNS (default 3) runs; outputs are
# removed between runs and `sync` waits for the disk before each run (a peer
# that does not fsync leaves its writes to the kernel, which would otherwise
# write them back during the next tool's run). Before each run the source
# (or, for the verifiers, what they read) is read once so that the page cache
# is warm for every tool alike (this VM's memory reclaim, DAMON, evicts cold
# pages within a minute); COLD=1 instead drops the page cache before each run
# (root only), as for a source far larger than memory.
#
# Usage: bench/appliance.sh [LARGE_MIB] [FILES]; needs a release build
# (scripts/build.sh release sluice), rsync and zstd. Prints a Markdown table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sluice="$root/build/release/app/sluice"
large_mib=${1:-1024}
files=${2:-100000}
runs=${RUNS:-3}
if [ "${COLD:-0}" = 1 ] && [ ! -w /proc/sys/vm/drop_caches ]; then
  echo "COLD=1 needs root (it writes /proc/sys/vm/drop_caches)" >&2
  exit 2
fi
work=$(mktemp -d /tmp/sluice-bench-appliance-XXXXXX)
trap 'rm -rf "$work"' EXIT
# shellcheck source=bench/bench_lib.sh
source "$(dirname "$0")/bench_lib.sh"

mkdir -p "$work/large" "$work/small"
for i in 1 2 3 4; do head -c "$(( (large_mib << 20) / 4 ))" /dev/urandom > "$work/large/f$i.bin"; done
make_small_files "$work/small" "$files"
"$sluice" appliance keygen --out "$work/keys" 2>/dev/null
sync

# Untimed, before each run: the disk idle, and what the tool reads either in
# the page cache (read once) or not (COLD=1).
prepare() {
  sync
  if [ "${COLD:-0}" = 1 ]; then
    echo 3 > /proc/sys/vm/drop_caches
  else
    find "$@" -type f -exec cat {} + > /dev/null
  fi
}
hash_copy() { cp -r "$1" "$2" && (cd "$2" && find . -type f -print0 | xargs -0 sha256sum > "$3"); }
tar_zstd() { tar -C "$1" -cf - . | zstd -q -o "$2"; }

echo "| data | tool | seconds | MB/s | files/s | Sluice is ×faster |"
echo "|---|---|---|---|---|---|"
for set in large small; do
  src="$work/$set"
  n=$(find "$src" -type f | wc -l)
  bytes=$(du -sb --apparent-size "$src" | cut -f1)
  row() {
    local what=$1 secs=$2 ref=$3
    printf '| %s | %s | %.2f | %.0f | %.0f | %.2f |\n' "$set" "$what" "$secs" \
      "$(echo "$bytes / 1000000 / $secs" | bc -l)" "$(echo "$n / $secs" | bc -l)" "$(echo "$secs / $ref" | bc -l)"
  }
  t_sl=$(median "rm -rf $work/dev; prepare $src" "$sluice" appliance export "$src" "$work/dev" --sign-key "$work/keys/sign.key" --progress=none)
  row "sluice appliance export" "$t_sl" "$t_sl"
  t=$(median "rm -rf $work/cp $work/sums; prepare $src" hash_copy "$src" "$work/cp" "$work/sums")
  row "cp -r + sha256sum" "$t" "$t_sl"
  t=$(median "rm -f $work/out.tar.zst; prepare $src" tar_zstd "$src" "$work/out.tar.zst")
  row "tar \| zstd" "$t" "$t_sl"
  t=$(median "rm -rf $work/rsync; prepare $src" rsync -a "$src/" "$work/rsync/")
  row "rsync -a" "$t" "$t_sl"
  # verify: the device and the copy made above are both in place.
  t_v=$(median "prepare $work/dev" "$sluice" appliance verify "$work/dev" --public-key "$work/keys/sign.pub" --progress=none)
  row "sluice appliance verify" "$t_v" "$t_v"
  t=$(median "prepare $work/cp" bash -c "cd $work/cp && sha256sum --quiet -c $work/sums")
  row "sha256sum -c" "$t" "$t_v"
  rm -rf "$work/dev" "$work/cp" "$work/sums" "$work/out.tar.zst" "$work/rsync"
done

# Shared by the transfer benchmarks (sourced): test data and timing.
#   make_data SIZE_MIB FILES DIR  -> DIR/src1/big.bin and DIR/srcN/d0..d9/f* (16 KiB each)
#   make_small_files DIR FILES    -> FILES files of 4 KiB of random bytes in DIR/d000..d099 (the appliance's)
#   median SETUP CMD...           -> the median wall time in seconds of RUNS runs of CMD,
#                                    SETUP (a shell string) evaluated before each
make_data() {
  local size_mib=$1 files=$2 dir=$3
  mkdir -p "$dir/src1" "$dir/srcN"
  head -c "$(( size_mib << 20 ))" /dev/urandom > "$dir/src1/big.bin"
  for d in $(seq 0 9); do
    mkdir -p "$dir/srcN/d$d"
    for i in $(seq 1 $(( files / 10 ))); do head -c 16384 /dev/urandom > "$dir/srcN/d$d/f$i"; done
  done
}

make_small_files() {
  python3 - "$1" "$2" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = f"{root}/d{i % 100:03}"
    if i < 100: os.makedirs(d)
    with open(f"{d}/f{i:07}", "wb") as f: f.write(os.urandom(4096))
PY
}

median() {
  local setup=$1; shift
  local t=()
  for _ in $(seq "${runs:-3}"); do
    eval "$setup"
    local s e
    s=$(date +%s.%N)
    # A tool that fails must not pass for a fast one.
    if ! "$@" >/dev/null; then echo "benchmark command failed: $*" >&2; exit 1; fi
    e=$(date +%s.%N)
    t+=("$(echo "$e - $s" | bc -l)")
  done
  printf '%s\n' "${t[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

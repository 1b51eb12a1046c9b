#!/usr/bin/env bash
# Installs what is needed, builds, and runs the whole test suite:
#   1. release build: every test (unit, integration);
#   2. asan build (AddressSanitizer + UndefinedBehaviorSanitizer): unit and integration tests.
# Set SLUICE_SKIP_ASAN=1 to run only the first part.
#
# The ASan build compiles at the lowest CPU priority while the release tests
# run: those tests spend much of their time waiting on servers, disks and
# timers, and that idle CPU is most of a 2-core machine's ASan build. At nice
# 19 (for its processes and its scheduler autogroup) the compiler gets a core
# only when the tests leave it idle, so the tests see the machine as before.
set -euo pipefail
cd "$(dirname "$0")/.."

# Where the suite's time goes, for keeping it within CI's budget: each phase's
# wall time and the machine's busy CPU seconds meanwhile (all processes).
suite_start=$SECONDS
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
last_mark=$SECONDS
last_busy=$(busy_ticks)
mark() {
  local now=$SECONDS busy; busy=$(busy_ticks)
  echo "[suite] $1: $((now - last_mark)) s wall, $(( (busy - last_busy) / $(getconf CLK_TCK) )) CPU-s busy; $((now - suite_start)) s so far"
  last_mark=$now
  last_busy=$busy
}

bash scripts/setup.sh
mark "setup"
# Only what the suite runs: the benchmark tools are a minute of compiling.
bash scripts/build.sh release sluice unit_tests integration_tests
mark "release build"

asan_build_pid=""
asan_log=build/asan-build.log
stop_asan_build() {
  if [ -n "$asan_build_pid" ]; then
    kill -- "-$asan_build_pid" 2>/dev/null || true
    wait "$asan_build_pid" 2>/dev/null || true
  fi
}
if [ "${SLUICE_SKIP_ASAN:-0}" != "1" ]; then
  mkdir -p build
  # setsid: its own process group, so stop_asan_build ends the compilers too.
  # A new session is also a new scheduler autogroup (sched_autogroup_enabled),
  # which competes with the tests' group as an equal whatever its processes'
  # nice: the group's own nice must be lowered too, or the build takes half
  # the CPU from the tests.
  setsid bash -c 'echo 19 >/proc/self/autogroup 2>/dev/null || true; exec nice -n 19 bash scripts/build.sh asan sluice unit_tests integration_tests' \
    >"$asan_log" 2>&1 &
  asan_build_pid=$!
  trap stop_asan_build EXIT
fi

ctest --preset release -j "$(nproc)" --timeout 900 --output-junit junit.xml
mark "release tests (with the ASan build at nice 19)"

if [ -n "$asan_build_pid" ]; then
  echo "waiting for the ASan build (log: $asan_log)"
  if ! wait "$asan_build_pid"; then
    asan_build_pid=""
    tail -n 100 "$asan_log"
    echo "the ASan build failed" >&2
    exit 1
  fi
  asan_build_pid=""
  tail -n 3 "$asan_log"
  mark "the rest of the ASan build"
  # Nothing else runs now, and most integration tests wait on servers and
  # timers: one more test than cores keeps both busy.
  ctest --preset asan -j "$(( $(nproc) + 1 ))" -L 'unit|integration' --timeout 1200 --output-junit junit.xml
  mark "ASan tests"
fi

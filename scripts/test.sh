#!/usr/bin/env bash
# Installs what is needed, builds, and runs the whole test suite:
#   1. release build: every test (unit, integration);
#   2. asan build (AddressSanitizer + UndefinedBehaviorSanitizer): unit and integration tests.
# Set SLUICE_SKIP_ASAN=1 to run only the first part.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/build.sh release
ctest --preset release -j "$(nproc)" --timeout 900

if [ "${SLUICE_SKIP_ASAN:-0}" != "1" ]; then
  bash scripts/build.sh asan
  ctest --preset asan -j "$(nproc)" -L 'unit|integration' --timeout 1200
fi

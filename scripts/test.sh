#!/usr/bin/env bash
# Sets everything up and runs the test suite; what CI runs (.ci/run). Stages, in this order:
#   default  the whole suite (unit, integration, e2e, packaging) built with the default preset
#   asan     the unit and integration tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   tsan     the agent's and the I/O adapters' unit tests (its threads) under ThreadSanitizer
#   fuzz     every fuzz target for MONSYS_FUZZ_SECONDS (default 10) each (scripts/fuzz.sh)
# Usage: scripts/test.sh [STAGE...]   (no stage: all four, in this order; docs/testing.md)
# Each stage prints its wall time; the first failing stage stops the run.
set -euo pipefail
cd "$(dirname "$0")/.."
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(default asan tsan fuzz)

scripts/install-deps.sh

run_default() {
  cmake --preset default >/dev/null
  cmake --build --preset default
  ctest --preset default
}

# The sanitizer builds make only what their tests run (no packages, no benchmarks). Their tests
# run two at a time: the integration tests are RUN_SERIAL, so they still run alone.
run_asan() {
  cmake --preset asan >/dev/null
  cmake --build --preset asan --target unit_common unit_io unit_action-wrapper unit_agent \
    integration_tests monsys-action
  ctest --preset asan -L 'unit|integration' -j2
}

run_fuzz() {
  scripts/fuzz.sh "${MONSYS_FUZZ_SECONDS:-10}"
}

run_tsan() {
  cmake --preset tsan >/dev/null
  cmake --build --preset tsan --target unit_agent unit_io
  ctest --preset tsan -L unit -R '^unit\.(agent|io):' -j2
}

for stage in "${stages[@]}"; do
  case "$stage" in
    default | asan | tsan | fuzz) ;;
    *) echo "test: unknown stage '$stage' (default, asan, tsan, fuzz)" >&2; exit 2 ;;
  esac
  started=$(date +%s)
  echo "test: stage $stage"
  "run_$stage"
  echo "test: stage $stage passed in $(( $(date +%s) - started )) s"
done

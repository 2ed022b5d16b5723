#!/usr/bin/env bash
# Benchmarks `monsys-agent inventory` against the shell way of collecting the same facts and
# against the floor (one ListUnits call, one containers/json call) on a small host it prepares in
# its own test environment (300 units, 40 containers in 5 compose projects, 1,450 processes in
# all), then times the daemon's observation of 10 tracked apps there (bench_observe_state, when
# built). Prints a table and removes everything it made. The work is done by
# tests/bench/inventory_scale.sh (BENCH_HOSTS="small large" there adds the large host; its
# BENCH_* settings apply here too).
# Usage: flock /tmp/monsys-integration.lock scripts/bench-inventory.sh [BUILD_DIR]
#        (default: build/default; needs monsys-agent, and bench_observe_state for the rounds)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build/default}
BENCH_HOSTS=${BENCH_HOSTS:-small} BENCH_OBSERVE=${BENCH_OBSERVE:-1} \
  exec "$repo/tests/bench/inventory_scale.sh" "$build"

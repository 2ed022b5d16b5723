#!/usr/bin/env bash
# Sets everything up and runs the whole test suite: unit tests, integration tests against a real
# systemd user manager and podman (started and stopped by the suite itself).
# Usage: scripts/test.sh [PRESET]   (PRESET: default or asan; default: default)
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-default}

scripts/install-deps.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
ctest --preset "$preset"

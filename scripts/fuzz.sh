#!/usr/bin/env bash
# Fuzzes every parser of outside input (tests/fuzz/) for SECONDS each, default 300: builds the
# fuzz preset (clang 14, libFuzzer, ASan + UBSan), then runs each target on its checked-in seeds
# and regression inputs and goes on exploring from there. CI runs it with a short time
# (scripts/test.sh). Exits non-zero if any target crashed or broke a property.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]      (TARGET: capped_json, eat_token, ...)
# New inputs found go to BUILD/corpus/TARGET (not into the tree), crashes to BUILD/crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
shift || true
build=${MONSYS_FUZZ_BUILD_DIR:-build/fuzz}

if ! command -v clang++-14 >/dev/null; then
  echo "fuzz: clang++-14 is missing; run scripts/install-deps.sh as root" >&2
  exit 1
fi

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for source in tests/fuzz/*_fuzz.cpp; do
    name=$(basename "$source" _fuzz.cpp)
    targets+=("$name")
  done
fi

cmake --preset fuzz -B "$build" >/dev/null
cmake --build "$build" --target "${targets[@]/#/fuzz_}"

mkdir -p "$build/crashes"
failed=()
for name in "${targets[@]}"; do
  inputs=("tests/fuzz/corpus/$name")
  [ -d "tests/fuzz/regressions/$name" ] && inputs+=("tests/fuzz/regressions/$name")
  mkdir -p "$build/corpus/$name"
  log="$build/crashes/$name.log"
  echo "fuzz: $name for ${seconds}s"
  # The first directory receives new inputs; the checked-in ones are only read.
  if "$build/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$build/crashes/$name-" \
      "$build/corpus/$name" "${inputs[@]}" >"$log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^Done [0-9]+ runs' "$log" | tail -1 | sed "s/^/fuzz: $name: /" || true
  else
    failed+=("$name")
    echo "fuzz: $name FAILED; the end of its log ($log):" >&2
    tail -n 40 "$log" >&2
    for artifact in "$build/crashes/$name"-*; do
      [ -f "$artifact" ] || continue
      echo "fuzz: $name: input $artifact; replay with $build/tests/fuzz/fuzz_$name $artifact;" \
           "once fixed, keep it as tests/fuzz/regressions/$name/$(basename "$artifact" | sed "s/^$name-//")" >&2
    done
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no failure"

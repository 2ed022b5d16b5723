#!/usr/bin/env bash
# Compares, on the same objects in the same run, the restart methods of monsys-action with the
# stock CLIs:
#   docker restart <c>            vs  restart_docker_container (bench_restart_driver)
#   systemctl --user restart <u>  vs  restart_systemd_unit     (bench_restart_driver)
# Each pair runs alternately N times (one process per restart on both sides), then the driver
# runs N restarts in one process; medians are printed in milliseconds.
#
# Usage: restart_overhead.sh [-n N] [-e ENVFILE] [-d DRIVER]
#   ENVFILE: an environment from scripts/testenv/start.sh; without it one is started and stopped.
#   DRIVER:  bench_restart_driver (default: build/default/tests/bench_restart_driver).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
n=10
envfile=
driver=$repo/build/default/tests/bench_restart_driver
while getopts "n:e:d:" opt; do
  case $opt in
    n) n=$OPTARG ;;
    e) envfile=$OPTARG ;;
    d) driver=$OPTARG ;;
    *) sed -n '2,14p' "$0"; exit 2 ;;
  esac
done
[ -x "$driver" ] || { echo "bench: no driver at $driver (build bench_restart_driver, or -d)" >&2; exit 1; }
command -v docker >/dev/null || { echo "bench: the docker CLI is needed for the comparison" >&2; exit 1; }

own_env=
if [ -z "$envfile" ]; then
  own_env=$(mktemp -d /tmp/monsys-bench.XXXXXX)
  envfile=$own_env/env
  "$repo/scripts/testenv/start.sh" "$envfile" >/dev/null
fi
set -a; . "$envfile"; set +a

name=monsys-bench-$$
unit=$name.service
cleanup() {
  podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
  systemctl --user stop "$unit" >/dev/null 2>&1 || true
  rm -f "$MONSYS_TEST_USER_UNIT_DIR/$unit"
  systemctl --user daemon-reload >/dev/null 2>&1 || true
  if [ -n "$own_env" ]; then "$repo/scripts/testenv/stop.sh" "$envfile"; rm -rf "$own_env"; fi
}
trap cleanup EXIT

# A container that stops at once on SIGTERM, and a plain long-running user service without a
# start rate limit (systemd refuses a 6th start within 10 s by default).
podman run -d --network none --name "$name" "$MONSYS_TEST_IMAGE" \
  sh -c "trap 'exit 0' TERM; sleep 100000 & wait" >/dev/null
printf '[Unit]\nStartLimitIntervalSec=0\n[Service]\nExecStart=/bin/sleep 100000\n' >"$MONSYS_TEST_USER_UNIT_DIR/$unit"
systemctl --user daemon-reload
systemctl --user start "$unit"

now_ms() { date +%s%N | awk '{ printf "%.1f", $1 / 1000000 }'; }
timed() { # label command...: appends "label ms" to $samples
  local t0 t1
  t0=$(now_ms); "${@:2}" >/dev/null; t1=$(now_ms)
  echo "$1 $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" >>"$samples"
}
samples=$(mktemp)
for _ in $(seq "$n"); do
  timed "docker-cli" docker restart "$name"
  timed "driver-docker" "$driver" docker "$MONSYS_TEST_DOCKER_SOCKET" "$name" 1
  timed "driver-docker-nosettle" "$driver" docker "$MONSYS_TEST_DOCKER_SOCKET" "$name" 1 0
  timed "systemctl" systemctl --user restart "$unit"
  timed "driver-systemd" "$driver" systemd-user "$unit" 1
done
"$driver" docker "$MONSYS_TEST_DOCKER_SOCKET" "$name" "$n" 0 | awk '$1 == "docker" { print "inprocess-docker-nosettle", $2 }' >>"$samples"
"$driver" systemd-user "$unit" "$n" | awk '$1 == "systemd" { print "inprocess-systemd", $2 }' >>"$samples"

echo "restart medians over $n runs each (ms), one process per restart unless noted:"
for label in docker-cli driver-docker driver-docker-nosettle inprocess-docker-nosettle \
             systemctl driver-systemd inprocess-systemd; do
  awk -v l="$label" '$1 == l { print $2 }' "$samples" | sort -n |
    awk -v l="$label" '{ v[NR] = $1 } END { if (NR) printf "  %-28s %8.1f\n", l, v[int((NR + 1) / 2)] }'
done
echo "  (driver-docker includes the 500 ms settle check; nosettle omits it)"
rm -f "$samples"

#!/usr/bin/env bash
# The overhead the whole monsys-action binary adds around a restart (config and policy loading,
# token verification, replay store with fsync, before/after inspection, JSON output), compared
# in the same run, on the same unit and container, with the stock CLIs:
#   docker restart <c>            vs  monsys-action restart-app (docker app)
#   systemctl --user restart <u>  vs  monsys-action restart-app (systemd app)
# Tokens are minted (PyJWT) before the timed loop; each restart is one process on both sides.
# Usage: action_overhead.sh [-n N] [-b BUILD_DIR]     (default: 10 runs, build/default)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
n=10
build=$repo/build/default
while getopts "n:b:" opt; do
  case $opt in
    n) n=$OPTARG ;;
    b) build=$OPTARG ;;
    *) sed -n '2,9p' "$0"; exit 2 ;;
  esac
done
action=$build/action-wrapper/monsys-action
[ -x "$action" ] || { echo "bench: no monsys-action at $action (build it, or -b)" >&2; exit 1; }
mint="/usr/bin/python3 $repo/tests/tools/mint_eat.py"

work=$(mktemp -d /run/monsys-bench.XXXXXX)   # trusted by monsys-action, unlike /tmp
chmod 755 "$work"
envfile=$work/env
"$repo/scripts/testenv/start.sh" "$envfile" >/dev/null
set -a; . "$envfile"; set +a
name=monsys-bench-$$
unit=$name.service
cleanup() {
  podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
  systemctl --user stop "$unit" >/dev/null 2>&1 || true
  "$repo/scripts/testenv/stop.sh" "$envfile"
  rm -rf "$work"
}
trap cleanup EXIT

$mint --generate-key "$work/hub.pem" >/dev/null
mkdir -p "$work/state"
cat >"$work/agent.json" <<JSON
{"agent_id": "bench", "issuer": "bench-hub", "hub_keys": {"k1": "$($mint --public-key "$work/hub.pem")"},
 "systemd_bus": "user", "docker_socket": "$MONSYS_TEST_DOCKER_SOCKET", "state_dir": "$work/state"}
JSON
podman run -d --network none --name "$name" "$MONSYS_TEST_IMAGE" \
  sh -c "trap 'exit 0' TERM; sleep 100000 & wait" >/dev/null
# No start rate limit: the benchmark restarts the unit more often than the default allows.
systemd-run --user --unit="$unit" -p StartLimitIntervalSec=0 /bin/sleep 100000 >/dev/null

for i in $(seq "$n"); do
  $mint --key "$work/hub.pem" --kid k1 --iss bench-hub --sub bench --app-id c \
    --app-type docker --identifier "$name" >"$work/docker.$i"
  $mint --key "$work/hub.pem" --kid k1 --iss bench-hub --sub bench --app-id u \
    --app-type systemd --identifier "$unit" >"$work/systemd.$i"
done

now_ns() { date +%s%N; }
samples=$work/samples
timed() { # label command...
  local t0 t1
  t0=$(now_ns); "${@:2}" >/dev/null || echo "bench: $1 failed" >&2; t1=$(now_ns)
  echo "$1 $(( (t1 - t0) / 1000 ))" >>"$samples"
}
for i in $(seq "$n"); do
  timed docker-cli docker restart "$name"
  timed monsys-action-docker "$action" --config "$work/agent.json" restart-app c --eat-file "$work/docker.$i"
  timed systemctl systemctl --user restart "$unit"
  timed monsys-action-systemd "$action" --config "$work/agent.json" restart-app u --eat-file "$work/systemd.$i"
done

median() { awk -v l="$1" '$1 == l { print $2 }' "$samples" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "restart medians over $n runs each (ms):"
for pair in "docker-cli monsys-action-docker" "systemctl monsys-action-systemd"; do
  set -- $pair
  a=$(median "$1"); b=$(median "$2")
  awk -v la="$1" -v lb="$2" -v a="$a" -v b="$b" \
    'BEGIN { printf "  %-22s %8.1f\n  %-22s %8.1f   overhead %+.1f ms\n", la, a / 1000, lb, b / 1000, (b - a) / 1000 }'
done
echo "  (the docker method also waits 500 ms after the restart to see the container stay up)"

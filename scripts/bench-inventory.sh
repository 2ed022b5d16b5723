#!/usr/bin/env bash
# Benchmarks `monsys-agent inventory` against the shell way of collecting the same facts, and
# against the floor (one ListUnits call, one containers/json call), on a host prepared with
# 300+ units, 40 containers in 5 compose projects and 1000 extra processes. Prints a table and
# removes everything it made.
# Usage: scripts/bench-inventory.sh [BUILD_DIR]   (default: build/default; needs monsys-agent and
#        bench_observe_state built there). Uses its own test environment (scripts/testenv).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build/default}
agent=$build/agent/monsys-agent
observe_bench=$build/tests/bench_observe_state
runs=${BENCH_RUNS:-7}
units=${BENCH_UNITS:-300}
processes=${BENCH_PROCESSES:-1000}
[ -x "$agent" ] || { echo "bench-inventory: no $agent; build it first" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "bench-inventory: needs /usr/bin/time (package time)" >&2; exit 1; }

work=$(mktemp -d /tmp/monsys-bench-inv.XXXXXX)
envfile=$work/testenv.env
sleepers=()
cleanup() {
  set +e
  [ ${#sleepers[@]} -gt 0 ] && kill "${sleepers[@]}" 2>/dev/null
  wait 2>/dev/null
  if [ -f "$envfile" ]; then
    systemctl --user stop 'monsys-bench@*' >/dev/null 2>&1
    podman ps -aq --filter label=monsys.bench=1 2>/dev/null | xargs -r podman rm -f -t 0 >/dev/null 2>&1
    "$repo/scripts/testenv/stop.sh" "$envfile"
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "bench-inventory: starting a test environment"
"$repo/scripts/testenv/start.sh" "$envfile" >/dev/null
set -a; . "$envfile"; set +a
socket=$MONSYS_TEST_DOCKER_SOCKET

echo "bench-inventory: preparing $units units, 40 containers in 5 compose projects, $processes processes"
cat >"$MONSYS_TEST_USER_UNIT_DIR/monsys-bench@.service" <<UNIT
[Unit]
Description=monsys bench unit %i
[Service]
ExecStart=/bin/sleep 100000
UNIT
systemctl --user daemon-reload
systemctl --user start $(seq -f 'monsys-bench@%g.service' 1 "$units")
for p in $(seq 1 5); do
  for s in web worker; do
    for n in 1 2 3 4; do
      podman run -d --network none --name "bench$p-$s-$n" --label monsys.bench=1 \
        --label com.docker.compose.project="bench$p" --label com.docker.compose.service="$s" \
        "$MONSYS_TEST_IMAGE" /bin/sleep 100000 >/dev/null
    done
  done
done
for _ in $(seq 1 "$processes"); do sleep 100000 & sleepers+=($!); done
sleep 1

cat >"$work/agent.json" <<JSON
{"systemd_bus": "user", "docker_socket": "$socket", "source_timeout_secs": 5}
JSON
cat >"$work/shell-way.sh" <<SH
systemctl --user list-units --all -o json >/dev/null
systemctl --user list-unit-files -o json >/dev/null
docker ps -a --format json >/dev/null
ps -eo pid,ppid,user,stat,lstart,rss,exe,args >/dev/null
dpkg-query -W >/dev/null
ss -ltnup >/dev/null
SH
cat >"$work/floor.sh" <<SH
busctl --user call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager ListUnits >/dev/null
curl -s --unix-socket "$socket" "http://d/v1.41/containers/json?all=1" >/dev/null
SH

# One measurement: wall seconds, user+sys seconds, peak RSS (KiB) of the largest process.
measure() { /usr/bin/time -f '%e %U %S %M' -o "$work/t" "$@" >/dev/null 2>"$work/err" || true; awk '{printf "%s %.3f %s\n", $1, $2 + $3, $4}' "$work/t"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }

declare -A wall cpu rss
for way in agent shell floor; do
  : >"$work/$way.txt"
done
# Interleaved, so a burst of load elsewhere on the machine hits every way alike.
for _ in $(seq 1 "$runs"); do
  measure "$agent" inventory --config "$work/agent.json" >>"$work/agent.txt"
  measure bash "$work/shell-way.sh" >>"$work/shell.txt"
  measure bash "$work/floor.sh" >>"$work/floor.txt"
done
for way in agent shell floor; do
  wall[$way]=$(awk '{print $1}' "$work/$way.txt" | median)
  cpu[$way]=$(awk '{print $2}' "$work/$way.txt" | median)
  rss[$way]=$(awk '{print $3}' "$work/$way.txt" | sort -n | tail -1)
done

"$agent" inventory --config "$work/agent.json" >"$work/inventory.json" || true
counts=$(/usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("units=%d containers=%d compose=%d processes=%d packages=%d ports=%d discovered=%d" % (
    len(d["systemd"]["units"]), len(d["docker"]["containers"]), len(d["docker"]["compose_services"]),
    len(d["processes"]["processes"]), len(d["packages"]["packages"]), len(d["ports"]["ports"]),
    len(d["discovered"])))
print("sections ms: " + " ".join("%s=%.1f" % (k, d[k]["duration_ms"]) for k in
      ("host", "systemd", "docker", "processes", "packages", "ports")))
errors = [k for k in ("systemd", "docker", "processes", "packages", "ports") if d[k]["error"]]
print("errors: " + (", ".join("%s: %s" % (k, d[k]["error"]) for k in errors) or "none"))
' "$work/inventory.json")

echo
echo "host: $counts"
printf '%-28s %10s %10s %12s\n' "way ($runs runs, median)" "wall ms" "cpu ms" "peak RSS MiB"
for way in agent shell floor; do
  label=$way
  [ "$way" = agent ] && label="monsys-agent inventory"
  [ "$way" = shell ] && label="shell way (6 commands)"
  [ "$way" = floor ] && label="floor (ListUnits + list)"
  awk -v l="$label" -v w="${wall[$way]}" -v c="${cpu[$way]}" -v r="${rss[$way]}" \
    'BEGIN { printf "%-28s %10.1f %10.1f %12.1f\n", l, w * 1000, c * 1000, r / 1024 }'
done
awk -v a="${wall[agent]}" -v s="${wall[shell]}" -v f="${wall[floor]}" -v r="${rss[agent]}" 'BEGIN {
  printf "agent/shell wall: %.2f (target <= 0.33)   agent/floor wall: %.2f (target <= 2)   agent peak RSS: %.1f MiB (target <= 20)\n", a / s, a / f, r / 1024 }'

if [ -x "$observe_bench" ]; then
  apps=(systemd:monsys-bench@1.service systemd:monsys-bench@2.service systemd:monsys-bench@3.service
        systemd:dbus.socket docker:bench1-web-1 docker:bench2-worker-3 compose:bench3::web
        compose:bench4::worker process:/usr/bin/sleep)
  echo
  echo "observing 10 tracked apps (the 10th: a path that does not exist)"
  "$observe_bench" --bus user --docker-socket "$socket" "${apps[@]}" process:/nonexistent/app
  echo
  echo "observing 10 tracked apps (the 10th: a stopped process app, so the whole of /proc is read)"
  "$observe_bench" --bus user --docker-socket "$socket" "${apps[@]}" process:/usr/bin/true | grep '^live'
fi

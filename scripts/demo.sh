#!/usr/bin/env bash
# The demonstration a newcomer runs first (as root, on Debian 12): a hub-signed restart of a real
# systemd unit and a real container, then the same token replayed and refused.
#   - installs the Debian packages it needs and builds the project (preset "default");
#   - starts a private systemd user manager and podman's Docker API (scripts/testenv/start.sh);
#   - makes a throw-away hub key, pins it in a config, and mints Emergency Action Tokens with
#     PyJWT, the way a hub written with any JOSE library would;
#   - runs monsys-action restart-app and prints its JSON result;
#   - stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default --target monsys-action
action=$top/build/default/action-wrapper/monsys-action
mint="/usr/bin/python3 $top/tests/tools/mint_eat.py"

envfile=$top/build/default/demo/env
# monsys-action only trusts a config that nobody but root can change, all the way up from /,
# so the demo's files live under /run rather than /tmp.
demo=$(mktemp -d /run/monsys-demo.XXXXXX)
chmod 755 "$demo"
cleanup() {
  systemctl --user stop monsys-demo-web.service >/dev/null 2>&1 || true
  scripts/testenv/stop.sh "$envfile"
  rm -rf "$demo"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Starting a systemd user manager and podman's Docker-compatible API"
scripts/testenv/start.sh "$envfile"
set -a; . "$envfile"; set +a

step "The hub's key: generated now, its public half pinned in the agent config"
$mint --generate-key "$demo/hub.pem" >/dev/null
pub=$($mint --public-key "$demo/hub.pem")
mkdir -p "$demo/state"
cat >"$demo/agent.json" <<JSON
{
  // the demo's configuration: a user systemd manager and podman's socket
  "agent_id": "demo-host",
  "issuer": "https://hub.demo",
  "hub_keys": { "hub-demo-1": "$pub" },
  "systemd_bus": "user",
  "docker_socket": "$MONSYS_TEST_DOCKER_SOCKET",
  "state_dir": "$demo/state"
}
JSON
chmod 640 "$demo/agent.json"
cat "$demo/agent.json"

token() { # app-id type identifier
  $mint --key "$demo/hub.pem" --kid hub-demo-1 --iss https://hub.demo --sub demo-host \
    --app-id "$1" --app-type "$2" --identifier "$3" --reason "demo: operator clicked Restart"
}
restart() { # app-id token: runs monsys-action, pretty-prints its JSON result and its exit code
  local result rc=0
  result=$(printf '%s' "$2" | "$action" --config "$demo/agent.json" restart-app "$1") || rc=$?
  printf '%s\n' "$result" | /usr/bin/python3 -m json.tool
  echo "monsys-action exit code: $rc"
}

step "A real unit: monsys-demo-web.service"
systemd-run --user --unit=monsys-demo-web /bin/sleep 100000 >/dev/null
sleep 0.5
systemctl --user show -p MainPID,ActiveState monsys-demo-web.service
unit_token=$(token web-unit systemd monsys-demo-web.service)
echo "token (first 60 characters): ${unit_token:0:60}..."

step "monsys-action restart-app web-unit"
restart web-unit "$unit_token"
systemctl --user show -p MainPID,ActiveState monsys-demo-web.service

step "The same token again: refused as a replay, nothing restarted"
restart web-unit "$unit_token"

step "A real container: monsys-demo-db"
podman rm -f -t 0 monsys-demo-db >/dev/null 2>&1 || true
# A process that stops on SIGTERM, so the restart does not wait out the 10 s stop grace.
podman run -d --network none --name monsys-demo-db "$MONSYS_TEST_IMAGE" \
  sh -c "trap 'exit 0' TERM; sleep 100000 & wait" >/dev/null
echo "StartedAt: $(podman inspect -f '{{.State.StartedAt}}' monsys-demo-db)"
restart db "$(token db docker monsys-demo-db)"
echo "StartedAt: $(podman inspect -f '{{.State.StartedAt}}' monsys-demo-db)"

step "A token signed by a key this host does not pin: refused"
$mint --generate-key "$demo/rogue.pem" >/dev/null
rogue=$($mint --key "$demo/rogue.pem" --kid hub-demo-1 --iss https://hub.demo --sub demo-host \
  --app-id db --app-type docker --identifier monsys-demo-db)
restart db "$rogue"

podman rm -f -t 0 monsys-demo-db >/dev/null 2>&1 || true
step "Done. See docs/monsys-action.md for the result format and docs/eat.md for the token rules."

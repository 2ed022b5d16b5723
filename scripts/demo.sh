#!/usr/bin/env bash
# The demonstration a newcomer runs first (as root, on Debian 12): the whole product on one host.
#
#   A hub (the reference hub in tests/hub/) and the real monsys-agent daemon connected to it over
#   wss. The agent reports a real systemd unit and a real container; an operator tracks the unit
#   through the hub's REST API. The unit stops: the hub sees the mismatch and raises an alert. The
#   operator clicks Restart with a TOTP code: the hub signs an Emergency Action Token, the agent
#   hands it to monsys-action, which verifies it, restarts the unit and reports back; the hub files
#   the result in its audit log and its hash-chained transparency log.
#
# Idempotent; everything it starts is stopped on exit. About 30 s once the project is built.
# MONSYS_DEMO_KEEP=1 keeps its directory under /run (the agent's and the hub's logs, the hub's
# state) for a look afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

py=/usr/bin/python3   # Debian's interpreter: it has python3-aiohttp, -websockets, -pyotp, -jwt
testkit="$py $top/tests/hub/testkit.py"
pick="$py $top/scripts/demo/pick.py"     # a jq stand-in: pretty-prints (part of) a JSON answer
agent=$top/build/default/agent/monsys-agent
action=$top/build/default/action-wrapper/monsys-action
agent_id="demo-host"
unit=monsys-demo-web.service
container=monsys-demo-db

n=0
step() { n=$((n + 1)); printf '\n\033[1m%d. %s\033[0m\n' "$n" "$*"; }
cmd() { printf '\033[2m$ %s\033[0m\n' "$*"; }   # the command an operator would type
note() { printf '   %s\n' "$*"; }

printf '\033[1m0. Debian packages and the build\033[0m\n'
scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default --target monsys-agent monsys-action

envfile=$top/build/default/demo/env
# monsys-action only trusts a config and a policy that nobody but root can change, all the way
# up from /, so the demo's files live under /run rather than /tmp.
demo=$(mktemp -d /run/monsys-demo.XXXXXX)
chmod 755 "$demo"
hub_pid='' agent_pid=''
stop_pid() { # pid: SIGTERM, then wait (up to 10 s) for it to exit
  [ -n "$1" ] || return 0
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
}
cleanup() {
  status=$?
  trap - EXIT INT TERM
  printf '\n\033[1m%d. Stopping everything the demo started\033[0m\n' $((n + 1))
  if [ "$status" -ne 0 ] && [ "$status" -ne 130 ]; then   # failed, not interrupted
    for log in once agent hub; do
      [ -s "$demo/$log.log" ] || continue
      echo "---- last lines of $log.log"
      grep -v ' hub http method=GET ' "$demo/$log.log" | tail -n 25 || true
    done
  fi
  stop_pid "$agent_pid"
  stop_pid "$hub_pid"
  scripts/testenv/stop.sh "$envfile"   # the user manager (and its units), podman, the container
  if [ "${MONSYS_DEMO_KEEP:-}" = 1 ]; then echo "kept $demo (agent.log, hub.log, hub/state/)"
  else rm -rf "$demo"; fi
  [ "$status" -eq 0 ] && echo "Done." || echo "demo: FAILED (exit status $status)" >&2
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The hub's REST API (set in step 1); the calls an operator makes, with curl.
H=''
get() { curl -fsS "$H$1"; }
post() { curl -sS -X POST "$H$1" -H 'Content-Type: application/json' "${@:2}"; }
hub_says() { get "$1" | $pick --test "$2"; }   # hub_says PATH EXPR: is EXPR true of the answer?
wait_until() { # wait_until SECONDS WHAT COMMAND...: runs COMMAND every 0.2 s until it succeeds
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then echo "demo: gave up waiting for $what" >&2; exit 1; fi
    sleep 0.2
  done
}

# --------------------------------------------------------------------------------------------
step "The hub: the reference hub (tests/hub/) on loopback, agent endpoint over wss"
mkdir -m 700 "$demo/hub"
cmd "testkit.py cert hub/tls localhost 127.0.0.1      # a throw-away CA and the hub's certificate"
$testkit cert "$demo/hub/tls" localhost 127.0.0.1 >/dev/null
cmd "testkit.py key hub/hub-key.pem                   # the key that signs restarts"
hub_public_key=$($testkit key "$demo/hub/hub-key.pem")
note "public key, to be pinned by the agent: $hub_public_key"
cmd "testkit.py totp-secret hub/totp.secret           # what an operator's authenticator app holds"
$testkit totp-secret "$demo/hub/totp.secret" >/dev/null
agent_token=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')   # the agent's bearer token
(umask 077; echo "$agent_token" >"$demo/hub/agent.token")
# --liveness-interval 2: the hub compares observed with expected state every 2 s (default 60 s),
# so that a stopped app alerts within seconds in step 6.
$py tests/hub/hub.py --state-dir "$demo/hub/state" \
  --agent-token-file "$demo/hub/agent.token" --agent-id "$agent_id" \
  --signing-key "$demo/hub/hub-key.pem" --kid hub-demo-1 --issuer monsys-demo-hub \
  --totp-secret-file "$demo/hub/totp.secret" \
  --ws-host 127.0.0.1 --ws-port 0 \
  --tls-cert "$demo/hub/tls/server.pem" --tls-key "$demo/hub/tls/server.key" \
  --http-host 127.0.0.1 --http-port 0 --ready-file "$demo/hub/ready" \
  --liveness-interval 2 </dev/null 2>"$demo/hub.log" &
hub_pid=$!
wait_until 20 "the hub to listen" test -s "$demo/hub/ready"
ws_port=$($pick 'j["ws_port"]' <"$demo/hub/ready")
H=$($pick 'j["http_url"]' <"$demo/hub/ready")
note "agent endpoint wss://localhost:$ws_port/agent, REST API $H (pid $hub_pid, log hub.log)"

# --------------------------------------------------------------------------------------------
step "The host: a systemd user manager and podman, with a unit and a container to look after"
scripts/testenv/start.sh "$envfile"
set -a    # DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR, the podman socket... for every command
# shellcheck source=/dev/null
. "$envfile"
set +a
cat >"$MONSYS_TEST_USER_UNIT_DIR/$unit" <<UNIT
[Unit]
Description=monsys demo: a stand-in for a web server
[Service]
ExecStart=/bin/sleep infinity
UNIT
systemctl --user daemon-reload
cmd "systemctl --user start $unit"
systemctl --user start "$unit"
systemctl --user show -p ActiveState,SubState,MainPID "$unit" | paste -sd' ' | sed 's/^/   /'
cmd "podman run -d --name $container ...            # busybox, stops on SIGTERM"
podman run -d --network none --name "$container" "$MONSYS_TEST_IMAGE" \
  sh -c "trap 'exit 0' TERM; sleep 100000 & wait" >/dev/null
note "container $container: $(podman inspect -f '{{.State.Status}}, started {{.State.StartedAt}}' "$container")"

# --------------------------------------------------------------------------------------------
step "The agent's configuration, checked; then one inventory sent with --once"
cfg=$demo/agent.json policy=$demo/policy.json
mkdir -m 700 "$demo/state"
(umask 077; echo "$agent_token" >"$demo/agent.token")   # hub_token_file: mode 0600
cat >"$cfg" <<JSON
{
  "agent_id": "$agent_id",
  // the hub: its URL, the CA its certificate chains to, the agent's token, the pinned hub key
  "hub_url": "wss://localhost:$ws_port/agent",
  "hub_ca_file": "$demo/hub/tls/ca.pem",
  "hub_token_file": "$demo/agent.token",
  "issuer": "monsys-demo-hub",
  "hub_keys": { "hub-demo-1": "$hub_public_key" },
  // what this host runs: the test user manager and podman's Docker-compatible socket
  "systemd_bus": "user",
  "docker_socket": "$MONSYS_TEST_DOCKER_SOCKET",
  // the replay store and the agent's own state (the defaults are the packaged /var/lib paths)
  "state_dir": "$demo/state",
  "hub_state_dir": "$demo/agent-state",
  // the daemon's status snapshot for \`monsys-agent status\` (packaged: /run/monsys-agent/)
  "status_file": "$demo/status.json",
  // the agent runs monsys-action itself: no action socket ("" turns off the packaged default
  // /run/monsys/action.sock, where monsys-action.socket runs it as its own user)
  "action_socket": "",
  "action_command": ["$action", "--config", "$cfg", "--policy", "$policy"],
  // fast, for the demo (defaults 15 s and 60 s)
  "observe_interval_secs": 2,
  "state_interval_secs": 5
}
JSON
cat >"$policy" <<JSON
{ "allowed_types": ["systemd", "docker"], "denied_units": ["ssh*.service"] }
JSON
chmod 640 "$cfg"
chmod 644 "$policy"
sed 's/^/   /' "$cfg"
cmd "monsys-action --config agent.json init-key     # its signing key, as the packages' postinst makes it"
"$action" --config "$cfg" init-key 2>&1 | sed 's/^/   /'
cmd "monsys-agent --config agent.json check-config"
"$agent" --config "$cfg" check-config 2>&1 | sed 's/^/   /'
cmd "monsys-agent --config agent.json --once"
"$agent" --config "$cfg" --once 2>"$demo/once.log" | sed 's/^/   /'

# --------------------------------------------------------------------------------------------
step "The agent daemon: connected, and what it found on the host"
cmd "monsys-agent --config agent.json 2>agent.log &"
"$agent" --config "$cfg" </dev/null >"$demo/agent.log" 2>&1 &
agent_pid=$!
wait_until 30 "the agent to connect" hub_says "/api/v1/agents/$agent_id" 'j["connected"]'
cmd "curl -s $H/api/v1/agents/$agent_id"
get "/api/v1/agents/$agent_id" |
  $pick 'only(j, "connected", "version", "hostname", "capabilities", "last_acked_seq", "max_seq")'
cmd "curl -s $H/api/v1/agents/$agent_id/discovered     # the demo's two, of all it found"
get "/api/v1/agents/$agent_id/discovered" | $pick "{
  'collected_at': j['collected_at'], 'rows': len(j['discovered']),
  'demo': [only(r, 'type', 'identifier', 'name', 'state', 'tracked')
           for r in j['discovered'] if r['identifier'] in ('$unit', '$container')]}"

# --------------------------------------------------------------------------------------------
step "An operator tracks the unit as an app"
body="{\"agent_id\": \"$agent_id\", \"name\": \"web\", \"app_type\": \"systemd\",
  \"identifier\": \"$unit\", \"owner_email\": \"ops@example.net\", \"notes\": \"demo\"}"
cmd "J='Content-Type: application/json'"
cmd "curl -s -X POST $H/api/v1/apps -H \"\$J\" -d '$body'"
app=$(post /api/v1/apps -d "$body")
echo "$app" | $pick 'only(j, "id", "agent_id", "name", "app_type", "identifier", "expected_state")'
app_id=$(echo "$app" | $pick 'j["id"]')
note "the hub sends the agent the new app list; the agent observes the unit and reports it"
wait_until 20 "$app_id to be observed running" hub_says "/api/v1/apps/$app_id" \
  'j["observed"] == "running"'
cmd "curl -s $H/api/v1/apps/$app_id"
get "/api/v1/apps/$app_id" | $pick 'only(j, "id", "expected_state", "observed", "detail",
  "observed_at", "consecutive_mismatch", "alerting")'
note "the agent's own view, on the host: from the snapshot the daemon keeps, not from the hub"
wait_until 10 "the agent's status to show $app_id" \
  sh -c "'$agent' --config '$cfg' status --json | grep -q '\"$app_id\"'"
cmd "monsys-agent --config agent.json status"
"$agent" --config "$cfg" status | sed 's/^/   /'

# --------------------------------------------------------------------------------------------
step "The unit stops: the hub sees the mismatch and raises an alert"
cmd "systemctl --user stop $unit"
systemctl --user stop "$unit"
systemctl --user show -p ActiveState,SubState,MainPID "$unit" | paste -sd' ' | sed 's/^/   /'
note "waiting for three liveness checks in a row to find it stopped..."
wait_until 30 "the alert" hub_says /api/v1/alerts \
  "[a for a in j['alerts'] if a['app_id'] == '$app_id']"
cmd "curl -s '$H/api/v1/audit?event=app.state_mismatch'"
get "/api/v1/audit?event=app.state_mismatch" | $pick '[only(e, "ts", "app_id", "expected",
  "observed", "detail", "consecutive_mismatch") for e in j["entries"]]'
cmd "curl -s $H/api/v1/alerts"
get /api/v1/alerts | $pick '[only(a, "id", "ts", "severity", "app_id", "message", "cleared_at")
  for a in j["alerts"]]'

# --------------------------------------------------------------------------------------------
step "The operator restarts it: POST /api/v1/apps/$app_id/restart with a TOTP code"
wrong=$($py -c 'import sys; sys.path.insert(0, sys.argv[1]); import testkit
print(testkit.wrong_totp_code(sys.argv[2]))' "$top/tests/hub" "$demo/hub/totp.secret")
reason='{"reason": "web is down (demo)", "by": "ops@example.net"}'
cmd "curl -s -X POST $H/api/v1/apps/$app_id/restart -H \"\$J\" -H 'X-TOTP-Code: $wrong' -d '$reason'"
post "/api/v1/apps/$app_id/restart" -H "X-TOTP-Code: $wrong" -d "$reason" -w '   (HTTP %{http_code})\n'
cmd "curl -s $H/api/v1/actions                          # nothing was signed"
get /api/v1/actions | $pick
code=$($testkit totp "$demo/hub/totp.secret")
cmd "curl -s -X POST $H/api/v1/apps/$app_id/restart -H \"\$J\" -H 'X-TOTP-Code: $code' -d '$reason'"
answer=$(post "/api/v1/apps/$app_id/restart" -H "X-TOTP-Code: $code" -d "$reason" \
  -w '\n%{http_code}')
printf '%s   (HTTP %s)\n' "$(echo "$answer" | head -n 1)" "$(echo "$answer" | tail -n 1)"
jti=$(echo "$answer" | head -n 1 | $pick 'j["jti"]')
note "hub signs a token -> agent verifies it -> monsys-action restarts the unit -> action_result"
wait_until 30 "the result of $jti" hub_says "/api/v1/actions/$jti" 'j["status"] == "done"'
cmd "curl -s $H/api/v1/actions/$jti"
get "/api/v1/actions/$jti" | $pick 'only(j, "jti", "app_id", "status", "result_status",
  "result_reason", "result_at")'
cmd "systemctl --user show -p ActiveState,SubState,MainPID $unit"
systemctl --user show -p ActiveState,SubState,MainPID "$unit" | paste -sd' ' | sed 's/^/   /'
note "the restart.result line of the hub's audit log (hub/state/audit.jsonl), pretty-printed:"
grep '"event":"restart.result"' "$demo/hub/state/audit.jsonl" | $pick
cmd "curl -s $H/api/v1/transparency/verify"
get /api/v1/transparency/verify | $pick
cmd "verify_transparency.py hub/state/transparency.jsonl"
$py tests/hub/verify_transparency.py "$demo/hub/state/transparency.jsonl" | sed 's/^/   /'
note "and once the agent reports it running again, the alert clears:"
wait_until 30 "the alert to clear" hub_says /api/v1/alerts \
  "all(a['cleared_at'] for a in j['alerts'] if a['app_id'] == '$app_id')"
get "/api/v1/audit?event=alert.cleared" | $pick '[only(e, "ts", "event", "app_id", "observed")
  for e in j["entries"]]'

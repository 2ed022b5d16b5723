#!/usr/bin/env bash
# Stops what start.sh ENVFILE started and removes its files.
set -uo pipefail
envfile=${1:?usage: stop.sh ENVFILE}
[ -f "$envfile" ] || exit 0
root=$(sed -n 's/^MONSYS_TESTENV_ROOT=//p' "$envfile")
rm -f "$envfile"
case "$root" in /tmp/monsys-testenv.*) ;; *) exit 0 ;; esac
[ -d "$root" ] || exit 0

stop_pid() { # pid-file
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

# Containers outlive the API service (conmon keeps them), so remove them first.
export CONTAINERS_CONF=$root/podman/containers.conf CONTAINERS_STORAGE_CONF=$root/podman/storage.conf
podman rm -a -f -t 0 >/dev/null 2>&1 || true
stop_pid "$root/podman.pid"
# systemd --user stops its units when it exits.
stop_pid "$root/systemd.pid"
podman unshare true >/dev/null 2>&1 || true
rm -rf "$root" 2>/dev/null || { chmod -R u+w "$root" 2>/dev/null; rm -rf "$root"; }
exit 0

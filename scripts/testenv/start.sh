#!/usr/bin/env bash
# Starts a private test environment (see docs/testing.md):
#   - a real systemd user manager on its own session bus, with its own unit directories;
#   - podman's Docker-compatible Engine API on its own socket, with its own storage and a
#     busybox test image (localhost/monsys-test:latest).
# Usage: start.sh ENVFILE
# Writes ENVFILE as KEY=VALUE lines (source it, or read it from a test). stop.sh ENVFILE undoes it.
set -euo pipefail
envfile=${1:?usage: start.sh ENVFILE}
here=$(cd "$(dirname "$0")" && pwd)

[ -f "$envfile" ] && "$here/stop.sh" "$envfile" || true
mkdir -p "$(dirname "$envfile")"

# Unix socket paths are limited to 108 bytes, so the environment lives under /tmp.
root=$(mktemp -d /tmp/monsys-testenv.XXXXXX)
chmod 700 "$root"
mkdir -p "$root/runtime" "$root/config" "$root/data" "$root/podman" "$root/image/bin"
chmod 700 "$root/runtime"

die() { echo "testenv: $*" >&2; exit 1; }

# --- systemd user manager -------------------------------------------------------------------
# systemd --user refuses to start unless /run/systemd/system exists at its start. Create it for
# that moment only (apt's maintainer scripts look at it too), serialised against parallel runs.
export XDG_RUNTIME_DIR=$root/runtime XDG_CONFIG_HOME=$root/config XDG_DATA_HOME=$root/data
mkdir -p "$XDG_CONFIG_HOME/systemd/user"
(
  flock 9
  created=0
  if [ ! -d /run/systemd/system ]; then mkdir -p /run/systemd/system; created=1; fi
  setsid /usr/lib/systemd/systemd --user >"$root/systemd.log" 2>&1 </dev/null &
  echo $! >"$root/systemd.pid"
  ok=0
  for _ in $(seq 100); do
    if [ -S "$XDG_RUNTIME_DIR/bus" ] &&
       busctl --address="unix:path=$XDG_RUNTIME_DIR/bus" status >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.1
  done
  [ "$created" = 1 ] && rmdir /run/systemd/system 2>/dev/null || true
  [ "$ok" = 1 ] || { cat "$root/systemd.log" >&2; exit 1; }
) 9>/tmp/.monsys-testenv.lock || die "systemd --user did not come up (log above)"
export DBUS_SESSION_BUS_ADDRESS=unix:path=$XDG_RUNTIME_DIR/bus
systemctl --user show-environment >/dev/null || die "systemctl --user does not reach the manager"

# --- podman's Docker Engine API -------------------------------------------------------------
cat >"$root/podman/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
cat >"$root/podman/storage.conf" <<CONF
[storage]
driver = "vfs"
graphroot = "$root/podman/graph"
runroot = "$root/podman/run"
CONF
export CONTAINERS_CONF=$root/podman/containers.conf CONTAINERS_STORAGE_CONF=$root/podman/storage.conf
busybox=$(command -v busybox || echo /bin/busybox)
cp "$busybox" "$root/image/bin/busybox"
for tool in sh sleep true false echo cat nc httpd; do ln -sf busybox "$root/image/bin/$tool"; done
tar -C "$root/image" -cf "$root/image.tar" .
podman import -q "$root/image.tar" localhost/monsys-test:latest >/dev/null || die "podman import failed"

docker_sock=$root/docker.sock
setsid podman system service --time=0 "unix://$docker_sock" >"$root/podman.log" 2>&1 </dev/null &
echo $! >"$root/podman.pid"
for _ in $(seq 100); do
  curl -fsS --max-time 1 --unix-socket "$docker_sock" http://localhost/_ping >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS --max-time 2 --unix-socket "$docker_sock" http://localhost/_ping >/dev/null ||
  { cat "$root/podman.log" >&2; die "podman API did not answer on $docker_sock"; }

cat >"$envfile" <<ENV
MONSYS_TESTENV_ROOT=$root
XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR
XDG_CONFIG_HOME=$XDG_CONFIG_HOME
XDG_DATA_HOME=$XDG_DATA_HOME
DBUS_SESSION_BUS_ADDRESS=$DBUS_SESSION_BUS_ADDRESS
MONSYS_TEST_USER_UNIT_DIR=$XDG_CONFIG_HOME/systemd/user
CONTAINERS_CONF=$CONTAINERS_CONF
CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF
DOCKER_HOST=unix://$docker_sock
MONSYS_TEST_DOCKER_SOCKET=$docker_sock
MONSYS_TEST_IMAGE=localhost/monsys-test:latest
ENV
echo "testenv: systemd user manager on $DBUS_SESSION_BUS_ADDRESS, Docker API on $docker_sock"

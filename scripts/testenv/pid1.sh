#!/usr/bin/env bash
# A Debian 12 container with systemd as PID 1, for the package tests (tests/packaging/pid1,
# docs/testing.md "The PID 1 suite"). Built from Debian's packages only (mmdebstrap), run by
# podman with runc, cgroupfs and vfs storage of its own.
#
# Usage:
#   pid1.sh image DEB...          builds (or reuses) the rootfs and the podman image with the
#                                 run-time dependencies of the given .debs; prints the image name
#   pid1.sh previous COMMIT       builds (or reuses) the packages of an earlier commit of this
#                                 repository; prints the directory that holds its .deb
#   pid1.sh start NAME IMAGE      boots a container NAME (systemd as PID 1, --network host) and
#                                 waits until the system is up
#   pid1.sh stop NAME             removes the container
#   pid1.sh env                   prints the podman settings (CONTAINERS_CONF=...) to export
#
# Everything is cached under MONSYS_PID1_CACHE (default /var/cache/monsys-pid1): the rootfs
# tarball and the image are keyed by their package list, the earlier builds by commit id.
# Needs root, mmdebstrap, podman, runc.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
cache=${MONSYS_PID1_CACHE:-/var/cache/monsys-pid1}
suite=bookworm
# What the tests need inside besides the package's own dependencies.
base_packages=(systemd systemd-sysv dbus polkitd passwd python3 procps util-linux)

die() { echo "pid1: $*" >&2; exit 1; }

podman_env() {
  mkdir -p "$cache/podman"
  # The same settings as scripts/testenv/start.sh (docs/testing.md):
  # crun fails on this cgroup-v1 hybrid host, and the default rlimits need CAP_SYS_RESOURCE.
  if [ ! -f "$cache/podman/containers.conf" ]; then
    cat >"$cache/podman/containers.conf.tmp" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
    mv "$cache/podman/containers.conf.tmp" "$cache/podman/containers.conf"
  fi
  if [ ! -f "$cache/podman/storage.conf" ]; then
    cat >"$cache/podman/storage.conf.tmp" <<CONF
[storage]
driver = "vfs"
graphroot = "$cache/podman/graph"
runroot = "$cache/podman/run"
CONF
    mv "$cache/podman/storage.conf.tmp" "$cache/podman/storage.conf"
  fi
  export CONTAINERS_CONF=$cache/podman/containers.conf
  export CONTAINERS_STORAGE_CONF=$cache/podman/storage.conf
}

# Run-time dependencies of the .debs, without versions and alternatives (first choice), and
# without the package names themselves.
deb_depends() {
  local deb
  for deb in "$@"; do
    dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/[[:space:]]//g' | grep -v '^$' || true
  done | sort -u
}

cmd_image() {
  [ $# -ge 1 ] || die "usage: pid1.sh image DEB..."
  local packages key tar image
  packages=$( { printf '%s\n' "${base_packages[@]}"; deb_depends "$@"; } | sort -u | grep -v '^monsys-agent$' | paste -sd, -)
  key=$(printf '%s %s v1' "$suite" "$packages" | sha256sum | cut -c1-12)
  tar=$cache/rootfs-$key.tar
  image=localhost/monsys-pid1:$key
  mkdir -p "$cache"
  podman_env
  (
    flock 9
    if [ ! -s "$tar" ]; then
      echo "pid1: building rootfs $tar ($packages)" >&2
      local start=$SECONDS
      mmdebstrap --variant=minbase --format=tar --quiet \
        --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --include="$packages" \
        --customize-hook='rm -f "$1/etc/machine-id"; : > "$1/etc/machine-id"' \
        "$suite" "$tar.tmp" >&2 || { rm -f "$tar.tmp"; exit 1; }
      mv "$tar.tmp" "$tar"
      echo "pid1: rootfs built in $((SECONDS - start)) s" >&2
      podman rmi -f "$image" >/dev/null 2>&1 || true
    fi
    if ! podman image exists "$image"; then
      podman import -q "$tar" "$image" >/dev/null || exit 1
    fi
  ) 9>"$cache/.image.lock" || die "could not build the image"
  echo "$image"
}

cmd_previous() {
  [ $# -eq 1 ] || die "usage: pid1.sh previous COMMIT"
  local commit dir
  commit=$(git -C "$source_dir" rev-parse --verify "$1^{commit}") ||
    die "commit $1 is not in $source_dir (a shallow clone? fetch the full history)"
  dir=$cache/previous/$commit
  mkdir -p "$cache/previous"
  (
    flock 9
    if [ ! -f "$dir/done" ]; then
      echo "pid1: building the packages of ${commit:0:12} once (cached in $dir)" >&2
      rm -rf "$dir"
      mkdir -p "$dir/src"
      git -C "$source_dir" archive "$commit" | tar -x -C "$dir/src"
      # An earlier build date than any build of today's tree, so installing today's package
      # over it is an upgrade.
      MONSYS_BUILD_DATE=20000101 JOBS=${JOBS:-2} "$dir/src/scripts/build-packages.sh" "$dir/build" >"$dir/build.log" 2>&1 ||
        { tail -n 40 "$dir/build.log" >&2; exit 1; }
      touch "$dir/done"
    fi
  ) 9>"$cache/previous/.lock" || die "could not build the packages of $commit"
  echo "$dir/build/packages"
}

cmd_start() {
  [ $# -eq 2 ] || die "usage: pid1.sh start NAME IMAGE"
  local name=$1 image=$2 state
  podman_env
  podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
  # --cap-add SYS_ADMIN: without it systemd silently skips the units' mount-namespace options.
  # No --cgroupns=private: on a cgroup-v1 host it would put the units at the host's root.
  podman run -d --systemd=always --cap-add SYS_ADMIN --network host --name "$name" \
    --hostname "$name" "$image" /sbin/init >/dev/null || die "podman run failed"
  for _ in $(seq 150); do
    state=$(podman exec "$name" systemctl is-system-running 2>/dev/null || true)
    case "$state" in running | degraded) break ;; esac
    sleep 0.2
  done
  case "$state" in
    running) ;;
    degraded) echo "pid1: $name is degraded:" >&2; podman exec "$name" systemctl --failed --no-legend >&2 || true ;;
    *) podman logs "$name" 2>&1 | tail -n 30 >&2; die "$name did not boot (state '$state')" ;;
  esac
}

cmd_stop() {
  [ $# -eq 1 ] || die "usage: pid1.sh stop NAME"
  podman_env
  podman rm -f -t 0 "$1" >/dev/null 2>&1 || true
}

cmd_env() {
  podman_env
  echo "CONTAINERS_CONF=$CONTAINERS_CONF"
  echo "CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF"
}

# 77: skipped, for CTest (the package tests need root anyway).
[ "$(id -u)" -eq 0 ] || { echo "SKIPPED: pid1.sh needs root"; exit 77; }
command="${1:-}"
shift || true
case "$command" in
  image) cmd_image "$@" ;;
  previous) cmd_previous "$@" ;;
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  env) cmd_env ;;
  *) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac

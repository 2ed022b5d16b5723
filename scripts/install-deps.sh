#!/usr/bin/env bash
# Installs everything monsys-agent needs to build, test, package and run its demo on Debian 12.
# Idempotent: packages already present are left alone. Must run as root.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build pkg-config git
  # fuzzing: clang 14 with libFuzzer and its sanitizer runtimes (scripts/fuzz.sh, the fuzz preset)
  clang-14 libclang-rt-14-dev
  # libraries
  libboost-dev libsodium-dev libsystemd-dev libssl-dev nlohmann-json3-dev libcli11-dev doctest-dev
  # test environment: a real systemd user manager and a Docker-compatible engine
  systemd dbus dbus-user-session podman runc busybox-static curl procps iproute2 time openssl ca-certificates
  # reference hub and token minting (an independent JOSE implementation)
  python3 python3-jwt python3-cryptography python3-websockets python3-pyotp python3-aiohttp
  # a real HTTP proxy for tests/e2e/test_proxy.py (started by the test; the package's own
  # service, where it runs, listens on 8888, which the test never uses)
  tinyproxy
  # TLS in front of it: an https:// proxy for the same test (started by the test, not as a service)
  stunnel4
  # packages: build and check the .deb and .rpm, install and exercise them (tests/packaging)
  dpkg-dev fakeroot file lintian rpm rpmlint sudo
  # the man pages: Markdown rendered by pandoc (packaging/CMakeLists.txt)
  pandoc
  # the PID 1 suite: a Debian 12 rootfs from Debian's packages, booted by podman (runc, above)
  mmdebstrap debian-archive-keyring
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}); run this script as root" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Builds the .deb and the .rpm with one command: Release build with CMAKE_INSTALL_PREFIX=/usr,
# then CPack for both generators. Both packages carry the same MONSYS_BUILD_DATE.
# Usage: scripts/build-packages.sh [BUILD_DIR]     (default: build/packages)
# Environment: MONSYS_BUILD_DATE=YYYYMMDD (default: today, UTC), JOBS (default: 2).
# The packages end up in BUILD_DIR/packages/.
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:-$source_dir/build/packages}
build_date=${MONSYS_BUILD_DATE:-$(date -u +%Y%m%d)}
jobs=${JOBS:-2}

# Debian's hardening flags (PIE, fortify, stack protector, relro, bindnow) when dpkg-buildflags
# is there; the compiler's defaults otherwise.
if command -v dpkg-buildflags >/dev/null 2>&1; then
  export DEB_BUILD_MAINT_OPTIONS=hardening=+all
  CPPFLAGS=$(dpkg-buildflags --get CPPFLAGS)
  CXXFLAGS="$(dpkg-buildflags --get CXXFLAGS) $CPPFLAGS"
  LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
  export CXXFLAGS LDFLAGS
fi

generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
cmake -S "$source_dir" -B "$build_dir" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX=/usr \
  -DMONSYS_BUILD_DATE="$build_date" \
  -DMONSYS_BUILD_TESTS=OFF
cmake --build "$build_dir" -j "$jobs"
rm -rf "$build_dir/packages"
(cd "$build_dir" && cpack -G "DEB;RPM" --config CPackConfig.cmake)
ls -l "$build_dir"/packages/*.deb "$build_dir"/packages/*.rpm

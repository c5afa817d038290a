#!/usr/bin/env bash
# Sets up a Debian 12 machine for clseg and builds it: installs the Debian packages (as root, or through
# sudo), then configures and compiles into build/ (or $CLSEG_BUILD_DIR). Extra arguments go to meson setup.
# $CLSEG_EXTRA_PACKAGES names more packages to install the same way (tools/oclgrind.sh, tools/rusticl.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGES=(build-essential meson ninja-build pkg-config python3
  ocl-icd-opencl-dev opencl-headers ocl-icd-libopencl1 pocl-opencl-icd clinfo
  libclblast-dev libpng-dev libjpeg-dev libcjson-dev libprotobuf-c-dev protobuf-c-compiler libcmocka-dev)
read -r -a extra <<<"${CLSEG_EXTRA_PACKAGES:-}"
PACKAGES+=("${extra[@]}")
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
build=${CLSEG_BUILD_DIR:-build}
werror=false; [ "${CI:-}" = true ] && werror=true
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" -Dwerror=$werror "$@" >/dev/null
elif [ $# -gt 0 ]; then
  meson configure "$build" "$@" >/dev/null
fi
ninja -C "$build" >/dev/null
echo "setup: built $build/apps/clseg"

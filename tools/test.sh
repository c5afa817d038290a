#!/usr/bin/env bash
# Sets everything up (tools/setup.sh) and runs the whole test suite on the PoCL CPU device.
# --sanitize: the same suite from a separate ASan + UBSan build (build-asan/).
# --oclgrind [TEST...]: op tests under the Oclgrind simulator's race, bounds and barrier checks
#   (tools/oclgrind.sh); --rusticl [TEST...]: op and network tests on Mesa's Rusticl, a second OpenCL
#   compiler (tools/rusticl.sh). See docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
--oclgrind) shift; exec bash tools/oclgrind.sh "$@" ;;
--rusticl) shift; exec bash tools/rusticl.sh "$@" ;;
esac
# Both builds share one kernel binary cache, so the sanitizer run compiles no kernel the first run built.
cache="$PWD/build-kernel-cache"
if [ "${1:-}" = --sanitize ]; then
  CLSEG_BUILD_DIR=build-asan bash tools/setup.sh -Db_sanitize=address,undefined -Db_lundef=false \
    -Dtest_kernel_cache="$cache"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  meson test -C build-asan --print-errorlogs --num-processes 2 --timeout-multiplier 4
else
  bash tools/setup.sh -Dtest_kernel_cache="$cache"
  meson test -C build --print-errorlogs --num-processes 2
fi

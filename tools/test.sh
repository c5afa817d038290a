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
  if ! meson test -C build-asan --print-errorlogs --num-processes 2 --timeout-multiplier 4; then
    # LeakSanitizer's own tracer sometimes crashes at exit while PoCL's worker threads wind down ("Tracer
    # caught signal 11 ... LeakSanitizer has encountered a fatal error", after every test passed): that leak
    # check never ran, so those programs, and only those, run once more. Any other failure stands.
    flaky=$(python3 - build-asan/meson-logs/testlog.json <<'PY'
import json, sys
bad = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
bad = [t for t in bad if t["result"] not in ("OK", "SKIP", "EXPECTEDFAIL")]
if all("LeakSanitizer has encountered a fatal error" in (t.get("stderr") or "") + (t.get("stdout") or "")
       for t in bad):
    print(" ".join(t["name"].split(" / ")[-1] for t in bad))
PY
)
    [ -n "$flaky" ] || exit 1
    echo "test.sh: LeakSanitizer's tracer crashed in: $flaky; running them once more"
    # shellcheck disable=SC2086
    meson test -C build-asan --print-errorlogs --num-processes 1 --timeout-multiplier 4 $flaky
  fi
else
  bash tools/setup.sh -Dtest_kernel_cache="$cache"
  meson test -C build --print-errorlogs --num-processes 2
fi

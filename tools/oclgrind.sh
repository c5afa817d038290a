#!/usr/bin/env bash
# Runs op tests under Oclgrind, the OpenCL simulator that checks every work-item's memory accesses: it fails
# on any data race (--data-races), out-of-bounds access, barrier divergence or OpenCL API error
# (--check-api) it reports, and on any failed test. PoCL runs a work-group's items in loops and hides such
# bugs. Installs oclgrind (Debian 12: 21.10) through tools/setup.sh. Not --uninitialized: 21.10's checker
# reports initialised data and aborts kernels on our code (docs/testing.md says why).
# usage: bash tools/oclgrind.sh [TEST[:FILTER]...]   (default: every op test that runs in minutes, list below;
#   FILTER: only that test's cases whose names match, cmocka wildcards: conv:*_gpu*)
set -uo pipefail
cd "$(dirname "$0")/.."
# Cheapest first (docs/testing.md has the seconds each took); conv and tflite ran past 10 minutes.
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(activation batchnorm eltwise layout reduce pool resize attention linear
  'norm:*forms*' conv_transpose onnx models graph transpose 'matmul:small_*')
CLSEG_EXTRA_PACKAGES=oclgrind bash tools/setup.sh || exit 1
out=build/oclgrind
mkdir -p "$out"
# No kernel cache: every program is built by Oclgrind from today's source, so reports cite its lines.
export CLSEG_TEST_DEVICE=oclgrind CLSEG_CACHE=off CMOCKA_MESSAGE_OUTPUT=stdout
rc=0
for spec in "${tests[@]}"; do
  name=${spec%%:*} filter=
  [ "$name" = "$spec" ] || filter=${spec#*:}
  t=$name${filter:+.$(printf %s "$filter" | tr -c 'A-Za-z0-9_' '_')}
  rm -f "$out/$t.log"
  start=$SECONDS
  # The log goes through a pipe: Oclgrind reopens (and truncates) its --log file for every OpenCL context, so a
  # test that makes several contexts (user tuning rows) would keep only the last one's reports in a plain file.
  CLSEG_TEST_FILTER=$filter oclgrind --data-races --check-api --log /dev/fd/3 "./build/tests/test_$name" \
    3>&1 >"$out/$t.out" 2>&1 | cat >"$out/$t.log"
  status=${PIPESTATUS[0]}
  # Each report opens with an unindented line ("Invalid read of size 4 ...", "Read-write data race ...",
  # "Work-group divergence detected ..."); its details follow indented. Oclgrind's exit status ignores them.
  reports=0
  [ -f "$out/$t.log" ] && reports=$(grep -c '^[^[:space:]]' "$out/$t.log")
  if [ "$status" -eq 0 ] && [ "$reports" -eq 0 ]; then
    echo "oclgrind $spec: clean ($((SECONDS - start)) s)"
  else
    echo "oclgrind $spec: FAILED, exit status $status, $reports reports ($((SECONDS - start)) s)"
    [ "$reports" -eq 0 ] || head -n 40 "$out/$t.log"
    tail -n 20 "$out/$t.out"
    rc=1
  fi
done
exit $rc

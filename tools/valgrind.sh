#!/usr/bin/env bash
# Runs a subset of the test programs under valgrind (memcheck, definite leaks are errors), after a normal
# run has filled the kernel cache so that PoCL need not compile under valgrind (see tests/valgrind.supp).
# usage: bash tools/valgrind.sh [TEST...]   (default: tensor graph io metrics pool attention)
set -uo pipefail
cd "$(dirname "$0")/.."
tests=("$@"); [ ${#tests[@]} -gt 0 ] || tests=(tensor graph io metrics pool attention)
export CLSEG_TEST_DEVICE=pocl CLSEG_CACHE_DIR="$PWD/build-kernel-cache"
rc=0
for t in "${tests[@]}"; do
  ./build/tests/test_$t >/dev/null 2>&1 # warm the caches
  if valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=9 \
      --suppressions=tests/valgrind.supp ./build/tests/test_$t >/tmp/clseg-valgrind-$t.log 2>&1; then
    echo "valgrind $t: clean"
  else
    echo "valgrind $t: FAILED (see /tmp/clseg-valgrind-$t.log)"; rc=1
  fi
done
exit $rc

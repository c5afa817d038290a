#!/usr/bin/env bash
# End-to-end checks of the clseg binary: help, version, devices (table and JSON), usage errors.
set -u
clseg=$1
fails=0; passes=0
check() { # check NAME EXPECTED_EXIT COMMAND... ; output in $out
  local name=$1 want=$2; shift 2
  out=$("$@" 2>&1); local rc=$?
  if [ "$rc" -ne "$want" ]; then echo "FAIL $name: exit $rc, wanted $want; output:"; echo "$out"; fails=$((fails+1)); return 1; fi
  passes=$((passes+1)); return 0
}
contains() { # contains NAME TEXT
  if ! grep -qiF -- "$2" <<<"$out"; then echo "FAIL $1: no '$2' in:"; echo "$out"; fails=$((fails+1)); else passes=$((passes+1)); fi
}
check version 0 "$clseg" --version && contains version "clseg 0."
check help 0 "$clseg" --help && contains help "devices"
check no-args 2 "$clseg"
check bad-command 2 "$clseg" frobnicate && contains bad-command "'frobnicate' is not a command"
check devices 0 "$clseg" devices && contains devices "Portable Computing Language" && contains devices "<- auto"
check devices-verbose 0 "$clseg" devices --verbose && contains devices-verbose "driver"
check devices-help 0 "$clseg" devices --help && contains devices-help "--json"
check devices-extra 2 "$clseg" devices extra && contains devices-extra "unexpected argument 'extra'"
check devices-badopt 2 "$clseg" devices --nope
if check devices-json 0 "$clseg" devices --json; then
  if python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); assert any("Portable" in x["platform"] for x in d); assert sum(x["auto"] for x in d)==1' <<<"$out"; then
    passes=$((passes+1)); else echo "FAIL devices-json: not valid JSON with the PoCL device"; echo "$out"; fails=$((fails+1)); fi
fi
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]

#!/usr/bin/env bash
# The shared library exports the public API only (lib/clseg.map): every dynamic symbol it defines is a
# clseg_ name, none a clseg__ internal, an onnx__ helper or a generated table.
# Usage: test_symbols.sh LIBCLSEG.so
set -u
lib=$1
syms=$(nm -D --defined-only "$lib" | awk '$2 != "A" {print $3}' | sed 's/@.*//') || exit 1
bad=$(grep -v '^clseg_[^_]' <<<"$syms")
public=$(grep -c '^clseg_[^_]' <<<"$syms")
if [ -n "$bad" ]; then
  echo "FAIL: $lib exports $(wc -l <<<"$bad") non-public symbols:"; head -20 <<<"$bad"
  echo "0 passed, 1 failed"; exit 1
fi
[ "$public" -gt 100 ] || { echo "FAIL: only $public public symbols exported"; echo "0 passed, 1 failed"; exit 1; }
echo "exports $public public clseg_ symbols and nothing else"
echo "1 passed, 0 failed"

#!/usr/bin/env bash
# bench/ab.sh: two clseg builds side by side on the same models, in interleaved rounds (A, B, A, B ...), so
# that a shared, noisy machine slows both alike. Prints each round's warm median per build and, per model,
# the median over rounds and the ratio B / A, with the CPU named.
# Usage: bench/ab.sh CLSEG_A CLSEG_B ROUNDS MODEL[:WxH] ...      e.g.
#   bench/ab.sh /work/old/build/apps/clseg build/apps/clseg 5 unet256.safetensors deeplab512.safetensors:512x512
set -euo pipefail
a=$1 b=$2 rounds=$3
shift 3
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; A = $a; B = $b"
med() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
for spec in "$@"; do
  model=${spec%%:*} size=
  [ "$model" != "$spec" ] && size="--size ${spec#*:}"
  ta=() tb=()
  for r in $(seq "$rounds"); do
    for side in A B; do
      exe=$a
      [ $side = B ] && exe=$b
      # shellcheck disable=SC2086
      ms=$("$exe" bench -m "$model" $size --runs 5 --warmup 1 --json | python3 -c \
        'import json, sys; print(json.load(sys.stdin)["median_ms"])')
      if [ $side = A ]; then ta+=("$ms"); else tb+=("$ms"); fi
      echo "  round $r $side $(basename "$model") ${ms} ms"
    done
  done
  ma=$(printf '%s\n' "${ta[@]}" | med) mb=$(printf '%s\n' "${tb[@]}" | med)
  echo "$(basename "$model"): A median $ma ms, B median $mb ms, B / A $(python3 -c "print('%.3f' % ($mb / $ma))")"
done

#!/usr/bin/env bash
# Installs the build into a scratch root and builds examples/segment.c against it with pkg-config, as another
# C project would, then runs it on a sample photo.
set -euo pipefail
build=$1 src=$2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
meson install -C "$build" --destdir "$root" --no-rebuild --quiet >/dev/null
pc=$(dirname "$(find "$root" -name clseg.pc | head -1)")
lib=$(dirname "$(find "$root" -name 'libclseg.so*' | head -1)")
export PKG_CONFIG_PATH=$pc PKG_CONFIG_SYSROOT_DIR=$root
san=() # a sanitizer build's library needs its runtime first in the program too
# (grep reads all of ldd's output: with -q it could exit first, and pipefail would count ldd's SIGPIPE)
ldd "$(find "$lib" -name 'libclseg.so*' | head -1)" | grep libasan >/dev/null && san=(-fsanitize=address,undefined)
cc -std=c11 -Wall -Wextra -Werror "${san[@]}" "$src/examples/segment.c" -o "$root/segment" \
  $(pkg-config --cflags --libs clseg)
model=$(find "$root" -name selfie_segmentation.tflite | head -1)
out=$(CLSEG_DEVICE=${CLSEG_TEST_DEVICE:-auto} LD_LIBRARY_PATH=$lib "$root/segment" "$model" "$src/samples/astronaut.png" "$root/mask.png")
echo "$out"
# the astronaut fills about half of the frame, and the mask is written at the photo's size
if python3 -c "import sys; f=float(sys.argv[1]); sys.exit(0 if 30 < f < 80 else 1)" "$(sed -n 's/.*: \([0-9.]*\)% foreground/\1/p' <<<"$out")" &&
  python3 -c "import struct,sys; d=open(sys.argv[1],'rb').read(24); sys.exit(0 if d[:8]==b'\x89PNG\r\n\x1a\n' and struct.unpack('>II', d[16:24])==(512,512) else 1)" "$root/mask.png"; then
  echo "1 passed, 0 failed"
else
  echo "0 passed, 1 failed"; exit 1
fi

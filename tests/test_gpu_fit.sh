#!/usr/bin/env bash
# No shipped GPU tuning row makes a kernel spill registers: the plans of the fixture networks and the bundled model
# under the NVIDIA and AMD GPU profiles, compiled by ../shared/tools/gpu-static for their architectures
# (tools/gpu_fit.py). Skipped (exit 77) where gpu-static is missing or not set up (`gpu-static --setup`).
# Usage: test_gpu_fit.sh CLSEG_BINARY SOURCE_ROOT
set -u
clseg=$1
src=$2
m=$src/tests/fixtures/models
python3 "$src/tools/gpu_fit.py" --clseg "$clseg" --fail-on spill --profiles nvidia-sm80,nvidia-sm90,amd-gfx90a,amd-gfx1030 \
  "$m/unet_plain.safetensors" "$m/unet_gate.safetensors" "$m/unet_cbam_bilinear.safetensors" \
  "$m/unet_scse_bilinear.safetensors" "$m/deeplabv3plus_resnet18_os8_cbam.safetensors" \
  "$m/fcn_resnet18_os8.safetensors" "$src/models/selfie_segmentation.tflite" >"${TMPDIR:-/tmp}/clseg-gpu-fit.txt"
rc=$?
tail -1 "${TMPDIR:-/tmp}/clseg-gpu-fit.txt"
if [ $rc -eq 77 ]; then exit 77; fi
if [ $rc -ne 0 ]; then
  grep -E 'spills|error' "${TMPDIR:-/tmp}/clseg-gpu-fit.txt" | head -20
  echo "0 passed, 1 failed"; exit 1
fi
echo "1 passed, 0 failed"

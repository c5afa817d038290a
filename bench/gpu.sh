#!/usr/bin/env bash
# The GPU check in one go (issue 16), for a machine with a GPU lent for a few minutes: find the vendor's OpenCL
# driver, run the op and network tests on the GPU, then time clseg against PyTorch with cuDNN (FP32, TF32 off) on
# the bench/compare networks at batch 1 and 8, side by side, and print one table. Nothing is installed there.
#
#   on the development machine:  bash bench/gpu.sh --pack        (builds build/, copies the shared libraries
#                                                                 clseg links to into build/gpu-libs/)
#   on the GPU machine:          bash bench/gpu.sh [--quick]      (needs python3 with torch + CUDA for the peer;
#                                                                 without it, clseg alone is timed)
#   anywhere, to check the script: bash bench/gpu.sh --dry-run    (the CPU device planned as an NVIDIA GPU
#                                                                 would be, CLSEG_AS_DEVICE=nvidia-sm90; a few
#                                                                 tests, one network, two runs: every step once)
# Environment: CLSEG_GPU_DEVICE (default gpu), GPU_BUDGET_S (default 540: stops starting new work after it),
# PYTHON (a python3 with torch; default python3, else /usr/bin/python3 when only that one has torch).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
if [ "${1:-}" = --pack ]; then
  bash tools/setup.sh >/dev/null || exit 1
  mkdir -p build/gpu-libs
  # the libraries a bare machine may lack, except the ICD loader (the driver's own loader, or shared/gpu/lib's)
  ldd build/apps/clseg build/tests/test_conv | awk '/=> \//{print $3}' | sort -u |
    grep -E 'clblast|png|jpeg|cjson|protobuf-c|cmocka' | xargs -r cp -L -t build/gpu-libs/
  echo "packed: carry build (and build/gpu-libs) to the GPU machine; run bash bench/gpu.sh there"
  exit 0
fi
dry=0
[ "${1:-}" = --dry-run ] && dry=1
start=$(date +%s)
budget=${GPU_BUDGET_S:-540}
left() { echo $((budget - ($(date +%s) - start))); }
export LD_LIBRARY_PATH="$root/build/gpu-libs:${LD_LIBRARY_PATH:-}"
dev=${CLSEG_GPU_DEVICE:-gpu}
runs=10
if [ $dry = 1 ]; then
  dev=${CLSEG_GPU_DEVICE:-auto} runs=2
  export CLSEG_AS_DEVICE=nvidia-sm90
fi
out=${OUT:-/tmp/clseg-gpu}
mkdir -p "$out"

# 1. the driver: NVIDIA's through shared/gpu/probe.sh, else whatever ICD files the machine has
if [ -f ../shared/gpu/probe.sh ]; then
  bash ../shared/gpu/probe.sh >"$out/probe.txt" 2>&1
  icd=$(sed -n 's/.*export OCL_ICD_VENDORS=\([^ ]*\) .*/\1/p' "$out/probe.txt")
  [ -n "$icd" ] && export OCL_ICD_VENDORS=$icd LD_LIBRARY_PATH="$(cd ../shared/gpu && pwd)/lib:$LD_LIBRARY_PATH"
fi
cat "$out/probe.txt" 2>/dev/null | head -20
./build/apps/clseg devices --verbose | tee "$out/devices.txt" | head -30
[ $dry = 1 ] || ./build/apps/clseg devices | grep -q '^[0-9]*:[0-9]* *gpu' ||
  { echo "bench/gpu.sh: no OpenCL GPU found"; exit 1; }

# 2. the op and network tests on the GPU (their binaries, without meson); a failure is reported, not fatal
export CLSEG_TEST_DEVICE=$dev CLSEG_CACHE_DIR="$out/cache"
pass=0; fail=0
tests="activation attention batchnorm conv conv_transpose eltwise layout linear pool reduce resize graph models"
[ $dry = 1 ] && tests="conv_gemm graph"
for t in $tests; do
  [ "$(left)" -gt 240 ] || { echo "tests: out of time before $t"; break; }
  if (cd build/tests && timeout 120 ./test_$t >"$out/test_$t.log" 2>&1); then
    pass=$((pass + 1)); echo "test $t: ok"
  else
    fail=$((fail + 1)); echo "test $t: FAILED (tail of $out/test_$t.log)"; tail -5 "$out/test_$t.log"
  fi
done
echo "tests on the GPU: $pass passed, $fail failed"

# 3. clseg vs PyTorch + cuDNN on the bench/compare networks, batch 1 and 8
models="unet256 unet_cbam256 unet_gate256 deeplab512 fcn512"
[ "${1:-}" = --quick ] && models="unet256 deeplab512"
[ $dry = 1 ] && models="unet256"
# the python3 with PyTorch (the GPU machine's plain python3 has it; here Debian's may)
py=${PYTHON:-python3}
$py -c 'import torch' 2>/dev/null || { /usr/bin/python3 -c 'import torch' 2>/dev/null && py=/usr/bin/python3; }
$py - "$root" "$out" "$dev" "$(left)" "$runs" $models <<'EOF'
import json, os, subprocess, sys, time
root, out, dev, left, runs = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]
keys = sys.argv[6:]
t_end = time.time() + left - 20
sys.path.insert(0, os.path.join(root, "python"))
spec = {}
src = open(os.path.join(root, "bench", "compare")).read()
ns = {"__file__": os.path.join(root, "bench", "compare"), "__name__": "compare"}
exec(compile(src, "bench/compare", "exec"), ns)
for k, label, s, h, w, _ in ns["MODELS"]:
    spec[k] = (label, s, h, w)
try:
    import torch
    have_cuda = torch.cuda.is_available()
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
except Exception as e:
    print("PyTorch unavailable (%s): clseg alone" % e)
    torch, have_cuda = None, False
from clseg_torch import export
rows = []
for k in keys:
    if time.time() > t_end:
        print("out of time before", k); break
    label, s, h, w = spec[k]
    model = ns["make_model"](s, h, w, 20240808)
    path = os.path.join(out, k + ".safetensors")
    export(model, path)
    for n in (1, 8):
        r = subprocess.run([os.path.join(root, "build/apps/clseg"), "bench", "-d", dev, "-m", path,
                            "--size", "%dx%d" % (w, h), "--batch", str(n), "--runs", runs, "--json"],
                           capture_output=True, text=True, timeout=max(30, t_end - time.time()))
        j = json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 else {}
        tms = None
        if have_cuda:
            m = model.cuda().eval()
            x = torch.randn(n, s[1].get("in_channels", 3), h, w, device="cuda")
            with torch.no_grad():
                for _ in range(3):
                    m(x)
                torch.cuda.synchronize()
                ts = []
                for _ in range(10):
                    t0 = time.perf_counter(); m(x); torch.cuda.synchronize(); ts.append((time.perf_counter() - t0) * 1e3)
            tms = sorted(ts)[5]
        cms = j.get("median_ms")
        rows.append((label, n, cms, tms, r.stderr.strip()[-200:] if r.returncode else ""))
        print("%-50s batch %d: clseg %s ms, PyTorch+cuDNN %s ms" % (label, n, cms, tms), flush=True)
print("\n| model | batch | clseg ms | PyTorch+cuDNN ms (FP32, TF32 off) | clseg/PyTorch |\n|---|---|---|---|---|")
for label, n, c, t, err in rows:
    print("| %s | %d | %s | %s | %s |" % (label, n, "%.2f" % c if c else "error: " + err,
                                          "%.2f" % t if t else "-", "%.2fx" % (c / t) if c and t else "-"))
EOF
echo "bench/gpu.sh: done in $(( $(date +%s) - start )) s"

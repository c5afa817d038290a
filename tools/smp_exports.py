#!/usr/bin/env python3
"""Real-architecture check of the ONNX importer: segmentation-models-pytorch (smp) networks, the ones users
train, with random seeded weights (encoder_weights=None: nothing is downloaded), exported by torch.onnx
(the TorchScript exporter, dynamo=False) at opsets 13 and 17, run by onnxruntime and by `clseg run
--input-npy ... --npy ...`; prints per model and opset the max abs error of clseg against onnxruntime
divided by onnxruntime's max |output| ("rel"), the same for onnxruntime against float64 PyTorch (the fp32
noise, "noise"), or "unsupported: <message>" where clseg refuses.

Needs torch, segmentation-models-pytorch, onnx, onnxruntime (not in the pyenv python3, not in Debian's: see
docs/onnx.md for the venv). The models go to --work (default /tmp/smp_exports), never into the repository.
Usage:  /work/venv-smp/bin/python tools/smp_exports.py [--clseg build/apps/clseg] [--size 96]
            [--opsets 13,17] [--batch 1] [--only Unet/resnet18,...] [--keep] [--dynamo --opsets 18]
"""
import argparse
import os
import subprocess
import sys
import time
import warnings
import zlib

import numpy as np
import onnxruntime as ort
import segmentation_models_pytorch as smp
import torch

SEED = 20261203

# (architecture, encoder, extra constructor arguments); "size": an input size other than --size where
# the architecture needs one (PAN's pyramid pools the stride-32 map 3 times; UPerNet's bins 1, 2, 3, 6)
MODELS = [
    ("Unet", "resnet18", {}),
    ("Unet", "resnet34", {}),
    ("Unet", "mobilenet_v2", {}),
    ("Unet", "efficientnet-b0", {}),
    ("Unet", "timm-efficientnet-b0", {}),
    ("Unet", "mit_b0", {}),
    ("UnetPlusPlus", "resnet18", {}),
    ("FPN", "resnet34", {}),
    ("FPN", "mobilenet_v2", {}),
    ("DeepLabV3", "resnet18", {}),
    ("DeepLabV3Plus", "resnet34", {}),
    ("DeepLabV3Plus", "mobilenet_v2", {}),
    ("PSPNet", "resnet34", {}),
    ("Linknet", "resnet18", {}),
    ("MAnet", "resnet18", {}),
    ("PAN", "resnet34", {"size": 256}),
    ("UPerNet", "resnet18", {"size": 192}),
    ("Segformer", "mit_b0", {}),
    ("Unet", "tu-mobilenetv3_small_100", {}),
    ("Unet", "tu-convnext_atto", {}),
    ("DPT", "tu-vit_tiny_patch16_224", {"size": 224}),
    # more encoder families: squeeze-excitation, selective kernels, dense blocks, separable convs,
    # reparameterisable blocks, grouped convs, plain VGG
    ("Unet", "se_resnet50", {}),
    ("Unet", "timm-skresnet18", {}),
    ("Unet", "densenet121", {}),
    ("Unet", "xception", {}),
    ("Unet", "mobileone_s0", {}),
    ("FPN", "resnext50_32x4d", {}),
    ("Unet", "vgg11_bn", {}),
    ("Unet", "dpn68", {}),
    ("Unet", "timm-tf_efficientnet_lite0", {}),
]


def build(arch, enc, extra):
    torch.manual_seed(SEED ^ zlib.crc32(("%s/%s" % (arch, enc)).encode()))
    extra = {k: v for k, v in extra.items() if k != "size"}
    m = getattr(smp, arch)(encoder_name=enc, encoder_weights=None, in_channels=3, classes=3, **extra)
    # smp's EfficientNet uses a custom autograd Swish that torch.onnx cannot trace
    if hasattr(m.encoder, "set_swish"):
        m.encoder.set_swish(memory_efficient=False)
    # random BatchNorm statistics, so the folded batchnorms are not identities
    g = torch.Generator().manual_seed(SEED)
    for mod in m.modules():
        if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm) and mod.running_mean is not None:
            mod.running_mean.copy_(torch.randn(mod.running_mean.shape, generator=g) * 0.1)
            mod.running_var.copy_(torch.rand(mod.running_var.shape, generator=g) * 0.5 + 0.75)
    return m.eval()


def clseg_run(clseg, path, x, work):
    inp, outp = os.path.join(work, "in.npy"), os.path.join(work, "out.npy")
    np.save(inp, x)
    if os.path.exists(outp):
        os.remove(outp)
    r = subprocess.run([clseg, "run", "-q", "-m", path, "--input-npy", inp, "--npy", outp],
                       capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        msg = (r.stderr.strip() or r.stdout.strip()).splitlines()
        return None, " ".join(msg)[-400:]
    return np.load(outp), None


def check(a, clseg, size, opset, batch, work, keep, dynamo=False):
    arch, enc, extra = a
    name = "%s/%s" % (arch, enc)
    try:
        m = build(arch, enc, extra)
    except Exception as e:  # an encoder this smp lacks
        return name, "build failed: %s" % str(e).splitlines()[0][:200]
    size = extra.get("size", size)
    x = np.random.default_rng(SEED).uniform(-2, 2, (batch, 3, size, size)).astype(np.float32)
    path = os.path.join(work, "%s_%s_op%d%s.onnx" % (arch, enc, opset, "_dynamo" if dynamo else ""))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(m, (torch.from_numpy(x),), path, opset_version=opset, dynamo=dynamo,
                              input_names=["input"], output_names=["output"], external_data=False,
                              **({"verbose": False, "report": False} if dynamo else {}))
    except Exception as e:
        return name, "export failed: %s" % str(e).splitlines()[0][:200]
    with torch.no_grad():
        ref64 = m.double()(torch.from_numpy(x).double()).numpy()
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    want = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    scale = float(np.abs(want).max()) or 1.0
    noise = float(np.abs(want - ref64).max()) / scale
    t = time.time()
    got, err = clseg_run(clseg, path, x, work)
    dt = time.time() - t
    if not keep:
        os.remove(path)
    if err:
        return name, "unsupported: " + err if "unsupported" in err else "FAILED: " + err
    if got.shape != want.shape:
        return name, "WRONG SHAPE %s, onnxruntime %s" % (got.shape, want.shape)
    rel = float(np.abs(got - want).max()) / scale
    return name, "rel %.2e  noise %.2e  (max |y| %.3g, %dx%d, clseg %.1f s)" % (rel, noise, scale, size,
                                                                                size, dt)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clseg", default="build/apps/clseg")
    ap.add_argument("--size", type=int, default=96)  # PSPNet's bins 1, 2, 3, 6 divide 96 / 8
    ap.add_argument("--opsets", default="13,17")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--only", default="")
    ap.add_argument("--work", default="/tmp/smp_exports")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--dynamo", action="store_true", help="torch.export's exporter (needs onnxscript; opset 18+)")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    only = set(filter(None, a.only.split(",")))
    print("torch %s, segmentation-models-pytorch %s, onnxruntime %s; input %dx3x%dx%d" %
          (torch.__version__, smp.__version__, ort.__version__, a.batch, a.size, a.size))
    for spec in MODELS:
        if only and "%s/%s" % spec[:2] not in only:
            continue
        for opset in map(int, a.opsets.split(",")):
            name, res = check(spec, a.clseg, a.size, opset, a.batch, a.work, a.keep, a.dynamo)
            print("%-36s op%-3d %s" % (name, opset, res), flush=True)


if __name__ == "__main__":
    sys.exit(main())

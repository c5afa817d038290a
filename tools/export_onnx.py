#!/usr/bin/env python3
"""Exports segmentation networks to ONNX with random weights and checks clseg's ONNX import against
onnxruntime and PyTorch on the same input: max error per model, and latency of clseg (PoCL) vs onnxruntime.

Two interpreters take part, because no single one here has every package:
  * export    runs under Debian's /usr/bin/python3 (torch 1.13, torchvision, python3-onnx): builds each
              network (python/clseg_torch's U-Net family and DeepLabV3+, torchvision's FCN, DeepLabV3 and
              LR-ASPP; weights=None, aux off, seeded random weights and batchnorm statistics), exports it
              at each opset and writes MODEL.onnx, MODEL.input.npy and MODEL.torch.npy.
  * ort       runs under the interpreter with onnxruntime (`pip install onnxruntime`, the pyenv python3):
              writes MODEL.ort.npy and times onnxruntime on the CPU with 2 intra-op threads.
  * compare   (any python with numpy) runs `clseg run -m MODEL.onnx --input-npy ... --npy ...` and
              `clseg bench`, and prints one row per model: errors against both references, latencies.
  * all       does the three in turn, calling the other interpreter where needed.
  * fixtures  writes the small committed test models of tests/fixtures/onnx/ (export + ort).

Errors: err = max|clseg - ref| / max(1, |ref|) per element (the normalised error of tests/common/check.h);
peak = max|clseg - ref| / max|ref|; ort/torch = err between the two references, the fp32 noise floor.
Usage:  python3 tools/export_onnx.py all --out /tmp/onnx --clseg build/apps/clseg
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TORCH_PY = "/usr/bin/python3"
SEED = 20240611
LARGE = ["unet", "unet_cbam", "attention_unet", "deeplabv3plus_r50", "fcn_resnet50", "deeplabv3_resnet50",
         "lraspp_mobilenet_v3_large"]
OPSETS = [11, 13, 17]


# ---- export (torch side) ----
def build_model(name, tiny=False):
    import torch
    sys.path.insert(0, os.path.join(ROOT, "python"))
    from clseg_torch import models as cm
    base = 4 if tiny else 32
    if name == "unet":
        return cm.UNet(3, 2, depth=2 if tiny else 4, base=base)
    if name == "unet_cbam":
        return cm.UNet(3, 2, depth=2 if tiny else 4, base=base, attention="cbam", reduction=4 if tiny else 16)
    if name == "attention_unet":
        return cm.UNet(3, 2, depth=2 if tiny else 4, base=base, attention="gate")
    if name == "unet_bilinear":
        return cm.UNet(3, 2, depth=2, base=base, bilinear=True, attention="scse", reduction=2)
    if name == "deeplabv3plus_r50":
        return cm.DeepLabV3Plus(3, 21, "resnet50", 16)
    import torchvision.models.segmentation as seg
    if name == "fcn_resnet50":
        return seg.fcn_resnet50(weights=None, weights_backbone=None, aux_loss=False, num_classes=21)
    if name == "deeplabv3_resnet50":
        return seg.deeplabv3_resnet50(weights=None, weights_backbone=None, aux_loss=False, num_classes=21)
    if name == "lraspp_mobilenet_v3_large":
        return seg.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21)
    if name == "tiny_ops":
        return TinyOps()
    raise ValueError(name)


def tiny_ops_class():
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class TinyOps(nn.Module):
        """Operators the big networks do not cover: GELU (Erf pattern), hard-swish, leaky ReLU, reflect pad,
        avg pool with padding, nearest upsampling, a channel split, tanh, a [C, 1, 1] constant."""
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(3, 8, 3, padding=1)
            self.c2 = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=2)
            self.t = nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=1)
            self.k = nn.Parameter(torch.randn(4, 1, 1))
            self.lin = nn.Linear(4, 4)

        def forward(self, x):
            x = F.gelu(self.c1(x))
            x = F.hardswish(self.c2(F.pad(x, (1, 1, 1, 1), mode="reflect")))
            a, b = torch.split(x, 4, dim=1)
            x = F.leaky_relu(a, 0.2) * torch.tanh(b) + self.k
            x = F.avg_pool2d(x, 3, 1, 1) - 0.25
            g = self.lin(F.adaptive_avg_pool2d(x, 1).flatten(1)).sigmoid()
            x = x * g.view(1, 4, 1, 1)
            up = F.interpolate(x, scale_factor=2, mode="nearest")
            return torch.cat([self.t(x), up], 1).clamp(-2.0, 2.0)
    return TinyOps


def randomize(model, seed):
    import torch
    torch.manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    return model.eval()


def export_one(name, opset, size, out, tiny=False, dynamic=False):
    import torch
    global TinyOps
    TinyOps = tiny_ops_class()
    torch.manual_seed(SEED)
    model = randomize(build_model(name, tiny), SEED)
    x = torch.from_numpy(np.random.default_rng(SEED).uniform(-1, 1, (1, 3, size, size)).astype(np.float32))
    with torch.no_grad():
        y = model(x)
        y = y["out"] if isinstance(y, dict) else y
    stem = os.path.join(out, "%s_op%d" % (name, opset))

    class Wrap(torch.nn.Module):  # torchvision returns a dict
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, t):
            r = self.m(t)
            return r["out"] if isinstance(r, dict) else r

    axes = {"input": {2: "height", 3: "width"}, "output": {2: "height", 3: "width"}} if dynamic else None
    torch.onnx.export(Wrap(model), x, stem + ".onnx", opset_version=opset, input_names=["input"],
                      output_names=["output"], dynamic_axes=axes, do_constant_folding=True)
    np.save(stem + ".input.npy", x.numpy())
    np.save(stem + ".torch.npy", y.numpy())
    return stem


def cmd_export(a):
    os.makedirs(a.out, exist_ok=True)
    for name in a.models:
        for op in a.opsets:
            t = time.time()
            stem = export_one(name, op, a.size, a.out, a.tiny)
            print("exported %s (%.1f s, %.1f MB)" % (stem, time.time() - t, os.path.getsize(stem + ".onnx") / 1e6),
                  flush=True)


# ---- onnxruntime side ----
def ort_one(stem, runs=10):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(stem + ".onnx", so, providers=["CPUExecutionProvider"])
    x = np.load(stem + ".input.npy")
    feed = {sess.get_inputs()[0].name: x}
    y = sess.run(None, feed)[0]
    np.save(stem + ".ort.npy", y)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, feed)
        times.append((time.perf_counter() - t) * 1e3)
    return float(np.median(times))


def cmd_ort(a):
    res = {}
    for f in sorted(os.listdir(a.dir)):
        if f.endswith(".onnx") and (not a.only or any(f.startswith(m + "_op") for m in a.only)):
            stem = os.path.join(a.dir, f[:-5])
            res[f[:-5]] = ort_one(stem, a.runs)
            print("ort %s: %.1f ms" % (f, res[f[:-5]]), flush=True)
    with open(os.path.join(a.dir, "ort_times.json"), "w") as fp:
        json.dump(res, fp)


# ---- comparison ----
def err(got, ref):
    if got.shape != ref.shape:
        got = got.reshape(ref.shape) if got.size == ref.size else None
    if got is None:
        return float("nan")
    return float(np.max(np.abs(got.astype(np.float64) - ref) / np.maximum(1.0, np.abs(ref))))


def err_peak(got, ref):
    """max|got - ref| / max|ref|: the error relative to the output's scale (random-weight torchvision
    networks give logits in the hundreds, where fp32 summation order alone moves elements by ~1e-3)."""
    if got.size != ref.size:
        return float("nan")
    return float(np.max(np.abs(got.reshape(ref.shape).astype(np.float64) - ref)) / max(np.max(np.abs(ref)), 1e-30))


def clseg_latency(clseg, model, runs):
    r = subprocess.run([clseg, "bench", "-m", model, "--runs", str(runs), "--warmup", "1", "--json"],
                       capture_output=True, text=True)
    try:
        j = json.loads(r.stdout.strip().splitlines()[-1])
        for k in ("median_ms", "warm_median_ms", "ms_median", "median"):
            if k in j:
                return float(j[k])
        m = re.search(r'"(?:warm_)?median[a-z_]*"\s*:\s*([0-9.]+)', r.stdout)
        return float(m.group(1)) if m else float("nan")
    except (ValueError, IndexError):
        return float("nan")


def cmd_compare(a):
    times = {}
    tp = os.path.join(a.dir, "ort_times.json")
    if os.path.exists(tp):
        times = json.load(open(tp))
    print("%-32s %11s %11s %11s %11s %9s %9s %6s" % ("model", "err/ort", "err/torch", "peak/ort", "ort/torch",
                                                        "clseg ms", "ort ms", "ratio"))
    for f in sorted(os.listdir(a.dir)):
        if not f.endswith(".onnx") or (a.only and not any(f.startswith(m + "_op") for m in a.only)):
            continue
        stem = os.path.join(a.dir, f[:-5])
        out = stem + ".clseg.npy"
        r = subprocess.run([a.clseg, "run", "-q", "-m", stem + ".onnx", "--input-npy", stem + ".input.npy",
                            "--npy", out], capture_output=True, text=True)
        if r.returncode != 0:
            print("%-36s FAILED: %s" % (f[:-5], (r.stderr or r.stdout).strip()[:300]))
            continue
        got = np.load(out)
        ref_o = np.load(stem + ".ort.npy") if os.path.exists(stem + ".ort.npy") else None
        ref_t = np.load(stem + ".torch.npy")
        e_ort = err(got, ref_o) if ref_o is not None else float("nan")
        e_pt = err(got, ref_t)
        p_ort = err_peak(got, ref_o) if ref_o is not None else float("nan")
        o_t = err(ref_o, ref_t) if ref_o is not None else float("nan")
        ms = clseg_latency(a.clseg, stem + ".onnx", a.runs) if a.runs else float("nan")
        o = times.get(f[:-5], float("nan"))
        print("%-32s %11.2e %11.2e %11.2e %11.2e %9.1f %9.1f %6.2f" % (f[:-5], e_ort, e_pt, p_ort, o_t, ms, o,
                                                                      ms / o if o else 0), flush=True)


def cmd_all(a):
    me = os.path.abspath(__file__)
    subprocess.run([TORCH_PY, me, "export", "--out", a.out, "--size", str(a.size), "--models", *a.models,
                    "--opsets", *map(str, a.opsets)], check=True)
    try:
        import onnxruntime  # noqa: F401
        cmd_ort(argparse.Namespace(dir=a.out, runs=a.runs, only=a.models))
    except ImportError:
        subprocess.run(["python3", me, "ort", "--dir", a.out, "--runs", str(a.runs), "--only", *a.models],
                       check=True)
    cmd_compare(argparse.Namespace(dir=a.out, clseg=a.clseg, runs=a.runs, only=a.models))


# ---- committed test fixtures (tests/fixtures/onnx/) ----
FIXTURES = [("unet", 11), ("unet", 17), ("unet_cbam", 13), ("attention_unet", 17), ("unet_bilinear", 17),
            ("tiny_ops", 11), ("tiny_ops", 13)]
FIXTURE_DIR = os.path.join(ROOT, "tests", "fixtures", "onnx")


def fp16_variant(src, dst):
    """Every float initializer stored as float16 behind a Cast, as fp16-weight exports look."""
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    m = onnx.load(src)
    g = m.graph
    casts = []
    for init in g.initializer:
        if init.data_type != TensorProto.FLOAT:
            continue
        a = numpy_helper.to_array(init).astype(np.float16)
        name = init.name
        init.CopyFrom(numpy_helper.from_array(a, name + "_fp16"))
        casts.append(helper.make_node("Cast", [name + "_fp16"], [name], to=TensorProto.FLOAT,
                                      name="cast_" + name))
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    onnx.save(m, dst)


def external_variant(src, dst, location):
    import onnx
    m = onnx.load(src)
    onnx.save(m, dst, save_as_external_data=True, all_tensors_to_one_file=True, location=location,
              size_threshold=0)


def error_models(out):
    """Models that must fail: unsupported operators (several, one of another domain) and a bad external path."""
    import onnx
    from onnx import helper, TensorProto
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, 8, 8])
    nodes = [helper.make_node("Relu", ["input"], ["a"], name="ok_relu"),
             helper.make_node("Det", ["a"], ["b"], name="bad_det"),
             helper.make_node("FusedConv", ["b"], ["c"], name="bad_fused", domain="com.microsoft"),
             helper.make_node("Einsum", ["c"], ["output"], name="bad_einsum", equation="ij->ij")]
    g = helper.make_graph(nodes, "unsupported", [x], [y])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)])
    onnx.save(m, os.path.join(out, "unsupported_ops.onnx"))
    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[3, 3, 1, 1])
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "../outside.bin"), ("offset", "0"), ("length", "36")):
        e = w.external_data.add()
        e.key, e.value = k, v
    conv = helper.make_node("Conv", ["input", "w"], ["output"], name="conv")
    g = helper.make_graph([conv], "bad_external", [x], [y], initializer=[w])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]),
              os.path.join(out, "bad_external.onnx"))


def cmd_fixtures_torch(a):
    import shutil
    out = a.out
    os.makedirs(out, exist_ok=True)
    for name, op in FIXTURES:
        export_one(name, op, 32, out, tiny=True)
        os.remove(os.path.join(out, "%s_op%d.torch.npy" % (name, op)))  # the reference is onnxruntime's
    global TinyOps
    TinyOps = tiny_ops_class()
    # fp16 constants, external data, symbolic H and W: variants of the op13 CBAM U-Net and its input
    base = os.path.join(out, "unet_cbam_op13")
    fp16_variant(base + ".onnx", os.path.join(out, "unet_fp16_op13.onnx"))
    external_variant(base + ".onnx", os.path.join(out, "unet_external_op13.onnx"), "unet_external_op13.bin")
    for v in ("unet_fp16_op13", "unet_external_op13"):
        shutil.copy(base + ".input.npy", os.path.join(out, v + ".input.npy"))
    stem = export_one("unet", 17, 32, out, tiny=True, dynamic=True)
    for ext in (".onnx", ".input.npy"):
        os.replace(stem + ext, os.path.join(out, "unet_dynamic_op17" + ext))
    os.remove(stem + ".torch.npy")
    export_one("unet", 17, 32, out, tiny=True)  # restore the static one the dynamic export replaced
    os.remove(stem + ".torch.npy")
    error_models(out)


def cmd_fixtures(a):
    me = os.path.abspath(__file__)
    subprocess.run([TORCH_PY, me, "fixtures-torch", "--out", a.out], check=True)
    for f in sorted(os.listdir(a.out)):
        stem = os.path.join(a.out, f[:-5])
        if f.endswith(".onnx") and os.path.exists(stem + ".input.npy"):
            ort_one(stem, 1)
            print("fixture %s" % f)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("--out", required=True)
    e.add_argument("--size", type=int, default=256)
    e.add_argument("--models", nargs="+", default=LARGE)
    e.add_argument("--opsets", nargs="+", type=int, default=OPSETS)
    e.add_argument("--tiny", action="store_true")
    o = sub.add_parser("ort")
    o.add_argument("--dir", required=True)
    o.add_argument("--runs", type=int, default=10)
    o.add_argument("--only", nargs="*")
    c = sub.add_parser("compare")
    c.add_argument("--dir", required=True)
    c.add_argument("--clseg", default=os.path.join(ROOT, "build", "apps", "clseg"))
    c.add_argument("--runs", type=int, default=5)
    c.add_argument("--only", nargs="*")
    al = sub.add_parser("all")
    al.add_argument("--out", required=True)
    al.add_argument("--size", type=int, default=256)
    al.add_argument("--models", nargs="+", default=LARGE)
    al.add_argument("--opsets", nargs="+", type=int, default=OPSETS)
    al.add_argument("--clseg", default=os.path.join(ROOT, "build", "apps", "clseg"))
    al.add_argument("--runs", type=int, default=5)
    for n in ("fixtures", "fixtures-torch"):
        sub.add_parser(n).add_argument("--out", default=FIXTURE_DIR)
    a = p.parse_args()
    {"export": cmd_export, "ort": cmd_ort, "compare": cmd_compare, "all": cmd_all, "fixtures": cmd_fixtures,
     "fixtures-torch": cmd_fixtures_torch}[a.cmd](a)


if __name__ == "__main__":
    main()

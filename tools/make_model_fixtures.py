#!/usr/bin/python3
# Run with Debian's /usr/bin/python3 (torch 1.13): writes the whole-network fixtures in
# tests/fixtures/models/ that tests/test_models.c checks clseg against.
"""Generate network fixtures from python/clseg_torch.

Usage: /usr/bin/python3 tools/make_model_fixtures.py [--build-dir DIR] [--large] [--out DIR]

For each case: a seeded network with random weights and batchnorm statistics calibrated on random images
and then perturbed (so every fold and fusion is exercised with non-trivial values), exported with
clseg_torch.export() as CASE.safetensors, and CASE.clsf holding the input "x" and PyTorch's output "y"
(computed in float64 from the float32 weights and input, stored as float32; format in
tests/fixtures/README.md). index.txt lists the cases.

With --build-dir (a meson build dir that has tests/test_models), the C builders' declared parameter names
and shapes are checked against each network's state_dict, and with --large bigger networks (ResNet-50 at
full width) are written to a temporary folder and run through the C side only: too big to commit.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
from clseg_torch import export, write_safetensors  # noqa: E402
from clseg_torch.models import NonLocal, build  # noqa: E402

BASE_SEED = 20240917
MAX_TOTAL = 1800 * 1024
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]

# name, network, config, input shape N, C, H, W
CASES = [
    ("unet_plain", "unet", dict(in_channels=3, classes=2, depth=2, base=4), (2, 3, 32, 32)),
    ("unet_cbam_bilinear", "unet",
     dict(in_channels=3, classes=3, depth=3, base=4, bilinear=1, attention="cbam", reduction=4), (1, 3, 32, 32)),
    ("unet_gate", "unet", dict(in_channels=1, classes=1, depth=3, base=4, attention="gate"), (1, 1, 32, 32)),
    ("unet_scse_bilinear", "unet",
     dict(in_channels=3, classes=2, depth=2, base=6, bilinear=1, attention="scse", reduction=4), (1, 3, 32, 32)),
    # all three attentions at once, batch 2 (CBAM and scSE pool per image), non-square, transposed-conv up
    ("unet_combined", "unet",
     dict(in_channels=3, classes=2, depth=2, base=4, attention="combined", reduction=2), (2, 3, 16, 32)),
    ("fcn_resnet18_os8", "fcn", dict(in_channels=3, classes=3, backbone="resnet18", output_stride=8, width=3),
     (1, 3, 32, 32)),
    ("fcn_resnet50_os16", "fcn", dict(in_channels=3, classes=2, backbone="resnet50", output_stride=16, width=2),
     (1, 3, 32, 32)),
    ("deeplabv3plus_resnet18_os16", "deeplabv3plus",
     dict(in_channels=3, classes=2, backbone="resnet18", output_stride=16, rates=[2, 4, 6], aspp_channels=8,
          low_level_channels=6, decoder_channels=8, width=2), (1, 3, 64, 64)),
    ("deeplabv3plus_resnet18_os8_cbam", "deeplabv3plus",
     dict(in_channels=3, classes=2, backbone="resnet18", output_stride=8, rates=[1, 2, 3], aspp_channels=8,
          low_level_channels=4, decoder_channels=8, width=2, cbam=1, reduction=2), (1, 3, 32, 48)),
    # B0's depths, heads (1, 2, 5, 8) and spatial reductions (8, 4, 2, 1) at small widths (4, 8, 10, 16: heads
    # of width 4, 4, 2, 2), decoder 8; batch 2 (attention per image), non-square
    ("segformer_b0_tiny", "segformer",
     dict(variant="b0", in_channels=3, classes=2, dims=[4, 8, 10, 16], decoder_channels=8), (2, 3, 64, 32)),
    # ResNet-18 at width 4 (head: 32 -> 8 inner channels, PAM query / key of 1), output stride 8, batch 2
    ("danet_resnet18_os8", "danet", dict(in_channels=3, classes=2, backbone="resnet18", output_stride=8, width=4),
     (2, 3, 48, 40)),
]

# Blocks checked on their own by a test_models case of their own (not in index.txt): name, module, input.
BLOCKS = [("nonlocal_block", "nl", lambda: NonLocal(8), (2, 8, 5, 7))]

# Checked through the C side from a temporary folder, never committed (tens of MB each).
LARGE = [
    ("fcn_resnet50_full", "fcn", dict(classes=21), (1, 3, 64, 64)),
    ("deeplabv3plus_resnet50_full", "deeplabv3plus", dict(classes=21), (1, 3, 64, 64)),
    ("unet_full_gate", "unet", dict(classes=2, attention="gate"), (1, 3, 64, 64)),
    ("segformer_b0_full", "segformer", dict(variant="b0", classes=4), (2, 3, 64, 64)),
    ("danet_resnet18_w16", "danet", dict(classes=3, backbone="resnet18", width=16), (2, 3, 64, 64)),
    ("segformer_b2_full", "segformer", dict(variant="b2", classes=4), (1, 3, 64, 64)),
]


def randomize(model, gen, calib):
    """Seeded weights, batchnorm scales and shifts; running statistics from a calibration batch, then
    perturbed, so activations stay O(1) through deep networks and no batchnorm is the identity."""
    u = lambda t, lo, hi: torch.rand(t.shape, generator=gen) * (hi - lo) + lo  # noqa: E731
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() > 1:
                p.copy_(u(p, -1.0, 1.0) * (3.0 / p[0].numel()) ** 0.5)  # variance 1 / fan-in
            else:
                p.copy_(u(p, -0.2, 0.2))
        for name, p in model.named_parameters():
            if name.endswith("gamma"):  # DANet's attention weights: zero at init, made to matter here
                p.copy_(u(p, 0.5, 1.0))
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):  # scales near 1, as for batchnorm
                m.weight.copy_(u(m.weight, 0.5, 1.5))
        for m in bns:
            m.weight.copy_(u(m.weight, 0.5, 1.5))
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration pass
        model.train()
        model(calib)
        for m in bns:
            m.running_mean.add_(u(m.running_mean, -0.1, 0.1) * m.running_var.sqrt())
            m.running_var.mul_(u(m.running_var, 0.7, 1.3)).add_(0.05)  # no near-constant channel blown up
            m.momentum = 0.1
    return model.eval()


def clsf(params, arrays):
    text = "".join("%s=%s\n" % kv for kv in params).encode("ascii")
    out = [b"CLSF", struct.pack("<II", 1, len(text)), text, struct.pack("<I", len(arrays))]
    for name, t in arrays:
        t = t.detach().to(torch.float32).contiguous()
        nb = name.encode("ascii")
        out.append(struct.pack("<I", len(nb)) + nb + struct.pack("<I", t.dim()))
        out.append(struct.pack("<%dq" % t.dim(), *t.shape))
        out.append(t.numpy().astype("<f4").tobytes())
    return b"".join(out)


def make_case(out_dir, name, network, config, shape):
    seed = BASE_SEED ^ zlib.crc32(name.encode())
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = build(network, config)
    calib = torch.rand((4,) + tuple(shape[1:]), generator=gen) * 2 - 1
    randomize(model, gen, calib)
    x = torch.rand(shape, generator=gen) * 2 - 1
    with torch.no_grad():
        y = model.double()(x.double())
    model.float()
    classes = ["class%d" % i for i in range(model.config["classes"])]
    cin = model.config["in_channels"]
    mpath = os.path.join(out_dir, name + ".safetensors")
    export(model, mpath, classes=classes, mean=(MEAN * cin)[:cin], std=(STD * cin)[:cin],
           input_size=list(shape[2:]))
    params = [("network", network), ("config", json.dumps(model.config, sort_keys=True)), ("seed", seed),
              ("torch", torch.__version__)]
    cpath = os.path.join(out_dir, name + ".clsf")
    with open(cpath, "wb") as fp:
        fp.write(clsf(params, [("x", x), ("y", y)]))
    return model, os.path.getsize(mpath) + os.path.getsize(cpath)


def make_block(out_dir, name, prefix, make, shape):
    """A block's weights (under prefix, no clseg metadata) and its input and output, for test_models."""
    seed = BASE_SEED ^ zlib.crc32(name.encode())
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = randomize(make(), gen, torch.rand((4,) + tuple(shape[1:]), generator=gen) * 2 - 1)
    x = torch.rand(shape, generator=gen) * 2 - 1
    with torch.no_grad():
        y = model.double()(x.double())
    model.float()
    state = {prefix + "." + k: v.numpy() for k, v in model.state_dict().items()
             if not k.endswith(".num_batches_tracked")}
    mpath, cpath = os.path.join(out_dir, name + ".safetensors"), os.path.join(out_dir, name + ".clsf")
    write_safetensors(mpath, state)
    with open(cpath, "wb") as fp:
        fp.write(clsf([("block", name), ("seed", seed), ("torch", torch.__version__)], [("x", x), ("y", y)]))
    return os.path.getsize(mpath) + os.path.getsize(cpath)


def c_declared(test_bin, network, config):
    """name -> shape of every parameter the C builder declares (test_models --declared)."""
    out = subprocess.run([test_bin, "--declared", network, json.dumps(config)], check=True,
                         capture_output=True, text=True).stdout
    decl = {}
    for line in out.splitlines():
        name, dims = line.split(" ", 1)
        decl[name] = [int(d) for d in dims.split()]
    return decl


def check_names(test_bin, name, network, model):
    decl = c_declared(test_bin, network, model.config)
    state = {k: list(v.shape) for k, v in model.state_dict().items() if not k.endswith(".num_batches_tracked")}
    missing, extra = sorted(set(state) - set(decl)), sorted(set(decl) - set(state))
    assert not missing and not extra, "%s: only in PyTorch %s, only in C %s" % (name, missing, extra)
    squeeze = lambda s: [d for d in s if d != 1]  # noqa: E731  [1, C] vs [1, C, 1, 1]
    bad = [k for k in state if squeeze(state[k]) != squeeze(decl[k])]
    assert not bad, "%s: shapes differ: %s" % (name, [(k, state[k], decl[k]) for k in bad])


def run_large(test_bin):
    with tempfile.TemporaryDirectory() as tmp:
        for name, network, config, shape in LARGE:
            model, size = make_case(tmp, name, network, config, shape)
            check_names(test_bin, name, network, model)
            r = subprocess.run([test_bin, "--check", os.path.join(tmp, name + ".safetensors"),
                                os.path.join(tmp, name + ".clsf")], capture_output=True, text=True)
            print("%-34s %6.1f MB  %s" % (name, size / 1e6, (r.stdout + r.stderr).strip()))
            if r.returncode:
                sys.exit("%s: the C side differs from PyTorch" % name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.normpath(os.path.join(HERE, "..", "tests", "fixtures", "models")))
    ap.add_argument("--build-dir", help="meson build dir with tests/test_models, for the C-side checks")
    ap.add_argument("--large", action="store_true", help="also check full-size networks from a temp dir")
    args = ap.parse_args()
    test_bin = os.path.join(args.build_dir, "tests", "test_models") if args.build_dir else None
    os.makedirs(args.out, exist_ok=True)
    for old in os.listdir(args.out):
        if old.endswith((".clsf", ".safetensors")):
            os.remove(os.path.join(args.out, old))
    total = 0
    for name, network, config, shape in CASES:
        model, size = make_case(args.out, name, network, config, shape)
        if test_bin:
            check_names(test_bin, name, network, model)
        total += size
        print("%-34s %7d bytes" % (name, size))
    for name, prefix, make, shape in BLOCKS:
        size = make_block(args.out, name, prefix, make, shape)
        total += size
        print("%-34s %7d bytes" % (name, size))
    if total > MAX_TOTAL:
        sys.exit("fixtures total %d bytes, over the %d limit" % (total, MAX_TOTAL))
    with open(os.path.join(args.out, "index.txt"), "w") as fp:
        fp.write("# Written by tools/make_model_fixtures.py: one case a line (CASE.safetensors + CASE.clsf).\n")
        fp.write("".join(c[0] + "\n" for c in CASES))
    print("wrote %d cases, %d bytes, to %s (torch %s)%s" % (len(CASES), total, args.out, torch.__version__,
          "; C names checked" if test_bin else "; C names not checked (no --build-dir)"))
    if args.large:
        if not test_bin:
            sys.exit("--large needs --build-dir")
        run_large(test_bin)


if __name__ == "__main__":
    main()

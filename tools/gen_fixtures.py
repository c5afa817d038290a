#!/usr/bin/python3
# Run with Debian's /usr/bin/python3 (torch 1.13 from the python3-torch package): writes the PyTorch
# fixtures in tests/fixtures/ (.clsf, format in tests/fixtures/README.md) that tests/test_ref.c
# checks the C references against.
"""Generate operator fixtures from PyTorch.

Usage: /usr/bin/python3 tools/gen_fixtures.py [OUT_DIR]   (default: tests/fixtures beside tools/)

Every case draws its float32 inputs from a torch.Generator seeded with BASE_SEED ^ crc32(case name),
so a case's data does not change when other cases are added. Expected outputs are computed in
float64 from those float32 inputs and stored as float32: as close to exact as float32 allows.
"""
import math
import os
import struct
import sys
import zlib

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.fusion import fuse_conv_bn_weights

BASE_SEED = 20240917
MAX_FILE = 100 * 1024
MAX_TOTAL = 1024 * 1024

ACT_NAMES = ("none", "relu", "relu6", "clip", "leaky_relu", "sigmoid", "hard_sigmoid", "hard_swish",
             "tanh", "gelu")


class Case:
    """One fixture: a name, the params block and named arrays, with its own seeded generator."""

    def __init__(self, name, op):
        self.name = name
        self.seed = BASE_SEED ^ zlib.crc32(name.encode())
        self.gen = torch.Generator().manual_seed(self.seed)
        self.params = [("op", op), ("seed", self.seed)]
        self.arrays = []

    def rand(self, *shape, lo=-1.0, hi=1.0):
        """float32 uniform in [lo, hi], returned as float64 for the computation."""
        t = torch.rand(*shape, generator=self.gen, dtype=torch.float32) * (hi - lo) + lo
        return t.double()

    def param(self, **kw):
        for k, v in kw.items():
            self.params.append((k.replace("__", "."), v))

    def add(self, name, t):
        if t is not None:
            self.arrays.append((name, t.detach().to(torch.float32).contiguous()))

    def encode(self):
        lines = []
        for k, v in self.params:
            if isinstance(v, float):
                v = "%.9g" % v
            lines.append("%s=%s\n" % (k, v))
        text = "".join(lines).encode("ascii")
        out = [b"CLSF", struct.pack("<II", 1, len(text)), text, struct.pack("<I", len(self.arrays))]
        for name, t in self.arrays:
            nb = name.encode("ascii")
            out.append(struct.pack("<I", len(nb)) + nb + struct.pack("<I", t.dim()))
            out.append(struct.pack("<%dq" % t.dim(), *t.shape))
            out.append(struct.pack("<%df" % t.numel(), *t.flatten().tolist()))
        return b"".join(out)


def f32(v):
    """The float32 value of v, as a Python float (what C's strtof reads back)."""
    return struct.unpack("<f", struct.pack("<f", v))[0]


def act_apply(x, kind, alpha=0.0, beta=0.0):
    if kind == "none":
        return x
    if kind == "relu":
        return F.relu(x)
    if kind == "relu6":
        return F.relu6(x)
    if kind == "clip":
        return torch.clamp(x, min=alpha, max=beta)
    if kind == "leaky_relu":
        return F.leaky_relu(x, alpha if alpha else 0.01)
    if kind == "sigmoid":
        return torch.sigmoid(x)
    if kind == "hard_sigmoid":
        if alpha == 0.0 and beta == 0.0:
            return F.hardsigmoid(x)
        return torch.clamp((alpha if alpha else 1 / 6) * x + (beta if beta else 0.5), 0.0, 1.0)
    if kind == "hard_swish":
        return F.hardswish(x)
    if kind == "tanh":
        return torch.tanh(x)
    if kind == "gelu":
        return F.gelu(x)
    raise ValueError(kind)


def dflt(v):
    """Stride, dilation and groups of 1 are written as 0, the API default, so refs see both."""
    return 0 if v == 1 else v


def act_params(c, kind, alpha=0.0, beta=0.0):
    c.param(act__kind=kind, act__alpha=f32(alpha), act__beta=f32(beta))


# ---- activations ----
def activation_cases():
    specs = [("relu", 0, 0), ("relu6", 0, 0), ("clip", -0.5, 0.7), ("leaky_relu", 0, 0),
             ("leaky_relu", 0.2, 0), ("sigmoid", 0, 0), ("hard_sigmoid", 0, 0),
             ("hard_sigmoid", 0.25, 0.4), ("hard_swish", 0, 0), ("tanh", 0, 0), ("gelu", 0, 0)]
    for kind, a, b in specs:
        suffix = "" if a == 0 and b == 0 else "_custom"
        c = Case("activation_%s%s" % (kind, suffix), "activation")
        act_params(c, kind, a, b)
        x = c.rand(2, 3, 5, 7, lo=-8.0, hi=8.0)
        c.add("x", x)
        c.add("y", act_apply(x, kind, f32(a), f32(b)))
        yield c


# ---- convolution ----
def conv2d_case(name, n, cin, h, w, cout, kh, kw, stride=(1, 1), pad=(0, 0, 0, 0), dil=(1, 1),
                groups=1, bias=True, residual=False, act="none"):
    """pad = (top, left, bottom, right); asymmetric pads go through F.pad so PyTorch itself pads."""
    c = Case(name, "conv2d")
    c.param(stride_h=dflt(stride[0]), stride_w=dflt(stride[1]), pad_top=pad[0], pad_left=pad[1],
            pad_bottom=pad[2], pad_right=pad[3], dilation_h=dflt(dil[0]), dilation_w=dflt(dil[1]),
            groups=dflt(groups))
    act_params(c, act)
    x = c.rand(n, cin, h, w)
    wt = c.rand(cout, cin // groups, kh, kw)
    b = c.rand(cout) if bias else None
    if pad[0] == pad[2] and pad[1] == pad[3]:
        y = F.conv2d(x, wt, b, stride, (pad[0], pad[1]), dil, groups)
    else:
        y = F.conv2d(F.pad(x, (pad[1], pad[3], pad[0], pad[2])), wt, b, stride, 0, dil, groups)
    res = c.rand(*y.shape) if residual else None
    if res is not None:
        y = y + res
    for k, v in (("x", x), ("w", wt), ("bias", b), ("residual", res), ("y", act_apply(y, act))):
        c.add(k, v)
    return c


def conv2d_cases():
    yield conv2d_case("conv2d_basic", 1, 3, 7, 9, 4, 3, 3, pad=(1, 1, 1, 1))
    yield conv2d_case("conv2d_stride2_nobias", 2, 3, 9, 7, 5, 3, 3, stride=(2, 2),
                      pad=(1, 1, 1, 1), bias=False)
    yield conv2d_case("conv2d_stride_hw", 1, 2, 11, 8, 3, 3, 2, stride=(3, 2))
    yield conv2d_case("conv2d_asym_pad", 1, 3, 6, 7, 4, 3, 2, pad=(1, 2, 0, 1))
    yield conv2d_case("conv2d_asym_pad_stride2", 2, 2, 7, 9, 3, 4, 4, stride=(2, 2),
                      pad=(2, 1, 1, 2))
    yield conv2d_case("conv2d_dilated", 1, 3, 9, 9, 4, 3, 3, pad=(2, 2, 2, 2), dil=(2, 2))
    yield conv2d_case("conv2d_dilated_stride", 1, 2, 13, 11, 3, 3, 3, stride=(2, 1),
                      pad=(1, 3, 1, 3), dil=(2, 3))
    yield conv2d_case("conv2d_groups2", 1, 4, 7, 7, 6, 3, 3, pad=(1, 1, 1, 1), groups=2)
    yield conv2d_case("conv2d_depthwise", 2, 5, 9, 7, 5, 3, 3, stride=(2, 2), pad=(1, 1, 1, 1),
                      groups=5)
    yield conv2d_case("conv2d_depthwise_mult2", 1, 3, 8, 9, 6, 5, 5, pad=(2, 2, 2, 2), groups=3,
                      bias=False)
    yield conv2d_case("conv2d_1x1", 2, 8, 5, 3, 6, 1, 1)
    yield conv2d_case("conv2d_spatial_1x1", 2, 8, 1, 1, 4, 1, 1, act="relu")
    yield conv2d_case("conv2d_spatial_1x1_k3", 1, 4, 1, 1, 3, 3, 3, pad=(1, 1, 1, 1))
    yield conv2d_case("conv2d_residual_relu", 2, 3, 7, 5, 3, 3, 3, pad=(1, 1, 1, 1), residual=True,
                      act="relu")
    yield conv2d_case("conv2d_hard_swish", 1, 4, 6, 6, 4, 3, 3, pad=(1, 1, 1, 1), act="hard_swish")
    yield conv2d_case("conv2d_odd_k5", 2, 3, 17, 15, 2, 5, 5, stride=(3, 3), pad=(2, 2, 2, 2))


def convt_case(name, n, cin, h, w, cout, kh, kw, stride=(1, 1), pad=(0, 0, 0, 0), opad=(0, 0),
               dil=(1, 1), groups=1, bias=True, act="none"):
    """pad = (top, left, bottom, right), removed from the full output; asymmetric pads crop."""
    c = Case(name, "conv_transpose2d")
    c.param(stride_h=dflt(stride[0]), stride_w=dflt(stride[1]), pad_top=pad[0], pad_left=pad[1],
            pad_bottom=pad[2], pad_right=pad[3], output_pad_h=opad[0], output_pad_w=opad[1],
            dilation_h=dflt(dil[0]), dilation_w=dflt(dil[1]), groups=dflt(groups))
    act_params(c, act)
    x = c.rand(n, cin, h, w)
    wt = c.rand(cin, cout // groups, kh, kw)
    b = c.rand(cout) if bias else None
    if pad[0] == pad[2] and pad[1] == pad[3]:
        y = F.conv_transpose2d(x, wt, b, stride, (pad[0], pad[1]), opad, groups, dil)
    else:
        full = F.conv_transpose2d(x, wt, b, stride, 0, opad, groups, dil)
        y = full[:, :, pad[0]:full.shape[2] - pad[2], pad[1]:full.shape[3] - pad[3]]
    for k, v in (("x", x), ("w", wt), ("bias", b), ("y", act_apply(y, act))):
        c.add(k, v)
    return c


def convt_cases():
    yield convt_case("convt_basic", 1, 3, 5, 6, 4, 3, 3, pad=(1, 1, 1, 1))
    yield convt_case("convt_k4_s2", 1, 4, 5, 4, 3, 4, 4, stride=(2, 2), pad=(1, 1, 1, 1))
    yield convt_case("convt_k2_s2_batch2", 2, 4, 3, 5, 2, 2, 2, stride=(2, 2), bias=False)
    yield convt_case("convt_output_pad", 1, 3, 4, 5, 3, 3, 3, stride=(2, 2), pad=(1, 1, 1, 1),
                     opad=(1, 1))
    yield convt_case("convt_stride_hw_opad", 1, 2, 3, 4, 3, 3, 2, stride=(3, 2), opad=(2, 1))
    yield convt_case("convt_dilated", 1, 2, 4, 4, 3, 3, 3, stride=(2, 2), pad=(1, 1, 1, 1),
                     opad=(1, 0), dil=(2, 2))
    yield convt_case("convt_groups2", 2, 4, 4, 3, 6, 3, 3, stride=(2, 2), pad=(1, 1, 1, 1),
                     groups=2)
    yield convt_case("convt_depthwise", 1, 3, 5, 5, 3, 3, 3, stride=(2, 2), groups=3)
    yield convt_case("convt_asym_pad", 1, 3, 4, 5, 2, 3, 3, stride=(2, 2), pad=(0, 1, 2, 1),
                     opad=(1, 1))
    yield convt_case("convt_spatial_1x1", 2, 4, 1, 1, 3, 2, 2, stride=(2, 2), act="relu")
    yield convt_case("convt_act_leaky", 1, 3, 5, 4, 4, 3, 3, pad=(1, 1, 1, 1), act="leaky_relu")


# ---- pooling and resize ----
def pool_case(name, kind, shape, k, stride=None, pad=(0, 0, 0, 0), ceil=False, include=True):
    c = Case(name, "pool2d")
    s = stride or (0, 0)
    c.param(kind=kind, kernel_h=k[0], kernel_w=k[1], stride_h=s[0], stride_w=s[1], pad_top=pad[0],
            pad_left=pad[1], pad_bottom=pad[2], pad_right=pad[3], ceil_mode=int(ceil),
            count_include_pad=int(include))
    x = c.rand(*shape)
    st = stride or k
    if pad[0] == pad[2] and pad[1] == pad[3]:
        if kind == "max":
            y = F.max_pool2d(x, k, st, (pad[0], pad[1]), ceil_mode=ceil)
        else:
            y = F.avg_pool2d(x, k, st, (pad[0], pad[1]), ceil_mode=ceil, count_include_pad=include)
    else:
        # Asymmetric: pad explicitly (-inf for max, zeros for avg: count_include_pad), then pool.
        assert not ceil and (kind == "max" or include)
        xp = F.pad(x, (pad[1], pad[3], pad[0], pad[2]), value=-math.inf if kind == "max" else 0.0)
        y = F.max_pool2d(xp, k, st) if kind == "max" else F.avg_pool2d(xp, k, st)
    c.add("x", x)
    c.add("y", y)
    return c


def pool_cases():
    yield pool_case("pool_max_k2s2", "max", (1, 3, 8, 6), (2, 2))
    yield pool_case("pool_max_k3s2_pad1", "max", (2, 2, 9, 7), (3, 3), (2, 2), (1, 1, 1, 1))
    yield pool_case("pool_max_ceil", "max", (1, 2, 7, 7), (2, 2), ceil=True)
    # 5 rows, k2 s2 pad1 ceil: a 4th window would start in the bottom padding, so PyTorch drops it.
    yield pool_case("pool_max_ceil_pad_drop", "max", (1, 2, 5, 6), (2, 2), (2, 2), (1, 1, 1, 1),
                    ceil=True)
    yield pool_case("pool_max_ceil_pad_k3", "max", (1, 2, 6, 8), (3, 3), (2, 2), (1, 1, 1, 1),
                    ceil=True)
    yield pool_case("pool_max_rect", "max", (1, 2, 9, 8), (3, 2), (2, 1))
    yield pool_case("pool_max_asym_pad", "max", (1, 2, 7, 6), (3, 3), (2, 2), (0, 1, 2, 1))
    yield pool_case("pool_avg_k2s2", "avg", (2, 3, 6, 6), (2, 2))
    yield pool_case("pool_avg_pad_include", "avg", (1, 2, 7, 9), (3, 3), (2, 2), (1, 1, 1, 1))
    yield pool_case("pool_avg_pad_exclude", "avg", (1, 2, 7, 9), (3, 3), (2, 2), (1, 1, 1, 1),
                    include=False)
    yield pool_case("pool_avg_ceil_include", "avg", (1, 2, 8, 7), (3, 3), (2, 2), (1, 1, 1, 1),
                    ceil=True)
    yield pool_case("pool_avg_ceil_exclude", "avg", (1, 2, 8, 7), (3, 3), (2, 2), (1, 1, 1, 1),
                    ceil=True, include=False)
    yield pool_case("pool_avg_ceil_nopad", "avg", (1, 2, 7, 5), (2, 2), ceil=True)
    yield pool_case("pool_avg_ceil_pad_drop_include", "avg", (2, 2, 5, 6), (2, 2), (2, 2),
                    (1, 1, 1, 1), ceil=True)
    yield pool_case("pool_avg_ceil_pad_drop_exclude", "avg", (1, 2, 6, 5), (2, 2), (2, 2),
                    (1, 1, 1, 1), ceil=True, include=False)
    yield pool_case("pool_avg_asym_pad", "avg", (1, 2, 6, 7), (2, 3), (2, 2), (1, 0, 0, 2))
    for kind in ("max", "avg"):
        c = Case("global_pool_%s" % kind, "global_pool")
        c.param(kind=kind)
        x = c.rand(2, 3, 7, 5)
        c.add("x", x)
        c.add("y", F.adaptive_max_pool2d(x, 1) if kind == "max" else F.adaptive_avg_pool2d(x, 1))
        yield c
    c = Case("global_pool_avg_spatial_1x1", "global_pool")
    c.param(kind="avg")
    x = c.rand(2, 4, 1, 1)
    c.add("x", x)
    c.add("y", F.adaptive_avg_pool2d(x, 1))
    yield c


def resize_case(name, shape, mode, size=None, factor=None, align=False):
    c = Case(name, "resize")
    x = c.rand(*shape)
    kw = {} if mode == "nearest" else {"align_corners": align}
    if factor is not None:
        y = F.interpolate(x, scale_factor=factor, mode=mode, **kw)
        sh, sw = f32(1.0 / factor[0]), f32(1.0 / factor[1])
    else:
        y = F.interpolate(x, size=size, mode=mode, **kw)
        sh = sw = 0.0
    c.param(mode=mode, align_corners=int(align), scale_h=sh, scale_w=sw)
    c.add("x", x)
    c.add("y", y)
    return c


def resize_cases():
    yield resize_case("resize_nearest_up2", (1, 2, 4, 5), "nearest", size=(8, 10))
    yield resize_case("resize_nearest_down_odd", (2, 2, 7, 9), "nearest", size=(3, 4))
    yield resize_case("resize_nearest_up_odd", (1, 2, 3, 5), "nearest", size=(7, 11))
    yield resize_case("resize_nearest_scale1_5", (1, 2, 5, 7), "nearest", factor=(1.5, 1.5))
    # 4 rows * 1.2 -> 4 and 5 columns * 2.1 -> 10 still use floor(dst * scale). Keep C > 1: torch
    # 1.13's CPU kernel short-cuts equal and doubled sizes (scale ignored) only when N * C == 1.
    yield resize_case("resize_nearest_scale_no_shortcut", (1, 2, 4, 5), "nearest",
                      factor=(1.2, 2.1))
    yield resize_case("resize_bilinear_up", (1, 2, 5, 7), "bilinear", size=(11, 13))
    yield resize_case("resize_bilinear_up_align", (1, 2, 5, 7), "bilinear", size=(11, 13),
                      align=True)
    yield resize_case("resize_bilinear_down", (2, 2, 9, 9), "bilinear", size=(4, 5))
    yield resize_case("resize_bilinear_down_align", (2, 2, 9, 9), "bilinear", size=(4, 5),
                      align=True)
    yield resize_case("resize_bilinear_scale1_7", (1, 2, 5, 6), "bilinear", factor=(1.7, 1.3))
    yield resize_case("resize_bilinear_scale_align", (1, 2, 5, 6), "bilinear", factor=(1.7, 2.0),
                      align=True)
    yield resize_case("resize_bilinear_from_1x1", (1, 3, 1, 1), "bilinear", size=(4, 3))
    yield resize_case("resize_bilinear_from_1x1_align", (1, 3, 1, 1), "bilinear", size=(4, 3),
                      align=True)
    yield resize_case("resize_bilinear_to_1x1_align", (1, 2, 5, 4), "bilinear", size=(1, 1),
                      align=True)


# ---- normalisation and elementwise ----
def bn_params(c, n):
    return (c.rand(n, lo=0.5, hi=1.5), c.rand(n, lo=-0.5, hi=0.5), c.rand(n, lo=-0.5, hi=0.5),
            c.rand(n, lo=0.5, hi=1.5))


def norm_cases():
    for name, eps, act in (("batchnorm_default", 0.0, "none"),
                           ("batchnorm_eps_relu", 1e-3, "relu")):
        c = Case(name, "batchnorm")
        c.param(eps=f32(eps))
        act_params(c, act)
        x = c.rand(2, 3, 5, 7, lo=-2, hi=2)
        gamma, beta, mean, var = bn_params(c, 3)
        y = F.batch_norm(x, mean, var, gamma, beta, False, 0.0, eps if eps else 1e-5)
        for k, v in (("x", x), ("gamma", gamma), ("beta", beta), ("mean", mean), ("var", var),
                     ("y", act_apply(y, act))):
            c.add(k, v)
        yield c
    for name, bias, eps in (("batchnorm_fold_bias", True, 0.0),
                            ("batchnorm_fold_nobias", False, 1e-3)):
        c = Case(name, "batchnorm_fold")
        c.param(eps=f32(eps), cout=4, per_out=3 * 3 * 3)
        w = c.rand(4, 3, 3, 3)
        b = c.rand(4) if bias else None
        gamma, beta, mean, var = bn_params(c, 4)
        fw, fb = fuse_conv_bn_weights(w, b, mean, var, eps if eps else 1e-5, gamma, beta)
        for k, v in (("weight", w), ("bias", b), ("gamma", gamma), ("beta", beta), ("mean", mean),
                     ("var", var), ("weight_folded", fw), ("bias_folded", fb)):
            c.add(k, v)
        yield c


def binary_cases():
    ops = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}
    specs = [("binary_add_same", "add", (2, 3, 4, 5), (2, 3, 4, 5), "none"),
             ("binary_sub_bcast_nc11", "sub", (2, 3, 5, 4), (2, 3, 1, 1), "none"),
             ("binary_mul_bcast_n1hw", "mul", (2, 3, 5, 4), (2, 1, 5, 4), "none"),
             ("binary_div_bcast_1c11", "div", (2, 3, 3, 5), (1, 3, 1, 1), "none"),
             ("binary_add_both_bcast", "add", (2, 1, 4, 3), (2, 3, 1, 1), "relu"),
             ("binary_mul_sigmoid", "mul", (1, 2, 3, 3), (1, 2, 3, 3), "sigmoid"),
             ("binary_sub_a_bcast", "sub", (1, 4, 1, 1), (1, 4, 3, 2), "tanh")]
    for name, op, sa, sb, act in specs:
        c = Case(name, "binary")
        c.param(binary_op=op)
        act_params(c, act)
        a = c.rand(*sa)
        b = c.rand(*sb, lo=0.5, hi=2.0) if op == "div" else c.rand(*sb)
        c.add("a", a)
        c.add("b", b)
        c.add("y", act_apply(ops[op](a, b), act))
        yield c


# ---- channel layout, reductions, linear ----
def layout_cases():
    c = Case("concat_three", "concat")
    xs = [c.rand(2, ch, 3, 4) for ch in (2, 1, 3)]
    c.param(count=3)
    for i, x in enumerate(xs):
        c.add("x%d" % i, x)
    c.add("y", torch.cat(xs, 1))
    yield c
    c = Case("slice_channels_mid", "slice_channels")
    c.param(c_start=2)
    x = c.rand(2, 6, 3, 5)
    c.add("x", x)
    c.add("y", x[:, 2:5])
    yield c
    for name, mode, pads, value in (("pad_constant_asym", "constant", (1, 2, 0, 3), 0.5),
                                    ("pad_reflect_asym", "reflect", (2, 0, 1, 3), 0.0),
                                    ("pad_reflect_max", "reflect", (3, 4, 3, 4), 0.0)):
        c = Case(name, "pad")
        c.param(mode=mode, top=pads[0], left=pads[1], bottom=pads[2], right=pads[3],
                value=f32(value))
        x = c.rand(2, 2, 4, 5)
        torch_pad = (pads[1], pads[3], pads[0], pads[2])
        y = F.pad(x, torch_pad, mode="constant", value=value) if mode == "constant" else \
            F.pad(x, torch_pad, mode="reflect")
        c.add("x", x)
        c.add("y", y)
        yield c
    for kind in ("mean", "max"):
        c = Case("reduce_channels_%s" % kind, "reduce_channels")
        c.param(kind=kind)
        x = c.rand(2, 5, 3, 7)
        c.add("x", x)
        c.add("y", x.mean(1, keepdim=True) if kind == "mean" else x.amax(1, keepdim=True))
        yield c
    c = Case("softmax_channels_wide", "softmax_channels")
    x = c.rand(2, 6, 3, 5, lo=-20.0, hi=20.0)
    c.add("x", x)
    c.add("y", torch.softmax(x, 1))
    yield c
    c = Case("argmax_channels_random", "argmax_channels")
    x = c.rand(2, 7, 4, 5)
    c.add("x", x)
    c.add("y", torch.argmax(x, 1, keepdim=True).double())
    yield c
    c = Case("argmax_channels_ties", "argmax_channels")
    x = torch.floor(c.rand(1, 5, 6, 6, lo=0.0, hi=2.999))  # values 0, 1, 2: many ties
    c.add("x", x)
    c.add("y", torch.argmax(x, 1, keepdim=True).double())
    yield c


def linear_cases():
    for name, shape, m, bias, act in (("linear_bias_relu", (2, 3, 2, 2), 5, True, "relu"),
                                      ("linear_nobias_1x1", (3, 7, 1, 1), 4, False, "none")):
        c = Case(name, "linear")
        act_params(c, act)
        x = c.rand(*shape)
        k = shape[1] * shape[2] * shape[3]
        w = c.rand(m, k)
        b = c.rand(m) if bias else None
        y = act_apply(F.linear(x.flatten(1), w, b), act).reshape(shape[0], m, 1, 1)
        for kk, v in (("x", x), ("w", w), ("bias", b), ("y", y)):
            c.add(kk, v)
        yield c


# ---- attention blocks: small modules written as the papers' code does ----
def randomize(c, module):
    """Replaces every parameter and batchnorm statistic with seeded draws; eval mode, float64."""
    for name, p in module.named_parameters():
        is_gamma = "bn" in name and "weight" in name  # batchnorm scales stay away from zero
        p.data = c.rand(*p.shape, lo=0.5, hi=1.5) if is_gamma else c.rand(*p.shape)
    for mod in module.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean = c.rand(mod.num_features, lo=-0.5, hi=0.5)
            mod.running_var = c.rand(mod.num_features, lo=0.5, hi=1.5)
    return module.double().eval()


class ChannelGate(nn.Module):
    """CBAM channel gate (use_max) or SE gate: a shared MLP on global pools, sigmoid, scale."""

    def __init__(self, ch, r, bias, use_max):
        super().__init__()
        self.fc1, self.fc2, self.use_max = nn.Linear(ch, r, bias), nn.Linear(r, ch, bias), use_max

    def forward(self, x):
        mlp = lambda v: self.fc2(F.relu(self.fc1(v.flatten(1))))  # noqa: E731
        s = mlp(F.adaptive_avg_pool2d(x, 1))
        if self.use_max:
            s = s + mlp(F.adaptive_max_pool2d(x, 1))
        return x * torch.sigmoid(s)[:, :, None, None]


class SpatialGate(nn.Module):
    """CBAM spatial gate: ChannelPool (max, then mean), KxK conv, optional BN, sigmoid, scale."""

    def __init__(self, k, bias, bn):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, k, padding=(k - 1) // 2, bias=bias)
        self.bn = nn.BatchNorm2d(1, eps=1e-5, momentum=0.01) if bn else None

    def forward(self, x):
        pooled = torch.cat((x.max(1, keepdim=True)[0], x.mean(1, keepdim=True)), 1)
        s = self.conv(pooled)
        if self.bn is not None:
            s = self.bn(s)
        return x * torch.sigmoid(s)


class SCSE(nn.Module):
    def __init__(self, ch, r):
        super().__init__()
        self.cse = ChannelGate(ch, r, True, False)
        self.sse = nn.Conv2d(ch, 1, 1)

    def forward(self, x):
        return self.cse(x) + x * torch.sigmoid(self.sse(x))


class AttentionGate(nn.Module):
    """Attention U-Net's grid attention block (2D, 'concatenation'), optional output conv + BN."""

    def __init__(self, cx, cg, ci, s, theta_bias, out_conv, out_bn):
        super().__init__()
        self.theta = nn.Conv2d(cx, ci, s, stride=s, bias=theta_bias)
        self.phi = nn.Conv2d(cg, ci, 1)
        self.psi = nn.Conv2d(ci, 1, 1)
        self.out = nn.Conv2d(cx, cx, 1) if out_conv else None
        self.bn = nn.BatchNorm2d(cx) if out_bn else None

    def forward(self, x, g):
        theta = self.theta(x)
        phi = F.interpolate(self.phi(g), size=theta.shape[2:], mode="bilinear", align_corners=False)
        a = torch.sigmoid(self.psi(F.relu(theta + phi)))
        alpha = F.interpolate(a, size=x.shape[2:], mode="bilinear", align_corners=False)
        y = x * alpha
        if self.out is not None:
            y = self.out(y)
        if self.bn is not None:
            y = self.bn(y)
        return y, alpha


def add_bn(c, bn, prefix="bn_"):
    if bn is not None:
        for k, v in (("gamma", bn.weight), ("beta", bn.bias), ("mean", bn.running_mean),
                     ("var", bn.running_var)):
            c.add(prefix + k, v)


def gate_cases():
    for name, shape, r, bias in (("cbam_channel_bias", (2, 8, 5, 3), 2, True),
                                 ("cbam_channel_nobias", (1, 6, 4, 7), 3, False),
                                 ("cbam_channel_spatial_1x1", (2, 4, 1, 1), 2, True)):
        c = Case(name, "cbam_channel_gate")
        m = randomize(c, ChannelGate(shape[1], r, bias, True))
        x = c.rand(*shape)
        for k, v in (("x", x), ("w1", m.fc1.weight), ("b1", m.fc1.bias), ("w2", m.fc2.weight),
                     ("b2", m.fc2.bias), ("y", m(x))):
            c.add(k, v)
        yield c
    for name, shape, k, bias, bn in (("cbam_spatial_k7_bn", (2, 4, 9, 8), 7, False, True),
                                     ("cbam_spatial_k3_bias", (1, 5, 6, 7), 3, True, False),
                                     ("cbam_spatial_k7_plain", (1, 3, 5, 5), 7, False, False),
                                     ("cbam_spatial_k5_bias_bn", (2, 3, 7, 4), 5, True, True)):
        c = Case(name, "cbam_spatial_gate")
        c.param(bn_eps=0.0)
        m = randomize(c, SpatialGate(k, bias, bn))
        x = c.rand(*shape)
        c.add("x", x)
        c.add("w", m.conv.weight)
        c.add("bias", m.conv.bias)
        add_bn(c, m.bn)
        c.add("y", m(x))
        yield c
    c = Case("se_batch2", "se_gate")
    m = randomize(c, ChannelGate(6, 3, True, False))
    x = c.rand(2, 6, 5, 4)
    for k, v in (("x", x), ("w1", m.fc1.weight), ("b1", m.fc1.bias), ("w2", m.fc2.weight),
                 ("b2", m.fc2.bias), ("y", m(x))):
        c.add(k, v)
    yield c
    c = Case("scse_batch2", "scse_gate")
    m = randomize(c, SCSE(6, 2))
    x = c.rand(2, 6, 4, 5)
    for k, v in (("x", x), ("w1", m.cse.fc1.weight), ("b1", m.cse.fc1.bias),
                 ("w2", m.cse.fc2.weight), ("b2", m.cse.fc2.bias),
                 ("ws", m.sse.weight.reshape(1, -1)), ("bs", m.sse.bias),
                 ("y", m(x))):
        c.add(k, v)
    yield c


def attention_gate_cases():
    specs = [  # name, x shape, g shape, ci, stride, theta bias, out conv, out bn
        ("attention_gate_s1", (1, 4, 8, 8), (1, 6, 4, 4), 3, 1, False, False, False),
        ("attention_gate_s2", (1, 4, 8, 8), (1, 6, 4, 4), 3, 2, False, False, False),
        ("attention_gate_s2_odd_out_bn", (2, 3, 9, 7), (2, 5, 5, 4), 2, 2, False, True, True),
        ("attention_gate_s1_theta_bias_out_bn", (2, 4, 6, 5), (2, 3, 3, 3), 4, 1, True, True, True),
        ("attention_gate_s2_out_nobn", (1, 3, 6, 6), (1, 4, 2, 2), 2, 2, False, True, False),
    ]
    for name, xs, gs, ci, s, tb, oc, ob in specs:
        c = Case(name, "attention_gate")
        c.param(theta_stride=s, bn_eps=0.0)
        m = randomize(c, AttentionGate(xs[1], gs[1], ci, s, tb, oc, ob))
        x, g = c.rand(*xs), c.rand(*gs)
        y, alpha = m(x, g)
        for k, v in (("x", x), ("g", g), ("w_theta", m.theta.weight), ("b_theta", m.theta.bias),
                     ("w_phi", m.phi.weight), ("b_phi", m.phi.bias), ("w_psi", m.psi.weight),
                     ("b_psi", m.psi.bias)):
            c.add(k, v)
        if m.out is not None:
            c.add("w_out", m.out.weight)
            c.add("b_out", m.out.bias)
        add_bn(c, m.bn)
        c.add("alpha", alpha)
        c.add("y", y)
        yield c


GROUPS = (activation_cases, conv2d_cases, convt_cases, pool_cases, resize_cases, norm_cases,
          binary_cases, layout_cases, linear_cases, gate_cases, attention_gate_cases)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.normpath(os.path.join(here, "..", "tests", "fixtures"))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else default
    os.makedirs(out_dir, exist_ok=True)
    for old in os.listdir(out_dir):  # cases that were renamed or removed must not linger
        if old.endswith(".clsf"):
            os.remove(os.path.join(out_dir, old))
    names, total = [], 0
    with torch.no_grad():
        for group in GROUPS:
            for c in group():
                data = c.encode()
                if len(data) > MAX_FILE:
                    sys.exit("%s: %d bytes, over the %d limit" % (c.name, len(data), MAX_FILE))
                with open(os.path.join(out_dir, c.name + ".clsf"), "wb") as fp:
                    fp.write(data)
                names.append(c.name + ".clsf")
                total += len(data)
    if len(set(names)) != len(names):
        sys.exit("duplicate case names")
    if total > MAX_TOTAL:
        sys.exit("fixtures total %d bytes, over the %d limit" % (total, MAX_TOTAL))
    with open(os.path.join(out_dir, "index.txt"), "w") as fp:
        fp.write("# Written by tools/gen_fixtures.py: every fixture, one per line. Do not edit.\n")
        fp.write("".join(n + "\n" for n in sorted(names)))
    print("wrote %d fixtures, %d bytes, to %s (torch %s)"
          % (len(names), total, out_dir, torch.__version__))


if __name__ == "__main__":
    main()

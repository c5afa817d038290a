#!/usr/bin/python3
# Run with Debian's /usr/bin/python3 (torch 1.13): writes the PyTorch fixtures of softmax, layer_norm and
# group_norm on tensors of rank 3-4 into tests/fixtures/norm/ (.clsf as tools/gen_fixtures.py writes them,
# which owns tests/fixtures/ itself and removes every other .clsf there), checked by tests/test_norm.c.
"""Usage: /usr/bin/python3 tools/make_norm_fixtures.py [OUT_DIR]   (default: tests/fixtures/norm)

Inputs are float32 from each case's seeded generator (gen_fixtures.Case); outputs are computed by
torch.nn.functional in float64 and stored as float32.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import MAX_FILE, Case  # noqa: E402


def layernorm(name, shape, naxes, eps, affine=True, shift=0.0):
    """F.layer_norm over the last naxes dims: clseg axis -naxes, naxes 0."""
    c = Case(name, "layernorm")
    x = c.rand(*shape, lo=shift - 2.0, hi=shift + 2.0)
    pshape = shape[len(shape) - naxes:]
    w = c.rand(*pshape, lo=0.5, hi=2.0) if affine else None
    b = c.rand(*pshape) if affine else None
    c.param(axis=-naxes, naxes=0, eps=eps)
    c.add("x", x), c.add("gamma", w), c.add("beta", b)
    c.add("y", F.layer_norm(x, pshape, w, b, eps))
    return c


def layernorm_channels(name, shape, eps):
    """The channel LayerNorm of NCHW (ConvNeXt): layer_norm over C of the NHWC permutation."""
    c = Case(name, "layernorm")
    x = c.rand(*shape)
    w, b = c.rand(shape[1], lo=0.5, hi=2.0), c.rand(shape[1])
    y = F.layer_norm(x.permute(0, 2, 3, 1), (shape[1],), w, b, eps).permute(0, 3, 1, 2)
    c.param(axis=1, naxes=1, eps=eps)
    c.add("x", x), c.add("gamma", w), c.add("beta", b), c.add("y", y)
    return c


def groupnorm(name, shape, groups, eps, affine=True):
    c = Case(name, "groupnorm")
    x = c.rand(*shape, lo=-3.0, hi=5.0)
    w = c.rand(shape[1], lo=0.5, hi=2.0) if affine else None
    b = c.rand(shape[1]) if affine else None
    c.param(groups=groups, eps=eps)
    c.add("x", x), c.add("gamma", w), c.add("beta", b)
    c.add("y", F.group_norm(x, groups, w, b, eps))
    return c


def softmax(name, shape, axis, log):
    c = Case(name, "softmax")
    x = c.rand(*shape, lo=-20.0, hi=20.0)
    c.param(axis=axis, log=int(log))
    c.add("x", x)
    c.add("y", (F.log_softmax if log else F.softmax)(x, dim=axis))
    return c


def cases():
    return [
        layernorm("layernorm_tokens", (2, 7, 32), 1, 1e-5),
        layernorm("layernorm_last2", (2, 3, 5, 6), 2, 1e-3),
        layernorm("layernorm_noaffine_shifted", (3, 17, 9), 1, 1e-5, affine=False, shift=40.0),
        layernorm_channels("layernorm_channels_nchw", (2, 8, 5, 7), 1e-6),
        groupnorm("groupnorm_g4", (2, 8, 5, 7), 4, 1e-5),
        groupnorm("groupnorm_instance", (2, 6, 9, 3), 6, 1e-5),
        groupnorm("groupnorm_1d_noaffine", (3, 4, 11), 2, 1e-3, affine=False),
        softmax("softmax_dim1", (2, 3, 5, 17), 1, False),
        softmax("log_softmax_last", (2, 3, 5, 17), -1, True),
    ]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.normpath(os.path.join(here, "..", "tests", "fixtures", "norm"))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else default
    os.makedirs(out_dir, exist_ok=True)
    total = 0
    with torch.no_grad():
        for c in cases():
            data = c.encode()
            if len(data) > MAX_FILE:
                sys.exit("%s: %d bytes, over the %d limit" % (c.name, len(data), MAX_FILE))
            with open(os.path.join(out_dir, c.name + ".clsf"), "wb") as fp:
                fp.write(data)
            total += len(data)
    print("wrote %d fixtures, %d bytes, to %s (torch %s)" % (len(cases()), total, out_dir,
                                                             torch.__version__))


if __name__ == "__main__":
    main()

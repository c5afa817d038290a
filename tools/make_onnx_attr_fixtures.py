#!/usr/bin/env python3
"""Writes tests/fixtures/onnx_attrs/: one-node ONNX models of the attributes of MaxPool, AveragePool, Pad,
Conv and ConvTranspose that tests/test_onnx_attrs.c checks against onnxruntime (issue 19).

Same tools and conventions as tools/make_onnx_fixtures.py (onnx, onnxruntime, numpy in the pyenv python3):
per case STEM.onnx, STEM.input.npy and STEM.ort.npy; index.txt lists every case the C test must run
("STEM<TAB>what it checks"); the cases clseg refuses are written without .npy and are not in index.txt
(the C test names them with the message it expects). Inputs and weights are seeded (SEED ^ crc32(stem)).
Usage:  python3 tools/make_onnx_attr_fixtures.py [--out tests/fixtures/onnx_attrs]
"""
import argparse
import os
import sys

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_onnx_fixtures import ROOT, init, model, rng_for, save  # noqa: E402

X_POOL = (1, 2, 7, 9)  # odd sizes: SAME totals are odd, ceil_mode adds a window
X_PAD = (1, 3, 4, 5)


def one_node(out, stem, opset, op, attrs, shape, inits=(), extra_inputs=(), index=None, what=""):
    """A model x -> op(x, *extra_inputs) -> y; index: the list to append (stem, what) to, None for a
    refused case (no onnxruntime run)."""
    vi = helper.make_tensor_value_info
    node = helper.make_node(op, ["x"] + list(extra_inputs), ["y"], name="n_" + stem, **attrs)
    m = model([node], [vi("x", TensorProto.FLOAT, list(shape))], [vi("y", TensorProto.FLOAT, None)],
              list(inits), opset, what)
    if index is None:
        save(out, stem, m)
        return
    save(out, stem, m, rng_for(stem).uniform(-2, 2, shape).astype(np.float32))
    index.append((stem, what))


def describe(op, attrs):
    return op + " " + " ".join("%s=%s" % kv for kv in sorted(attrs.items()))


def pool_cases(out, idx):
    cases = [  # (opset, op, attrs)
        (7, "MaxPool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
        (11, "MaxPool", dict(kernel_shape=[3, 3], pads=[2, 0, 1, 2])),  # beyond half the kernel
        (11, "MaxPool", dict(kernel_shape=[3, 2], strides=[2, 1], dilations=[2, 3], pads=[1, 1, 2, 0])),
        (13, "MaxPool", dict(kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)),
        (18, "MaxPool", dict(kernel_shape=[3, 3], strides=[2, 2], dilations=[2, 2], pads=[1, 1, 1, 1],
                             ceil_mode=1)),
        (17, "MaxPool", dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")),
        (17, "MaxPool", dict(kernel_shape=[4, 4], strides=[2, 3], auto_pad="SAME_LOWER")),
        (13, "MaxPool", dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="VALID")),
        (7, "AveragePool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
        (7, "AveragePool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1)),
        (11, "AveragePool", dict(kernel_shape=[3, 3], strides=[1, 2], pads=[2, 1, 0, 2], count_include_pad=1)),
        (13, "AveragePool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[2, 1, 0, 2], ceil_mode=1,
                                 count_include_pad=1)),
        (17, "AveragePool", dict(kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)),
        (17, "AveragePool", dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")),
        (17, "AveragePool", dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER", count_include_pad=1)),
        (18, "AveragePool", dict(kernel_shape=[2, 4], strides=[1, 1], auto_pad="SAME_LOWER", count_include_pad=1)),
        (19, "AveragePool", dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="VALID", ceil_mode=1)),
        (19, "AveragePool", dict(kernel_shape=[2, 3], strides=[1, 2], dilations=[2, 2], pads=[1, 1, 1, 1])),
        (19, "AveragePool", dict(kernel_shape=[2, 3], strides=[2, 1], dilations=[3, 2], pads=[1, 2, 1, 0],
                                 count_include_pad=1, ceil_mode=1)),
    ]
    for i, (opset, op, attrs) in enumerate(cases):
        stem = "%s_%d_op%d" % ("maxpool" if op == "MaxPool" else "avgpool", i, opset)
        one_node(out, stem, opset, op, attrs, X_POOL, index=idx, what=describe(op, attrs))
    # refused: the Indices output; a pad as large as the kernel (onnxruntime refuses it too)
    vi = helper.make_tensor_value_info
    node = helper.make_node("MaxPool", ["x"], ["y", "ind"], name="n_maxpool_indices_op13",
                            kernel_shape=[2, 2])
    m = model([node], [vi("x", TensorProto.FLOAT, list(X_POOL))],
              [vi("y", TensorProto.FLOAT, None), vi("ind", TensorProto.INT64, None)], [], 13)
    save(out, "maxpool_indices_op13", m)
    one_node(out, "maxpool_bigpad_op13", 13, "MaxPool", dict(kernel_shape=[2, 2], pads=[0, 2, 0, 0]), X_POOL)
    # SAME with dilations: onnxruntime's output size (5 x 4 here) is not the spec's ceil(in / stride)
    one_node(out, "maxpool_same_dilated_op18", 18, "MaxPool",
             dict(kernel_shape=[3, 2], strides=[1, 2], dilations=[2, 2], auto_pad="SAME_UPPER"), X_POOL)


def pad_cases(out, idx):
    """Pad-2 (attributes; opsets 7, 10), Pad-11/13 (pads, constant_value inputs), Pad-18/19 (axes input)."""
    def ints(name, v):
        return init(name, np.array(v, np.int64))

    cases = [  # (opset, mode, pads, value, axes)
        (7, "constant", [0, 0, 1, 2, 0, 0, 2, 1], 1.5, None),  # Pad-2: attributes
        (10, "reflect", [0, 0, 2, 1, 0, 0, 3, 4], None, None),
        (7, "edge", [0, 1, 1, 0, 0, 2, 0, 3], None, None),
        (11, "constant", [0, 2, 1, 0, 0, 1, 0, 2], -2.5, None),
        (11, "reflect", [0, 1, 0, 0, 0, 2, 1, 1], None, None),
        (13, "edge", [0, 2, 1, 1, 0, 1, 2, 0], None, None),
        (13, "constant", [0, -1, 2, -2, 0, 1, -1, 3], 0.25, None),  # crop and pad
        (13, "reflect", [0, 0, -1, 2, 0, 0, 2, -2], None, None),
        (13, "edge", [0, -1, 1, -1, 0, 0, -1, 2], None, None),
        (18, "constant", [1, -2, 2, 1], 3.0, [1, 3]),
        (18, "edge", [2, 1], None, [-1]),
        (19, "reflect", [1, 1, 2, 2], None, [-2, 1]),
    ]
    for i, (opset, mode, pads, value, axes) in enumerate(cases):
        stem = "pad_%s_%d_op%d" % (mode, i, opset)
        attrs, inits, extra = {"mode": mode}, [], []
        if opset < 11:
            attrs["pads"] = pads
            if value is not None:
                attrs["value"] = value
        else:
            inits.append(ints("pads", pads))
            extra.append("pads")
            if value is not None or axes is not None:
                extra.append("value" if value is not None else "")
                if value is not None:
                    inits.append(init("value", np.array(value, np.float32)))
            if axes is not None:
                inits.append(ints("axes", axes))
                extra.append("axes")
        what = "Pad mode=%s pads=%s value=%s axes=%s" % (mode, pads, value, axes)
        one_node(out, stem, opset, "Pad", attrs, X_PAD, inits, extra, idx, what)
    # refused: padding the batch, wrap mode, pads computed from the input
    one_node(out, "pad_batch_op13", 13, "Pad", {"mode": "constant"}, X_PAD,
             [ints("pads", [1, 0, 0, 0, 0, 0, 0, 0])], ["pads"])
    one_node(out, "pad_wrap_op19", 19, "Pad", {"mode": "wrap"}, X_PAD,
             [ints("pads", [0, 0, 1, 1, 0, 0, 1, 1])], ["pads"])
    one_node(out, "pad_reflect_big_op13", 13, "Pad", {"mode": "reflect"}, X_PAD,
             [ints("pads", [0, 0, 4, 0, 0, 0, 0, 0])], ["pads"])


def conv_cases(out, idx):
    cases = [  # (opset, cin, cout, k, attrs)
        (7, 2, 3, 3, dict(strides=[2, 2], auto_pad="SAME_UPPER")),
        (11, 2, 3, 4, dict(strides=[2, 2], auto_pad="SAME_LOWER")),
        (13, 2, 3, 4, dict(strides=[2, 3], auto_pad="SAME_UPPER")),
        (13, 2, 3, 3, dict(strides=[2, 2], auto_pad="VALID")),
        (17, 2, 4, 3, dict(dilations=[2, 3], pads=[2, 0, 1, 3])),  # onnxruntime: no SAME with dilations
        (17, 2, 4, 3, dict(dilations=[2, 2], strides=[2, 1], auto_pad="NOTSET", pads=[0, 2, 1, 1])),
        (11, 3, 6, 3, dict(group=3, pads=[1, 1, 1, 1])),  # depthwise, channel multiplier 2
        (13, 3, 9, 3, dict(group=3, strides=[2, 2], auto_pad="SAME_UPPER")),  # multiplier 3
        (17, 6, 9, 3, dict(group=3, pads=[2, 0, 1, 1], dilations=[1, 2])),
        (18, 4, 8, 1, dict(group=2, strides=[2, 2])),
        (13, 6, 4, 3, dict(group=2, pads=[0, 1, 2, 1])),
    ]
    for i, (opset, cin, cout, k, attrs) in enumerate(cases):
        stem = "conv_%d_op%d" % (i, opset)
        r = rng_for(stem + ".w")
        g = attrs.get("group", 1)
        w = (r.standard_normal((cout, cin // g, k, k)) * 0.3).astype(np.float32)
        b = (r.standard_normal(cout) * 0.1).astype(np.float32)
        what = "Conv cin=%d cout=%d k=%d %s" % (cin, cout, k, describe("", attrs).strip())
        one_node(out, stem, opset, "Conv", attrs, (1, cin, 7, 9), [init("w", w), init("b", b)], ["w", "b"],
                 idx, what)


def convt_cases(out, idx):
    cases = [  # (opset, cin, cout, k, bias, attrs)
        (11, 2, 3, 3, True, dict(strides=[2, 2], auto_pad="SAME_UPPER")),
        (11, 2, 3, 3, True, dict(strides=[2, 2], auto_pad="SAME_LOWER")),
        (13, 2, 3, 4, False, dict(strides=[3, 2], auto_pad="SAME_UPPER", dilations=[1, 2])),
        (13, 2, 3, 4, True, dict(strides=[2, 3], auto_pad="SAME_LOWER", output_padding=[1, 0])),
        (13, 2, 3, 2, True, dict(strides=[3, 3], auto_pad="SAME_UPPER")),  # kernel < stride
        (17, 2, 3, 3, True, dict(strides=[2, 2], output_padding=[1, 1], pads=[1, 0, 0, 2])),
        # the full output is 11 x 15: totals 1 (odd) and 2, then 1 below it (onnxruntime allows less than
        # a stride past it)
        (17, 2, 3, 3, True, dict(strides=[2, 2], output_shape=[10, 13])),
        (17, 2, 3, 3, True, dict(strides=[2, 2], output_shape=[10, 13], auto_pad="SAME_UPPER")),
        (17, 2, 3, 3, True, dict(strides=[2, 2], output_shape=[10, 13], auto_pad="SAME_LOWER")),
        (18, 2, 3, 3, True, dict(strides=[2, 2], output_shape=[12, 16])),
        (13, 4, 6, 3, True, dict(group=2, strides=[2, 1], dilations=[2, 1], pads=[1, 2, 0, 1])),
        (13, 3, 3, 3, True, dict(group=3, strides=[2, 2], pads=[1, 1, 1, 1])),
        (17, 3, 6, 2, False, dict(group=3, strides=[2, 2])),
    ]
    for i, (opset, cin, cout, k, bias, attrs) in enumerate(cases):
        stem = "convt_%d_op%d" % (i, opset)
        r = rng_for(stem + ".w")
        g = attrs.get("group", 1)
        inits = [init("w", (r.standard_normal((cin, cout // g, k, k)) * 0.3).astype(np.float32))]
        if bias:
            inits.append(init("b", (r.standard_normal(cout) * 0.1).astype(np.float32)))
        what = "ConvTranspose cin=%d cout=%d k=%d bias=%d %s" % (cin, cout, k, bias, describe("", attrs).strip())
        one_node(out, stem, opset, "ConvTranspose", attrs, (1, cin, 5, 7), inits,
                 ["w", "b"] if bias else ["w"], idx, what)
    # refused: negative pads (onnxruntime refuses them too)
    w = init("w", np.ones((2, 3, 3, 3), np.float32))
    one_node(out, "convt_negpad_op13", 13, "ConvTranspose", dict(pads=[-1, 0, 0, 0]), (1, 2, 5, 7), [w], ["w"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "onnx_attrs"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    ort.set_default_logger_severity(3)
    idx = []
    pool_cases(a.out, idx)
    pad_cases(a.out, idx)
    conv_cases(a.out, idx)
    convt_cases(a.out, idx)
    with open(os.path.join(a.out, "index.txt"), "w") as f:
        f.write("# written by tools/make_onnx_attr_fixtures.py: STEM<TAB>what it checks\n")
        for stem, what in idx:
            f.write("%s\t%s\n" % (stem, what))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes the hand-built ONNX fixtures of tests/fixtures/onnx/ that test the graph reader and the
Resize / Upsample mapping (tests/test_onnx.c), with onnxruntime's outputs as the reference.

Needs onnx, onnxruntime and numpy (`pip install onnx onnxruntime`, the pyenv python3); no torch: the
graphs are written node by node with onnx.helper, so each one holds exactly the attributes under test.
Usage:  python3 tools/make_onnx_fixtures.py [--out tests/fixtures/onnx]

Per model STEM: STEM.onnx, STEM.input.npy (float32) and STEM.ort.npy (onnxruntime's output, float32).
Models that onnxruntime must not run (a cycle, a dangling input, refused attributes) have no .npy.
  * order_fp16_op17        converter-style graph: a float16 input cast to float by a Cast node stored
                           last, the other nodes shuffled (a file that is not in topological order);
                           order_fp16_io_op17: the same ending in a Cast to float16 (stored first)
  * cycle_self_op13        a node reading its own output; cycle_op13: a cycle through three nodes;
                           cycle_input_op13: a node overwriting the graph input it reads
  * dangling_op13          a node reading a value that nothing produces
  * unnamed_init_op13      an initializer without a name; twice_op13: two nodes writing one value
  * fp16_all_op13          float16 throughout (input, weights, a GELU with sqrt 2 in float16, output)
  * resize_{nearest,linear}_op{11,13,18}: one branch per (coordinate_transformation_mode,
                           nearest_mode; tf_half_pixel_for_nn too for nearest), each x -> sizes 8x11 (non-integer up) -> scales 0.6 x 0.5
                           (down) -> scales 2 x 3 (per axis); the branches are concatenated on channels,
                           branch k in channels 2k, 2k + 1 (the list is in the model's doc_string)
  * resize_hps_op19        half_pixel_symmetric (opset 19), linear and nearest
  * resize_to1_op13        outputs of height 1 (pytorch_half_pixel and align_corners special cases)
  * resize_2x2_to_4x6_op13 per-axis sizes from a 2x2 input
  * upsample_op7, upsample_op9, resize_op10: the old operators (scales attribute, scales input)
  * resize_not_larger_op18, resize_not_smaller_op18: keep_aspect_ratio_policy not_larger and
    not_smaller (one scale for both axes, rounded sizes)
  * resize_refused_op13, resize_cubic_op13, resize_hps_op18, resize_antialias_op18,
    resize_channels_op13, resize_tfnn_op19: what clseg refuses (tf_crop_and_resize, cubic,
    half_pixel_symmetric before opset 19, tf_half_pixel_for_nn from 19, antialiased linear
    downscale, a resize of the channels)
Inputs are seeded (SEED ^ crc32(stem)), so one model does not change when others are added.
"""
import argparse
import os
import zlib

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SEED = 20261203
LIMIT = 100 * 1024  # bytes a fixture file

CTMS = ["half_pixel", "align_corners", "asymmetric", "pytorch_half_pixel"]
NEAREST_MODES = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]


def rng_for(stem):
    return np.random.default_rng(SEED ^ zlib.crc32(stem.encode()))


def init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def model(nodes, inputs, outputs, inits, opset, doc=""):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="make_onnx_fixtures")
    m.ir_version = 8 if opset <= 18 else 9
    m.doc_string = doc
    return m


def save(out, stem, m, x=None, feed=None):
    """Writes STEM.onnx; with x, runs onnxruntime on feed (default x) and writes both arrays."""
    paths = [os.path.join(out, stem + ".onnx")]
    with open(paths[0], "wb") as f:
        f.write(m.SerializeToString())
    if x is not None:
        sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        y = sess.run(None, {sess.get_inputs()[0].name: x if feed is None else feed})[0]
        paths += [os.path.join(out, stem + ".input.npy"), os.path.join(out, stem + ".ort.npy")]
        np.save(paths[1], x.astype(np.float32))
        np.save(paths[2], y.astype(np.float32))
    for p in paths:
        assert os.path.getsize(p) < LIMIT, p + " is over the fixture size limit"
    print("wrote", stem)


# ---- graph reading ----
def order_fp16(out, fp16_output=False):
    """What onnxconverter-common's float16 conversion with keep_io_types=False makes of a small net: the
    input is float16, a Cast to float feeds the first conv, and the Cast node is stored at the end; with
    fp16_output the graph also ends in a Cast to float16 (stored first)."""
    stem = "order_fp16_io_op17" if fp16_output else "order_fp16_op17"
    r = rng_for("order_fp16_op17")  # the same weights and input for both
    w1 = r.standard_normal((4, 3, 3, 3), dtype=np.float32) * 0.3
    w2 = r.standard_normal((2, 4, 1, 1), dtype=np.float32) * 0.3
    b1 = r.standard_normal(4, dtype=np.float32) * 0.1
    inits = [init("w1", w1), init("b1", b1), init("w2", w2), init("scales", np.array([1, 1, 2, 2], np.float32))]
    last = "logits_f32" if fp16_output else "logits"
    nodes = [
        helper.make_node("Relu", ["c1"], ["r1"], name="/act/Relu"),
        helper.make_node("Conv", ["u1", "w2"], [last], name="/conv_out/Conv"),
        helper.make_node("Conv", ["input_f32", "w1", "b1"], ["c1"], name="/conv_in/Conv", pads=[1, 1, 1, 1]),
        helper.make_node("Resize", ["r1", "", "scales"], ["u1"], name="/up/Resize", mode="linear"),
        helper.make_node("Cast", ["input"], ["input_f32"], name="graph_input_cast_0", to=TensorProto.FLOAT),
    ]
    if fp16_output:
        nodes.insert(0, helper.make_node("Cast", [last], ["logits"], name="graph_output_cast_0",
                                         to=TensorProto.FLOAT16))
    out_type = TensorProto.FLOAT16 if fp16_output else TensorProto.FLOAT
    m = model(nodes, [helper.make_tensor_value_info("input", TensorProto.FLOAT16, [1, 3, 8, 8])],
              [helper.make_tensor_value_info("logits", out_type, [1, 2, 16, 16])], inits, 17)
    x16 = r.standard_normal((1, 3, 8, 8)).astype(np.float16)
    save(out, stem, m, x16.astype(np.float32), feed=x16)


def bad_graphs(out):
    """Graphs onnxruntime refuses too: only the .onnx is written."""
    vi = helper.make_tensor_value_info
    x = [vi("x", TensorProto.FLOAT, [1, 2, 4, 4])]
    y = [vi("y", TensorProto.FLOAT, [1, 2, 4, 4])]
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu_in"),
             helper.make_node("Add", ["r", "s"], ["s"], name="loop_add"),
             helper.make_node("Relu", ["s"], ["y"], name="relu_out")]
    save(out, "cycle_self_op13", model(nodes, x, y, [], 13))
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu_in"),
             helper.make_node("Add", ["r", "c"], ["a"], name="cyc_a"),
             helper.make_node("Sigmoid", ["a"], ["b"], name="cyc_b"),
             helper.make_node("Neg", ["b"], ["c"], name="cyc_c"),
             helper.make_node("Relu", ["a"], ["y"], name="relu_out")]
    save(out, "cycle_op13", model(nodes, x, y, [], 13))
    # a node overwriting the graph input it reads: main accepted this one (clseg info exit 0)
    nodes = [helper.make_node("Relu", ["x"], ["x"], name="relu_self"),
             helper.make_node("Sigmoid", ["x"], ["y"], name="sigmoid")]
    save(out, "cycle_input_op13", model(nodes, x, y, [], 13))
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu_in"),
             helper.make_node("Mul", ["r", "ghost"], ["y"], name="reads_ghost")]
    save(out, "dangling_op13", model(nodes, x, y, [], 13))
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu_a"),
             helper.make_node("Sigmoid", ["x"], ["y"], name="sigmoid_b")]
    save(out, "twice_op13", model(nodes, x, y, [], 13))
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu")]
    save(out, "unnamed_init_op13", model(nodes, x, y, [init("", np.ones(1, np.float32))], 13))


def fp16_all(out):
    """A model computed in float16 throughout, as onnxconverter-common writes it with keep_io_types=False:
    float16 input, weights and output, and GELU's sqrt 2 stored as float16 (1.4140625)."""
    stem = "fp16_all_op13"
    r = rng_for(stem)
    h = np.float16
    inits = [init("w", (r.standard_normal((3, 2, 3, 3)) * 0.3).astype(h)), init("b", (r.standard_normal(3) * 0.1).astype(h)),
             init("sqrt2", np.array(np.sqrt(2.0), h)), init("one", np.array(1.0, h)), init("half", np.array(0.5, h))]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("Div", ["c", "sqrt2"], ["d"], name="gelu_div"),
             helper.make_node("Erf", ["d"], ["e"], name="gelu_erf"),
             helper.make_node("Add", ["e", "one"], ["f"], name="gelu_add"),
             helper.make_node("Mul", ["c", "f"], ["g"], name="gelu_mul"),
             helper.make_node("Mul", ["g", "half"], ["y"], name="gelu_half")]
    vi = helper.make_tensor_value_info
    m = model(nodes, [vi("x", TensorProto.FLOAT16, [1, 2, 6, 6])], [vi("y", TensorProto.FLOAT16, [1, 3, 6, 6])],
              inits, 13)
    x16 = r.standard_normal((1, 2, 6, 6)).astype(h)
    save(out, stem, m, x16.astype(np.float32), feed=x16)


# ---- Resize ----
class Builder:
    """Resize nodes with their constant inputs, as each opset spells them."""

    def __init__(self, opset):
        self.opset, self.nodes, self.inits, self.k = opset, [], [], 0

    def const(self, arr, dtype):
        name = "c%d" % len(self.inits)
        self.inits.append(init(name, np.asarray(arr, dtype)))
        return name

    def resize(self, x, attrs, scales=None, sizes=None, axes=None):
        self.k += 1
        y, name = "t%d" % self.k, "resize_%d" % self.k
        if axes is not None:
            attrs = dict(attrs, axes=axes)
        if self.opset < 11:
            ins = [x, self.const(scales, np.float32)]
        else:
            # roi is a required input at opset 11 (an empty tensor); optional after
            roi = self.const([], np.float32) if self.opset == 11 else ""
            if sizes is not None:
                empty = self.const([], np.float32) if self.opset == 11 else ""
                ins = [x, roi, empty, self.const(sizes, np.int64)]
            else:
                ins = [x, roi, self.const(scales, np.float32)]
        self.nodes.append(helper.make_node("Resize", ins, [y], name=name, **attrs))
        return y

    def chain(self, x, attrs):
        """8x11 by sizes, then 0.6 x 0.5 and 2 x 3 by scales: non-integer up, down, per axis."""
        ax = [2, 3] if self.opset >= 18 else None
        full = (lambda h, w: [h, w]) if ax else (lambda h, w: [1, 1, h, w])
        sz = [8, 11] if ax else [1, 2, 8, 11]
        t = self.resize(x, attrs, sizes=sz, axes=ax)
        t = self.resize(t, attrs, scales=full(0.6, 0.5), axes=ax)
        return self.resize(t, attrs, scales=full(2.0, 3.0), axes=ax)


def branches_model(out, stem, opset, variants, shape=(1, 2, 5, 7), step=None):
    """One branch per attribute set in variants, concatenated on channels."""
    r = rng_for(stem)
    b = Builder(opset)
    outs = [b.chain("x", v) if step is None else step(b, "x", v) for v in variants]
    b.nodes.append(helper.make_node("Concat", outs, ["y"], name="concat", axis=1))
    doc = "; ".join("branch %d: %s" % (i, " ".join("%s=%s" % kv for kv in sorted(v.items())))
                    for i, v in enumerate(variants))
    vi = helper.make_tensor_value_info
    m = model(b.nodes, [vi("x", TensorProto.FLOAT, list(shape))], [vi("y", TensorProto.FLOAT, None)],
              b.inits, opset, doc)
    save(out, stem, m, r.uniform(-1, 1, shape).astype(np.float32))


def nearest_variants(ctms=CTMS):
    return [{"mode": "nearest", "coordinate_transformation_mode": c, "nearest_mode": nm}
            for c in ctms for nm in NEAREST_MODES]


def linear_variants(ctms=CTMS):
    return [{"mode": "linear", "coordinate_transformation_mode": c} for c in ctms]


def resize_models(out):
    for opset in (11, 13, 18):
        branches_model(out, "resize_nearest_op%d" % opset, opset, nearest_variants(CTMS + ["tf_half_pixel_for_nn"]))
        branches_model(out, "resize_linear_op%d" % opset, opset, linear_variants())
    hps = ["half_pixel_symmetric"]
    branches_model(out, "resize_hps_op19", 19, linear_variants(hps) + nearest_variants(hps))
    # an axis resized to 1: pytorch_half_pixel samples 0, align_corners samples 0
    to1 = linear_variants() + nearest_variants(["pytorch_half_pixel", "align_corners", "half_pixel"])
    branches_model(out, "resize_to1_op13", 13, to1,
                   step=lambda b, x, v: b.resize(x, v, sizes=[1, 2, 1, 3]))
    # 2x2 -> 4x6: a different integer scale per axis, from sizes; the defaults and explicit modes
    v46 = [{"mode": "nearest"}, {"mode": "linear"}] + linear_variants() + nearest_variants(["asymmetric"])
    branches_model(out, "resize_2x2_to_4x6_op13", 13, v46, shape=(1, 2, 2, 2),
                   step=lambda b, x, v: b.resize(x, v, sizes=[1, 2, 4, 6]))
    # keep_aspect_ratio_policy: one scale from sizes 6x9 of a 4x5 input (1.5 or 1.8), rounded sizes
    for policy, stem in (("not_larger", "resize_not_larger_op18"), ("not_smaller", "resize_not_smaller_op18")):
        branches_model(out, stem, 18, [dict(v, keep_aspect_ratio_policy=policy) for v in
                                       [{"mode": "nearest"}, {"mode": "linear"},
                                        {"mode": "linear", "coordinate_transformation_mode": "asymmetric"}]],
                       shape=(1, 2, 4, 5), step=lambda b, x, v: b.resize(x, v, sizes=[6, 9], axes=[2, 3]))
    refused_models(out)


def refused_models(out):
    """One Resize / Upsample each that clseg refuses (no onnxruntime run)."""
    vi = helper.make_tensor_value_info
    cases = [("resize_refused_op13", 13, {"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize"},
              dict(scales=[1, 1, 2, 2])),
             ("resize_cubic_op13", 13, {"mode": "cubic"}, dict(scales=[1, 1, 2, 2])),
             ("resize_tfnn_op19", 19, {"mode": "nearest", "coordinate_transformation_mode": "tf_half_pixel_for_nn"},
              dict(scales=[1, 1, 2, 2])),
             ("resize_hps_op18", 18, {"mode": "linear", "coordinate_transformation_mode": "half_pixel_symmetric"},
              dict(scales=[1, 1, 2, 2])),
             ("resize_antialias_op18", 18, {"mode": "linear", "antialias": 1}, dict(scales=[1, 1, 0.5, 0.5])),
             ("resize_channels_op13", 13, {"mode": "nearest"}, dict(scales=[1, 2, 2, 2]))]
    for stem, opset, attrs, kw in cases:
        b = Builder(opset)
        b.resize("x", attrs, **kw)
        save(out, stem, model(b.nodes, [vi("x", TensorProto.FLOAT, [1, 2, 4, 4])], [vi("t1", TensorProto.FLOAT, None)],
                              b.inits, opset))


def old_models(out):
    """Upsample-7 (scales attribute), Upsample-9 (scales input), Resize-10 (scales input, asymmetric, and
    onnxruntime's nearest rule of those opsets: floor when upsampling an axis, ceil when downsampling)."""
    def up7(b, x, v):
        b.k += 1
        y = "t%d" % b.k
        b.nodes.append(helper.make_node("Upsample", [x], [y], name="upsample_%d" % b.k, mode=v["mode"],
                                        scales=[1.0, 1.0, 2.0, 3.0]))
        return y

    def up9(b, x, v):
        b.k += 1
        y = "t%d" % b.k
        s = b.const([1, 1, 1.5, 2.5], np.float32)
        b.nodes.append(helper.make_node("Upsample", [x, s], [y], name="upsample_%d" % b.k, mode=v["mode"]))
        return y

    modes = [{"mode": "nearest"}, {"mode": "linear"}]
    branches_model(out, "upsample_op7", 7, modes, step=up7)
    branches_model(out, "upsample_op9", 9, modes, step=up9)
    # Resize-10: up non-integer, down, per axis with one axis down
    branches_model(out, "resize_op10", 10, modes,
                   step=lambda b, x, v: b.resize(b.resize(b.resize(x, v, scales=[1, 1, 1.6, 1.5]), v,
                                                          scales=[1, 1, 0.6, 0.5]), v, scales=[1, 1, 2, 0.75]))


def main():
    ort.set_default_logger_severity(3)  # tf_half_pixel_for_nn's deprecation warning, once per node
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "onnx"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    order_fp16(a.out)
    order_fp16(a.out, fp16_output=True)
    fp16_all(a.out)
    bad_graphs(a.out)
    resize_models(a.out)
    old_models(a.out)


if __name__ == "__main__":
    main()

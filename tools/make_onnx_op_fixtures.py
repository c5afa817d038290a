#!/usr/bin/env python3
"""Writes tests/fixtures/onnx_ops/: small ONNX models of the operators of issue 19 ("ONNX as people's files
really are") that tests/test_onnx_ops.c checks against onnxruntime: DepthToSpace (DCR, CRD) and
SpaceToDepth, PixelShuffle as torch.onnx exports it, PRelu (per channel and scalar), Clip with its bounds as attributes (opsets 6-10) and as
constant inputs (11+), Softmax before opset 13 (coerced to 2-D at axis) and from 13 (one axis), and a graph
with three outputs.

Same tools and conventions as tools/make_onnx_attr_fixtures.py (onnx, onnxruntime, numpy in the pyenv
python3): per case STEM.onnx, STEM.input.npy and STEM.ort.npy; index.txt lists every case the C test must run
("STEM<TAB>what it checks"); the cases clseg refuses are written without .npy and are not in index.txt (the C
test names them with the message it expects). Inputs and weights are seeded (SEED ^ crc32(stem)).
Usage:  python3 tools/make_onnx_op_fixtures.py [--out tests/fixtures/onnx_ops]
"""
import argparse
import os
import sys

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_onnx_attr_fixtures import describe, one_node  # noqa: E402
from make_onnx_fixtures import ROOT, init, model, rng_for, save  # noqa: E402


def ints(name, v):
    return init(name, np.array(v, np.int64))


def space_depth_cases(out, idx):
    cases = [  # (opset, op, attrs, input shape)
        (7, "DepthToSpace", dict(blocksize=2), (1, 8, 3, 5)),  # before opset 11: DCR, no mode attribute
        (11, "DepthToSpace", dict(blocksize=2, mode="DCR"), (1, 12, 3, 5)),
        (11, "DepthToSpace", dict(blocksize=3, mode="CRD"), (1, 18, 2, 3)),
        (13, "DepthToSpace", dict(blocksize=2, mode="CRD"), (1, 8, 3, 5)),
        (13, "DepthToSpace", dict(blocksize=3), (1, 9, 4, 1)),
        (7, "SpaceToDepth", dict(blocksize=2), (1, 3, 6, 4)),
        (13, "SpaceToDepth", dict(blocksize=3), (1, 2, 6, 9)),
    ]
    for i, (opset, op, attrs, shape) in enumerate(cases):
        stem = "%s_%d_op%d" % ("d2s" if op == "DepthToSpace" else "s2d", i, opset)
        one_node(out, stem, opset, op, attrs, shape, index=idx, what=describe(op, attrs))
    # nn.PixelShuffle(2) as torch 1.13's torch.onnx.export writes it at opsets 11 to 17: one DepthToSpace,
    # blocksize 2, mode CRD, after a conv (ESPCN's upsampler)
    for opset in (13, 17):
        stem = "pixelshuffle_op%d" % opset
        r = rng_for(stem + ".w")
        w = (r.standard_normal((8, 3, 3, 3)) * 0.3).astype(np.float32)
        vi = helper.make_tensor_value_info
        nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="/conv/Conv", pads=[1, 1, 1, 1]),
                 helper.make_node("DepthToSpace", ["c"], ["y"], name="/shuffle/DepthToSpace", blocksize=2,
                                  mode="CRD")]
        m = model(nodes, [vi("x", TensorProto.FLOAT, [1, 3, 5, 7])], [vi("y", TensorProto.FLOAT, None)],
                  [init("w", w)], opset)
        save(out, stem, m, rng_for(stem).uniform(-2, 2, (1, 3, 5, 7)).astype(np.float32))
        idx.append((stem, "Conv 3->8 then PixelShuffle(2) as torch.onnx exports it (DepthToSpace CRD)"))
    # PixelShuffle as torch.onnx writes it at opset 9 (a 6-D Reshape, a Transpose, a Reshape): tensors of rank 6
    vi = helper.make_tensor_value_info
    nodes = [helper.make_node("Reshape", ["x", "s6"], ["r6"], name="/shuffle/Reshape"),
             helper.make_node("Transpose", ["r6"], ["t6"], name="/shuffle/Transpose", perm=[0, 1, 4, 2, 5, 3]),
             helper.make_node("Reshape", ["t6", "s4"], ["y"], name="/shuffle/Reshape_1")]
    m = model(nodes, [vi("x", TensorProto.FLOAT, [1, 8, 3, 5])], [vi("y", TensorProto.FLOAT, None)],
              [ints("s6", [1, 2, 2, 2, 3, 5]), ints("s4", [1, 2, 6, 10])], 9)
    save(out, "pixelshuffle_op9", m, rng_for("pixelshuffle_op9").uniform(-2, 2, (1, 8, 3, 5)).astype(np.float32))
    idx.append(("pixelshuffle_op9", "PixelShuffle(2) at opset 9: a 6-D Reshape, Transpose, Reshape"))
    # malformed: a mode the spec lacks
    one_node(out, "d2s_badmode_op13", 13, "DepthToSpace", dict(blocksize=2, mode="RDC"), (1, 8, 3, 5))


def prelu_cases(out, idx):
    cases = [  # (opset, slope shape, input shape): PyTorch's nn.PReLU(C) exports [C, 1, 1], nn.PReLU() [1]
        (7, (3, 1, 1), (1, 3, 5, 7)),
        (9, (1,), (1, 3, 5, 7)),
        (16, (1, 4, 1, 1), (1, 4, 3, 5)),
        (16, (), (1, 2, 3, 3)),
    ]
    for i, (opset, sshape, xshape) in enumerate(cases):
        stem = "prelu_%d_op%d" % (i, opset)
        slope = rng_for(stem + ".w").uniform(-1.5, 1.5, sshape).astype(np.float32)
        one_node(out, stem, opset, "PRelu", {}, xshape, [init("slope", slope)], ["slope"], idx,
                 "PRelu slope %s on %s" % (list(sshape), list(xshape)))
    # on a [N, C] head: GlobalAveragePool, Flatten, PRelu with slope [C]
    stem = "head_prelu_op13"
    vi = helper.make_tensor_value_info
    nodes = [helper.make_node("GlobalAveragePool", ["x"], ["p"], name="/pool/GlobalAveragePool"),
             helper.make_node("Flatten", ["p"], ["f"], name="/flatten/Flatten"),
             helper.make_node("PRelu", ["f", "slope"], ["y"], name="/act/PRelu")]
    slope = rng_for(stem + ".w").uniform(-1.5, 1.5, (4,)).astype(np.float32)
    m = model(nodes, [vi("x", TensorProto.FLOAT, [1, 4, 3, 5])], [vi("y", TensorProto.FLOAT, None)],
              [init("slope", slope)], 13)
    save(out, stem, m, rng_for(stem).uniform(-2, 2, (1, 4, 3, 5)).astype(np.float32))
    idx.append((stem, "GlobalAveragePool, Flatten, PRelu slope [4] on [1, 4]"))
    # refused: one slope per column
    one_node(out, "prelu_width_op16", 16, "PRelu", {}, (1, 3, 5, 7),
             [init("slope", np.full((1, 1, 7), 0.25, np.float32))], ["slope"])


def clip_cases(out, idx):
    """Clip-6 (min, max attributes; opsets 6 to 10) and Clip-11/12/13 (min, max as optional inputs)."""
    cases = [  # (opset, min, max)
        (7, -0.5, 1.5), (10, 0.0, 6.0), (10, None, 0.75),
        (11, -0.25, None), (12, -1.0, 0.5), (13, None, 1.25), (13, 0.0, None),
    ]
    for i, (opset, lo, hi) in enumerate(cases):
        stem = "clip_%d_op%d" % (i, opset)
        attrs, inits, extra = {}, [], []
        if opset < 11:
            attrs = {k: v for k, v in (("min", lo), ("max", hi)) if v is not None}
        else:
            extra = ["min" if lo is not None else "", "max" if hi is not None else ""]
            inits = [init(k, np.array(v, np.float32)) for k, v in (("min", lo), ("max", hi)) if v is not None]
            while extra and not extra[-1]:
                extra.pop()
        one_node(out, stem, opset, "Clip", attrs, (1, 3, 4, 5), inits, extra, idx,
                 "Clip min=%s max=%s (%s)" % (lo, hi, "attributes" if opset < 11 else "inputs"))
    # refused: a bound computed from the image
    vi = helper.make_tensor_value_info
    nodes = [helper.make_node("GlobalMaxPool", ["x"], ["m"], name="/bound/GlobalMaxPool"),
             helper.make_node("Clip", ["x", "", "m"], ["y"], name="/clip/Clip")]
    m = model(nodes, [vi("x", TensorProto.FLOAT, [1, 3, 4, 5])], [vi("y", TensorProto.FLOAT, None)], [], 13)
    save(out, "clip_tensor_max_op13", m)


def softmax_cases(out, idx):
    """Softmax before opset 13 (the input coerced to 2-D at axis, default 1) and from 13 (one axis, default
    -1), where it is a softmax over channels."""
    vi = helper.make_tensor_value_info
    cases = [  # (stem, opset, attrs, input shape, flatten first)
        ("softmax_1x1_op11", 11, {}, (1, 5, 1, 1), False),
        ("softmax_flat_op9", 9, {}, (1, 6, 1, 1), True),
        ("softmax_flat_op12", 12, dict(axis=1), (1, 6, 1, 1), True),
        ("softmax_flat_last_op12", 12, dict(axis=-1), (1, 6, 1, 1), True),
        ("softmax_chan_op13", 13, dict(axis=1), (1, 5, 3, 4), False),
        ("softmax_chan_neg_op17", 17, dict(axis=-3), (1, 5, 3, 4), False),
        ("softmax_flat_op13", 13, {}, (1, 6, 1, 1), True),
    ]
    for stem, opset, attrs, shape, flat in cases:
        nodes = [helper.make_node("Softmax", ["f" if flat else "x"], ["y"], name="n_" + stem, **attrs)]
        if flat:
            nodes.insert(0, helper.make_node("Flatten", ["x"], ["f"], name="/flatten/Flatten"))
        m = model(nodes, [vi("x", TensorProto.FLOAT, list(shape))], [vi("y", TensorProto.FLOAT, None)], [], opset)
        save(out, stem, m, rng_for(stem).uniform(-4, 4, shape).astype(np.float32))
        idx.append((stem, "%sSoftmax %s on %s" % ("Flatten, " if flat else "", describe("", attrs).strip(),
                                                    list(shape))))
    # any rank: opset 11 axis 1 over C x H x W; opset 13 over H
    one_node(out, "softmax_chw_op11", 11, "Softmax", {}, (1, 5, 3, 4), index=idx,
             what="Softmax axis 1 at opset 11: over C x H x W")
    one_node(out, "softmax_h_op13", 13, "Softmax", dict(axis=2), (1, 5, 3, 4), index=idx,
             what="Softmax axis 2 (H)")


def head_cases(out, idx):
    """Classifier heads: an image flattened (Flatten at axis 1 or 0, Reshape to [1, -1]) into Gemm (transB,
    alpha, beta, C as [M] or [1, M]) or MatMul."""
    vi = helper.make_tensor_value_info
    xs = (1, 3, 4, 5)
    cases = [  # (stem, opset, flatten node, product attrs, transB, bias shape)
        ("head_gemm_flat1_op13", 13, ("Flatten", dict(axis=1)), dict(transB=1, alpha=0.5, beta=2.0), (7,)),
        ("head_gemm_flat0_op11", 11, ("Flatten", dict(axis=0)), dict(beta=0.5), (1, 7)),
        ("head_gemm_flat_op9", 9, ("Flatten", {}), dict(transB=1), (7,)),  # C required before 11
        ("head_matmul_reshape_op13", 13, ("Reshape", {}), None, None),
    ]
    for stem, opset, (fop, fattrs), gattrs, bshape in cases:
        r = rng_for(stem + ".w")
        k, m = 60, 7
        tb = bool(gattrs and gattrs.get("transB"))
        inits = [init("w", (r.standard_normal((m, k) if tb else (k, m)) * 0.2).astype(np.float32))]
        fin = ["x"]
        if fop == "Reshape":
            inits.append(ints("shape", [1, -1]))
            fin.append("shape")
        nodes = [helper.make_node(fop, fin, ["f"], name="/flatten/" + fop, **fattrs)]
        if gattrs is None:
            nodes.append(helper.make_node("MatMul", ["f", "w"], ["y"], name="/fc/MatMul"))
        else:
            gin = ["f", "w"]
            if bshape:
                inits.append(init("c", (r.standard_normal(bshape) * 0.1).astype(np.float32)))
                gin.append("c")
            nodes.append(helper.make_node("Gemm", gin, ["y"], name="/fc/Gemm", **gattrs))
        m_ = model(nodes, [vi("x", TensorProto.FLOAT, list(xs))], [vi("y", TensorProto.FLOAT, None)], inits, opset)
        save(out, stem, m_, rng_for(stem).uniform(-2, 2, xs).astype(np.float32))
        idx.append((stem, "%s %s, %s %s C %s" % (fop, describe("", fattrs).strip(), "MatMul" if gattrs is None
                                                  else "Gemm", describe("", gattrs or {}).strip(), bshape)))
    # any rank: Flatten at axis 2 ([N C, H W]); a flattened image read by a Relu
    one_node(out, "flatten_axis2_op13", 13, "Flatten", dict(axis=2), xs, index=idx, what="Flatten axis=2")
    nodes = [helper.make_node("Flatten", ["x"], ["f"], name="/flatten/Flatten"),
             helper.make_node("Relu", ["f"], ["y"], name="/act/Relu")]
    m_ = model(nodes, [vi("x", TensorProto.FLOAT, list(xs))], [vi("y", TensorProto.FLOAT, None)], [], 13)
    save(out, "flatten_relu_op13", m_, rng_for("flatten_relu_op13").uniform(-2, 2, xs).astype(np.float32))
    idx.append(("flatten_relu_op13", "Flatten then Relu on the [1, 60] rows"))


def multi_output_case(out):
    """A graph with three outputs (not in index.txt: tests/test_onnx_ops.c runs it through
    clseg_plan_run_outputs): "mask" (Conv -> Relu, the first: the main output), "score" (a global pool of
    the conv) and "features" (the conv itself, also read by the other two: it must survive the Relu's fusion).
    Writes multi_output.onnx, .input.npy and .ort<i>.npy per output."""
    stem = "multi_output"
    r = rng_for(stem + ".w")
    w = (r.standard_normal((6, 3, 3, 3)) * 0.3).astype(np.float32)
    b = r.standard_normal(6).astype(np.float32)
    vi = helper.make_tensor_value_info
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["features"], name="/conv/Conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["features"], ["mask"], name="/relu/Relu"),
             helper.make_node("GlobalAveragePool", ["features"], ["score"], name="/pool/GlobalAveragePool")]
    outs = [vi(n, TensorProto.FLOAT, None) for n in ("mask", "score", "features")]
    m = model(nodes, [vi("x", TensorProto.FLOAT, [1, 3, 7, 9])], outs, [init("w", w), init("b", b)], 13)
    x = rng_for(stem).uniform(-2, 2, (1, 3, 7, 9)).astype(np.float32)
    save(out, stem, m)
    np.save(os.path.join(out, stem + ".input.npy"), x)
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    for i, y in enumerate(sess.run(None, {"x": x})):
        np.save(os.path.join(out, "%s.ort%d.npy" % (stem, i)), y.astype(np.float32))


def concat_cases(out, idx):
    """Concat as segmentation-models-pytorch exports it: an empty skip tensor (its U-Net on encoders
    without a stride-2 feature, mit_b0 and ConvNeXt), torch.stack(...).sum(0) (its FPN's merge: Unsqueeze
    at 0, Concat on axis 0, ReduceSum keepdims 0), along H and W, and a class token joined to tokens."""
    vi = helper.make_tensor_value_info
    nd = helper.make_node
    xs = (1, 3, 4, 5)
    empty = init("empty", np.zeros((1, 0, 4, 5), np.float32))
    cases = [  # (stem, opset, nodes, inits, what)
        ("concat_empty_op13", 13,
         [nd("Relu", ["x"], ["r"], name="/act/Relu"),
          nd("Concat", ["r", "empty"], ["c"], name="/decoder/blocks.3/Concat_1", axis=1),
          nd("Sigmoid", ["c"], ["y"], name="/out/Sigmoid")],
         [empty], "Relu, Concat with an empty [1, 0, 4, 5] constant on C, Sigmoid"),
        ("concat_empty_first_op11", 11,
         [nd("Relu", ["x"], ["r"], name="/act/Relu"), nd("Tanh", ["x"], ["t"], name="/act/Tanh"),
          nd("Concat", ["empty", "r", "t"], ["y"], name="/cat/Concat", axis=-3)],
         [empty], "Concat of an empty constant, Relu and Tanh on C"),
        ("concat_h_op13", 13,
         [nd("Relu", ["x"], ["r"], name="/act/Relu"), nd("Sigmoid", ["x"], ["s"], name="/act/Sigmoid"),
          nd("Concat", ["r", "s"], ["y"], name="/cat/Concat", axis=2)],
         [], "Concat of Relu and Sigmoid along H"),
        ("concat_w_const_op17", 17,
         [nd("Relu", ["x"], ["r"], name="/act/Relu"),
          nd("Concat", ["r", "k"], ["y"], name="/cat/Concat", axis=-1)],
         [init("k", rng_for("concat_w_const.k").uniform(-1, 1, (1, 3, 4, 2)).astype(np.float32))],
         "Concat of Relu and a [1, 3, 4, 2] constant along W"),
        ("concat_token_op13", 13,
         [nd("Reshape", ["x", "s3"], ["t3"], name="/tok/Reshape"),
          nd("Transpose", ["t3"], ["tk"], name="/tok/Transpose", perm=[0, 2, 1]),
          nd("Concat", ["cls", "tk"], ["y"], name="/tok/Concat", axis=1)],
         [ints("s3", [1, 3, 20]), init("cls", rng_for("concat_token.cls").uniform(-1, 1, (1, 1, 3))
                                          .astype(np.float32))],
         "tokens [1, 20, 3] after a class token [1, 1, 3] (ViT), axis 1 of rank 3"),
    ]
    for opset in (11, 13):  # smp's FPN merge: torch.stack(features).sum(dim=0)
        acts = ["Relu", "Sigmoid", "Tanh", "Abs"]
        nodes, parts, inits = [], [], []
        if opset >= 13:
            inits.append(ints("ax0", [0]))
        for i, a in enumerate(acts):
            nodes.append(nd(a, ["x"], ["a%d" % i], name="/seg_blocks.%d/%s" % (i, a)))
            kw = {} if opset >= 13 else dict(axes=[0])
            nodes.append(nd("Unsqueeze", ["a%d" % i] + (["ax0"] if opset >= 13 else []), ["u%d" % i],
                            name="/decoder/merge/Unsqueeze_%d" % i, **kw))
            parts.append("u%d" % i)
        nodes.append(nd("Concat", parts, ["c"], name="/decoder/merge/Concat", axis=0))
        kw = dict(keepdims=0) if opset >= 13 else dict(keepdims=0, axes=[0])
        nodes.append(nd("ReduceSum", ["c"] + (["ax0"] if opset >= 13 else []), ["y"],
                        name="/decoder/merge/ReduceSum", **kw))
        cases.append(("concat_stack_sum_op%d" % opset, opset, nodes, inits,
                      "FPN merge: 4 activations Unsqueeze at 0, Concat axis 0, ReduceSum axis 0 keepdims 0"))
    for stem, opset, nodes, inits, what in cases:
        m = model(nodes, [vi("x", TensorProto.FLOAT, list(xs))], [vi("y", TensorProto.FLOAT, None)], inits,
                  opset)
        save(out, stem, m, rng_for(stem).uniform(-2, 2, xs).astype(np.float32))
        idx.append((stem, what))


def batchnorm_cases(out, idx):
    """BatchNormalization's optional outputs. Opsets 7-13: listing mean, var, saved_mean, saved_var is
    training mode (the spec's output case 1: onnxruntime normalises with the batch's statistics), refused;
    all of them empty names: inference. From opset 14: training_mode 1 refused; training_mode 0 with
    running_mean / running_var listed but unread (onnxruntime calls that invalid) imports as inference,
    against onnxruntime on the same graph with Y alone."""
    vi = helper.make_tensor_value_info
    c, xs = 4, (1, 3, 5, 6)

    def graph(stem, opset, outs, attrs, y_only=False):
        r = rng_for(stem + ".w")
        inits = [init("w1", (r.standard_normal((c, 3, 3, 3)) * 0.3).astype(np.float32)),
                 init("s", r.uniform(0.5, 1.5, c).astype(np.float32)), init("b", r.uniform(-1, 1, c).astype(np.float32)),
                 init("m", r.uniform(-0.5, 0.5, c).astype(np.float32)),
                 init("v", r.uniform(0.5, 1.5, c).astype(np.float32))]
        nodes = [helper.make_node("Conv", ["x", "w1"], ["cv"], name="/conv/Conv", pads=[1, 1, 1, 1]),
                 helper.make_node("BatchNormalization", ["cv", "s", "b", "m", "v"], ["n"] + ([] if y_only else outs),
                                  name="/bn/BatchNormalization", **attrs),
                 helper.make_node("Relu", ["n"], ["y"], name="/act/Relu")]
        return model(nodes, [vi("x", TensorProto.FLOAT, list(xs))], [vi("y", TensorProto.FLOAT, None)], inits, opset)

    x = lambda stem: rng_for(stem).uniform(-2, 2, xs).astype(np.float32)  # noqa: E731
    for stem, opset, outs, attrs in (("bn_mode0_outputs_op15", 15, ["rm", "rv"], dict(training_mode=0)),
                                     ("bn_mode0_op14", 14, [], dict(training_mode=0)),
                                     ("bn_empty_outputs_op9", 9, ["", "", "", ""], {})):
        m = graph(stem, opset, outs, attrs)
        save(out, stem, m)
        ref = graph(stem, opset, outs, attrs, y_only=True)
        sess = ort.InferenceSession(ref.SerializeToString(), providers=["CPUExecutionProvider"])
        np.save(os.path.join(out, stem + ".input.npy"), x(stem))
        np.save(os.path.join(out, stem + ".ort.npy"), sess.run(None, {"x": x(stem)})[0].astype(np.float32))
        idx.append((stem, "Conv, BatchNormalization-%d %s outputs %s, Relu (reference: Y alone)" % (
            opset, describe("", attrs).strip(), ["n"] + outs)))
    # refused
    for stem, opset, outs, attrs in (("bn_stats_op9", 9, ["mean", "var", "smean", "svar"], {}),
                                     ("bn_stats_op7", 7, ["mean", "var"], {}),
                                     ("bn_training_op15", 15, ["rm", "rv"], dict(training_mode=1)),
                                     ("bn_training_op14", 14, [], dict(training_mode=1))):
        save(out, stem, graph(stem, opset, outs, attrs))
    # refused: training_mode 0 with running_mean read by a graph output
    m = graph("bn_read_rm_op15", 15, ["rm", "rv"], dict(training_mode=0))
    m.graph.output.append(vi("rm", TensorProto.FLOAT, None))
    save(out, "bn_read_rm_op15", m)


def gather_cases(out, idx):
    """A global pool as torch.export (dynamo) writes smp's UPerNet's adaptive_avg_pool2d(1) with
    as_strided: ReduceMean over H and W, Reshape to [-1], Gather at indices arange(C) of shape
    [1, C, 1, 1] (more indices than dimensions: 12)."""
    vi = helper.make_tensor_value_info
    nd = helper.make_node
    xs = (1, 12, 3, 4)
    nodes = [nd("ReduceMean", ["x", "axes"], ["m"], name="node_mean", keepdims=1),
             nd("Reshape", ["m", "flat"], ["f"], name="node_Reshape"),
             nd("Gather", ["f", "ind"], ["y"], name="node_as_strided", axis=0)]
    inits = [ints("axes", [-1, -2]), ints("flat", [-1]), ints("ind", np.arange(12).reshape(1, 12, 1, 1))]
    m = model(nodes, [vi("x", TensorProto.FLOAT, list(xs))], [vi("y", TensorProto.FLOAT, None)], inits, 18)
    save(out, "gather_strided_op18", m, rng_for("gather_strided_op18").uniform(-2, 2, xs).astype(np.float32))
    idx.append(("gather_strided_op18", "ReduceMean H W, Reshape [-1], Gather arange(12) as [1, 12, 1, 1] "
                "(torch.export's as_strided)"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "onnx_ops"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    ort.set_default_logger_severity(3)
    idx = []
    space_depth_cases(a.out, idx)
    prelu_cases(a.out, idx)
    clip_cases(a.out, idx)
    softmax_cases(a.out, idx)
    head_cases(a.out, idx)
    concat_cases(a.out, idx)
    batchnorm_cases(a.out, idx)
    gather_cases(a.out, idx)
    multi_output_case(a.out)
    with open(os.path.join(a.out, "index.txt"), "w") as f:
        f.write("# written by tools/make_onnx_op_fixtures.py: STEM<TAB>what it checks\n")
        for stem, what in idx:
            f.write("%s\t%s\n" % (stem, what))


if __name__ == "__main__":
    main()

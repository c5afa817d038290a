#!/usr/bin/env python3
"""Writes tests/fixtures/onnx_compat/: small ONNX models of the rest of issue 19 that tests/test_onnx_ops.c
checks against onnxruntime: batches above 1 (a fixed batch in the file, a symbolic batch and a batch-1 file
planned at N = 4), and a tiny U-Net exported by torch.onnx at opset 17 with batch 4; and opsets 1 to 6
(old_cases).

Same conventions as tools/make_onnx_op_fixtures.py: per case STEM.onnx, STEM.input.npy and STEM.ort.npy;
index.txt lists the cases the C test runs; seeded inputs and weights (SEED ^ crc32(stem)). The torch export
runs under /usr/bin/python3 (torch 1.13, python/clseg_torch), called by this script; the rest under the
python3 that has onnx and onnxruntime.
Usage:  python3 tools/make_onnx_compat_fixtures.py [--out tests/fixtures/onnx_compat]
"""
import argparse
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_PY = "/usr/bin/python3"


def export_unet(path, batch, h, w):
    """Torch side: clseg_torch's U-Net (depth 2, base 4, bilinear, scSE), seeded, exported at opset 17."""
    import torch
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))
    from clseg_torch import models as cm
    torch.manual_seed(20261203)
    net = cm.UNet(3, 2, depth=2, base=4, bilinear=True, attention="scse", reduction=2).eval()
    for mod in net.modules():  # batchnorm statistics that are not the identity
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 1.5)
    dyn = {"x": {0: "N"}, "y": {0: "N"}} if batch == 0 else None
    x = torch.zeros(max(batch, 1), 3, h, w)
    torch.onnx.export(net, x, path, opset_version=17, input_names=["x"], output_names=["y"],
                      dynamic_axes=dyn)


def batch_cases(out, idx):
    import onnxruntime as ort
    from onnx import TensorProto, helper
    sys.path.insert(0, HERE)
    from make_onnx_fixtures import init, model, rng_for, save

    vi = helper.make_tensor_value_info

    def body(stem, n, flat):
        """conv 3x3 -> relu -> maxpool 2 -> resize x2 (nearest) -> conv 1x1 -> softmax over channels; or
        a classifier head: conv -> maxpool -> Reshape [n, -1] -> Gemm."""
        r = rng_for(stem + ".w")
        inits = [init("w1", (r.standard_normal((6, 3, 3, 3)) * 0.3).astype(np.float32)),
                 init("b1", (r.standard_normal(6) * 0.1).astype(np.float32))]
        nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="/c1/Conv", pads=[1, 1, 1, 1]),
                 helper.make_node("Relu", ["c1"], ["r1"], name="/c1/Relu"),
                 helper.make_node("MaxPool", ["r1"], ["p1"], name="/pool/MaxPool", kernel_shape=[2, 2],
                                  strides=[2, 2])]
        if flat:
            inits += [init("shape", np.array([n, -1], np.int64)),
                      init("wf", (r.standard_normal((5, 6 * 3 * 4)) * 0.2).astype(np.float32)),
                      init("bf", (r.standard_normal(5) * 0.1).astype(np.float32))]
            nodes += [helper.make_node("Reshape", ["p1", "shape"], ["f"], name="/head/Reshape"),
                      helper.make_node("Gemm", ["f", "wf", "bf"], ["y"], name="/head/Gemm", transB=1)]
            return nodes, inits
        inits += [init("scales", np.array([1, 1, 2, 2], np.float32)),
                  init("w2", (r.standard_normal((4, 6, 1, 1)) * 0.3).astype(np.float32))]
        nodes += [helper.make_node("Resize", ["p1", "", "scales"], ["u"], name="/up/Resize", mode="nearest"),
                  helper.make_node("Conv", ["u", "w2"], ["c2"], name="/c2/Conv"),
                  helper.make_node("Softmax", ["c2"], ["y"], name="/head/Softmax", axis=1)]
        return nodes, inits

    shape = [3, 6, 8]
    for stem, n, flat in (("batch4_seg_op13", 4, False), ("batch4_head_op13", 4, True),
                          ("batch3_head_op13", 3, True)):
        nodes, inits = body(stem, n, flat)
        m = model(nodes, [vi("x", TensorProto.FLOAT, [n] + shape)], [vi("y", TensorProto.FLOAT, None)], inits, 13)
        save(out, stem, m, rng_for(stem).uniform(-2, 2, [n] + shape).astype(np.float32))
        idx.append((stem, "batch %d in the file: conv, maxpool, %s" % (
            n, "Reshape [N, -1], Gemm" if flat else "resize x2, conv 1x1, softmax")))
    # symbolic batch, run at 4
    stem = "batchN_seg_op13"
    nodes, inits = body(stem, 1, False)
    m = model(nodes, [vi("x", TensorProto.FLOAT, ["N"] + shape)], [vi("y", TensorProto.FLOAT, None)], inits, 13)
    save(out, stem, m, rng_for(stem).uniform(-2, 2, [4] + shape).astype(np.float32))
    idx.append((stem, "symbolic batch N run at 4: conv, maxpool, resize x2, conv 1x1, softmax"))
    # a batch-1 file (Reshape [1, -1] into Gemm) planned at 4: onnxruntime runs the images one by one
    stem = "batch1_head_as4_op13"
    nodes, inits = body(stem, 1, True)
    m = model(nodes, [vi("x", TensorProto.FLOAT, [1] + shape)], [vi("y", TensorProto.FLOAT, None)], inits, 13)
    x = rng_for(stem).uniform(-2, 2, [4] + shape).astype(np.float32)
    save(out, stem, m)
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    y = np.concatenate([sess.run(None, {"x": x[i:i + 1]})[0] for i in range(4)])
    np.save(os.path.join(out, stem + ".input.npy"), x)
    np.save(os.path.join(out, stem + ".ort.npy"), y.astype(np.float32))
    idx.append((stem, "a batch-1 file planned at N = 4 (Reshape [1, -1], Gemm), one onnxruntime run per image"))
    # the tiny U-Net from torch.onnx, batch 4 in the file and symbolic
    for stem, batch in (("unet_tiny_b4_op17", 4), ("unet_tiny_bN_op17", 0)):
        path = os.path.join(out, stem + ".onnx")
        env = dict(os.environ, PYTHONWARNINGS="ignore")  # torch 1.13's shape-inference warnings
        subprocess.run([TORCH_PY, os.path.abspath(__file__), "--export-unet", path, str(batch)], check=True,
                       env=env)
        import onnx
        m = onnx.load(path)
        x = rng_for(stem).uniform(-2, 2, (4, 3, 16, 24)).astype(np.float32)
        save(out, stem, m, x)
        idx.append((stem, "clseg_torch UNet(depth 2, base 4, bilinear, scSE) by torch.onnx 1.13, batch %s"
                    % (batch or "N run at 4")))


def old_cases(out, idx):
    """Opsets 1 to 6. onnxruntime runs Conv, ConvTranspose, MaxPool, GlobalAveragePool, Flatten, Softmax and
    Reshape (shape attribute) from opset 1, Pad from 2, Relu / Sigmoid / LeakyRelu / Clip from 6: those
    models are checked against onnxruntime as they are. It lacks BatchNormalization-1/6, Add/Mul-1/6 (legacy
    broadcast), Dropout-1/6, PRelu-1/6, Concat-1 (axis optional), Pad-1 (paddings), Upsample-1 (height_scale,
    width_scale), AveragePool-1, Cast-1 (to as a name) and Gemm-1/6: for those the reference is
    onnxruntime on the same graph written at opset 7 to 9 with today's attributes ("paired")."""
    from onnx import TensorProto, helper
    sys.path.insert(0, HERE)
    from make_onnx_fixtures import init, model, rng_for, save
    import onnxruntime as ort

    vi = helper.make_tensor_value_info
    node = helper.make_node

    def write(stem, opset, nodes, inits, shape, what, paired=None):
        """paired: (opset, nodes, inits) of the equivalent model onnxruntime runs, or None."""
        x = rng_for(stem).uniform(-2, 2, shape).astype(np.float32)
        mk = lambda ns, its, o: model(ns, [vi("x", TensorProto.FLOAT, list(shape))],  # noqa: E731
                                      [vi("y", TensorProto.FLOAT, None)], its, o, what)
        m = mk(nodes, inits, opset)
        if paired is None:
            save(out, stem, m, x)
        else:
            save(out, stem, m)
            ref = mk(paired[1], paired[2], paired[0])
            sess = ort.InferenceSession(ref.SerializeToString(), providers=["CPUExecutionProvider"])
            np.save(os.path.join(out, stem + ".input.npy"), x)
            np.save(os.path.join(out, stem + ".ort.npy"), sess.run(None, {"x": x})[0].astype(np.float32))
            what += " (reference: the same graph at opset %d)" % paired[0]
        idx.append((stem, what))

    def w(stem, shape, scale=0.3):
        return (rng_for(stem).standard_normal(shape) * scale).astype(np.float32)

    # opset 1 as onnxruntime runs it: Conv, ConvTranspose, MaxPool, GlobalAveragePool, Reshape-1, Softmax-1
    st = "old_chain_op1"
    inits = [init("w1", w(st + ".w1", (4, 3, 3, 3))), init("b1", w(st + ".b1", (4,), 0.1)),
             init("wt", w(st + ".wt", (4, 5, 2, 2)))]
    nodes = [node("Conv", ["x", "w1", "b1"], ["c"], name="/c/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             node("ConvTranspose", ["c", "wt"], ["t"], name="/t/ConvTranspose", kernel_shape=[2, 2], strides=[2, 2]),
             node("MaxPool", ["t"], ["p"], name="/p/MaxPool", kernel_shape=[3, 3], strides=[2, 2]),
             node("GlobalAveragePool", ["p"], ["g"], name="/g/GlobalAveragePool"),
             node("Reshape", ["g"], ["r"], name="/r/Reshape", shape=[1, 5]),
             node("Softmax", ["r"], ["y"], name="/s/Softmax")]
    write(st, 1, nodes, inits, (1, 3, 5, 7), "Conv, ConvTranspose, MaxPool, GlobalAveragePool, Reshape-1 "
          "(shape attribute), Softmax-1")
    # Reshape-1 at opset 4 between convs, Flatten-1
    st = "old_reshape_op4"
    inits = [init("w1", w(st + ".w1", (4, 3, 1, 1)))]
    nodes = [node("Conv", ["x", "w1"], ["c"], name="/c/Conv", kernel_shape=[1, 1]),
             node("GlobalAveragePool", ["c"], ["g"], name="/g/GlobalAveragePool"),
             node("Flatten", ["g"], ["f"], name="/f/Flatten"),
             node("Reshape", ["f"], ["y"], name="/r/Reshape", shape=[0, -1, 1, 1])]
    write(st, 4, nodes, inits, (1, 3, 4, 6), "Conv, GlobalAveragePool, Flatten-1, Reshape-1 [0, -1, 1, 1]")
    # Pad-2 (pads attribute, reflect) at opset 2
    st = "old_pad_op2"
    write(st, 2, [node("Pad", ["x"], ["y"], name="/pad/Pad", mode="reflect", pads=[0, 0, 1, 2, 0, 0, 2, 1])],
          [], (1, 2, 4, 5), "Pad-2 reflect pads [1, 2] [2, 1]")
    # opset 6 as onnxruntime runs it: activations with consumed_inputs gone, Clip's attributes, Pad-2
    st = "old_act_op6"
    inits = [init("w1", w(st + ".w1", (6, 3, 3, 3))), init("w2", w(st + ".w2", (4, 6, 3, 3)))]
    nodes = [node("Conv", ["x", "w1"], ["c1"], name="/c1/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             node("Relu", ["c1"], ["r"], name="/c1/Relu"),
             node("Pad", ["r"], ["p"], name="/pad/Pad", mode="edge", pads=[0, 0, 1, 1, 0, 0, 1, 1]),
             node("Conv", ["p", "w2"], ["c2"], name="/c2/Conv", kernel_shape=[3, 3], strides=[2, 2]),
             node("LeakyRelu", ["c2"], ["l"], name="/c2/LeakyRelu", alpha=0.2),
             node("Clip", ["l"], ["k"], name="/clip/Clip", min=-0.3, max=0.4),
             node("Sigmoid", ["k"], ["y"], name="/out/Sigmoid")]
    write(st, 6, nodes, inits, (1, 3, 7, 9), "Conv, Relu, Pad-2 edge, strided Conv, LeakyRelu, Clip-6 (min, max "
          "attributes), Sigmoid")
    # paired: BatchNormalization-6 (is_test 1, spatial 1) and -1 (consumed_inputs); Dropout-6; Gemm-6
    for st, opset in (("old_bn_op6", 6), ("old_bn_op1", 1)):
        c = 4
        inits = [init("w1", w(st + ".w1", (c, 3, 3, 3))), init("s", w(st + ".s", (c,), 1.0)),
                 init("b", w(st + ".b", (c,), 0.2)), init("m", w(st + ".m", (c,), 0.2)),
                 init("v", np.abs(w(st + ".v", (c,), 1.0)) + 0.3)]
        old = dict(is_test=1, spatial=1, epsilon=1e-3)
        if opset == 1:
            old["consumed_inputs"] = [0, 0, 0, 1, 1]
        conv = node("Conv", ["x", "w1"], ["c"], name="/c/Conv", kernel_shape=[3, 3])
        drop = dict(is_test=1, ratio=0.3)
        mk = lambda a, d: [conv, node("BatchNormalization", ["c", "s", "b", "m", "v"], ["n"],  # noqa: E731
                                      name="/bn/BatchNormalization", **a),
                           node("Dropout", ["n"], ["y"], name="/drop/Dropout", **d)]
        if opset == 1:
            mk = lambda a, d: [conv, node("BatchNormalization", ["c", "s", "b", "m", "v"], ["y"],  # noqa: E731
                                          name="/bn/BatchNormalization", **a)]
        write(st, opset, mk(old, drop), inits, (1, 3, 5, 6),
              "Conv, BatchNormalization-%d (is_test 1, spatial 1%s, epsilon 1e-3)%s" % (
                  opset, ", consumed_inputs" if opset == 1 else "", "" if opset == 1 else ", Dropout-6 is_test 1"),
              paired=(9, mk(dict(epsilon=1e-3), {}), inits))
    # paired: Add / Mul / Sub with legacy broadcast (axis 1, and trailing), Gemm-6 broadcast
    st = "old_bcast_op6"
    inits = [init("a", w(st + ".a", (3,), 1.0)), init("mm", w(st + ".m", (3,), 1.0)),
             init("sub", np.array([0.25], np.float32)), init("hw", w(st + ".hw", (4, 5), 1.0))]
    nodes = [node("Add", ["x", "a"], ["p"], name="/add/Add", broadcast=1, axis=1),
             node("Mul", ["p", "mm"], ["q"], name="/mul/Mul", broadcast=1, axis=1),
             node("Sub", ["q", "sub"], ["r"], name="/sub/Sub", broadcast=1),
             node("Mul", ["r", "x"], ["y"], name="/sq/Mul")]
    inits7 = [init("a", w(st + ".a", (3,), 1.0).reshape(3, 1, 1)),
              init("mm", w(st + ".m", (3,), 1.0).reshape(3, 1, 1)), init("sub", np.array([0.25], np.float32))]
    nodes7 = [node("Add", ["x", "a"], ["p"], name="/add/Add"), node("Mul", ["p", "mm"], ["q"], name="/mul/Mul"),
              node("Sub", ["q", "sub"], ["r"], name="/sub/Sub"), node("Mul", ["r", "x"], ["y"], name="/sq/Mul")]
    write(st, 6, nodes, inits[:3], (1, 3, 4, 5), "Add, Mul per channel (broadcast 1, axis 1), Sub of [1] "
          "(broadcast 1), Mul of two tensors of one shape", paired=(7, nodes7, inits7))
    st = "old_gemm_op6"
    inits = [init("wf", w(st + ".w", (5, 3), 0.5)), init("bf", w(st + ".b", (5,), 0.2))]
    nodes = [node("GlobalAveragePool", ["x"], ["g"], name="/g/GlobalAveragePool"),
             node("Flatten", ["g"], ["f"], name="/f/Flatten"),
             node("Gemm", ["f", "wf", "bf"], ["y"], name="/fc/Gemm", transB=1, broadcast=1)]
    nodes7 = nodes[:2] + [node("Gemm", ["f", "wf", "bf"], ["y"], name="/fc/Gemm", transB=1)]
    write(st, 6, nodes, inits, (1, 3, 4, 5), "GlobalAveragePool, Flatten, Gemm-6 (broadcast 1)",
          paired=(7, nodes7, inits))
    # paired: Concat-1 without axis; Pad-1 (paddings); AveragePool-1; Cast-1 (to 'FLOAT'); Upsample-1
    st = "old_concat_pad_op1"
    nodes = [node("Cast", ["x"], ["xc"], name="/cast/Cast", to="FLOAT"),
             node("MaxPool", ["xc"], ["m"], name="/m/MaxPool", kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                  strides=[1, 1]),
             node("Concat", ["xc", "m"], ["c"], name="/cat/Concat"),
             node("Pad", ["c"], ["p"], name="/pad/Pad", paddings=[0, 0, 2, 1, 0, 0, 0, 3], value=0.5),
             node("AveragePool", ["p"], ["y"], name="/avg/AveragePool", kernel_shape=[2, 3], pads=[1, 1, 1, 1],
                  strides=[2, 2])]
    nodes7 = [node("Cast", ["x"], ["xc"], name="/cast/Cast", to=1), nodes[1],
              node("Concat", ["xc", "m"], ["c"], name="/cat/Concat", axis=1),
              node("Pad", ["c"], ["p"], name="/pad/Pad", pads=[0, 0, 2, 1, 0, 0, 0, 3], value=0.5), nodes[4]]
    write(st, 1, nodes, [], (1, 2, 5, 6), "Cast-1 to 'FLOAT', MaxPool, Concat-1 (no axis: 1), Pad-1 (paddings, "
          "value 0.5), AveragePool-1 (pads excluded)", paired=(7, nodes7, []))
    for st, mode in (("old_upsample_nearest_op6", "nearest"), ("old_upsample_bilinear_op6", "bilinear")):
        nodes = [node("Upsample", ["x"], ["y"], name="/up/Upsample", height_scale=2.0, width_scale=3.0,
                      mode=mode)]
        nodes7 = [node("Upsample", ["x"], ["y"], name="/up/Upsample", scales=[1.0, 1.0, 2.0, 3.0],
                       mode="linear" if mode == "bilinear" else mode)]
        write(st, 6, nodes, [], (1, 2, 3, 4), "Upsample-1 %s, height_scale 2, width_scale 3 (read as "
              "Upsample-7)" % mode, paired=(7, nodes7, []))
    # paired: PRelu-6 and -1 (no broadcasting: a slope of C values is one per channel, whatever the input's
    # last axis; onnxruntime runs PRelu from opset 7, where [C] would broadcast along W)
    for st, opset, c, shape in (("old_prelu_op6", 6, 4, (1, 3, 5, 7)), ("old_prelu_w_op6", 6, 3, (1, 3, 4, 3)),
                                ("old_prelu_op1", 1, 1, (1, 3, 4, 5))):
        slope = rng_for(st + ".s").uniform(-1.5, 1.5, (c,)).astype(np.float32)
        attrs = dict(consumed_inputs=[0, 0]) if opset == 1 else {}
        first = [node("Conv", ["x", "w1"], ["c"], name="/c/Conv", kernel_shape=[1, 1])] if c == 4 else []
        inits = [init("w1", w(st + ".w1", (4, 3, 1, 1), 1.0))] if c == 4 else []
        act = "c" if c == 4 else "x"
        nodes = first + [node("PRelu", [act, "slope"], ["y"], name="/act/PRelu", **attrs)]
        nodes7 = first + [node("PRelu", [act, "slope"], ["y"], name="/act/PRelu")]
        write(st, opset, nodes, inits + [init("slope", slope)], shape,
              "%sPRelu-%d slope [%d]%s" % ("Conv 3->4, " if c == 4 else "", opset, c, " on [1, 3, 4, 3] (W = C)"
                                          if st == "old_prelu_w_op6" else ""),
              paired=(7, nodes7, inits + [init("slope", slope.reshape(c, 1, 1) if c > 1 else slope)]))
    # refused (no .npy; tests/test_onnx_ops.c checks the messages)
    bn = ["x", "s", "b", "m", "v"]
    ones = [init(k, np.ones(2, np.float32)) for k in "sbmv"]
    for st, attrs in (("old_bn_spatial0_op6", dict(is_test=1, spatial=0)), ("old_bn_train_op6", dict(spatial=1))):
        save(out, st, model([node("BatchNormalization", bn, ["y"], name="/bn/BN", **attrs)],
                            [vi("x", TensorProto.FLOAT, [1, 2, 3, 3])], [vi("y", TensorProto.FLOAT, None)], ones, 6))
    save(out, "old_dropout_train_op6", model([node("Dropout", ["x"], ["y"], name="/drop/Dropout", ratio=0.5)],
                                             [vi("x", TensorProto.FLOAT, [1, 2, 3, 3])],
                                             [vi("y", TensorProto.FLOAT, None)], [], 6))
    save(out, "old_add_nobcast_op6", model([node("Add", ["x", "a"], ["y"], name="/add/Add")],
                                           [vi("x", TensorProto.FLOAT, [1, 2, 3, 3])],
                                           [vi("y", TensorProto.FLOAT, None)],
                                           [init("a", np.ones(2, np.float32))], 6))
    save(out, "old_opset22", model([node("Relu", ["x"], ["y"], name="/act/Relu")],
                                   [vi("x", TensorProto.FLOAT, [1, 2, 3, 3])], [vi("y", TensorProto.FLOAT, None)],
                                   [], 22))


def reduce_cases(out, idx):
    """ReduceMean / ReduceMax / ReduceSum over H and W, C, or C, H and W; axes as the attribute (Mean and Max
    before opset 18, Sum before 13) or the input; keepdims 0 and 1; batch 2."""
    from onnx import TensorProto, helper
    sys.path.insert(0, HERE)
    from make_onnx_fixtures import init, model, rng_for, save

    vi = helper.make_tensor_value_info
    cases = [  # (op, opset, axes, keepdims)
        ("ReduceMean", 13, [2, 3], 1), ("ReduceMean", 18, [-1, -2], 0), ("ReduceMean", 13, [1], 1),
        ("ReduceMean", 18, [1, 2, 3], 1), ("ReduceMax", 11, [2, 3], 0), ("ReduceMax", 18, [1], 1),
        ("ReduceMax", 13, [1, 2, 3], 1), ("ReduceSum", 11, [2, 3], 1), ("ReduceSum", 13, [3, 2], 0),
        ("ReduceSum", 13, [1], 1), ("ReduceSum", 18, [1, 2, 3], 1), ("ReduceSum", 13, None, 1),
    ]
    for i, (op, opset, axes, keep) in enumerate(cases):
        stem = "reduce_%s_%d_op%d" % (op[6:].lower(), i, opset)
        as_input = axes is not None and opset >= (13 if op == "ReduceSum" else 18)
        attrs = dict(keepdims=keep) if axes is not None else dict(keepdims=keep, noop_with_empty_axes=1)
        inits, ins = [], ["c"]
        if as_input:
            inits.append(init("axes", np.array(axes, np.int64)))
            ins.append("axes")
        elif axes is not None:
            attrs["axes"] = axes
        r = rng_for(stem + ".w")
        inits.append(init("w", (r.standard_normal((5, 3, 3, 3)) * 0.3).astype(np.float32)))
        nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="/c/Conv", pads=[1, 1, 1, 1]),
                 helper.make_node(op, ins, ["y"], name="/r/" + op, **attrs)]
        shape = (2, 3, 5, 7)
        m = model(nodes, [vi("x", TensorProto.FLOAT, list(shape))], [vi("y", TensorProto.FLOAT, None)], inits, opset)
        save(out, stem, m, rng_for(stem).uniform(-2, 2, shape).astype(np.float32))
        idx.append((stem, "Conv then %s axes %s (%s) keepdims %d, batch 2" % (
            op, axes if axes is not None else "none, noop_with_empty_axes 1 (identity)",
            "input" if as_input else "attribute", keep)))
    # any axes (tensors of any rank): one spatial axis; the batch; channels without keepdims; no axes (all)
    for stem, op, opset, axes, keep in (("reduce_h_op13", "ReduceMean", 13, [2], 1),
                                        ("reduce_all_op13", "ReduceSum", 13, [], 1),
                                        ("reduce_batch_op13", "ReduceSum", 13, [0, 1], 1),
                                        ("reduce_c_nokeep_op11", "ReduceMax", 11, [1], 0)):
        ins, inits, attrs = ["x"], [], dict(keepdims=keep)
        if op == "ReduceSum" and opset >= 13 and axes:
            ins.append("axes")
            inits.append(init("axes", np.array(axes, np.int64)))
        elif axes:
            attrs["axes"] = axes
        save(out, stem, model([helper.make_node(op, ins, ["y"], name="/r/" + op, **attrs)],
                              [vi("x", TensorProto.FLOAT, [1, 3, 4, 5])], [vi("y", TensorProto.FLOAT, None)],
                              inits, opset), rng_for(stem).uniform(-2, 2, (1, 3, 4, 5)).astype(np.float32))
        idx.append((stem, "%s axes %s keepdims %d (any axes)" % (op, axes, keep)))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--export-unet":
        export_unet(sys.argv[2], int(sys.argv[3]), 16, 24)
        return
    import onnxruntime as ort
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "tests", "fixtures", "onnx_compat"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    ort.set_default_logger_severity(3)
    idx = []
    batch_cases(a.out, idx)
    old_cases(a.out, idx)
    reduce_cases(a.out, idx)
    with open(os.path.join(a.out, "index.txt"), "w") as f:
        f.write("# written by tools/make_onnx_compat_fixtures.py: STEM<TAB>what it checks\n")
        for stem, what in idx:
            f.write("%s\t%s\n" % (stem, what))


if __name__ == "__main__":
    main()

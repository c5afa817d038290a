#!/usr/bin/env python3
"""Writes tests/fixtures/onnx_ops/: small ONNX models of the operators of issue 19 ("ONNX as people's files
really are") that tests/test_onnx_ops.c checks against onnxruntime: DepthToSpace (DCR, CRD) and
SpaceToDepth, PixelShuffle as torch.onnx exports it, PRelu, Clip with tensor bounds and Softmax at old and new
opsets.

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
    # refused: PixelShuffle as torch.onnx writes it at opset 9 (a 6-D Reshape, a Transpose, a Reshape)
    vi = helper.make_tensor_value_info
    nodes = [helper.make_node("Reshape", ["x", "s6"], ["r6"], name="/shuffle/Reshape"),
             helper.make_node("Transpose", ["r6"], ["t6"], name="/shuffle/Transpose", perm=[0, 1, 4, 2, 5, 3]),
             helper.make_node("Reshape", ["t6", "s4"], ["y"], name="/shuffle/Reshape_1")]
    m = model(nodes, [vi("x", TensorProto.FLOAT, [1, 8, 3, 5])], [vi("y", TensorProto.FLOAT, None)],
              [ints("s6", [1, 2, 2, 2, 3, 5]), ints("s4", [1, 2, 6, 10])], 9)
    save(out, "pixelshuffle_op9", m)
    # malformed: a mode the spec lacks
    one_node(out, "d2s_badmode_op13", 13, "DepthToSpace", dict(blocksize=2, mode="RDC"), (1, 8, 3, 5))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "onnx_ops"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    ort.set_default_logger_severity(3)
    idx = []
    space_depth_cases(a.out, idx)
    with open(os.path.join(a.out, "index.txt"), "w") as f:
        f.write("# written by tools/make_onnx_op_fixtures.py: STEM<TAB>what it checks\n")
        for stem, what in idx:
            f.write("%s\t%s\n" % (stem, what))


if __name__ == "__main__":
    main()

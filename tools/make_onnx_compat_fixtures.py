#!/usr/bin/env python3
"""Writes tests/fixtures/onnx_compat/: small ONNX models of the rest of issue 19 that tests/test_onnx_ops.c
checks against onnxruntime: batches above 1 (a fixed batch in the file, a symbolic batch and a batch-1 file
planned at N = 4), and a tiny U-Net exported by torch.onnx at opset 17 with batch 4.

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
    with open(os.path.join(a.out, "index.txt"), "w") as f:
        f.write("# written by tools/make_onnx_compat_fixtures.py: STEM<TAB>what it checks\n")
        for stem, what in idx:
            f.write("%s\t%s\n" % (stem, what))


if __name__ == "__main__":
    main()

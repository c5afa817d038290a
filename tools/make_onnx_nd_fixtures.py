#!/usr/bin/env python3
"""Writes tests/fixtures/onnx_nd/: small models with soft attention and token tensors, exported by
torch.onnx from PyTorch modules written here and from torch's own nn.TransformerEncoderLayer, that
tests/test_onnx_nd.c imports and runs against onnxruntime (issue 18: tensors of any rank, fused attention):

  nonlocal_op13        a non-local block (embedded Gaussian): 1x1 convs, view/permute, bmm, softmax, bmm
  danet_op13           DANet's position and channel attention modules on a batch of 2
  segformer_op13/_op17 a SegFormer (MiT) block: overlapping patch embedding, token LayerNorm, efficient
                       self-attention with spatial reduction 2 and 2 heads, Mix-FFN with a depthwise conv and
                       GELU; at opset 13 LayerNorm is exported as ReduceMean-Sub-Pow-Sqrt-Div, at 17 as
                       LayerNormalization
  vit_op13             torch.nn.TransformerEncoderLayer (4 heads, GELU, batch_first) on patch tokens
  convnext_op13/_op17  a ConvNeXt block (depthwise 7x7, channels-last LayerNorm, Linear 4x, GELU, Linear, layer
                       scale, residual) and a LayerNorm2d (permute, LayerNorm over C, permute back: the planner
                       runs it as one layernorm over C of the NCHW map)
  groupnorm_op13       GroupNorm (exported as InstanceNormalization on a reshape) and LogSoftmax, Erf,
                       Sqrt, Pow on tokens
  gnorm18_op18, inorm_op13, lnorm_axis1_op17, where_gather_op13, gelu_tokens_op13, lnorm_tokens_op13,
  reduce_gaps_op13
                       hand-built with onnx.helper (torch 1.13 cannot write opset 18): GroupNormalization with
                       per-group scale and bias, InstanceNormalization, LayerNormalization over C, H, W, and Where on
                       a constant mask with a Gather of one row, the Erf-GELU and LayerNorm patterns on tokens,
                       reductions over axes with gaps

Two Pythons: the export runs in one with torch (Debian's /usr/bin/python3), onnxruntime in the other (the
pyenv python3). Run:  python3 tools/make_onnx_nd_fixtures.py [--out tests/fixtures/onnx_nd] [--only STEM,...]
Per case STEM.onnx, STEM.input.npy, STEM.ort.npy; index.txt lists them. Weights seeded per stem.
"""
import argparse
import os
import subprocess
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SEED = 20261203
TORCH_PYTHON = "/usr/bin/python3"

CASES = [  # stem, opset, input shape, what
    ("nonlocal_op13", 13, (1, 16, 12, 10), "non-local block: 1x1 convs, bmm, softmax, bmm, residual"),
    ("danet_op13", 13, (2, 32, 9, 11), "DANet position + channel attention, batch 2"),
    ("segformer_op13", 13, (1, 3, 32, 32), "MiT block: patch embed, LayerNorm as ReduceMean.., SR attention, Mix-FFN"),
    ("segformer_op17", 17, (1, 3, 32, 32), "MiT block with LayerNormalization (opset 17)"),
    ("vit_op13", 13, (1, 3, 32, 32), "torch.nn.TransformerEncoderLayer on 4x4 patch tokens"),
    ("convnext_op13", 13, (1, 3, 20, 24), "ConvNeXt block + LayerNorm2d (permute, LayerNorm, permute back)"),
    ("convnext_op17", 17, (2, 3, 20, 24), "the same with LayerNormalization, batch 2"),
    ("groupnorm_op13", 13, (2, 8, 6, 5), "GroupNorm, LogSoftmax, Erf, Sqrt, Pow on tokens"),
]


def export(out, only):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class NonLocal(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.theta, self.phi, self.g = (nn.Conv2d(c, c // 2, 1) for _ in range(3))
            self.w = nn.Conv2d(c // 2, c, 1)
            self.bn = nn.BatchNorm2d(c)

        def forward(self, x):
            n, c, h, w = x.shape
            t = self.theta(x).view(n, c // 2, -1).permute(0, 2, 1)
            p = self.phi(x).view(n, c // 2, -1)
            g = self.g(x).view(n, c // 2, -1).permute(0, 2, 1)
            a = torch.softmax(torch.bmm(t, p), dim=-1)
            y = torch.bmm(a, g).permute(0, 2, 1).reshape(n, c // 2, h, w)
            return x + self.bn(self.w(y))

    class PAM(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.q, self.k, self.v = nn.Conv2d(c, c // 8, 1), nn.Conv2d(c, c // 8, 1), nn.Conv2d(c, c, 1)
            self.gamma = nn.Parameter(torch.tensor([0.7]))

        def forward(self, x):
            n, c, h, w = x.shape
            q = self.q(x).view(n, -1, h * w).permute(0, 2, 1)
            k = self.k(x).view(n, -1, h * w)
            a = torch.softmax(torch.bmm(q, k), dim=-1)
            v = self.v(x).view(n, -1, h * w)
            o = torch.bmm(v, a.permute(0, 2, 1)).view(n, c, h, w)
            return self.gamma * o + x

    class CAM(nn.Module):
        def __init__(self):
            super().__init__()
            self.gamma = nn.Parameter(torch.tensor([0.4]))

        def forward(self, x):
            n, c, h, w = x.shape
            q = x.view(n, c, -1)
            e = torch.bmm(q, q.permute(0, 2, 1))
            e = torch.max(e, -1, keepdim=True)[0].expand_as(e) - e
            a = torch.softmax(e, dim=-1)
            o = torch.bmm(a, q).view(n, c, h, w)
            return self.gamma * o + x

    class DANet(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.pam, self.cam = PAM(c), CAM()
            self.head = nn.Conv2d(c, 5, 1)

        def forward(self, x):
            return self.head(self.pam(x) + self.cam(x))

    class MixFFN(nn.Module):
        def __init__(self, c, hidden):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(c, hidden), nn.Linear(hidden, c)
            self.dw = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)

        def forward(self, x, h, w):
            x = self.fc1(x)
            n, l, c = x.shape
            x = self.dw(x.transpose(1, 2).reshape(n, c, h, w)).flatten(2).transpose(1, 2)
            return self.fc2(F.gelu(x))

    class EfficientAttention(nn.Module):
        def __init__(self, c, heads, sr):
            super().__init__()
            self.heads, self.scale = heads, (c // heads) ** -0.5
            self.q, self.kv, self.proj = nn.Linear(c, c), nn.Linear(c, 2 * c), nn.Linear(c, c)
            self.sr, self.norm = nn.Conv2d(c, c, sr, sr), nn.LayerNorm(c, eps=1e-6)

        def forward(self, x, h, w):
            n, l, c = x.shape
            d = c // self.heads
            q = self.q(x).reshape(n, l, self.heads, d).permute(0, 2, 1, 3)
            r = self.sr(x.transpose(1, 2).reshape(n, c, h, w)).reshape(n, c, -1).transpose(1, 2)
            kv = self.kv(self.norm(r)).reshape(n, -1, 2, self.heads, d).permute(2, 0, 3, 1, 4)
            k, v = kv[0], kv[1]
            a = (q @ k.transpose(-2, -1)) * self.scale
            y = (a.softmax(dim=-1) @ v).transpose(1, 2).reshape(n, l, c)
            return self.proj(y)

    class MiTBlock(nn.Module):
        def __init__(self, c=32, heads=2, sr=2, classes=4):
            super().__init__()
            self.embed, self.embed_norm = nn.Conv2d(3, c, 7, 4, 3), nn.LayerNorm(c, eps=1e-6)
            self.norm1, self.attn = nn.LayerNorm(c, eps=1e-6), EfficientAttention(c, heads, sr)
            self.norm2, self.ffn = nn.LayerNorm(c, eps=1e-6), MixFFN(c, 4 * c)
            self.norm3, self.head = nn.LayerNorm(c, eps=1e-6), nn.Conv2d(c, classes, 1)

        def forward(self, x):
            x = self.embed(x)
            n, c, h, w = x.shape
            t = self.embed_norm(x.flatten(2).transpose(1, 2))
            t = t + self.attn(self.norm1(t), h, w)
            t = t + self.ffn(self.norm2(t), h, w)
            t = self.norm3(t).reshape(n, h, w, c).permute(0, 3, 1, 2)
            return self.head(t)

    class ViT(nn.Module):
        def __init__(self, c=32):
            super().__init__()
            self.embed = nn.Conv2d(3, c, 4, 4)
            self.layer = nn.TransformerEncoderLayer(c, 4, 64, dropout=0.0, activation="gelu", batch_first=True)
            self.head = nn.Conv2d(c, 3, 1)

        def forward(self, x):
            x = self.embed(x)
            n, c, h, w = x.shape
            t = self.layer(x.flatten(2).transpose(1, 2))
            return self.head(t.transpose(1, 2).reshape(n, c, h, w))

    class ConvNeXt(nn.Module):
        def __init__(self, c=16):
            super().__init__()
            self.stem = nn.Conv2d(3, c, 2, 2)
            self.dw = nn.Conv2d(c, c, 7, padding=3, groups=c)
            self.norm = nn.LayerNorm(c, eps=1e-6)
            self.fc1 = nn.Linear(c, 4 * c)
            self.fc2 = nn.Linear(4 * c, c)
            self.gamma = nn.Parameter(torch.rand(c) * 0.5 + 0.5)
            self.down_norm = nn.LayerNorm(c)
            self.head = nn.Conv2d(c, 3, 1)

        def forward(self, x):
            x = self.stem(x)
            y = self.dw(x).permute(0, 2, 3, 1)
            y = self.fc2(F.gelu(self.fc1(self.norm(y)))) * self.gamma
            x = x + y.permute(0, 3, 1, 2)
            x = self.down_norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
            return self.head(x)

    class Norms(nn.Module):
        def __init__(self, c=8):
            super().__init__()
            self.gn = nn.GroupNorm(4, c)

        def forward(self, x):
            x = self.gn(x)
            t = x.flatten(2).transpose(1, 2)  # [N, HW, C]
            t = torch.log_softmax(t, dim=-1) + torch.erf(t) + torch.sqrt(t * t + 1.0) + torch.pow(t, 3.0)
            return t.sum(dim=-1, keepdim=False)

    builders = {"nonlocal": lambda: NonLocal(16), "danet": lambda: DANet(32), "segformer": MiTBlock,
                "vit": ViT, "convnext": ConvNeXt, "groupnorm": Norms}
    for stem, opset, shape, _ in CASES:
        if only and stem not in only:
            continue
        torch.manual_seed(SEED ^ zlib.crc32(stem.split("_op")[0].encode()))
        m = builders[stem.split("_op")[0]]().eval()
        with torch.no_grad():
            for mod in m.modules():  # batchnorm statistics away from 0/1 so folding is checked
                if isinstance(mod, nn.BatchNorm2d):
                    mod.running_mean.uniform_(-0.5, 0.5)
                    mod.running_var.uniform_(0.5, 1.5)
        x = torch.rand(shape) * 2 - 1
        torch.onnx.export(m, x, os.path.join(out, stem + ".onnx"), opset_version=opset, input_names=["input"],
                          output_names=["output"], do_constant_folding=True)
        import numpy as np
        np.save(os.path.join(out, stem + ".input.npy"), x.numpy().astype(np.float32))
        with torch.no_grad():
            np.save(os.path.join(out, stem + ".torch.npy"), m(x).numpy().astype(np.float32))
        print("exported", stem)


HAND = [  # stem, what (built by hand_built)
    ("gnorm18_op18", "GroupNormalization-18, 2 groups, per-group scale and bias"),
    ("inorm_op13", "InstanceNormalization with scale and bias"),
    ("lnorm_axis1_op17", "LayerNormalization axis 1 (over C, H, W)"),
    ("where_gather_op13", "Where on a constant mask, Gather of one row, Softmax on H"),
    ("gelu_tokens_op13", "Erf-GELU written op by op on tokens [N, L, C] (one kernel when fused)"),
    ("lnorm_tokens_op13", "LayerNorm written op by op on tokens, with gamma and beta (one kernel when fused)"),
    ("reduce_gaps_op13", "ReduceMean axes [1, 3] keepdims 1, ReduceSum axes [0, 2] keepdims 0 (axes with gaps)"),
]


def hand_built(out):
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    def rng(stem):
        return np.random.default_rng(SEED ^ zlib.crc32(stem.encode()))

    def save(stem, nodes, shape, inits, opset):
        vi = helper.make_tensor_value_info
        g = helper.make_graph(nodes, "g", [vi("input", TensorProto.FLOAT, list(shape))],
                              [vi("output", TensorProto.FLOAT, None)],
                              initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="make_onnx_nd_fixtures")
        m.ir_version = 8
        with open(os.path.join(out, stem + ".onnx"), "wb") as f:
            f.write(m.SerializeToString())
        np.save(os.path.join(out, stem + ".input.npy"), rng(stem).uniform(-2, 2, shape).astype(np.float32))

    r = rng("gnorm18_op18")
    save("gnorm18_op18", [helper.make_node("GroupNormalization", ["input", "s", "b"], ["output"], num_groups=2,
                                           epsilon=1e-4)], (2, 6, 5, 4),
         {"s": r.uniform(0.5, 1.5, 2).astype(np.float32), "b": r.uniform(-1, 1, 2).astype(np.float32)}, 18)
    r = rng("inorm_op13")
    save("inorm_op13", [helper.make_node("InstanceNormalization", ["input", "s", "b"], ["output"])], (2, 3, 7, 5),
         {"s": r.uniform(0.5, 1.5, 3).astype(np.float32), "b": r.uniform(-1, 1, 3).astype(np.float32)}, 13)
    r = rng("lnorm_axis1_op17")
    save("lnorm_axis1_op17", [helper.make_node("LayerNormalization", ["input", "s", "b"], ["output"], axis=1)],
         (2, 3, 4, 5), {"s": r.uniform(0.5, 1.5, (3, 4, 5)).astype(np.float32),
                        "b": r.uniform(-1, 1, (3, 4, 5)).astype(np.float32)}, 17)
    r = rng("where_gather_op13")
    mask = r.uniform(0, 1, (1, 1, 6, 5)) > 0.5
    save("where_gather_op13", [
        helper.make_node("Where", ["mask", "input", "neg"], ["w"]),
        helper.make_node("Softmax", ["w"], ["sm"], axis=2),
        helper.make_node("Gather", ["sm", "row"], ["g"], axis=2),
        helper.make_node("Mul", ["g", "g"], ["output"])], (2, 3, 6, 5),
        {"mask": mask, "neg": np.array([-3.0], np.float32), "row": np.array(4, np.int64)}, 13)
    f32 = np.float32
    save("gelu_tokens_op13", [
        helper.make_node("Reshape", ["input", "shape"], ["t"]),
        helper.make_node("Div", ["t", "sqrt2"], ["d"]), helper.make_node("Erf", ["d"], ["e"]),
        helper.make_node("Add", ["e", "one"], ["a"]), helper.make_node("Mul", ["t", "a"], ["m"]),
        helper.make_node("Mul", ["m", "half"], ["output"])], (2, 3, 4, 5),
        {"shape": np.array([2, 3, 20], np.int64), "sqrt2": np.array(1.4142135381698608, f32),
         "one": np.array(1.0, f32), "half": np.array(0.5, f32)}, 13)
    save("reduce_gaps_op13", [
        helper.make_node("ReduceMean", ["input"], ["m"], axes=[1, 3], keepdims=1),
        helper.make_node("Sub", ["input", "m"], ["d"]),
        helper.make_node("ReduceSum", ["d", "axes"], ["output"], keepdims=0)], (2, 3, 4, 5),
        {"axes": np.array([0, 2], np.int64)}, 13)
    r = rng("lnorm_tokens_op13")
    save("lnorm_tokens_op13", [
        helper.make_node("Reshape", ["input", "shape"], ["t"]),
        helper.make_node("ReduceMean", ["t"], ["m"], axes=[-1]), helper.make_node("Sub", ["t", "m"], ["d"]),
        helper.make_node("Pow", ["d", "two"], ["p"]), helper.make_node("ReduceMean", ["p"], ["v"], axes=[-1]),
        helper.make_node("Add", ["v", "eps"], ["ve"]), helper.make_node("Sqrt", ["ve"], ["s"]),
        helper.make_node("Div", ["d", "s"], ["n"]), helper.make_node("Mul", ["n", "gamma"], ["g"]),
        helper.make_node("Add", ["g", "beta"], ["output"])], (2, 3, 4, 5),
        {"shape": np.array([2, 12, 5], np.int64), "two": np.array(2.0, f32), "eps": np.array(1e-5, f32),
         "gamma": r.uniform(0.5, 1.5, 5).astype(f32), "beta": r.uniform(-1, 1, 5).astype(f32)}, 13)


def references(out, only):
    import numpy as np
    import onnxruntime as ort

    if not only:
        hand_built(out)

    with open(os.path.join(out, "index.txt"), "w") as idx:
        for stem, _, _, what in CASES:
            if only and stem not in only:
                idx.write("%s\t%s\n" % (stem, what))
                continue
            sess = ort.InferenceSession(os.path.join(out, stem + ".onnx"), providers=["CPUExecutionProvider"])
            x = np.load(os.path.join(out, stem + ".input.npy"))
            y = sess.run(None, {"input": x})[0].astype(np.float32)
            t = np.load(os.path.join(out, stem + ".torch.npy"))
            err = float(np.max(np.abs(y - t)))
            assert err < 1e-4 * max(1.0, float(np.max(np.abs(t)))), (stem, err)
            os.remove(os.path.join(out, stem + ".torch.npy"))
            np.save(os.path.join(out, stem + ".ort.npy"), y)
            idx.write("%s\t%s\n" % (stem, what))
            print("wrote %s (onnxruntime vs torch: max |diff| %.2g)" % (stem, err))
        for stem, what in HAND:
            if only:
                idx.write("%s\t%s\n" % (stem, what))
                continue
            sess = ort.InferenceSession(os.path.join(out, stem + ".onnx"), providers=["CPUExecutionProvider"])
            y = sess.run(None, {"input": np.load(os.path.join(out, stem + ".input.npy"))})[0]
            np.save(os.path.join(out, stem + ".ort.npy"), y.astype(np.float32))
            idx.write("%s\t%s\n" % (stem, what))
            print("wrote", stem)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "onnx_nd"))
    ap.add_argument("--only", default="", help="comma list of stems to (re)write; the others stay as they are")
    ap.add_argument("--export", action="store_true", help="the torch half (run by the script itself)")
    a = ap.parse_args()
    only = [x for x in a.only.split(",") if x]
    os.makedirs(a.out, exist_ok=True)
    if a.export:
        export(a.out, only)
        return
    subprocess.run([TORCH_PYTHON, os.path.abspath(__file__), "--export", "--out", a.out, "--only", a.only],
                   check=True)
    references(a.out, only)


if __name__ == "__main__":
    sys.exit(main())

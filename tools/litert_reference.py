#!/usr/bin/env python3
# Reference outputs for tests/test_tflite.c from LiteRT (Google's TFLite runtime) on the CPU.
# Needs: pip install ai-edge-litert numpy pillow   (into the python3 on PATH; tested with ai-edge-litert 2.3.0)
# Usage: python3 tools/litert_reference.py [--out tests/fixtures/tflite] [--runs 20]
#
# Also builds ops_mix.tflite, a small model of the operators the selfie models lack (pools with SAME
# padding, TRANSPOSE_CONV, CONCATENATION, PAD, constant operands, depth multiplier 2, MEAN, RESHAPE,
# SOFTMAX, fused RELU6), with seeded weights, and its LiteRT output on the random input.
# Writes, for each case, <case>_input.npy (the model input, NCHW uint8 [1, 3, H, W]: the model sees
# value / 255 as float32; the random case stores no input, see below) and <case>_output.npy (LiteRT's
# probability map, float32 [1, 1, H, W]). Preprocessing follows MediaPipe (models/README.md): stretch the
# image to the model's input size (PIL bilinear, aspect ratio not kept), RGB / 255. The random case feeds
# floats made by splitmix64 seeded with RANDOM_SEED: u = (next >> 40) / 2**24, which tests/test_tflite.c
# regenerates bit for bit. Also prints LiteRT's invoke latency (2 threads, median of --runs).
import argparse
import os
import time

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as S
from ai_edge_litert.interpreter import Interpreter
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RANDOM_SEED = 20240611
# (case name, model file, sample image or None for the random input)
CASES = [
    ("square_astronaut", "selfie_segmentation.tflite", "astronaut.png"),
    ("square_chelsea", "selfie_segmentation.tflite", "chelsea.png"),
    ("square_random", "selfie_segmentation.tflite", None),
    ("landscape_astronaut", "selfie_segmentation_landscape.tflite", "astronaut.png"),
    ("ops_mix_random", "ops_mix.tflite", None),
]


def splitmix64_uniform(seed, count):
    """count floats in [0, 1) with 24 random bits each; the C test has the same generator."""
    mask = (1 << 64) - 1
    state = seed & mask
    out = np.empty(count, dtype=np.float32)
    for i in range(count):
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        out[i] = np.float32(z >> 40) / np.float32(1 << 24)
    return out


class MixBuilder:
    """A one-subgraph TFLite model built with the schema's object API."""

    def __init__(self):
        self.m = S.ModelT()
        self.m.version, self.m.description = 3, "clseg ops_mix test model"
        self.m.buffers, self.m.operatorCodes = [S.BufferT()], []
        self.sg = S.SubGraphT()
        self.sg.tensors, self.sg.operators = [], []
        self.rng = np.random.default_rng(7)

    def tensor(self, name, shape, data=None, ttype=S.TensorType.FLOAT32):
        t = S.TensorT()
        t.name, t.shape, t.type, t.buffer = name, list(shape), ttype, 0
        if data is not None:
            b = S.BufferT()
            b.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), dtype=np.uint8)
            self.m.buffers.append(b)
            t.buffer = len(self.m.buffers) - 1
        self.sg.tensors.append(t)
        return len(self.sg.tensors) - 1

    def weights(self, name, shape):
        return self.tensor(name, shape, self.rng.uniform(-0.5, 0.5, shape).astype(np.float32))

    def op(self, code, inputs, out_name, out_shape, opt_type=0, opt=None):
        codes = [c.builtinCode for c in self.m.operatorCodes]
        if code not in codes:
            c = S.OperatorCodeT()
            c.builtinCode, c.deprecatedBuiltinCode, c.version = code, min(code, 127), 1
            self.m.operatorCodes.append(c)
            codes.append(code)
        o = S.OperatorT()
        o.opcodeIndex, o.inputs = codes.index(code), list(inputs)
        o.outputs = [self.tensor(out_name, out_shape)]
        o.builtinOptionsType, o.builtinOptions = opt_type, opt
        self.sg.operators.append(o)
        return o.outputs[0]

    def finish(self, inp, out):
        self.sg.inputs, self.sg.outputs = [inp], [out]
        self.m.subgraphs = [self.sg]
        b = flatbuffers.Builder(1024)
        b.Finish(self.m.Pack(b), file_identifier=b"TFL3")
        return bytes(b.Output())


def options(cls, **kw):
    o = cls()
    for k, v in kw.items():
        setattr(o, k, v)
    return o


def ops_mix_model():
    """input [1, 9, 9, 4] -> ... -> softmax [1, 3, 4, 24]; the op list is in the module comment."""
    B, O, BO, P = MixBuilder(), S.BuiltinOperator, S.BuiltinOptions, S.Padding
    x = B.tensor("input", [1, 9, 9, 4])
    c1 = B.op(O.CONV_2D, [x, B.weights("c1_w", [6, 3, 3, 4]), B.weights("c1_b", [6])], "conv_a", [1, 5, 5, 6],
              BO.Conv2DOptions, options(S.Conv2DOptionsT, padding=P.SAME, strideW=2, strideH=2,
                                        fusedActivationFunction=S.ActivationFunctionType.RELU6,
                                        dilationWFactor=1, dilationHFactor=1))
    pool = lambda k, s: options(S.Pool2DOptionsT, padding=P.SAME, strideW=s, strideH=s, filterWidth=k,
                                filterHeight=k)
    mp = B.op(O.MAX_POOL_2D, [c1], "max_pool", [1, 5, 5, 6], BO.Pool2DOptions, pool(3, 1))
    ap = B.op(O.AVERAGE_POOL_2D, [c1], "avg_pool", [1, 3, 3, 6], BO.Pool2DOptions, pool(3, 2))
    shape = B.tensor("tc_shape", [4], np.array([1, 5, 5, 6], np.int32), S.TensorType.INT32)
    tc = B.op(O.TRANSPOSE_CONV, [shape, B.weights("tc_w", [6, 3, 3, 6]), ap, B.weights("tc_b", [6])],
              "transpose_conv", [1, 5, 5, 6], BO.TransposeConvOptions,
              options(S.TransposeConvOptionsT, padding=P.SAME, strideW=2, strideH=2))
    cat = B.op(O.CONCATENATION, [mp, tc], "concat", [1, 5, 5, 12], BO.ConcatenationOptions,
               options(S.ConcatenationOptionsT, axis=3))
    pads = B.tensor("pads", [4, 2], np.array([[0, 0], [1, 0], [0, 2], [0, 0]], np.int32), S.TensorType.INT32)
    pd = B.op(O.PAD, [cat, pads], "pad", [1, 6, 7, 12])
    mu = B.op(O.MUL, [pd, B.weights("scale", [12])], "mul_const", [1, 6, 7, 12], BO.MulOptions, S.MulOptionsT())
    ad = B.op(O.ADD, [B.weights("shift", [1]), mu], "add_const", [1, 6, 7, 12], BO.AddOptions,
              options(S.AddOptionsT, fusedActivationFunction=S.ActivationFunctionType.RELU))
    dw = B.op(O.DEPTHWISE_CONV_2D, [ad, B.weights("dw_w", [1, 3, 3, 24]), B.weights("dw_b", [24])], "depthwise",
              [1, 4, 5, 24], BO.DepthwiseConv2DOptions,
              options(S.DepthwiseConv2DOptionsT, padding=P.VALID, strideW=1, strideH=1, depthMultiplier=2,
                      dilationWFactor=1, dilationHFactor=1))
    axes = B.tensor("axes", [2], np.array([1, 2], np.int32), S.TensorType.INT32)
    mean = B.op(O.MEAN, [dw, axes], "mean", [1, 24], BO.ReducerOptions, options(S.ReducerOptionsT, keepDims=False))
    new_shape = B.tensor("new_shape", [4], np.array([1, 1, 1, 24], np.int32), S.TensorType.INT32)
    rs = B.op(O.RESHAPE, [mean, new_shape], "reshape", [1, 1, 1, 24], BO.ReshapeOptions,
              options(S.ReshapeOptionsT, newShape=[1, 1, 1, 24]))
    gate = B.op(O.LOGISTIC, [rs], "gate", [1, 1, 1, 24])
    gated = B.op(O.MUL, [dw, gate], "gated", [1, 4, 5, 24], BO.MulOptions, S.MulOptionsT())
    sm = B.op(O.SOFTMAX, [gated], "softmax", [1, 4, 5, 24], BO.SoftmaxOptions, options(S.SoftmaxOptionsT, beta=1.0))
    return B.finish(x, sm)


def image_input(path, h, w):
    """NCHW uint8 [1, 3, h, w]: the image stretched to h x w."""
    img = Image.open(path).convert("RGB").resize((w, h), Image.BILINEAR)
    return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1)[None].copy()


def run_case(name, model, sample, out_dir, runs):
    path = os.path.join(out_dir if model == "ops_mix.tflite" else os.path.join(ROOT, "models"), model)
    interp = Interpreter(model_path=path, num_threads=2)
    interp.allocate_tensors()
    inp, outp = interp.get_input_details()[0], interp.get_output_details()[0]
    _, h, w, c = inp["shape"]
    if sample:
        u8 = image_input(os.path.join(ROOT, "samples", sample), h, w)
        np.save(os.path.join(out_dir, name + "_input.npy"), u8)
        nchw = u8.astype(np.float32) / np.float32(255.0)
    else:
        nchw = splitmix64_uniform(RANDOM_SEED, int(c * h * w)).reshape(1, c, h, w)
    interp.set_tensor(inp["index"], np.ascontiguousarray(nchw.transpose(0, 2, 3, 1)))
    interp.invoke()
    y = interp.get_tensor(outp["index"]).astype(np.float32)  # [1, H, W, C]
    np.save(os.path.join(out_dir, name + "_output.npy"), np.ascontiguousarray(y.transpose(0, 3, 1, 2)))
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        interp.invoke()
        times.append((time.perf_counter() - t0) * 1e3)
    print(f"{name}: {model} input {h}x{w}, LiteRT 2 threads median {np.median(times):.2f} ms "
          f"(min {min(times):.2f}) over {runs} runs, output range {y.min():.4g}..{y.max():.4g}")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "tflite"))
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "ops_mix.tflite"), "wb") as f:
        f.write(ops_mix_model())
    for name, model, sample in CASES:
        run_case(name, model, sample, args.out, args.runs)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
# Reference outputs for tests/test_tflite.c from LiteRT (Google's TFLite runtime) on the CPU.
# Needs: pip install ai-edge-litert numpy pillow   (into the python3 on PATH; tested with ai-edge-litert 2.3.0)
# Usage: python3 tools/litert_reference.py [--out tests/fixtures/tflite] [--runs 20] [--only PREFIX ...]
#   --only ops4: builds and runs only the models, refused files and cases whose names start with a prefix
#
# Also builds ops_mix.tflite, a small model of the operators the selfie models lack (pools with SAME
# padding, TRANSPOSE_CONV, CONCATENATION, PAD, constant operands, depth multiplier 2, MEAN, RESHAPE,
# SOFTMAX, fused RELU6), with seeded weights, and its LiteRT output on the random input; and sparse_mix.tflite,
# convs whose weights are stored sparse (compressed rows, and blocks) behind DENSIFY, as in MediaPipe's pose
# detector; and ops2_mix.tflite, the operators of issue 19 (DEPTH_TO_SPACE, SPACE_TO_DEPTH, PRELU); and
# ops3_mix.tflite (FULLY_CONNECTED, STRIDED_SLICE), plus two files with a slice clseg refuses (REFUSED); and
# ops4_mix.tflite (CONCATENATION on W, C and H, negative axes, PAD / PADV2 on channels, RESHAPE to and from
# 3-D), plus files with a concat, a pad and sparse weights clseg refuses.
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
    ("sparse_mix_random", "sparse_mix.tflite", None),
    ("ops2_mix_random", "ops2_mix.tflite", None),
    ("ops3_mix_random", "ops3_mix.tflite", None),
    ("ops4_mix_random", "ops4_mix.tflite", None),
]
BUILT = {"ops_mix.tflite": "ops_mix_model", "sparse_mix.tflite": "sparse_mix_model",
         "ops2_mix.tflite": "ops2_mix_model", "ops3_mix.tflite": "ops3_mix_model",
         "ops4_mix.tflite": "ops4_mix_model", "ops4_mix_fused.tflite": "ops4_mix_fused_model"}
# valid files clseg refuses (tests/test_tflite.c checks the messages), file -> (builder, its arguments); not
# run by LiteRT here
REFUSED = {"ops3_slice_stride2.tflite": ("refused_slice_model", ("strides", [1, 2, 1, 1])),
           "ops3_slice_shrink.tflite": ("refused_slice_model", ("shrinkAxisMask", 2)),
           "ops4_concat_batch.tflite": ("refused_batch_model", ("concat",)),
           "ops4_pad_batch.tflite": ("refused_batch_model", ("pad",)),
           "ops4_sparse_int8.tflite": ("sparse_int8_model", ())}


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


def ops2_mix_model():
    """The operators of issue 19 that MediaPipe's pose models use: DEPTH_TO_SPACE (DCR on NHWC), and
    SPACE_TO_DEPTH back, between convs, each conv followed by a PRELU (alpha per channel [1, 1, C], then one
    alpha for all)."""
    B, O, BO, P = MixBuilder(), S.BuiltinOperator, S.BuiltinOptions, S.Padding
    B.m.description = "clseg ops2_mix test model"
    x = B.tensor("input", [1, 6, 4, 3])
    conv = lambda: options(S.Conv2DOptionsT, padding=P.SAME, strideW=1, strideH=1, dilationWFactor=1,
                           dilationHFactor=1)
    c1 = B.op(O.CONV_2D, [x, B.weights("w1", [12, 3, 3, 3]), B.weights("b1", [12])], "conv1", [1, 6, 4, 12],
              BO.Conv2DOptions, conv())
    pr = B.op(O.PRELU, [c1, B.weights("alpha", [1, 1, 12])], "prelu", [1, 6, 4, 12])
    d2s = B.op(O.DEPTH_TO_SPACE, [pr], "depth_to_space", [1, 12, 8, 3], BO.DepthToSpaceOptions,
               options(S.DepthToSpaceOptionsT, blockSize=2))
    c2 = B.op(O.CONV_2D, [d2s, B.weights("w2", [5, 3, 3, 3]), B.weights("b2", [5])], "conv2", [1, 12, 8, 5],
              BO.Conv2DOptions, conv())
    pr1 = B.op(O.PRELU, [c2, B.weights("alpha1", [1])], "prelu_shared", [1, 12, 8, 5])
    s2d = B.op(O.SPACE_TO_DEPTH, [pr1], "space_to_depth", [1, 3, 2, 80], BO.SpaceToDepthOptions,
               options(S.SpaceToDepthOptionsT, blockSize=4))
    return B.finish(x, s2d)


def slice_opts(**kw):
    return options(S.StridedSliceOptionsT, **{k: kw.get(k, 0) for k in
                                              ("beginMask", "endMask", "ellipsisMask", "newAxisMask",
                                               "shrinkAxisMask")})


def ops3_mix_model():
    """FULLY_CONNECTED and STRIDED_SLICE (the rest of issue 19): a conv, a slice of H and C (W kept by
    end_mask) flattened by RESHAPE into two FULLY_CONNECTED (the first with bias and RELU, the second
    without bias), a slice of W and C with a negative begin read by FULLY_CONNECTED as a 4-D tensor, the
    two heads as per-channel gate and shift of the second slice."""
    B, O, BO, P = MixBuilder(), S.BuiltinOperator, S.BuiltinOptions, S.Padding
    B.m.description = "clseg ops3_mix test model"
    i32 = lambda name, v: B.tensor(name, [len(v)], np.array(v, np.int32), S.TensorType.INT32)  # noqa: E731
    fc = lambda act=0: options(S.FullyConnectedOptionsT, fusedActivationFunction=act)  # noqa: E731
    x = B.tensor("input", [1, 6, 5, 3])
    c1 = B.op(O.CONV_2D, [x, B.weights("w1", [8, 3, 3, 3]), B.weights("b1", [8])], "conv1", [1, 6, 5, 8],
              BO.Conv2DOptions, options(S.Conv2DOptionsT, padding=P.SAME, strideW=1, strideH=1,
                                        dilationWFactor=1, dilationHFactor=1))
    s1 = B.op(O.STRIDED_SLICE, [c1, i32("s1_begin", [0, 1, 3, 2]), i32("s1_end", [1, 5, 0, 7]),
                                i32("s1_strides", [1, 1, 1, 1])], "slice_hc", [1, 4, 5, 5],
              BO.StridedSliceOptions, slice_opts(beginMask=4, endMask=4))
    f = B.op(O.RESHAPE, [s1, i32("flat_shape", [1, 100])], "flatten", [1, 100], BO.ReshapeOptions,
             options(S.ReshapeOptionsT, newShape=[1, 100]))
    fc1 = B.op(O.FULLY_CONNECTED, [f, B.weights("fc1_w", [6, 100]), B.weights("fc1_b", [6])], "fc1", [1, 6],
               BO.FullyConnectedOptions, fc(S.ActivationFunctionType.RELU))
    fc2 = B.op(O.FULLY_CONNECTED, [fc1, B.weights("fc2_w", [5, 6]), -1], "fc2", [1, 5],
               BO.FullyConnectedOptions, fc())
    g = B.op(O.RESHAPE, [fc2, i32("gate_shape", [1, 1, 1, 5])], "gate", [1, 1, 1, 5], BO.ReshapeOptions,
             options(S.ReshapeOptionsT, newShape=[1, 1, 1, 5]))
    s2 = B.op(O.STRIDED_SLICE, [c1, i32("s2_begin", [0, 0, -4, 1]), i32("s2_end", [1, 6, 5, -2]),
                                i32("s2_strides", [1, 1, 1, 1])], "slice_wc", [1, 6, 4, 5],
              BO.StridedSliceOptions, slice_opts())
    fc3 = B.op(O.FULLY_CONNECTED, [s2, B.weights("fc3_w", [5, 120]), B.weights("fc3_b", [5])], "fc3", [1, 5],
               BO.FullyConnectedOptions, fc())
    sh = B.op(O.RESHAPE, [fc3, i32("shift_shape", [1, 1, 1, 5])], "shift", [1, 1, 1, 5], BO.ReshapeOptions,
              options(S.ReshapeOptionsT, newShape=[1, 1, 1, 5]))
    gated = B.op(O.MUL, [s2, g], "gated", [1, 6, 4, 5], BO.MulOptions, S.MulOptionsT())
    out = B.op(O.ADD, [gated, sh], "out", [1, 6, 4, 5], BO.AddOptions, S.AddOptionsT())
    return B.finish(x, out)


def refused_slice_model(field, value):
    """input -> STRIDED_SLICE with one unsupported parameter."""
    B, O, BO = MixBuilder(), S.BuiltinOperator, S.BuiltinOptions
    x = B.tensor("input", [1, 4, 4, 3])
    strides = value if field == "strides" else [1, 1, 1, 1]
    i32 = lambda name, v: B.tensor(name, [len(v)], np.array(v, np.int32), S.TensorType.INT32)  # noqa: E731
    kw = {field: value} if field != "strides" else {}
    shape = [1, 2, 4, 3] if field == "strides" else [1, 4, 3]
    y = B.op(O.STRIDED_SLICE, [x, i32("begin", [0, 0, 0, 0]), i32("end", [1, 4, 4, 3]), i32("strides", strides)],
             "slice", shape, BO.StridedSliceOptions, slice_opts(**kw))
    return B.finish(x, y)


def ops4_mix_model(fused=False):
    """CONCATENATION on any axis and PAD / PADV2 on channels (issue 19): three convs of the input joined along W
    (axis 2; widths 4, 4 and a slice of 2), padded on the channels, joined with themselves on the channels (axis
    -1) then RELU, PADV2 by 0.75 on H, W and the channels, a conv, joined with itself along H (axis -3),
    RESHAPE to 3-D [1, A, C], joined along A (axis -2) with another conv so reshaped, RESHAPE back to 4-D.
    fused: the RELU fused into the channel CONCATENATION instead (ops4_mix_fused.tflite). LiteRT cannot run that
    form: its builtin kernel refuses a fused activation on CONCATENATION (concatenation.cc: "params->activation
    != kTfLiteActNone") and its XNNPACK path ignores it, so the test compares both files with this form's output."""
    B, O, BO, P = MixBuilder(), S.BuiltinOperator, S.BuiltinOptions, S.Padding
    B.m.description = "clseg ops4_mix test model"
    i32 = lambda name, v: B.tensor(name, np.shape(v), np.array(v, np.int32), S.TensorType.INT32)  # noqa: E731
    conv = lambda: options(S.Conv2DOptionsT, padding=P.SAME, strideW=1, strideH=1, dilationWFactor=1,  # noqa: E731
                           dilationHFactor=1)
    cat = lambda axis, act=0: options(S.ConcatenationOptionsT, axis=axis, fusedActivationFunction=act)  # noqa: E731
    reshape = lambda x, name, shape: B.op(O.RESHAPE, [x, i32(name + "_shape", shape)], name, shape,  # noqa: E731
                                          BO.ReshapeOptions, options(S.ReshapeOptionsT, newShape=shape))
    x = B.tensor("input", [1, 5, 4, 3])
    c1 = B.op(O.CONV_2D, [x, B.weights("w1", [6, 3, 3, 3]), B.weights("b1", [6])], "conv1", [1, 5, 4, 6],
              BO.Conv2DOptions, conv())
    c2 = B.op(O.CONV_2D, [x, B.weights("w2", [6, 1, 1, 3]), B.weights("b2", [6])], "conv2", [1, 5, 4, 6],
              BO.Conv2DOptions, conv())
    sl = B.op(O.STRIDED_SLICE, [c1, i32("sl_begin", [0, 0, 1, 0]), i32("sl_end", [1, 5, 3, 6]),
                                i32("sl_strides", [1, 1, 1, 1])], "slice_w", [1, 5, 2, 6],
              BO.StridedSliceOptions, slice_opts())
    cw = B.op(O.CONCATENATION, [c1, c2, sl], "concat_w", [1, 5, 10, 6], BO.ConcatenationOptions, cat(2))
    pc = B.op(O.PAD, [cw, i32("pad_c_paddings", [[0, 0], [0, 0], [0, 0], [2, 1]])], "pad_c", [1, 5, 10, 9],
              BO.PadOptions, S.PadOptionsT())
    cc = B.op(O.CONCATENATION, [cw, pc], "concat_c", [1, 5, 10, 15], BO.ConcatenationOptions,
              cat(-1, S.ActivationFunctionType.RELU if fused else 0))
    if not fused:
        cc = B.op(O.RELU, [cc], "relu", [1, 5, 10, 15])
    value = B.tensor("pad_value", [], np.array(0.75, np.float32))
    pv = B.op(O.PADV2, [cc, i32("padv2_paddings", [[0, 0], [1, 0], [0, 2], [1, 3]]), value], "padv2", [1, 6, 12, 19],
              BO.PadV2Options, S.PadV2OptionsT())
    c3 = B.op(O.CONV_2D, [pv, B.weights("w3", [4, 3, 3, 19]), B.weights("b3", [4])], "conv3", [1, 6, 12, 4],
              BO.Conv2DOptions, conv())
    ch = B.op(O.CONCATENATION, [c3, c3], "concat_h", [1, 12, 12, 4], BO.ConcatenationOptions, cat(-3))
    a1 = reshape(ch, "anchors1", [1, 144, 4])
    c4 = B.op(O.CONV_2D, [x, B.weights("w4", [4, 1, 1, 3]), B.weights("b4", [4])], "conv4", [1, 5, 4, 4],
              BO.Conv2DOptions, conv())
    a2 = reshape(c4, "anchors2", [1, 20, 4])
    ca = B.op(O.CONCATENATION, [a1, a2], "concat_a", [1, 164, 4], BO.ConcatenationOptions, cat(-2))
    return B.finish(x, reshape(ca, "out", [1, 4, 41, 4]))


def ops4_mix_fused_model():
    return ops4_mix_model(fused=True)


def refused_batch_model(what):
    """input -> CONCATENATION of the input with itself along the batch, or PAD of the batch."""
    B, O, BO = MixBuilder(), S.BuiltinOperator, S.BuiltinOptions
    x = B.tensor("input", [1, 4, 4, 3])
    if what == "concat":
        y = B.op(O.CONCATENATION, [x, x], "concat", [2, 4, 4, 3], BO.ConcatenationOptions,
                 options(S.ConcatenationOptionsT, axis=0))
    else:
        pads = B.tensor("pads", [4, 2], np.array([[1, 0], [0, 0], [0, 0], [0, 0]], np.int32), S.TensorType.INT32)
        y = B.op(O.PAD, [x, pads], "pad", [2, 4, 4, 3], BO.PadOptions, S.PadOptionsT())
    return B.finish(x, y)


def sparse_encode(dense, order, block_map, formats, index_dtype):
    """TFLite's sparse storage of `dense`: the levels walk the dimensions in `order` (rank + k: block
    dimension k of tensor dimension block_map[k]); formats[l] is 0 (dense) or 1 (compressed rows); the
    values are the leaves reached, in traversal order. Returns (SparsityParametersT, values)."""
    rank = dense.ndim
    block = {d: 1 for d in range(rank)}
    level_dense = list(formats)
    # a block dimension's size is given by its dense level; the blocked dimension's levels walk dims / size
    sizes = []
    bsz = {}
    for l, d in enumerate(order):
        if d >= rank:
            bsz[block_map[d - rank]] = None
    for d in bsz:
        bsz[d] = BLOCK_SIZE
        block[d] = BLOCK_SIZE
    for d in order:
        sizes.append(dense.shape[d] // block[d] if d < rank else block[block_map[d - rank]])
    # dense as an array indexed in level order
    shape = []
    axes = []
    split = dense
    full = list(dense.shape)
    # reshape each blocked dim d into (d_outer, d_inner)
    new_shape, where = [], {}
    for d in range(rank):
        if block[d] > 1:
            where[d] = (len(new_shape), len(new_shape) + 1)
            new_shape += [full[d] // block[d], block[d]]
        else:
            where[d] = (len(new_shape), None)
            new_shape += [full[d]]
    split = dense.reshape(new_shape)
    perm = [where[d][0] if d < rank else where[block_map[d - rank]][1] for d in order]
    lv = split.transpose(perm)
    dims = []
    segs = [[0] for _ in order]
    idxs = [[] for _ in order]
    values = []

    def walk(l, sub):
        if l == len(order):
            values.append(sub)
            return True
        if formats[l] == 0:
            for i in range(sizes[l]):
                walk(l + 1, sub[i])
            return True
        for i in range(sizes[l]):
            if np.any(sub[i] != 0):
                idxs[l].append(i)
                walk(l + 1, sub[i])
        segs[l].append(len(idxs[l]))
        return True

    walk(0, lv)
    vec_types = {np.uint8: (S.SparseIndexVector.Uint8Vector, S.Uint8VectorT),
                 np.uint16: (S.SparseIndexVector.Uint16Vector, S.Uint16VectorT),
                 np.int32: (S.SparseIndexVector.Int32Vector, S.Int32VectorT)}
    sp = S.SparsityParametersT()
    sp.traversalOrder, sp.blockMap, sp.dimMetadata = list(order), list(block_map), []
    for l in range(len(order)):
        dm = S.DimensionMetadataT()
        dm.format = formats[l]
        dm.denseSize = sizes[l] if formats[l] == 0 else 0
        if formats[l] == 1:
            vt, cls = vec_types[index_dtype]
            a, b = cls(), cls()
            a.values, b.values = list(segs[l]), list(idxs[l])
            dm.arraySegmentsType, dm.arraySegments = vt, a
            dm.arrayIndicesType, dm.arrayIndices = vt, b
        sp.dimMetadata.append(dm)
    return sp, np.array(values, dtype=dense.dtype)


BLOCK_SIZE = 4


def sparse_mix_model():
    """input [1, 7, 6, 8] -> conv 3x3 with CSR-sparse float32 weights (uint8 indices) -> conv 1x1 with
    block-sparse float16 weights (blocks of 4 input channels, uint16 indices) -> DEQUANTIZE -> [1, 7, 6, 5]:
    DENSIFY of both layouts, as in MediaPipe's pose detector."""
    B, O, BO, P = MixBuilder(), S.BuiltinOperator, S.BuiltinOptions, S.Padding
    rng = np.random.default_rng(11)
    x = B.tensor("input", [1, 7, 6, 8])

    def sparse(name, dense, order, block_map, formats, index_dtype, ttype):
        sp, vals = sparse_encode(dense, order, block_map, formats, index_dtype)
        t = B.tensor(name, dense.shape, vals, ttype)
        B.sg.tensors[t].sparsity = sp
        return t

    w1 = rng.uniform(-0.5, 0.5, (12, 3, 3, 8)).astype(np.float32)
    w1[rng.uniform(size=w1.shape) < 0.7] = 0.0
    w1[3] = 0.0  # an output channel with no weight at all: an empty row of the outer sparse level
    s1 = sparse("w1_sparse", w1, [0, 1, 2, 3], [], [0, 1, 0, 1], np.uint8, S.TensorType.FLOAT32)
    d1 = B.op(O.DENSIFY, [s1], "w1", [12, 3, 3, 8])
    c1 = B.op(O.CONV_2D, [x, d1, B.weights("b1", [12])], "conv3x3", [1, 7, 6, 12], BO.Conv2DOptions,
              options(S.Conv2DOptionsT, padding=P.SAME, strideW=1, strideH=1,
                      fusedActivationFunction=S.ActivationFunctionType.RELU, dilationWFactor=1,
                      dilationHFactor=1))
    w2 = rng.uniform(-0.5, 0.5, (5, 1, 1, 12)).astype(np.float16)
    w2[rng.uniform(size=5) < 0.5, :, :, 4:8] = 0  # whole blocks of 4 zero
    w2[1, :, :, 0:4] = 0
    s2 = sparse("w2_sparse", w2, [0, 1, 2, 3, 4], [3], [0, 0, 0, 1, 0], np.uint16, S.TensorType.FLOAT16)
    d2 = B.op(O.DENSIFY, [s2], "w2_f16", [5, 1, 1, 12])
    B.sg.tensors[d2].type = S.TensorType.FLOAT16
    q2 = B.op(O.DEQUANTIZE, [d2], "w2", [5, 1, 1, 12])
    c2 = B.op(O.CONV_2D, [c1, q2, B.weights("b2", [5])], "conv1x1", [1, 7, 6, 5], BO.Conv2DOptions,
              options(S.Conv2DOptionsT, padding=P.VALID, strideW=1, strideH=1, dilationWFactor=1,
                      dilationHFactor=1))
    SPARSE_DENSE.update(w1=w1, w2_f16=w2)
    return B.finish(x, c2)


SPARSE_DENSE = {}  # the dense weights sparse_mix_model stored sparse, by DENSIFY output name


def sparse_int8_model():
    """input -> conv 1x1 whose int8 weights are stored sparse (compressed rows) behind DENSIFY and DEQUANTIZE:
    valid TFLite that clseg refuses as unsupported (sparse data of int8), not as malformed."""
    B, O, BO, P = MixBuilder(), S.BuiltinOperator, S.BuiltinOptions, S.Padding
    x = B.tensor("input", [1, 4, 4, 8])
    w = np.random.default_rng(3).integers(-127, 128, (4, 1, 1, 8)).astype(np.int8)
    w[:, :, :, 2:5] = 0
    sp, vals = sparse_encode(w, [0, 1, 2, 3], [], [0, 0, 0, 1], np.uint8)
    t = B.tensor("w_sparse", w.shape, vals, S.TensorType.INT8)
    B.sg.tensors[t].sparsity = sp
    q = S.QuantizationParametersT()
    q.scale, q.zeroPoint = [0.01], [0]
    B.sg.tensors[t].quantization = q
    d = B.op(O.DENSIFY, [t], "w_int8", [4, 1, 1, 8])
    B.sg.tensors[d].type, B.sg.tensors[d].quantization = S.TensorType.INT8, q
    wq = B.op(O.DEQUANTIZE, [d], "w", [4, 1, 1, 8])
    y = B.op(O.CONV_2D, [x, wq, B.weights("b", [4])], "conv", [1, 4, 4, 4], BO.Conv2DOptions,
             options(S.Conv2DOptionsT, padding=P.VALID, strideW=1, strideH=1, dilationWFactor=1,
                     dilationHFactor=1))
    return B.finish(x, y)


def check_densify(path):
    """LiteRT's DENSIFY outputs equal the dense weights that were encoded (the encoder and LiteRT's decoder
    agree), else exit."""
    from ai_edge_litert.interpreter import OpResolverType
    interp = Interpreter(model_path=path, experimental_preserve_all_tensors=True,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    interp.set_tensor(inp["index"], np.zeros(inp["shape"], np.float32))
    interp.invoke()
    for t in interp.get_tensor_details():
        if t["name"] in SPARSE_DENSE and not np.array_equal(interp.get_tensor(t["index"]), SPARSE_DENSE[t["name"]]):
            raise SystemExit(f"{path}: LiteRT's DENSIFY of {t['name']} differs from the encoded weights")
    print(f"{os.path.basename(path)}: LiteRT's DENSIFY outputs equal the encoded weights ({len(SPARSE_DENSE)})")


def image_input(path, h, w):
    """NCHW uint8 [1, 3, h, w]: the image stretched to h x w."""
    img = Image.open(path).convert("RGB").resize((w, h), Image.BILINEAR)
    return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1)[None].copy()


def run_case(name, model, sample, out_dir, runs):
    path = os.path.join(out_dir if model in BUILT else os.path.join(ROOT, "models"), model)
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


MULTI = [  # (case, model, input side, input scale: "unit" RGB / 255, "signed" RGB / 127.5 - 1)
    ("pose_landmarks_astronaut", "pose_landmark_full.tflite", 256, "unit"),
    ("pose_detection_astronaut", "pose_detection.tflite", 224, "signed"),
]


def multi_output_case(out_dir, name, model, side, scale):
    """A model with several outputs (MediaPipe's pose models) on the astronaut stretched to side x side: every
    output from LiteRT's reference kernels (no delegate) as NCHW float32 <name>_output<i>.npy ([N, H, W, C] ->
    [N, C, H, W], [N, A, C] -> [N, C, A, 1], [N, C] -> [N, C, 1, 1], as clseg maps them), the input as NCHW
    uint8, and <name>_noise.txt: per output, the largest gap between those and LiteRT's XNNPACK path (the
    model's own float32 noise, which sets the test's tolerance)."""
    from ai_edge_litert.interpreter import OpResolverType
    path = os.path.join(ROOT, "models", model)
    u8 = image_input(os.path.join(ROOT, "samples", "astronaut.png"), side, side)
    np.save(os.path.join(out_dir, name + "_input.npy"), u8)
    x = u8.astype(np.float32).transpose(0, 2, 3, 1)
    x = np.ascontiguousarray(x / np.float32(255.0) if scale == "unit" else x / np.float32(127.5) - 1)
    outs = []
    for resolver in (OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES, OpResolverType.AUTO):
        interp = Interpreter(model_path=path, experimental_op_resolver_type=resolver)
        interp.allocate_tensors()
        interp.set_tensor(interp.get_input_details()[0]["index"], x)
        interp.invoke()
        ys = []
        for o in interp.get_output_details():
            y = interp.get_tensor(o["index"]).astype(np.float32)
            y = (y.transpose(0, 3, 1, 2) if y.ndim == 4 else y.transpose(0, 2, 1)[..., None] if y.ndim == 3
                 else y.reshape(y.shape[0], -1, 1, 1))
            ys.append((o["name"], np.ascontiguousarray(y)))
        outs.append(ys)
    with open(os.path.join(out_dir, name + "_noise.txt"), "w") as f:
        f.write("# output  name  max|reference kernels - XNNPACK|  max|reference kernels|\n")
        for i, ((oname, ref), (_, xnn)) in enumerate(zip(*outs)):
            np.save(os.path.join(out_dir, "%s_output%d.npy" % (name, i)), ref)
            f.write("%d %s %.9g %.9g\n" % (i, oname, float(np.abs(ref - xnn).max()), float(np.abs(ref).max())))
            print("%s output %d %s %s: noise %.3g of scale %.4g" % (name, i, oname, ref.shape,
                                                                  float(np.abs(ref - xnn).max()), float(np.abs(ref).max())))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "tflite"))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--only", nargs="+", metavar="PREFIX",
                    help="only the models, refused files and cases whose names start with one of these")
    args = ap.parse_args()
    chosen = lambda name: not args.only or any(name.startswith(p) for p in args.only)  # noqa: E731
    os.makedirs(args.out, exist_ok=True)
    for model, builder in BUILT.items():
        if chosen(model):
            with open(os.path.join(args.out, model), "wb") as f:
                f.write(globals()[builder]())
    for model, (builder, builder_args) in REFUSED.items():
        if chosen(model):
            with open(os.path.join(args.out, model), "wb") as f:
                f.write(globals()[builder](*builder_args))
    if chosen("sparse_mix.tflite"):
        check_densify(os.path.join(args.out, "sparse_mix.tflite"))
    for name, model, sample in CASES:
        if chosen(name):
            run_case(name, model, sample, args.out, args.runs)
    for case in MULTI:
        if chosen(case[0]):
            multi_output_case(args.out, *case)

if __name__ == "__main__":
    main()

/* TFLite operators -> clseg graph nodes: moving data. RESIZE_BILINEAR, CONCATENATION, PAD,
 * PADV2, RESHAPE, DEPTH_TO_SPACE / SPACE_TO_DEPTH, STRIDED_SLICE, and the load-time DEQUANTIZE and
 * DENSIFY of constants. */
#include <stdlib.h>
#include <string.h>

#include "formats/tflite.h"
#include "graph_internal.h"

/* RESIZE_BILINEAR by an integer factor. half_pixel_centers is our align_corners = 0; align_corners
 * is ours; neither is TFLite's legacy rule (src = dst * in / out), which clseg_resize lacks. */
int clseg__tfl_resize(clseg__tfl_builder *b, const clseg__tfl_op *op) {
  int64_t xs[4], ys[4];
  clseg_node *x = clseg__tfl_node_of(b, clseg__tfl_in(op, 0));
  if (!x || !clseg__tfl_want_options(b, op, 15) || !clseg__tfl_nchw(b, clseg__tfl_in(op, 0), xs) ||
      !clseg__tfl_nchw(b, op->out[0], ys))
    return 0;
  int align = clseg__tfl_opt(b, op, 2, 1, 0), half = clseg__tfl_opt(b, op, 3, 1, 0);
  if (align == half)
    return clseg__tfl_fail(b, CLSEG_UNSUPPORTED, "align_corners=%d with half_pixel_centers=%d: %s",
                           align, half,
                           align ? "an invalid combination"
                                 : "TFLite's legacy sampling (src = dst * in / out) is not "
                                   "implemented by clseg_resize");
  int64_t s = ys[2] / xs[2];
  if (s < 1 || s > 64 || ys[2] != xs[2] * s || ys[3] != xs[3] * s)
    return clseg__tfl_fail(b, CLSEG_UNSUPPORTED,
                           "%lldx%lld -> %lldx%lld is not one integer scale on both axes",
                           (long long)xs[2], (long long)xs[3], (long long)ys[2], (long long)ys[3]);
  const clseg_resize_params p = {.mode = CLSEG_RESIZE_BILINEAR, .align_corners = align};
  return clseg__tfl_set_out(b, op, clseg_graph_resize_scale(b->g, x, (int)s, &p));
}

/* The NCHW axis of axis a of a rank-r TFLite tensor (clseg__tfl_nchw's mapping); r is 1 to 4. */
static int nchw_axis(int r, int a) {
  static const int map[5][4] = {{0}, {1}, {0, 1}, {0, 2, 1}, {0, 2, 3, 1}};
  return map[r][a];
}

/* Input x (NCHW shape s) read as [N x the dims before axis ga, the rest, 1, 1], so that a join
 * along ga is a join of channels; a view, no kernel (-1 keeps the batch free). */
static clseg_node *flat_at(clseg__tfl_builder *b, clseg_node *x, const int64_t s[4], int ga) {
  int64_t flat[4] = {-1, 1, 1, 1};
  for (int d = ga; d < 4; d++)
    flat[1] *= s[d];
  return ga == 1 ? x : clseg_graph_reshape(b->g, x, 4, flat);
}

/* CONCATENATION along any axis but the batch, as ONNX Concat on any axis (onnx_nd.c): channels
 * joined directly, H or W (TFLite axis 1 or 2 of NHWC, 1 of [N, A, C]) by joining each input's
 * flat_at view on channels and reading the result back at the output's shape. Options: axis
 * (negative counts from the last), fused activation. */
int clseg__tfl_concat(clseg__tfl_builder *b, const clseg__tfl_op *op) {
  const int rank = clseg__tfl_tensor_of(b, op->out[0])->ndim, axis = clseg__tfl_opt(b, op, 0, 4, 0);
  const int a = axis < 0 ? axis + rank : axis;
  int64_t ys[4], xs[4], sum = 0;
  const int known = rank >= 1 && rank <= 4; /* else clseg__tfl_nchw says why */
  if (!clseg__tfl_want_options(b, op, 10))
    return 0;
  if (known && (a < 0 || a >= rank))
    return clseg__tfl_fail(b, CLSEG_FORMAT, "axis %d of a %d-D tensor", axis, rank);
  if (known && nchw_axis(rank, a) == 0)
    return clseg__tfl_fail(b, CLSEG_UNSUPPORTED,
                           "axis %d (the batch) of a %d-D tensor is unsupported (batch 1)", axis,
                           rank);
  if (!clseg__tfl_nchw(b, op->out[0], ys))
    return 0;
  const int ga = nchw_axis(rank, a);
  clseg_node **parts = malloc(sizeof *parts * (size_t)(op->nin ? op->nin : 1)), *y = NULL;
  if (!parts)
    return clseg__tfl_fail(b, CLSEG_OUT_OF_MEMORY, "out of memory");
  int ok = 1;
  for (int i = 0; i < op->nin && ok; i++) {
    clseg_node *x = clseg__tfl_node_of(b, op->in[i]);
    ok = x && clseg__tfl_nchw(b, op->in[i], xs);
    for (int d = 0; ok && d < 4; d++)
      if (clseg__tfl_tensor_of(b, op->in[i])->ndim != rank || (d != ga && xs[d] != ys[d]))
        ok = clseg__tfl_fail(b, CLSEG_FORMAT,
                             "input %d's shape differs from the output's off axis %d", i, axis);
    sum += ok ? xs[ga] : 0;
    parts[i] = ok ? flat_at(b, x, xs, ga) : NULL;
  }
  if (ok && sum != ys[ga])
    ok = clseg__tfl_fail(b, CLSEG_FORMAT, "the inputs have %lld along axis %d, the output %lld",
                         (long long)sum, axis, (long long)ys[ga]);
  if (ok) {
    const int64_t back[4] = {-1, ys[1], ys[2], ys[3]};
    y = op->nin == 1 ? parts[0] : clseg_graph_concat(b->g, parts, op->nin);
    y = ga == 1 ? y : clseg_graph_reshape(b->g, y, 4, back);
  }
  free(parts);
  return ok &&
         clseg__tfl_set_out(b, op, clseg__tfl_fused_act(b, y, clseg__tfl_opt(b, op, 1, 1, 0)));
}

/* PAD and PADV2 (a constant value: input 2, a float32 scalar; 0 when absent) on any axis but the
 * batch: paddings [rank, 2] int32, non-negative, mapped onto the NCHW axes of clseg_pad (C: front
 * and back, H: top and bottom, W: left and right). */
int clseg__tfl_pad(clseg__tfl_builder *b, const clseg__tfl_op *op) {
  static const char *const axes[4] = {"the batch", "C", "H", "W"};
  int32_t pads[8];
  int p[4][2] = {{0}};
  const int32_t xt = clseg__tfl_in(op, 0), vt = clseg__tfl_in(op, 2);
  clseg_node *x = clseg__tfl_node_of(b, xt);
  int64_t xs[4];
  if (!x || !clseg__tfl_want_options(b, op, op->code == CLSEG__TFL_PADV2 ? 43 : 22) ||
      !clseg__tfl_nchw(b, xt, xs))
    return 0;
  const int rank = clseg__tfl_tensor_of(b, xt)->ndim;
  if (!clseg__tfl_const_i32(b, clseg__tfl_in(op, 1), pads, 2 * (size_t)rank))
    return 0;
  const float *value = vt < 0 ? NULL : clseg__tfl_const_f32(b, vt);
  if (vt >= 0 && (!value || clseg__tfl_count_of(clseg__tfl_tensor_of(b, vt)) != 1))
    return value ? clseg__tfl_fail(b, CLSEG_FORMAT, "constant_values '%s' is not one value",
                                   clseg__tfl_tensor_of(b, vt)->name)
                 : 0;
  for (int a = 0; a < rank; a++) {
    const int ga = nchw_axis(rank, a), lo = pads[2 * a], hi = pads[2 * a + 1];
    if ((ga == 0 && (lo || hi)) || lo < 0 || lo > 4096 || hi < 0 || hi > 4096)
      return clseg__tfl_fail(b, CLSEG_UNSUPPORTED,
                             "paddings %d, %d on axis %d (%s) are unsupported (%s)", lo, hi, a,
                             axes[ga], ga ? "0 to 4096" : "batch 1");
    p[ga][0] = lo, p[ga][1] = hi;
  }
  const clseg_pad_params pp = {.front = p[1][0],
                               .back = p[1][1],
                               .top = p[2][0],
                               .bottom = p[2][1],
                               .left = p[3][0],
                               .right = p[3][1],
                               .value = value ? *value : 0.0f};
  return clseg__tfl_set_out(b, op, clseg_graph_pad(b->g, x, &pp));
}

/* RESHAPE: nothing where the NCHW layout does not change ([1, 1, 1, C] <-> [1, C]); else the data
 * regrouped in TFLite's own (NHWC) order (a detector's [1, H, W, A * K] -> [1, H * W * A, K]). */
int clseg__tfl_reshape(clseg__tfl_builder *b, const clseg__tfl_op *op) {
  int64_t xs[4], ys[4];
  clseg_node *x = clseg__tfl_node_of(b, clseg__tfl_in(op, 0));
  if (!x || !clseg__tfl_nchw(b, clseg__tfl_in(op, 0), xs))
    return 0;
  if (!clseg__tfl_nchw(b, op->out[0], ys))
    return 0;
  if (!memcmp(xs, ys, sizeof xs))
    return clseg__tfl_set_out(b, op, x);
  if (xs[1] * xs[2] * xs[3] != ys[1] * ys[2] * ys[3])
    return clseg__tfl_fail(b, CLSEG_FORMAT, "a reshape from %lld to %lld elements",
                           (long long)(xs[1] * xs[2] * xs[3]), (long long)(ys[1] * ys[2] * ys[3]));
  return clseg__tfl_set_out(b, op, clseg_graph_reshape_nhwc(b->g, x, ys[1], ys[2], ys[3]));
}

/* DEPTH_TO_SPACE and SPACE_TO_DEPTH on NHWC: the block offset is outermost in the depth axis, which
 * is ONNX's DCR order once the tensors are NCHW. Options: block_size. */
int clseg__tfl_space_depth(clseg__tfl_builder *b, const clseg__tfl_op *op) {
  const int to_depth = op->code == CLSEG__TFL_SPACE_TO_DEPTH;
  clseg_node *x = clseg__tfl_node_of(b, clseg__tfl_in(op, 0));
  if (!x || !clseg__tfl_want_options(b, op, to_depth ? 19 : 94))
    return 0;
  const int bs = clseg__tfl_opt(b, op, 0, 4, 0);
  if (bs < 1 || bs > 1024)
    return clseg__tfl_fail(b, CLSEG_FORMAT, "block_size %d (1 to 1024)", bs);
  return clseg__tfl_set_out(
      b, op,
      to_depth ? clseg_graph_space_to_depth(b->g, x, bs)
               : clseg_graph_depth_to_space(b->g, x, bs, CLSEG_DEPTH_TO_SPACE_DCR));
}

/* STRIDED_SLICE of a 4-D tensor with strides 1: a crop of H, W and C (a pad by negative amounts).
 * Options: begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_axis_mask, offset. */
int clseg__tfl_strided_slice(clseg__tfl_builder *b, const clseg__tfl_op *op) {
  static const char *const names[6] = {"begin_mask",    "end_mask",         "ellipsis_mask",
                                       "new_axis_mask", "shrink_axis_mask", "offset"};
  clseg_node *x = clseg__tfl_node_of(b, clseg__tfl_in(op, 0));
  int32_t be[4], en[4], st[4], o[6];
  if (!x || !clseg__tfl_want_options(b, op, 32))
    return 0;
  const clseg__tfl_tensor *t = clseg__tfl_tensor_of(b, clseg__tfl_in(op, 0)),
                          *y = clseg__tfl_tensor_of(b, op->out[0]);
  if (t->ndim != 4)
    return clseg__tfl_fail(b, CLSEG_UNSUPPORTED, "a slice of a %d-D tensor (4-D supported)",
                           t->ndim);
  if (!clseg__tfl_const_i32(b, clseg__tfl_in(op, 1), be, 4) ||
      !clseg__tfl_const_i32(b, clseg__tfl_in(op, 2), en, 4) ||
      !clseg__tfl_const_i32(b, clseg__tfl_in(op, 3), st, 4))
    return 0;
  for (int i = 0; i < 6; i++)
    if ((o[i] = clseg__tfl_opt(b, op, i, i == 5 ? 1 : 4, 0)) && i >= 2)
      return clseg__tfl_fail(b, CLSEG_UNSUPPORTED, "%s %d is unsupported (0 supported)", names[i],
                             o[i]);
  int64_t lo[4], hi[4];
  for (int a = 0; a < 4; a++) {
    const int64_t d = t->dims[a];
    if (st[a] != 1)
      return clseg__tfl_fail(b, CLSEG_UNSUPPORTED, "strides[%d] = %d is unsupported (1 supported)",
                             a, st[a]);
    lo[a] = o[0] >> a & 1 ? 0 : be[a] < 0 ? be[a] + d : be[a];
    hi[a] = o[1] >> a & 1 ? d : en[a] < 0 ? en[a] + d : en[a];
    lo[a] = lo[a] < 0 ? 0 : lo[a] > d ? d : lo[a];
    hi[a] = hi[a] < lo[a] ? lo[a] : hi[a] > d ? d : hi[a];
    if (hi[a] == lo[a] || (a == 0 && hi[a] - lo[a] != d) ||
        (y->ndim == 4 && y->dims[a] != hi[a] - lo[a]))
      return clseg__tfl_fail(b, a == 0 || hi[a] == lo[a] ? CLSEG_UNSUPPORTED : CLSEG_FORMAT,
                             "axis %d sliced to [%lld, %lld) of %lld (the output says %d)", a,
                             (long long)lo[a], (long long)hi[a], (long long)d,
                             y->ndim == 4 ? y->dims[a] : -1);
  }
  if (y->ndim != 4)
    return clseg__tfl_fail(b, CLSEG_FORMAT, "the output has %d dimensions", y->ndim);
  const clseg_pad_params p = {.top = (int)-lo[1],
                              .bottom = (int)(hi[1] - t->dims[1]),
                              .left = (int)-lo[2],
                              .right = (int)(hi[2] - t->dims[2]),
                              .front = (int)-lo[3],
                              .back = (int)(hi[3] - t->dims[3])};
  if (!p.top && !p.bottom && !p.left && !p.right && !p.front && !p.back)
    return clseg__tfl_set_out(b, op, x);
  return clseg__tfl_set_out(b, op, clseg_graph_pad(b->g, x, &p));
}

/* Constant t, as float32, becomes tensor out's constant (load-time ops: DEQUANTIZE, DENSIFY). */
static int pass_constant(clseg__tfl_builder *b, int32_t t, int32_t out) {
  if (!clseg__tfl_const_f32(b, t))
    return 0;
  free(b->cst[out]);
  b->cst[out] = b->cst[t];
  b->cst[t] = NULL;
  return 1;
}

/* DEQUANTIZE of a float16 constant: the output is a float32 constant, made now. */
int clseg__tfl_dequantize(clseg__tfl_builder *b, const clseg__tfl_op *op) {
  int32_t t = clseg__tfl_in(op, 0);
  if (t < 0 || b->node[t] || clseg__tfl_tensor_of(b, t)->type != CLSEG__TFL_FLOAT16 ||
      clseg__tfl_tensor_of(b, op->out[0])->type != CLSEG__TFL_FLOAT32 ||
      clseg__tfl_count_of(clseg__tfl_tensor_of(b, t)) !=
          clseg__tfl_count_of(clseg__tfl_tensor_of(b, op->out[0])))
    return clseg__tfl_fail(b, CLSEG_UNSUPPORTED,
                           "only float16 constants are dequantized (to float32 of the same shape)");
  return pass_constant(b, t, op->out[0]);
}

/* DENSIFY of a constant stored sparse: the reader made it dense at load (tflite_read.c), so
 * the output is that constant. */
int clseg__tfl_densify(clseg__tfl_builder *b, const clseg__tfl_op *op) {
  int32_t t = clseg__tfl_in(op, 0);
  if (t < 0 || b->node[t] ||
      clseg__tfl_count_of(clseg__tfl_tensor_of(b, t)) !=
          clseg__tfl_count_of(clseg__tfl_tensor_of(b, op->out[0])) ||
      clseg__tfl_tensor_of(b, t)->type != clseg__tfl_tensor_of(b, op->out[0])->type)
    return clseg__tfl_fail(b, CLSEG_UNSUPPORTED,
                           "only constants are densified (to the same type and element count)");
  return pass_constant(b, t, op->out[0]);
}

/* Graph builders for the layout, pooling, reduction and attention operators (convs are in graph.c).
 */
#include <stdio.h>
#include <string.h>

#include "graph_internal.h"

clseg_node *clseg_graph_pool2d(clseg_graph *g, clseg_node *x, const clseg_pool2d_params *p) {
  if (g && g->status == CLSEG_OK && (!p || p->kernel_h < 1 || p->kernel_w < 1))
    return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT,
                             "pool2d: the kernel size must be at least 1");
  clseg_node *n = clseg__add_node(g, CLSEG__N_POOL, NULL, &x, 1);
  if (n)
    n->u.pool = *p;
  return n;
}

clseg_node *clseg_graph_global_pool(clseg_graph *g, clseg_node *x, clseg_pool_kind kind) {
  clseg_node *n = clseg__add_node(g, CLSEG__N_GPOOL, NULL, &x, 1);
  if (n)
    n->pool_kind = kind;
  return n;
}

clseg_node *clseg_graph_resize_scale(clseg_graph *g, clseg_node *x, int scale,
                                     const clseg_resize_params *p) {
  if (g && g->status == CLSEG_OK && scale < 1)
    return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT, "resize: scale %d must be at least 1",
                             scale);
  clseg_node *n = clseg__add_node(g, CLSEG__N_RESIZE, NULL, &x, 1);
  if (n) {
    n->scale = scale;
    if (p)
      n->u.resize = *p;
  }
  return n;
}

clseg_node *clseg_graph_resize_like(clseg_graph *g, clseg_node *x, clseg_node *like,
                                    const clseg_resize_params *p) {
  clseg_node *in[2] = {x, like};
  clseg_node *n = clseg__add_node(g, CLSEG__N_RESIZE, NULL, in, 2);
  if (n && p)
    n->u.resize = *p;
  return n;
}

clseg_node *clseg_graph_binary(clseg_graph *g, clseg_binary_op op, clseg_node *a, clseg_node *b) {
  clseg_node *in[2] = {a, b};
  clseg_node *n = clseg__add_node(g, CLSEG__N_BINARY, NULL, in, 2);
  if (!n)
    return NULL;
  n->binary = op;
  /* 0: not known while building (a tensor of another rank); plan time checks the shapes */
  if (a->channels && b->channels && a->channels != b->channels && a->channels != 1 &&
      b->channels != 1)
    return clseg__graph_fail(g, CLSEG_SHAPE_MISMATCH,
                             "binary '%s': %lld and %lld channels do not broadcast", n->name,
                             (long long)a->channels, (long long)b->channels);
  n->channels = a->channels > b->channels ? a->channels : b->channels;
  return n;
}

clseg_node *clseg_graph_concat(clseg_graph *g, clseg_node *const *xs, int count) {
  if (g && g->status == CLSEG_OK && count < 1)
    return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT, "concat: %d inputs", count);
  clseg_node *n = clseg__add_node(g, CLSEG__N_CONCAT, NULL, xs, count);
  if (!n)
    return NULL;
  n->channels = 0;
  for (int i = 0; i < count; i++)
    n->channels += xs[i]->channels;
  return n;
}

clseg_node *clseg_graph_concat_h(clseg_graph *g, clseg_node *const *xs, int count) {
  if (g && g->status == CLSEG_OK && count < 1)
    return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT, "concat_h: %d inputs", count);
  clseg_node *n = clseg__add_node(g, CLSEG__N_CONCAT_H, NULL, xs, count);
  if (!n)
    return NULL;
  for (int i = 1; i < count; i++)
    if (xs[i]->channels != xs[0]->channels)
      return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT,
                               "concat_h '%s': input %d has %lld channels, input 0 %lld", n->name,
                               i, (long long)xs[i]->channels, (long long)xs[0]->channels);
  n->channels = xs[0]->channels;
  return n;
}

clseg_node *clseg_graph_reshape_nhwc(clseg_graph *g, clseg_node *x, int64_t c, int64_t h,
                                     int64_t w) {
  clseg_node *n = clseg__add_node(g, CLSEG__N_RESHAPE_NHWC, NULL, &x, 1);
  if (!n)
    return NULL;
  if (c < 1 || h < 1 || w < 1)
    return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT, "reshape_nhwc '%s': shape %lldx%lldx%lld",
                             n->name, (long long)c, (long long)h, (long long)w);
  n->channels = c;
  n->u.reshape.h = h;
  n->u.reshape.w = w;
  return n;
}

clseg_node *clseg_graph_slice_channels(clseg_graph *g, clseg_node *x, int64_t start,
                                       int64_t count) {
  clseg_node *n = clseg__add_node(g, CLSEG__N_SLICE, NULL, &x, 1);
  if (!n)
    return NULL;
  if (start < 0 || count < 1 || start + count > x->channels)
    return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT, "slice '%s': channels %lld..%lld of %lld",
                             n->name, (long long)start, (long long)(start + count),
                             (long long)x->channels);
  n->slice_start = start;
  n->channels = count;
  return n;
}

clseg_node *clseg_graph_pad(clseg_graph *g, clseg_node *x, const clseg_pad_params *p) {
  clseg_node *n = clseg__add_node(g, CLSEG__N_PAD, NULL, &x, 1);
  if (n && p) {
    n->u.pad = *p;
    n->channels = x->channels + p->front + p->back;
  }
  if (n && n->channels < 1)
    return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT,
                             "pad: channel pads %d and %d leave %lld channels", p->front, p->back,
                             (long long)n->channels);
  return n;
}

static clseg_node *space_depth(clseg_graph *g, clseg_node *x, int block, int mode) {
  const char *what = mode == 2 ? "space_to_depth" : "depth_to_space";
  clseg_node *n = clseg__add_node(g, CLSEG__N_SPACE_DEPTH, NULL, &x, 1);
  if (!n)
    return NULL;
  const int64_t bb = (int64_t)block * block;
  if (block < 1 || block > 1024 || mode < 0 || mode > 2)
    return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT, "%s '%s': block %d, mode %d", what, n->name,
                             block, mode);
  if (mode != 2 && x->channels % bb)
    return clseg__graph_fail(g, CLSEG_SHAPE_MISMATCH,
                             "%s '%s': %lld channels are not a multiple of block %d squared", what,
                             n->name, (long long)x->channels, block);
  n->u.space_depth.block = block;
  n->u.space_depth.mode = mode;
  n->channels = mode == 2 ? x->channels * bb : x->channels / bb;
  return n;
}

clseg_node *clseg_graph_depth_to_space(clseg_graph *g, clseg_node *x, int block,
                                       clseg_depth_to_space_mode mode) {
  return space_depth(g, x, block, (int)mode);
}

clseg_node *clseg_graph_space_to_depth(clseg_graph *g, clseg_node *x, int block) {
  return space_depth(g, x, block, 2);
}

clseg_node *clseg_graph_reduce_channels(clseg_graph *g, clseg_node *x, clseg_reduce_kind kind) {
  clseg_node *n = clseg__add_node(g, CLSEG__N_REDUCE, NULL, &x, 1);
  if (n) {
    n->reduce = kind;
    n->channels = 1;
  }
  return n;
}

clseg_node *clseg_graph_softmax_channels(clseg_graph *g, clseg_node *x) {
  return clseg__add_node(g, CLSEG__N_SOFTMAX, NULL, &x, 1);
}

clseg_node *clseg_graph_argmax_channels(clseg_graph *g, clseg_node *x) {
  clseg_node *n = clseg__add_node(g, CLSEG__N_ARGMAX, NULL, &x, 1);
  if (n)
    n->channels = 1;
  return n;
}

clseg_node *clseg__graph_linear(clseg_graph *g, const char *name, clseg_node *x, int64_t m,
                                int64_t k, int bias) {
  clseg_node *n = clseg__add_node(g, CLSEG__N_LINEAR, name, &x, 1);
  if (!n)
    return NULL;
  if (m < 1 || k < x->channels || k % x->channels)
    return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT,
                             "linear '%s': %lld outputs from %lld inputs of %lld channels", n->name,
                             (long long)m, (long long)k, (long long)x->channels);
  const int64_t w[2] = {m, k};
  n->param[CLSEG__SLOT_WEIGHT] = clseg__declare(g, n, "weight", 2, w, CLSEG__P_WEIGHT, k);
  if (bias)
    n->param[CLSEG__SLOT_BIAS] = clseg__declare(g, n, "bias", 1, &m, CLSEG__P_BIAS, k);
  n->channels = m;
  return g->status == CLSEG_OK ? n : NULL;
}

clseg_node *clseg_graph_linear(clseg_graph *g, const char *name, clseg_node *x, int64_t m,
                               int bias) {
  return clseg__graph_linear(g, name, x, m, x ? x->channels : 0, bias);
}

clseg_node *clseg_graph_prelu(clseg_graph *g, const char *name, clseg_node *x, int per_channel) {
  clseg_node *n = clseg__add_node(g, CLSEG__N_PRELU, name, &x, 1);
  if (!n)
    return NULL;
  const int64_t count = per_channel ? x->channels : 1;
  n->param[CLSEG__SLOT_WEIGHT] = clseg__declare(g, n, "weight", 1, &count, CLSEG__P_WEIGHT, 1);
  return g->status == CLSEG_OK ? n : NULL;
}

/* The shared two-layer MLP of SE and CBAM: prefix.fc1 [r, C] and prefix.fc2 [C, r], with biases,
 * into the MLP slots. */
static void declare_mlp(clseg_graph *g, clseg_node *n, const char *prefix, int64_t c, int64_t r) {
  char s[96];
  const int64_t w1[2] = {r, c}, w2[2] = {c, r};
  snprintf(s, sizeof s, "%sfc1.weight", prefix);
  n->param[CLSEG__SLOT_FC1_WEIGHT] = clseg__declare(g, n, s, 2, w1, CLSEG__P_WEIGHT, c);
  snprintf(s, sizeof s, "%sfc1.bias", prefix);
  n->param[CLSEG__SLOT_FC1_BIAS] = clseg__declare(g, n, s, 1, &r, CLSEG__P_BIAS, c);
  snprintf(s, sizeof s, "%sfc2.weight", prefix);
  n->param[CLSEG__SLOT_FC2_WEIGHT] = clseg__declare(g, n, s, 2, w2, CLSEG__P_WEIGHT, r);
  snprintf(s, sizeof s, "%sfc2.bias", prefix);
  n->param[CLSEG__SLOT_FC2_BIAS] = clseg__declare(g, n, s, 1, &c, CLSEG__P_BIAS, r);
}

/* The hidden width of a reduction-r MLP: at least one unit. */
static int64_t hidden_of(int64_t c, int64_t reduction) {
  int64_t r = reduction > 0 ? c / reduction : c;
  return r > 0 ? r : 1;
}

clseg_node *clseg_graph_cbam(clseg_graph *g, const char *name, clseg_node *x, int64_t reduction) {
  char cname[128], sname[128];
  snprintf(cname, sizeof cname, "%s.channel", name ? name : "cbam");
  snprintf(sname, sizeof sname, "%s.spatial", name ? name : "cbam");
  clseg_node *ch = clseg__add_node(g, CLSEG__N_CBAM_CHANNEL, cname, &x, 1);
  if (!ch)
    return NULL;
  ch->hidden = hidden_of(x->channels, reduction);
  declare_mlp(g, ch, "", x->channels, ch->hidden);
  clseg_node *sp = clseg__add_node(g, CLSEG__N_CBAM_SPATIAL, sname, &ch, 1);
  if (!sp)
    return NULL;
  const int64_t w[4] = {1, 2, 7, 7};
  sp->kernel = 7;
  sp->param[CLSEG__SLOT_SPATIAL_CONV + CLSEG__SLOT_WEIGHT] =
      clseg__declare(g, sp, "conv.weight", 4, w, CLSEG__P_WEIGHT, 2 * 49);
  clseg__declare_bn(g, sp, "bn", CLSEG__SLOT_SPATIAL_BN, 1);
  return g->status == CLSEG_OK ? sp : NULL;
}

clseg_node *clseg_graph_se(clseg_graph *g, const char *name, clseg_node *x, int64_t reduction) {
  clseg_node *n = clseg__add_node(g, CLSEG__N_SE, name, &x, 1);
  if (!n)
    return NULL;
  n->hidden = hidden_of(x->channels, reduction);
  declare_mlp(g, n, "", x->channels, n->hidden);
  return g->status == CLSEG_OK ? n : NULL;
}

clseg_node *clseg_graph_scse(clseg_graph *g, const char *name, clseg_node *x, int64_t reduction) {
  clseg_node *n = clseg__add_node(g, CLSEG__N_SCSE, name, &x, 1);
  if (!n)
    return NULL;
  n->hidden = hidden_of(x->channels, reduction);
  declare_mlp(g, n, "cse.", x->channels, n->hidden);
  const int64_t ws[2] = {1, x->channels}, one = 1;
  n->param[CLSEG__SLOT_SSE_WEIGHT] =
      clseg__declare(g, n, "sse.weight", 2, ws, CLSEG__P_WEIGHT, x->channels);
  n->param[CLSEG__SLOT_SSE_BIAS] =
      clseg__declare(g, n, "sse.bias", 1, &one, CLSEG__P_BIAS, x->channels);
  return g->status == CLSEG_OK ? n : NULL;
}

clseg_node *clseg_graph_attention_gate(clseg_graph *g, const char *name, clseg_node *x,
                                       clseg_node *gate, int64_t inter, int theta_stride,
                                       int out_conv) {
  clseg_node *in[2] = {x, gate};
  clseg_node *n = clseg__add_node(g, CLSEG__N_ATTENTION_GATE, name, in, 2);
  if (!n)
    return NULL;
  int s = theta_stride ? theta_stride : 1;
  if (inter < 1 || (s != 1 && s != 2))
    return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT,
                             "attention gate '%s': inter %lld, theta stride %d", n->name,
                             (long long)inter, s);
  n->hidden = inter;
  n->theta_stride = s;
  const int64_t wt[4] = {inter, x->channels, s, s}, wp[4] = {inter, gate->channels, 1, 1},
                wpsi[4] = {1, inter, 1, 1};
  n->param[CLSEG__SLOT_THETA_WEIGHT] =
      clseg__declare(g, n, "theta.weight", 4, wt, CLSEG__P_WEIGHT, x->channels * s * s);
  clseg__declare_weight(g, n, "phi.weight", "phi.bias", CLSEG__SLOT_PHI, wp, gate->channels, inter);
  clseg__declare_weight(g, n, "psi.weight", "psi.bias", CLSEG__SLOT_PSI, wpsi, inter, 1);
  if (out_conv) {
    const int64_t wo[4] = {x->channels, x->channels, 1, 1};
    clseg__declare_weight(g, n, "out.weight", "out.bias", CLSEG__SLOT_OUT, wo, x->channels,
                          x->channels);
    clseg__declare_bn(g, n, "out_bn", CLSEG__SLOT_OUT_BN, x->channels);
  }
  return g->status == CLSEG_OK ? n : NULL;
}

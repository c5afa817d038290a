/* The graph engine: shape inference, fusion (batchnorm folding, activations, residual adds), the
 * liveness memory planner, plan reuse, the parameters a plan keeps, safetensors loading (in place
 * from the mapping, or copied), and the errors of each, against the naive references. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "plan_internal.h"
#include "ref/ref.h"
#include "support.h"
#include "tuning.h"

static const float *param(clseg_graph *g, const char *name) {
  int i = clseg__param_find(g, name);
  if (i < 0)
    fail_msg("no parameter %s", name);
  return g->params[i].data;
}

/* input -> conv a (bias) -> bn -> relu -> conv b + relu_out -> relu -> maxpool 2 -> conv c 1x1 ->
 * resize like relu_out -> concat(relu_out, .) -> conv d -> softmax */
static clseg_graph *build_mixed(void) {
  clseg_graph *g = clseg_graph_create();
  clseg_node *x = clseg_graph_input(g, "image", 3);
  const clseg_conv2d_params same = {.pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1};
  clseg_node *a = clseg_graph_conv2d(g, "a", x, 8, 3, 1, &same);
  a = clseg_graph_activation(g, clseg_graph_batchnorm(g, "a_bn", a), CLSEG_ACT_RELU);
  clseg_node *b = clseg_graph_conv2d(g, "b", a, 8, 3, 0, &same);
  b = clseg_graph_activation(g, clseg_graph_binary(g, CLSEG_BINARY_ADD, a, b),
                             CLSEG_ACT_RELU); /* commuted */
  const clseg_pool2d_params mp = {.kind = CLSEG_POOL_MAX, .kernel_h = 2, .kernel_w = 2};
  clseg_node *c = clseg_graph_conv2d(g, "c", clseg_graph_pool2d(g, b, &mp), 4, 1, 1, NULL);
  const clseg_resize_params bil = {.mode = CLSEG_RESIZE_BILINEAR};
  c = clseg_graph_resize_like(g, c, a, &bil);
  clseg_node *parts[2] = {a, c};
  clseg_node *d = clseg_graph_conv2d(g, "d", clseg_graph_concat(g, parts, 2), 2, 1, 1, NULL);
  assert_int_equal(clseg_graph_output(g, clseg_graph_softmax_channels(g, d), "probs"), CLSEG_OK);
  assert_int_equal(clseg_graph_status(g), CLSEG_OK);
  clseg_graph_random_params(g, 7);
  return g;
}

static void ref_conv(const float *x, const int64_t xs[4], const float *w, int64_t cout, int k,
                     const float *b, const float *res, int act, float *y, int64_t ys[4]) {
  const clseg_conv2d_params p = {.pad_top = k / 2,
                                 .pad_left = k / 2,
                                 .pad_bottom = k / 2,
                                 .pad_right = k / 2,
                                 .act = {.kind = (clseg_act_kind)act}};
  const int64_t ws[4] = {cout, xs[1], k, k};
  assert_int_equal(ref_conv2d_shape(xs, ws, &p, ys), 0);
  ref_conv2d(x, xs, w, ws, b, res, &p, y, ys);
}

/* The same network from the references, one layer at a time. */
static void reference_mixed(clseg_graph *g, const float *in, const int64_t xs[4], float *out) {
  size_t hw = (size_t)(xs[0] * xs[2] * xs[3]);
  float *a = malloc(hw * 8 * 4), *t = malloc(hw * 8 * 4), *b = malloc(hw * 8 * 4),
        *p = malloc(hw * 8 * 4), *c = malloc(hw * 4 * 4), *cat = malloc(hw * 12 * 4),
        *d = malloc(hw * 2 * 4);
  int64_t as[4], bs[4], ps[4], cs[4], ds[4];
  ref_conv(in, xs, param(g, "a.weight"), 8, 3, param(g, "a.bias"), NULL, 0, t, as);
  const clseg_activation relu = {.kind = CLSEG_ACT_RELU};
  ref_batchnorm(t, as, param(g, "a_bn.weight"), param(g, "a_bn.bias"),
                param(g, "a_bn.running_mean"), param(g, "a_bn.running_var"), 1e-5f, &relu, a);
  ref_conv(a, as, param(g, "b.weight"), 8, 3, NULL, a, CLSEG_ACT_RELU, b, bs);
  const clseg_pool2d_params mp = {.kind = CLSEG_POOL_MAX, .kernel_h = 2, .kernel_w = 2};
  assert_int_equal(ref_pool2d_shape(bs, &mp, ps), 0);
  ref_pool2d(b, bs, &mp, p, ps);
  ref_conv(p, ps, param(g, "c.weight"), 4, 1, param(g, "c.bias"), NULL, 0, t, cs);
  const int64_t rs[4] = {cs[0], 4, as[2], as[3]};
  const clseg_resize_params bil = {.mode = CLSEG_RESIZE_BILINEAR};
  ref_resize(t, cs, &bil, c, rs);
  const float *parts[2] = {a, c};
  const int64_t shapes[2][4] = {{as[0], 8, as[2], as[3]}, {rs[0], 4, rs[2], rs[3]}};
  const int64_t cats[4] = {as[0], 12, as[2], as[3]};
  assert_int_equal(ref_concat(parts, shapes, 2, cat, cats), 0);
  ref_conv(cat, cats, param(g, "d.weight"), 2, 1, param(g, "d.bias"), NULL, 0, d, ds);
  ref_softmax_channels(d, ds, out);
  free(a), free(t), free(b), free(p), free(c), free(cat), free(d);
}

static int g_resizes; /* resize launches in the last plan run_plan ran */

static void run_plan(clseg_graph *g, const int64_t xs[4], const clseg_plan_options *opt,
                     const float *in, float *out, clseg_plan_info *info) {
  clseg_plan *p = NULL;
  if (clseg_plan_create(test_ctx, g, xs[0], xs[2], xs[3], opt, &p) != CLSEG_OK)
    fail_msg("plan: %s", clseg_last_error(test_ctx));
  g_resizes = 0;
  for (int i = 0; i < clseg_plan_layer_count(p); i++) {
    clseg_plan_layer l;
    g_resizes += clseg_plan_layer_get(p, i, &l) == CLSEG_OK && !strcmp(l.op, "resize");
  }
  int64_t os[4];
  clseg_plan_output_shape(p, os);
  size_t n = (size_t)(os[0] * os[1] * os[2] * os[3]);
  if (clseg_plan_run(p, in, (size_t)(xs[0] * xs[1] * xs[2] * xs[3]), out, n) != CLSEG_OK)
    fail_msg("run: %s", clseg_last_error(test_ctx));
  clseg_plan_get_info(p, info);
  clseg_plan_free(p);
}

static void fused_and_unfused_plans_match_the_references(void **state) {
  (void)state;
  clseg_graph *g = build_mixed();
  const int64_t xs[4] = {2, 3, 9, 11};
  size_t nin = 2 * 3 * 9 * 11, nout = 2 * 2 * 9 * 11;
  float *in = malloc(nin * 4), *ref = malloc(nout * 4), *fused = malloc(nout * 4),
        *plain = malloc(nout * 4);
  check_fill_uniform(in, nin, 11, -1.0f, 1.0f);
  reference_mixed(g, in, xs, ref);
  clseg_plan_info fi, pi;
  run_plan(g, xs, NULL, in, fused, &fi);
  const clseg_plan_options nofuse = {.no_fusion = 1};
  run_plan(g, xs, &nofuse, in, plain, &pi);
  const int64_t os[4] = {2, 2, 9, 11};
  assert_true(check_close("fused plan", fused, ref, nout, os, NULL, "mixed graph, seed 11"));
  assert_true(check_close("unfused plan", plain, ref, nout, os, NULL, "mixed graph, seed 11"));
  assert_int_equal(fi.fused, 4); /* bn folded, relu, residual add, relu */
  assert_int_equal(pi.fused, 0);
  assert_int_equal(pi.kernels - fi.kernels, 4);
  assert_true(fi.flops > 0);
  free(in), free(ref), free(fused), free(plain);
  clseg_graph_free(g);
}

/* input -> 1x1 convs at three resolutions (the middle one with a batchnorm), two of them resized
 * to the first (bilinear, nearest), the first to its own size, and one more 1x1 conv without bias,
 * concatenated out of node order -> 1x1 conv of `width` + bn + relu: the shape of SegFormer's
 * decoder. */
static clseg_graph *build_decoder(int64_t width) {
  clseg_graph *g = clseg_graph_create();
  clseg_node *x = clseg_graph_input(g, "image", 3);
  const clseg_pool2d_params p2 = {.kind = CLSEG_POOL_MAX, .kernel_h = 2, .kernel_w = 2};
  const clseg_pool2d_params p4 = {.kind = CLSEG_POOL_MAX, .kernel_h = 4, .kernel_w = 4};
  const clseg_resize_params bil = {.mode = CLSEG_RESIZE_BILINEAR};
  const clseg_resize_params near = {.mode = CLSEG_RESIZE_NEAREST};
  clseg_node *a = clseg_graph_conv2d(g, "a", x, 5, 1, 1, NULL);
  clseg_node *b = clseg_graph_conv2d(g, "b", clseg_graph_pool2d(g, x, &p2), 5, 1, 1, NULL);
  b = clseg_graph_resize_like(g, clseg_graph_batchnorm(g, "b_bn", b), a, &bil);
  clseg_node *c = clseg_graph_conv2d(g, "c", clseg_graph_pool2d(g, x, &p4), 6, 1, 1, NULL);
  c = clseg_graph_resize_like(g, c, a, &near);
  clseg_node *d = clseg_graph_conv2d(g, "d", x, 5, 1, 0, NULL); /* last: it ends the sum */
  /* a to its own size (as mmseg's decoder resizes its finest stage): a copy, no launch */
  clseg_node *parts[4] = {c, clseg_graph_resize_like(g, a, x, &bil), b, d};
  clseg_node *f = clseg_graph_conv2d(g, "f", clseg_graph_concat(g, parts, 4), width, 1, 1, NULL);
  f = clseg_graph_activation(g, clseg_graph_batchnorm(g, "f_bn", f), CLSEG_ACT_RELU);
  assert_int_equal(clseg_graph_output(g, f, "y"), CLSEG_OK);
  assert_int_equal(clseg_graph_status(g), CLSEG_OK);
  clseg_graph_random_params(g, 13);
  return g;
}

static void bn_ref(clseg_graph *g, const char *name, const float *x, const int64_t xs[4],
                   const clseg_activation *act, float *y) {
  char w[64], b[64], m[64], v[64];
  snprintf(w, sizeof w, "%s.weight", name), snprintf(b, sizeof b, "%s.bias", name);
  snprintf(m, sizeof m, "%s.running_mean", name), snprintf(v, sizeof v, "%s.running_var", name);
  ref_batchnorm(x, xs, param(g, w), param(g, b), param(g, m), param(g, v), 1e-5f, act, y);
}

static void reference_decoder(clseg_graph *g, int64_t width, const float *in, const int64_t xs[4],
                              float *out) {
  const clseg_pool2d_params p2 = {.kind = CLSEG_POOL_MAX, .kernel_h = 2, .kernel_w = 2};
  const clseg_pool2d_params p4 = {.kind = CLSEG_POOL_MAX, .kernel_h = 4, .kernel_w = 4};
  const clseg_resize_params bil = {.mode = CLSEG_RESIZE_BILINEAR};
  const clseg_resize_params near = {.mode = CLSEG_RESIZE_NEAREST};
  size_t hw = (size_t)(xs[0] * xs[2] * xs[3]);
  float *t = malloc(hw * 21 * 4), *u = malloc(hw * 21 * 4), *a = malloc(hw * 5 * 4),
        *b = malloc(hw * 5 * 4), *c = malloc(hw * 6 * 4), *d = malloc(hw * 5 * 4),
        *cat = malloc(hw * 21 * 4), *f = malloc(hw * (size_t)width * 4);
  int64_t as[4], ps[4], bs[4], cs[4], fs[4];
  ref_conv(in, xs, param(g, "a.weight"), 5, 1, param(g, "a.bias"), NULL, 0, a, as);
  ref_pool2d_shape(xs, &p2, ps), ref_pool2d(in, xs, &p2, t, ps);
  ref_conv(t, ps, param(g, "b.weight"), 5, 1, param(g, "b.bias"), NULL, 0, u, bs);
  bn_ref(g, "b_bn", u, bs, NULL, t);
  const int64_t b_up[4] = {xs[0], 5, xs[2], xs[3]}, c_up[4] = {xs[0], 6, xs[2], xs[3]};
  ref_resize(t, bs, &bil, b, b_up);
  ref_pool2d_shape(xs, &p4, ps), ref_pool2d(in, xs, &p4, t, ps);
  ref_conv(t, ps, param(g, "c.weight"), 6, 1, param(g, "c.bias"), NULL, 0, u, cs);
  ref_resize(u, cs, &near, c, c_up);
  ref_conv(in, xs, param(g, "d.weight"), 5, 1, NULL, NULL, 0, d, as);
  const float *parts[4] = {c, a, b, d};
  const int64_t shapes[4][4] = {{xs[0], 6, xs[2], xs[3]},
                                {xs[0], 5, xs[2], xs[3]},
                                {xs[0], 5, xs[2], xs[3]},
                                {xs[0], 5, xs[2], xs[3]}};
  const int64_t cats[4] = {xs[0], 21, xs[2], xs[3]};
  assert_int_equal(ref_concat(parts, shapes, 4, cat, cats), 0);
  ref_conv(cat, cats, param(g, "f.weight"), width, 1, param(g, "f.bias"), NULL, 0, f, fs);
  const clseg_activation relu = {.kind = CLSEG_ACT_RELU};
  bn_ref(g, "f_bn", f, fs, &relu, out);
  free(t), free(u), free(a), free(b), free(c), free(d), free(cat), free(f);
}

/* The 1x1 conv after the concat runs as one conv per part at the part's resolution, the parts
 * summed through the resizes; not when it is wider than a part (that would cost more). */
static void a_pointwise_conv_moves_below_its_concat_and_resizes(void **state) {
  (void)state;
  const int64_t xs[4] = {2, 3, 12, 20};
  for (int64_t width = 4; width <= 6; width += 2) {
    clseg_graph *g = build_decoder(width);
    size_t nin = (size_t)(2 * 3 * 12 * 20), nout = (size_t)(2 * width * 12 * 20);
    float *in = malloc(nin * 4), *ref = malloc(nout * 4), *fused = malloc(nout * 4),
          *plain = malloc(nout * 4);
    check_fill_uniform(in, nin, 17, -1.0f, 1.0f);
    reference_decoder(g, width, in, xs, ref);
    clseg_plan_info fi, pi;
    run_plan(g, xs, &(clseg_plan_options){.no_fusion = 1}, in, plain, &pi);
    assert_int_equal(g_resizes, 2); /* the resize to its own size launches nothing */
    run_plan(g, xs, NULL, in, fused, &fi);
    const int64_t os[4] = {2, width, 12, 20};
    char what[64];
    snprintf(what, sizeof what, "decoder, width %lld, seed 17", (long long)width);
    assert_true(check_close("fused plan", fused, ref, nout, os, NULL, what));
    assert_true(check_close("unfused plan", plain, ref, nout, os, NULL, what));
    /* both batchnorms and the relu; moved: the concat and the conv itself */
    int moved = width == 4;
    assert_int_equal(fi.fused, 3 + 2 * moved);
    /* moved, f's flops (2 N H W x 21 x width) are gone, the parts' shrink */
    double f_flops = 2.0 * 2 * 12 * 20 * 21 * (double)width;
    if (moved)
      assert_true(fi.flops < pi.flops - 0.9 * f_flops);
    else
      assert_true(fi.flops <= pi.flops);
    free(in), free(ref), free(fused), free(plain);
    clseg_graph_free(g);
  }
}

/* On a device sharing host memory the last step writes into the caller's array: the same values as
 * the copy out of the arena, for a two-output graph (the last step's output and an earlier one). */
static void outputs_written_in_place_match_the_copies(void **state) {
  (void)state;
  if (!clseg_context_device(test_ctx)->unified_memory)
    skip();
  clseg_graph *g = build_mixed();
  assert_int_equal(clseg_graph_output(g, g->nodes[3], "early"), CLSEG_OK);
  clseg_plan *p = NULL;
  assert_int_equal(clseg_plan_create(test_ctx, g, 2, 9, 11, NULL, &p), CLSEG_OK);
  int64_t d0[CLSEG_MAX_RANK], d1[CLSEG_MAX_RANK];
  int r0 = clseg_plan_output_dims(p, 0, d0), r1 = clseg_plan_output_dims(p, 1, d1);
  size_t n0 = 1, n1 = 1, nin = 2 * 3 * 9 * 11;
  for (int i = 0; i < r0; i++)
    n0 *= (size_t)d0[i];
  for (int i = 0; i < r1; i++)
    n1 *= (size_t)d1[i];
  float *in = malloc(nin * 4), *a[2] = {malloc(n0 * 4), malloc(n1 * 4)},
        *b[2] = {malloc(n0 * 4), malloc(n1 * 4)};
  const size_t counts[2] = {n0, n1};
  check_fill_uniform(in, nin, 23, -1.0f, 1.0f);
  for (int k = 0; k < 2; k++) {
    check_fill_uniform(a[k], counts[k], 1, 7.0f, 8.0f); /* stale values must not survive */
    memcpy(b[k], a[k], counts[k] * 4);
  }
  assert_int_equal(clseg_plan_run_outputs(p, in, nin, a, counts, 2), CLSEG_OK);
  setenv("CLSEG_COPY_OUTPUTS", "1", 1);
  assert_int_equal(clseg_plan_run_outputs(p, in, nin, b, counts, 2), CLSEG_OK);
  unsetenv("CLSEG_COPY_OUTPUTS");
  assert_memory_equal(a[0], b[0], n0 * 4);
  assert_memory_equal(a[1], b[1], n1 * 4);
  for (size_t i = 0; i < n0; i++) /* softmax probabilities, not the stale fill */
    assert_true(a[0][i] >= 0.0f && a[0][i] <= 1.0f);
  clseg_plan_free(p);
  free(in), free(a[0]), free(a[1]), free(b[0]), free(b[1]);
  clseg_graph_free(g);
}

/* A transpose that moves only dims of size 1 launches nothing (it is a reshape); one that moves
 * data still runs. The graph computes a softmax over channels through token layouts. */
static void a_transpose_of_unit_dims_launches_nothing(void **state) {
  (void)state;
  clseg_graph *g = clseg_graph_create();
  clseg_node *x = clseg_graph_input(g, "image", 3);
  const int64_t flat[4] = {0, 3, 1, 35}, back[4] = {0, 3, 5, 7};
  const int unit[4] = {0, 2, 1, 3}, swap[4] = {0, 1, 3, 2};
  clseg_node *t = clseg_graph_transpose(g, clseg_graph_reshape(g, x, 4, flat), 4, unit);
  t = clseg_graph_softmax(g, clseg_graph_transpose(g, t, 4, swap), -1, 0); /* [N, 1, 35, 3] */
  t = clseg_graph_transpose(g, clseg_graph_transpose(g, t, 4, swap), 4, unit);
  assert_int_equal(clseg_graph_output(g, clseg_graph_reshape(g, t, 4, back), "y"), CLSEG_OK);
  assert_int_equal(clseg_graph_status(g), CLSEG_OK);
  const int64_t xs[4] = {2, 3, 5, 7};
  size_t n = 2 * 3 * 5 * 7;
  float in[210], out[210], ref[210];
  check_fill_uniform(in, n, 29, -2.0f, 2.0f);
  ref_softmax_channels(in, xs, ref);
  clseg_plan *p = NULL;
  assert_int_equal(clseg_plan_create(test_ctx, g, 2, 5, 7, NULL, &p), CLSEG_OK);
  assert_int_equal(clseg_plan_run(p, in, n, out, n), CLSEG_OK);
  assert_true(check_close("softmax through token layouts", out, ref, n, xs, NULL, "seed 29"));
  int transposes = 0;
  for (int i = 0; i < clseg_plan_layer_count(p); i++) {
    clseg_plan_layer l;
    assert_int_equal(clseg_plan_layer_get(p, i, &l), CLSEG_OK);
    transposes += !strcmp(l.op, "transpose");
  }
  assert_int_equal(transposes, 2); /* the two swaps; the unit moves are views */
  clseg_plan_free(p);
  clseg_graph_free(g);
}

static void memory_is_reused_along_a_chain(void **state) {
  (void)state;
  clseg_graph *g = clseg_graph_create();
  clseg_node *x = clseg_graph_input(g, "x", 4);
  const clseg_conv2d_params same = {.pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1};
  for (int i = 0; i < 12; i++) {
    char name[16];
    snprintf(name, sizeof name, "c%d", i);
    x = clseg_graph_conv2d(g, name, x, 4, 3, 1, &same);
  }
  clseg_graph_output(g, x, "y");
  clseg_graph_random_params(g, 3);
  const int64_t xs[4] = {1, 4, 15, 17};
  size_t n = 4 * 15 * 17;
  float *in = malloc(n * 4), *out = malloc(n * 4), *ref = malloc(n * 4), *tmp = malloc(n * 4);
  check_fill_uniform(in, n, 5, -1.0f, 1.0f);
  memcpy(ref, in, n * 4);
  for (int i = 0; i < 12; i++) {
    char w[32], b[32];
    snprintf(w, sizeof w, "c%d.weight", i);
    snprintf(b, sizeof b, "c%d.bias", i);
    int64_t ys[4];
    ref_conv(ref, xs, param(g, w), 4, 3, param(g, b), NULL, 0, tmp, ys);
    memcpy(ref, tmp, n * 4);
  }
  clseg_plan_info info;
  run_plan(g, xs, NULL, in, out, &info);
  assert_true(check_close("conv chain", out, ref, n, xs, NULL, "12 convs, seed 5"));
  print_message("conv chain: planned activations %llu bytes, one buffer per node %llu bytes\n",
                (unsigned long long)info.activation_bytes,
                (unsigned long long)info.activation_sum_bytes);
  assert_true(info.activation_bytes * 4 <= info.activation_sum_bytes); /* 13 tensors in 3 slots */
  free(in), free(out), free(ref), free(tmp);
  clseg_graph_free(g);
}

static void a_plan_runs_again_without_rebuilding(void **state) {
  (void)state;
  clseg_graph *g = build_mixed();
  clseg_plan *p = NULL;
  assert_int_equal(clseg_plan_create(test_ctx, g, 1, 7, 7, NULL, &p), CLSEG_OK);
  float in[3 * 49], a[2 * 49], b[2 * 49];
  check_fill_uniform(in, 3 * 49, 1, -1.0f, 1.0f);
  assert_int_equal(clseg_plan_run(p, in, 3 * 49, a, 2 * 49), CLSEG_OK);
  clseg_stats s1, s2;
  clseg_context_stats(test_ctx, &s1);
  assert_int_equal(clseg_plan_run(p, in, 3 * 49, b, 2 * 49), CLSEG_OK);
  clseg_context_stats(test_ctx, &s2);
  assert_int_equal(s2.programs_built, s1.programs_built);
  assert_int_equal(s2.programs_from_cache, s1.programs_from_cache);
  assert_memory_equal(a, b, sizeof a);
  assert_int_equal(clseg_plan_run(p, in, 3 * 48, b, 2 * 49), CLSEG_SHAPE_MISMATCH);
  clseg_plan_free(p);
  clseg_graph_free(g);
}

static void build_errors_are_sticky_and_name_the_node(void **state) {
  (void)state;
  clseg_graph *g = clseg_graph_create();
  clseg_node *x = clseg_graph_input(g, "x", 3);
  clseg_node *a = clseg_graph_conv2d(g, "a", x, 4, 1, 0, NULL);
  clseg_node *b = clseg_graph_conv2d(g, "b", x, 5, 1, 0, NULL);
  assert_null(clseg_graph_binary(g, CLSEG_BINARY_ADD, a, b));
  assert_int_equal(clseg_graph_status(g), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_graph_error(g), "4 and 5 channels"));
  assert_null(
      clseg_graph_conv2d(g, "c", NULL, 4, 3, 0, NULL)); /* NULL passes along, first error kept */
  assert_true(test_contains(clseg_graph_error(g), "4 and 5 channels"));
  assert_int_equal(clseg_graph_output(g, NULL, "y"), CLSEG_SHAPE_MISMATCH);
  clseg_plan *p = NULL;
  assert_int_equal(clseg_plan_create(test_ctx, g, 1, 4, 4, NULL, &p), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(test_ctx), "failed to build"));
  clseg_graph_free(g);

  g = clseg_graph_create();
  x = clseg_graph_input(g, "x", 6);
  const clseg_conv2d_params g4 = {.groups = 4};
  assert_null(clseg_graph_conv2d(g, "grouped", x, 8, 3, 0, &g4));
  assert_true(test_contains(clseg_graph_error(g), "grouped"));
  clseg_graph_free(g);

  g = clseg_graph_create();
  x = clseg_graph_input(g, "x", 2);
  clseg_graph_conv2d(g, "same", x, 2, 1, 0, NULL);
  assert_null(clseg_graph_conv2d(g, "same", x, 2, 1, 0, NULL));
  assert_true(test_contains(clseg_graph_error(g), "declared twice"));
  clseg_graph_free(g);

  g = clseg_graph_create();
  x = clseg_graph_input(g, "x", 2);
  assert_null(clseg_graph_slice_channels(g, x, 1, 2));
  assert_true(test_contains(clseg_graph_error(g), "channels 1..3 of 2"));
  clseg_graph_free(g);
}

static void plan_errors_name_what_is_wrong(void **state) {
  (void)state;
  clseg_graph *g = clseg_graph_create();
  clseg_node *x = clseg_graph_input(g, "x", 3);
  clseg_node *c = clseg_graph_conv2d(g, "enc", x, 4, 3, 1, NULL);
  clseg_graph_output(g, clseg_graph_linear(g, "fc", c, 2, 1), "y");
  clseg_plan *p = NULL;
  assert_int_equal(clseg_plan_create(test_ctx, g, 1, 8, 8, NULL, &p), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(test_ctx), "enc.weight"));
  assert_true(test_contains(clseg_last_error(test_ctx), "clseg_graph_random_params"));
  clseg_graph_random_params(g, 1);
  assert_int_equal(clseg_plan_create(test_ctx, g, 1, 8, 8, NULL, &p), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(test_ctx), "linear 'fc'"));
  /* a 3x3 conv on 2x2 */
  assert_int_equal(clseg_plan_create(test_ctx, g, 1, 2, 2, NULL, &p), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(test_ctx), "conv2d 'enc'"));
  assert_int_equal(clseg_plan_create(test_ctx, g, 0, 8, 8, NULL, &p), CLSEG_INVALID_ARGUMENT);
  assert_null(p);
  const int64_t bad[4] = {4, 3, 3, 2};
  float w[72] = {0};
  assert_int_equal(clseg_graph_set_param(g, "enc.weight", bad, 4, w), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_graph_error(g),
                            "'enc.weight' has shape [4, 3, 3, 2], the model expects [4, 3, 3, 3]"));
  assert_int_equal(clseg_graph_set_param(g, "nope", bad, 4, w), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_graph_error(g), "'nope'"));
  clseg_graph_free(g);
}

/* conv "v" (conv2d_vec) -> depthwise "d" (conv2d_depthwise) -> up-convolution "u" (k2s2, or
 * conv_transpose2d_gpu where the device's rows choose it: GPU profiles). */
static clseg_graph *build_packed(void) {
  clseg_graph *g = clseg_graph_create();
  const clseg_conv2d_params vec = {
      .pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1, .variant = "conv2d_vec"};
  const clseg_conv2d_params dw = {.pad_top = 1,
                                  .pad_left = 1,
                                  .pad_bottom = 1,
                                  .pad_right = 1,
                                  .groups = 8,
                                  .variant = "conv2d_depthwise"};
  const clseg_conv_transpose2d_params up = {.stride_h = 2, .stride_w = 2};
  clseg_node *x = clseg_graph_conv2d(g, "v", clseg_graph_input(g, "x", 3), 8, 3, 1, &vec);
  x = clseg_graph_conv2d(g, "d", x, 8, 3, 1, &dw);
  x = clseg_graph_conv_transpose2d(g, "u", x, 4, 2, 1, &up);
  assert_int_equal(clseg_graph_output(g, x, "y"), CLSEG_OK);
  clseg_graph_random_params(g, 21);
  return g;
}

static void reference_packed(clseg_graph *g, const float *in, const int64_t xs[4], float *out) {
  const size_t hw = (size_t)(xs[0] * xs[2] * xs[3]);
  float *v = malloc(hw * 8 * 4), *d = malloc(hw * 8 * 4);
  const clseg_conv2d_params same = {.pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1};
  const clseg_conv2d_params dw = {
      .pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1, .groups = 8};
  const clseg_conv_transpose2d_params up = {.stride_h = 2, .stride_w = 2};
  const int64_t vw[4] = {8, 3, 3, 3}, dws[4] = {8, 1, 3, 3}, uw[4] = {8, 4, 2, 2};
  const int64_t ys[4] = {xs[0], 8, xs[2], xs[3]}, os[4] = {xs[0], 4, 2 * xs[2], 2 * xs[3]};
  ref_conv2d(in, xs, param(g, "v.weight"), vw, param(g, "v.bias"), NULL, &same, v, ys);
  ref_conv2d(v, ys, param(g, "d.weight"), dws, param(g, "d.bias"), NULL, &dw, d, ys);
  ref_conv_transpose2d(d, ys, param(g, "u.weight"), uw, param(g, "u.bias"), &up, out, os);
  free(v), free(d);
}

static const clseg__step *step_named(const clseg_plan *p, const char *name) {
  for (int i = 0; i < p->g->nnodes; i++)
    if (!strcmp(p->g->nodes[i]->name, name))
      return &p->steps[i];
  fail_msg("no node %s", name);
  return NULL;
}

static void a_plan_keeps_only_the_weights_its_convs_read(void **state) {
  (void)state;
  clseg_graph *g = build_packed();
  clseg_plan *p = NULL;
  assert_int_equal(clseg_plan_create(test_ctx, g, 1, 9, 11, NULL, &p), CLSEG_OK);
  const clseg__step *v = step_named(p, "v"), *d = step_named(p, "d"), *u = step_named(p, "u");
  assert_string_equal(clseg__conv2d_prep_variant(v->conv), "conv2d_vec");
  assert_string_equal(clseg__conv2d_prep_variant(d->conv), "conv2d_depthwise");
  assert_null(v->param[0]); /* runs from its packed weights */
  assert_non_null(d->param[0]);
  const char *uv, *uo, *ur;
  clseg__conv_transpose2d_prep_tuning(u->convt, &uv, &uo, &ur);
  const int packs = !strcmp(uv, "conv_transpose2d_k2s2"); /* the GPU variant reads u's weight */
  assert_true(packs || !strcmp(uv, "conv_transpose2d_gpu"));
  assert_true(packs ? u->param[0] == NULL : u->param[0] != NULL);
  const size_t vp = clseg__conv2d_prep_weight_bytes(v->conv);
  const size_t up = clseg__conv_transpose2d_prep_weight_bytes(u->convt);
  assert_true(vp >= 8 * 3 * 9 * 4 && (packs ? up >= 8 * 4 * 4 * 4 : up == 0));
  assert_int_equal(clseg__conv2d_prep_weight_bytes(d->conv), 0);
  clseg_plan_info info;
  clseg_plan_get_info(p, &info);
  assert_int_equal(info.parameter_bytes,
                   vp + 8 * 4 + (8 * 9 + 8) * 4 + (packs ? up : 8 * 4 * 4 * 4) + 4 * 4);
  const int64_t xs[4] = {1, 3, 9, 11}, os[4] = {1, 4, 18, 22};
  float in[3 * 99], out[4 * 396], ref[4 * 396];
  check_fill_uniform(in, 3 * 99, 4, -1.0f, 1.0f);
  reference_packed(g, in, xs, ref);
  for (int k = 0; k < 2; k++) { /* the second run: nothing freed was needed after all */
    assert_int_equal(clseg_plan_run(p, in, 3 * 99, out, 4 * 396), CLSEG_OK);
    assert_true(check_close("packed plan", out, ref, 4 * 396, os, NULL, "vec, depthwise, k2s2"));
  }
  clseg_plan_free(p);
  clseg_graph_free(g);
}

/* A 3x3 conv whose F(4x4) weights (4x its 1.35 MiB) exceed them by more than 4 MiB: on a 48x44
 * map F(4x4) pays off enough for the default plan (0.26 GFLOP saved per extra MB), low_memory takes
 * F(2x2) (16/9 of the weights); both plans match the naive reference. Under a GPU profile the same
 * rules choose the GPU-shaped forms. */
static void a_low_memory_plan_keeps_smaller_weights(void **state) {
  (void)state;
  static const char *const key[] = {"WINOGRAD", "WINO_GPU"};
  double rule[2] = {0, 0};
  assert_int_equal(clseg__tune_get(test_ctx, "conv2d", NULL, key, 2, rule, NULL), CLSEG_OK);
  if (!rule[0]) { /* a conv2d row that takes no Winograd: nothing to step down from */
    print_message("skipped: the conv2d row of this device takes no Winograd\n");
    return;
  }
  clseg_graph *g = clseg_graph_create();
  const clseg_conv2d_params same = {.pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1};
  clseg_node *x = clseg_graph_conv2d(g, "c", clseg_graph_input(g, "x", 224), 176, 3, 1, &same);
  assert_int_equal(clseg_graph_output(g, x, "y"), CLSEG_OK);
  clseg_graph_random_params(g, 23);
  const int64_t xs[4] = {1, 224, 48, 44}, ys[4] = {1, 176, 48, 44};
  const size_t n = 224 * 48 * 44, m = 176 * 48 * 44;
  float *in = malloc(n * 4), *ref = malloc(m * 4), *out = malloc(m * 4);
  check_fill_uniform(in, n, 5, -1.0f, 1.0f);
  const int64_t ws[4] = {176, 224, 3, 3};
  ref_conv2d(in, xs, param(g, "c.weight"), ws, param(g, "c.bias"), NULL, &same, ref, ys);
  const char *want[2] = {"conv2d_winograd", "conv2d_winograd2x2"};
  if (rule[1]) { /* a GPU's rows: the GPU-shaped forms, by the same rules */
    want[0] = "conv2d_winograd_gpu";
    want[1] = "conv2d_winograd2x2_gpu";
  }
  size_t bytes[2];
  for (int low = 0; low < 2; low++) {
    const clseg_plan_options opt = {.low_memory = low};
    clseg_plan *p = NULL;
    assert_int_equal(clseg_plan_create(test_ctx, g, 1, 48, 44, &opt, &p), CLSEG_OK);
    const clseg__step *c = step_named(p, "c");
    assert_string_equal(clseg__conv2d_prep_variant(c->conv), want[low]);
    bytes[low] = clseg__conv2d_prep_weight_bytes(c->conv);
    assert_int_equal(clseg_plan_run(p, in, n, out, m), CLSEG_OK);
    assert_true(check_close("low-memory plan", out, ref, m, ys, NULL, want[low]));
    clseg_plan_free(p);
  }
  assert_true(bytes[1] * 2 < bytes[0]); /* 16 vs 36 transformed elements per 3x3 filter */
  free(in), free(out), free(ref);
  clseg_graph_free(g);
}

/* Writes a safetensors file: the JSON header, then the raw bytes. */
static void write_safetensors(const char *path, const char *json, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  uint64_t n = strlen(json);
  unsigned char h[8];
  for (int i = 0; i < 8; i++)
    h[i] = (unsigned char)(n >> (8 * i));
  fwrite(h, 1, 8, f);
  fwrite(json, 1, n, f);
  fwrite(data, 1, len, f);
  fclose(f);
}

static clseg_graph *tiny_conv(void) {
  clseg_graph *g = clseg_graph_create();
  clseg_graph_output(g, clseg_graph_conv2d(g, "c", clseg_graph_input(g, "x", 2), 3, 1, 1, NULL),
                     "y");
  return g;
}

static void safetensors_load_converts_and_reports(void **state) {
  (void)state;
  char dir[256], path[300];
  test_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/m.safetensors", dir);
  unsigned char data[24 + 6 + 6];
  float w[6] = {1, -2, 0.5f, 4, -0.25f, 8};
  const uint16_t f16[3] = {0x3800, 0xBD00, 0x4200},
                 bf16[3] = {0x3F00, 0xBFA0, 0x4040}; /* .5 -1.25 3 */
  memcpy(data, w, 24);
  memcpy(data + 24, f16, 6);
  memcpy(data + 30, bf16, 6);
  write_safetensors(
      path,
      "{\"__metadata__\":{\"clseg.network\":\"test\"},"
      "\"c.weight\":{\"dtype\":\"F32\",\"shape\":[3,2,1,1],\"data_offsets\":[0,24]},"
      "\"c.bias\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[24,30]},"
      "\"bn.num_batches_tracked\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[30,36]}}",
      data, sizeof data);
  clseg_graph *g = tiny_conv();
  assert_int_equal(clseg_graph_load_safetensors(g, path), CLSEG_OK);
  assert_memory_equal(param(g, "c.weight"), w, sizeof w);
  const float want[3] = {0.5f, -1.25f, 3.0f};
  assert_memory_equal(param(g, "c.bias"), want, sizeof want);
  assert_false(g->params[clseg__param_find(g, "c.bias")].mapped); /* converted: a copy */
  clseg_graph_free(g);

  write_safetensors(path,
                    "{\"c.weight\":{\"dtype\":\"F32\",\"shape\":[3,1,2,1],\"data_offsets\":[0,24]},"
                    "\"c.bias\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[30,36]},"
                    "\"extra\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[24,30]}}",
                    data, sizeof data);
  g = tiny_conv();
  assert_int_equal(clseg_graph_load_safetensors(g, path), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_graph_error(g),
                            "'c.weight' has shape [3, 1, 2, 1], the model expects [3, 2, 1, 1]"));
  assert_true(test_contains(clseg_graph_error(g), "'extra' is in the file but not in the model"));
  clseg_graph_free(g);

  write_safetensors(
      path, "{\"c.weight\":{\"dtype\":\"F32\",\"shape\":[3,2,1,1],\"data_offsets\":[0,24]}}", data,
      24);
  g = tiny_conv();
  assert_int_equal(clseg_graph_load_safetensors(g, path), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_graph_error(g), "'c.bias' is missing"));
  clseg_graph_free(g);

  const char *corrupt[] = {
      "{\"c.weight\":{\"dtype\":\"F32\",\"shape\":[3,2,1,1],\"data_offsets\":[0,240]}}", /* past the
                                                                                            end */
      "{\"c.weight\":{\"dtype\":\"F32\",\"shape\":[3,2,1,1],\"data_offsets\":[0,20]}}",  /* wrong
                                                                                            length */
      "{\"c.weight\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[0,24]}}",        /* dtype */
      "{\"c.weight\":", "[1, 2]"};
  for (size_t i = 0; i < sizeof corrupt / sizeof *corrupt; i++) {
    write_safetensors(path, corrupt[i], data, 24);
    g = tiny_conv();
    assert_int_equal(clseg_graph_load_safetensors(g, path), CLSEG_FORMAT);
    assert_true(test_contains(clseg_graph_error(g), "not a valid safetensors file"));
    assert_true(test_contains(clseg_graph_error(g), path));
    clseg_graph_free(g);
  }
  FILE *f = fopen(path, "wb"); /* a header length beyond the file */
  fwrite("\xff\xff\xff\x00\x00\x00\x00\x00{}  ", 1, 12, f);
  fclose(f);
  g = tiny_conv();
  assert_int_equal(clseg_graph_load_safetensors(g, path), CLSEG_FORMAT);
  assert_int_equal(clseg_graph_status(g), CLSEG_FORMAT); /* a graph without weights stays failed */
  clseg_graph_free(g);
  g = tiny_conv();
  assert_int_equal(clseg_graph_load_safetensors(g, "/nonexistent/m.safetensors"), CLSEG_IO);
  assert_true(test_contains(clseg_graph_error(g), "/nonexistent/m.safetensors: cannot open"));
  clseg_graph_free(g);
  test_rmdir(dir);
}

/* Writes g's parameters as float32 into a safetensors file whose data starts at a multiple of 8
 * bytes plus `misalign`. */
static void save_params(const clseg_graph *g, const char *path, int misalign) {
  char json[4096];
  size_t n = (size_t)snprintf(json, sizeof json, "{"), off = 0;
  float *data = malloc(4096 * sizeof *data);
  for (int i = 0; i < g->nparams; i++) {
    const clseg__param *p = &g->params[i];
    n += (size_t)snprintf(json + n, sizeof json - n, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[",
                          i ? "," : "", p->name);
    for (int k = 0; k < p->ndim; k++)
      n += (size_t)snprintf(json + n, sizeof json - n, "%s%lld", k ? "," : "",
                            (long long)p->dims[k]);
    n += (size_t)snprintf(json + n, sizeof json - n, "],\"data_offsets\":[%zu,%zu]}", off * 4,
                          (off + p->count) * 4);
    assert_true(off + p->count <= 4096 && n < sizeof json - 16);
    memcpy(data + off, p->data, p->count * sizeof *data);
    off += p->count;
  }
  json[n++] = '}';
  while ((8 + n) % 8 != (size_t)misalign) /* JSON may end in spaces */
    json[n++] = ' ';
  json[n] = 0;
  write_safetensors(path, json, data, off * sizeof *data);
  free(data);
}

static void plans_match(clseg_graph *a, clseg_graph *b, int64_t h, int64_t w) {
  const int64_t xs[4] = {1, 3, h, w};
  const size_t nin = (size_t)(3 * h * w), nout = (size_t)(4 * 4 * h * w);
  float *in = malloc(nin * 4), *ya = malloc(nout * 4), *yb = malloc(nout * 4);
  clseg_plan_info info;
  check_fill_uniform(in, nin, 9, -1.0f, 1.0f);
  run_plan(a, xs, NULL, in, ya, &info);
  run_plan(b, xs, NULL, in, yb, &info);
  assert_memory_equal(ya, yb, nout * 4);
  free(in), free(ya), free(yb);
}

static int mapped_params(const clseg_graph *g) {
  int n = 0;
  for (int i = 0; i < g->nparams; i++)
    n += g->params[i].mapped;
  return n;
}

static void safetensors_weights_are_used_in_place(void **state) {
  (void)state;
  char dir[256], path[300];
  test_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/packed.safetensors", dir);
  clseg_graph *src = build_packed(), *g = build_packed();
  save_params(src, path, 0);
  clseg_graph_random_params(g, 99); /* loading replaces these */
  assert_int_equal(clseg_graph_load_safetensors(g, path), CLSEG_OK);
  assert_int_equal(mapped_params(g), g->nparams);
  for (int i = 0; i < g->nparams; i++)
    assert_memory_equal(g->params[i].data, src->params[i].data, g->params[i].count * 4);
  plans_match(src, g, 9, 11);
  plans_match(src, g, 5, 7); /* a later plan reads the pages the first one let go */
  const int64_t four = 4;
  const float bias[4] = {1, -2, 3, -4};
  assert_int_equal(clseg_graph_set_param(g, "u.bias", &four, 1, bias), CLSEG_OK);
  assert_int_equal(clseg_graph_set_param(src, "u.bias", &four, 1, bias), CLSEG_OK);
  assert_int_equal(mapped_params(g), g->nparams - 1); /* its own copy now */
  plans_match(src, g, 6, 6);
  clseg_graph_random_params(g, 3);
  clseg_graph_random_params(src, 3);
  assert_int_equal(mapped_params(g), 0);
  plans_match(src, g, 4, 5);
  clseg_graph_free(g);

  save_params(src, path, 2); /* misaligned floats are copied */
  g = build_packed();
  assert_int_equal(clseg_graph_load_safetensors(g, path), CLSEG_OK);
  assert_int_equal(mapped_params(g), 0);
  plans_match(src, g, 5, 7);
  clseg_graph_free(g);
  clseg_graph_free(src);
  test_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(fused_and_unfused_plans_match_the_references),
      cmocka_unit_test(a_pointwise_conv_moves_below_its_concat_and_resizes),
      cmocka_unit_test(outputs_written_in_place_match_the_copies),
      cmocka_unit_test(a_transpose_of_unit_dims_launches_nothing),
      cmocka_unit_test(memory_is_reused_along_a_chain),
      cmocka_unit_test(a_plan_runs_again_without_rebuilding),
      cmocka_unit_test(build_errors_are_sticky_and_name_the_node),
      cmocka_unit_test(plan_errors_name_what_is_wrong),
      cmocka_unit_test(a_plan_keeps_only_the_weights_its_convs_read),
      cmocka_unit_test(a_low_memory_plan_keeps_smaller_weights),
      cmocka_unit_test(safetensors_load_converts_and_reports),
      cmocka_unit_test(safetensors_weights_are_used_in_place),
  };
  return cmocka_run_group_tests(tests, test_group_setup, test_group_teardown);
}

/* Proves the naive C references in tests/ref/ against PyTorch: every fixture listed in
 * CLSEG_FIXTURE_DIR/index.txt is one cmocka test that runs the matching reference and checks its
 * outputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/check.h"
#include "common/fixture.h"
#include "ref/ref.h"

#ifndef CLSEG_FIXTURE_DIR
#error "define CLSEG_FIXTURE_DIR as the path of tests/fixtures"
#endif

#define MAX_FIXTURES 512
#define MAX_PATH_LEN 1024

/* ---- fixture access: each failure says what is missing, so a broken fixture is easy to find ----
 */

/* A required array and its NCHW shape (leading 1s for fewer dims); NULL after printing why. */
static const float *need(const fixture *f, const char *name, int64_t s[4]) {
  const fixture_array *a = fixture_get(f, name);
  int64_t dummy[4];
  if (!a || !fixture_shape4(a, s ? s : dummy)) {
    fprintf(stderr, "fixture lacks a usable array '%s'\n", name);
    return NULL;
  }
  return a->data;
}

static const float *opt(const fixture *f, const char *name) {
  const fixture_array *a = fixture_get(f, name);
  return a ? a->data : NULL;
}

static int64_t dim0(const fixture *f, const char *name) {
  const fixture_array *a = fixture_get(f, name);
  return a && a->ndim > 0 ? a->dims[0] : 0;
}

static float *alloc_out(const int64_t s[4]) {
  float *p = calloc(ref_count(s) ? ref_count(s) : 1, sizeof(float));
  if (!p)
    fprintf(stderr, "out of memory\n");
  return p;
}

/* Checks got (shaped s) against the fixture's array name: same shape, then the tolerance helper. */
static bool expect(const fixture *f, const char *name, const float *got, const int64_t s[4],
                   const char *ctx) {
  int64_t es[4];
  const float *ref = need(f, name, es);
  if (!ref || !got)
    return false;
  if (memcmp(es, s, sizeof(es)) != 0) {
    fprintf(
        stderr,
        "FAIL %s: ref computed [%lld,%lld,%lld,%lld], fixture has [%lld,%lld,%lld,%lld]\n  %s\n",
        name, (long long)s[0], (long long)s[1], (long long)s[2], (long long)s[3], (long long)es[0],
        (long long)es[1], (long long)es[2], (long long)es[3], ctx);
    return false;
  }
  return check_close(name, got, ref, ref_count(s), s, NULL, ctx);
}

/* Index of the param's value in names, or -1 (printed) when absent or unknown. */
static int lookup(const fixture *f, const char *key, const char *const *names, int count) {
  const char *v = fixture_param(f, key);
  for (int i = 0; v && i < count; i++)
    if (strcmp(v, names[i]) == 0)
      return i;
  fprintf(stderr, "fixture param '%s' is missing or unknown ('%s')\n", key, v ? v : "");
  return -1;
}

static bool read_act(const fixture *f, clseg_activation *act) {
  int k = lookup(f, "act.kind", fixture_act_names, FIXTURE_ACT_COUNT);
  act->kind = (clseg_act_kind)(k < 0 ? 0 : k);
  act->alpha = fixture_param_float(f, "act.alpha", 0.0f);
  act->beta = fixture_param_float(f, "act.beta", 0.0f);
  return k >= 0;
}

static ref_bn read_bn(const fixture *f, const char *eps_key) {
  ref_bn bn = {opt(f, "bn_gamma"), opt(f, "bn_beta"), opt(f, "bn_mean"), opt(f, "bn_var"),
               fixture_param_float(f, eps_key, 0.0f)};
  return bn;
}

/* ---- one runner per op name: compute the reference, compare every output ---- */
typedef bool (*runner_fn)(const fixture *f, const char *ctx);

static bool run_activation(const fixture *f, const char *ctx) {
  int64_t xs[4];
  clseg_activation act;
  const float *x = need(f, "x", xs);
  if (!x || !read_act(f, &act))
    return false;
  float *y = alloc_out(xs);
  if (y)
    ref_activation(x, xs, &act, y);
  bool ok = expect(f, "y", y, xs, ctx);
  free(y);
  return ok;
}

static bool run_conv2d(const fixture *f, const char *ctx) {
  int64_t xs[4], ws[4], ys[4];
  clseg_conv2d_params p = {.stride_h = fixture_param_int(f, "stride_h", 0),
                           .stride_w = fixture_param_int(f, "stride_w", 0),
                           .pad_top = fixture_param_int(f, "pad_top", 0),
                           .pad_left = fixture_param_int(f, "pad_left", 0),
                           .pad_bottom = fixture_param_int(f, "pad_bottom", 0),
                           .pad_right = fixture_param_int(f, "pad_right", 0),
                           .dilation_h = fixture_param_int(f, "dilation_h", 0),
                           .dilation_w = fixture_param_int(f, "dilation_w", 0),
                           .groups = fixture_param_int(f, "groups", 0)};
  const float *x = need(f, "x", xs), *w = need(f, "w", ws);
  if (!x || !w || !read_act(f, &p.act) || ref_conv2d_shape(xs, ws, &p, ys) != 0)
    return false;
  float *y = alloc_out(ys);
  if (y)
    ref_conv2d(x, xs, w, ws, opt(f, "bias"), opt(f, "residual"), &p, y, ys);
  bool ok = expect(f, "y", y, ys, ctx);
  free(y);
  return ok;
}

static bool run_conv_transpose2d(const fixture *f, const char *ctx) {
  int64_t xs[4], ws[4], ys[4];
  clseg_conv_transpose2d_params p = {.stride_h = fixture_param_int(f, "stride_h", 0),
                                     .stride_w = fixture_param_int(f, "stride_w", 0),
                                     .pad_top = fixture_param_int(f, "pad_top", 0),
                                     .pad_left = fixture_param_int(f, "pad_left", 0),
                                     .pad_bottom = fixture_param_int(f, "pad_bottom", 0),
                                     .pad_right = fixture_param_int(f, "pad_right", 0),
                                     .output_pad_h = fixture_param_int(f, "output_pad_h", 0),
                                     .output_pad_w = fixture_param_int(f, "output_pad_w", 0),
                                     .dilation_h = fixture_param_int(f, "dilation_h", 0),
                                     .dilation_w = fixture_param_int(f, "dilation_w", 0),
                                     .groups = fixture_param_int(f, "groups", 0)};
  const float *x = need(f, "x", xs), *w = need(f, "w", ws);
  if (!x || !w || !read_act(f, &p.act) || ref_conv_transpose2d_shape(xs, ws, &p, ys) != 0)
    return false;
  float *y = alloc_out(ys);
  if (y)
    ref_conv_transpose2d(x, xs, w, ws, opt(f, "bias"), &p, y, ys);
  bool ok = expect(f, "y", y, ys, ctx);
  free(y);
  return ok;
}

static const char *const POOL_NAMES[] = {"max", "avg"};

static bool run_pool2d(const fixture *f, const char *ctx) {
  int64_t xs[4], ys[4];
  int kind = lookup(f, "kind", POOL_NAMES, 2);
  clseg_pool2d_params p = {.kind = (clseg_pool_kind)kind,
                           .kernel_h = fixture_param_int(f, "kernel_h", 0),
                           .kernel_w = fixture_param_int(f, "kernel_w", 0),
                           .stride_h = fixture_param_int(f, "stride_h", 0),
                           .stride_w = fixture_param_int(f, "stride_w", 0),
                           .pad_top = fixture_param_int(f, "pad_top", 0),
                           .pad_left = fixture_param_int(f, "pad_left", 0),
                           .pad_bottom = fixture_param_int(f, "pad_bottom", 0),
                           .pad_right = fixture_param_int(f, "pad_right", 0),
                           .ceil_mode = fixture_param_int(f, "ceil_mode", 0),
                           .count_include_pad = fixture_param_int(f, "count_include_pad", 0)};
  const float *x = need(f, "x", xs);
  if (!x || kind < 0 || ref_pool2d_shape(xs, &p, ys) != 0)
    return false;
  float *y = alloc_out(ys);
  if (y)
    ref_pool2d(x, xs, &p, y, ys);
  bool ok = expect(f, "y", y, ys, ctx);
  free(y);
  return ok;
}

static bool run_global_pool(const fixture *f, const char *ctx) {
  int64_t xs[4];
  int kind = lookup(f, "kind", POOL_NAMES, 2);
  const float *x = need(f, "x", xs);
  if (!x || kind < 0)
    return false;
  const int64_t ys[4] = {xs[0], xs[1], 1, 1};
  float *y = alloc_out(ys);
  if (y)
    ref_global_pool(x, xs, (clseg_pool_kind)kind, y);
  bool ok = expect(f, "y", y, ys, ctx);
  free(y);
  return ok;
}

static bool run_resize(const fixture *f, const char *ctx) {
  static const char *const modes[] = {"nearest", "bilinear"};
  int64_t xs[4], ys[4];
  int mode = lookup(f, "mode", modes, 2);
  clseg_resize_params p = {.mode = (clseg_resize_mode)mode,
                           .align_corners = fixture_param_int(f, "align_corners", 0),
                           .scale_h = fixture_param_float(f, "scale_h", 0.0f),
                           .scale_w = fixture_param_float(f, "scale_w", 0.0f)};
  const float *x = need(f, "x", xs);
  /* resize takes its output size from y, so the fixture's y shape is the request. */
  if (!x || mode < 0 || !need(f, "y", ys))
    return false;
  float *y = alloc_out(ys);
  if (y)
    ref_resize(x, xs, &p, y, ys);
  bool ok = expect(f, "y", y, ys, ctx);
  free(y);
  return ok;
}

static bool run_batchnorm(const fixture *f, const char *ctx) {
  int64_t xs[4];
  clseg_activation act;
  const float *x = need(f, "x", xs), *g = need(f, "gamma", NULL), *b = need(f, "beta", NULL);
  const float *m = need(f, "mean", NULL), *v = need(f, "var", NULL);
  if (!x || !g || !b || !m || !v || !read_act(f, &act))
    return false;
  float *y = alloc_out(xs);
  if (y)
    ref_batchnorm(x, xs, g, b, m, v, fixture_param_float(f, "eps", 0.0f), &act, y);
  bool ok = expect(f, "y", y, xs, ctx);
  free(y);
  return ok;
}

static bool run_batchnorm_fold(const fixture *f, const char *ctx) {
  int64_t ws[4];
  const float *w = need(f, "weight", ws), *g = need(f, "gamma", NULL), *b = need(f, "beta", NULL);
  const float *m = need(f, "mean", NULL), *v = need(f, "var", NULL), *bias = opt(f, "bias");
  int64_t cout = ws[0], per_out = ws[1] * ws[2] * ws[3];
  if (!w || !g || !b || !m || !v || cout != fixture_param_int(f, "cout", -1) ||
      per_out != fixture_param_int(f, "per_out", -1))
    return false;
  const int64_t bs[4] = {1, 1, 1, cout};
  float *fw = alloc_out(ws), *fb = alloc_out(bs);
  bool ok = false;
  if (fw && fb) {
    memcpy(fw, w, ref_count(ws) * sizeof(float));
    if (bias)
      memcpy(fb, bias, (size_t)cout * sizeof(float)); /* else zeros, as the API asks */
    ref_batchnorm_fold(fw, fb, cout, per_out, g, b, m, v, fixture_param_float(f, "eps", 0.0f));
    ok = expect(f, "weight_folded", fw, ws, ctx);
    ok = expect(f, "bias_folded", fb, bs, ctx) && ok;
  }
  free(fw);
  free(fb);
  return ok;
}

static bool run_binary(const fixture *f, const char *ctx) {
  static const char *const ops[] = {"add", "sub", "mul", "div"};
  int64_t as[4], bs[4], ys[4];
  clseg_activation act;
  int op = lookup(f, "binary_op", ops, 4);
  const float *a = need(f, "a", as), *b = need(f, "b", bs);
  if (!a || !b || op < 0 || !read_act(f, &act))
    return false;
  for (int d = 0; d < 4; d++)
    ys[d] = as[d] > bs[d] ? as[d] : bs[d];
  float *y = alloc_out(ys);
  bool ok = y && ref_binary((clseg_binary_op)op, a, as, b, bs, &act, y, ys) == 0 &&
            expect(f, "y", y, ys, ctx);
  free(y);
  return ok;
}

static bool run_concat(const fixture *f, const char *ctx) {
  enum { MAX_INPUTS = 16 };
  const float *xs[MAX_INPUTS];
  int64_t shapes[MAX_INPUTS][4], ys[4] = {0, 0, 0, 0};
  int count = fixture_param_int(f, "count", 0);
  if (count < 1 || count > MAX_INPUTS)
    return false;
  for (int i = 0; i < count; i++) {
    char name[16];
    snprintf(name, sizeof(name), "x%d", i);
    if (!(xs[i] = need(f, name, shapes[i])))
      return false;
    ys[1] += shapes[i][1];
  }
  ys[0] = shapes[0][0], ys[2] = shapes[0][2], ys[3] = shapes[0][3];
  float *y = alloc_out(ys);
  bool ok = y && ref_concat(xs, (const int64_t(*)[4])shapes, count, y, ys) == 0 &&
            expect(f, "y", y, ys, ctx);
  free(y);
  return ok;
}

static bool run_slice_channels(const fixture *f, const char *ctx) {
  int64_t xs[4], ys[4];
  int c0 = fixture_param_int(f, "c_start", -1);
  const float *x = need(f, "x", xs);
  /* The slice length comes from y's C, as in the API. */
  if (!x || !need(f, "y", ys) || c0 < 0 || c0 + ys[1] > xs[1])
    return false;
  float *y = alloc_out(ys);
  if (y)
    ref_slice_channels(x, xs, c0, y, ys);
  bool ok = expect(f, "y", y, ys, ctx);
  free(y);
  return ok;
}

static bool run_pad(const fixture *f, const char *ctx) {
  static const char *const modes[] = {"constant", "reflect"};
  int64_t xs[4], ys[4];
  int mode = lookup(f, "mode", modes, 2);
  clseg_pad_params p = {.mode = (clseg_pad_mode)mode,
                        .top = fixture_param_int(f, "top", 0),
                        .left = fixture_param_int(f, "left", 0),
                        .bottom = fixture_param_int(f, "bottom", 0),
                        .right = fixture_param_int(f, "right", 0),
                        .value = fixture_param_float(f, "value", 0.0f)};
  const float *x = need(f, "x", xs);
  if (!x || mode < 0 || ref_pad_shape(xs, &p, ys) != 0)
    return false;
  float *y = alloc_out(ys);
  if (y)
    ref_pad(x, xs, &p, y, ys);
  bool ok = expect(f, "y", y, ys, ctx);
  free(y);
  return ok;
}

/* reduce_channels, softmax_channels and argmax_channels: x in, one output. */
static bool run_channel_op(const fixture *f, const char *ctx, int which) {
  static const char *const kinds[] = {"mean", "max"};
  int64_t xs[4];
  const float *x = need(f, "x", xs);
  int kind = which == 0 ? lookup(f, "kind", kinds, 2) : 0;
  if (!x || kind < 0)
    return false;
  int64_t ys[4] = {xs[0], which == 1 ? xs[1] : 1, xs[2], xs[3]};
  float *y = alloc_out(ys);
  if (y && which == 0)
    ref_reduce_channels(x, xs, (clseg_reduce_kind)kind, y);
  if (y && which == 1)
    ref_softmax_channels(x, xs, y);
  if (y && which == 2)
    ref_argmax_channels(x, xs, y);
  bool ok = expect(f, "y", y, ys, ctx);
  free(y);
  return ok;
}
static bool run_reduce(const fixture *f, const char *ctx) {
  return run_channel_op(f, ctx, 0);
}
static bool run_softmax(const fixture *f, const char *ctx) {
  return run_channel_op(f, ctx, 1);
}
static bool run_argmax(const fixture *f, const char *ctx) {
  return run_channel_op(f, ctx, 2);
}

static bool run_linear(const fixture *f, const char *ctx) {
  int64_t xs[4];
  clseg_activation act;
  const float *x = need(f, "x", xs), *w = need(f, "w", NULL);
  int64_t m = dim0(f, "w");
  if (!x || !w || !read_act(f, &act))
    return false;
  const int64_t ys[4] = {xs[0], m, 1, 1};
  float *y = alloc_out(ys);
  if (y)
    ref_linear(x, xs, w, m, opt(f, "bias"), &act, y);
  bool ok = expect(f, "y", y, ys, ctx);
  free(y);
  return ok;
}

/* cbam_channel_gate (0), se_gate (1), scse_gate (2): x and an MLP, y shaped like x. */
static bool run_channel_gate(const fixture *f, const char *ctx, int which) {
  int64_t xs[4];
  const float *x = need(f, "x", xs), *w1 = need(f, "w1", NULL), *w2 = need(f, "w2", NULL);
  const float *b1 = opt(f, "b1"), *b2 = opt(f, "b2"), *ws = which == 2 ? need(f, "ws", NULL) : NULL;
  int64_t r = dim0(f, "w1");
  if (!x || !w1 || !w2 || (which == 2 && !ws))
    return false;
  float *y = alloc_out(xs);
  int rc = -1;
  if (y && which == 0)
    rc = ref_cbam_channel_gate(x, xs, w1, b1, w2, b2, r, y);
  if (y && which == 1)
    rc = ref_se_gate(x, xs, w1, b1, w2, b2, r, y);
  if (y && which == 2)
    rc = ref_scse_gate(x, xs, w1, b1, w2, b2, r, ws, opt(f, "bs"), y);
  bool ok = rc == 0 && expect(f, "y", y, xs, ctx);
  free(y);
  return ok;
}
static bool run_cbam_channel(const fixture *f, const char *ctx) {
  return run_channel_gate(f, ctx, 0);
}
static bool run_se(const fixture *f, const char *ctx) {
  return run_channel_gate(f, ctx, 1);
}
static bool run_scse(const fixture *f, const char *ctx) {
  return run_channel_gate(f, ctx, 2);
}

static bool run_cbam_spatial(const fixture *f, const char *ctx) {
  int64_t xs[4], ws[4];
  const float *x = need(f, "x", xs), *w = need(f, "w", ws);
  if (!x || !w || ws[0] != 1 || ws[1] != 2 || ws[2] != ws[3])
    return false;
  ref_bn bn = read_bn(f, "bn_eps");
  float *y = alloc_out(xs);
  bool ok = y && ref_cbam_spatial_gate(x, xs, w, ws[2], opt(f, "bias"), &bn, y) == 0 &&
            expect(f, "y", y, xs, ctx);
  free(y);
  return ok;
}

static bool run_attention_gate(const fixture *f, const char *ctx) {
  int64_t xs[4], gs[4];
  const float *x = need(f, "x", xs), *g = need(f, "g", gs);
  ref_attention_gate_weights wt = {.ci = dim0(f, "w_theta"),
                                   .theta_stride = fixture_param_int(f, "theta_stride", 0),
                                   .w_theta = need(f, "w_theta", NULL),
                                   .b_theta = opt(f, "b_theta"),
                                   .w_phi = need(f, "w_phi", NULL),
                                   .b_phi = opt(f, "b_phi"),
                                   .w_psi = need(f, "w_psi", NULL),
                                   .b_psi = opt(f, "b_psi"),
                                   .w_out = opt(f, "w_out"),
                                   .b_out = opt(f, "b_out"),
                                   .bn = read_bn(f, "bn_eps")};
  if (!x || !g || !wt.w_theta || !wt.w_phi || !wt.w_psi)
    return false;
  const int64_t as[4] = {xs[0], 1, xs[2], xs[3]};
  float *y = alloc_out(xs), *alpha = alloc_out(as);
  bool ok = y && alpha && ref_attention_gate(x, xs, g, gs, &wt, alpha, y) == 0;
  ok = ok && expect(f, "alpha", alpha, as, ctx);
  ok = ok && expect(f, "y", y, xs, ctx);
  free(y);
  free(alpha);
  return ok;
}

static const struct {
  const char *op;
  runner_fn run;
} RUNNERS[] = {
    {"activation", run_activation},
    {"conv2d", run_conv2d},
    {"conv_transpose2d", run_conv_transpose2d},
    {"pool2d", run_pool2d},
    {"global_pool", run_global_pool},
    {"resize", run_resize},
    {"batchnorm", run_batchnorm},
    {"batchnorm_fold", run_batchnorm_fold},
    {"binary", run_binary},
    {"concat", run_concat},
    {"slice_channels", run_slice_channels},
    {"pad", run_pad},
    {"reduce_channels", run_reduce},
    {"softmax_channels", run_softmax},
    {"argmax_channels", run_argmax},
    {"linear", run_linear},
    {"cbam_channel_gate", run_cbam_channel},
    {"cbam_spatial_gate", run_cbam_spatial},
    {"se_gate", run_se},
    {"scse_gate", run_scse},
    {"attention_gate", run_attention_gate},
};
#define N_RUNNERS (sizeof(RUNNERS) / sizeof(RUNNERS[0]))

/* ---- the fixture list and the cmocka tests ---- */
static char *g_names[MAX_FIXTURES];
static size_t g_count;
static unsigned g_ops_seen[N_RUNNERS];

static void fixture_path(char *buf, size_t len, const char *file) {
  snprintf(buf, len, "%s/%s", CLSEG_FIXTURE_DIR, file);
}

static void test_fixture(void **state) {
  const char *file = *state;
  char path[MAX_PATH_LEN], err[512], ctx[2048];
  fixture_path(path, sizeof(path), file);
  fixture *f = fixture_load(path, err, sizeof(err));
  if (!f)
    fail_msg("%s", err);
  const char *op = fixture_param(f, "op");
  bool ok = false, found = false;
  snprintf(ctx, sizeof(ctx), "%s: %s", file, fixture_params_text(f));
  for (size_t i = 0; op && i < N_RUNNERS; i++)
    if (strcmp(op, RUNNERS[i].op) == 0) {
      found = true;
      g_ops_seen[i]++;
      ok = RUNNERS[i].run(f, ctx);
    }
  fixture_free(f);
  if (!found)
    fail_msg("%s: no reference for op '%s'", file, op ? op : "(none)");
  if (!ok)
    fail_msg("%s: reference disagrees with PyTorch (details above)", ctx);
}

/* Runs after every fixture test: each op must have been proven by at least one fixture. */
static void test_every_op_has_fixtures(void **state) {
  (void)state;
  bool ok = true;
  for (size_t i = 0; i < N_RUNNERS; i++)
    if (g_ops_seen[i] == 0) {
      fprintf(stderr, "no fixture exercised op '%s'\n", RUNNERS[i].op);
      ok = false;
    }
  assert_true(ok);
}

/* A corrupt file must fail cleanly at every truncation point, never read out of bounds. */
static void test_loader_rejects_truncation(void **state) {
  (void)state;
  char path[MAX_PATH_LEN], err[512];
  const char *tmp = "test_ref_truncated.clsf"; /* in the working directory: the build tree */
  fixture_path(path, sizeof(path), g_names[0]);
  FILE *in = fopen(path, "rb");
  assert_non_null(in);
  unsigned char buf[1 << 16];
  size_t len = fread(buf, 1, sizeof(buf), in);
  fclose(in);
  assert_true(len > 0 && len < sizeof(buf));
  for (size_t cut = 0; cut < len; cut++) {
    FILE *out = fopen(tmp, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(buf, 1, cut, out), cut);
    fclose(out);
    fixture *f = fixture_load(tmp, err, sizeof(err));
    if (f)
      fixture_free(f);
    assert_null(f);
  }
  remove(tmp);
  assert_null(fixture_load(CLSEG_FIXTURE_DIR "/no_such_file.clsf", err, sizeof(err)));
}

/* Reads index.txt: one file name per line, '#' comments. */
static bool read_index(void) {
  char path[MAX_PATH_LEN], line[256];
  fixture_path(path, sizeof(path), "index.txt");
  FILE *fp = fopen(path, "r");
  if (!fp) {
    fprintf(stderr, "cannot open %s\n", path);
    return false;
  }
  while (fgets(line, sizeof(line), fp) && g_count < MAX_FIXTURES) {
    line[strcspn(line, "\r\n")] = '\0';
    if (!line[0] || line[0] == '#')
      continue;
    if (!(g_names[g_count] = malloc(strlen(line) + 1)))
      break;
    strcpy(g_names[g_count++], line);
  }
  fclose(fp);
  return g_count > 0;
}

int main(void) {
  int rc = 1;
  struct CMUnitTest *tests = NULL;
  if (!read_index())
    goto done;
  tests = calloc(g_count + 2, sizeof(*tests));
  if (!tests)
    goto done;
  for (size_t i = 0; i < g_count; i++) {
    tests[i].name = g_names[i];
    tests[i].test_func = test_fixture;
    tests[i].initial_state = g_names[i];
  }
  tests[g_count].name = "every_op_has_fixtures";
  tests[g_count].test_func = test_every_op_has_fixtures;
  tests[g_count + 1].name = "loader_rejects_truncation";
  tests[g_count + 1].test_func = test_loader_rejects_truncation;
  rc = _cmocka_run_group_tests("test_ref", tests, g_count + 2, NULL, NULL);
done:
  free(tests);
  for (size_t i = 0; i < g_count; i++)
    free(g_names[i]);
  return rc;
}

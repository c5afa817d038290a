/* Tests of the fused attention blocks (lib/ops/attention.c, cl/attention.cl): seeded sweeps on odd
 * shapes against the block references and against compositions of the primitive references, the
 * PyTorch fixtures, and the error paths. Half the sweep cases place every tensor at an odd offset
 * in its buffer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "common/check.h"
#include "common/fixture.h"
#include "internal.h" /* for tensor views with an offset, which the public API cannot make */
#include "ref/ref.h"

#define SEED    0xa77e2710u
#define MAX_OBJ 48

static const int64_t odd_sizes[] = {1, 3, 7, 9, 15, 17, 33};
static const clseg_activation relu = {CLSEG_ACT_RELU, 0.0f, 0.0f},
                              sigm = {CLSEG_ACT_SIGMOID, 0.0f, 0.0f};

/* Per-case state: the context, the device tensors and host arrays to free, the data generator. */
typedef struct {
  clseg_context *ctx;
  clseg_tensor *t[MAX_OBJ];
  float *h[MAX_OBJ];
  int nt, nh, views;
  check_rng rng;
} env;

static void env_reset(env *e) {
  for (int i = 0; i < e->nt; i++)
    clseg_tensor_free(e->t[i]);
  for (int i = 0; i < e->nh; i++)
    free(e->h[i]);
  e->nt = e->nh = 0;
}

static float *hnew(env *e, size_t n) {
  assert_true(e->nh < MAX_OBJ);
  float *p = calloc(n ? n : 1, sizeof *p);
  assert_non_null(p);
  return e->h[e->nh++] = p;
}

static float *hrand(env *e, size_t n, float lo, float hi) {
  float *p = hnew(e, n);
  for (size_t i = 0; i < n; i++)
    p[i] = check_rng_uniform(&e->rng, lo, hi);
  return p;
}

/* A device tensor filled with NaN (so unwritten outputs fail), a view at an offset of 1..7 when
 * e->views. */
static clseg_tensor *dnew(env *e, const int64_t s[4]) {
  assert_true(e->nt + 2 <= MAX_OBJ);
  const size_t count = ref_count(s), off = e->views ? 1 + check_rng_next(&e->rng) % 7 : 0;
  const int64_t bs[4] = {1, 1, 1, (int64_t)(count + off)};
  clseg_tensor *base = NULL;
  assert_int_equal(clseg_tensor_create(e->ctx, bs, &base), CLSEG_OK);
  e->t[e->nt++] = base;
  float *nan = hnew(e, count + off);
  for (size_t i = 0; i < count + off; i++)
    nan[i] = NAN;
  assert_int_equal(clseg_tensor_upload(base, nan, count + off), CLSEG_OK);
  clseg_tensor *v = calloc(1, sizeof *v);
  assert_non_null(v);
  *v = *base;
  v->owns_buf = 0;
  v->offset = off;
  v->count = count;
  memcpy(v->shape, s, 4 * sizeof(int64_t));
  return e->t[e->nt++] = v;
}

/* data on the device with shape s; NULL data gives NULL (an absent optional tensor). */
static clseg_tensor *dup4(env *e, const float *data, int64_t n, int64_t c, int64_t h, int64_t w) {
  if (!data)
    return NULL;
  const int64_t s[4] = {n, c, h, w};
  clseg_tensor *t = dnew(e, s);
  assert_int_equal(clseg_tensor_upload(t, data, ref_count(s)), CLSEG_OK);
  return t;
}

static float *down(env *e, const clseg_tensor *t) {
  float *p = hnew(e, clseg_tensor_count(t));
  assert_int_equal(clseg_tensor_download(t, p, clseg_tensor_count(t)), CLSEG_OK);
  return p;
}

/* Checks got against the block reference and the primitive composition; returns the worst error. */
static double check_both(const char *what, const float *got, const float *ref, const float *comp,
                         const int64_t s[4], const char *ctx) {
  char w[96];
  snprintf(w, sizeof w, "%s vs block reference", what);
  assert_true(check_close(w, got, ref, ref_count(s), s, NULL, ctx));
  snprintf(w, sizeof w, "%s vs primitive composition", what);
  assert_true(check_close(w, got, comp, ref_count(s), s, NULL, ctx));
  return fmax(check_max_norm_err(got, ref, ref_count(s)),
              check_max_norm_err(got, comp, ref_count(s)));
}

static int setup(void **state) {
  env *e = calloc(1, sizeof *e);
  if (!e)
    return -1;
  e->ctx = test_context();
  *state = e;
  return e->ctx ? 0 : -1;
}

static int teardown(void **state) {
  env *e = *state;
  env_reset(e);
  clseg_context_free(e->ctx);
  free(e);
  return 0;
}

/* ---- channel gates: CBAM (0), SE (1), scSE (2) ---- */

static const char *const cg_names[] = {"cbam_channel_gate", "se_gate", "scse_gate"};

typedef struct {
  int which, bias;
  int64_t n, c, h, w, r;
} cg_case;

/* mlp(v) = linear(relu(linear(v, w1, b1)), w2, b2) over pooled [N, C, 1, 1]. */
static float *comp_mlp(env *e, const float *v, const cg_case *k, const float *w1, const float *b1,
                       const float *w2, const float *b2) {
  const int64_t ps[4] = {k->n, k->c, 1, 1}, hs[4] = {k->n, k->r, 1, 1};
  float *hid = hnew(e, (size_t)(k->n * k->r)), *out = hnew(e, (size_t)(k->n * k->c));
  ref_linear(v, ps, w1, k->r, b1, &relu, hid);
  ref_linear(hid, hs, w2, k->c, b2, NULL, out);
  return out;
}

static void comp_channel(env *e, const cg_case *k, const float *x, const float *const wt[6],
                         float *y) {
  const int64_t xs[4] = {k->n, k->c, k->h, k->w}, ps[4] = {k->n, k->c, 1, 1},
                qs[4] = {k->n, 1, k->h, k->w};
  float *avg = hnew(e, (size_t)(k->n * k->c)), *mx = hnew(e, (size_t)(k->n * k->c));
  float *s = hnew(e, (size_t)(k->n * k->c)), *cse = hnew(e, ref_count(xs));
  ref_global_pool(x, xs, CLSEG_POOL_AVG, avg);
  float *oa = comp_mlp(e, avg, k, wt[0], wt[1], wt[2], wt[3]);
  if (k->which == 0) {
    ref_global_pool(x, xs, CLSEG_POOL_MAX, mx);
    float *om = comp_mlp(e, mx, k, wt[0], wt[1], wt[2], wt[3]);
    assert_int_equal(ref_binary(CLSEG_BINARY_ADD, oa, ps, om, ps, &sigm, s, ps), 0);
  } else {
    ref_activation(oa, ps, &sigm, s);
  }
  assert_int_equal(ref_binary(CLSEG_BINARY_MUL, x, xs, s, ps, NULL, k->which == 2 ? cse : y, xs),
                   0);
  if (k->which != 2)
    return;
  const int64_t wss[4] = {1, k->c, 1, 1};
  const clseg_conv2d_params cp = {.act = sigm};
  float *q = hnew(e, ref_count(qs)), *sse = hnew(e, ref_count(xs));
  ref_conv2d(x, xs, wt[4], wss, wt[5], NULL, &cp, q, qs);
  assert_int_equal(ref_binary(CLSEG_BINARY_MUL, x, xs, q, qs, NULL, sse, xs), 0);
  assert_int_equal(ref_binary(CLSEG_BINARY_ADD, cse, xs, sse, xs, NULL, y, xs), 0);
}

static double run_cg(env *e, const cg_case *k, uint64_t seed) {
  e->rng.state = seed;
  const int64_t xs[4] = {k->n, k->c, k->h, k->w};
  const size_t c = (size_t)k->c, r = (size_t)k->r;
  float *x = hrand(e, ref_count(xs), -2.0f, 2.0f);
  const float *wt[6] = {hrand(e, r * c, -1, 1), k->bias ? hrand(e, r, -1, 1) : NULL,
                        hrand(e, c * r, -1, 1), k->bias ? hrand(e, c, -1, 1) : NULL,
                        hrand(e, c, -1, 1),     k->bias ? hrand(e, 1, -1, 1) : NULL};
  /* w1 as a 1x1 conv weight [R, C, 1, 1] or as a right-aligned matrix [1, 1, R, C], alternately. */
  const int conv = seed % 2;
  clseg_tensor *tx = dup4(e, x, k->n, k->c, k->h, k->w), *y = dnew(e, xs);
  clseg_tensor *w1 = conv ? dup4(e, wt[0], k->r, k->c, 1, 1) : dup4(e, wt[0], 1, 1, k->r, k->c);
  clseg_tensor *b1 = dup4(e, wt[1], 1, k->r, 1, 1), *b2 = dup4(e, wt[3], 1, 1, 1, k->c);
  clseg_tensor *w2 = conv ? dup4(e, wt[2], k->c, k->r, 1, 1) : dup4(e, wt[2], 1, 1, k->c, k->r);
  clseg_status s = k->which == 0 ? clseg_cbam_channel_gate(e->ctx, tx, w1, b1, w2, b2, y)
                   : k->which == 1
                       ? clseg_se_gate(e->ctx, tx, w1, b1, w2, b2, y)
                       : clseg_scse_gate(e->ctx, tx, w1, b1, w2, b2, dup4(e, wt[4], 1, 1, 1, k->c),
                                         dup4(e, wt[5], 1, 1, 1, 1), y);
  if (s != CLSEG_OK)
    fail_msg("%s: %s", cg_names[k->which], clseg_last_error(e->ctx));
  float *got = down(e, y), *ref = hnew(e, ref_count(xs)), *comp = hnew(e, ref_count(xs));
  int rc = k->which == 0 ? ref_cbam_channel_gate(x, xs, wt[0], wt[1], wt[2], wt[3], k->r, ref)
           : k->which == 1
               ? ref_se_gate(x, xs, wt[0], wt[1], wt[2], wt[3], k->r, ref)
               : ref_scse_gate(x, xs, wt[0], wt[1], wt[2], wt[3], k->r, wt[4], wt[5], ref);
  assert_int_equal(rc, 0);
  comp_channel(e, k, x, wt, comp);
  char ctx[256];
  snprintf(ctx, sizeof ctx,
           "%s x [%lld, %lld, %lld, %lld] R %lld bias %d w1 as %s views %d seed 0x%llx",
           cg_names[k->which], (long long)k->n, (long long)k->c, (long long)k->h, (long long)k->w,
           (long long)k->r, k->bias, conv ? "[R,C,1,1]" : "[1,1,R,C]", e->views,
           (unsigned long long)seed);
  double err = check_both(cg_names[k->which], got, ref, comp, xs, ctx);
  env_reset(e);
  return err;
}

static void sweep_cg(void **state, int which) {
  env *e = *state;
  check_rng pick = {SEED + (uint64_t)which};
  double worst = 0.0;
  int cases = 0;
  /* Beyond the odd sizes: more channels than the MLP work-group (64), R above it, rows split in
   * parts. */
  const cg_case extra[] = {{which, 1, 1, 129, 3, 5, 32},
                           {which, 0, 2, 300, 1, 1, 75},
                           {which, 1, 1, 3, 65, 70, 1},
                           {which, 1, 2, 17, 33, 33, 4}};
  for (int i = 0; i < 44; i++) {
    cg_case k = i < 4 ? extra[i] : (cg_case){which,     (int)(check_rng_next(&pick) % 2),
                                             1 + i % 2, odd_sizes[check_rng_next(&pick) % 7],
                                             0,         0,
                                             1};
    if (i >= 4) {
      k.h = i % 5 == 0 ? 1 : odd_sizes[check_rng_next(&pick) % 7];
      k.w = i % 5 == 0 ? 1 : odd_sizes[check_rng_next(&pick) % 7];
      k.r = i % 3 == 0 || k.c < 4 ? 1 : k.c / 4;
    }
    e->views = i % 2;
    worst = fmax(worst, run_cg(e, &k, SEED ^ ((uint64_t)which << 32) ^ (uint64_t)i));
    cases++;
  }
  print_message("%s: %d cases, worst normalised error %.3g\n", cg_names[which], cases, worst);
}

static void test_cbam_channel_sweep(void **state) {
  sweep_cg(state, 0);
}
static void test_se_sweep(void **state) {
  sweep_cg(state, 1);
}
static void test_scse_sweep(void **state) {
  sweep_cg(state, 2);
}

/* The edges of the GPU forms' reductions (attention_pool_gpu: a work-group of 256 per chunk of a
 * plane, planes cut into chunks of 4096 when there are fewer than 264; per-pixel kernels over
 * work-groups of 256): planes of 1 to 16641 floats, many planes, batch > 1, every channel gate. */
static void test_channel_gate_edges(void **state) {
  env *e = *state;
  static const int64_t sh[][4] = {{1, 1, 1, 1},  {2, 3, 1, 3},    {1, 5, 7, 9},   {2, 4, 8, 8},
                                  {3, 3, 5, 13}, {1, 3, 17, 241}, {2, 300, 3, 5}, {1, 2, 129, 129}};
  double worst = 0.0;
  int cases = 0;
  for (int which = 0; which < 3; which++)
    for (size_t i = 0; i < sizeof sh / sizeof *sh; i++, cases++) {
      const cg_case k = {which,
                         (int)(i % 2),
                         sh[i][0],
                         sh[i][1],
                         sh[i][2],
                         sh[i][3],
                         sh[i][1] >= 8 ? sh[i][1] / 4 : 1};
      e->views = (int)(i % 2);
      worst = fmax(worst, run_cg(e, &k, SEED ^ 0xed9eull ^ (uint64_t)cases));
    }
  print_message("channel gate edges: %d cases, worst normalised error %.3g\n", cases, worst);
}

/* ---- CBAM spatial gate ---- */

typedef struct {
  int64_t n, c, h, w, k;
  int bias, bn;
  float eps;
} sp_case;

static void comp_spatial(env *e, const sp_case *k, const float *x, const float *w, const float *b,
                         const ref_bn *bn, float *y) {
  const int64_t xs[4] = {k->n, k->c, k->h, k->w}, qs[4] = {k->n, 1, k->h, k->w},
                cs[4] = {k->n, 2, k->h, k->w};
  const int64_t ws[4] = {1, 2, k->k, k->k},
                sh[2][4] = {{k->n, 1, k->h, k->w}, {k->n, 1, k->h, k->w}};
  float *mx = hnew(e, ref_count(qs)), *mean = hnew(e, ref_count(qs)), *cat = hnew(e, ref_count(cs));
  float *s = hnew(e, ref_count(qs)), *g = hnew(e, ref_count(qs));
  ref_reduce_channels(x, xs, CLSEG_REDUCE_MAX, mx);
  ref_reduce_channels(x, xs, CLSEG_REDUCE_MEAN, mean);
  const float *parts[2] = {mx, mean};
  assert_int_equal(ref_concat(parts, sh, 2, cat, cs), 0);
  const int pad = (int)(k->k / 2);
  const clseg_conv2d_params cp = {
      .pad_top = pad, .pad_left = pad, .pad_bottom = pad, .pad_right = pad};
  ref_conv2d(cat, cs, w, ws, b, NULL, &cp, s, qs);
  if (bn->gamma)
    ref_batchnorm(s, qs, bn->gamma, bn->beta, bn->mean, bn->var, bn->eps, &sigm, g);
  else
    ref_activation(s, qs, &sigm, g);
  assert_int_equal(ref_binary(CLSEG_BINARY_MUL, x, xs, g, qs, NULL, y, xs), 0);
}

static double run_spatial(env *e, const sp_case *k, uint64_t seed) {
  e->rng.state = seed;
  const int64_t xs[4] = {k->n, k->c, k->h, k->w};
  float *x = hrand(e, ref_count(xs), -2.0f, 2.0f), *w = hrand(e, (size_t)(2 * k->k * k->k), -1, 1);
  float *b = k->bias ? hrand(e, 1, -1, 1) : NULL;
  ref_bn bn = {0};
  if (k->bn)
    bn = (ref_bn){hrand(e, 1, 0.5f, 1.5f), hrand(e, 1, -1, 1), hrand(e, 1, -0.5f, 0.5f),
                  hrand(e, 1, 0.5f, 1.5f), k->eps};
  clseg_cbam_spatial_params p = {.bn_eps = k->eps};
  if (k->bn) {
    p.bn_gamma = dup4(e, bn.gamma, 1, 1, 1, 1);
    p.bn_beta = dup4(e, bn.beta, 1, 1, 1, 1);
    p.bn_mean = dup4(e, bn.mean, 1, 1, 1, 1);
    p.bn_var = dup4(e, bn.var, 1, 1, 1, 1);
  }
  clseg_tensor *y = dnew(e, xs);
  if (clseg_cbam_spatial_gate(e->ctx, dup4(e, x, k->n, k->c, k->h, k->w),
                              dup4(e, w, 1, 2, k->k, k->k), dup4(e, b, 1, 1, 1, 1), &p,
                              y) != CLSEG_OK)
    fail_msg("cbam_spatial_gate: %s", clseg_last_error(e->ctx));
  float *got = down(e, y), *ref = hnew(e, ref_count(xs)), *comp = hnew(e, ref_count(xs));
  assert_int_equal(ref_cbam_spatial_gate(x, xs, w, k->k, b, &bn, ref), 0);
  comp_spatial(e, k, x, w, b, &bn, comp);
  char ctx[256];
  snprintf(ctx, sizeof ctx,
           "cbam_spatial_gate x [%lld, %lld, %lld, %lld] K %lld bias %d bn %d eps %g views %d "
           "seed 0x%llx",
           (long long)k->n, (long long)k->c, (long long)k->h, (long long)k->w, (long long)k->k,
           k->bias, k->bn, (double)k->eps, e->views, (unsigned long long)seed);
  double err = check_both("cbam_spatial_gate", got, ref, comp, xs, ctx);
  env_reset(e);
  return err;
}

static void test_cbam_spatial_sweep(void **state) {
  env *e = *state;
  check_rng pick = {SEED + 7};
  double worst = 0.0;
  const int64_t ks[] = {1, 3, 5, 7};
  const sp_case extra[] = {{1, 3, 40, 70, 7, 1, 1, 0.0f}, {2, 70, 5, 33, 3, 0, 0, 0.0f}};
  for (int i = 0; i < 42; i++) {
    sp_case k = i < 2 ? extra[i]
                      : (sp_case){1 + i % 2,
                                  odd_sizes[check_rng_next(&pick) % 7],
                                  odd_sizes[check_rng_next(&pick) % 7],
                                  odd_sizes[check_rng_next(&pick) % 7],
                                  ks[i % 4],
                                  i % 3 == 0,
                                  (i / 2) % 2,
                                  i % 5 == 0 ? 1e-3f : 0.0f};
    if (i >= 2 && i % 7 == 0)
      k.h = k.w = 1;
    e->views = i % 2;
    worst = fmax(worst, run_spatial(e, &k, SEED ^ 0x5ba7ull ^ (uint64_t)i));
  }
  print_message("cbam_spatial_gate: 42 cases, worst normalised error %.3g\n", worst);
}

/* Pixel counts around the GPU forms' work-groups of 256 (one pixel per work-item), batch > 1 and
 * many channels. */
static void test_cbam_spatial_edges(void **state) {
  env *e = *state;
  static const int64_t sh[][4] = {{2, 3, 1, 63},   {1, 2, 8, 8},   {3, 5, 5, 13},
                                  {1, 3, 17, 241}, {2, 300, 3, 5}, {1, 1, 1, 1}};
  double worst = 0.0;
  for (size_t i = 0; i < sizeof sh / sizeof *sh; i++) {
    const sp_case k = {sh[i][0],      sh[i][1],     sh[i][2],         sh[i][3],
                       i % 2 ? 3 : 7, (int)(i % 2), (int)(i / 2 % 2), 0.0f};
    e->views = (int)(i % 2);
    worst = fmax(worst, run_spatial(e, &k, SEED ^ 0x5ed9eull ^ (uint64_t)i));
  }
  print_message("cbam_spatial_gate edges: 6 cases, worst normalised error %.3g\n", worst);
}

/* ---- additive attention gate ---- */

typedef struct {
  int64_t n, cx, h, w, cg, hg, wg, ci;
  int s, tb, pb, sb, out, ob, bn, alpha;
} ag_case;

static void comp_gate(env *e, const ag_case *k, const float *x, const float *g,
                      const ref_attention_gate_weights *wt, float *alpha, float *y) {
  const int64_t xs[4] = {k->n, k->cx, k->h, k->w}, gs[4] = {k->n, k->cg, k->hg, k->wg};
  const int64_t ts[4] = {k->n, k->ci, k->h / k->s, k->w / k->s},
                ps[4] = {k->n, k->ci, k->hg, k->wg};
  const int64_t as[4] = {k->n, 1, ts[2], ts[3]}, als[4] = {k->n, 1, k->h, k->w};
  const int64_t wts[4] = {k->ci, k->cx, k->s, k->s}, wps[4] = {k->ci, k->cg, 1, 1},
                wss[4] = {1, k->ci, 1, 1};
  float *theta = hnew(e, ref_count(ts)), *phi = hnew(e, ref_count(ps)),
        *phir = hnew(e, ref_count(ts));
  float *sum = hnew(e, ref_count(ts)), *a = hnew(e, ref_count(as)), *gated = hnew(e, ref_count(xs));
  const clseg_conv2d_params tp = {.stride_h = k->s, .stride_w = k->s}, one = {0},
                            sp = {.act = sigm};
  const clseg_resize_params rp = {.mode = CLSEG_RESIZE_BILINEAR};
  ref_conv2d(x, xs, wt->w_theta, wts, wt->b_theta, NULL, &tp, theta, ts);
  ref_conv2d(g, gs, wt->w_phi, wps, wt->b_phi, NULL, &one, phi, ps);
  ref_resize(phi, ps, &rp, phir, ts);
  assert_int_equal(ref_binary(CLSEG_BINARY_ADD, theta, ts, phir, ts, &relu, sum, ts), 0);
  ref_conv2d(sum, ts, wt->w_psi, wss, wt->b_psi, NULL, &sp, a, as);
  ref_resize(a, as, &rp, alpha, als);
  assert_int_equal(ref_binary(CLSEG_BINARY_MUL, x, xs, alpha, als, NULL, gated, xs), 0);
  float *conv = gated;
  if (wt->w_out) {
    const int64_t wos[4] = {k->cx, k->cx, 1, 1};
    conv = hnew(e, ref_count(xs));
    ref_conv2d(gated, xs, wt->w_out, wos, wt->b_out, NULL, &one, conv, xs);
  }
  if (wt->bn.gamma)
    ref_batchnorm(conv, xs, wt->bn.gamma, wt->bn.beta, wt->bn.mean, wt->bn.var, wt->bn.eps, NULL,
                  y);
  else
    memcpy(y, conv, ref_count(xs) * sizeof *y);
}

static double run_gate(env *e, const ag_case *k, uint64_t seed) {
  e->rng.state = seed;
  const int64_t xs[4] = {k->n, k->cx, k->h, k->w}, als[4] = {k->n, 1, k->h, k->w};
  const size_t ci = (size_t)k->ci, cx = (size_t)k->cx;
  float *x = hrand(e, ref_count(xs), -2, 2),
        *g = hrand(e, (size_t)(k->n * k->cg * k->hg * k->wg), -2, 2);
  ref_attention_gate_weights wt = {.ci = k->ci,
                                   .theta_stride = k->s,
                                   .w_theta = hrand(e, ci * cx * (size_t)(k->s * k->s), -1, 1),
                                   .b_theta = k->tb ? hrand(e, ci, -1, 1) : NULL,
                                   .w_phi = hrand(e, ci * (size_t)k->cg, -1, 1),
                                   .b_phi = k->pb ? hrand(e, ci, -1, 1) : NULL,
                                   .w_psi = hrand(e, ci, -1, 1),
                                   .b_psi = k->sb ? hrand(e, 1, -1, 1) : NULL,
                                   .w_out = k->out ? hrand(e, cx * cx, -1, 1) : NULL,
                                   .b_out = k->ob ? hrand(e, cx, -1, 1) : NULL};
  if (k->bn)
    wt.bn = (ref_bn){hrand(e, cx, 0.5f, 1.5f), hrand(e, cx, -1, 1), hrand(e, cx, -0.5f, 0.5f),
                     hrand(e, cx, 0.5f, 1.5f), 0.0f};
  clseg_attention_gate_params p = {.theta_stride = k->s,
                                   .w_out = dup4(e, wt.w_out, k->cx, k->cx, 1, 1),
                                   .b_out = dup4(e, wt.b_out, 1, k->cx, 1, 1)};
  p.bn_gamma = dup4(e, wt.bn.gamma, 1, k->cx, 1, 1);
  p.bn_beta = dup4(e, wt.bn.beta, 1, k->cx, 1, 1);
  p.bn_mean = dup4(e, wt.bn.mean, 1, k->cx, 1, 1);
  p.bn_var = dup4(e, wt.bn.var, 1, k->cx, 1, 1);
  clseg_tensor *y = dnew(e, xs), *alpha = k->alpha ? dnew(e, als) : NULL;
  clseg_status s = clseg_attention_gate(
      e->ctx, dup4(e, x, k->n, k->cx, k->h, k->w), dup4(e, g, k->n, k->cg, k->hg, k->wg),
      dup4(e, wt.w_theta, k->ci, k->cx, k->s, k->s), dup4(e, wt.b_theta, 1, 1, 1, k->ci),
      dup4(e, wt.w_phi, k->ci, k->cg, 1, 1), dup4(e, wt.b_phi, 1, 1, 1, k->ci),
      dup4(e, wt.w_psi, 1, k->ci, 1, 1), dup4(e, wt.b_psi, 1, 1, 1, 1), &p, alpha, y);
  if (s != CLSEG_OK)
    fail_msg("attention_gate: %s", clseg_last_error(e->ctx));
  float *got = down(e, y), *ref = hnew(e, ref_count(xs)), *comp = hnew(e, ref_count(xs));
  float *ref_al = hnew(e, ref_count(als)), *comp_al = hnew(e, ref_count(als));
  assert_int_equal(
      ref_attention_gate(x, xs, g, (const int64_t[4]){k->n, k->cg, k->hg, k->wg}, &wt, ref_al, ref),
      0);
  comp_gate(e, k, x, g, &wt, comp_al, comp);
  char ctx[320];
  snprintf(ctx, sizeof ctx,
           "attention_gate x [%lld, %lld, %lld, %lld] g [%lld, %lld, %lld, %lld] ci %lld stride "
           "%d biases theta %d phi %d psi %d out conv %d bias %d bn %d views %d seed 0x%llx",
           (long long)k->n, (long long)k->cx, (long long)k->h, (long long)k->w, (long long)k->n,
           (long long)k->cg, (long long)k->hg, (long long)k->wg, (long long)k->ci, k->s, k->tb,
           k->pb, k->sb, k->out, k->ob, k->bn, e->views, (unsigned long long)seed);
  double err = check_both("attention_gate y", got, ref, comp, xs, ctx);
  if (alpha)
    err = fmax(err, check_both("attention_gate alpha", down(e, alpha), ref_al, comp_al, als, ctx));
  env_reset(e);
  return err;
}

static void test_attention_gate_sweep(void **state) {
  env *e = *state;
  check_rng pick = {SEED + 11};
  double worst = 0.0;
  const ag_case extra[] = {{1, 70, 40, 37, 5, 20, 18, 9, 2, 1, 1, 1, 1, 1, 1, 1},
                           {2, 3, 33, 33, 4, 11, 13, 5, 2, 0, 1, 1, 0, 0, 0, 1},
                           {1, 4, 17, 40, 3, 17, 40, 2, 1, 1, 1, 1, 1, 0, 1, 1}};
  for (int i = 0; i < 43; i++) {
    ag_case k = i < 3 ? extra[i] : (ag_case){0};
    if (i >= 3) {
      k.n = 1 + i % 2;
      k.s = 1 + (i / 2) % 2;
      /* stride 2 needs at least 2 pixels: odd sizes from 3, so theta is floor(H / 2) */
      k.h = odd_sizes[(k.s == 2 ? 1 : 0) + check_rng_next(&pick) % (k.s == 2 ? 6 : 7)];
      k.w = odd_sizes[(k.s == 2 ? 1 : 0) + check_rng_next(&pick) % (k.s == 2 ? 6 : 7)];
      k.cx = odd_sizes[check_rng_next(&pick) % 5];
      k.cg = odd_sizes[check_rng_next(&pick) % 5];
      k.ci = odd_sizes[check_rng_next(&pick) % 4];
      /* g at another size than theta, except every fourth case (the resize-free path) */
      k.hg = i % 4 == 0 ? k.h / k.s : odd_sizes[check_rng_next(&pick) % 7];
      k.wg = i % 4 == 0 ? k.w / k.s : odd_sizes[check_rng_next(&pick) % 7];
      k.tb = i % 3 == 0, k.pb = i % 2, k.sb = i % 5 != 0, k.out = i % 3 != 1, k.ob = k.out && i % 2;
      k.bn = i % 4 >= 2, k.alpha = i % 5 != 2;
    }
    e->views = i % 2;
    worst = fmax(worst, run_gate(e, &k, SEED ^ 0xa9ull ^ (uint64_t)i));
  }
  print_message("attention_gate: 43 cases, worst normalised error %.3g\n", worst);
}

/* ---- the GPU forms on this device ---- */

static void expect_error(clseg_context *ctx, clseg_status got, clseg_status want,
                         const char *needle);

/* The GPU forms on this device too, chosen by a user tuning row (GPU=1 with work-groups of 64 and
 * chunks of 64 floats, so that planes split into several work-groups), on a few cases of every
 * block; and GPU=0.5 is CLSEG_FORMAT naming the file. */
static void test_gpu_forms_by_user_rows(void **state) {
  env *e = *state;
  char path[1200];
  clseg_context *const saved = e->ctx;
  e->ctx = test_user_rows_begin("# test_attention\nattention\t*\tGPU=1\tLOCAL=64\tMLP_WG=128\n"
                                "attention_pool\t*\tPOOL_MIN_ITEMS=32\tPOOL_MIN_CHUNK=64\n",
                                path, sizeof path);
  double worst = 0.0;
  const cg_case cg[] = {{0, 1, 1, 3, 17, 241, 1}, {1, 0, 2, 70, 3, 5, 17}, {2, 1, 3, 5, 8, 8, 1}};
  const sp_case sp[] = {{2, 3, 1, 63, 7, 1, 1, 0.0f}, {1, 70, 9, 15, 3, 0, 0, 0.0f}};
  const ag_case ag[] = {{1, 70, 40, 37, 5, 20, 18, 9, 2, 1, 1, 1, 1, 1, 1, 1},
                        {2, 3, 33, 33, 4, 11, 13, 5, 2, 0, 1, 1, 0, 0, 0, 1},
                        {1, 4, 17, 40, 3, 17, 40, 2, 1, 1, 1, 1, 1, 0, 1, 1}};
  for (int i = 0; i < 3; i++) {
    e->views = i % 2;
    worst = fmax(worst, run_cg(e, &cg[i], SEED ^ 0x9a1ull ^ (uint64_t)i));
    worst = fmax(worst, run_gate(e, &ag[i], SEED ^ 0x9a3ull ^ (uint64_t)i));
    if (i < 2)
      worst = fmax(worst, run_spatial(e, &sp[i], SEED ^ 0x9a2ull ^ (uint64_t)i));
  }
  test_user_rows_end(e->ctx);
  e->ctx = test_user_rows_begin("# test_attention\nattention\t*\tGPU=0.5\n", path, sizeof path);
  e->views = 0;
  const int64_t xs[4] = {1, 2, 3, 3}, ws[4] = {1, 2, 3, 3};
  clseg_tensor *x = dnew(e, xs), *w = dnew(e, ws), *y = dnew(e, xs);
  expect_error(e->ctx, clseg_cbam_spatial_gate(e->ctx, x, w, NULL, NULL, y), CLSEG_FORMAT,
               "tuning: GPU=0.5 of attention");
  assert_true(test_contains(clseg_last_error(e->ctx), path));
  env_reset(e);
  test_user_rows_end(e->ctx);
  e->ctx = saved;
  print_message("attention GPU forms by user rows: 8 cases, worst normalised error %.3g\n", worst);
}

/* ---- PyTorch fixtures ---- */

/* The fixture's array on the device with its dims right-aligned into NCHW; NULL when absent. */
static clseg_tensor *fx(env *e, const fixture *f, const char *name) {
  const fixture_array *a = fixture_get(f, name);
  int64_t s[4];
  if (!a)
    return NULL;
  assert_true(fixture_shape4(a, s));
  return dup4(e, a->data, s[0], s[1], s[2], s[3]);
}

static void expect_fixture(env *e, const fixture *f, const char *name, const clseg_tensor *t,
                           const char *ctx) {
  const fixture_array *a = fixture_get(f, name);
  assert_non_null(a);
  assert_int_equal(a->count, clseg_tensor_count(t));
  assert_true(check_close(name, down(e, t), a->data, a->count, t->shape, NULL, ctx));
}

static clseg_status run_fixture_op(env *e, const fixture *f, const char *op, clseg_tensor *x,
                                   clseg_tensor *y, clseg_tensor **alpha) {
  if (!strcmp(op, "cbam_channel_gate") || !strcmp(op, "se_gate") || !strcmp(op, "scse_gate")) {
    clseg_tensor *w1 = fx(e, f, "w1"), *b1 = fx(e, f, "b1"), *w2 = fx(e, f, "w2"),
                 *b2 = fx(e, f, "b2");
    if (op[0] == 'c')
      return clseg_cbam_channel_gate(e->ctx, x, w1, b1, w2, b2, y);
    if (op[1] == 'e')
      return clseg_se_gate(e->ctx, x, w1, b1, w2, b2, y);
    return clseg_scse_gate(e->ctx, x, w1, b1, w2, b2, fx(e, f, "ws"), fx(e, f, "bs"), y);
  }
  if (!strcmp(op, "cbam_spatial_gate")) {
    const clseg_cbam_spatial_params p = {fx(e, f, "bn_gamma"), fx(e, f, "bn_beta"),
                                         fx(e, f, "bn_mean"), fx(e, f, "bn_var"),
                                         fixture_param_float(f, "bn_eps", 0.0f)};
    return clseg_cbam_spatial_gate(e->ctx, x, fx(e, f, "w"), fx(e, f, "bias"), &p, y);
  }
  assert_string_equal(op, "attention_gate");
  const clseg_attention_gate_params p = {fixture_param_int(f, "theta_stride", 1),
                                         fx(e, f, "w_out"),
                                         fx(e, f, "b_out"),
                                         fx(e, f, "bn_gamma"),
                                         fx(e, f, "bn_beta"),
                                         fx(e, f, "bn_mean"),
                                         fx(e, f, "bn_var"),
                                         fixture_param_float(f, "bn_eps", 0.0f)};
  const int64_t as[4] = {x->shape[0], 1, x->shape[2], x->shape[3]};
  *alpha = dnew(e, as);
  return clseg_attention_gate(e->ctx, x, fx(e, f, "g"), fx(e, f, "w_theta"), fx(e, f, "b_theta"),
                              fx(e, f, "w_phi"), fx(e, f, "b_phi"), fx(e, f, "w_psi"),
                              fx(e, f, "b_psi"), &p, *alpha, y);
}

static void test_fixtures(void **state) {
  env *e = *state;
  /* clang-format off */
  static const char *const names[] = {
      "cbam_channel_bias", "cbam_channel_nobias", "cbam_channel_spatial_1x1", "cbam_spatial_k3_bias",
      "cbam_spatial_k5_bias_bn", "cbam_spatial_k7_bn", "cbam_spatial_k7_plain", "se_batch2", "scse_batch2",
      "attention_gate_s1", "attention_gate_s2", "attention_gate_s2_odd_out_bn",
      "attention_gate_s1_theta_bias_out_bn", "attention_gate_s2_out_nobn"};
  /* clang-format on */
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char path[1024], err[256], ctx[512];
    snprintf(path, sizeof path, "%s/%s.clsf", CLSEG_FIXTURE_DIR, names[i]);
    fixture *f = fixture_load(path, err, sizeof err);
    if (!f)
      fail_msg("%s: %s", path, err);
    snprintf(ctx, sizeof ctx, "fixture %s: %s", names[i], fixture_params_text(f));
    e->views = (int)(i % 2);
    clseg_tensor *x = fx(e, f, "x"), *y = dnew(e, x->shape), *alpha = NULL;
    if (run_fixture_op(e, f, fixture_param(f, "op"), x, y, &alpha) != CLSEG_OK) {
      fixture_free(f);
      fail_msg("%s: %s", ctx, clseg_last_error(e->ctx));
    }
    expect_fixture(e, f, "y", y, ctx);
    if (alpha)
      expect_fixture(e, f, "alpha", alpha, ctx);
    fixture_free(f);
    env_reset(e);
  }
  print_message("fixtures: %zu attention fixtures match PyTorch\n", sizeof names / sizeof names[0]);
}

/* ---- error paths: each status a caller can hit, with its message ---- */

static void expect_error(clseg_context *ctx, clseg_status got, clseg_status want,
                         const char *needle) {
  assert_int_equal(got, want);
  assert_true(test_contains(clseg_last_error(ctx), needle));
}

static void test_errors_channel(void **state) {
  env *e = *state;
  clseg_context *c = e->ctx;
  float z[64] = {0};
  clseg_tensor *x = dup4(e, z, 1, 8, 2, 2), *y = dnew(e, x->shape), *w1 = dup4(e, z, 2, 8, 1, 1);
  clseg_tensor *w2 = dup4(e, z, 8, 2, 1, 1), *bad = dup4(e, z, 2, 6, 1, 1),
               *y2 = dnew(e, (int64_t[4]){1, 8, 2, 3});
  expect_error(c, clseg_cbam_channel_gate(c, x, bad, NULL, w2, NULL, y), CLSEG_SHAPE_MISMATCH,
               "cbam_channel_gate: w1 has shape [2, 6, 1, 1], expected [R, C] with C = 8");
  expect_error(c, clseg_se_gate(c, x, w1, NULL, bad, NULL, y), CLSEG_SHAPE_MISMATCH,
               "se_gate: w2 has shape [2, 6, 1, 1], expected [C, R] = [8, 2]");
  expect_error(c, clseg_se_gate(c, x, w1, w2, w2, NULL, y), CLSEG_SHAPE_MISMATCH,
               "se_gate: b1 has 16 elements");
  expect_error(c, clseg_cbam_channel_gate(c, NULL, w1, NULL, w2, NULL, y), CLSEG_INVALID_ARGUMENT,
               "cbam_channel_gate: input x is NULL");
  expect_error(c, clseg_cbam_channel_gate(c, x, w1, NULL, w2, NULL, y2), CLSEG_SHAPE_MISMATCH,
               "cbam_channel_gate: output has shape [1, 8, 2, 3], expected [1, 8, 2, 2]");
  expect_error(NULL, clseg_se_gate(NULL, x, w1, NULL, w2, NULL, y), CLSEG_INVALID_ARGUMENT,
               "se_gate: NULL context");
  expect_error(c, clseg_scse_gate(c, x, w1, NULL, w2, NULL, w1, NULL, y), CLSEG_SHAPE_MISMATCH,
               "scse_gate: ws has shape [2, 8, 1, 1], expected [1, C] with C = 8");
  expect_error(c, clseg_scse_gate(c, x, w1, NULL, w2, NULL, NULL, NULL, y), CLSEG_INVALID_ARGUMENT,
               "scse_gate: ws is NULL");
  env_reset(e);
}

static void test_errors_spatial(void **state) {
  env *e = *state;
  clseg_context *c = e->ctx;
  float z[64] = {0};
  clseg_tensor *x = dup4(e, z, 1, 3, 2, 2), *y = dnew(e, x->shape), *w4 = dup4(e, z, 1, 2, 4, 4);
  clseg_tensor *w35 = dup4(e, z, 1, 2, 3, 5), *w3 = dup4(e, z, 1, 3, 3, 3),
               *one = dup4(e, z, 1, 1, 1, 1);
  expect_error(
      c, clseg_cbam_spatial_gate(c, x, w4, NULL, NULL, y), CLSEG_INVALID_ARGUMENT,
      "cbam_spatial_gate: weight has shape [1, 2, 4, 4], expected [1, 2, K, K] with K odd");
  expect_error(c, clseg_cbam_spatial_gate(c, x, w35, NULL, NULL, y), CLSEG_INVALID_ARGUMENT,
               "K odd");
  expect_error(c, clseg_cbam_spatial_gate(c, x, w3, NULL, NULL, y), CLSEG_INVALID_ARGUMENT,
               "[1, 3, 3, 3]");
  const clseg_cbam_spatial_params half = {.bn_gamma = one, .bn_beta = one};
  clseg_tensor *w = dup4(e, z, 1, 2, 3, 3);
  expect_error(c, clseg_cbam_spatial_gate(c, x, w, NULL, &half, y), CLSEG_INVALID_ARGUMENT,
               "batchnorm needs bn_gamma, bn_beta, bn_mean and bn_var together (2 of 4 given)");
  expect_error(c, clseg_cbam_spatial_gate(c, x, w, w, NULL, y), CLSEG_SHAPE_MISMATCH,
               "bias has 18 elements");
  expect_error(c, clseg_cbam_spatial_gate(c, x, NULL, NULL, NULL, y), CLSEG_INVALID_ARGUMENT,
               "weight w is NULL");
  env_reset(e);
}

static void test_errors_gate(void **state) {
  env *e = *state;
  clseg_context *c = e->ctx;
  float z[256] = {0};
  clseg_tensor *x = dup4(e, z, 1, 4, 5, 5), *g = dup4(e, z, 1, 3, 2, 2),
               *g2 = dup4(e, z, 2, 3, 2, 2);
  clseg_tensor *wt = dup4(e, z, 2, 4, 2, 2), *wp = dup4(e, z, 2, 3, 1, 1),
               *ws = dup4(e, z, 1, 2, 1, 1);
  clseg_tensor *y = dnew(e, x->shape), *al = dnew(e, (int64_t[4]){1, 4, 5, 5});
  clseg_attention_gate_params p = {.theta_stride = 2};
  expect_error(c, clseg_attention_gate(c, x, g2, wt, NULL, wp, NULL, ws, NULL, &p, NULL, y),
               CLSEG_SHAPE_MISMATCH,
               "attention_gate: g [2, 3, 2, 2] has batch 2, x [1, 4, 5, 5] has 1");
  expect_error(c, clseg_attention_gate(c, x, g, wt, NULL, wp, NULL, ws, NULL, &p, al, y),
               CLSEG_SHAPE_MISMATCH,
               "attention_gate: alpha has shape [1, 4, 5, 5], expected [1, 1, 5, 5]");
  expect_error(c, clseg_attention_gate(c, x, g, wt, NULL, wp, NULL, ws, NULL, NULL, NULL, y),
               CLSEG_SHAPE_MISMATCH, "w_theta has shape [2, 4, 2, 2], expected [Ci, 4, 1, 1]");
  expect_error(c, clseg_attention_gate(c, x, NULL, wt, NULL, wp, NULL, ws, NULL, &p, NULL, y),
               CLSEG_INVALID_ARGUMENT, "attention_gate: gating signal g is NULL");
  expect_error(c, clseg_attention_gate(c, x, g, wt, NULL, wt, NULL, ws, NULL, &p, NULL, y),
               CLSEG_SHAPE_MISMATCH, "w_phi has shape [2, 4, 2, 2], expected [2, 3, 1, 1]");
  expect_error(c, clseg_attention_gate(c, x, g, wt, NULL, wp, NULL, wp, NULL, &p, NULL, y),
               CLSEG_SHAPE_MISMATCH, "w_psi has shape [2, 3, 1, 1], expected [1, 2, 1, 1]");
  p.theta_stride = 3;
  expect_error(c, clseg_attention_gate(c, x, g, wt, NULL, wp, NULL, ws, NULL, &p, NULL, y),
               CLSEG_INVALID_ARGUMENT, "theta_stride is 3, expected 1 or 2");
  p = (clseg_attention_gate_params){.theta_stride = 2, .b_out = ws};
  expect_error(c, clseg_attention_gate(c, x, g, wt, NULL, wp, NULL, ws, NULL, &p, NULL, y),
               CLSEG_INVALID_ARGUMENT, "b_out is set but w_out is not");
  p = (clseg_attention_gate_params){.theta_stride = 2, .w_out = wt};
  expect_error(c, clseg_attention_gate(c, x, g, wt, NULL, wp, NULL, ws, NULL, &p, NULL, y),
               CLSEG_SHAPE_MISMATCH, "w_out has shape [2, 4, 2, 2], expected [4, 4, 1, 1]");
  p = (clseg_attention_gate_params){.theta_stride = 2, .bn_var = ws};
  expect_error(c, clseg_attention_gate(c, x, g, wt, NULL, wp, NULL, ws, NULL, &p, NULL, y),
               CLSEG_SHAPE_MISMATCH, "bn_var has 2 elements");
  clseg_tensor *thin = dup4(e, z, 1, 4, 1, 5), *ythin = dnew(e, thin->shape);
  p = (clseg_attention_gate_params){.theta_stride = 2};
  expect_error(c, clseg_attention_gate(c, thin, g, wt, NULL, wp, NULL, ws, NULL, &p, NULL, ythin),
               CLSEG_SHAPE_MISMATCH, "smaller than theta's 2x2 stride-2 kernel");
  env_reset(e);
}

/* y may be x for every block but the attention gate with an output conv, which refuses it. */
static void test_in_place(void **state) {
  env *e = *state;
  e->rng.state = SEED;
  const int64_t xs[4] = {2, 5, 9, 19}, gs[4] = {2, 3, 4, 4};
  float *x = hrand(e, ref_count(xs), -2, 2), *g = hrand(e, ref_count(gs), -2, 2),
        *w = hrand(e, 64, -1, 1);
  clseg_tensor *w1 = dup4(e, w, 2, 5, 1, 1), *w2 = dup4(e, w, 5, 2, 1, 1),
               *ws = dup4(e, w, 1, 5, 1, 1);
  clseg_tensor *wk = dup4(e, w, 1, 2, 3, 3), *wt = dup4(e, w, 2, 5, 2, 2),
               *wp = dup4(e, w, 2, 3, 1, 1);
  clseg_tensor *wq = dup4(e, w, 1, 2, 1, 1), *t = dup4(e, g, 2, 3, 4, 4), *y = dnew(e, xs);
  const clseg_attention_gate_params p = {.theta_stride = 2};
  for (int b = 0; b < 4; b++) {
    clseg_tensor *xi = dup4(e, x, 2, 5, 9, 19), *xo = dup4(e, x, 2, 5, 9, 19);
    for (int pass = 0; pass < 2; pass++) {
      clseg_tensor *out = pass ? xi : y, *in = pass ? xi : xo;
      clseg_status s = b == 0   ? clseg_cbam_channel_gate(e->ctx, in, w1, NULL, w2, NULL, out)
                       : b == 1 ? clseg_scse_gate(e->ctx, in, w1, NULL, w2, NULL, ws, NULL, out)
                       : b == 2 ? clseg_cbam_spatial_gate(e->ctx, in, wk, NULL, NULL, out)
                                : clseg_attention_gate(e->ctx, in, t, wt, NULL, wp, NULL, wq, NULL,
                                                       &p, NULL, out);
      if (s != CLSEG_OK)
        fail_msg("block %d in place %d: %s", b, pass, clseg_last_error(e->ctx));
    }
    char ctx[64];
    snprintf(ctx, sizeof ctx, "block %d (cbam, scse, spatial, gate) in place", b);
    assert_true(check_close("in place", down(e, xi), down(e, y), ref_count(xs), xs, NULL, ctx));
  }
  const clseg_attention_gate_params po = {.theta_stride = 2, .w_out = dup4(e, w, 5, 5, 1, 1)};
  clseg_tensor *xx = dup4(e, x, 2, 5, 9, 19);
  expect_error(e->ctx,
               clseg_attention_gate(e->ctx, xx, t, wt, NULL, wp, NULL, wq, NULL, &po, NULL, xx),
               CLSEG_INVALID_ARGUMENT, "attention_gate: y overlaps x");
}

/* Frees what a test left behind, also after a failed assertion, so one failure does not cascade. */
static int reset(void **state) {
  env_reset(*state);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_errors_channel, reset),
      cmocka_unit_test_teardown(test_errors_spatial, reset),
      cmocka_unit_test_teardown(test_errors_gate, reset),
      cmocka_unit_test_teardown(test_fixtures, reset),
      cmocka_unit_test_teardown(test_in_place, reset),
      cmocka_unit_test_teardown(test_cbam_channel_sweep, reset),
      cmocka_unit_test_teardown(test_se_sweep, reset),
      cmocka_unit_test_teardown(test_scse_sweep, reset),
      cmocka_unit_test_teardown(test_channel_gate_edges, reset),
      cmocka_unit_test_teardown(test_gpu_forms_by_user_rows, reset),
      cmocka_unit_test_teardown(test_cbam_spatial_sweep, reset),
      cmocka_unit_test_teardown(test_cbam_spatial_edges, reset),
      cmocka_unit_test_teardown(test_attention_gate_sweep, reset),
  };
  return cmocka_run_group_tests_name("attention", tests, setup, teardown);
}

/* Tests of the fused soft attention (lib/ops/attention_fused.c, cl/attention_fused.cl): seeded
 * sweeps on odd sizes in channel-major and token-major layouts, with and without a (broadcast)
 * bias, against the naive reference (tests/ref/ref_attention_fused.c), each form forced by a user
 * tuning row; the error paths. Tolerance: max |err| <= 1e-4 * max |ref| + 1e-5 (fp32 accumulation
 * over up to 512 features and 300 keys against double). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "internal.h" /* tensor views at an offset, which the public API cannot make */
#include "ops/attention_fused.h"
#include "ref/ref.h"

#define SEED 0xa77f05edu

/* Layouts of an operand of L positions x d features per head. */
enum { CHANNEL_MAJOR, TOKEN_BHLD, TOKEN_BLHD, N_LAYOUTS };
static const char *const layout_names[] = {"[B, H*d, L]", "[B, H, L, d]", "[B, L, H*d]"};
/* Bias: none, full [B, H, Lq, Lk], one [Lq, Lk] for all batches and heads, one [B, H, Lk] row for
 * all queries. */
enum { BIAS_NONE, BIAS_FULL, BIAS_SHARED, BIAS_ROW, N_BIAS };
static const char *const bias_names[] = {"none", "full", "shared [Lq, Lk]", "per-key [B, H, Lk]"};

typedef struct {
  int64_t batch, heads, lq, lk, dk, dv;
  int lq_layout, kv_layout, o_layout, bias;
  float scale;
} af_case;

/* The user rows that force each form: the shipped sizes, then small tiles that split dk, dv and
 * the keys into several chunks each. */
static const char *const forms[] = {
    "attention_fused\t*\tGPU=0\n",
    "attention_fused\t*\tGPU=0\tCPU_QV=1\tCPU_KB=3\tCPU_DVC=16\n",
    "attention_fused\t*\tGPU=1\n",
    "attention_fused\t*\tGPU=1\tGPU_WG=64\tGPU_BQ=16\tGPU_BK=8\tGPU_DKC=16\tGPU_DVC=16\n",
};
#define N_FORMS 4

static void strides(int layout, int64_t batch, int64_t heads, int64_t l, int64_t d, int64_t s[4]) {
  const int64_t per = heads * l * d;
  const int64_t t[N_LAYOUTS][4] = {{per, d * l, 1, l}, {per, l * d, d, 1}, {per, d, heads * d, 1}};
  (void)batch;
  memcpy(s, t[layout], sizeof t[layout]);
}

static void bias_strides(const af_case *c, int64_t s[4], size_t *count) {
  const int64_t full[4] = {c->heads * c->lq * c->lk, c->lq * c->lk, c->lk, 1};
  const int64_t shared[4] = {0, 0, c->lk, 1}, row[4] = {c->heads * c->lk, c->lk, 0, 1};
  const int64_t *t = c->bias == BIAS_FULL ? full : c->bias == BIAS_SHARED ? shared : row;
  memcpy(s, t, sizeof full);
  *count = (size_t)(c->bias == BIAS_FULL     ? c->batch * c->heads * c->lq * c->lk
                    : c->bias == BIAS_SHARED ? c->lq * c->lk
                                             : c->batch * c->heads * c->lk);
}

static void describe(const af_case *c, const char *form, uint64_t seed, char *buf, size_t size) {
  snprintf(buf, size,
           "attention_fused batch %lld heads %lld lq %lld lk %lld dk %lld dv %lld, q/o layout %s, "
           "k/v layout %s, o layout %s, bias %s, scale %g, form row '%.*s', seed 0x%llx",
           (long long)c->batch, (long long)c->heads, (long long)c->lq, (long long)c->lk,
           (long long)c->dk, (long long)c->dv, layout_names[c->lq_layout],
           layout_names[c->kv_layout], layout_names[c->o_layout], bias_names[c->bias],
           (double)c->scale, (int)strlen(form) - 1, form, (unsigned long long)seed);
}

/* A device view of count floats at an odd offset 1..7 into a NaN-filled buffer, holding data
 * (NaN when data is NULL, so unwritten outputs fail). */
static clseg_tensor *view(clseg_context *ctx, const float *data, size_t count, check_rng *rng,
                          clseg_tensor **base) {
  const size_t off = 1 + check_rng_next(rng) % 7;
  const int64_t bs[4] = {1, 1, 1, (int64_t)(count + off)};
  float *host = malloc(sizeof(float) * (count + off));
  assert_non_null(host);
  for (size_t i = 0; i < count + off; i++)
    host[i] = i >= off && data ? data[i - off] : NAN;
  *base = test_tensor(ctx, bs, host);
  free(host);
  clseg_tensor *v = calloc(1, sizeof *v);
  assert_non_null(v);
  *v = **base;
  v->owns_buf = 0;
  v->offset = off;
  v->count = count;
  const int64_t vs[4] = {1, 1, 1, (int64_t)count};
  memcpy(v->shape, vs, sizeof vs);
  return v;
}

typedef struct {
  float *h[5];
  clseg_tensor *base[5], *t[5];
} af_data;

static void data_free(af_data *a) {
  for (int i = 0; i < 5; i++) {
    free(a->h[i]);
    free(a->t[i]);
    clseg_tensor_free(a->base[i]);
  }
}

/* Runs one case on ctx against the reference; returns the normalised worst error, or -1 after
 * printing the case on a mismatch. */
static double run_case(clseg_context *ctx, const af_case *c, const char *form, uint64_t seed) {
  clseg__attention_dims d = {.batch = c->batch,
                             .heads = c->heads,
                             .lq = c->lq,
                             .lk = c->lk,
                             .dk = c->dk,
                             .dv = c->dv,
                             .scale = c->scale};
  strides(c->lq_layout, c->batch, c->heads, c->lq, c->dk, d.q);
  strides(c->kv_layout, c->batch, c->heads, c->lk, c->dk, d.k);
  strides(c->kv_layout, c->batch, c->heads, c->lk, c->dv, d.v);
  strides(c->o_layout, c->batch, c->heads, c->lq, c->dv, d.o);
  size_t n[5] = {(size_t)(c->batch * c->heads * c->lq * c->dk),
                 (size_t)(c->batch * c->heads * c->lk * c->dk),
                 (size_t)(c->batch * c->heads * c->lk * c->dv), 0,
                 (size_t)(c->batch * c->heads * c->lq * c->dv)};
  if (c->bias != BIAS_NONE)
    bias_strides(c, d.bias, &n[3]);
  check_rng rng = {seed};
  af_data a;
  memset(&a, 0, sizeof a);
  for (int i = 0; i < 5; i++) {
    if (n[i] == 0)
      continue;
    a.h[i] = malloc(sizeof(float) * n[i]);
    assert_non_null(a.h[i]);
    const float r = i == 0 ? 3.0f : 1.0f; /* wide scores: the running max moves between blocks */
    for (size_t j = 0; j < n[i]; j++)
      a.h[i][j] = check_rng_uniform(&rng, -r, r);
    a.t[i] = view(ctx, i < 4 ? a.h[i] : NULL, n[i], &rng, &a.base[i]);
  }
  char what[512];
  describe(c, form, seed, what, sizeof what);
  if (clseg__attention_fused(ctx, &d, a.t[0], a.t[1], a.t[2], a.t[3], a.t[4]) != CLSEG_OK)
    fail_msg("%s: %s", what, clseg_last_error(ctx));
  float *got = test_download(a.t[4]);
  const ref_attn_dims rd = {c->batch,
                            c->heads,
                            c->lq,
                            c->lk,
                            c->dk,
                            c->dv,
                            {d.q[0], d.q[1], d.q[2], d.q[3]},
                            {d.k[0], d.k[1], d.k[2], d.k[3]},
                            {d.v[0], d.v[1], d.v[2], d.v[3]},
                            {d.o[0], d.o[1], d.o[2], d.o[3]},
                            {d.bias[0], d.bias[1], d.bias[2], d.bias[3]},
                            c->scale};
  assert_int_equal(ref_attention_fused(&rd, a.h[0], a.h[1], a.h[2], a.h[3], a.h[4]), 0);
  double top = 0.0;
  for (size_t j = 0; j < n[4]; j++)
    top = fmax(top, fabs(a.h[4][j]));
  const check_tol tol = {1e-4 * top + 1e-5, 0.0};
  const int64_t shape[4] = {c->batch, 1, 1, (int64_t)(n[4] / (size_t)c->batch)};
  const bool ok = check_close("attention_fused", got, a.h[4], n[4], shape, &tol, what);
  const double worst = check_max_norm_err(got, a.h[4], n[4]);
  free(got);
  data_free(&a);
  return ok ? worst : -1.0;
}

/* Runs cases[0..n) under every forced form; fails at the end if any case failed. */
static void run_forms(const af_case *cases, int n, uint64_t seed, const char *name) {
  int failures = 0;
  for (int f = 0; f < N_FORMS; f++) {
    char path[1200], rows[256];
    snprintf(rows, sizeof rows, "# test_attention_fused\n%s", forms[f]);
    clseg_context *ctx = test_user_rows_begin(rows, path, sizeof path);
    double worst = 0.0;
    for (int i = 0; i < n; i++) {
      const double w = run_case(ctx, &cases[i], forms[f], seed + (uint64_t)i);
      failures += w < 0;
      worst = fmax(worst, w);
    }
    test_user_rows_end(ctx);
    print_message("%s, form %d: %d cases, worst normalised error %.3g\n", name, f, n, worst);
  }
  assert_int_equal(failures, 0);
}

static const int64_t dims_pool[] = {1, 3, 8, 17, 64, 96, 512};

/* Random cases: lq, lk in 1..300, dk, dv from dims_pool, every layout and bias kind. */
static void test_random_sweep(void **state) {
  (void)state;
  check_rng rng = {SEED};
  af_case cases[14];
  for (int i = 0; i < 14; i++) {
    af_case *c = &cases[i];
    c->batch = 1 + (int64_t)(check_rng_next(&rng) % 2);
    c->heads = 1 + (int64_t)(check_rng_next(&rng) % 3);
    c->lq = 1 + (int64_t)(check_rng_next(&rng) % 300);
    c->lk = 1 + (int64_t)(check_rng_next(&rng) % 300);
    c->dk = dims_pool[check_rng_next(&rng) % 7];
    c->dv = dims_pool[check_rng_next(&rng) % 7];
    c->lq_layout = (int)(check_rng_next(&rng) % N_LAYOUTS);
    c->kv_layout = (int)(check_rng_next(&rng) % N_LAYOUTS);
    c->o_layout = (int)(check_rng_next(&rng) % N_LAYOUTS);
    c->bias = i % N_BIAS;
    c->scale = i % 3 == 0 ? 0.0f : check_rng_uniform(&rng, 0.05f, 0.5f);
  }
  run_forms(cases, 14, SEED, "random sweep");
}

/* Named shapes: DANet-like position attention (channel-major, dk 8 and dv 64 of a 17x15 map),
 * spatial-reduction attention (lk = lq / 64), single query and key, d 1, d 512, dk 700 and 1100. */
static void test_named(void **state) {
  (void)state;
  const af_case cases[] = {
      {1, 1, 255, 255, 8, 64, CHANNEL_MAJOR, CHANNEL_MAJOR, CHANNEL_MAJOR, BIAS_NONE, 1.0f},
      {2, 2, 320, 5, 64, 64, TOKEN_BLHD, TOKEN_BLHD, TOKEN_BLHD, BIAS_NONE, 0.0f},
      {1, 1, 1, 1, 1, 1, TOKEN_BHLD, TOKEN_BHLD, TOKEN_BHLD, BIAS_FULL, 0.0f},
      {3, 1, 33, 1, 17, 3, CHANNEL_MAJOR, TOKEN_BHLD, TOKEN_BLHD, BIAS_SHARED, 0.3f},
      {1, 2, 7, 97, 512, 512, TOKEN_BHLD, CHANNEL_MAJOR, CHANNEL_MAJOR, BIAS_ROW, 0.0f},
      /* dk past the CPU form's bound: the GPU form runs under every row */
      {1, 1, 21, 6, 1100, 3, TOKEN_BHLD, TOKEN_BHLD, TOKEN_BHLD, BIAS_NONE, 0.0f},
      /* the CPU form's largest bucket, CPU_MAXDK 1024 */
      {1, 1, 40, 9, 700, 2, CHANNEL_MAJOR, TOKEN_BLHD, TOKEN_BHLD, BIAS_SHARED, 0.0f},
  };
  run_forms(cases, (int)(sizeof cases / sizeof *cases), SEED ^ 0x11, "named shapes");
}

/* Small shapes that still cross every tile edge of the small-tile rows: Oclgrind's cases
 * (tools/oclgrind.sh attention_fused:*small*). */
static void test_small(void **state) {
  (void)state;
  const af_case cases[] = {
      {2, 2, 19, 13, 3, 5, CHANNEL_MAJOR, CHANNEL_MAJOR, CHANNEL_MAJOR, BIAS_FULL, 0.0f},
      {1, 1, 17, 9, 17, 18, TOKEN_BLHD, TOKEN_BHLD, CHANNEL_MAJOR, BIAS_ROW, 0.7f},
  };
  run_forms(cases, 2, SEED ^ 0x22, "small shapes");
}

/* The shipped row of the test device (or of CLSEG_AS_DEVICE's profile): auto as the planner runs
 * it. */
static void test_auto(void **state) {
  (void)state;
  clseg_context *ctx = test_context();
  const af_case cases[] = {
      {1, 2, 130, 77, 32, 32, TOKEN_BLHD, TOKEN_BLHD, TOKEN_BLHD, BIAS_NONE, 0.0f},
      {2, 1, 61, 61, 8, 96, CHANNEL_MAJOR, CHANNEL_MAJOR, CHANNEL_MAJOR, BIAS_SHARED, 1.0f},
  };
  int failures = 0;
  for (int i = 0; i < 2; i++)
    failures += run_case(ctx, &cases[i], "(shipped) ", SEED ^ 0x33 ^ (uint64_t)i) < 0;
  clseg_context_free(ctx);
  assert_int_equal(failures, 0);
}

static void expect_error(clseg_context *ctx, clseg_status got, clseg_status want,
                         const char *needle) {
  if (got != want)
    fail_msg("expected %s, got %s: %s", clseg_status_name(want), clseg_status_name(got),
             clseg_last_error(ctx));
  assert_true(test_contains(clseg_last_error(ctx), needle));
}

static void test_errors(void **state) {
  (void)state;
  clseg_context *ctx = test_context();
  const int64_t s[4] = {1, 1, 1, 64};
  clseg_tensor *q = test_tensor(ctx, s, NULL), *k = test_tensor(ctx, s, NULL),
               *v = test_tensor(ctx, s, NULL), *o = test_tensor(ctx, s, NULL);
  /* 1 x 1 heads, 4 queries and keys of 4 features, token-major: 16 floats each */
  const clseg__attention_dims good = {.batch = 1,
                                      .heads = 1,
                                      .lq = 4,
                                      .lk = 4,
                                      .dk = 4,
                                      .dv = 4,
                                      .q = {16, 16, 4, 1},
                                      .k = {16, 16, 4, 1},
                                      .v = {16, 16, 4, 1},
                                      .o = {16, 16, 4, 1}};
  clseg__attention_dims d = good;
  assert_int_equal(clseg__attention_fused(ctx, &d, q, k, v, NULL, o), CLSEG_OK);
  d.lk = 0;
  expect_error(ctx, clseg__attention_fused(ctx, &d, q, k, v, NULL, o), CLSEG_INVALID_ARGUMENT,
               "attention_fused: lk is 0");
  d = good;
  d.k[2] = -4;
  expect_error(ctx, clseg__attention_fused(ctx, &d, q, k, v, NULL, o), CLSEG_INVALID_ARGUMENT,
               "attention_fused: k position stride is -4");
  d = good;
  d.dv = 60;
  expect_error(ctx, clseg__attention_fused(ctx, &d, q, k, v, NULL, o), CLSEG_SHAPE_MISMATCH,
               "attention_fused: v reaches element 71");
  d = good;
  d.bias[2] = 4; /* a [4, 4] bias, read from q's buffer: only the output may not overlap */
  d.bias[3] = 1;
  assert_int_equal(clseg__attention_fused(ctx, &d, q, k, v, q, o), CLSEG_OK);
  d.bias[2] = 40;
  expect_error(ctx, clseg__attention_fused(ctx, &d, q, k, v, q, o), CLSEG_SHAPE_MISMATCH,
               "attention_fused: bias reaches element 123");
  d = good;
  expect_error(ctx, clseg__attention_fused(ctx, &d, q, k, v, NULL, v), CLSEG_INVALID_ARGUMENT,
               "attention_fused: output (elements 0..15) overlaps v");
  d.scale = NAN;
  expect_error(ctx, clseg__attention_fused(ctx, &d, q, k, v, NULL, o), CLSEG_INVALID_ARGUMENT,
               "attention_fused: scale is nan");
  expect_error(ctx, clseg__attention_fused(ctx, &good, q, NULL, v, NULL, o), CLSEG_INVALID_ARGUMENT,
               "attention_fused: k");
  assert_int_equal(clseg__attention_fused_scratch(ctx, &good), 0);
  clseg_tensor_free(q);
  clseg_tensor_free(k);
  clseg_tensor_free(v);
  clseg_tensor_free(o);
  clseg_context_free(ctx);
  char path[1200];
  ctx = test_user_rows_begin("# test_attention_fused\nattention_fused\t*\tGPU=1\tGPU_BQ=48\n", path,
                             sizeof path);
  q = test_tensor(ctx, s, NULL);
  o = test_tensor(ctx, s, NULL);
  expect_error(ctx, clseg__attention_fused(ctx, &good, q, q, q, NULL, o), CLSEG_FORMAT,
               "GPU_BQ=48");
  assert_true(test_contains(clseg_last_error(ctx), path));
  clseg_tensor_free(q);
  clseg_tensor_free(o);
  test_user_rows_end(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_errors),       cmocka_unit_test(test_small),
      cmocka_unit_test(test_auto),         cmocka_unit_test(test_named),
      cmocka_unit_test(test_random_sweep),
  };
  test_filter_from_env();
  return cmocka_run_group_tests_name("attention_fused", tests, NULL, NULL);
}

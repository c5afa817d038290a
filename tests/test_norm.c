/* Tests of softmax, layernorm and groupnorm along a run of dims (lib/ops/norm.c, cl/norm.cl)
 * against the double-precision references of tests/ref/ref_norm.c: seeded odd shapes of ranks 1-6,
 * every axis (also negative), n = 1 and n = 4096, in place, both forms (the column form on this
 * device, the work-group form by user rows and, under the GPU profiles, by the gpu rows), errors.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "ref/ref.h"

#define SEED 0x40e11u

enum { OP_SOFTMAX, OP_LOGSOFTMAX, OP_LAYERNORM, OP_GROUPNORM };
static const char *const op_names[] = {"softmax", "log_softmax", "layernorm", "groupnorm"};

/* One case: the op, x's shape, and the op's parameters; x = shift + U(-scale, scale). */
typedef struct {
  int op, rank;
  int64_t dims[CLSEG_MAX_RANK];
  int axis, naxes, groups; /* axis: softmax and layernorm; naxes: layernorm; groups: groupnorm */
  int gamma, beta, inplace;
  float scale, shift, eps;
  uint64_t seed;
} norm_case;

/* Normalised outputs are O(1): the fp32 defaults (docs: 1e-4 abs + 1e-4 rel) hold with margin. */
static double worst;

/* A device tensor of any rank holding data, or NaN (so that unwritten outputs fail). */
static clseg_tensor *nd_tensor(clseg_context *ctx, int rank, const int64_t *dims,
                               const float *data) {
  const size_t n = ref_count_nd(dims, rank);
  float *nan_fill = data ? NULL : malloc(n * sizeof *nan_fill);
  clseg_tensor *t = NULL;
  for (size_t i = 0; !data && nan_fill && i < n; i++)
    nan_fill[i] = NAN;
  if ((!data && !nan_fill) || clseg_tensor_create_nd(ctx, rank, dims, &t) != CLSEG_OK ||
      clseg_tensor_upload(t, data ? data : nan_fill, n) != CLSEG_OK)
    fail_msg("tensor of rank %d: %s", rank, clseg_last_error(ctx));
  free(nan_fill);
  return t;
}

static void case_text(const norm_case *c, char *buf, size_t size) {
  int len = snprintf(buf, size, "%s x=[", op_names[c->op]);
  for (int d = 0; d < c->rank && len > 0 && (size_t)len < size; d++)
    len += snprintf(buf + len, size - (size_t)len, "%s%lld", d ? "," : "", (long long)c->dims[d]);
  if (len > 0 && (size_t)len < size)
    snprintf(buf + len, size - (size_t)len,
             "] axis=%d naxes=%d groups=%d gamma=%d beta=%d inplace=%d scale=%g shift=%g eps=%g "
             "seed=%llu",
             c->axis, c->naxes, c->groups, c->gamma, c->beta, c->inplace, (double)c->scale,
             (double)c->shift, (double)c->eps, (unsigned long long)c->seed);
}

/* The count of gamma / beta values: one per normalised element (layernorm), per channel. */
static size_t param_count(const norm_case *c) {
  if (c->op == OP_GROUPNORM)
    return (size_t)c->dims[1];
  const int a = c->axis < 0 ? c->axis + c->rank : c->axis;
  const int k = c->naxes ? c->naxes : c->rank - a;
  return ref_count_nd(c->dims + a, k);
}

static clseg_status run_op(clseg_context *ctx, const norm_case *c, const clseg_tensor *x,
                           const clseg_tensor *g, const clseg_tensor *b, clseg_tensor *y) {
  const clseg_layernorm_params p = {.axis = c->axis, .naxes = c->naxes, .eps = c->eps};
  switch (c->op) {
  case OP_SOFTMAX:
  case OP_LOGSOFTMAX: return clseg_softmax(ctx, x, c->axis, c->op == OP_LOGSOFTMAX, y);
  case OP_LAYERNORM: return clseg_layernorm(ctx, x, g, b, &p, y);
  default: return clseg_groupnorm(ctx, x, c->groups, c->eps, g, b, y);
  }
}

static void run_ref(const norm_case *c, const float *x, const float *g, const float *b, float *y) {
  const int a = c->axis < 0 ? c->axis + c->rank : c->axis;
  int rc;
  switch (c->op) {
  case OP_SOFTMAX:
  case OP_LOGSOFTMAX:
    rc = ref_softmax_axis(x, c->dims, c->rank, a, c->op == OP_LOGSOFTMAX, y);
    break;
  case OP_LAYERNORM:
    rc = ref_layernorm_axes(x, c->dims, c->rank, a, c->naxes ? c->naxes : c->rank - a, g, b, c->eps,
                            y);
    break;
  default: rc = ref_groupnorm(x, c->dims, c->rank, c->groups, c->eps, g, b, y); break;
  }
  assert_int_equal(rc, 0);
}

/* Runs c on the device and the reference; prints every parameter on failure. */
static bool run_case(clseg_context *ctx, const norm_case *c) {
  const size_t n = ref_count_nd(c->dims, c->rank), np = param_count(c);
  float *x = test_random(n, c->seed, c->shift - c->scale, c->shift + c->scale);
  float *g = test_random(np, c->seed + 1, 0.5f, 2.0f), *b = test_random(np, c->seed + 2, -1, 1);
  float *ref = malloc(n * sizeof *ref);
  assert_non_null(ref);
  const int64_t pd[1] = {(int64_t)np};
  clseg_tensor *tx = nd_tensor(ctx, c->rank, c->dims, x);
  clseg_tensor *ty = c->inplace ? tx : nd_tensor(ctx, c->rank, c->dims, NULL);
  clseg_tensor *tg = c->gamma ? nd_tensor(ctx, 1, pd, g) : NULL;
  clseg_tensor *tb = c->beta ? nd_tensor(ctx, 1, pd, b) : NULL;
  char info[512];
  case_text(c, info, sizeof info);
  if (run_op(ctx, c, tx, tg, tb, ty) != CLSEG_OK)
    fail_msg("%s: %s", info, clseg_last_error(ctx));
  float *y = test_download(ty);
  run_ref(c, x, c->gamma ? g : NULL, c->beta ? b : NULL, ref);
  check_track_worst(&worst, y, ref, n);
  const bool ok = check_close(op_names[c->op], y, ref, n, NULL, NULL, info);
  free(x), free(g), free(b), free(ref), free(y);
  clseg_tensor_free(tx);
  if (!c->inplace)
    clseg_tensor_free(ty);
  clseg_tensor_free(tg);
  clseg_tensor_free(tb);
  return ok;
}

/* A seeded shape of `rank` odd dims (1 to 33) under max_count elements. */
static void random_dims(check_rng *r, int rank, size_t max_count, int64_t *dims) {
  static const int64_t sizes[] = {1, 2, 3, 5, 7, 9, 15, 17, 33};
  do {
    for (int d = 0; d < rank; d++)
      dims[d] = sizes[check_rng_next(r) % (sizeof sizes / sizeof *sizes)];
  } while (ref_count_nd(dims, rank) > max_count);
}

/* Softmax and log-softmax, ranks 1-6, every axis once as itself and once from the end. */
static int sweep_softmax(clseg_context *ctx, uint64_t seed, int *cases) {
  check_rng r = {seed};
  int failures = 0;
  for (int rank = 1; rank <= CLSEG_MAX_RANK; rank++)
    for (int a = 0; a < rank; a++)
      for (int neg = 0; neg < 2; neg++, (*cases)++) {
        norm_case c = {.op = (a + neg) % 2 ? OP_LOGSOFTMAX : OP_SOFTMAX, .rank = rank};
        random_dims(&r, rank, 6000, c.dims);
        c.axis = neg ? a - rank : a;
        c.scale = (a + rank) % 2 ? 30.0f : 3.0f; /* logits far apart, or close */
        c.seed = seed + (uint64_t)*cases;
        failures += !run_case(ctx, &c);
      }
  return failures;
}

/* LayerNorm over every run axis .. axis + naxes - 1 (naxes 0 and each count), with and without
 * gamma / beta, x offset from zero so that a one-pass variance would lose digits. */
static int sweep_layernorm(clseg_context *ctx, uint64_t seed, int *cases) {
  check_rng r = {seed};
  int failures = 0;
  for (int rank = 1; rank <= CLSEG_MAX_RANK; rank++)
    for (int a = 0; a < rank; a++)
      for (int k = 0; k <= rank - a; k++, (*cases)++) {
        norm_case c = {.op = OP_LAYERNORM, .rank = rank, .naxes = k, .scale = 2.0f};
        random_dims(&r, rank, 6000, c.dims);
        c.axis = (k + a) % 2 ? a - rank : a;
        c.gamma = *cases % 3 != 0;
        c.beta = *cases % 4 != 1;
        c.shift = *cases % 2 ? 50.0f : 0.0f;
        c.eps = *cases % 5 == 0 ? 1e-3f : 0.0f;
        c.seed = seed + (uint64_t)*cases;
        failures += !run_case(ctx, &c);
      }
  return failures;
}

/* GroupNorm of ranks 2-5 with 1 group, every divisor of C and C groups (InstanceNorm). */
static int sweep_groupnorm(clseg_context *ctx, uint64_t seed, int *cases) {
  static const int64_t channels[] = {1, 6, 9, 12, 32};
  check_rng r = {seed};
  int failures = 0;
  for (int rank = 2; rank <= 5; rank++)
    for (size_t ci = 0; ci < sizeof channels / sizeof *channels; ci++)
      for (int groups = 1; groups <= channels[ci]; groups++) {
        if (channels[ci] % groups)
          continue;
        norm_case c = {.op = OP_GROUPNORM, .rank = rank, .groups = groups, .scale = 2.0f};
        random_dims(&r, rank, 4000, c.dims);
        c.dims[1] = channels[ci];
        c.gamma = *cases % 3 != 2;
        c.beta = *cases % 2;
        c.shift = *cases % 2 ? 0.0f : 20.0f;
        c.seed = seed + (uint64_t)(*cases)++;
        failures += !run_case(ctx, &c);
      }
  return failures;
}

static void report(const char *what, int cases, int failures) {
  print_message("%s: %d cases, %d failed, worst normalised error %.3g\n", what, cases, failures,
                worst);
  worst = 0.0;
  assert_int_equal(failures, 0);
}

static void softmax_sweep(void **state) {
  int cases = 0;
  report("softmax sweep", cases, sweep_softmax(*state, SEED, &cases));
}

static void layernorm_sweep(void **state) {
  int cases = 0;
  report("layernorm sweep", cases, sweep_layernorm(*state, SEED + 1000, &cases));
}

static void groupnorm_sweep(void **state) {
  int cases = 0;
  report("groupnorm sweep", cases, sweep_groupnorm(*state, SEED + 2000, &cases));
}

/* The shapes that matter and the edges: attention scores (n 4096; 1000 and 4097: rows of whole
 * float16 vectors and a tail), LayerNorm of tokens [N, L, C]
 * and the channel LayerNorm of NCHW, n = 1, batches, and every op in place. */
static const norm_case edge_cases[] = {
    {OP_SOFTMAX, 3, {2, 3, 4096}, -1, 0, 0, 0, 0, 0, 30.0f, 0.0f, 0.0f, 1},
    {OP_LOGSOFTMAX, 4, {1, 2, 5, 4096}, 3, 0, 0, 0, 0, 1, 30.0f, 0.0f, 0.0f, 2},
    {OP_SOFTMAX, 3, {1, 4096, 3}, 1, 0, 0, 0, 0, 0, 5.0f, 0.0f, 0.0f, 3},
    {OP_SOFTMAX, 3, {5, 1, 7}, -2, 0, 0, 0, 0, 1, 5.0f, 0.0f, 0.0f, 4},
    {OP_SOFTMAX, 3, {3, 5, 1000}, -1, 0, 0, 0, 0, 0, 10.0f, 0.0f, 0.0f, 15},
    {OP_LOGSOFTMAX, 2, {2, 4097}, 1, 0, 0, 0, 0, 1, 10.0f, 0.0f, 0.0f, 16},
    {OP_LAYERNORM, 3, {2, 333, 32}, -1, 0, 0, 1, 1, 0, 2.0f, 10.0f, 0.0f, 5},
    {OP_LAYERNORM, 3, {1, 77, 512}, 2, 1, 0, 1, 1, 1, 2.0f, 0.0f, 0.0f, 6},
    {OP_LAYERNORM, 3, {1, 4096, 96}, -1, 0, 0, 1, 0, 0, 1.0f, 100.0f, 0.0f, 7},
    {OP_LAYERNORM, 4, {2, 96, 17, 33}, 1, 1, 0, 1, 1, 0, 2.0f, 30.0f, 0.0f, 8},
    {OP_LAYERNORM, 4, {1, 64, 64, 64}, 1, 1, 0, 1, 1, 1, 2.0f, 0.0f, 1e-6f, 9},
    {OP_LAYERNORM, 4, {3, 5, 1, 7}, -2, 1, 0, 0, 1, 0, 2.0f, 0.0f, 0.0f, 10},
    {OP_GROUPNORM, 4, {2, 32, 33, 17}, 0, 0, 8, 1, 1, 0, 2.0f, 5.0f, 0.0f, 11},
    {OP_GROUPNORM, 4, {1, 64, 64, 64}, 0, 0, 32, 1, 1, 1, 2.0f, 0.0f, 0.0f, 12},
    {OP_GROUPNORM, 3, {3, 7, 129}, 0, 0, 7, 0, 1, 1, 2.0f, 0.0f, 0.0f, 13},
    {OP_GROUPNORM, 2, {4, 12}, 0, 0, 3, 1, 0, 0, 2.0f, 0.0f, 0.0f, 14},
};

static void edge_shapes(void **state) {
  int failures = 0, cases = 0;
  for (size_t i = 0; i < sizeof edge_cases / sizeof *edge_cases; i++, cases++) {
    norm_case c = edge_cases[i];
    c.seed += SEED + 3000;
    failures += !run_case(*state, &c);
  }
  report("norm edges", cases, failures);
}

/* Logits of +-1000 overflow exp() unless the maximum is subtracted first; -inf logits (masked
 * attention) give 0 and -inf. */
static void softmax_is_stable(void **state) {
  norm_case c = {.op = OP_SOFTMAX, .rank = 2, .dims = {3, 17}, .axis = 1};
  float x[51], y[51], ref[51];
  for (int i = 0; i < 51; i++)
    x[i] = (i % 3 == 0) ? 1000.0f : (i % 3 == 1 ? -1000.0f : (i % 7 == 5 ? -INFINITY : 999.0f));
  for (int log_out = 0; log_out < 2; log_out++) {
    clseg_tensor *tx = nd_tensor(*state, 2, c.dims, x), *ty = nd_tensor(*state, 2, c.dims, NULL);
    assert_int_equal(clseg_softmax(*state, tx, -1, log_out, ty), CLSEG_OK);
    assert_int_equal(clseg_tensor_download(ty, y, 51), CLSEG_OK);
    ref_softmax_axis(x, c.dims, 2, 1, log_out, ref);
    assert_true(check_close("softmax +-1000", y, ref, 51, NULL, NULL, "1000/-1000/999/-inf"));
    clseg_tensor_free(tx);
    clseg_tensor_free(ty);
  }
}

/* The work-group forms on this device by user rows: LOCAL 64, and 48 (not a power of two: the
 * tree's first fold), COLS past every inner so that every row takes the work-group form. */
static void workgroup_forms_by_user_rows(void **state) {
  (void)state;
  static const char *const rows[] = {
      "norm_softmax\t*\tGPU=1\tLOCAL=64\tCOLS=65536\nnorm_layernorm\t*\tGPU=1\tLOCAL=48\tCOLS="
      "65536\n",
      "norm_softmax\t*\tGPU=1\tLOCAL=48\tCOLS=4\nnorm_layernorm\t*\tGPU=1\tLOCAL=32\tCOLS=4\n"};
  for (int i = 0; i < 2; i++) {
    char path[1200];
    clseg_context *ctx = test_user_rows_begin(rows[i], path, sizeof path);
    int cases = 0, failures = sweep_softmax(ctx, SEED + 4000, &cases);
    failures += sweep_groupnorm(ctx, SEED + 5000, &cases);
    for (size_t e = 0; e < sizeof edge_cases / sizeof *edge_cases; e++) {
      norm_case c = edge_cases[e];
      c.seed += SEED + 6000;
      if (ref_count_nd(c.dims, c.rank) <= 40000) /* small enough for Oclgrind */
        failures += !run_case(ctx, &c), cases++;
    }
    test_user_rows_end(ctx);
    report(i ? "work-group forms (inner < 4)" : "work-group forms (every row)", cases, failures);
  }
}

/* LayerNorm's other forms by user rows: the work-group form for every row, and the scalar column
 * form (VEC=0) where the default row runs the float16 one; VEC=2 is CLSEG_FORMAT naming the file.
 */
static void layernorm_forms_by_user_rows(void **state) {
  (void)state;
  char path[1200];
  clseg_context *ctx =
      test_user_rows_begin("norm_layernorm\t*\tGPU=1\tLOCAL=64\tCOLS=65536\n", path, sizeof path);
  int cases = 0, failures = sweep_layernorm(ctx, SEED + 7000, &cases);
  failures += sweep_groupnorm(ctx, SEED + 7500, &cases);
  test_user_rows_end(ctx);
  report("layernorm work-group form", cases, failures);
  ctx = test_user_rows_begin("norm_layernorm\t*\tVEC=2\n", path, sizeof path);
  const int64_t d[2] = {3, 16};
  clseg_tensor *x = nd_tensor(ctx, 2, d, NULL);
  assert_int_equal(clseg_layernorm(ctx, x, NULL, NULL, NULL, x), CLSEG_FORMAT);
  assert_true(test_contains(clseg_last_error(ctx), "tuning: VEC=2 of norm_layernorm"));
  assert_true(test_contains(clseg_last_error(ctx), path));
  clseg_tensor_free(x);
  test_user_rows_end(ctx);
}

/* The scalar column forms (VEC=0) where the default rows run the float16 ones (inner >= 16). */
static void scalar_columns_by_user_rows(void **state) {
  (void)state;
  char path[1200];
  clseg_context *ctx = test_user_rows_begin(
      "norm_softmax\t*\tGPU=0\tVEC=0\nnorm_layernorm\t*\tGPU=0\tVEC=0\n", path, sizeof path);
  int cases = 0, failures = sweep_softmax(ctx, SEED + 8000, &cases);
  failures += sweep_layernorm(ctx, SEED + 8500, &cases);
  for (size_t e = 0; e < sizeof edge_cases / sizeof *edge_cases; e++, cases++) {
    norm_case c = edge_cases[e];
    c.seed += SEED + 9000;
    failures += !run_case(ctx, &c);
  }
  test_user_rows_end(ctx);
  report("scalar column forms", cases, failures);
}

/* ---- PyTorch fixtures (tools/make_norm_fixtures.py -> tests/fixtures/norm/) ---- */

static clseg_tensor *fixture_nd(clseg_context *ctx, const fixture *f, const char *name) {
  const fixture_array *a = fixture_get(f, name);
  return a ? nd_tensor(ctx, a->ndim, a->dims, a->data) : NULL;
}

static bool fixture_case(clseg_context *ctx, const char *name) {
  char path[1024], err[256];
  snprintf(path, sizeof path, "%s/norm/%s.clsf", CLSEG_FIXTURE_DIR, name);
  fixture *f = fixture_load(path, err, sizeof err);
  if (!f)
    fail_msg("fixture %s: %s", name, err);
  const fixture_array *ya = fixture_get(f, "y");
  assert_non_null(ya);
  clseg_tensor *x = fixture_nd(ctx, f, "x"), *g = fixture_nd(ctx, f, "gamma");
  clseg_tensor *b = fixture_nd(ctx, f, "beta"), *y = nd_tensor(ctx, ya->ndim, ya->dims, NULL);
  const char *op = fixture_param(f, "op");
  const float eps = fixture_param_float(f, "eps", 0.0f);
  const clseg_layernorm_params p = {.axis = fixture_param_int(f, "axis", 0),
                                    .naxes = fixture_param_int(f, "naxes", 0),
                                    .eps = eps};
  clseg_status s;
  if (strcmp(op, "softmax") == 0)
    s = clseg_softmax(ctx, x, p.axis, fixture_param_int(f, "log", 0), y);
  else if (strcmp(op, "layernorm") == 0)
    s = clseg_layernorm(ctx, x, g, b, &p, y);
  else
    s = clseg_groupnorm(ctx, x, fixture_param_int(f, "groups", 0), eps, g, b, y);
  if (s != CLSEG_OK)
    fail_msg("%s: %s", name, clseg_last_error(ctx));
  float *got = test_download(y);
  check_track_worst(&worst, got, ya->data, ya->count);
  const bool ok = check_close(name, got, ya->data, ya->count, NULL, NULL, fixture_params_text(f));
  free(got);
  clseg_tensor_free(x), clseg_tensor_free(g), clseg_tensor_free(b), clseg_tensor_free(y);
  fixture_free(f);
  return ok;
}

static void pytorch_fixtures(void **state) {
  static const char *const names[] = {
      "layernorm_tokens",        "layernorm_last2", "layernorm_noaffine_shifted",
      "layernorm_channels_nchw", "groupnorm_g4",    "groupnorm_instance",
      "groupnorm_1d_noaffine",   "softmax_dim1",    "log_softmax_last"};
  int failures = 0;
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    failures += !fixture_case(*state, names[i]);
  report("PyTorch fixtures", (int)(sizeof names / sizeof *names), failures);
}

/* Each status a user can hit, with its message. */
static void expect(clseg_context *ctx, clseg_status got, clseg_status want, const char *msg) {
  assert_int_equal(got, want);
  assert_true(test_contains(clseg_last_error(ctx), msg));
}

static void errors_name_the_fault(void **state) {
  clseg_context *ctx = *state;
  const int64_t xd[3] = {2, 6, 5}, yd[3] = {2, 6, 4}, p5[1] = {5}, p4[1] = {4};
  clseg_tensor *x = nd_tensor(ctx, 3, xd, NULL), *y = nd_tensor(ctx, 3, xd, NULL);
  clseg_tensor *bad = nd_tensor(ctx, 3, yd, NULL), *g5 = nd_tensor(ctx, 1, p5, NULL);
  clseg_tensor *g4 = nd_tensor(ctx, 1, p4, NULL);
  expect(ctx, clseg_softmax(ctx, x, 3, 0, y), CLSEG_INVALID_ARGUMENT,
         "softmax: axis 3 is out of range for input [2, 6, 5]");
  expect(ctx, clseg_softmax(ctx, x, -4, 1, y), CLSEG_INVALID_ARGUMENT,
         "log_softmax: axis -4 is out of range");
  expect(ctx, clseg_softmax(ctx, x, 0, 0, bad), CLSEG_SHAPE_MISMATCH,
         "softmax: output has shape [2, 6, 4], expected [2, 6, 5]");
  expect(ctx, clseg_softmax(ctx, NULL, 0, 0, y), CLSEG_INVALID_ARGUMENT, "softmax: input is NULL");
  clseg_layernorm_params p = {.axis = 1, .naxes = 3};
  expect(ctx, clseg_layernorm(ctx, x, NULL, NULL, &p, y), CLSEG_INVALID_ARGUMENT,
         "layernorm: 3 dims from axis 1 do not fit input [2, 6, 5] (rank 3)");
  p = (clseg_layernorm_params){.axis = -1};
  expect(ctx, clseg_layernorm(ctx, x, g4, NULL, &p, y), CLSEG_SHAPE_MISMATCH,
         "layernorm: gamma has 4 elements (shape [4]), expected 5");
  expect(ctx, clseg_layernorm(ctx, x, g5, g4, &p, y), CLSEG_SHAPE_MISMATCH,
         "layernorm: beta has 4 elements");
  p.eps = -1.0f;
  expect(ctx, clseg_layernorm(ctx, x, g5, NULL, &p, y), CLSEG_INVALID_ARGUMENT,
         "layernorm: eps -1 is negative");
  expect(ctx, clseg_groupnorm(ctx, x, 4, 0.0f, NULL, NULL, y), CLSEG_INVALID_ARGUMENT,
         "groupnorm: 4 groups do not divide the 6 channels of input [2, 6, 5]");
  expect(ctx, clseg_groupnorm(ctx, x, 0, 0.0f, NULL, NULL, y), CLSEG_INVALID_ARGUMENT,
         "groupnorm: 0 groups do not divide");
  expect(ctx, clseg_groupnorm(ctx, x, 3, 0.0f, g5, NULL, y), CLSEG_SHAPE_MISMATCH,
         "groupnorm: gamma has 5 elements (shape [5]), expected 6");
  expect(ctx, clseg_groupnorm(ctx, g5, 1, 0.0f, NULL, NULL, g5), CLSEG_INVALID_ARGUMENT,
         "groupnorm: input [5] has rank 1, not [N, C, ...]");
  expect(ctx, clseg_groupnorm(ctx, x, 2, 0.0f, NULL, NULL, bad), CLSEG_SHAPE_MISMATCH,
         "groupnorm: output has shape [2, 6, 4], expected [2, 6, 5]");
  clseg_tensor_free(x), clseg_tensor_free(y), clseg_tensor_free(bad);
  clseg_tensor_free(g5), clseg_tensor_free(g4);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(softmax_sweep),
      cmocka_unit_test(layernorm_sweep),
      cmocka_unit_test(groupnorm_sweep),
      cmocka_unit_test(edge_shapes),
      cmocka_unit_test(softmax_is_stable),
      cmocka_unit_test(workgroup_forms_by_user_rows),
      cmocka_unit_test(layernorm_forms_by_user_rows),
      cmocka_unit_test(scalar_columns_by_user_rows),
      cmocka_unit_test(pytorch_fixtures),
      cmocka_unit_test(errors_name_the_fault),
  };
  test_filter_from_env();
  return cmocka_run_group_tests_name("norm", tests, test_group_setup, test_group_teardown);
}

/* Shared test setup and helpers declared in support.h. */
#include "support.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clseg_onnx.h"
#include "common/check.h"
#include "file.h"
#include "internal.h" /* a tensor's context, for the library's message when a transfer fails */
#include "tuning.h"   /* clseg__tuning_file_path: where user rows go */

char *mkdtemp(char *template);

const char *test_device_spec(void) {
  const char *s = getenv("CLSEG_TEST_DEVICE");
  return s && *s ? s : "auto";
}

clseg_context *test_context(void) {
  clseg_context *ctx = NULL;
  if (clseg_context_create(test_device_spec(), &ctx) != CLSEG_OK)
    fail_msg("no test context on '%s': %s", test_device_spec(), clseg_last_error(NULL));
  return ctx;
}

clseg_context *test_ctx;

int test_group_setup(void **state) {
  *state = test_ctx = test_context();
  return test_ctx ? 0 : -1;
}

int test_group_teardown(void **state) {
  clseg_context_free(*state);
  *state = test_ctx = NULL;
  return 0;
}

clseg_tensor *test_tensor_nd(clseg_context *ctx, int rank, const int64_t *dims, const float *data) {
  clseg_tensor *t = NULL;
  size_t n = 1;
  for (int d = 0; d < rank; d++)
    n *= (size_t)dims[d];
  float *nan_fill = data ? NULL : malloc((n ? n : 1) * sizeof *nan_fill);
  assert_true(data || nan_fill);
  for (size_t i = 0; !data && i < n; i++)
    nan_fill[i] = NAN;
  if (clseg_tensor_create_nd(ctx, rank, dims, &t) != CLSEG_OK ||
      clseg_tensor_upload(t, data ? data : nan_fill, n) != CLSEG_OK)
    fail_msg("tensor of rank %d (%zu elements): %s", rank, n, clseg_last_error(ctx));
  free(nan_fill);
  return t;
}

clseg_tensor *test_tensor(clseg_context *ctx, const int64_t s[4], const float *data) {
  clseg_tensor *t = NULL;
  const size_t n = (size_t)(s[0] * s[1] * s[2] * s[3]);
  float *nan_fill = data ? NULL : malloc((n ? n : 1) * sizeof *nan_fill);
  assert_true(data || nan_fill);
  for (size_t i = 0; !data && i < n; i++)
    nan_fill[i] = NAN;
  if (clseg_tensor_create(ctx, s, &t) != CLSEG_OK ||
      clseg_tensor_upload(t, data ? data : nan_fill, n) != CLSEG_OK)
    fail_msg("tensor %lldx%lldx%lldx%lld: %s", (long long)s[0], (long long)s[1], (long long)s[2],
             (long long)s[3], clseg_last_error(ctx));
  free(nan_fill);
  return t;
}

float *test_download(const clseg_tensor *t) {
  float *p = malloc((clseg_tensor_count(t) ? clseg_tensor_count(t) : 1) * sizeof *p);
  assert_non_null(p);
  if (clseg_tensor_download(t, p, clseg_tensor_count(t)) != CLSEG_OK)
    fail_msg("download: %s", clseg_last_error(t ? t->ctx : NULL));
  return p;
}

float *test_random(size_t n, uint64_t seed, float lo, float hi) {
  float *p = malloc((n ? n : 1) * sizeof *p);
  assert_non_null(p);
  check_fill_uniform(p, n, seed, lo, hi);
  return p;
}

bool test_compare(double *worst, const char *what, const float *got, const float *ref,
                  const int64_t s[4], const char *context) {
  const size_t n = (size_t)(s[0] * s[1] * s[2] * s[3]);
  check_track_worst(worst, got, ref, n);
  return check_close(what, got, ref, n, s, NULL, context);
}

double test_now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

unsigned char *test_read_file(const char *path, size_t *len) {
  unsigned char *buf;
  char why[CLSEG__FILE_WHY_LEN];
  if (clseg__file_read(path, 0, &buf, len, why, sizeof why) != CLSEG_OK)
    fail_msg("%s", why);
  return buf;
}

float *test_read_npy(const char *path, size_t *count, bool allow_u8) {
  size_t len;
  unsigned char *b = test_read_file(path, &len);
  assert_true(len > 10 && !memcmp(b, "\x93NUMPY", 6));
  const size_t pre = b[6] == 1 ? 10 : 12;
  const size_t hl =
      b[6] == 1 ? (size_t)(b[8] | b[9] << 8) : (size_t)(b[8] | b[9] << 8 | b[10] << 16);
  const size_t start = pre + hl;
  assert_true(start <= len && hl < 1024);
  char hdr[1024];
  memcpy(hdr, b + pre, hl);
  hdr[hl] = 0;
  const int u8 = allow_u8 && strstr(hdr, "'|u1'") != NULL;
  assert_true(u8 || strstr(hdr, "'<f4'"));
  assert_non_null(strstr(hdr, "'fortran_order': False"));
  *count = (len - start) / (u8 ? 1 : 4);
  float *out = malloc(sizeof *out * (*count ? *count : 1));
  assert_non_null(out);
  for (size_t i = 0; i < *count; i++) {
    if (u8) {
      out[i] = (float)b[start + i] / 255.0f;
    } else {
      const unsigned char *q = b + start + 4 * i;
      const uint32_t u =
          (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
      memcpy(&out[i], &u, 4);
    }
  }
  free(b);
  return out;
}

void test_tmpdir(char *buf, size_t size) {
  snprintf(buf, size, "/tmp/clseg-test-XXXXXX");
  if (!mkdtemp(buf))
    fail_msg("mkdtemp failed");
}

void test_rmdir(const char *path) {
  DIR *d = opendir(path);
  if (!d)
    return;
  struct dirent *e;
  char p[1024];
  while ((e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    snprintf(p, sizeof p, "%s/%s", path, e->d_name);
    remove(p);
  }
  closedir(d);
  rmdir(path);
}

void test_write_file(const char *dir, const char *name, const char *text) {
  char p[1024];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "wb");
  if (!f)
    fail_msg("cannot write %s", p);
  fputs(text, f);
  fclose(f);
}

int test_contains(const char *haystack, const char *needle) {
  if (haystack && strstr(haystack, needle))
    return 1;
  print_error("expected to find \"%s\" in:\n%s\n", needle, haystack ? haystack : "(null)");
  return 0;
}

static bool op_listed(const char *op, const char *const *ops) {
  for (; op && *ops; ops++)
    if (!strcmp(op, *ops))
      return true;
  return false;
}

int test_each_fixture(const char *const *ops, test_fixture_fn fn, int *failed) {
  char path[1024], line[256], err[512];
  snprintf(path, sizeof path, "%s/index.txt", CLSEG_FIXTURE_DIR);
  FILE *idx = fopen(path, "r");
  if (!idx)
    fail_msg("cannot open %s", path);
  int seen = 0;
  *failed = 0;
  while (fgets(line, sizeof line, idx)) {
    line[strcspn(line, "\r\n")] = 0;
    if (!line[0] || line[0] == '#')
      continue;
    snprintf(path, sizeof path, "%s/%s", CLSEG_FIXTURE_DIR, line);
    fixture *f = fixture_load(path, err, sizeof err);
    if (!f)
      fail_msg("%s: %s", line, err);
    const char *op = fixture_param(f, "op");
    if (op_listed(op, ops)) {
      seen++;
      if (!fn(f, op)) {
        (*failed)++;
        fprintf(stderr, "FAIL fixture %s (%s)\n", line, fixture_params_text(f));
      }
    }
    fixture_free(f);
  }
  fclose(idx);
  return seen;
}

_Static_assert(FIXTURE_ACT_COUNT == CLSEG_ACT_COUNT,
               "fixture_act_names lists every clseg_act_kind");

clseg_tensor *test_fixture_tensor(clseg_context *ctx, const fixture *f, const char *name) {
  const fixture_array *a = fixture_get(f, name);
  int64_t s[4];
  if (!a || !fixture_shape4(a, s))
    return NULL;
  return test_tensor(ctx, s, a->data);
}

/* What test_user_rows_begin changed, for test_user_rows_end. */
static struct {
  char dir[256];
  char *cache, *profile;
} user_rows;

static char *env_copy(const char *name) {
  const char *v = getenv(name);
  char *c = v ? malloc(strlen(v) + 1) : NULL;
  if (c)
    strcpy(c, v);
  return c;
}

clseg_context *test_user_rows_begin(const char *rows, char *path, size_t size) {
  user_rows.cache = env_copy("CLSEG_CACHE_DIR");
  user_rows.profile = env_copy("CLSEG_AS_DEVICE");
  test_tmpdir(user_rows.dir, sizeof user_rows.dir);
  setenv("CLSEG_CACHE_DIR", user_rows.dir, 1);
  unsetenv("CLSEG_AS_DEVICE"); /* a profile reads no user file */
  unsetenv("CLSEG_TUNING");
  clseg_context *ctx = test_context();
  if (!ctx || !clseg__tuning_file_path(ctx, path, size))
    fail_msg("no user tuning file path under %s", user_rows.dir);
  clseg_context_free(ctx);
  FILE *f = fopen(path, "w");
  if (!f || fputs(rows, f) < 0 || fclose(f) != 0)
    fail_msg("cannot write %s", path);
  return test_context();
}

void test_user_rows_end(clseg_context *ctx) {
  clseg_context_free(ctx);
  test_rmdir(user_rows.dir);
  if (user_rows.cache)
    setenv("CLSEG_CACHE_DIR", user_rows.cache, 1);
  else
    unsetenv("CLSEG_CACHE_DIR");
  if (user_rows.profile)
    setenv("CLSEG_AS_DEVICE", user_rows.profile, 1);
  free(user_rows.cache);
  free(user_rows.profile);
  user_rows.cache = user_rows.profile = NULL;
}

void test_filter_from_env(void) {
  const char *f = getenv("CLSEG_TEST_FILTER");
  if (f && *f)
    cmocka_set_test_filter(f);
}

/* Runs DIR/STEM.onnx on DIR/STEM.input.npy (its batch is the input's count over C * H * W) against
 * DIR/STEM.ort.npy; returns the largest absolute error, or -1 on a mismatch (printed with what the
 * case checks). */
static double onnx_case(const char *dir, const char *stem, const char *what, const check_tol *tol) {
  char path[800], ctxt[900];
  clseg_graph *g = NULL;
  clseg_onnx_info info;
  snprintf(path, sizeof path, "%s/%s.onnx", dir, stem);
  if (clseg_onnx_load(path, NULL, &g, &info) != CLSEG_OK) {
    fprintf(stderr, "FAIL %s (%s): %s\n", stem, what, clseg_last_error(NULL));
    return -1;
  }
  size_t nin, nref;
  snprintf(path, sizeof path, "%s/%s.input.npy", dir, stem);
  float *x = test_read_npy(path, &nin, false);
  snprintf(path, sizeof path, "%s/%s.ort.npy", dir, stem);
  float *ref = test_read_npy(path, &nref, false);
  clseg_plan *p = NULL;
  double worst = -1;
  int64_t os[4] = {0};
  float *y = NULL;
  const int64_t n = (int64_t)nin / (info.input_c * info.input_h * info.input_w);
  if (clseg_plan_create(test_ctx, g, n, info.input_h, info.input_w, NULL, &p) != CLSEG_OK) {
    fprintf(stderr, "FAIL %s (%s): planning: %s\n", stem, what, clseg_last_error(test_ctx));
    goto done;
  }
  clseg_plan_output_shape(p, os);
  if ((size_t)(os[0] * os[1] * os[2] * os[3]) != nref) {
    fprintf(stderr, "FAIL %s (%s): output [%lld, %lld, %lld, %lld] holds not %zu values\n", stem,
            what, (long long)os[0], (long long)os[1], (long long)os[2], (long long)os[3], nref);
    goto done;
  }
  y = malloc(sizeof *y * nref);
  assert_non_null(y);
  assert_int_equal(clseg_plan_run(p, x, nin, y, nref), CLSEG_OK);
  snprintf(ctxt, sizeof ctxt, "%s: %s, opset %d", stem, what, info.opset);
  if (check_close(stem, y, ref, nref, os, tol, ctxt)) {
    worst = 0;
    for (size_t i = 0; i < nref; i++)
      worst = fmax(worst, fabs((double)y[i] - (double)ref[i]));
  }
done:
  free(y);
  free(x);
  free(ref);
  clseg_plan_free(p);
  clseg_graph_free(g);
  return worst;
}

void test_onnx_index(const char *dir, const char *prefix, int min, const check_tol *tol) {
  char path[600];
  snprintf(path, sizeof path, "%s/index.txt", dir);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char line[600];
  int run = 0, failed = 0;
  double worst = 0;
  while (fgets(line, sizeof line, f)) {
    char *tab = strchr(line, '\t');
    if (line[0] == '#' || !tab || strncmp(line, prefix, strlen(prefix)))
      continue;
    *tab = '\0';
    tab[strcspn(tab + 1, "\n") + 1] = '\0';
    double e = onnx_case(dir, line, tab + 1, tol);
    printf("%-22s max |clseg - onnxruntime| %-9.3g %s\n", line, e, tab + 1);
    failed += e < 0;
    worst = fmax(worst, e);
    run++;
  }
  fclose(f);
  printf("%s*: %d cases, %d failed, worst %.3g (tolerance %g + %g |ref|)\n", prefix, run, failed,
         worst, tol->atol, tol->rtol);
  assert_true(run >= min);
  assert_int_equal(failed, 0);
}

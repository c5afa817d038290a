/* Tuning rows (lib/tuning.h): the lookup order on hand-made tables, the shipped tables as embedded
 * (a whole configuration in every row), user tuning files (overrides per device and per layer
 * shape; malformed ones refused with file:line; CLSEG_TUNING=off), and device profiles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/conv.h"
#include "support.h"
#include "tuning.h"

/* The tables whose families read their tunables from rows (conv's has its own tests). */
static const char *const FAMILIES[] = {"activation.tsv", "attention.tsv", "batchnorm.tsv",
                                       "eltwise.tsv",    "layout.tsv",    "linear.tsv",
                                       "pool.tsv",       "reduce.tsv"};

static int is_default(const clseg__tune_row *r) {
  return !strcmp(r->type, "*") && !strcmp(r->vendor, "*") && !strcmp(r->pattern, "*");
}

static int has_cell(const clseg__tune_row *r, const char *name) {
  for (int i = 0; i < r->ncells; i++)
    if (!strcmp(r->cells[i].name, name))
      return 1;
  return 0;
}

/* Each row of table `name` has its variant's default row there, with the same cells. */
static void check_table(const char *name, const char *text) {
  clseg__tune_row *rows = NULL;
  int n = 0;
  assert_int_equal(clseg__tune_parse(NULL, name, text, 0, &rows, &n), CLSEG_OK);
  assert_true(n > 0);
  for (int i = 0; i < n; i++) {
    const clseg__tune_row *r = &rows[i], *d = NULL;
    for (int j = 0; j < n && !d; j++)
      if (!strcmp(rows[j].variant, r->variant) && is_default(&rows[j]))
        d = &rows[j];
    if (!d)
      fail_msg("%s: variant %s has no default row (* * *)", r->source, r->variant);
    int same = r->ncells == d->ncells;
    for (int k = 0; same && k < r->ncells; k++)
      same = has_cell(d, r->cells[k].name);
    if (!same)
      fail_msg("%s: row of %s has other cells than its default row %s (every row is a whole "
               "configuration)",
               r->source, r->variant, d->source);
  }
  free(rows);
}

static void test_tables_whole_rows(void **state) {
  (void)state;
  for (size_t f = 0; f < sizeof FAMILIES / sizeof *FAMILIES; f++) {
    const clseg__kernel_source *t = NULL;
    for (size_t i = 0; i < clseg__tuning_source_count && !t; i++)
      if (!strcmp(clseg__tuning_sources[i].name, FAMILIES[f]))
        t = &clseg__tuning_sources[i];
    if (!t)
      fail_msg("cl/tuning/%s is not embedded (meson.build tuning_sources)", FAMILIES[f]);
    char name[64];
    snprintf(name, sizeof name, "cl/tuning/%s", t->name);
    check_table(name, (const char *)t->bytes);
  }
}

/* A user tuning file (as `clseg tune` writes, or edited by hand) with LOCAL=0: the op fails with
 * CLSEG_FORMAT naming the key and the file instead of dividing by zero. */
static void test_zero_work_group_is_an_error(void **state) {
  (void)state;
  char dir[256], path[1200];
  test_tmpdir(dir, sizeof dir);
  setenv("CLSEG_CACHE_DIR", dir, 1);
  unsetenv("CLSEG_AS_DEVICE"); /* profiles read no user file */
  unsetenv("CLSEG_TUNING");
  clseg_context *ctx = test_context();
  assert_true(clseg__tuning_file_path(ctx, path, sizeof path));
  clseg_context_free(ctx);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("# test_tuning\nactivation_apply\t*\tLOCAL=0\n", f);
  fclose(f);
  ctx = test_context();
  const int64_t s[4] = {1, 1, 3, 5};
  clseg_tensor *x = test_tensor(ctx, s, NULL), *y = test_tensor(ctx, s, NULL);
  assert_int_equal(clseg_activation_apply(ctx, x, NULL, y), CLSEG_FORMAT);
  assert_true(test_contains(clseg_last_error(ctx), "LOCAL=0 of activation_apply"));
  assert_true(test_contains(clseg_last_error(ctx), path));
  clseg_tensor_free(x);
  clseg_tensor_free(y);
  clseg_context_free(ctx);
  test_rmdir(dir);
}

/* ---- the lookup order ---- */

/* The row of variant "v" that matches cls in the table text, by the cell ID it carries. */
static int matched_id(const char *table, const clseg__device_class *cls) {
  clseg__tune_row *rows = NULL;
  int n = 0;
  assert_int_equal(clseg__tune_parse(NULL, "hand.tsv", table, 0, &rows, &n), CLSEG_OK);
  const clseg__tune_row *r = clseg__tune_match(rows, n, cls, "v");
  const int id = r ? (int)r->cells[0].value : -1;
  free(rows);
  return id;
}

static void test_lookup_order(void **state) {
  (void)state;
  /* rows in the "wrong" order, so that file order cannot be what decides */
  static const char *const rows[] = {
      "v * * * ID=0\n",                    /* default */
      "v cpu * * ID=1\n",                  /* device type */
      "v cpu intel * ID=2\n",              /* vendor */
      "v cpu intel arch:avx5* ID=3\n",     /* architecture */
      "v cpu intel pthread-*Xeon* ID=4\n", /* device name */
      "w cpu intel pthread-*Xeon* ID=9\n", /* another variant */
      "v gpu nvidia arch:sm_90 ID=8\n",    /* another device */
  };
  const clseg__device_class cpu = {"cpu", "intel", "avx512", "pthread-skylake-Xeon", ""};
  const clseg__device_class gpu = {"gpu", "amd", "gfx90a", "gfx90a:sramecc+", ""};
  char table[1024];
  /* with rows 0..k present, the most specific present wins: name > arch > vendor > type > default
   */
  for (int k = 4; k >= 0; k--) {
    table[0] = 0;
    for (int i = 6; i >= 0; i--)
      if (i <= k || i > 4)
        strcat(table, rows[i]);
    assert_int_equal(matched_id(table, &cpu), k);
    assert_int_equal(matched_id(table, &gpu), 0); /* an unknown device gets the default row */
  }
  /* no row at all for the variant */
  assert_int_equal(matched_id("w * * * ID=1\n", &cpu), -1);
  /* ties: the first row in the table */
  assert_int_equal(matched_id("v cpu * * ID=5\nv cpu * * ID=6\nv * * * ID=0\n", &cpu), 5);
}

static void test_malformed_tables(void **state) {
  (void)state;
  static const struct {
    const char *text, *message;
  } cases[] = {
      {"v * * *\tMR\n", "t.tsv:1: 'MR' is not a NAME=value cell"},
      {"# c\nv * * * MR=x\n", "t.tsv:2: cell MR has value 'x', not a number"},
      {"v * *\n", "t.tsv:1: expected variant, device type, vendor, pattern"},
      {"v * * * MR=1 MR=2\n", "t.tsv:1: cell MR given twice"},
      {"v * * * mr=1\n", "t.tsv:1: cell name 'mr' is not an upper-case macro name"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    clseg__tune_row *rows = NULL;
    int n = 0;
    assert_int_equal(clseg__tune_parse(NULL, "t.tsv", cases[i].text, 0, &rows, &n), CLSEG_FORMAT);
    if (!test_contains(clseg_last_error(NULL), cases[i].message))
      fail_msg("table '%s': message '%s' lacks '%s'", cases[i].text, clseg_last_error(NULL),
               cases[i].message);
    free(rows);
  }
}

/* ---- user tuning files ---- */

/* A fresh cache folder with the test device's user tuning file holding text; returns its path. */
static void write_user_file(char *dir, size_t dsize, char *path, size_t psize, const char *text) {
  test_tmpdir(dir, dsize);
  setenv("CLSEG_CACHE_DIR", dir, 1);
  unsetenv("CLSEG_AS_DEVICE");
  unsetenv("CLSEG_TUNING");
  clseg_device_info info;
  assert_int_equal(clseg_device_select(test_device_spec(), &info), CLSEG_OK);
  assert_true(clseg_tuning_file(&info, path, psize));
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_malformed_user_file(void **state) {
  (void)state;
  static const struct {
    const char *text, *message;
  } cases[] = {
      {"# x\nconv2d_vec\t*\tMR=4\tFOO=1\n", ":2: unknown key 'FOO' for conv2d_vec (known: MR NV"},
      {"conv2d_vek\t*\tMR=4\n", ":1: unknown variant 'conv2d_vek'"},
      {"conv2d_vec\n", ":1: expected a variant and a shape"},
      {"conv2d_vec * MR=four\n", ":1: cell MR has value 'four', not a number"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char dir[256], path[1200], want[1400];
    write_user_file(dir, sizeof dir, path, sizeof path, cases[i].text);
    clseg_context *ctx = NULL;
    assert_int_equal(clseg_context_create(test_device_spec(), &ctx), CLSEG_FORMAT);
    assert_null(ctx);
    snprintf(want, sizeof want, "%s%s", path, cases[i].message);
    if (!test_contains(clseg_last_error(NULL), want))
      fail_msg("user file '%s': message '%s' lacks '%s'", cases[i].text, clseg_last_error(NULL),
               want);
    setenv("CLSEG_TUNING", "off", 1); /* the file is then ignored */
    assert_int_equal(clseg_context_create(test_device_spec(), &ctx), CLSEG_OK);
    clseg_context_free(ctx);
    unsetenv("CLSEG_TUNING");
    test_rmdir(dir);
  }
}

/* The variant, options and rows a conv of shape xs / ws gets on ctx. */
static void prepared(clseg_context *ctx, const int64_t xs[4], const int64_t ws[4], char *variant,
                     char *opts, char *rows) {
  clseg_tensor *w = test_tensor(ctx, ws, NULL);
  const clseg_conv2d_params p = {.pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1};
  clseg__conv2d_prep *prep = NULL;
  assert_int_equal(clseg__conv2d_prepare(ctx, xs, w, NULL, &p, &prep), CLSEG_OK);
  const char *o, *r;
  clseg__conv2d_prep_tuning(prep, &o, &r);
  strcpy(variant, clseg__conv2d_prep_variant(prep));
  strcpy(opts, o);
  strcpy(rows, r);
  clseg__conv2d_prep_free(prep);
  clseg_tensor_free(w);
}

/* A "*" row overrides a variant's cells on the device; a shape row chooses the variant of that
 * shape only; CLSEG_TUNING=off and a profile read neither. */
static void test_user_rows_apply(void **state) {
  (void)state;
  char dir[256], path[1200], text[512], v[64], o[512], r[512], want[1300];
  const int64_t xs[4] = {1, 32, 40, 40}, ws[4] = {32, 32, 3, 3}, xs2[4] = {1, 32, 24, 24};
  snprintf(text, sizeof text,
           "conv2d_vec\t*\tLWS=8\nconv2d_vec\tn1.c32.h40.w40.o32.k3x3.s1x1.d1x1.p1x1x1x1.g1"
           "\tLWS=2\n");
  write_user_file(dir, sizeof dir, path, sizeof path, text);
  clseg_context *ctx = test_context();
  prepared(ctx, xs, ws, v, o, r); /* the shape row beats the "*" row */
  assert_string_equal(v, "conv2d_vec");
  assert_true(test_contains(o, "-DLWS=2"));
  snprintf(want, sizeof want, "%s:2", path);
  assert_true(test_contains(r, want));
  prepared(ctx, xs2, ws, v, o, r); /* another shape: the auto rules pick Winograd, no user row */
  assert_string_equal(v, "conv2d_winograd");
  assert_false(test_contains(r, path));
  clseg_context_free(ctx);
  /* a "*" row for the variant the rules choose applies to every shape */
  snprintf(text, sizeof text, "conv2d_winograd\t*\tMR=2\tNV=1\n"); /* no shipped row has MR 2 */
  test_rmdir(dir);
  write_user_file(dir, sizeof dir, path, sizeof path, text);
  ctx = test_context();
  prepared(ctx, xs2, ws, v, o, r);
  assert_string_equal(v, "conv2d_winograd");
  assert_true(test_contains(o, "-DMR=2") && test_contains(o, "-DNV=1"));
  clseg_context_free(ctx);
  setenv("CLSEG_TUNING", "off", 1);
  ctx = test_context();
  prepared(ctx, xs2, ws, v, o, r);
  assert_false(test_contains(o, "-DMR=2"));
  clseg_context_free(ctx);
  unsetenv("CLSEG_TUNING");
  setenv("CLSEG_AS_DEVICE", "cpu-avx512", 1);
  ctx = test_context();
  prepared(ctx, xs2, ws, v, o, r);
  assert_false(test_contains(o, "-DMR=2"));
  clseg_context_free(ctx);
  unsetenv("CLSEG_AS_DEVICE");
  test_rmdir(dir);
}

/* A shape row naming another variant makes "auto" choose it for that shape. */
static void test_user_shape_chooses_variant(void **state) {
  (void)state;
  char dir[256], path[1200], v[64], o[512], r[512];
  const int64_t xs[4] = {1, 32, 24, 24}, ws[4] = {32, 32, 3, 3};
  write_user_file(dir, sizeof dir, path, sizeof path,
                  "conv2d_direct\tn1.c32.h24.w24.o32.k3x3.s1x1.d1x1.p1x1x1x1.g1\n");
  clseg_context *ctx = test_context();
  prepared(ctx, xs, ws, v, o, r);
  assert_string_equal(v, "conv2d_direct");
  clseg_context_free(ctx);
  test_rmdir(dir);
}

/* ---- profiles ---- */

static void test_profiles(void **state) {
  (void)state;
  clseg_context *ctx = NULL;
  setenv("CLSEG_AS_DEVICE", "nvidia-sm99", 1);
  assert_int_equal(clseg_context_create(test_device_spec(), &ctx), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(NULL), "unknown device profile 'nvidia-sm99'"));
  assert_true(test_contains(clseg_last_error(NULL), "nvidia-sm90 amd-gfx906"));
  static const char *const profiles[] = {"nvidia-sm80", "nvidia-sm90", "amd-gfx906", "amd-gfx90a",
                                         "amd-gfx1030", "intel-xe",    "cpu-avx2",   "cpu-avx512"};
  static const char *const arch[] = {"sm_80",   "sm_90", "gfx906", "gfx90a",
                                     "gfx1030", "xe",    "avx2",   "avx512"};
  for (int i = 0; i < 8; i++) {
    setenv("CLSEG_AS_DEVICE", profiles[i], 1);
    ctx = test_context();
    const clseg__device_class *c = clseg__tuning_class(ctx);
    assert_string_equal(c->arch, arch[i]);
    assert_string_equal(c->profile, profiles[i]);
    assert_string_equal(c->type, i < 6 ? "gpu" : "cpu");
    clseg_context_free(ctx);
  }
  /* the avx2 profile gets the avx2 rows: a smaller register tile */
  char v[64], o[512], r[512];
  const int64_t xs[4] = {1, 16, 9, 9}, ws[4] = {16, 16, 1, 1};
  setenv("CLSEG_AS_DEVICE", "cpu-avx2", 1);
  ctx = test_context();
  prepared(ctx, xs, ws, v, o, r);
  assert_true(test_contains(o, "-DMR=4") && test_contains(r, "arch:avx2"));
  clseg_context_free(ctx);
  unsetenv("CLSEG_AS_DEVICE");
}

/* Every variant of a search space (what clseg tune may write) has a default row, so that a tuning
 * file naming it loads (a missing row made the files of dilated networks unreadable). */
static void test_space_variants_have_rows(void **state) {
  (void)state;
  const clseg__kernel_source *space = NULL, *table = NULL;
  for (size_t i = 0; i < clseg__tuning_source_count; i++) {
    if (!strcmp(clseg__tuning_sources[i].name, "conv.space"))
      space = &clseg__tuning_sources[i];
    if (!strcmp(clseg__tuning_sources[i].name, "conv.tsv"))
      table = &clseg__tuning_sources[i];
  }
  assert_non_null(space);
  assert_non_null(table);
  clseg__tune_row *rows = NULL;
  int n = 0, checked = 0;
  assert_int_equal(clseg__tune_parse(NULL, "conv.tsv", (const char *)table->bytes, 0, &rows, &n),
                   CLSEG_OK);
  for (const char *p = (const char *)space->bytes; *p;
       p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "") {
    char variant[64] = "";
    if (*p == '#' || sscanf(p, "%63s", variant) != 1 || variant[0] == '#')
      continue;
    int found = 0;
    for (int i = 0; i < n && !found; i++)
      found = !strcmp(rows[i].variant, variant) && is_default(&rows[i]);
    if (!found)
      fail_msg("cl/tuning/conv.space names %s, which has no default row in conv.tsv", variant);
    checked++;
  }
  assert_true(checked >= 5);
  free(rows);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_space_variants_have_rows),
      cmocka_unit_test(test_lookup_order),
      cmocka_unit_test(test_malformed_tables),
      cmocka_unit_test(test_malformed_user_file),
      cmocka_unit_test(test_user_rows_apply),
      cmocka_unit_test(test_user_shape_chooses_variant),
      cmocka_unit_test(test_profiles),
      cmocka_unit_test(test_tables_whole_rows),
      cmocka_unit_test(test_zero_work_group_is_an_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

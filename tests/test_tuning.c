/* Tuning rows (lib/tuning.h): the shipped tables as embedded hold a whole configuration in every
 * row, and a work-group size a user tuning file sets to 0 is an error naming the row, not a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tables_whole_rows),
      cmocka_unit_test(test_zero_work_group_is_an_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

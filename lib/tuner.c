/* clseg_tune: for each distinct conv layer shape of a plan, times the candidates of the conv
 * family's search space (cl/tuning/conv.space) on random data, rejects any whose output differs
 * from conv2d_direct's beyond the family's tolerance, and writes the fastest into the device's
 * user tuning file (temp file + rename), which later contexts on that device read. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clseg_graph.h"
#include "file.h"
#include "plan_internal.h"
#include "tuning.h"

#define MAX_SHAPES     256
#define MAX_CANDIDATES 64
/* A winner must beat the shipped rows by this much: less is noise on a shared machine. */
#define MIN_GAIN 0.03
/* Winograd F(4x4) is within ~1e-4 of the output's scale (tests/test_conv.c); a wrong kernel is off
 * by O(1). */
#define TOLERANCE 1e-3

typedef struct {
  clseg__conv_job j; /* geometry only */
  char key[CLSEG__TUNE_SHAPE_LEN];
  double flops;
} tune_shape;

typedef struct {
  clseg__tune_row row; /* variant and the cells it sets */
} candidate;

/* ---- the search space ---- */

/* Expands one space line "variant [@type] NAME=a,b NAME=c" into candidates (their cartesian
 * product); a line for another device type (@gpu, @cpu) gives none. */
static int expand(const char *line, const char *type, candidate *out, int cap) {
  char buf[512], *save = NULL;
  snprintf(buf, sizeof buf, "%s", line);
  char *variant = strtok_r(buf, " \t\r", &save);
  if (!variant || cap < 1)
    return 0;
  char names[8][24];
  double vals[8][8];
  int nvals[8], ncells = 0;
  for (char *w; (w = strtok_r(NULL, " \t\r", &save)) != NULL && ncells < 8;) {
    if (w[0] == '@') {
      if (strcmp(w + 1, type))
        return 0;
      continue;
    }
    char *eq = strchr(w, '=');
    if (!eq || eq - w >= 24)
      return -1;
    snprintf(names[ncells], sizeof names[ncells], "%.*s", (int)(eq - w), w);
    nvals[ncells] = 0;
    for (char *v = eq + 1; *v && nvals[ncells] < 8;) {
      char *end = NULL;
      vals[ncells][nvals[ncells]++] = strtod(v, &end);
      if (end == v)
        return -1;
      v = *end == ',' ? end + 1 : end;
    }
    ncells++;
  }
  int n = 1;
  for (int c = 0; c < ncells; c++)
    n *= nvals[c];
  if (n > cap)
    n = cap;
  for (int i = 0; i < n; i++) {
    clseg__tune_row *r = &out[i].row;
    memset(r, 0, sizeof *r);
    snprintf(r->variant, sizeof r->variant, "%s", variant);
    snprintf(r->shape, sizeof r->shape, "*");
    snprintf(r->source, sizeof r->source, "clseg tune candidate");
    for (int c = 0, rest = i; c < ncells; c++) {
      snprintf(r->cells[c].name, sizeof r->cells[c].name, "%.23s", names[c]);
      r->cells[c].value = vals[c][rest % nvals[c]];
      rest /= nvals[c];
    }
    r->ncells = ncells;
  }
  return n;
}

static int load_space(clseg_context *ctx, const char *family, candidate *out, int cap) {
  char want[64];
  snprintf(want, sizeof want, "%s.space", family);
  for (size_t i = 0; i < clseg__tuning_source_count; i++) {
    if (strcmp(clseg__tuning_sources[i].name, want))
      continue;
    int n = 0;
    for (const char *p = (const char *)clseg__tuning_sources[i].bytes; *p;) {
      const char *nl = strchr(p, '\n');
      size_t len = nl ? (size_t)(nl - p) : strlen(p);
      char line[512];
      snprintf(line, sizeof line, "%.*s", (int)len, p);
      p += nl ? len + 1 : len;
      if (!line[0] || line[0] == '#')
        continue;
      int got = expand(line, clseg__tuning_class(ctx)->type, out + n, cap - n);
      if (got < 0) {
        clseg__fail(ctx, CLSEG_INTERNAL, "cl/tuning/%s: malformed line '%s'", want, line);
        return -1;
      }
      n += got;
    }
    return n;
  }
  return 0;
}

/* ---- the shapes of a plan ---- */

static int collect_shapes(const clseg_plan *p, tune_shape *out, int cap) {
  int n = 0;
  for (int i = 0; i < p->norder; i++) {
    const clseg__step *s = &p->steps[p->order[i]];
    if (!s->conv)
      continue;
    tune_shape t = {.j = s->conv->j, .flops = s->flops};
    clseg__conv_shape_key(&t.j, t.key, sizeof t.key);
    int seen = 0;
    for (int k = 0; k < n && !seen; k++)
      if (!strcmp(out[k].key, t.key)) {
        out[k].flops += t.flops;
        seen = 1;
      }
    if (!seen && n < cap)
      out[n++] = t;
  }
  return n;
}

/* ---- measuring one candidate ---- */

typedef struct {
  clseg_tensor *x, *w, *b, *y;
  float *ref, *got;
  size_t ny;
} bench_data;

static clseg_conv2d_params params_of(const clseg__conv_job *j, const char *variant) {
  return (clseg_conv2d_params){
      j->sh,  j->sw, j->pt, j->pl,     j->pb,
      j->pr,  j->dh, j->dw, j->groups, {(clseg_act_kind)j->act, j->alpha, j->beta},
      variant};
}

static void fill(float *v, size_t n, uint64_t seed, float scale) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    v[i] = scale * ((float)(seed >> 40) / 8388608.0f - 1.0f);
  }
}

static void data_free(bench_data *d) {
  clseg_tensor_free(d->x);
  clseg_tensor_free(d->w);
  clseg_tensor_free(d->b);
  clseg_tensor_free(d->y);
  free(d->ref);
  free(d->got);
  memset(d, 0, sizeof *d);
}

/* Random input and weights of trained scale, and conv2d_direct's output as the reference. */
static clseg_status data_make(clseg_context *ctx, const clseg__conv_job *j, bench_data *d) {
  const int64_t xs[4] = {j->n, j->cin, j->h, j->w_};
  const int64_t ws[4] = {j->cout, j->cin / j->groups, j->kh, j->kw};
  const int64_t bs[4] = {j->cout, 1, 1, 1}, ys[4] = {j->n, j->cout, j->oh, j->ow};
  const size_t nx = (size_t)(xs[0] * xs[1] * xs[2] * xs[3]);
  const size_t nw = (size_t)(ws[0] * ws[1] * ws[2] * ws[3]);
  memset(d, 0, sizeof *d);
  d->ny = (size_t)(ys[0] * ys[1] * ys[2] * ys[3]);
  float *hx = malloc(nx * sizeof *hx), *hw = malloc(nw * sizeof *hw);
  float *hb = malloc((size_t)j->cout * sizeof *hb);
  d->ref = malloc(d->ny * sizeof *d->ref);
  d->got = malloc(d->ny * sizeof *d->got);
  clseg_status s = hx && hw && hb && d->ref && d->got ? CLSEG_OK : CLSEG_OUT_OF_MEMORY;
  if (s == CLSEG_OK) {
    fill(hx, nx, 1, 1.0f);
    fill(hw, nw, 2, sqrtf(2.0f / (float)(ws[1] * ws[2] * ws[3])));
    fill(hb, (size_t)j->cout, 3, 0.1f);
  }
  if (s == CLSEG_OK && (s = clseg_tensor_create(ctx, xs, &d->x)) == CLSEG_OK &&
      (s = clseg_tensor_create(ctx, ws, &d->w)) == CLSEG_OK &&
      (s = clseg_tensor_create(ctx, bs, &d->b)) == CLSEG_OK &&
      (s = clseg_tensor_create(ctx, ys, &d->y)) == CLSEG_OK &&
      (s = clseg_tensor_upload(d->x, hx, nx)) == CLSEG_OK &&
      (s = clseg_tensor_upload(d->w, hw, nw)) == CLSEG_OK &&
      (s = clseg_tensor_upload(d->b, hb, (size_t)j->cout)) == CLSEG_OK) {
    const clseg_conv2d_params p = params_of(j, "conv2d_direct");
    if ((s = clseg_conv2d(ctx, d->x, d->w, d->b, NULL, &p, d->y)) == CLSEG_OK)
      s = clseg_tensor_download(d->y, d->ref, d->ny);
  }
  free(hx);
  free(hw);
  free(hb);
  if (s != CLSEG_OK)
    data_free(d);
  return s;
}

/* The largest |got - ref| over the largest |ref| (at least 1). */
static double rel_error(const float *got, const float *ref, size_t n) {
  double worst = 0.0, scale = 1.0;
  for (size_t i = 0; i < n; i++) {
    const double e = fabs((double)got[i] - (double)ref[i]);
    worst = e > worst || e != e ? e : worst;
    scale = fabs((double)ref[i]) > scale ? fabs((double)ref[i]) : scale;
  }
  return worst / scale;
}

/* Prepares variant (NULL: auto, with the rows as they are) and returns its median time in ms, or
 * a negative value when it does not apply or computes a wrong result (*why says which). */
static double measure(clseg_context *ctx, const clseg__conv_job *j, bench_data *d,
                      const char *variant, int runs, const char **why, char *chosen,
                      size_t chosen_size) {
  clseg__conv2d_prep *prep = NULL;
  const int64_t xs[4] = {j->n, j->cin, j->h, j->w_};
  const clseg_conv2d_params p = params_of(j, variant);
  *why = "unsupported";
  if (clseg__conv2d_prepare(ctx, xs, d->w, d->b, &p, &prep) != CLSEG_OK)
    return -1.0;
  snprintf(chosen, chosen_size, "%s", clseg__conv2d_prep_variant(prep));
  double times[16], best = -1.0;
  clseg_status s = clseg__conv2d_run(ctx, prep, d->x, NULL, d->y); /* builds lazily, warms up */
  if (s == CLSEG_OK)
    s = clseg_tensor_download(d->y, d->got, d->ny);
  *why = "wrong result";
  if (s == CLSEG_OK && rel_error(d->got, d->ref, d->ny) <= TOLERANCE) {
    *why = NULL;
    if (runs > 16)
      runs = 16;
    /* a sample chains enough runs to last ~2 ms: one wait per sample, as a network run waits once
     */
    double t0 = clseg__now();
    s = clseg__conv2d_run(ctx, prep, d->x, NULL, d->y);
    if (s == CLSEG_OK)
      s = clseg_finish(ctx);
    const double once = (clseg__now() - t0) * 1e3;
    const int reps = once >= 2.0 ? 1 : once <= 0.04 ? 50 : (int)(2.0 / once) + 1;
    for (int r = 0; r < runs && s == CLSEG_OK; r++) {
      t0 = clseg__now();
      for (int k = 0; k < reps && s == CLSEG_OK; k++)
        s = clseg__conv2d_run(ctx, prep, d->x, NULL, d->y);
      if (s == CLSEG_OK)
        s = clseg_finish(ctx);
      times[r] = (clseg__now() - t0) * 1e3 / reps;
    }
    for (int a = 1; a < runs; a++) /* insertion sort: runs is small */
      for (int b = a; b > 0 && times[b] < times[b - 1]; b--) {
        const double t = times[b];
        times[b] = times[b - 1];
        times[b - 1] = t;
      }
    best = s == CLSEG_OK ? times[runs / 2] : -1.0;
    if (s != CLSEG_OK)
      *why = "failed to run";
  }
  clseg__conv2d_prep_free(prep);
  return best;
}

/* ---- the user tuning file ---- */

static int write_row(FILE *f, const clseg__tune_row *r) {
  fprintf(f, "%s\t%s", r->variant, r->shape);
  for (int c = 0; c < r->ncells; c++)
    fprintf(f, "\t%s=%.10g", r->cells[c].name, r->cells[c].value);
  return fprintf(f, "\n") > 0;
}

/* Rewrites the file with the rows of other shapes kept and the new ones appended. */
static clseg_status write_file(clseg_context *ctx, const char *path, const clseg__tune_row *rows,
                               int n, const char *const *notes) {
  char dir[1200], why[CLSEG__FILE_WHY_LEN];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) {
    *slash = 0;
    clseg__mkdir_p(dir);
  }
  clseg__file_writer w;
  clseg_status s = clseg__file_write_open(&w, path, 0, why, sizeof why);
  if (s != CLSEG_OK)
    return clseg__fail(ctx, s, "tuning file: %s", why);
  FILE *f = w.f;
  const clseg_device_info *i = &ctx->info;
  const time_t now = time(NULL);
  char when[64];
  strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime(&now));
  fprintf(
      f,
      "# clseg tuning file v1, written by clseg tune on %s\n# device: %s | driver %s | %s %s\n"
      "# Rows override cl/tuning/*.tsv for this device: variant, layer shape, NAME=value cells.\n"
      "# CLSEG_TUNING=off ignores this file; delete it to forget the tuning.\n",
      when, i->name, i->driver_version, i->platform_name, i->platform_version);
  int nold = 0, ok = 1;
  const clseg__tune_row *old = clseg__tune_user_rows(ctx, &nold);
  for (int k = 0; k < nold && ok; k++) {
    int replaced = 0;
    for (int m = 0; m < n && !replaced; m++)
      replaced = !strcmp(old[k].shape, rows[m].shape);
    ok = replaced || write_row(f, &old[k]);
  }
  for (int m = 0; m < n && ok; m++)
    ok = fprintf(f, "# %s\n", notes[m]) > 0 && write_row(f, &rows[m]);
  if (!ok) {
    clseg__file_write_abort(&w);
    return clseg__fail(ctx, CLSEG_IO, "tuning file: cannot write '%s'", path);
  }
  s = clseg__file_write_commit(&w, why, sizeof why);
  return s == CLSEG_OK ? CLSEG_OK : clseg__fail(ctx, s, "tuning file: %s", why);
}

/* ---- the search ---- */

static int by_flops(const void *a, const void *b) {
  const double fa = ((const tune_shape *)a)->flops, fb = ((const tune_shape *)b)->flops;
  return fa < fb ? 1 : fa > fb ? -1 : 0;
}

static void describe(const clseg__tune_row *r, char *buf, size_t size) {
  int n = snprintf(buf, size, "%s", r->variant);
  for (int c = 0; c < r->ncells && n > 0 && (size_t)n < size; c++)
    n += snprintf(buf + n, size - (size_t)n, " %s=%g", r->cells[c].name, r->cells[c].value);
}

/* Whether candidate r is what the shipped rows already give: the same variant and cell values. */
static int same_as_rows(clseg_context *ctx, const clseg__tune_row *r, const char *rows_variant) {
  const char *keys[CLSEG__TUNE_MAX_CELLS];
  double v[CLSEG__TUNE_MAX_CELLS];
  if (strcmp(r->variant, rows_variant))
    return 0;
  for (int c = 0; c < r->ncells; c++)
    keys[c] = r->cells[c].name;
  if (clseg__tune_get(ctx, r->variant, NULL, keys, r->ncells, v, NULL) != CLSEG_OK)
    return 0;
  for (int c = 0; c < r->ncells; c++)
    if (v[c] != r->cells[c].value)
      return 0;
  return 1;
}

typedef struct {
  clseg_context *ctx;
  const clseg_tune_options *opt;
  candidate *cands;
  int ncands;
  double t0;
  clseg_tune_result *res;
} search;

static int over_budget(const search *se) {
  return se->opt->budget_s > 0 && clseg__now() - se->t0 > se->opt->budget_s;
}

static void report(const search *se, int i, int n, const char *key, const char *best,
                   double best_ms, double default_ms) {
  if (!se->opt->progress)
    return;
  const double el = clseg__now() - se->t0;
  const clseg_tune_progress pr = {
      i,       n,
      key,     best,
      best_ms, default_ms,
      el,      se->opt->budget_s > 0 ? (se->opt->budget_s > el ? se->opt->budget_s - el : 0) : -1};
  se->opt->progress(se->opt->user, &pr);
}

/* Tunes one shape; fills *row (and returns 1) when a candidate beat the shipped rows. */
static clseg_status tune_shape_one(search *se, const tune_shape *sh, int i, int n,
                                   clseg__tune_row *row, char *note, size_t note_size, int *won) {
  clseg_context *ctx = se->ctx;
  bench_data d;
  const char *why;
  char dflt[64], chosen[64], best_name[256];
  *won = 0;
  clseg_status s = data_make(ctx, &sh->j, &d);
  if (s != CLSEG_OK)
    return s;
  const int runs = se->opt->runs > 0 ? se->opt->runs : 5;
  double dms = measure(ctx, &sh->j, &d, NULL, runs, &why, dflt, sizeof dflt);
  double best = dms;
  int best_c = -1;
  snprintf(best_name, sizeof best_name, "%s (rows)", dflt);
  report(se, i, n, sh->key, best_name, best, dms);
  for (int c = 0; c < se->ncands && !over_budget(se); c++) {
    if (same_as_rows(ctx, &se->cands[c].row, dflt))
      continue; /* the shipped rows' own choice: measured above */
    clseg__tune_force(ctx, &se->cands[c].row);
    const double ms =
        measure(ctx, &sh->j, &d, se->cands[c].row.variant, runs, &why, chosen, sizeof chosen);
    clseg__tune_force(ctx, NULL);
    if (ms < 0 && why && !strcmp(why, "unsupported"))
      continue;
    se->res->candidates++;
    if (ms < 0) {
      se->res->rejected++;
      continue;
    }
    if (best < 0 || ms < best) {
      best = ms;
      best_c = c;
      describe(&se->cands[c].row, best_name, sizeof best_name);
    }
    report(se, i, n, sh->key, best_name, best, dms);
  }
  /* the shipped rows once more, last: the first measurement ran on a cold cache */
  double again = -1.0;
  if (dms >= 0)
    again = measure(ctx, &sh->j, &d, NULL, runs, &why, dflt, sizeof dflt);
  if (again >= 0 && again < dms)
    dms = again;
  data_free(&d);
  if (dms < 0)
    return clseg__fail(ctx, CLSEG_INTERNAL, "clseg tune: layer %s: the shipped rows' variant %s",
                       sh->key, why ? why : "failed");
  se->res->default_ms += dms;
  if (best_c >= 0 && best < dms * (1.0 - MIN_GAIN)) {
    *row = se->cands[best_c].row;
    snprintf(row->shape, sizeof row->shape, "%s", sh->key);
    snprintf(note, note_size,
             "%.95s: %.40s %.3f ms with the shipped rows -> %.150s %.3f ms (%.2fx)", sh->key, dflt,
             dms, best_name, best, dms / best);
    se->res->tuned_ms += best;
    *won = 1;
  } else {
    se->res->tuned_ms += dms;
  }
  return CLSEG_OK;
}

clseg_status clseg_tune(clseg_plan *plan, const clseg_tune_options *opt, clseg_tune_result *out) {
  static const clseg_tune_options none = {0};
  if (!plan || !out)
    return clseg__fail(plan ? plan->ctx : NULL, CLSEG_INVALID_ARGUMENT,
                       "clseg_tune: NULL argument");
  clseg_context *ctx = plan->ctx;
  memset(out, 0, sizeof *out);
  if (!opt)
    opt = &none;
  if (clseg__tuning_class(ctx)->profile[0])
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                       "clseg tune measures the device itself: unset CLSEG_AS_DEVICE (%s)",
                       clseg__tuning_class(ctx)->profile);
  if (!clseg__tuning_file_path(ctx, out->path, sizeof out->path))
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                       "clseg tune: no cache folder for the tuning file (set CLSEG_CACHE_DIR, "
                       "XDG_CACHE_HOME or HOME)");
  tune_shape *shapes = calloc(MAX_SHAPES, sizeof *shapes);
  candidate *cands = calloc(MAX_CANDIDATES, sizeof *cands);
  clseg__tune_row *rows = calloc(MAX_SHAPES, sizeof *rows);
  char(*notes)[400] = calloc(MAX_SHAPES, sizeof *notes);
  const char **note_ptrs = calloc(MAX_SHAPES, sizeof *note_ptrs);
  clseg_status s = CLSEG_OK;
  if (!shapes || !cands || !rows || !notes || !note_ptrs)
    s = clseg__fail(ctx, CLSEG_OUT_OF_MEMORY, "clseg tune: out of host memory");
  search se = {ctx, opt, cands, 0, clseg__now(), out};
  if (s == CLSEG_OK && (se.ncands = load_space(ctx, "conv", cands, MAX_CANDIDATES)) < 0)
    s = CLSEG_INTERNAL;
  const int n = s == CLSEG_OK ? collect_shapes(plan, shapes, MAX_SHAPES) : 0;
  qsort(shapes, (size_t)n, sizeof *shapes, by_flops); /* the costliest first, within the budget */
  out->shapes = n;
  clseg__tune_user_off(ctx, 1);
  int nrows = 0;
  for (int i = 0; i < n && s == CLSEG_OK && !over_budget(&se); i++) {
    int won = 0;
    s = tune_shape_one(&se, &shapes[i], i, n, &rows[nrows], notes[nrows], sizeof notes[nrows],
                       &won);
    out->measured++;
    if (won) {
      note_ptrs[nrows] = notes[nrows];
      nrows++;
    }
  }
  clseg__tune_user_off(ctx, 0);
  out->tuned = nrows;
  if (s == CLSEG_OK)
    s = write_file(ctx, out->path, rows, nrows, note_ptrs);
  if (s == CLSEG_OK)
    s = clseg__tuning_reload(ctx);
  out->seconds = clseg__now() - se.t0;
  free(shapes);
  free(cands);
  free(rows);
  free(notes);
  free(note_ptrs);
  return s;
}

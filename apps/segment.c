/* The per-image segmentation pipeline of `clseg run` and `clseg eval`: pre-processing from the
 * model's metadata, planned execution (whole image or sliding tiles), post-processing, and the
 * output files. */
#include "segment.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "postprocess.h"

#ifndef CLSEG_INSTALLED_MODEL
#define CLSEG_INSTALLED_MODEL ""
#endif
#ifndef CLSEG_SOURCE_MODEL
#define CLSEG_SOURCE_MODEL ""
#endif

const char *seg_default_model(void) {
  const char *env = getenv("CLSEG_DEFAULT_MODEL");
  if (env && *env)
    return env;
  if (*CLSEG_INSTALLED_MODEL && access(CLSEG_INSTALLED_MODEL, R_OK) == 0)
    return CLSEG_INSTALLED_MODEL;
  return CLSEG_SOURCE_MODEL;
}

void seg_stem(const char *path, char *out, size_t size) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  snprintf(out, size, "%s", base);
  char *dot = strrchr(out, '.');
  if (dot && dot != out)
    *dot = 0;
}

clseg_status seg_worker_init(seg_worker *w, const char *device_spec, const char *model_path,
                             int64_t size_h, int64_t size_w, char *err, size_t errlen) {
  memset(w, 0, sizeof *w);
  w->size_h = size_h;
  w->size_w = size_w;
  clseg_status s = clseg_context_create(device_spec, &w->ctx);
  if (s != CLSEG_OK) {
    snprintf(err, errlen, "%s", clseg_last_error(NULL));
    return s;
  }
  const clseg_model_options mo = {size_h, size_w};
  s = clseg_model_load_ex(model_path, &mo, &w->model);
  if (s != CLSEG_OK) {
    snprintf(err, errlen, "%s", clseg_last_error(NULL));
    clseg_context_free(w->ctx);
    w->ctx = NULL;
  }
  return s;
}

void seg_worker_free(seg_worker *w) {
  for (int i = 0; i < SEG_MAX_PLANS; i++)
    clseg_plan_free(w->plans[i].plan);
  clseg_model_free(w->model);
  clseg_context_free(w->ctx);
  memset(w, 0, sizeof *w);
}

clseg_status seg_plan_for(seg_worker *w, int64_t n, int64_t h, int64_t wd, clseg_plan **out,
                          char *err, size_t errlen) {
  seg_plan_slot *victim = &w->plans[0];
  w->uses++;
  for (int i = 0; i < SEG_MAX_PLANS; i++) {
    seg_plan_slot *s = &w->plans[i];
    if (s->plan && s->h == h && s->w == wd) {
      int64_t in[4];
      clseg_plan_input_shape(s->plan, in);
      if (in[0] == n) {
        s->last_use = w->uses;
        *out = s->plan;
        return CLSEG_OK;
      }
    }
    if (!s->plan || s->last_use < victim->last_use)
      victim = s;
  }
  clseg_plan_free(victim->plan);
  victim->plan = NULL;
  double t0 = cli_now();
  clseg_status st =
      clseg_plan_create(w->ctx, clseg_model_graph(w->model), n, h, wd, &w->plan_opt, &victim->plan);
  w->plan_seconds += cli_now() - t0;
  if (st != CLSEG_OK) {
    snprintf(err, errlen, "%s%s", clseg_last_error(w->ctx),
             st == CLSEG_OUT_OF_MEMORY ? " (try --tile 512 to segment the image in tiles)" : "");
    return st;
  }
  victim->h = h;
  victim->w = wd;
  victim->last_use = w->uses;
  *out = victim->plan;
  return CLSEG_OK;
}

int seg_size_conflict(const seg_worker *w, char *err, size_t errlen) {
  int64_t fh, fw;
  if (w->size_h <= 0 || !clseg_model_input_size(w->model, &fh, &fw) ||
      (fh == w->size_h && fw == w->size_w))
    return 0;
  snprintf(err, errlen, "--size %lldx%lld: this model takes a fixed %lldx%lld input",
           (long long)w->size_w, (long long)w->size_h, (long long)fw, (long long)fh);
  return 1;
}

/* The network input size for an image: the model's own, else the image's rounded to the model's
 * multiple. */
static void input_size(const seg_worker *w, int img_h, int img_w, int64_t *h, int64_t *wd) {
  if (clseg_model_input_size(w->model, h, wd) && *h > 0 && *wd > 0)
    return;
  if (w->size_h > 0) {
    *h = w->size_h;
    *wd = w->size_w;
    return;
  }
  int64_t m = clseg_model_size_multiple(w->model);
  *h = (img_h + m / 2) / m * m;
  *wd = (img_w + m / 2) / m * m;
  if (*h < m)
    *h = m;
  if (*wd < m)
    *wd = m;
}

/* Fills NCHW data from an RGB image, resized to (wd, h), normalised with the model's mean and std.
 */
static clseg_status to_input(const seg_worker *w, const clseg_image *rgb, int x0, int y0, int64_t h,
                             int64_t wd, int crop, float *data) {
  const float *mean = clseg_model_mean(w->model), *std = clseg_model_std(w->model);
  int64_t c = clseg_model_in_channels(w->model);
  if (!crop) {
    clseg_tensor_params tp = {.width = (int)wd, .height = (int)h};
    for (int i = 0; i < 3; i++) {
      tp.mean[i] = mean[c == 3 ? i : 0];
      tp.std[i] = std[c == 3 ? i : 0];
    }
    if (c == 3)
      return clseg_image_to_tensor_data(rgb, &tp, data);
  }
  /* a tile crop (zero beyond the image), or a gray network: sample pixels directly */
  for (int64_t ch = 0; ch < c; ch++)
    for (int64_t y = 0; y < h; y++)
      for (int64_t x = 0; x < wd; x++) {
        int sx = crop ? x0 + (int)x : (int)((double)(x + 0.5) * rgb->width / (double)wd);
        int sy = crop ? y0 + (int)y : (int)((double)(y + 0.5) * rgb->height / (double)h);
        float v = 0.0f;
        if (sx < rgb->width && sy < rgb->height) {
          const uint8_t *p = rgb->data + ((size_t)sy * (size_t)rgb->width + (size_t)sx) * 3;
          float u = c == 3 ? p[ch] : (0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]);
          v = (u / 255.0f - mean[c == 3 ? ch : 0]) / std[c == 3 ? ch : 0];
        }
        data[(ch * h + y) * wd + x] = v;
      }
  return CLSEG_OK;
}

/* Runs the network on NCHW input data of [n, C, h, wd]; *out is malloc'd with os's count. */
static clseg_status run_net(seg_worker *w, int64_t n, const float *in, int64_t h, int64_t wd,
                            float **out, int64_t os[4], double *ms, char *err, size_t errlen) {
  clseg_plan *plan = NULL;
  clseg_status s = seg_plan_for(w, n, h, wd, &plan, err, errlen);
  if (s != CLSEG_OK)
    return s;
  clseg_plan_output_shape(plan, os);
  size_t count = (size_t)(os[0] * os[1] * os[2] * os[3]);
  *out = malloc(count * sizeof **out);
  if (!*out) {
    snprintf(err, errlen, "out of host memory for the output");
    return CLSEG_OUT_OF_MEMORY;
  }
  double t0 = cli_now();
  s = clseg_plan_run(plan, in, (size_t)(n * clseg_model_in_channels(w->model) * h * wd), *out,
                     count);
  *ms += (cli_now() - t0) * 1e3;
  if (s != CLSEG_OK) {
    snprintf(err, errlen, "%s", clseg_last_error(w->ctx));
    free(*out);
    *out = NULL;
  }
  return s;
}

static post_params post_of(const seg_worker *w, int64_t k, const seg_options *o) {
  post_params p = {(int)k, clseg_model_output_is_probability(w->model), o->threshold};
  return p;
}

static clseg_status seg_whole(seg_worker *w, const clseg_image *rgb, const seg_options *o,
                              seg_result *r, uint8_t *mask, float *probs, char *err,
                              size_t errlen) {
  int64_t h, wd, c = clseg_model_in_channels(w->model), os[4];
  input_size(w, rgb->height, rgb->width, &h, &wd);
  r->in_h = h;
  r->in_w = wd;
  r->tiles = 1;
  float *in = malloc((size_t)(c * h * wd) * sizeof *in), *out = NULL;
  if (!in) {
    snprintf(err, errlen, "out of host memory for a %lldx%lld input", (long long)wd, (long long)h);
    return CLSEG_OUT_OF_MEMORY;
  }
  clseg_status s = to_input(w, rgb, 0, 0, h, wd, 0, in);
  if (s != CLSEG_OK)
    snprintf(err, errlen, "%s", clseg_last_error(NULL));
  else
    s = run_net(w, 1, in, h, wd, &out, os, &r->net_ms, err, errlen);
  free(in);
  if (s != CLSEG_OK)
    return s;
  if (o->npy_out && clseg_npy_write(o->npy_out, out, os, 4) != CLSEG_OK) {
    snprintf(err, errlen, "%s", clseg_last_error(NULL));
    free(out);
    return CLSEG_IO;
  }
  const post_params pp = post_of(w, os[1], o);
  post_resize(out, (int)os[2], (int)os[3], rgb->width, rgb->height, &pp, mask, probs);
  free(out);
  return CLSEG_OK;
}

/* Tile origins along an axis: every `step`, the last one flush with the end; *n is their count. */
static int *tile_starts(int size, int tile, int overlap, int *n) {
  int step = tile - overlap, count = size > tile ? (size - tile + step - 1) / step + 1 : 1;
  int *starts = malloc((size_t)count * sizeof *starts);
  if (!starts)
    return NULL;
  for (int i = 0; i < count; i++)
    starts[i] = i * step < size - tile ? i * step : (size > tile ? size - tile : 0);
  *n = count;
  return starts;
}

/* Blending weight across a tile: ramps up over the overlap at both ends, so seams fade. */
static float ramp(int t, int size, int overlap) {
  if (overlap <= 0)
    return 1.0f;
  float a = (float)(t + 1) / (float)(overlap + 1), b = (float)(size - t) / (float)(overlap + 1);
  float r = a < b ? a : b;
  return r < 1.0f ? r : 1.0f;
}

typedef struct {
  int K, TH, TW, W, H;
  float *acc, *wsum; /* K x TH x W and TH x W: the rows [by, by + TH) */
  int by;
} band;

/* Finalises rows [b->by, to) of the band into mask / probs and moves the band down to start at
 * `to`. */
static void band_advance(band *b, int to, const post_params *pp, uint8_t *mask, float *probs) {
  float v[256], pr[256];
  size_t big = (size_t)b->W * (size_t)b->H, plane = (size_t)b->TH * (size_t)b->W;
  int done = to - b->by;
  for (int r = 0; r < done && b->by + r < b->H; r++)
    for (int x = 0; x < b->W; x++) {
      size_t i = (size_t)r * (size_t)b->W + (size_t)x,
             o = (size_t)(b->by + r) * (size_t)b->W + (size_t)x;
      float ws = b->wsum[i] > 0 ? b->wsum[i] : 1.0f;
      for (int c = 0; c < b->K && c < 256; c++)
        v[c] = b->acc[(size_t)c * plane + i] / ws;
      post_pixel(v, pp, &mask[o], probs ? pr : NULL);
      for (int c = 0; probs && c < b->K && c < 256; c++)
        probs[(size_t)c * big + o] = pr[c];
    }
  size_t keep = (size_t)(b->TH - done) * (size_t)b->W, gone = (size_t)done * (size_t)b->W;
  for (int c = 0; c < b->K; c++) {
    float *a = b->acc + (size_t)c * plane;
    memmove(a, a + gone, keep * sizeof *a);
    memset(a + keep, 0, gone * sizeof *a);
  }
  memmove(b->wsum, b->wsum + gone, keep * sizeof *b->wsum);
  memset(b->wsum + keep, 0, gone * sizeof *b->wsum);
  b->by = to;
}

/* Adds one tile's output (K x TH x TW at image resolution) at column x into the band. */
static void band_add(band *b, const float *out, int x, int overlap) {
  size_t plane = (size_t)b->TH * (size_t)b->W, tplane = (size_t)b->TH * (size_t)b->TW;
  for (int ty = 0; ty < b->TH && b->by + ty < b->H; ty++)
    for (int tx = 0; tx < b->TW && x + tx < b->W; tx++) {
      float wgt = ramp(ty, b->TH, overlap) * ramp(tx, b->TW, overlap);
      size_t i = (size_t)ty * (size_t)b->W + (size_t)(x + tx),
             t = (size_t)ty * (size_t)b->TW + (size_t)tx;
      b->wsum[i] += wgt;
      for (int c = 0; c < b->K; c++)
        b->acc[(size_t)c * plane + i] += wgt * out[(size_t)c * tplane + t];
    }
}

static clseg_status seg_tiled(seg_worker *w, const clseg_image *rgb, const seg_options *o,
                              seg_result *r, uint8_t *mask, float *probs, char *err,
                              size_t errlen) {
  int64_t m = clseg_model_size_multiple(w->model), c = clseg_model_in_channels(w->model), fh, fw,
          os[4];
  int fixed = clseg_model_input_size(w->model, &fh, &fw);
  if (fixed && (fh != o->tile || fw != o->tile)) {
    snprintf(err, errlen, "--tile %d: this model takes a fixed %lldx%lld input; use --tile %lld",
             o->tile, (long long)fw, (long long)fh, (long long)fh);
    return CLSEG_INVALID_ARGUMENT;
  }
  band b = {.W = rgb->width, .H = rgb->height};
  b.TH = rgb->height >= o->tile ? o->tile : (int)((rgb->height + m - 1) / m * m);
  b.TW = rgb->width >= o->tile ? o->tile : (int)((rgb->width + m - 1) / m * m);
  int ny = 0, nx = 0, *ys = tile_starts(b.H, b.TH, o->overlap, &ny),
      *xs = tile_starts(b.W, b.TW, o->overlap, &nx);
  float *in = malloc((size_t)(c * b.TH * b.TW) * sizeof *in), *out = NULL;
  clseg_status s = in && ys && xs ? CLSEG_OK : CLSEG_OUT_OF_MEMORY;
  post_params pp = {0};
  r->in_h = b.TH;
  r->in_w = b.TW;
  for (int ty = 0; ty < ny && s == CLSEG_OK; ty++) {
    if (ty > 0)
      band_advance(&b, ys[ty], &pp, mask, probs);
    for (int tx = 0; tx < nx && s == CLSEG_OK; tx++) {
      to_input(w, rgb, xs[tx], ys[ty], b.TH, b.TW, 1, in);
      s = run_net(w, 1, in, b.TH, b.TW, &out, os, &r->net_ms, err, errlen);
      if (s == CLSEG_OK && (os[2] != b.TH || os[3] != b.TW)) {
        snprintf(err, errlen,
                 "--tile needs a network whose output has its input's size (%lldx%lld gives "
                 "%lldx%lld)",
                 (long long)b.TW, (long long)b.TH, (long long)os[3], (long long)os[2]);
        s = CLSEG_UNSUPPORTED;
      }
      if (s == CLSEG_OK && !b.acc) { /* the first tile tells the class count */
        b.K = (int)os[1];
        pp = post_of(w, os[1], o);
        b.acc = calloc((size_t)b.K * (size_t)b.TH * (size_t)b.W, sizeof *b.acc);
        b.wsum = calloc((size_t)b.TH * (size_t)b.W, sizeof *b.wsum);
        if (!b.acc || !b.wsum)
          s = CLSEG_OUT_OF_MEMORY;
      }
      if (s == CLSEG_OK)
        band_add(&b, out, xs[tx], o->overlap);
      free(out);
      out = NULL;
      r->tiles++;
    }
  }
  if (s == CLSEG_OK)
    band_advance(&b, b.by + b.TH, &pp, mask, probs);
  if (s == CLSEG_OUT_OF_MEMORY && !err[0])
    snprintf(err, errlen, "out of host memory for tiles of %dx%d", b.TW, b.TH);
  free(in);
  free(ys);
  free(xs);
  free(b.acc);
  free(b.wsum);
  return s;
}

/* Writes the outputs of one image; on failure none of them is left behind. */
static clseg_status write_outputs(const seg_worker *w, const char *path, const clseg_image *rgb,
                                  const uint8_t *mask, const float *probs, const seg_options *o,
                                  seg_result *r, char *err, size_t errlen) {
  char stem[512];
  uint8_t palette[256 * 3];
  seg_stem(path, stem, sizeof stem);
  clseg_palette_default(palette);
  int W = rgb->width, H = rgb->height;
  clseg_status s = CLSEG_OK;
  if (o->write_mask) {
    snprintf(r->mask_path, sizeof r->mask_path, "%s/%s_mask.png", o->outdir, stem);
    s = clseg_png_write_mask(r->mask_path, mask, W, H, palette);
  }
  if (s == CLSEG_OK && o->overlay) {
    clseg_image ov = {0};
    snprintf(r->overlay_path, sizeof r->overlay_path, "%s/%s_overlay.png", o->outdir, stem);
    s = clseg_overlay(rgb, mask, W, H, palette, o->alpha, &ov);
    if (s == CLSEG_OK)
      s = clseg_png_write_rgb(r->overlay_path, ov.data, W, H);
    clseg_image_free(&ov);
  }
  int64_t k = clseg_model_classes(w->model);
  if (s == CLSEG_OK && probs && k == 1) {
    uint16_t *p16 = malloc((size_t)W * (size_t)H * sizeof *p16);
    snprintf(r->probs_path, sizeof r->probs_path, "%s/%s_prob.png", o->outdir, stem);
    for (size_t i = 0; p16 && i < (size_t)W * (size_t)H; i++)
      p16[i] = (uint16_t)lrintf(probs[i] * 65535.0f);
    s = p16 ? clseg_png_write_gray16(r->probs_path, p16, W, H) : CLSEG_OUT_OF_MEMORY;
    free(p16);
  } else if (s == CLSEG_OK && probs) {
    const int64_t shape[3] = {k, H, W};
    snprintf(r->probs_path, sizeof r->probs_path, "%s/%s_probs.npy", o->outdir, stem);
    s = clseg_npy_write(r->probs_path, probs, shape, 3);
  }
  if (s != CLSEG_OK) {
    snprintf(err, errlen, "%s",
             s == CLSEG_OUT_OF_MEMORY ? "out of host memory" : clseg_last_error(NULL));
    if (r->mask_path[0])
      remove(r->mask_path);
    if (r->overlay_path[0])
      remove(r->overlay_path);
    if (r->probs_path[0])
      remove(r->probs_path);
  }
  return s;
}

clseg_status seg_image(seg_worker *w, const char *path, const seg_options *o, seg_result *r,
                       char *err, size_t errlen) {
  memset(r, 0, sizeof *r);
  err[0] = 0;
  double t0 = cli_now();
  clseg_image img = {0}, rgb = {0};
  clseg_status s = clseg_image_read(path, &img);
  if (s == CLSEG_OK)
    s = clseg_image_to_rgb(&img, &rgb);
  clseg_image_free(&img);
  if (s != CLSEG_OK) {
    snprintf(err, errlen, "%s", clseg_last_error(NULL));
    return s;
  }
  r->width = rgb.width;
  r->height = rgb.height;
  size_t px = (size_t)rgb.width * (size_t)rgb.height;
  uint8_t *mask = malloc(px);
  float *probs =
      o->probs ? malloc(px * (size_t)clseg_model_classes(w->model) * sizeof *probs) : NULL;
  if (!mask || (o->probs && !probs)) {
    snprintf(err, errlen, "%s: out of host memory for a %dx%d mask", path, rgb.width, rgb.height);
    s = CLSEG_OUT_OF_MEMORY;
  } else {
    s = o->tile > 0 ? seg_tiled(w, &rgb, o, r, mask, probs, err, errlen)
                    : seg_whole(w, &rgb, o, r, mask, probs, err, errlen);
  }
  if (s == CLSEG_OK)
    s = write_outputs(w, path, &rgb, mask, probs, o, r, err, errlen);
  else if (err[0] && !strstr(err, path)) { /* name the file in every message */
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", err);
    snprintf(err, errlen, "%s: %s", path, tmp);
  }
  if (s == CLSEG_OK && o->keep_mask) {
    r->mask = mask;
    mask = NULL;
  }
  free(mask);
  free(probs);
  clseg_image_free(&rgb);
  r->ms = (cli_now() - t0) * 1e3;
  return s;
}

clseg_status seg_tensor_npy(seg_worker *w, const char *path, const seg_options *o, seg_result *r,
                            char *err, size_t errlen) {
  memset(r, 0, sizeof *r);
  double t0 = cli_now();
  clseg_array a = {0};
  clseg_status s = clseg_npy_read(path, &a);
  if (s != CLSEG_OK) {
    snprintf(err, errlen, "%s", clseg_last_error(NULL));
    return s;
  }
  int64_t c = clseg_model_in_channels(w->model), os[4], fh, fw;
  if (a.ndim != 4 || a.shape[1] != c ||
      (clseg_model_input_size(w->model, &fh, &fw) && (a.shape[2] != fh || a.shape[3] != fw))) {
    snprintf(
        err, errlen, "%s: the array must be NCHW float32 with %lld channels%s (got %d dimensions)",
        path, (long long)c,
        clseg_model_input_size(w->model, &fh, &fw) ? " at the model's input size" : "", a.ndim);
    clseg_array_free(&a);
    return CLSEG_SHAPE_MISMATCH;
  }
  float *out = NULL;
  r->in_h = a.shape[2];
  r->in_w = a.shape[3];
  s = run_net(w, a.shape[0], a.data, a.shape[2], a.shape[3], &out, os, &r->net_ms, err, errlen);
  clseg_array_free(&a);
  if (s == CLSEG_OK && o->npy_out && clseg_npy_write(o->npy_out, out, os, 4) != CLSEG_OK) {
    snprintf(err, errlen, "%s", clseg_last_error(NULL));
    s = CLSEG_IO;
  }
  free(out);
  r->width = (int)r->in_w;
  r->height = (int)r->in_h;
  r->ms = (cli_now() - t0) * 1e3;
  return s;
}

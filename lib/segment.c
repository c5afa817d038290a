/* clseg_segment_image and its segmenter (include/clseg_segment.h): pre-processing from the model's
 * metadata, planned execution on the whole image or on blended tiles, post-processing
 * (lib/segment_post.c). */
#include <stdlib.h>
#include <string.h>

#include "clseg_segment.h"
#include "internal.h"
#include "segment_post.h"

#define MAX_PLANS 4

typedef struct {
  int64_t n, h, w;
  clseg_plan *plan;
  uint64_t last_use;
} plan_slot;

struct clseg_segmenter {
  clseg_context *ctx;
  const clseg_model *model;
  clseg_segment_options o;
  plan_slot plans[MAX_PLANS];
  uint64_t uses;
  double plan_seconds;
};

/* Options a model cannot take are refused here, before any image. */
static clseg_status check_options(clseg_context *ctx, const clseg_model *m,
                                  const clseg_segment_options *o) {
  int64_t fh, fw;
  const int fixed = clseg_model_input_size(m, &fh, &fw);
  if ((o->size_h > 0) != (o->size_w > 0) || o->size_h < 0 || o->size_w < 0)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                       "segment options: size %lldx%lld: give both sides or neither",
                       (long long)o->size_w, (long long)o->size_h);
  if (fixed && o->size_h > 0 && (o->size_h != fh || o->size_w != fw))
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                       "segment options: size %lldx%lld: this model takes a fixed %lldx%lld input",
                       (long long)o->size_w, (long long)o->size_h, (long long)fw, (long long)fh);
  if (o->tile < 0 || o->overlap < 0 || (o->tile > 0 && o->overlap >= o->tile))
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                       "segment options: tile %d, overlap %d: the overlap must be below the tile",
                       o->tile, o->overlap);
  if (o->tile > 0 && fixed && (fh != o->tile || fw != o->tile))
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                       "segment options: tile %d: this model takes a fixed %lldx%lld input; tiles "
                       "of %lld",
                       o->tile, (long long)fw, (long long)fh, (long long)fh);
  if (!(o->threshold >= 0.0f && o->threshold <= 1.0f))
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                       "segment options: threshold %g is not in (0, 1]", (double)o->threshold);
  return CLSEG_OK;
}

clseg_status clseg_segmenter_create(clseg_context *ctx, const clseg_model *model,
                                    const clseg_segment_options *opt, clseg_segmenter **out) {
  const clseg_segment_options none = {0};
  if (out)
    *out = NULL;
  if (!ctx || !model || !out)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "clseg_segmenter_create: NULL %s",
                       !ctx     ? "context"
                       : !model ? "model"
                                : "output");
  opt = opt ? opt : &none;
  clseg_status s = check_options(ctx, model, opt);
  if (s != CLSEG_OK)
    return s;
  clseg_segmenter *g = calloc(1, sizeof *g);
  if (!g)
    return clseg__fail(ctx, CLSEG_OUT_OF_MEMORY, "clseg_segmenter_create: out of host memory");
  g->ctx = ctx;
  g->model = model;
  g->o = *opt;
  if (g->o.threshold == 0.0f)
    g->o.threshold = 0.5f;
  *out = g;
  return clseg__ok(ctx);
}

void clseg_segmenter_free(clseg_segmenter *s) {
  if (!s)
    return;
  for (int i = 0; i < MAX_PLANS; i++)
    clseg_plan_free(s->plans[i].plan);
  free(s);
}

double clseg_segmenter_plan_seconds(const clseg_segmenter *s) {
  return s ? s->plan_seconds : 0.0;
}

clseg_status clseg_segmenter_plan(clseg_segmenter *s, int64_t n, int64_t h, int64_t w,
                                  clseg_plan **out) {
  if (!s || !out)
    return clseg__fail(s ? s->ctx : NULL, CLSEG_INVALID_ARGUMENT, "clseg_segmenter_plan: NULL %s",
                       s ? "output" : "segmenter");
  plan_slot *victim = &s->plans[0];
  s->uses++;
  for (int i = 0; i < MAX_PLANS; i++) {
    plan_slot *p = &s->plans[i];
    if (p->plan && p->n == n && p->h == h && p->w == w) {
      p->last_use = s->uses;
      *out = p->plan;
      return CLSEG_OK;
    }
    if (!p->plan || p->last_use < victim->last_use)
      victim = p;
  }
  clseg_plan_free(victim->plan);
  victim->plan = NULL;
  const clseg_plan_options po = {.low_memory = s->o.low_memory, .no_fusion = s->o.no_fusion};
  const double t0 = clseg__now();
  clseg_status st =
      clseg_plan_create(s->ctx, clseg_model_graph(s->model), n, h, w, &po, &victim->plan);
  s->plan_seconds += clseg__now() - t0;
  if (st != CLSEG_OK)
    return st; /* the plan's message stays on the context */
  *victim = (plan_slot){n, h, w, victim->plan, s->uses};
  *out = victim->plan;
  return CLSEG_OK;
}

void clseg_segmenter_input_size(const clseg_segmenter *s, int img_h, int img_w, int64_t *h,
                                int64_t *w) {
  if (clseg_model_input_size(s->model, h, w) && *h > 0 && *w > 0)
    return;
  if (s->o.size_h > 0) {
    *h = s->o.size_h;
    *w = s->o.size_w;
    return;
  }
  const int64_t m = clseg_model_size_multiple(s->model);
  *h = (img_h + m / 2) / m * m;
  *w = (img_w + m / 2) / m * m;
  *h = *h < m ? m : *h;
  *w = *w < m ? m : *w;
}

/* NCHW input data from an RGB image, resized to w x h (or, with crop, the w x h pixels from (x0,
 * y0), zero beyond the image), normalised with the model's mean and std; gray networks see the
 * luma. */
static clseg_status to_input(const clseg_segmenter *s, const clseg_image *rgb, int x0, int y0,
                             int64_t h, int64_t w, int crop, float *data) {
  const float *mean = clseg_model_mean(s->model), *std = clseg_model_std(s->model);
  const int64_t c = clseg_model_in_channels(s->model);
  if (!crop && c == 3) {
    clseg_tensor_params tp = {.width = (int)w, .height = (int)h};
    for (int i = 0; i < 3; i++) {
      tp.mean[i] = mean[i];
      tp.std[i] = std[i];
    }
    return clseg_image_to_tensor_data(rgb, &tp, data);
  }
  for (int64_t ch = 0; ch < c; ch++)
    for (int64_t y = 0; y < h; y++)
      for (int64_t x = 0; x < w; x++) {
        const int sx = crop ? x0 + (int)x : (int)((double)(x + 0.5) * rgb->width / (double)w);
        const int sy = crop ? y0 + (int)y : (int)((double)(y + 0.5) * rgb->height / (double)h);
        float v = 0.0f;
        if (sx < rgb->width && sy < rgb->height) {
          const uint8_t *p = rgb->data + ((size_t)sy * (size_t)rgb->width + (size_t)sx) * 3;
          const float u = c == 3 ? p[ch] : (0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]);
          v = (u / 255.0f - mean[c == 3 ? ch : 0]) / std[c == 3 ? ch : 0];
        }
        data[(ch * h + y) * w + x] = v;
      }
  return CLSEG_OK;
}

/* Runs the network on a batch of n inputs of h x w; *out (malloc'd) gets the main output, of shape
 * os. With r set (n = 1), every other output goes to r->raw[1..] too (r->raw[0] is left to the
 * caller). */
static clseg_status run_net(clseg_segmenter *s, const float *in, int64_t n, int64_t h, int64_t w,
                            float **out, int64_t os[4], double *ms, clseg_segmentation *r) {
  clseg_plan *plan = NULL;
  clseg_status st = clseg_segmenter_plan(s, n, h, w, &plan);
  if (st != CLSEG_OK)
    return st;
  const int no = r ? clseg_plan_output_count(plan) : 1;
  float *outs[CLSEG_MAX_OUTPUTS] = {0};
  size_t counts[CLSEG_MAX_OUTPUTS];
  for (int i = 0; i < no && st == CLSEG_OK; i++) {
    int64_t *shape = i ? r->raw_shape[i] : os;
    clseg_plan_output_shape_at(plan, i, shape);
    counts[i] = (size_t)(shape[0] * shape[1] * shape[2] * shape[3]);
    if (!(outs[i] = malloc(counts[i] * sizeof **outs)))
      st = clseg__fail(s->ctx, CLSEG_OUT_OF_MEMORY, "segment: out of host memory for the outputs");
  }
  const double t0 = clseg__now();
  if (st == CLSEG_OK)
    st = clseg_plan_run_outputs(plan, in, (size_t)(n * clseg_model_in_channels(s->model) * h * w),
                                outs, counts, no);
  *ms += (clseg__now() - t0) * 1e3;
  if (st != CLSEG_OK) {
    for (int i = 0; i < no; i++)
      free(outs[i]);
    return st;
  }
  *out = outs[0];
  if (r) {
    r->outputs = no;
    for (int i = 0; i < no; i++) {
      r->raw[i] = i ? outs[i] : NULL;
      r->raw_name[i] = clseg_plan_output_name(plan, i);
    }
  }
  return CLSEG_OK;
}

static clseg__post_params post_of(const clseg_segmenter *s, int64_t k) {
  return (clseg__post_params){(int)k, clseg_model_output_is_probability(s->model), s->o.threshold};
}

/* n whole images at one network input size, in one run of batch n; r[i]->mask / probs are
 * allocated here (the class count comes from the output). RAW only for n = 1. */
static clseg_status seg_whole(clseg_segmenter *s, const clseg_image *const *rgb, int n, int flags,
                              clseg_segmentation *r) {
  int64_t h, w, os[4];
  clseg_segmenter_input_size(s, rgb[0]->height, rgb[0]->width, &h, &w);
  const size_t one = (size_t)(clseg_model_in_channels(s->model) * h * w);
  float *in = malloc((size_t)n * one * sizeof *in), *out = NULL;
  if (!in)
    return clseg__fail(s->ctx, CLSEG_OUT_OF_MEMORY,
                       "segment: out of host memory for %d input%s of %lldx%lld", n,
                       n == 1 ? "" : "s", (long long)w, (long long)h);
  clseg_status st = CLSEG_OK;
  for (int i = 0; i < n && st == CLSEG_OK; i++)
    st = to_input(s, rgb[i], 0, 0, h, w, 0, in + (size_t)i * one);
  double ms = 0.0;
  if (st == CLSEG_OK)
    st = run_net(s, in, n, h, w, &out, os, &ms, flags & CLSEG_SEGMENT_RAW ? r : NULL);
  free(in);
  const size_t per_out = st == CLSEG_OK ? (size_t)(os[1] * os[2] * os[3]) : 0;
  for (int i = 0; i < n && st == CLSEG_OK; i++) {
    const size_t px = (size_t)rgb[i]->width * (size_t)rgb[i]->height;
    r[i].input_h = h;
    r[i].input_w = w;
    r[i].tiles = 1;
    r[i].network_ms = ms / n;
    r[i].classes = (int)os[1];
    r[i].mask = malloc(px);
    r[i].probs = flags & CLSEG_SEGMENT_PROBS ? malloc(px * (size_t)os[1] * sizeof *r->probs) : NULL;
    if (!r[i].mask || (flags & CLSEG_SEGMENT_PROBS && !r[i].probs)) {
      st = clseg__fail(s->ctx, CLSEG_OUT_OF_MEMORY, "segment: out of host memory for a %dx%d mask",
                       rgb[i]->width, rgb[i]->height);
      break;
    }
    const clseg__post_params pp = post_of(s, os[1]);
    clseg__post_resize(out + (size_t)i * per_out, (int)os[2], (int)os[3], rgb[i]->width,
                       rgb[i]->height, &pp, r[i].mask, r[i].probs);
  }
  if (st == CLSEG_OK && flags & CLSEG_SEGMENT_RAW) {
    r->raw[0] = out;
    memcpy(r->raw_shape[0], os, sizeof r->raw_shape[0]);
    out = NULL;
  }
  free(out);
  return st;
}

/* ---- tiles: overlapping windows blended with ramps, finalised band by band ---- */

/* Tile origins along an axis: every tile - overlap, the last one flush with the end. */
static int *tile_starts(int size, int tile, int overlap, int *n) {
  const int step = tile - overlap, count = size > tile ? (size - tile + step - 1) / step + 1 : 1;
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
  const float a = (float)(t + 1) / (float)(overlap + 1),
              b = (float)(size - t) / (float)(overlap + 1);
  const float r = a < b ? a : b;
  return r < 1.0f ? r : 1.0f;
}

typedef struct {
  int K, TH, TW, W, H;
  float *acc, *wsum; /* K x TH x W and TH x W: the rows [by, by + TH) */
  int by;
} band;

/* Finalises rows [b->by, to) of the band into mask / probs and moves the band down to `to`. */
static void band_advance(band *b, int to, const clseg__post_params *pp, uint8_t *mask,
                         float *probs) {
  float v[256], pr[256];
  const size_t big = (size_t)b->W * (size_t)b->H, plane = (size_t)b->TH * (size_t)b->W;
  const int done = to - b->by;
  for (int r = 0; r < done && b->by + r < b->H; r++)
    for (int x = 0; x < b->W; x++) {
      const size_t i = (size_t)r * (size_t)b->W + (size_t)x,
                   o = (size_t)(b->by + r) * (size_t)b->W + (size_t)x;
      const float ws = b->wsum[i] > 0 ? b->wsum[i] : 1.0f;
      for (int c = 0; c < b->K && c < 256; c++)
        v[c] = b->acc[(size_t)c * plane + i] / ws;
      clseg__post_pixel(v, pp, &mask[o], probs ? pr : NULL);
      for (int c = 0; probs && c < b->K && c < 256; c++)
        probs[(size_t)c * big + o] = pr[c];
    }
  const size_t keep = (size_t)(b->TH - done) * (size_t)b->W, gone = (size_t)done * (size_t)b->W;
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
  const size_t plane = (size_t)b->TH * (size_t)b->W, tplane = (size_t)b->TH * (size_t)b->TW;
  for (int ty = 0; ty < b->TH && b->by + ty < b->H; ty++)
    for (int tx = 0; tx < b->TW && x + tx < b->W; tx++) {
      const float wgt = ramp(ty, b->TH, overlap) * ramp(tx, b->TW, overlap);
      const size_t i = (size_t)ty * (size_t)b->W + (size_t)(x + tx),
                   t = (size_t)ty * (size_t)b->TW + (size_t)tx;
      b->wsum[i] += wgt;
      for (int c = 0; c < b->K; c++)
        b->acc[(size_t)c * plane + i] += wgt * out[(size_t)c * tplane + t];
    }
}

/* The first tile's output gives the class count: the band and the result's arrays follow it. */
static clseg_status band_start(clseg_segmenter *s, band *b, const int64_t os[4], int flags,
                               clseg_segmentation *r) {
  const size_t px = (size_t)b->W * (size_t)b->H;
  b->K = (int)os[1];
  r->classes = b->K;
  b->acc = calloc((size_t)b->K * (size_t)b->TH * (size_t)b->W, sizeof *b->acc);
  b->wsum = calloc((size_t)b->TH * (size_t)b->W, sizeof *b->wsum);
  r->mask = malloc(px);
  r->probs = flags & CLSEG_SEGMENT_PROBS ? malloc(px * (size_t)b->K * sizeof *r->probs) : NULL;
  if (!b->acc || !b->wsum || !r->mask || (flags & CLSEG_SEGMENT_PROBS && !r->probs))
    return clseg__fail(s->ctx, CLSEG_OUT_OF_MEMORY,
                       "segment: out of host memory for tiles of "
                       "%dx%d",
                       b->TW, b->TH);
  return CLSEG_OK;
}

static clseg_status seg_tiled(clseg_segmenter *s, const clseg_image *rgb, int flags,
                              clseg_segmentation *r) {
  const int64_t m = clseg_model_size_multiple(s->model), c = clseg_model_in_channels(s->model);
  const int tile = s->o.tile, overlap = s->o.overlap;
  int64_t os[4];
  band b = {.W = rgb->width, .H = rgb->height};
  b.TH = rgb->height >= tile ? tile : (int)((rgb->height + m - 1) / m * m);
  b.TW = rgb->width >= tile ? tile : (int)((rgb->width + m - 1) / m * m);
  int ny = 0, nx = 0, *ys = tile_starts(b.H, b.TH, overlap, &ny),
      *xs = tile_starts(b.W, b.TW, overlap, &nx);
  float *in = malloc((size_t)(c * b.TH * b.TW) * sizeof *in), *out = NULL;
  clseg_status st = in && ys && xs
                        ? CLSEG_OK
                        : clseg__fail(s->ctx, CLSEG_OUT_OF_MEMORY,
                                      "segment: out of host memory for tiles of %dx%d", b.TW, b.TH);
  clseg__post_params pp = {0};
  r->input_h = b.TH;
  r->input_w = b.TW;
  for (int ty = 0; ty < ny && st == CLSEG_OK; ty++) {
    if (ty > 0)
      band_advance(&b, ys[ty], &pp, r->mask, r->probs);
    for (int tx = 0; tx < nx && st == CLSEG_OK; tx++) {
      to_input(s, rgb, xs[tx], ys[ty], b.TH, b.TW, 1, in);
      st = run_net(s, in, 1, b.TH, b.TW, &out, os, &r->network_ms, NULL);
      if (st == CLSEG_OK && (os[2] != b.TH || os[3] != b.TW))
        st = clseg__fail(s->ctx, CLSEG_UNSUPPORTED,
                         "segment: tiles need a network whose output has its input's size "
                         "(%dx%d gives %lldx%lld)",
                         b.TW, b.TH, (long long)os[3], (long long)os[2]);
      if (st == CLSEG_OK && !b.acc && (st = band_start(s, &b, os, flags, r)) == CLSEG_OK)
        pp = post_of(s, os[1]);
      if (st == CLSEG_OK)
        band_add(&b, out, xs[tx], overlap);
      free(out);
      out = NULL;
      r->tiles++;
    }
  }
  if (st == CLSEG_OK)
    band_advance(&b, b.by + b.TH, &pp, r->mask, r->probs);
  free(in);
  free(ys);
  free(xs);
  free(b.acc);
  free(b.wsum);
  return st;
}

/* The checks shared by the one-image and the batch calls. */
static clseg_status check_image(const clseg_segmenter *s, const char *fn, const clseg_image *rgb) {
  if (!rgb || rgb->channels != 3 || !rgb->data || rgb->width < 1 || rgb->height < 1)
    return clseg__fail(s->ctx, CLSEG_INVALID_ARGUMENT,
                       "%s: the image must be RGB (3 channels, 8 bits; clseg_image_to_rgb), got "
                       "%d channels of %dx%d",
                       fn, rgb ? rgb->channels : 0, rgb ? rgb->width : 0, rgb ? rgb->height : 0);
  return CLSEG_OK;
}

clseg_status clseg_segment_image(clseg_segmenter *s, const clseg_image *rgb, int flags,
                                 clseg_segmentation *out) {
  if (!s || !rgb || !out)
    return clseg__fail(s ? s->ctx : NULL, CLSEG_INVALID_ARGUMENT, "clseg_segment_image: NULL %s",
                       !s     ? "segmenter"
                       : !rgb ? "image"
                              : "output");
  clseg_status st = check_image(s, "clseg_segment_image", rgb);
  if (st != CLSEG_OK)
    return st;
  if (flags & ~(CLSEG_SEGMENT_PROBS | CLSEG_SEGMENT_RAW) ||
      (flags & CLSEG_SEGMENT_RAW && s->o.tile > 0))
    return clseg__fail(s->ctx, CLSEG_INVALID_ARGUMENT,
                       "clseg_segment_image: flags 0x%x (PROBS 1, RAW 2; RAW not with tiles)",
                       (unsigned)flags);
  clseg_segmentation r = {.width = rgb->width, .height = rgb->height};
  st = s->o.tile > 0 ? seg_tiled(s, rgb, flags, &r) : seg_whole(s, &rgb, 1, flags, &r);
  if (st != CLSEG_OK) {
    clseg_segmentation_free(&r);
    return st;
  }
  *out = r;
  return clseg__ok(s->ctx);
}

clseg_status clseg_segment_images(clseg_segmenter *s, const clseg_image *const *rgb, int n,
                                  int flags, clseg_segmentation *out) {
  if (!s || !rgb || !out || n < 1)
    return clseg__fail(s ? s->ctx : NULL, CLSEG_INVALID_ARGUMENT,
                       "clseg_segment_images: NULL segmenter, images or outputs, or n %d < 1", n);
  if (s->o.tile > 0 || flags & ~CLSEG_SEGMENT_PROBS)
    return clseg__fail(s->ctx, CLSEG_INVALID_ARGUMENT,
                       "clseg_segment_images: whole images only (no tiles) and flags PROBS or 0, "
                       "got tile %d, flags 0x%x",
                       s->o.tile, (unsigned)flags);
  int64_t h0 = 0, w0 = 0;
  for (int i = 0; i < n; i++) {
    clseg_status st = check_image(s, "clseg_segment_images", rgb[i]);
    if (st != CLSEG_OK)
      return st;
    int64_t h, w;
    clseg_segmenter_input_size(s, rgb[i]->height, rgb[i]->width, &h, &w);
    if (i == 0)
      h0 = h, w0 = w;
    else if (h != h0 || w != w0)
      return clseg__fail(s->ctx, CLSEG_SHAPE_MISMATCH,
                         "clseg_segment_images: image %d (%dx%d) goes in at %lldx%lld, image 0 at "
                         "%lldx%lld: one batch takes one input size",
                         i, rgb[i]->width, rgb[i]->height, (long long)w, (long long)h,
                         (long long)w0, (long long)h0);
  }
  clseg_segmentation *r = calloc((size_t)n, sizeof *r);
  if (!r)
    return clseg__fail(s->ctx, CLSEG_OUT_OF_MEMORY, "clseg_segment_images: out of host memory");
  for (int i = 0; i < n; i++)
    r[i].width = rgb[i]->width, r[i].height = rgb[i]->height;
  clseg_status st = seg_whole(s, rgb, n, flags, r);
  for (int i = 0; i < n; i++)
    if (st == CLSEG_OK)
      out[i] = r[i];
    else
      clseg_segmentation_free(&r[i]);
  free(r);
  return st == CLSEG_OK ? clseg__ok(s->ctx) : st;
}

void clseg_segmentation_free(clseg_segmentation *r) {
  if (!r)
    return;
  free(r->mask);
  free(r->probs);
  for (int i = 0; i < CLSEG_MAX_OUTPUTS; i++)
    free(r->raw[i]);
  memset(r, 0, sizeof *r);
}

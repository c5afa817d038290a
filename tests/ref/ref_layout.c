/* Reference channel layout ops (concat, slice, pad) and reductions over channels (mean/max,
 * softmax, argmax). */
#include <math.h>
#include <stdlib.h>

#include "ref/ref.h"

int ref_concat(const float *const *xs, const int64_t (*shapes)[4], int count, float *y,
               const int64_t ys[4]) {
  int64_t csum = 0;
  for (int i = 0; i < count; i++) {
    if (shapes[i][0] != ys[0] || shapes[i][2] != ys[2] || shapes[i][3] != ys[3])
      return -1;
    csum += shapes[i][1];
  }
  if (csum != ys[1])
    return -1;
  int64_t c0 = 0;
  for (int i = 0; i < count; i++) {
    const int64_t *s = shapes[i];
    for (int64_t n = 0; n < s[0]; n++)
      for (int64_t c = 0; c < s[1]; c++)
        for (int64_t h = 0; h < s[2]; h++)
          for (int64_t w = 0; w < s[3]; w++)
            y[ref_at(ys, n, c0 + c, h, w)] = xs[i][ref_at(s, n, c, h, w)];
    c0 += s[1];
  }
  return 0;
}

void ref_slice_channels(const float *x, const int64_t xs[4], int64_t c_start, float *y,
                        const int64_t ys[4]) {
  for (int64_t n = 0; n < ys[0]; n++)
    for (int64_t c = 0; c < ys[1]; c++)
      for (int64_t h = 0; h < ys[2]; h++)
        for (int64_t w = 0; w < ys[3]; w++)
          y[ref_at(ys, n, c, h, w)] = x[ref_at(xs, n, c_start + c, h, w)];
}

/* One axis of a pad: size in, pads lo and hi (negative crops); the cropped size and the output's.
 */
static int64_t cropped(int64_t in, int lo, int hi) {
  return in + (lo < 0 ? lo : 0) + (hi < 0 ? hi : 0);
}

int ref_pad_shape(const int64_t xs[4], const clseg_pad_params *p, int64_t ys[4]) {
  const int lo[3] = {p->front, p->top, p->left}, hi[3] = {p->back, p->bottom, p->right};
  ys[0] = xs[0];
  for (int a = 0; a < 3; a++) {
    int64_t c = cropped(xs[a + 1], lo[a], hi[a]);
    if (c < 1 || (p->mode == CLSEG_PAD_REFLECT && (lo[a] >= c || hi[a] >= c)))
      return -1;
    ys[a + 1] = xs[a + 1] + lo[a] + hi[a];
  }
  return 0;
}

/* The input index along one axis for output index i: the output starts lo before the input (after
 * it when lo crops); outside the cropped range [first, first + size) constant gives -1, reflect
 * mirrors about the end element, edge repeats it. */
static int64_t pad_src(int64_t i, int lo, int64_t in, int hi, clseg_pad_mode mode) {
  int64_t first = lo < 0 ? -lo : 0, size = cropped(in, lo, hi), j = i - (lo > 0 ? lo : 0);
  if (j < 0 || j >= size) {
    if (mode == CLSEG_PAD_CONSTANT)
      return -1;
    if (mode == CLSEG_PAD_EDGE)
      j = j < 0 ? 0 : size - 1;
    else
      j = j < 0 ? -j : 2 * (size - 1) - j;
  }
  return first + j;
}

void ref_pad(const float *x, const int64_t xs[4], const clseg_pad_params *p, float *y,
             const int64_t ys[4]) {
  for (int64_t n = 0; n < ys[0]; n++)
    for (int64_t c = 0; c < ys[1]; c++)
      for (int64_t h = 0; h < ys[2]; h++)
        for (int64_t w = 0; w < ys[3]; w++) {
          int64_t sc = pad_src(c, p->front, xs[1], p->back, p->mode),
                  sh = pad_src(h, p->top, xs[2], p->bottom, p->mode),
                  sw = pad_src(w, p->left, xs[3], p->right, p->mode);
          y[ref_at(ys, n, c, h, w)] =
              (sc < 0 || sh < 0 || sw < 0) ? p->value : x[ref_at(xs, n, sc, sh, sw)];
        }
}

void ref_reduce_channels(const float *x, const int64_t xs[4], clseg_reduce_kind kind, float *y) {
  const int64_t ys[4] = {xs[0], 1, xs[2], xs[3]};
  for (int64_t n = 0; n < xs[0]; n++)
    for (int64_t h = 0; h < xs[2]; h++)
      for (int64_t w = 0; w < xs[3]; w++) {
        double acc = kind == CLSEG_REDUCE_MAX ? -INFINITY : 0.0;
        for (int64_t c = 0; c < xs[1]; c++) {
          double v = x[ref_at(xs, n, c, h, w)];
          acc = kind == CLSEG_REDUCE_MAX ? (v > acc ? v : acc) : acc + v;
        }
        if (kind != CLSEG_REDUCE_MAX)
          acc /= (double)xs[1];
        y[ref_at(ys, n, 0, h, w)] = (float)acc;
      }
}

void ref_softmax_channels(const float *x, const int64_t xs[4], float *y) {
  for (int64_t n = 0; n < xs[0]; n++)
    for (int64_t h = 0; h < xs[2]; h++)
      for (int64_t w = 0; w < xs[3]; w++) {
        double mx = -INFINITY, sum = 0.0;
        for (int64_t c = 0; c < xs[1]; c++)
          mx = fmax(mx, x[ref_at(xs, n, c, h, w)]);
        for (int64_t c = 0; c < xs[1]; c++)
          sum += exp(x[ref_at(xs, n, c, h, w)] - mx);
        for (int64_t c = 0; c < xs[1]; c++) {
          size_t i = ref_at(xs, n, c, h, w);
          y[i] = (float)(exp(x[i] - mx) / sum);
        }
      }
}

void ref_argmax_channels(const float *x, const int64_t xs[4], float *y) {
  const int64_t ys[4] = {xs[0], 1, xs[2], xs[3]};
  for (int64_t n = 0; n < xs[0]; n++)
    for (int64_t h = 0; h < xs[2]; h++)
      for (int64_t w = 0; w < xs[3]; w++) {
        int64_t best = 0;
        for (int64_t c = 1; c < xs[1]; c++)
          if (x[ref_at(xs, n, c, h, w)] > x[ref_at(xs, n, best, h, w)])
            best = c; /* strict: first wins */
        y[ref_at(ys, n, 0, h, w)] = (float)best;
      }
}

/* DCR: x viewed as [N, b, b, C', H, W], transposed to [N, C', H, b, W, b]; CRD: x viewed as
 * [N, C', b, b, H, W], transposed the same way. Loops run over the 6-D input view. */
void ref_depth_to_space(const float *x, const int64_t xs[4], int64_t b, int crd, float *y) {
  const int64_t c2 = xs[1] / (b * b), ys[4] = {xs[0], c2, xs[2] * b, xs[3] * b};
  for (int64_t n = 0; n < xs[0]; n++)
    for (int64_t a0 = 0; a0 < (crd ? c2 : b); a0++)
      for (int64_t a1 = 0; a1 < b; a1++)
        for (int64_t a2 = 0; a2 < (crd ? b : c2); a2++)
          for (int64_t h = 0; h < xs[2]; h++)
            for (int64_t w = 0; w < xs[3]; w++) {
              const int64_t c = crd ? a0 : a2, i = crd ? a1 : a0, j = crd ? a2 : a1;
              const int64_t ch = (a0 * b + a1) * (crd ? b : c2) + a2;
              y[ref_at(ys, n, c, h * b + i, w * b + j)] = x[ref_at(xs, n, ch, h, w)];
            }
}

/* x viewed as [N, C, H', b, W', b], transposed to [N, b, b, C, H', W']. */
void ref_space_to_depth(const float *x, const int64_t xs[4], int64_t b, float *y) {
  const int64_t ys[4] = {xs[0], xs[1] * b * b, xs[2] / b, xs[3] / b};
  for (int64_t n = 0; n < xs[0]; n++)
    for (int64_t c = 0; c < xs[1]; c++)
      for (int64_t h = 0; h < ys[2]; h++)
        for (int64_t i = 0; i < b; i++)
          for (int64_t w = 0; w < ys[3]; w++)
            for (int64_t j = 0; j < b; j++)
              y[ref_at(ys, n, (i * b + j) * xs[1] + c, h, w)] =
                  x[ref_at(xs, n, c, h * b + i, w * b + j)];
}

/* Both tensors written out as NHWC flat arrays: y's NHWC array is x's. */
void ref_reshape_nhwc(const float *x, const int64_t xs[4], float *y, const int64_t ys[4]) {
  const int64_t per = xs[1] * xs[2] * xs[3];
  float *flat = malloc(sizeof *flat * (size_t)(per > 0 ? per : 1));
  for (int64_t n = 0; n < xs[0] && flat; n++) {
    int64_t f = 0;
    for (int64_t h = 0; h < xs[2]; h++) /* x as NHWC */
      for (int64_t w = 0; w < xs[3]; w++)
        for (int64_t c = 0; c < xs[1]; c++)
          flat[f++] = x[ref_at(xs, n, c, h, w)];
    f = 0;
    for (int64_t h = 0; h < ys[2]; h++) /* the same floats read back as y's NHWC */
      for (int64_t w = 0; w < ys[3]; w++)
        for (int64_t c = 0; c < ys[1]; c++)
          y[ref_at(ys, n, c, h, w)] = flat[f++];
  }
  free(flat);
}

/* Concatenation along H: input i's rows follow input i - 1's. */
void ref_concat_h(const float *const *xs, const int64_t (*shapes)[4], int count, float *y,
                  const int64_t ys[4]) {
  int64_t h0 = 0;
  for (int i = 0; i < count; i++) {
    const int64_t *s = shapes[i];
    for (int64_t n = 0; n < s[0]; n++)
      for (int64_t c = 0; c < s[1]; c++)
        for (int64_t h = 0; h < s[2]; h++)
          for (int64_t w = 0; w < s[3]; w++)
            y[ref_at(ys, n, c, h0 + h, w)] = xs[i][ref_at(s, n, c, h, w)];
    h0 += s[2];
  }
}

/* Tests of the image and array I/O (include/clseg_io.h): every PNG variant and the JPEGs against
 * the values in tests/fixtures/images/expected.txt (tools/make_image_fixtures.py), truncated and
 * corrupted files, write round trips and atomic-write failures, .npy files, resizes, tensor data
 * and overlays. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <dirent.h>

#include "clseg_io.h"
#include "common/check.h"
#include "support.h"

#define IMG_DIR CLSEG_FIXTURE_DIR "/images"

/* ---- helpers ---- */

static const char *fx(const char *name) {
  static char buf[1024];
  snprintf(buf, sizeof buf, "%s/%s", IMG_DIR, name);
  return buf;
}

static void write_all(const char *path, const uint8_t *d, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(d, 1, n, f), n);
  fclose(f);
}

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));)
    n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
  if (d)
    closedir(d);
  return n;
}

/* One line of expected.txt. */
typedef struct {
  char kind[8], file[64];
  int w, h, ch, depth, tol;
  uint8_t *px;
} expect;

static int hexval(int c) {
  return c <= '9' ? c - '0' : c - 'a' + 10;
}

/* Reads the next expectation of kind; returns 0 at the end of the file. */
static int next_expect(FILE *f, const char *kind, expect *e) {
  char line[20000];
  while (fgets(line, sizeof line, f)) {
    char hex[20000];
    int n = 0;
    if (line[0] == '#' || sscanf(line, "%7s %63s", e->kind, e->file) != 2 || strcmp(e->kind, kind))
      continue;
    if (!strcmp(kind, "image"))
      n = sscanf(line, "%*s %*s %d %d %d %d %d %19999s", &e->w, &e->h, &e->ch, &e->depth, &e->tol,
                 hex) -
          5;
    else
      n = sscanf(line, "%*s %*s %d %d %19999s", &e->w, &e->h, hex) - 2, e->ch = 1;
    assert_int_equal(n, 1);
    size_t len = strlen(hex) / 2;
    assert_int_equal(len, (size_t)e->w * e->h * e->ch);
    e->px = malloc(len);
    for (size_t i = 0; i < len; i++)
      e->px[i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
    return 1;
  }
  return 0;
}

/* Largest |got - want| over the pixels; prints the first offending index over tol. */
static int max_diff(const char *file, const uint8_t *got, const uint8_t *want, size_t n, int tol) {
  int worst = 0;
  for (size_t i = 0; i < n; i++) {
    int d = abs((int)got[i] - (int)want[i]);
    if (d > tol && worst <= tol)
      print_error("%s: byte %zu is %d, expected %d (tolerance %d)\n", file, i, got[i], want[i],
                  tol);
    worst = d > worst ? d : worst;
  }
  return worst;
}

static void expect_fail(clseg_status got, clseg_status want, const char *needle) {
  if (got != want)
    fail_msg("status %s, expected %s: %s", clseg_status_name(got), clseg_status_name(want),
             clseg_last_error(NULL));
  assert_true(test_contains(clseg_last_error(NULL), needle));
}

/* ---- reading every fixture ---- */

static void check_images(const char *suffix) {
  FILE *f = fopen(fx("expected.txt"), "r");
  assert_non_null(f);
  expect e;
  int n = 0;
  while (next_expect(f, "image", &e)) {
    if (strstr(e.file, suffix)) {
      clseg_image img = {0};
      clseg_status st = clseg_image_read(fx(e.file), &img);
      if (st != CLSEG_OK)
        fail_msg("%s: %s", e.file, clseg_last_error(NULL));
      assert_int_equal(img.width, e.w);
      assert_int_equal(img.height, e.h);
      assert_int_equal(img.channels, e.ch);
      assert_int_equal(img.bit_depth, e.depth);
      int d = max_diff(e.file, img.data, e.px, (size_t)e.w * e.h * e.ch, e.tol);
      printf("  %-22s %2dx%-2d ch %d depth %2d max diff %d (tolerance %d)\n", e.file, e.w, e.h,
             e.ch, e.depth, d, e.tol);
      assert_true(d <= e.tol);
      clseg_image_free(&img);
      n++;
    }
    free(e.px);
  }
  fclose(f);
  assert_true(n >= 4);
}

static void test_png_variants(void **state) {
  (void)state;
  check_images(".png");
}

static void test_jpeg_gray_and_colour(void **state) {
  (void)state;
  check_images(".jpg");
}

static void test_mask_read(void **state) {
  (void)state;
  FILE *f = fopen(fx("expected.txt"), "r");
  assert_non_null(f);
  expect e;
  int n = 0;
  for (; next_expect(f, "mask", &e); n++) {
    clseg_image m = {0};
    assert_int_equal(clseg_mask_read(fx(e.file), &m), CLSEG_OK);
    assert_int_equal(m.channels, 1);
    assert_int_equal(m.width, e.w);
    assert_int_equal(max_diff(e.file, m.data, e.px, (size_t)e.w * e.h, 0), 0);
    clseg_image_free(&m);
    free(e.px);
  }
  fclose(f);
  assert_int_equal(n, 5); /* gray 1/2/4-bit, palette 4/8-bit */
  clseg_image m = {0};
  expect_fail(clseg_mask_read(fx("rgb8.png"), &m), CLSEG_UNSUPPORTED, "rgb8.png");
  expect_fail(clseg_mask_read(fx("gray16.png"), &m), CLSEG_UNSUPPORTED, "class mask");
  expect_fail(clseg_mask_read(fx("gray.jpg"), &m), CLSEG_UNSUPPORTED, "JPEG");
  assert_null(m.data);
}

static void test_cmyk_and_huge(void **state) {
  (void)state;
  clseg_image img = {0};
  expect_fail(clseg_image_read(fx("cmyk.jpg"), &img), CLSEG_UNSUPPORTED, "cmyk.jpg");
  assert_true(test_contains(clseg_last_error(NULL), "CMYK"));
  assert_null(img.data);
  /* Headers claiming 12000x12000 and 20000x20000 pixels over 100 bytes: refused before allocating.
   */
  expect_fail(clseg_image_read(fx("huge_claim.png"), &img), CLSEG_FORMAT, "cannot fit in");
  expect_fail(clseg_image_read(fx("over_limit.png"), &img), CLSEG_UNSUPPORTED, "over the limit");
  expect_fail(clseg_image_read_memory("\x89PNG\r\n\x1a\n", 8, "sig-only.png", &img), CLSEG_FORMAT,
              "sig-only.png");
}

/* The format comes from the first bytes: a JPEG named .png and a PNG named .jpg both read. */
static void test_detect_by_magic(void **state) {
  (void)state;
  char dir[256], p[512];
  test_tmpdir(dir, sizeof dir);
  size_t n;
  uint8_t *jpg = test_read_file(fx("rgb.jpg"), &n);
  snprintf(p, sizeof p, "%s/photo.png", dir);
  write_all(p, jpg, n);
  clseg_image img = {0};
  assert_int_equal(clseg_image_read(p, &img), CLSEG_OK);
  assert_int_equal(img.channels, 3);
  clseg_image_free(&img);
  free(jpg);
  snprintf(p, sizeof p, "%s/notes.jpg", dir);
  write_all(p, (const uint8_t *)"hello, not an image\n", 20);
  expect_fail(clseg_image_read(p, &img), CLSEG_FORMAT, "notes.jpg");
  write_all(p, (const uint8_t *)"", 0);
  expect_fail(clseg_image_read(p, &img), CLSEG_FORMAT, "not a PNG or JPEG");
  test_rmdir(dir);
}

static void test_missing_and_unreadable(void **state) {
  (void)state;
  clseg_image img = {0};
  expect_fail(clseg_image_read("/nonexistent/clseg/x.png", &img), CLSEG_IO,
              "/nonexistent/clseg/x.png");
  assert_true(test_contains(clseg_last_error(NULL), strerror(ENOENT)));
  expect_fail(clseg_image_read(IMG_DIR, &img), CLSEG_IO, strerror(EISDIR));
  clseg_array a = {0};
  expect_fail(clseg_npy_read("/nonexistent/a.npy", &a), CLSEG_IO, "/nonexistent/a.npy");
  expect_fail(clseg_mask_read("/nonexistent/m.png", &img), CLSEG_IO, "m.png");
}

/* ---- damaged files ---- */

/* Every strict prefix of the file is FORMAT (never OK, never a crash); a few are also read from
 * disk so the message names the file. */
static void truncate_all(const char *name, const char *dir) {
  size_t n;
  uint8_t *d = test_read_file(fx(name), &n);
  for (size_t cut = 0; cut < n; cut++) {
    clseg_image img = {0};
    char label[128];
    snprintf(label, sizeof label, "%s cut at %zu", name, cut);
    clseg_status st = clseg_image_read_memory(d, cut, label, &img);
    if (st != CLSEG_FORMAT)
      fail_msg("%s: %s: %s", label, clseg_status_name(st), clseg_last_error(NULL));
    assert_true(test_contains(clseg_last_error(NULL), label));
    assert_null(img.data);
  }
  const size_t cuts[] = {1, 8, 20, n / 2, n - 1};
  for (size_t i = 0; i < 5; i++) {
    char p[512];
    snprintf(p, sizeof p, "%s/trunc-%zu-%s", dir, cuts[i], name);
    write_all(p, d, cuts[i]);
    clseg_image img = {0};
    expect_fail(clseg_image_read(p, &img), CLSEG_FORMAT, p);
  }
  free(d);
}

static void test_truncated(void **state) {
  (void)state;
  char dir[256];
  test_tmpdir(dir, sizeof dir);
  const char *files[] = {
      "rgb8.png", "rgb8_interlaced.png", "pal8_trns.png", "gray16.png", "gray.jpg",
      "rgb.jpg",  "rgb_progressive.jpg"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++)
    truncate_all(files[i], dir);
  test_rmdir(dir);
}

/* PNG: every critical chunk has a CRC, so each single-byte flip must be found. JPEG has no
 * checksum: a flip in entropy data can decode to other pixels, so only "no crash, no leak, a clean
 * status" is required, and flips in the markers must be found. */
static void test_flipped_bytes(void **state) {
  (void)state;
  const char *files[] = {"rgb8.png", "pal8.png", "rgb8_interlaced.png", "rgb.jpg",
                         "rgb_progressive.jpg"};
  for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
    size_t n;
    uint8_t *d = test_read_file(fx(files[f]), &n);
    int is_png = strstr(files[f], ".png") != NULL, found = 0;
    for (size_t i = 0; i < n; i++) {
      d[i] ^= 0xFF;
      clseg_image img = {0};
      clseg_status st = clseg_image_read_memory(d, n, files[f], &img);
      d[i] ^= 0xFF;
      found += st != CLSEG_OK;
      if (is_png && st != CLSEG_FORMAT)
        fail_msg("%s: flip at %zu gave %s", files[f], i, clseg_status_name(st));
      if (!is_png && (i < 4 || i == n - 1 || i == n - 2) && st == CLSEG_OK)
        fail_msg("%s: flip of marker byte %zu not found", files[f], i);
      if (st != CLSEG_OK)
        assert_true(test_contains(clseg_last_error(NULL), files[f]));
      clseg_image_free(&img);
    }
    printf("  %-22s %zu flips, %d reported\n", files[f], n, found);
    free(d);
  }
}

/* ---- writing ---- */

static void test_png_roundtrips(void **state) {
  (void)state;
  char dir[256], p[512];
  test_tmpdir(dir, sizeof dir);
  enum { W = 13, H = 7 };
  uint8_t cls[W * H], rgb[W * H * 3], pal[768];
  uint16_t g16[W * H];
  for (int i = 0; i < W * H; i++) {
    cls[i] = (uint8_t)(i % 23 == 22 ? 255 : i % 23); /* 0..21 and the VOC ignore label 255 */
    g16[i] = (uint16_t)(i * 719 + (i == 1 ? 65535 : 0));
  }
  for (int i = 0; i < W * H * 3; i++)
    rgb[i] = (uint8_t)(i * 37 + 11);
  clseg_palette_default(pal);
  snprintf(p, sizeof p, "%s/mask.png", dir);
  assert_int_equal(clseg_png_write_mask(p, cls, W, H, NULL), CLSEG_OK);
  clseg_image m = {0}, img = {0};
  assert_int_equal(clseg_mask_read(p, &m), CLSEG_OK);
  assert_memory_equal(m.data, cls, sizeof cls);
  assert_int_equal(clseg_image_read(p, &img), CLSEG_OK); /* as an image: the palette colours */
  assert_int_equal(img.channels, 3);
  for (int i = 0; i < W * H; i++)
    assert_memory_equal(img.data + 3 * i, pal + 3 * cls[i], 3);
  clseg_image_free(&m);
  clseg_image_free(&img);
  snprintf(p, sizeof p, "%s/rgb.png", dir);
  assert_int_equal(clseg_png_write_rgb(p, rgb, W, H), CLSEG_OK);
  assert_int_equal(clseg_png_write_rgb(p, rgb, W, H), CLSEG_OK); /* replacing an existing file */
  assert_int_equal(clseg_image_read(p, &img), CLSEG_OK);
  assert_int_equal(img.channels, 3);
  assert_memory_equal(img.data, rgb, sizeof rgb);
  clseg_image_free(&img);
  snprintf(p, sizeof p, "%s/prob.png", dir);
  assert_int_equal(clseg_png_write_gray16(p, g16, W, H), CLSEG_OK);
  uint16_t *back = NULL;
  int w = 0, h = 0;
  assert_int_equal(clseg_png_read_gray16(p, &back, &w, &h), CLSEG_OK);
  assert_int_equal(w, W);
  assert_int_equal(h, H);
  assert_memory_equal(back, g16, sizeof g16);
  free(back);
  assert_int_equal(clseg_image_read(p, &img), CLSEG_OK); /* 8-bit view: round(v * 255 / 65535) */
  for (int i = 0; i < W * H; i++)
    assert_int_equal(img.data[i], (g16[i] * 510u + 65535u) / 131070u);
  clseg_image_free(&img);
  assert_int_equal(count_entries(dir), 3); /* no temporary files left */
  test_rmdir(dir);
}

static void test_write_errors(void **state) {
  (void)state;
  char dir[256], p[512];
  uint8_t px[3 * 64 * 64];
  for (size_t i = 0; i < sizeof px; i++)
    px[i] =
        (uint8_t)((i * 2654435761u) >> 13); /* noise: does not compress below the limit set below */
  expect_fail(clseg_png_write_rgb("/nonexistent/clseg/out.png", px, 4, 4), CLSEG_IO,
              "/nonexistent/clseg/out.png");
  test_tmpdir(dir, sizeof dir);
  test_write_file(dir, "file", "x");
  snprintf(p, sizeof p, "%s/file/out.png", dir); /* a folder that is a file: fails even for root */
  expect_fail(clseg_png_write_rgb(p, px, 4, 4), CLSEG_IO, strerror(ENOTDIR));
  float v = 1;
  expect_fail(clseg_npy_write(p, &v, NULL, 0), CLSEG_IO, p);
  /* A write that fails halfway (file size limit) must leave neither the file nor the temporary one.
   */
  struct rlimit old, lim;
  getrlimit(RLIMIT_FSIZE, &old);
  lim = old;
  lim.rlim_cur = 200;
  void (*prev)(int) = signal(SIGXFSZ, SIG_IGN); /* else the kernel stops the process on EFBIG */
  setrlimit(RLIMIT_FSIZE, &lim);
  snprintf(p, sizeof p, "%s/big.png", dir);
  clseg_status st = clseg_png_write_rgb(p, px, 64, 64);
  snprintf(p, sizeof p, "%s/big.npy", dir);
  float big[256] = {0};
  int64_t shape[1] = {256};
  clseg_status st2 = clseg_npy_write(p, big, shape, 1);
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, prev);
  assert_int_equal(st, CLSEG_IO);
  assert_int_equal(st2, CLSEG_IO);
  assert_true(test_contains(clseg_last_error(NULL), "big.npy"));
  assert_int_equal(count_entries(dir), 1); /* only "file" */
  expect_fail(clseg_png_write_rgb(p, px, 0, 4), CLSEG_INVALID_ARGUMENT, "0x4");
  test_rmdir(dir);
}

/* ---- .npy ---- */

static void test_npy_read(void **state) {
  (void)state;
  const float base[6] = {-0.625f, -0.375f, -0.125f, 0.125f, 0.375f, 0.625f};
  const char *ok[] = {"f4.npy", "f8.npy", "f2.npy", "f4_v2.npy"};
  for (int i = 0; i < 4; i++) {
    clseg_array a = {0};
    if (clseg_npy_read(fx(ok[i]), &a) != CLSEG_OK)
      fail_msg("%s: %s", ok[i], clseg_last_error(NULL));
    assert_int_equal(a.ndim, 2);
    assert_int_equal(a.shape[0], 2);
    assert_int_equal(a.shape[1], 3);
    assert_int_equal(a.count, 6);
    assert_memory_equal(a.data, base, sizeof base); /* exact in every dtype */
    clseg_array_free(&a);
  }
  clseg_array a = {0};
  assert_int_equal(clseg_npy_read(fx("f2_special.npy"), &a), CLSEG_OK);
  const float sp[6] = {1.0f, -2.0f, 65504.0f, 5.9604645e-08f, INFINITY, -0.0f};
  assert_memory_equal(a.data, sp, sizeof sp);
  clseg_array_free(&a);
  assert_int_equal(clseg_npy_read(fx("scalar.npy"), &a), CLSEG_OK);
  assert_int_equal(a.ndim, 0);
  assert_int_equal(a.count, 1);
  assert_true(a.data[0] == 3.5f);
  clseg_array_free(&a);
  assert_int_equal(clseg_npy_read(fx("empty.npy"), &a), CLSEG_OK);
  assert_int_equal(a.count, 0);
  clseg_array_free(&a);
  expect_fail(clseg_npy_read(fx("fortran.npy"), &a), CLSEG_UNSUPPORTED, "Fortran");
  expect_fail(clseg_npy_read(fx("i4.npy"), &a), CLSEG_UNSUPPORTED, "'<i4'");
  expect_fail(clseg_npy_read(fx("be_f4.npy"), &a), CLSEG_UNSUPPORTED, "big-endian");
  assert_null(a.data);
}

static void test_npy_roundtrip(void **state) {
  (void)state;
  char dir[256], p[512];
  test_tmpdir(dir, sizeof dir);
  snprintf(p, sizeof p, "%s/a.npy", dir);
  float data[105];
  check_fill_uniform(data, 105, 7, -3, 3);
  const int64_t shapes[3][3] = {{105, 0, 0}, {3, 5, 7}, {1, 105, 1}};
  const int ndims[3] = {1, 3, 3};
  for (int s = 0; s < 3; s++) {
    assert_int_equal(clseg_npy_write(p, data, shapes[s], ndims[s]), CLSEG_OK);
    clseg_array a = {0};
    assert_int_equal(clseg_npy_read(p, &a), CLSEG_OK);
    assert_int_equal(a.ndim, ndims[s]);
    for (int i = 0; i < ndims[s]; i++)
      assert_int_equal(a.shape[i], shapes[s][i]);
    assert_memory_equal(a.data, data, sizeof data);
    clseg_array_free(&a);
  }
  size_t n;
  uint8_t *raw =
      test_read_file(p, &n); /* numpy's layout: data on a 64-byte boundary, header ends in '\n' */
  assert_int_equal((n - 105 * 4) % 64, 0);
  assert_int_equal(raw[n - 105 * 4 - 1], '\n');
  assert_true(strstr((char *)raw + 10, "'shape': (1, 105, 1), }") != NULL);
  free(raw);
  assert_int_equal(clseg_npy_write(p, data, NULL, 0), CLSEG_OK);
  clseg_array a = {0};
  assert_int_equal(clseg_npy_read(p, &a), CLSEG_OK);
  assert_int_equal(a.ndim, 0);
  assert_true(a.data[0] == data[0]);
  clseg_array_free(&a);
  assert_int_equal(count_entries(dir), 1);
  test_rmdir(dir);
}

/* Hand-made headers: each must be refused with the named status, never read out of bounds. */
static void test_npy_bad_headers(void **state) {
  (void)state;
  struct {
    const char *header;
    size_t data_bytes;
    clseg_status want;
    const char *needle;
  } cases[] = {
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8, CLSEG_OK, ""},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 7, CLSEG_FORMAT,
       "needs 8 bytes"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 12, CLSEG_FORMAT, "has 12"},
      {"{'descr': '<f4', 'shape': (2,), }", 8, CLSEG_FORMAT, "missing"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", 8, CLSEG_FORMAT,
       "unknown"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 8, CLSEG_FORMAT,
       "repeated"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", 8, CLSEG_FORMAT,
       "shape entry"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", 8, CLSEG_FORMAT,
       "shape entry"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999,), }", 8, CLSEG_FORMAT,
       "large"},
      {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", 8, CLSEG_FORMAT,
       "fortran_order"},
      {"{'descr': '<f4, 'fortran_order': False, 'shape': (2,), }", 8, CLSEG_FORMAT, "malformed"},
      {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8, CLSEG_UNSUPPORTED,
       "structured"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4,
       CLSEG_UNSUPPORTED, "8"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } trailing", 8, CLSEG_FORMAT,
       "after"},
      {"", 0, CLSEG_FORMAT, "expected '{'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    uint8_t buf[512] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
    size_t hl = strlen(cases[i].header);
    buf[8] = (uint8_t)hl;
    memcpy(buf + 10, cases[i].header, hl);
    clseg_array a = {0};
    clseg_status st = clseg_npy_read_memory(buf, 10 + hl + cases[i].data_bytes, "case.npy", &a);
    if (st != cases[i].want)
      fail_msg("case %zu: %s: %s", i, clseg_status_name(st), clseg_last_error(NULL));
    if (st != CLSEG_OK)
      assert_true(test_contains(clseg_last_error(NULL), cases[i].needle));
    clseg_array_free(&a);
  }
  uint8_t pre[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 200, 0, '{', '}'};
  clseg_array a = {0};
  expect_fail(clseg_npy_read_memory(pre, 12, "short.npy", &a), CLSEG_FORMAT, "past the end");
  expect_fail(clseg_npy_read_memory(pre, 9, "short.npy", &a), CLSEG_FORMAT, "magic");
  pre[6] = 9;
  expect_fail(clseg_npy_read_memory(pre, 12, "v9.npy", &a), CLSEG_UNSUPPORTED, "version 9");
  pre[6] = 2;
  expect_fail(clseg_npy_read_memory(pre, 11, "v2.npy", &a), CLSEG_FORMAT, "truncated");
}

/* ---- conversions, resize, overlay ---- */

/* Independent half-pixel bilinear in double: src = (d + 0.5) * in / out - 0.5, clamped to [0, in -
 * 1]. */
static double naive_bilinear(const uint8_t *img, int w, int h, int ch, int c, int ow, int oh, int x,
                             int y) {
  double sx = fmax((x + 0.5) * w / ow - 0.5, 0), sy = fmax((y + 0.5) * h / oh - 0.5, 0);
  int x0 = (int)sx < w - 1 ? (int)sx : w - 1, y0 = (int)sy < h - 1 ? (int)sy : h - 1;
  int x1 = x0 + (x0 < w - 1), y1 = y0 + (y0 < h - 1);
  double lx = sx - x0, ly = sy - y0;
#define P(xx, yy) (double)img[((size_t)(yy)*w + (xx)) * ch + c]
  return (1 - ly) * ((1 - lx) * P(x0, y0) + lx * P(x1, y0)) +
         ly * ((1 - lx) * P(x0, y1) + lx * P(x1, y1));
#undef P
}

static void test_image_to_tensor_data(void **state) {
  (void)state;
  const int sizes[][4] = {{5, 4, 11, 7}, {9, 7, 4, 3}, {6, 6, 6, 6}, {1, 1, 3, 2}, {17, 3, 1, 1}};
  for (int s = 0; s < 5; s++) {
    int w = sizes[s][0], h = sizes[s][1], ow = sizes[s][2], oh = sizes[s][3];
    clseg_image img = {.width = w, .height = h, .channels = 3, .bit_depth = 8};
    img.data = malloc((size_t)w * h * 3);
    for (int i = 0; i < w * h * 3; i++)
      img.data[i] = (uint8_t)((i * 97 + s * 31) % 256);
    clseg_tensor_params tp = {
        .width = ow, .height = oh, .mean = CLSEG_IMAGENET_MEAN, .std = CLSEG_IMAGENET_STD};
    float *got = malloc(sizeof(float) * 3 * ow * oh), *ref = malloc(sizeof(float) * 3 * ow * oh);
    assert_int_equal(clseg_image_to_tensor_data(&img, &tp, got), CLSEG_OK);
    for (int c = 0; c < 3; c++)
      for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++)
          ref[(c * oh + y) * ow + x] =
              (float)((naive_bilinear(img.data, w, h, 3, c, ow, oh, x, y) / 255.0 - tp.mean[c]) /
                      tp.std[c]);
    char ctx[96];
    snprintf(ctx, sizeof ctx, "image_to_tensor_data %dx%d -> %dx%d", w, h, ow, oh);
    const int64_t shape[4] = {1, 3, oh, ow};
    assert_true(check_close("tensor", got, ref, (size_t)3 * ow * oh, shape, NULL, ctx));
    free(got);
    free(ref);
    clseg_image_free(&img);
  }
  clseg_image gray = {.width = 2, .height = 1, .channels = 1, .data = (uint8_t[]){0, 255}};
  float out[6];
  expect_fail(clseg_image_to_tensor_data(&gray, NULL, out), CLSEG_INVALID_ARGUMENT,
              "clseg_image_to_rgb");
  clseg_image rgb = {0};
  assert_int_equal(clseg_image_to_rgb(&gray, &rgb), CLSEG_OK);
  assert_int_equal(clseg_image_to_tensor_data(&rgb, NULL, out),
                   CLSEG_OK); /* defaults: v / 255, own size */
  const float want[6] = {0, 1, 0, 1, 0, 1};
  assert_memory_equal(out, want, sizeof want);
  clseg_image_free(&rgb);
}

static void test_to_rgb_and_resize(void **state) {
  (void)state;
  uint8_t ga[4] = {10, 200, 20, 100}, rgba[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  clseg_image in = {.width = 2, .height = 1, .channels = 2, .bit_depth = 8, .data = ga}, out = {0};
  assert_int_equal(clseg_image_to_rgb(&in, &out), CLSEG_OK);
  assert_memory_equal(out.data, ((uint8_t[]){10, 10, 10, 20, 20, 20}), 6);
  clseg_image_free(&out);
  in.channels = 4;
  in.data = rgba;
  assert_int_equal(clseg_image_to_rgb(&in, &out), CLSEG_OK);
  assert_memory_equal(out.data, ((uint8_t[]){1, 2, 3, 5, 6, 7}), 6);
  clseg_image_free(&out);
  uint8_t px[2] = {0, 100}; /* 2x1 -> 4x1: taps at -0.25 (clamped), 0.25, 0.75, 1.25 (clamped) */
  in = (clseg_image){.width = 2, .height = 1, .channels = 1, .data = px};
  assert_int_equal(clseg_image_resize(&in, 4, 1, &out), CLSEG_OK);
  assert_memory_equal(out.data, ((uint8_t[]){0, 25, 75, 100}), 4);
  clseg_image_free(&out);
  float probs[2 * 2] = {0, 1, 10, 20}; /* 2 channels of 2x1 */
  float up[2 * 4];
  assert_int_equal(clseg_resize_probs_bilinear(probs, 2, 1, 2, 4, 1, up), CLSEG_OK);
  const float want[8] = {0, 0.25f, 0.75f, 1, 10, 12.5f, 17.5f, 20};
  assert_true(check_close("probs", up, want, 8, NULL, NULL, "2x1 -> 4x1"));
  uint8_t m[4] = {1, 2, 3, 4}, big[16], small[4];
  assert_int_equal(clseg_resize_mask_nearest(m, 2, 2, 4, 4, big), CLSEG_OK);
  assert_memory_equal(big, ((uint8_t[]){1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}), 16);
  assert_int_equal(clseg_resize_mask_nearest(big, 4, 4, 2, 2, small),
                   CLSEG_OK); /* floor(d * 2): 0, 2 */
  assert_memory_equal(small, m, 4);
  uint8_t row3[3] = {7, 8, 9}, row2[2];
  assert_int_equal(clseg_resize_mask_nearest(row3, 3, 1, 2, 1, row2),
                   CLSEG_OK); /* floor(d * 1.5): 0, 1 */
  assert_memory_equal(row2, ((uint8_t[]){7, 8}), 2);
  expect_fail(clseg_resize_mask_nearest(m, 2, 2, 0, 3, big), CLSEG_INVALID_ARGUMENT, "0x3");
}

static void test_palette_and_overlay(void **state) {
  (void)state;
  uint8_t pal[768];
  clseg_palette_default(pal);
  /* PASCAL VOC: background, aeroplane, bicycle, bird, boat ... person (15), the 255 "void" colour.
   */
  const uint8_t voc[][4] = {{0, 0, 0, 0},        {1, 128, 0, 0}, {2, 0, 128, 0},
                            {3, 128, 128, 0},    {4, 0, 0, 128}, {15, 192, 128, 128},
                            {255, 224, 224, 192}};
  for (int i = 0; i < 7; i++)
    assert_memory_equal(pal + 3 * voc[i][0], voc[i] + 1, 3);
  uint8_t px[6] = {100, 150, 200, 10, 20, 30}, mask[2] = {0, 1};
  clseg_image img = {.width = 2, .height = 1, .channels = 3, .bit_depth = 8, .data = px}, out = {0};
  /* pixel 0 is background: copied; pixel 1: 0.5 * (10, 20, 30) + 0.5 * (128, 0, 0) = (69, 10, 15).
   */
  assert_int_equal(clseg_overlay(&img, mask, 2, 1, NULL, 0.5f, &out), CLSEG_OK);
  assert_memory_equal(out.data, ((uint8_t[]){100, 150, 200, 69, 10, 15}), 6);
  clseg_image_free(&out);
  pal[3] = 255, pal[4] = 255,
  pal[5] = 255; /* class 1 white, alpha 0.25: 0.75 * 10 + 63.75 = 71.25 -> 71 */
  assert_int_equal(clseg_overlay(&img, mask, 2, 1, pal, 0.25f, &out), CLSEG_OK);
  assert_memory_equal(out.data, ((uint8_t[]){100, 150, 200, 71, 79, 86}), 6);
  clseg_image_free(&out);
  assert_int_equal(clseg_overlay(&img, mask, 2, 1, pal, 1.0f, &out), CLSEG_OK);
  assert_memory_equal(out.data, ((uint8_t[]){100, 150, 200, 255, 255, 255}), 6);
  clseg_image_free(&out);
  expect_fail(clseg_overlay(&img, mask, 1, 2, NULL, 0.5f, &out), CLSEG_SHAPE_MISMATCH,
              "mask is 1x2, image is 2x1");
  expect_fail(clseg_overlay(&img, mask, 2, 1, NULL, 1.5f, &out), CLSEG_INVALID_ARGUMENT, "1.5");
  assert_null(out.data);
}

/* Outlines and skeletons on small images, pixel by pixel: the outline of a 2x2 square is the pixels
 * whose right or lower neighbour is of the other class (7 of them); a bone is the pixels between
 * its ends, dots of radius 1 at visible points; invisible points and their bones are left out. */
static void test_draw_outline_and_skeleton(void **state) {
  (void)state;
  enum { W = 8, H = 6 };
  static const uint8_t red[3] = {255, 0, 0};
  uint8_t px[W * H * 3] = {0}, mask[W * H] = {0};
  clseg_image img = {W, H, 3, 8, px};
  for (int y = 2; y <= 3; y++)
    for (int x = 2; x <= 3; x++)
      mask[y * W + x] = 1;
  assert_int_equal(clseg_draw_outline(&img, mask, 1, red), CLSEG_OK);
  static const int want[][2] = {{1, 2}, {1, 3}, {3, 2}, {3, 3}, {2, 1}, {3, 1}, {2, 3}};
  int painted = 0;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      int expect = 0;
      for (size_t k = 0; k < sizeof want / sizeof *want; k++)
        expect |= want[k][0] == x && want[k][1] == y;
      const int got = px[(y * W + x) * 3] == 255;
      if (got != expect)
        fail_msg("outline pixel (%d, %d): %d, expected %d", x, y, got, expect);
      painted += got;
    }
  assert_int_equal(painted, 7);
  memset(px, 0, sizeof px);
  const float pts[3][2] = {{1.5f, 1.5f}, {6.5f, 1.5f}, {1.5f, 4.5f}}, vis[3] = {1.0f, 0.9f, 0.2f};
  const int bones[2][2] = {{0, 1}, {0, 2}};
  assert_int_equal(clseg_draw_skeleton(&img, pts, vis, 3, bones, 2, 0.5f, 1, red), CLSEG_OK);
  for (int x = 0; x < W; x++) /* the bone (1..6, 1) and the dots' left and right ends (0, 7) */
    assert_int_equal(px[(1 * W + x) * 3], 255);
  assert_int_equal(px[(0 * W + 1) * 3], 255); /* the dot around (1, 1) */
  assert_int_equal(px[(2 * W + 6) * 3], 255); /* the dot around (6, 1) */
  assert_int_equal(px[(3 * W + 1) * 3], 0);   /* point 2 is not visible: no bone down to it */
  assert_int_equal(px[(4 * W + 1) * 3], 0);
  assert_int_equal(px[(4 * W + 4) * 3], 0);
  const int bad[1][2] = {{0, 5}};
  assert_int_equal(clseg_draw_skeleton(&img, pts, vis, 3, bad, 1, 0.5f, 1, red),
                   CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(NULL), "joins 0 and 5 of 3 points"));
  assert_int_equal(clseg_draw_outline(&img, mask, 0, red), CLSEG_INVALID_ARGUMENT);
  clseg_image gray = {W, H, 1, 8, px};
  assert_int_equal(clseg_draw_outline(&gray, mask, 1, red), CLSEG_INVALID_ARGUMENT);
}

/* Glyphs written out here, apart from the library's table: '#' is a lit font pixel. */
static const char *const ART_A[8] = {".###.", "#...#", "#...#", "#####",
                                     "#...#", "#...#", "#...#", "....."};
static const char *const ART_G[8] = {".....", ".....", ".####", "#...#",
                                     "#...#", ".####", "....#", ".###."};
static const char *const ART_B[8] = {"#....", "#....", "#.##.", "##..#",
                                     "#...#", "#...#", "####.", "....."};

/* 1 when art drawn with its top-left corner at (x0, y0), each font pixel s x s, lights (x, y). */
static int art_lit(const char *const art[8], int x0, int y0, int s, int x, int y) {
  if (x < x0 || y < y0 || x >= x0 + 5 * s || y >= y0 + 8 * s)
    return 0;
  return art[(y - y0) / s][(x - x0) / s] == '#';
}

/* Text pixel by pixel against the glyphs above: "Ag" at (2, 1), 'A' at scale 2, 'A' clipped at
 * the top-left and bottom-right corners, nothing written past the image (guard bytes). */
static void test_draw_text(void **state) {
  (void)state;
  enum { W = 17, H = 13, GUARD = 64 };
  static const uint8_t red[3] = {255, 0, 0};
  uint8_t buf[W * H * 3 + GUARD];
  clseg_image img = {W, H, 3, 8, buf};
  const struct {
    const char *text;
    int x, y, s;
  } cases[] = {
      {"Ag", 2, 1, 1}, {"A", 1, 0, 2}, {"A", -2, -3, 1}, {"A", W - 3, H - 4, 1}, {"AA", -7, 2, 1}};
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    memset(buf, 0xab, sizeof buf);
    memset(buf, 0, W * H * 3);
    assert_int_equal(clseg_draw_text(&img, cases[c].x, cases[c].y, cases[c].text, cases[c].s, red),
                     CLSEG_OK);
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++) {
        int want = 0;
        for (int i = 0; cases[c].text[i]; i++)
          want |= art_lit(cases[c].text[i] == 'A' ? ART_A : ART_G,
                          cases[c].x + i * CLSEG_FONT_ADVANCE * cases[c].s, cases[c].y, cases[c].s,
                          x, y);
        const uint8_t *p = buf + (y * W + x) * 3;
        const int got = p[0] == 255 && p[1] == 0 && p[2] == 0;
        if (got != want || (!got && (p[0] || p[1] || p[2])))
          fail_msg("'%s' at (%d, %d) scale %d: pixel (%d, %d) is (%d, %d, %d), expected %s",
                   cases[c].text, cases[c].x, cases[c].y, cases[c].s, x, y, p[0], p[1], p[2],
                   want ? "red" : "black");
      }
    for (int i = 0; i < GUARD; i++)
      assert_int_equal(buf[W * H * 3 + i], 0xab);
  }
  /* a character outside ASCII 32-126 is drawn as '?' */
  uint8_t other[W * H * 3] = {0};
  clseg_image img2 = {W, H, 3, 8, other};
  memset(buf, 0, W * H * 3);
  assert_int_equal(clseg_draw_text(&img, 1, 1, "\x80\t", 1, red), CLSEG_OK);
  assert_int_equal(clseg_draw_text(&img2, 1, 1, "??", 1, red), CLSEG_OK);
  assert_memory_equal(buf, other, sizeof other);
  expect_fail(clseg_draw_text(&img, 0, 0, "A", 0, red), CLSEG_INVALID_ARGUMENT, "scale");
  clseg_image gray = {W, H, 1, 8, buf};
  expect_fail(clseg_draw_text(&gray, 0, 0, "A", 1, red), CLSEG_INVALID_ARGUMENT, "RGB image");
}

/* The legend at scale 1 on a gray image: rows 11 pixels apart from (3, 3), a 7 x 7 swatch framed in
 * white with the class colour inside, the name in white from x = 14, on a panel darkened to a
 * quarter; class 0 and absent classes get no row; when rows do not fit, the last says "+N more". */
static void test_draw_legend(void **state) {
  (void)state;
  enum { W = 64, H = 40 };
  static uint8_t px[W * H * 3], mask[W * H];
  clseg_image img = {W, H, 3, 8, px};
  uint8_t pal[256 * 3];
  clseg_palette_default(pal);
  memset(px, 200, sizeof px);
  memset(mask, 0, sizeof mask);
  mask[W * 30 + 40] = 2, mask[W * 35 + 50] = 5;
  const char *names[6] = {"bg", "a", "b", "c", "d", "g"};
  assert_int_equal(clseg_draw_legend(&img, mask, NULL, names, 6, 1), CLSEG_OK);
  const int rows_y[2] = {3, 14}, classes[2] = {2, 5};
  for (int r = 0; r < 2; r++)
    for (int y = 0; y < 7; y++)
      for (int x = 0; x < 7; x++) {
        const uint8_t *p = px + ((rows_y[r] + y) * W + 3 + x) * 3;
        const int frame = x == 0 || y == 0 || x == 6 || y == 6;
        const uint8_t *want = frame ? (const uint8_t[3]){255, 255, 255} : pal + 3 * classes[r];
        if (memcmp(p, want, 3))
          fail_msg("row %d swatch pixel (%d, %d): (%d, %d, %d), expected (%d, %d, %d)", r, x, y,
                   p[0], p[1], p[2], want[0], want[1], want[2]);
      }
  /* the names: "b" and "g"; the panel ends at 14 + 6 - 1 + 3 = 22 wide, 3 + 11 + 8 + 3 = 25 tall */
  for (int y = 0; y < H; y++)
    for (int x = 14; x < W; x++) {
      const int lit = art_lit(ART_B, 14, 3, 1, x, y) || art_lit(ART_G, 14, 14, 1, x, y);
      const int v = px[(y * W + x) * 3], want = lit ? 255 : x < 22 && y < 25 ? 50 : 200;
      if (v != want)
        fail_msg("legend pixel (%d, %d): %d, expected %d", x, y, v, want);
    }
  /* no names: "class 2" */
  memset(px, 200, sizeof px);
  assert_int_equal(clseg_draw_legend(&img, mask, pal, NULL, 0, 1), CLSEG_OK);
  assert_int_equal(px[(0 * W + 14 + 7 * 6 - 1 + 3 - 1) * 3], 50);
  assert_int_equal(px[(0 * W + 14 + 7 * 6 - 1 + 3) * 3], 200);
  /* 28 rows tall: two rows fit, (28 - 6 + 3) / 11; three classes: class 2, then "+2 more" */
  clseg_image low = {W, 28, 3, 8, px};
  memset(px, 200, sizeof px);
  mask[W * 20 + 3] = 7, mask[W * 21 + 3] = 2, mask[W * 22 + 3] = 5; /* within the 28 rows */
  assert_int_equal(clseg_draw_legend(&low, mask, pal, names, 6, 1), CLSEG_OK);
  assert_memory_equal(px + ((3 + 3) * W + 6) * 3, pal + 3 * 2, 3);
  assert_int_equal(px[((14 + 3) * W + 6) * 3], 50); /* no swatch on the last row */
  for (int x = 14; x < 19; x++)                     /* '+': its middle row */
    assert_int_equal(px[((14 + 3) * W + x) * 3], 255);
  assert_int_equal(px[((14 + 3) * W + 14 + 6 + 3) * 3], 255); /* '2': row 3 is ...#. */
  expect_fail(clseg_draw_legend(&img, NULL, pal, names, 6, 1), CLSEG_INVALID_ARGUMENT, "mask");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_png_variants),
      cmocka_unit_test(test_jpeg_gray_and_colour),
      cmocka_unit_test(test_mask_read),
      cmocka_unit_test(test_cmyk_and_huge),
      cmocka_unit_test(test_detect_by_magic),
      cmocka_unit_test(test_missing_and_unreadable),
      cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_flipped_bytes),
      cmocka_unit_test(test_png_roundtrips),
      cmocka_unit_test(test_write_errors),
      cmocka_unit_test(test_npy_read),
      cmocka_unit_test(test_npy_roundtrip),
      cmocka_unit_test(test_npy_bad_headers),
      cmocka_unit_test(test_image_to_tensor_data),
      cmocka_unit_test(test_to_rgb_and_resize),
      cmocka_unit_test(test_palette_and_overlay),
      cmocka_unit_test(test_draw_outline_and_skeleton),
      cmocka_unit_test(test_draw_text),
      cmocka_unit_test(test_draw_legend),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

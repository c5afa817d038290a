/* lib/bytes.h: little-endian readers, and float16 / bfloat16 to float32 checked on every bit
 * pattern against the formats' definitions evaluated in double. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "bytes.h"
#include "support.h"

/* The value an IEEE-style binary format with `mant_bits` fraction bits and exponent bias `bias`
 * gives a finite pattern: (-1)^s * 1.m * 2^(e - bias), or 0.m * 2^(1 - bias) for e = 0. */
static double finite_value(uint32_t sign, uint32_t exp, uint32_t man, int mant_bits, int bias) {
  double frac = (double)man / (double)(1u << mant_bits);
  double v = exp ? ldexp(1.0 + frac, (int)exp - bias) : ldexp(frac, 1 - bias);
  return sign ? -v : v;
}

static uint32_t float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

/* Checks one converted pattern: finite values exactly, infinities by sign, NaNs by sign and by
 * their payload kept in the top fraction bits. Returns 0 on a mismatch, printing the first few. */
static int check_pattern(const char *fmt, uint16_t h, float got, int exp_bits, int mant_bits,
                         int nbad) {
  const uint32_t sign = h >> 15, exp = (h >> mant_bits) & ((1u << exp_bits) - 1);
  const uint32_t man = h & ((1u << mant_bits) - 1), exp_max = (1u << exp_bits) - 1;
  const int bias = (1 << (exp_bits - 1)) - 1;
  int ok;
  if (exp != exp_max)
    ok = (double)got == finite_value(sign, exp, man, mant_bits, bias) &&
         !!signbit(got) == !!sign; /* -0 stays -0 */
  else if (!man)
    ok = isinf(got) && !!signbit(got) == !!sign;
  else
    ok = isnan(got) && !!signbit(got) == !!sign &&
         ((float_bits(got) >> (23 - mant_bits)) & ((1u << mant_bits) - 1)) == man;
  if (!ok && nbad < 16)
    print_message("%s 0x%04x (sign %u, exponent %u, fraction 0x%x): got %a (bits 0x%08x)\n", fmt, h,
                  sign, exp, man, (double)got, float_bits(got));
  return ok;
}

/* Every one of the 65536 patterns of a 16-bit format with exp_bits exponent bits. */
static void check_every_pattern(const char *fmt, float (*convert)(uint16_t), int exp_bits) {
  int nbad = 0;
  for (uint32_t h = 0; h <= 0xffff; h++)
    nbad += !check_pattern(fmt, (uint16_t)h, convert((uint16_t)h), exp_bits, 15 - exp_bits, nbad);
  assert_int_equal(nbad, 0);
}

static void half_to_float_matches_the_definition_for_every_pattern(void **state) {
  (void)state;
  check_every_pattern("float16", clseg__half_to_float, 5);
  /* one named example per class, so that a failure says which class broke */
  assert_true(float_bits(clseg__half_to_float(0x0000)) == 0x00000000u); /* +0 */
  assert_true(float_bits(clseg__half_to_float(0x8000)) == 0x80000000u); /* -0 */
  assert_true(clseg__half_to_float(0x0001) == ldexpf(1.0f, -24));       /* smallest subnormal */
  assert_true(clseg__half_to_float(0x03ff) == ldexpf(1023.0f, -24));    /* largest subnormal */
  assert_true(clseg__half_to_float(0x8200) == -ldexpf(1.0f, -15));      /* negative subnormal */
  assert_true(clseg__half_to_float(0x0400) == ldexpf(1.0f, -14));       /* smallest normal */
  assert_true(clseg__half_to_float(0x3c00) == 1.0f);
  assert_true(clseg__half_to_float(0xc000) == -2.0f);
  assert_true(clseg__half_to_float(0x7bff) == 65504.0f); /* largest normal */
  assert_true(isinf(clseg__half_to_float(0x7c00)) && clseg__half_to_float(0x7c00) > 0);
  assert_true(isinf(clseg__half_to_float(0xfc00)) && clseg__half_to_float(0xfc00) < 0);
  assert_true(isnan(clseg__half_to_float(0x7e00)) && !signbit(clseg__half_to_float(0x7e00)));
  assert_true(isnan(clseg__half_to_float(0xfc01)) && signbit(clseg__half_to_float(0xfc01)));
}

static void bf16_to_float_matches_the_definition_for_every_pattern(void **state) {
  (void)state;
  check_every_pattern("bfloat16", clseg__bf16_to_float, 8);
  assert_true(clseg__bf16_to_float(0x3f80) == 1.0f);
  assert_true(clseg__bf16_to_float(0xbfa0) == -1.25f);
}

static void little_endian_readers(void **state) {
  (void)state;
  const uint8_t b[8] = {0x01, 0x02, 0x03, 0x84, 0x05, 0x06, 0x07, 0x88};
  assert_int_equal(clseg__rd_u16(b), 0x0201);
  assert_int_equal(clseg__rd_u32(b), 0x84030201u);
  assert_true(clseg__rd_u64(b) == 0x8807060584030201ull);
  assert_int_equal(clseg__rd_i32(b), (int32_t)(0x84030201u - 0x100000000ll));
  const uint8_t minus_one[4] = {0xff, 0xff, 0xff, 0xff}, i32_min[4] = {0, 0, 0, 0x80};
  assert_int_equal(clseg__rd_i32(minus_one), -1);
  assert_int_equal(clseg__rd_i32(i32_min), INT32_MIN);
  const uint8_t f32[4] = {0x00, 0x00, 0xc0, 0xbf}, f64[8] = {0, 0, 0, 0, 0, 0, 0x04, 0x40};
  assert_true(clseg__rd_f32(f32) == -1.5f);
  assert_true(clseg__rd_f64(f64) == 2.5);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(half_to_float_matches_the_definition_for_every_pattern),
      cmocka_unit_test(bf16_to_float_matches_the_definition_for_every_pattern),
      cmocka_unit_test(little_endian_readers)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Numbers stored in files: little-endian integers and floats, float16 and bfloat16, read the same
 * whatever the host's byte order. Every model and array reader takes them from here. */
#ifndef CLSEG_BYTES_H
#define CLSEG_BYTES_H

#include <stdint.h>
#include <string.h>

static inline uint16_t clseg__rd_u16(const uint8_t *p) {
  return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t clseg__rd_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t clseg__rd_u64(const uint8_t *p) {
  return (uint64_t)clseg__rd_u32(p) | (uint64_t)clseg__rd_u32(p + 4) << 32;
}

/* Two's complement without relying on the implementation-defined conversion of large values. */
static inline int32_t clseg__rd_i32(const uint8_t *p) {
  uint32_t u = clseg__rd_u32(p);
  return u <= INT32_MAX ? (int32_t)u : (int32_t)(u - 0x80000000u) - INT32_MAX - 1;
}

static inline float clseg__bits_to_float(uint32_t bits) {
  float v;
  memcpy(&v, &bits, sizeof v);
  return v;
}

static inline float clseg__rd_f32(const uint8_t *p) {
  return clseg__bits_to_float(clseg__rd_u32(p));
}

static inline double clseg__rd_f64(const uint8_t *p) {
  uint64_t u = clseg__rd_u64(p);
  double v;
  memcpy(&v, &u, sizeof v);
  return v;
}

/* IEEE binary16 to float32, exactly (every half is a float): subnormals are normalised, and
 * infinities and NaNs keep their sign and payload. */
static inline float clseg__half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ffu, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | man << 13;
  } else if (exp) {
    bits = sign | (exp + 112) << 23 | man << 13;
  } else if (man) { /* subnormal: shift the leading 1 into the implicit bit */
    int e = -1;
    do {
      man <<= 1;
      e++;
    } while (!(man & 0x400u));
    bits = sign | (uint32_t)(112 - e) << 23 | (man & 0x3ffu) << 13;
  } else {
    bits = sign;
  }
  return clseg__bits_to_float(bits);
}

/* bfloat16 is the top half of a float32. */
static inline float clseg__bf16_to_float(uint16_t h) {
  return clseg__bits_to_float((uint32_t)h << 16);
}

#endif

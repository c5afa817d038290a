/* On-disk cache of compiled program binaries. A file is trusted only when its magic, format
 * version, full key, length and checksum all match; anything else is a miss. Writes go to a temp
 * file renamed into place, so concurrent processes sharing the folder never see a partial file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "file.h"
#include "internal.h"

#define MAGIC          "CLSEGBIN"
#define FORMAT_VERSION 1u
#define MAX_BINARY     (512u << 20)

uint64_t clseg__fnv1a(const void *data, size_t len, uint64_t h) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

int clseg_cache_dir(char *buf, size_t size) {
  const char *off = getenv("CLSEG_CACHE");
  if (off && (!strcmp(off, "off") || !strcmp(off, "0")))
    return 0;
  return clseg__cache_folder(buf, size);
}

int clseg__cache_folder(char *buf, size_t size) {
  const char *dir = getenv("CLSEG_CACHE_DIR");
  const char *xdg = getenv("XDG_CACHE_HOME");
  const char *home = getenv("HOME");
  int n;
  if (dir && *dir)
    n = snprintf(buf, size, "%s", dir);
  else if (xdg && *xdg)
    n = snprintf(buf, size, "%s/clseg", xdg);
  else if (home && *home)
    n = snprintf(buf, size, "%s/.cache/clseg", home);
  else
    return 0;
  return n > 0 && (size_t)n < size;
}

int clseg__cache_path(const char *key, char *buf, size_t size) {
  char dir[1024];
  if (!clseg_cache_dir(dir, sizeof dir))
    return 0;
  /* two independent hashes in the name make collisions negligible; the key inside settles them
   * anyway */
  uint64_t h1 = clseg__fnv1a(key, strlen(key), CLSEG__FNV_SEED);
  uint64_t h2 = clseg__fnv1a(key, strlen(key), 0x84222325cbf29ce4ull);
  int n = snprintf(buf, size, "%s/%016llx%016llx.bin", dir, (unsigned long long)h1,
                   (unsigned long long)h2);
  return n > 0 && (size_t)n < size;
}

int clseg__mkdir_p(const char *path) {
  char tmp[1024];
  size_t len = strlen(path);
  if (len >= sizeof tmp)
    return 0;
  memcpy(tmp, path, len + 1);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = 0;
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
      return 0;
    *p = '/';
  }
  return mkdir(tmp, 0755) == 0 || errno == EEXIST;
}

/* The fixed part of an entry around the key: magic, format version and key length before it, the
 * binary's length and checksum after it (the integers in host byte order, as written). */
#define HEAD_LEN 16
#define TAIL_LEN 16

/* Checks a whole entry file against key; returns where its binary starts, or 0 when the entry is
 * not to be trusted. */
static size_t check_entry(const unsigned char *f, size_t size, const char *key) {
  const size_t klen = strlen(key), at = HEAD_LEN + klen + TAIL_LEN;
  uint32_t version, keylen;
  uint64_t binlen, sum;
  if (size < at || memcmp(f, MAGIC, 8) != 0)
    return 0;
  memcpy(&version, f + 8, 4);
  memcpy(&keylen, f + 12, 4);
  if (version != FORMAT_VERSION || keylen != klen || memcmp(f + HEAD_LEN, key, klen) != 0)
    return 0;
  memcpy(&binlen, f + HEAD_LEN + klen, 8);
  memcpy(&sum, f + HEAD_LEN + klen + 8, 8);
  const int ok = binlen > 0 && binlen < MAX_BINARY && binlen == size - at &&
                 clseg__fnv1a(f + at, binlen, CLSEG__FNV_SEED) == sum;
  return ok ? at : 0;
}

int clseg__cache_load(clseg_context *ctx, const char *key, unsigned char **bin, size_t *len) {
  char path[1200];
  *bin = NULL;
  *len = 0;
  if (!clseg__cache_path(key, path, sizeof path))
    return 0;
  unsigned char *f = NULL;
  size_t size = 0;
  const size_t max = HEAD_LEN + strlen(key) + TAIL_LEN + MAX_BINARY; /* larger: never trusted */
  clseg_status st = clseg__file_read(path, max, &f, &size, NULL, 0);
  if (st == CLSEG_IO && errno == ENOENT)
    return 0; /* no entry: a plain miss */
  size_t at = st == CLSEG_OK ? check_entry(f, size, key) : 0;
  if (!at) {
    free(f);
    ctx->stats.cache_rejected++;
    return 0;
  }
  memmove(f, f + at, size - at); /* the caller owns and frees the binary alone */
  *bin = f;
  *len = size - at;
  return 1;
}

void clseg__cache_store(clseg_context *ctx, const char *key, const unsigned char *bin, size_t len) {
  char path[1200], dir[1024];
  if (!clseg__cache_path(key, path, sizeof path) || !clseg_cache_dir(dir, sizeof dir))
    return;
  if (!clseg__mkdir_p(dir)) {
    ctx->stats.cache_write_failures++;
    return;
  }
  clseg__file_writer w; /* unsynced: a torn entry fails its checksum and is compiled again */
  if (clseg__file_write_open(&w, path, 0, NULL, 0) != CLSEG_OK) {
    ctx->stats.cache_write_failures++;
    return;
  }
  FILE *f = w.f;
  uint32_t version = FORMAT_VERSION, keylen = (uint32_t)strlen(key);
  uint64_t binlen = len, sum = clseg__fnv1a(bin, len, CLSEG__FNV_SEED);
  int ok = fwrite(MAGIC, 1, 8, f) == 8 && fwrite(&version, 4, 1, f) == 1 &&
           fwrite(&keylen, 4, 1, f) == 1 && fwrite(key, 1, keylen, f) == keylen &&
           fwrite(&binlen, 8, 1, f) == 1 && fwrite(&sum, 8, 1, f) == 1 &&
           fwrite(bin, 1, len, f) == len;
  if (!ok)
    clseg__file_write_abort(&w);
  if (!ok || clseg__file_write_commit(&w, NULL, 0) != CLSEG_OK)
    ctx->stats.cache_write_failures++;
}

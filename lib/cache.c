/* On-disk cache of compiled program binaries. A file is trusted only when its magic, format
 * version, full key, length and checksum all match; anything else is a miss. Writes go to a temp
 * file renamed into place, so concurrent processes sharing the folder never see a partial file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static int read_exact(FILE *f, void *buf, size_t n) {
  return fread(buf, 1, n, f) == n;
}

int clseg__cache_load(clseg_context *ctx, const char *key, unsigned char **bin, size_t *len) {
  char path[1200];
  *bin = NULL;
  *len = 0;
  if (!clseg__cache_path(key, path, sizeof path))
    return 0;
  FILE *f = fopen(path, "rb");
  if (!f)
    return 0;
  char magic[8];
  uint32_t version = 0, keylen = 0;
  uint64_t binlen = 0, sum = 0;
  size_t klen = strlen(key);
  char *k = NULL;
  unsigned char *b = NULL;
  int ok = read_exact(f, magic, 8) && !memcmp(magic, MAGIC, 8) && read_exact(f, &version, 4) &&
           version == FORMAT_VERSION && read_exact(f, &keylen, 4) && keylen == klen;
  if (ok && (k = malloc(klen + 1)) != NULL)
    ok = read_exact(f, k, klen) && !memcmp(k, key, klen);
  else
    ok = 0;
  ok = ok && read_exact(f, &binlen, 8) && read_exact(f, &sum, 8) && binlen > 0 &&
       binlen < MAX_BINARY;
  if (ok && (b = malloc(binlen)) != NULL) {
    char extra;
    ok = read_exact(f, b, binlen) && fread(&extra, 1, 1, f) == 0 &&
         clseg__fnv1a(b, binlen, CLSEG__FNV_SEED) == sum;
  } else {
    ok = 0;
  }
  fclose(f);
  free(k);
  if (!ok) {
    free(b);
    ctx->stats.cache_rejected++;
    return 0;
  }
  *bin = b;
  *len = binlen;
  return 1;
}

void clseg__cache_store(clseg_context *ctx, const char *key, const unsigned char *bin, size_t len) {
  char path[1200], dir[1024], tmp[1300];
  if (!clseg__cache_path(key, path, sizeof path) || !clseg_cache_dir(dir, sizeof dir))
    return;
  if (!clseg__mkdir_p(dir)) {
    ctx->stats.cache_write_failures++;
    return;
  }
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    ctx->stats.cache_write_failures++;
    return;
  }
  uint32_t version = FORMAT_VERSION, keylen = (uint32_t)strlen(key);
  uint64_t binlen = len, sum = clseg__fnv1a(bin, len, CLSEG__FNV_SEED);
  int ok = fwrite(MAGIC, 1, 8, f) == 8 && fwrite(&version, 4, 1, f) == 1 &&
           fwrite(&keylen, 4, 1, f) == 1 && fwrite(key, 1, keylen, f) == keylen &&
           fwrite(&binlen, 8, 1, f) == 1 && fwrite(&sum, 8, 1, f) == 1 &&
           fwrite(bin, 1, len, f) == len;
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp, path) != 0) {
    remove(tmp);
    ctx->stats.cache_write_failures++;
  }
}

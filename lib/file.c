/* The whole-file reader (lib/file.h): one read for a regular file, whose size is known up front;
 * growing reads for anything else (a pipe, a /proc file); every failure named with the path. And
 * the atomic writer: a temporary file of a name no other writer holds, renamed into place. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The first read of a file whose size fstat does not tell. */
#define UNKNOWN_SIZE_FIRST_READ ((size_t)1 << 16)

static clseg_status say(char *why, size_t why_len, clseg_status s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static clseg_status say(char *why, size_t why_len, clseg_status s, const char *fmt, ...) {
  if (why && why_len) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
  }
  return s;
}

static clseg_status too_large(const char *path, size_t max, char *why, size_t why_len) {
  return say(why, why_len, CLSEG_UNSUPPORTED, "'%s': file too large to read (over %zu bytes)", path,
             max);
}

/* Doubles the buffer, staying within max + 1 bytes (max bytes and the NUL) when there is a max. */
static unsigned char *grow(unsigned char *buf, size_t *cap, size_t max) {
  size_t want = *cap > SIZE_MAX / 2 ? SIZE_MAX : *cap * 2;
  if (max && want > max + 1)
    want = max + 1;
  unsigned char *bigger = realloc(buf, want);
  if (bigger)
    *cap = want;
  return bigger;
}

/* Reads f to its end into a buffer of first + 1 bytes, grown while the file goes on. */
static clseg_status read_to_end(FILE *f, const char *path, size_t max, size_t first,
                                unsigned char **data, size_t *size, char *why, size_t why_len) {
  size_t cap = first + 1, n = 0;
  unsigned char *buf = malloc(cap);
  while (buf) {
    n += fread(buf + n, 1, cap - 1 - n, f);
    int c = n < cap - 1 || ferror(f) ? EOF : fgetc(f); /* a full buffer: is there more? */
    if (c == EOF)
      break;
    if (max && n >= max) {
      free(buf);
      return too_large(path, max, why, why_len);
    }
    unsigned char *bigger = grow(buf, &cap, max);
    if (!bigger)
      free(buf);
    buf = bigger;
    if (buf)
      buf[n++] = (unsigned char)c;
  }
  if (!buf)
    return say(why, why_len, CLSEG_OUT_OF_MEMORY, "'%s': no memory to read the file", path);
  if (ferror(f)) {
    int e = errno;
    free(buf);
    errno = e;
    return say(why, why_len, CLSEG_IO, "cannot read '%s': %s", path, strerror(e));
  }
  buf[n] = 0;
  *data = buf;
  *size = n;
  return CLSEG_OK;
}

/* Refuses what cannot be read whole before reading anything; returns the first read's size. */
static clseg_status check_opened(FILE *f, const char *path, size_t max, size_t *first, char *why,
                                 size_t why_len) {
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0)
    return say(why, why_len, CLSEG_IO, "cannot read '%s': %s", path, strerror(errno));
  if (S_ISDIR(sb.st_mode)) { /* fopen opens folders on Linux; reading them fails later */
    errno = EISDIR;
    return say(why, why_len, CLSEG_IO, "cannot read '%s': %s", path, strerror(EISDIR));
  }
  const int sized = S_ISREG(sb.st_mode) && sb.st_size > 0;
  if (sized && max && (uintmax_t)sb.st_size > max)
    return too_large(path, max, why, why_len);
  if (sized && (uintmax_t)sb.st_size >= SIZE_MAX)
    return say(why, why_len, CLSEG_OUT_OF_MEMORY, "'%s': no memory to read the file", path);
  if (sized)
    *first = (size_t)sb.st_size;
  else
    *first = max && max < UNKNOWN_SIZE_FIRST_READ ? max : UNKNOWN_SIZE_FIRST_READ;
  return CLSEG_OK;
}

clseg_status clseg__file_read(const char *path, size_t max, unsigned char **data, size_t *size,
                              char *why, size_t why_len) {
  *data = NULL;
  *size = 0;
  if (!path)
    return say(why, why_len, CLSEG_INVALID_ARGUMENT, "read: NULL path");
  FILE *f = fopen(path, "rb");
  if (!f)
    return say(why, why_len, CLSEG_IO, "cannot open '%s': %s", path, strerror(errno));
  size_t first = 0;
  clseg_status s = check_opened(f, path, max, &first, why, why_len);
  if (s == CLSEG_OK)
    s = read_to_end(f, path, max, first, data, size, why, why_len);
  int e = errno;
  fclose(f);
  errno = e; /* the failure's cause, not fclose's */
  return s;
}

size_t clseg__file_head(const char *path, void *buf, size_t n) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return 0;
  size_t got = fread(buf, 1, n, f);
  fclose(f);
  return got;
}

/* ---- atomic writes ---- */

clseg_status clseg__file_write_open(clseg__file_writer *w, const char *path, int sync, char *why,
                                    size_t why_len) {
  static atomic_uint counter;
  *w = (clseg__file_writer){.path = path, .sync = sync};
  if (!path)
    return say(why, why_len, CLSEG_INVALID_ARGUMENT, "write: NULL path");
  const size_t len = strlen(path) + 48;
  if (!(w->tmp = malloc(len)))
    return say(why, why_len, CLSEG_OUT_OF_MEMORY, "cannot write '%s': no memory", path);
  int fd = -1;
  for (int tries = 0; fd < 0 && tries < 100; tries++) { /* O_EXCL: never clobber another writer */
    snprintf(w->tmp, len, "%s.tmp-%ld-%u", path, (long)getpid(), atomic_fetch_add(&counter, 1));
    fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST)
      break;
  }
  if (fd < 0 || !(w->f = fdopen(fd, "wb"))) {
    const int e = errno;
    if (fd >= 0) {
      close(fd);
      remove(w->tmp);
    }
    free(w->tmp);
    w->tmp = NULL;
    errno = e;
    return say(why, why_len, CLSEG_IO, "cannot write '%s': %s", path, strerror(e));
  }
  return CLSEG_OK;
}

clseg_status clseg__file_write_commit(clseg__file_writer *w, char *why, size_t why_len) {
  int e = 0;
  if (fflush(w->f) != 0 || ferror(w->f))
    e = errno ? errno : EIO;
  else if (w->sync &&
           fsync(fileno(w->f)) != 0) /* the data is on disk before the name points at it */
    e = errno;
  if (fclose(w->f) != 0 && !e)
    e = errno;
  w->f = NULL;
  if (!e && rename(w->tmp, w->path) != 0)
    e = errno;
  if (e) {
    clseg__file_write_abort(w);
    errno = e;
    return say(why, why_len, CLSEG_IO, "cannot write '%s': %s", w->path, strerror(e));
  }
  free(w->tmp);
  w->tmp = NULL;
  return CLSEG_OK;
}

void clseg__file_write_abort(clseg__file_writer *w) {
  if (w->f)
    fclose(w->f);
  if (w->tmp)
    remove(w->tmp);
  free(w->tmp);
  w->f = NULL;
  w->tmp = NULL;
}

clseg_status clseg__file_write(const char *path, const void *data, size_t size, int sync, char *why,
                               size_t why_len) {
  clseg__file_writer w;
  clseg_status s = clseg__file_write_open(&w, path, sync, why, why_len);
  if (s != CLSEG_OK)
    return s;
  if (size && fwrite(data, 1, size, w.f) != size) {
    const int e = errno ? errno : EIO;
    clseg__file_write_abort(&w);
    errno = e;
    return say(why, why_len, CLSEG_IO, "cannot write '%s': %s", path, strerror(e));
  }
  return clseg__file_write_commit(&w, why, why_len);
}

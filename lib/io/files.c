/* The file side of lib/io: whole-file reads through lib/file.c with the failure recorded for
 * clseg_last_error, and atomic writes (temporary file, fsync, rename) so that a reader never sees
 * half a file. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "internal.h"
#include "io/io.h"

clseg_status clseg__io_read_file(const char *path, uint8_t **data, size_t *size) {
  char why[CLSEG__FILE_WHY_LEN];
  clseg_status st = clseg__file_read(path, CLSEG__IO_MAX_FILE, data, size, why, sizeof why);
  return st == CLSEG_OK ? CLSEG_OK : clseg__fail(NULL, st, "%s", why);
}

clseg_status clseg__wfile_open(clseg__wfile *w, const char *path) {
  static atomic_uint counter;
  *w = (clseg__wfile){.path = path};
  size_t len = strlen(path) + 48;
  if (!(w->tmp = malloc(len)))
    return clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "cannot write '%s': no memory", path);
  int fd = -1;
  for (int tries = 0; fd < 0 && tries < 100;
       tries++) { /* O_EXCL: never clobber another writer's file */
    snprintf(w->tmp, len, "%s.tmp-%ld-%u", path, (long)getpid(), atomic_fetch_add(&counter, 1));
    fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST)
      break;
  }
  if (fd < 0 || !(w->f = fdopen(fd, "wb"))) {
    int e = errno;
    if (fd >= 0) {
      close(fd);
      remove(w->tmp);
    }
    free(w->tmp);
    w->tmp = NULL;
    return clseg__fail(NULL, CLSEG_IO, "cannot write '%s': %s", path, strerror(e));
  }
  return CLSEG_OK;
}

clseg_status clseg__wfile_commit(clseg__wfile *w) {
  int e = 0;
  if (fflush(w->f) != 0 || ferror(w->f))
    e = errno ? errno : EIO;
  else if (fsync(fileno(w->f)) != 0) /* the data is on disk before the name points at it */
    e = errno;
  if (fclose(w->f) != 0 && !e)
    e = errno;
  w->f = NULL;
  if (!e && rename(w->tmp, w->path) != 0)
    e = errno;
  if (e) {
    clseg__wfile_abort(w);
    return clseg__fail(NULL, CLSEG_IO, "cannot write '%s': %s", w->path, strerror(e));
  }
  free(w->tmp);
  w->tmp = NULL;
  return CLSEG_OK;
}

void clseg__wfile_abort(clseg__wfile *w) {
  if (w->f)
    fclose(w->f);
  if (w->tmp)
    remove(w->tmp);
  free(w->tmp);
  w->f = NULL;
  w->tmp = NULL;
}

/* The file side of lib/io: whole-file reads and atomic writes (temporary file, fsync, rename: a
 * reader never sees half a file) through lib/file.c, with the failure recorded for
 * clseg_last_error. */

#include "file.h"
#include "internal.h"
#include "io/io.h"

clseg_status clseg__io_read_file(const char *path, size_t max, uint8_t **data, size_t *size) {
  char why[CLSEG__FILE_WHY_LEN];
  clseg_status st = clseg__file_read(path, max, data, size, why, sizeof why);
  return st == CLSEG_OK ? CLSEG_OK : clseg__fail(NULL, st, "%s", why);
}

clseg_status clseg__io_write_open(clseg__file_writer *w, const char *path) {
  char why[CLSEG__FILE_WHY_LEN];
  clseg_status st = clseg__file_write_open(w, path, 1, why, sizeof why);
  return st == CLSEG_OK ? CLSEG_OK : clseg__fail(NULL, st, "%s", why);
}

clseg_status clseg__io_write_commit(clseg__file_writer *w) {
  char why[CLSEG__FILE_WHY_LEN];
  clseg_status st = clseg__file_write_commit(w, why, sizeof why);
  return st == CLSEG_OK ? CLSEG_OK : clseg__fail(NULL, st, "%s", why);
}

/* Whole files into memory: the one reader every model, image, array, kernel, tuning and cache file
 * goes through, and a peek at a file's first bytes; and the one atomic writer (temporary file, then
 * rename) of images, arrays, cache and tuning files. Needs nothing but the C library and POSIX, so
 * the CLI compiles it in as well; it records no error anywhere, each caller reports in its own way.
 */
#ifndef CLSEG_FILE_H
#define CLSEG_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "clseg.h"

/* Room for a reason that names a long path. */
#define CLSEG__FILE_WHY_LEN 4352

/* Reads the whole file at path into *data (malloc'd; the caller frees it), *size bytes followed by
 * a NUL byte that *size does not count, so text can be parsed in place. A file over max bytes
 * (0: no limit but memory) is refused. On failure *data is NULL and the result is CLSEG_IO (cannot
 * open, a folder, a read error; errno keeps the cause, ENOENT for a missing file),
 * CLSEG_UNSUPPORTED (over max), CLSEG_OUT_OF_MEMORY or CLSEG_INVALID_ARGUMENT (NULL path), with the
 * reason, path included, written into why when it is not NULL:
 * "cannot open 'a.png': No such file or directory". */
clseg_status clseg__file_read(const char *path, size_t max, unsigned char **data, size_t *size,
                              char *why, size_t why_len);

/* Copies up to n first bytes of the file at path into buf; returns how many (0 when it cannot be
 * read), for recognising a format by its magic bytes without reading the rest. */
size_t clseg__file_head(const char *path, void *buf, size_t n);

/* A file being written under a temporary name next to its final path, "<path>.tmp-<pid>-<n>", so
 * that a reader (another process included) never sees half a file. */
typedef struct {
  FILE *f; /* where the caller writes */
  char *tmp;
  const char *path; /* borrowed: must outlive the writer */
  int sync;
} clseg__file_writer;

/* Creates the temporary file (mode 0666 less the umask; never one another writer holds). With sync
 * set, commit makes the data durable (fsync) before the rename: for files a user keeps; the binary
 * cache, whose entries carry a checksum, skips it. On failure returns CLSEG_IO
 * (CLSEG_OUT_OF_MEMORY) with "cannot write '<path>': <reason>" in why when it is not NULL; errno
 * keeps the cause. */
clseg_status clseg__file_write_open(clseg__file_writer *w, const char *path, int sync, char *why,
                                    size_t why_len);
/* Flushes, (syncs,) closes and renames the temporary file to the final path; on any failure,
 * including an earlier write error of w->f, removes it and returns CLSEG_IO with the reason in why
 * as above. */
clseg_status clseg__file_write_commit(clseg__file_writer *w, char *why, size_t why_len);
/* Closes and removes the temporary file; safe to call twice or after a commit. */
void clseg__file_write_abort(clseg__file_writer *w);
/* Writes size bytes of data as the whole file at path through a writer. */
clseg_status clseg__file_write(const char *path, const void *data, size_t size, int sync, char *why,
                               size_t why_len);

#endif

/* Whole files into memory: the one reader every model, image, array, kernel, tuning and cache file
 * goes through, and a peek at a file's first bytes. Needs nothing but the C library, so the CLI
 * compiles it in as well; it records no error anywhere, each caller reports in its own way. */
#ifndef CLSEG_FILE_H
#define CLSEG_FILE_H

#include <stddef.h>

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

#endif

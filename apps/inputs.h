/* Collecting input paths from the command line: files, folders (their images, sorted) and '-' (a
 * list of paths on stdin, one per line). */
#ifndef CLSEG_INPUTS_H
#define CLSEG_INPUTS_H

#include <stddef.h>

typedef struct {
  char **paths;
  size_t count, cap;
} input_list;

/* Adds what arg names (a path that does not exist is added as it is, to fail as one image of the
 * batch); returns 0 and writes a message for an unreadable or empty folder. */
int inputs_add(input_list *l, const char *arg, char *err, size_t errlen);
void inputs_free(input_list *l);
/* Reads a --labels file into l: one class name per line, class 0 first; blank lines at the end are
 * dropped. Returns 0 and writes a message naming the file when it cannot be read or is empty. */
int labels_read(const char *path, input_list *l, char *err, size_t errlen);
/* Makes dir and its parents; returns 0 and writes a message on failure (or when dir is not
 * writable). */
int ensure_dir(const char *dir, char *err, size_t errlen);

#endif

/* Collecting input paths from the command line: files, folders (their images, sorted) and '-' (a
 * list of paths on stdin, one per line); and the class names of a --labels file. */
#include "inputs.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static int push(input_list *l, const char *path) {
  if (l->count == l->cap) {
    size_t nc = l->cap ? l->cap * 2 : 16;
    char **np = realloc(l->paths, nc * sizeof *np);
    if (!np)
      return 0;
    l->paths = np;
    l->cap = nc;
  }
  char *p = strdup(path);
  if (!p)
    return 0;
  l->paths[l->count++] = p;
  return 1;
}

static int is_image_name(const char *name) {
  const char *dot = strrchr(name, '.');
  return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_dir(input_list *l, const char *dir, char *err, size_t errlen) {
  DIR *d = opendir(dir);
  if (!d) {
    snprintf(err, errlen, "%s: cannot open the folder: %s", dir, strerror(errno));
    return 0;
  }
  size_t first = l->count;
  struct dirent *e;
  int ok = 1;
  while (ok && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || !is_image_name(e->d_name))
      continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    ok = push(l, path);
  }
  closedir(d);
  qsort(l->paths + first, l->count - first, sizeof *l->paths, cmp_str);
  if (!ok)
    snprintf(err, errlen, "%s: out of memory listing the folder", dir);
  else if (l->count == first)
    snprintf(err, errlen, "%s: the folder holds no .png or .jpg image", dir);
  return ok && l->count > first;
}

int inputs_add(input_list *l, const char *arg, char *err, size_t errlen) {
  if (!strcmp(arg, "-")) {
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
      line[strcspn(line, "\r\n")] = 0;
      if (line[0] && !inputs_add(l, line, err, errlen))
        return 0;
    }
    return 1;
  }
  struct stat st;
  /* a path that cannot be read stays in the list: it fails as an image of the batch, with its
   * reason */
  if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode))
    return add_dir(l, arg, err, errlen);
  if (!push(l, arg)) {
    snprintf(err, errlen, "out of memory");
    return 0;
  }
  return 1;
}

int labels_read(const char *path, input_list *l, char *err, size_t errlen) {
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, errlen, "--labels %s: %s", path, strerror(errno));
    return 0;
  }
  char line[4096];
  size_t named = 0; /* lines up to the last non-empty one: trailing blank lines are no classes */
  int ok = 1;
  while (ok && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = 0;
    ok = push(l, line);
    named = line[0] ? l->count : named;
  }
  if (!ok || ferror(f))
    snprintf(err, errlen, "--labels %s: %s", path, ok ? "read error" : "out of memory");
  ok = ok && !ferror(f);
  fclose(f);
  while (l->count > named)
    free(l->paths[--l->count]);
  if (ok && !l->count) {
    snprintf(err, errlen, "--labels %s: the file names no class (one name per line)", path);
    ok = 0;
  }
  return ok;
}

void inputs_free(input_list *l) {
  for (size_t i = 0; i < l->count; i++)
    free(l->paths[i]);
  free(l->paths);
  memset(l, 0, sizeof *l);
}

int ensure_dir(const char *dir, char *err, size_t errlen) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", dir);
  for (char *p = tmp + 1; *p; p++)
    if (*p == '/') {
      *p = 0;
      mkdir(tmp, 0755);
      *p = '/';
    }
  if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
    snprintf(err, errlen, "%s: cannot create the output folder: %s", dir, strerror(errno));
    return 0;
  }
  struct stat st;
  if (stat(tmp, &st) != 0 || !S_ISDIR(st.st_mode)) {
    snprintf(err, errlen, "%s: not a folder", dir);
    return 0;
  }
  if (access(tmp, W_OK) != 0) {
    snprintf(err, errlen, "%s: the output folder is not writable: %s", dir, strerror(errno));
    return 0;
  }
  return 1;
}

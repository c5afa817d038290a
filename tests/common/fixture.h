/* Loader for .clsf fixture files (PyTorch outputs written by tools/gen_fixtures.py; the format is
 * in tests/fixtures/README.md): a params block of key=value lines and named float32 arrays. */
#ifndef CLSEG_TEST_FIXTURE_H
#define CLSEG_TEST_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FIXTURE_MAX_NDIM 8
#define FIXTURE_MAX_NAME 64 /* including the terminating NUL */

typedef struct {
  char name[FIXTURE_MAX_NAME];
  int ndim;
  int64_t dims[FIXTURE_MAX_NDIM];
  size_t count; /* product of dims */
  float *data;
} fixture_array;

typedef struct fixture fixture;

/* Reads and validates a whole file. Returns NULL on failure with a message in err (may be NULL). */
fixture *fixture_load(const char *path, char *err, size_t errlen);
void fixture_free(fixture *f);

/* NULL when absent. */
const fixture_array *fixture_get(const fixture *f, const char *name);
/* The array's dims right-aligned into NCHW (leading 1s); false when it has more than 4 dims. */
bool fixture_shape4(const fixture_array *a, int64_t s[4]);

/* The value of key, or NULL when absent. */
const char *fixture_param(const fixture *f, const char *key);
/* Parsed values; def when the key is absent or its value does not parse completely. */
int fixture_param_int(const fixture *f, const char *key, int def);
float fixture_param_float(const fixture *f, const char *key, float def);
/* Activation names as tools/gen_fixtures.py writes act.kind, in clseg_act_kind order. */
#define FIXTURE_ACT_COUNT 10
extern const char *const fixture_act_names[FIXTURE_ACT_COUNT];
/* The index of act.kind's value in fixture_act_names; -1 when it is absent or unknown. */
int fixture_act_kind(const fixture *f);
/* The whole params block as one line ("k=v k=v ..."), for failure messages. */
const char *fixture_params_text(const fixture *f);

#endif

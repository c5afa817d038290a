/* Models: a .safetensors file whose __metadata__ names the network (clseg.network), its config as
 * JSON (clseg.config) and the preprocessing (clseg.classes, clseg.mean, clseg.std,
 * clseg.input_size); loading builds the network from the config and fills its weights by name.
 * Written by python/clseg_torch. */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clseg_models.h"
#include "clseg_onnx.h"
#include "clseg_tflite.h"
#include "file.h"
#include "formats/safetensors.h"
#include "internal.h"

struct clseg_model {
  clseg_graph *g;
  char network[32];
  int64_t classes, in_channels;
  char **class_names; /* classes entries, or NULL */
  float *mean, *std;  /* in_channels entries */
  int64_t input_h, input_w;
  int64_t size_multiple;     /* H and W of a free-size input must be multiples of it */
  int output_is_probability; /* the graph ends in a sigmoid or softmax */
};

/* ---- config: JSON object -> config struct, by a table of fields per network ---- */

typedef enum {
  F_INT,
  F_I64,
  F_ATTENTION,
  F_BACKBONE,
  F_RATES,
  F_VARIANT,
  F_INTS4,
  F_I64S4
} field_kind;

typedef struct {
  const char *key;
  field_kind kind;
  size_t offset;
} field;

#define U(f, k)                                                                                    \
  { #f, k, offsetof(clseg_unet_config, f) }
static const field unet_fields[] = {
    U(in_channels, F_I64), U(classes, F_I64),         U(depth, F_INT),     U(base, F_I64),
    U(bilinear, F_INT),    U(attention, F_ATTENTION), U(reduction, F_I64), {NULL, F_INT, 0}};
#undef U
#define F(f, k)                                                                                    \
  { #f, k, offsetof(clseg_fcn_config, f) }
static const field fcn_fields[] = {F(in_channels, F_I64),   F(classes, F_I64),
                                   F(backbone, F_BACKBONE), F(output_stride, F_INT),
                                   F(width, F_I64),         {NULL, F_INT, 0}};
#undef F
#define D(f, k)                                                                                    \
  { #f, k, offsetof(clseg_deeplabv3plus_config, f) }
static const field deeplab_fields[] = {D(in_channels, F_I64),
                                       D(classes, F_I64),
                                       D(backbone, F_BACKBONE),
                                       D(output_stride, F_INT),
                                       D(rates, F_RATES),
                                       D(aspp_channels, F_I64),
                                       D(low_level_channels, F_I64),
                                       D(decoder_channels, F_I64),
                                       D(width, F_I64),
                                       D(cbam, F_INT),
                                       D(reduction, F_I64),
                                       {NULL, F_INT, 0}};
#undef D
#define A(f, k)                                                                                    \
  { #f, k, offsetof(clseg_danet_config, f) }
static const field danet_fields[] = {A(in_channels, F_I64),   A(classes, F_I64),
                                     A(backbone, F_BACKBONE), A(output_stride, F_INT),
                                     A(width, F_I64),         {NULL, F_INT, 0}};
#undef A
#define S(f, k)                                                                                    \
  { #f, k, offsetof(clseg_segformer_config, f) }
static const field segformer_fields[] = {
    S(in_channels, F_I64),      S(classes, F_I64), S(variant, F_VARIANT), S(dims, F_I64S4),
    S(depths, F_INTS4),         S(heads, F_INTS4), S(sr_ratios, F_INTS4), S(mlp_ratio, F_I64),
    S(decoder_channels, F_I64), {NULL, F_INT, 0}};
#undef S

/* Indexed by clseg_unet_attention; the names clseg_torch's UNet takes. */
static const char *const attention_names[] = {"none", "cbam", "gate", "scse", "combined"};
/* Indexed by clseg_segformer_variant. */
static const char *const variant_names[] = {"b0", "b1", "b2"};

/* A whole non-negative number, or -1. Booleans read as 0 and 1. */
static double whole(const cJSON *v) {
  if (cJSON_IsBool(v))
    return cJSON_IsTrue(v) ? 1 : 0;
  if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e9 ||
      v->valuedouble != (double)(int64_t)v->valuedouble)
    return -1;
  return v->valuedouble;
}

/* A string of names (indexed by value) into an enum field; 0 when it is none of them. */
static int set_name(void *dst, const cJSON *v, const char *const *names, int count) {
  for (int i = 0; cJSON_IsString(v) && i < count; i++)
    if (!strcmp(v->valuestring, names[i]))
      return *(int *)dst = i, 1;
  return 0;
}

/* A JSON array of count whole numbers >= min into ints (wide 0) or int64s (wide 1). */
static int set_array(void *dst, const cJSON *v, int count, double min, int wide) {
  if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != count)
    return 0;
  for (int i = 0; i < count; i++) {
    double r = whole(cJSON_GetArrayItem(v, i));
    if (r < min)
      return 0;
    if (wide)
      ((int64_t *)dst)[i] = (int64_t)r;
    else
      ((int *)dst)[i] = (int)r;
  }
  return 1;
}

/* Stores one JSON value into the struct field; returns 0 when its type or value does not fit. */
static int set_field(void *cfg, const field *f, const cJSON *v) {
  char *dst = (char *)cfg + f->offset;
  double d = whole(v);
  switch (f->kind) {
  case F_INT: return d >= 0 ? (*(int *)dst = (int)d, 1) : 0;
  case F_I64: return d >= 0 ? (*(int64_t *)dst = (int64_t)d, 1) : 0;
  case F_ATTENTION: /* enums are int-sized */
    return set_name(dst, v, attention_names, sizeof attention_names / sizeof *attention_names);
  case F_VARIANT: return set_name(dst, v, variant_names, 3);
  case F_BACKBONE: /* "resnet50" or 50 */
    if (cJSON_IsString(v) && !strncmp(v->valuestring, "resnet", 6))
      return sscanf(v->valuestring + 6, "%d", (int *)dst) == 1;
    return d >= 0 ? (*(int *)dst = (int)d, 1) : 0;
  case F_RATES: return set_array(dst, v, 3, 1, 0);
  case F_INTS4: return set_array(dst, v, 4, 0, 0);
  case F_I64S4: return set_array(dst, v, 4, 0, 1);
  }
  return 0;
}

static clseg_status parse_config(const char *path, const char *network, const cJSON *json,
                                 const field *fields, void *cfg) {
  for (const cJSON *e = json->child; e; e = e->next) {
    const field *f = fields;
    while (f->key && strcmp(f->key, e->string))
      f++;
    if (!f->key)
      return clseg__fail(NULL, CLSEG_FORMAT, "%s: metadata 'clseg.config': %s has no setting '%s'",
                         path, network, e->string);
    if (!set_field(cfg, f, e))
      return clseg__fail(NULL, CLSEG_FORMAT, "%s: metadata 'clseg.config': bad value for '%s'",
                         path, e->string);
  }
  return CLSEG_OK;
}

/* Builds network from its JSON config; messages start with `what` (the file, or "config"). */
static clseg_status build(const char *what, const char *network, const char *config,
                          clseg_graph **out) {
  cJSON *json = cJSON_Parse(config);
  clseg_graph *g = NULL;
  clseg_status s = CLSEG_OK;
  if (!cJSON_IsObject(json)) {
    s = clseg__fail(NULL, CLSEG_FORMAT, "%s: metadata 'clseg.config' is not a JSON object: %.200s",
                    what, config);
  } else if (!strcmp(network, "unet")) {
    clseg_unet_config c = {0};
    if ((s = parse_config(what, network, json, unet_fields, &c)) == CLSEG_OK)
      g = clseg_unet_build(&c);
  } else if (!strcmp(network, "fcn")) {
    clseg_fcn_config c = {0};
    if ((s = parse_config(what, network, json, fcn_fields, &c)) == CLSEG_OK)
      g = clseg_fcn_build(&c);
  } else if (!strcmp(network, "deeplabv3plus")) {
    clseg_deeplabv3plus_config c = {0};
    if ((s = parse_config(what, network, json, deeplab_fields, &c)) == CLSEG_OK)
      g = clseg_deeplabv3plus_build(&c);
  } else if (!strcmp(network, "danet")) {
    clseg_danet_config c = {0};
    if ((s = parse_config(what, network, json, danet_fields, &c)) == CLSEG_OK)
      g = clseg_danet_build(&c);
  } else if (!strcmp(network, "segformer")) {
    clseg_segformer_config c = {0};
    if ((s = parse_config(what, network, json, segformer_fields, &c)) == CLSEG_OK)
      g = clseg_segformer_build(&c);
  } else {
    s = clseg__fail(NULL, CLSEG_UNSUPPORTED,
                    "%s: metadata 'clseg.network' is '%s'; this clseg builds unet, fcn, "
                    "deeplabv3plus, danet and segformer",
                    what, network);
  }
  cJSON_Delete(json);
  if (s == CLSEG_OK && !g)
    s = clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "%s: building %s: out of memory", what, network);
  if (s == CLSEG_OK && clseg_graph_status(g) != CLSEG_OK)
    s = clseg__fail(NULL, clseg_graph_status(g), "%s: metadata 'clseg.config': %s", what,
                    clseg_graph_error(g));
  if (s != CLSEG_OK) {
    clseg_graph_free(g);
    g = NULL;
  }
  *out = g;
  return s;
}

clseg_status clseg_network_build(const char *network, const char *config_json, clseg_graph **out) {
  if (!out)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "clseg_network_build: NULL output");
  *out = NULL;
  if (!network || !config_json)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "clseg_network_build: NULL network or config");
  return build("config", network, config_json, out);
}

/* ---- preprocessing metadata ---- */

/* Parses a JSON array of count numbers into out; returns 0 when it is something else. */
static int number_array(const char *text, float *out, int64_t count) {
  cJSON *a = cJSON_Parse(text);
  int ok = cJSON_IsArray(a) && cJSON_GetArraySize(a) == count;
  for (int i = 0; ok && i < count; i++) {
    const cJSON *v = cJSON_GetArrayItem(a, i);
    ok = cJSON_IsNumber(v);
    if (ok)
      out[i] = (float)v->valuedouble;
  }
  cJSON_Delete(a);
  return ok;
}

static clseg_status read_class_names(clseg_model *m, const char *path, const char *text) {
  cJSON *a = cJSON_Parse(text);
  clseg_status s = CLSEG_OK;
  if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != m->classes) {
    s = clseg__fail(NULL, CLSEG_FORMAT,
                    "%s: metadata 'clseg.classes' must be a JSON array of %lld names", path,
                    (long long)m->classes);
  } else if (!(m->class_names = calloc((size_t)m->classes, sizeof *m->class_names))) {
    s = clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "%s: class names: out of memory", path);
  }
  for (int i = 0; s == CLSEG_OK && i < m->classes; i++) {
    const cJSON *v = cJSON_GetArrayItem(a, i);
    if (!cJSON_IsString(v))
      s = clseg__fail(NULL, CLSEG_FORMAT, "%s: metadata 'clseg.classes': entry %d is not a string",
                      path, i);
    else if (!(m->class_names[i] = strdup(v->valuestring)))
      s = clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "%s: class names: out of memory", path);
  }
  cJSON_Delete(a);
  return s;
}

static clseg_status read_preprocessing(clseg_model *m, const clseg__st_file *f, const char *path) {
  const char *v;
  float size[2];
  m->mean = malloc((size_t)m->in_channels * sizeof *m->mean);
  m->std = malloc((size_t)m->in_channels * sizeof *m->std);
  if (!m->mean || !m->std)
    return clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "%s: out of memory", path);
  for (int64_t i = 0; i < m->in_channels; i++)
    m->mean[i] = 0.0f, m->std[i] = 1.0f;
  if ((v = clseg__st_meta(f, "clseg.mean")) && !number_array(v, m->mean, m->in_channels))
    return clseg__fail(NULL, CLSEG_FORMAT,
                       "%s: metadata 'clseg.mean' must be a JSON array of %lld numbers", path,
                       (long long)m->in_channels);
  if ((v = clseg__st_meta(f, "clseg.std")) && !number_array(v, m->std, m->in_channels))
    return clseg__fail(NULL, CLSEG_FORMAT,
                       "%s: metadata 'clseg.std' must be a JSON array of %lld numbers", path,
                       (long long)m->in_channels);
  for (int64_t i = 0; i < m->in_channels; i++)
    if (!(m->std[i] > 0.0f))
      return clseg__fail(NULL, CLSEG_FORMAT,
                         "%s: metadata 'clseg.std' has a value that is not positive", path);
  if ((v = clseg__st_meta(f, "clseg.input_size"))) {
    if (!number_array(v, size, 2) || size[0] < 1 || size[1] < 1)
      return clseg__fail(NULL, CLSEG_FORMAT,
                         "%s: metadata 'clseg.input_size' must be [height, width]", path);
    m->input_h = (int64_t)size[0];
    m->input_w = (int64_t)size[1];
  }
  m->size_multiple = 32; /* every stride of the bundled networks divides it up to U-Net depth 5 */
  if ((v = clseg__st_meta(f, "clseg.size_multiple")) && (!number_array(v, size, 1) || size[0] < 1))
    return clseg__fail(NULL, CLSEG_FORMAT, "%s: metadata 'clseg.size_multiple' must be [n], n >= 1",
                       path);
  if (v)
    m->size_multiple = (int64_t)size[0];
  v = clseg__st_meta(f, "clseg.classes");
  return v ? read_class_names(m, path, v) : CLSEG_OK;
}

/* ---- loading ---- */

static clseg_status load_from(clseg_model *m, const clseg__st_file *f, const char *path) {
  static const char *const required[2] = {"clseg.network", "clseg.config"};
  const char *v[2];
  for (int i = 0; i < 2; i++)
    if (!(v[i] = clseg__st_meta(f, required[i])))
      return clseg__fail(
          NULL, CLSEG_FORMAT,
          "%s: missing metadata key '%s' (a clseg model file carries clseg.network and "
          "clseg.config in __metadata__: write it with clseg_torch.export)",
          path, required[i]);
  snprintf(m->network, sizeof m->network, "%s", v[0]);
  clseg_status s = build(path, v[0], v[1], &m->g);
  if (s != CLSEG_OK)
    return s;
  clseg_graph_info info;
  clseg_graph_get_info(m->g, &info);
  m->classes = info.output_channels;
  m->in_channels = info.input_channels;
  if ((s = read_preprocessing(m, f, path)) != CLSEG_OK)
    return s;
  if ((s = clseg_graph_load_safetensors(m->g, path)) != CLSEG_OK)
    return clseg__fail(NULL, s, "%s", clseg_graph_error(m->g));
  return CLSEG_OK;
}

/* A TensorFlow Lite flatbuffer carries "TFL3" at bytes 4..7. */
static int is_tflite(const char *path) {
  unsigned char head[8];
  return clseg__file_head(path, head, sizeof head) == sizeof head && !memcmp(head + 4, "TFL3", 4);
}

/* Imported models (TFLite, ONNX) take the tensor their file fixes: its size, values as given (mean
 * 0, std 1; MediaPipe's TFLite models expect RGB scaled to [0, 1], which is what v / 255 gives). */
static clseg_status set_imported(clseg_model *m, const char *path, const char *network,
                                 int64_t classes, int64_t in_c, int64_t h, int64_t w,
                                 int is_probability) {
  snprintf(m->network, sizeof m->network, "%s", network);
  m->classes = classes;
  m->in_channels = in_c;
  m->input_h = h;
  m->input_w = w;
  m->size_multiple = 1;
  m->output_is_probability = is_probability;
  m->mean = calloc((size_t)m->in_channels, sizeof *m->mean);
  m->std = malloc((size_t)m->in_channels * sizeof *m->std);
  if (!m->mean || !m->std)
    return clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "%s: out of memory", path);
  for (int64_t i = 0; i < m->in_channels; i++)
    m->std[i] = 1.0f;
  return CLSEG_OK;
}

static clseg_status load_tflite(clseg_model *m, const char *path) {
  clseg_tflite_info i;
  clseg_status s = clseg_tflite_load(path, &m->g, &i);
  return s != CLSEG_OK ? s
                       : set_imported(m, path, "tflite", i.output_c, i.input_c, i.input_h,
                                      i.input_w, i.output_is_probability);
}

/* An ONNX ModelProto, recognised by its first bytes (clseg_onnx_probe). */
static int is_onnx(const char *path) {
  unsigned char head[16];
  return clseg_onnx_probe(head, clseg__file_head(path, head, sizeof head));
}

static clseg_status load_onnx(clseg_model *m, const char *path, const clseg_model_options *opt) {
  clseg_onnx_info i;
  const clseg_onnx_options oo = {opt ? opt->input_h : 0, opt ? opt->input_w : 0};
  clseg_status s = clseg_onnx_load(path, &oo, &m->g, &i);
  return s != CLSEG_OK ? s
                       : set_imported(m, path, "onnx", i.output_c, i.input_c, i.input_h, i.input_w,
                                      i.output_is_probability);
}

clseg_status clseg_model_load(const char *path, clseg_model **out) {
  return clseg_model_load_ex(path, NULL, out);
}

clseg_status clseg_model_load_ex(const char *path, const clseg_model_options *opt,
                                 clseg_model **out) {
  if (!out)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "clseg_model_load: NULL output");
  *out = NULL;
  if (!path)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "clseg_model_load: NULL path");
  if (is_tflite(path) || is_onnx(path)) {
    clseg_model *m = calloc(1, sizeof *m);
    clseg_status s = !m ? clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "%s: out of memory", path)
                     : is_onnx(path) ? load_onnx(m, path, opt)
                                     : load_tflite(m, path);
    if (s != CLSEG_OK) {
      clseg_model_free(m);
      return s;
    }
    *out = m;
    return CLSEG_OK;
  }
  clseg__st_file *f = NULL;
  clseg_status s = clseg__st_open(path, &f);
  if (s == CLSEG_FORMAT)
    clseg__fail_append(NULL, " (a model is a .safetensors file with clseg metadata, a .tflite or "
                             "an .onnx file)");
  if (s != CLSEG_OK)
    return s;
  clseg_model *m = calloc(1, sizeof *m);
  s = m ? load_from(m, f, path) : clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "%s: out of memory", path);
  clseg__st_close(f);
  if (s != CLSEG_OK) {
    clseg_model_free(m);
    return s;
  }
  *out = m;
  return clseg__ok(NULL);
}

void clseg_model_free(clseg_model *m) {
  if (!m)
    return;
  clseg_graph_free(m->g);
  for (int64_t i = 0; m->class_names && i < m->classes; i++)
    free(m->class_names[i]);
  free(m->class_names);
  free(m->mean);
  free(m->std);
  free(m);
}

clseg_graph *clseg_model_graph(const clseg_model *m) {
  return m ? m->g : NULL;
}
const char *clseg_model_network(const clseg_model *m) {
  return m ? m->network : NULL;
}
int64_t clseg_model_classes(const clseg_model *m) {
  return m ? m->classes : 0;
}
int64_t clseg_model_in_channels(const clseg_model *m) {
  return m ? m->in_channels : 0;
}
const float *clseg_model_mean(const clseg_model *m) {
  return m ? m->mean : NULL;
}
const float *clseg_model_std(const clseg_model *m) {
  return m ? m->std : NULL;
}

const char *clseg_model_class_name(const clseg_model *m, int64_t i) {
  return m && m->class_names && i >= 0 && i < m->classes ? m->class_names[i] : NULL;
}

int64_t clseg_model_size_multiple(const clseg_model *m) {
  return m && m->size_multiple > 0 ? m->size_multiple : 1;
}
int clseg_model_output_is_probability(const clseg_model *m) {
  return m ? m->output_is_probability : 0;
}

int clseg_model_input_size(const clseg_model *m, int64_t *h, int64_t *w) {
  if (!m || !m->input_h)
    return 0;
  if (h)
    *h = m->input_h;
  if (w)
    *w = m->input_w;
  return 1;
}

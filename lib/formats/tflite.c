/* The .tflite reader: walks the FlatBuffer by hand (Model -> subgraphs -> tensors, operators;
 * buffers; operator codes), checking every offset, vtable and length against the file before it is
 * read. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "clseg_tflite.h"
#include "file.h"
#include "formats/tflite.h"
#include "internal.h"

/* A FlatBuffer is under 2 GiB (FLATBUFFERS_MAX_BUFFER_SIZE): a larger file is no model. */
#define MAX_FILE ((size_t)1 << 31)

/* ---- FlatBuffers primitives ---- */

static int fb_fail(clseg__fb *f, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fb_fail(clseg__fb *f, size_t at, const char *fmt, ...) {
  if (!f->failed) {
    int k = snprintf(f->err, sizeof f->err, "at byte %zu: ", at);
    va_list ap;
    va_start(ap, fmt);
    if (k > 0 && (size_t)k < sizeof f->err)
      vsnprintf(f->err + k, sizeof f->err - (size_t)k, fmt, ap);
    va_end(ap);
    f->failed = 1;
  }
  return 0;
}

/* A valid file using a feature clseg lacks: fails as fb_fail does, reported as unsupported. */
#define fb_unsupported(f, at, ...) ((f)->unsupported = !(f)->failed, fb_fail(f, at, __VA_ARGS__))

/* True when [pos, pos + len) lies inside the buffer. */
static int fb_in(const clseg__fb *f, size_t pos, size_t len) {
  return pos <= f->n && len <= f->n - pos;
}

int clseg__fb_table_at(clseg__fb *f, size_t pos, clseg__fb_table *t) {
  if (f->failed)
    return 0;
  if (!fb_in(f, pos, 4))
    return fb_fail(f, pos, "table outside the file (%zu bytes)", f->n);
  int64_t vt = (int64_t)pos - (int64_t)clseg__rd_i32(f->p + pos);
  if (vt < 0 || !fb_in(f, (size_t)vt, 4))
    return fb_fail(f, pos, "vtable at %lld outside the file", (long long)vt);
  t->pos = pos;
  t->vt = (size_t)vt;
  t->vt_len = clseg__rd_u16(f->p + t->vt);
  t->tb_len = clseg__rd_u16(f->p + t->vt + 2);
  if (t->vt_len < 4 || (t->vt_len & 1) || !fb_in(f, t->vt, t->vt_len))
    return fb_fail(f, pos, "vtable of %u bytes is malformed or outside the file", t->vt_len);
  if (t->tb_len < 4 || !fb_in(f, pos, t->tb_len))
    return fb_fail(f, pos, "table of %u bytes runs past the end of the file", t->tb_len);
  return 1;
}

/* Position of field id holding size bytes, 0 when absent (a table never starts at 0), or
 * (size_t)-1. */
static size_t fb_field(clseg__fb *f, const clseg__fb_table *t, int id, size_t size) {
  size_t slot = 4 + 2 * (size_t)id;
  if (f->failed)
    return (size_t)-1;
  if (slot + 2 > t->vt_len)
    return 0;
  uint16_t off = clseg__rd_u16(f->p + t->vt + slot);
  if (!off)
    return 0;
  if ((size_t)off + size > t->tb_len)
    return fb_fail(f, t->pos, "field %d (offset %u, %zu bytes) lies outside its %u-byte table", id,
                   off, size, t->tb_len),
           (size_t)-1;
  return t->pos + off;
}

int clseg__fb_scalar(clseg__fb *f, const clseg__fb_table *t, int id, int size, uint64_t def,
                     uint64_t *out) {
  size_t at = fb_field(f, t, id, (size_t)size);
  if (at == (size_t)-1)
    return 0;
  *out = def;
  if (at) {
    uint64_t v = 0;
    for (int i = size - 1; i >= 0; i--)
      v = v << 8 | f->p[at + (size_t)i];
    *out = v;
  }
  return 1;
}

/* Follows the uoffset stored in field id; *target = 0 when absent. */
static int fb_deref(clseg__fb *f, const clseg__fb_table *t, int id, size_t *target) {
  size_t at = fb_field(f, t, id, 4);
  *target = 0;
  if (at == (size_t)-1)
    return 0;
  if (!at)
    return 1;
  uint32_t off = clseg__rd_u32(f->p + at);
  if (off == 0 || !fb_in(f, at, (size_t)off) || at + off >= f->n)
    return fb_fail(f, at, "field %d points outside the file (offset %u)", id, off);
  *target = at + off;
  return 1;
}

int clseg__fb_subtable(clseg__fb *f, const clseg__fb_table *t, int id, clseg__fb_table *out,
                       int *present) {
  size_t target;
  *present = 0;
  if (!fb_deref(f, t, id, &target))
    return 0;
  if (!target)
    return 1;
  *present = 1;
  return clseg__fb_table_at(f, target, out);
}

static int fb_vector_at(clseg__fb *f, size_t pos, size_t elsize, size_t *count,
                        const uint8_t **data) {
  if (!fb_in(f, pos, 4))
    return fb_fail(f, pos, "vector length outside the file");
  uint32_t len = clseg__rd_u32(f->p + pos);
  if ((size_t)len > (f->n - pos - 4) / elsize)
    return fb_fail(f, pos, "vector of %u elements of %zu bytes runs past the end of the file", len,
                   elsize);
  *count = len;
  *data = f->p + pos + 4;
  return 1;
}

int clseg__fb_vector(clseg__fb *f, const clseg__fb_table *t, int id, size_t elsize, size_t *count,
                     const uint8_t **data) {
  size_t target;
  *count = 0;
  *data = NULL;
  if (!fb_deref(f, t, id, &target))
    return 0;
  return target ? fb_vector_at(f, target, elsize, count, data) : 1;
}

/* Element i of a vector of tables. */
static int fb_vec_table(clseg__fb *f, const uint8_t *data, size_t i, clseg__fb_table *out) {
  size_t at = (size_t)(data - f->p) + 4 * i;
  uint32_t off = clseg__rd_u32(f->p + at);
  if (off == 0 || !fb_in(f, at, (size_t)off) || at + off >= f->n)
    return fb_fail(f, at, "vector element %zu points outside the file", i);
  return clseg__fb_table_at(f, at + off, out);
}

/* Copies string field id into buf (NUL-terminated, truncated to cap - 1); "" when absent. */
static int fb_string(clseg__fb *f, const clseg__fb_table *t, int id, char *buf, size_t cap) {
  size_t len;
  const uint8_t *s;
  buf[0] = 0;
  if (!clseg__fb_vector(f, t, id, 1, &len, &s))
    return 0;
  if (len >= cap)
    len = cap - 1;
  for (size_t i = 0; i < len; i++)
    buf[i] = s[i] >= 32 && s[i] < 127 ? (char)s[i] : '?';
  buf[len] = 0;
  return 1;
}

/* ---- the TFLite schema ---- */

static const char *const op_names[] = {"ADD",
                                       "AVERAGE_POOL_2D",
                                       "CONCATENATION",
                                       "CONV_2D",
                                       "DEPTHWISE_CONV_2D",
                                       "DEPTH_TO_SPACE",
                                       "DEQUANTIZE",
                                       "EMBEDDING_LOOKUP",
                                       "FLOOR",
                                       "FULLY_CONNECTED",
                                       "HASHTABLE_LOOKUP",
                                       "L2_NORMALIZATION",
                                       "L2_POOL_2D",
                                       "LOCAL_RESPONSE_NORMALIZATION",
                                       "LOGISTIC",
                                       "LSH_PROJECTION",
                                       "LSTM",
                                       "MAX_POOL_2D",
                                       "MUL",
                                       "RELU",
                                       "RELU_N1_TO_1",
                                       "RELU6",
                                       "RESHAPE",
                                       "RESIZE_BILINEAR",
                                       "RNN",
                                       "SOFTMAX",
                                       "SPACE_TO_DEPTH",
                                       "SVDF",
                                       "TANH",
                                       "CONCAT_EMBEDDINGS",
                                       "SKIP_GRAM",
                                       "CALL",
                                       "CUSTOM",
                                       "EMBEDDING_LOOKUP_SPARSE",
                                       "PAD",
                                       "UNIDIRECTIONAL_SEQUENCE_RNN",
                                       "GATHER",
                                       "BATCH_TO_SPACE_ND",
                                       "SPACE_TO_BATCH_ND",
                                       "TRANSPOSE",
                                       "MEAN",
                                       "SUB",
                                       "DIV",
                                       "SQUEEZE",
                                       "UNIDIRECTIONAL_SEQUENCE_LSTM",
                                       "STRIDED_SLICE",
                                       "BIDIRECTIONAL_SEQUENCE_RNN",
                                       "EXP",
                                       "TOPK_V2",
                                       "SPLIT",
                                       "LOG_SOFTMAX",
                                       "DELEGATE",
                                       "BIDIRECTIONAL_SEQUENCE_LSTM",
                                       "CAST",
                                       "PRELU",
                                       "MAXIMUM",
                                       "ARG_MAX",
                                       "MINIMUM",
                                       "LESS",
                                       "NEG",
                                       "PADV2",
                                       "GREATER",
                                       "GREATER_EQUAL",
                                       "LESS_EQUAL",
                                       "SELECT",
                                       "SLICE",
                                       "SIN",
                                       "TRANSPOSE_CONV",
                                       "SPARSE_TO_DENSE",
                                       "TILE",
                                       "EXPAND_DIMS",
                                       "EQUAL",
                                       "NOT_EQUAL",
                                       "LOG",
                                       "SUM",
                                       "SQRT",
                                       "RSQRT",
                                       "SHAPE",
                                       "POW",
                                       "ARG_MIN",
                                       "FAKE_QUANT",
                                       "REDUCE_PROD",
                                       "REDUCE_MAX",
                                       "PACK",
                                       "LOGICAL_OR",
                                       "ONE_HOT",
                                       "LOGICAL_AND",
                                       "LOGICAL_NOT",
                                       "UNPACK",
                                       "REDUCE_MIN",
                                       "FLOOR_DIV",
                                       "REDUCE_ANY",
                                       "SQUARE",
                                       "ZEROS_LIKE",
                                       "FILL",
                                       "FLOOR_MOD",
                                       "RANGE",
                                       "RESIZE_NEAREST_NEIGHBOR",
                                       "LEAKY_RELU",
                                       "SQUARED_DIFFERENCE",
                                       "MIRROR_PAD",
                                       "ABS",
                                       "SPLIT_V",
                                       "UNIQUE",
                                       "CEIL",
                                       "REVERSE_V2",
                                       "ADD_N",
                                       "GATHER_ND",
                                       "COS",
                                       "WHERE",
                                       "RANK",
                                       "ELU",
                                       "REVERSE_SEQUENCE",
                                       "MATRIX_DIAG",
                                       "QUANTIZE",
                                       "MATRIX_SET_DIAG",
                                       "ROUND",
                                       "HARD_SWISH",
                                       "IF",
                                       "WHILE",
                                       "NON_MAX_SUPPRESSION_V4",
                                       "NON_MAX_SUPPRESSION_V5",
                                       "SCATTER_ND",
                                       "SELECT_V2",
                                       "DENSIFY",
                                       "SEGMENT_SUM",
                                       "BATCH_MATMUL",
                                       "PLACEHOLDER_FOR_GREATER_OP_CODES",
                                       "CUMSUM",
                                       "CALL_ONCE",
                                       "BROADCAST_TO",
                                       "RFFT2D",
                                       "CONV_3D",
                                       "IMAG",
                                       "REAL",
                                       "COMPLEX_ABS",
                                       "HASHTABLE",
                                       "HASHTABLE_FIND",
                                       "HASHTABLE_IMPORT",
                                       "HASHTABLE_SIZE",
                                       "REDUCE_ALL",
                                       "CONV_3D_TRANSPOSE",
                                       "VAR_HANDLE",
                                       "READ_VARIABLE",
                                       "ASSIGN_VARIABLE",
                                       "BROADCAST_ARGS",
                                       "RANDOM_STANDARD_NORMAL",
                                       "BUCKETIZE",
                                       "RANDOM_UNIFORM",
                                       "MULTINOMIAL",
                                       "GELU",
                                       "DYNAMIC_UPDATE_SLICE",
                                       "RELU_0_TO_1",
                                       "UNSORTED_SEGMENT_PROD",
                                       "UNSORTED_SEGMENT_MAX",
                                       "UNSORTED_SEGMENT_SUM",
                                       "ATAN2",
                                       "UNSORTED_SEGMENT_MIN",
                                       "SIGN",
                                       "BITCAST",
                                       "BITWISE_XOR",
                                       "RIGHT_SHIFT"};

const char *clseg__tfl_op_name(int code) {
  return code >= 0 && (size_t)code < sizeof op_names / sizeof *op_names ? op_names[code] : NULL;
}

/* Schema field ids. */
enum { MODEL_OPCODES = 1, MODEL_SUBGRAPHS = 2, MODEL_DESCRIPTION = 3, MODEL_BUFFERS = 4 };
enum { SG_TENSORS = 0, SG_INPUTS = 1, SG_OUTPUTS = 2, SG_OPERATORS = 3 };
enum { TENSOR_SHAPE = 0, TENSOR_TYPE = 1, TENSOR_BUFFER = 2, TENSOR_NAME = 3, TENSOR_SPARSITY = 6 };
enum { SP_TRAVERSAL = 0, SP_BLOCK_MAP = 1, SP_DIM_METADATA = 2 };
enum {
  DM_FORMAT = 0,
  DM_DENSE_SIZE = 1,
  DM_SEGMENTS_TYPE = 2,
  DM_SEGMENTS = 3,
  DM_INDICES_TYPE = 4,
  DM_INDICES = 5
};
enum { BUFFER_DATA = 0, BUFFER_OFFSET = 1, BUFFER_SIZE = 2 };
enum { OC_DEPRECATED = 0, OC_CUSTOM = 1, OC_BUILTIN = 3 };
enum {
  OP_OPCODE = 0,
  OP_INPUTS = 1,
  OP_OUTPUTS = 2,
  OP_OPT_TYPE = 3,
  OP_OPT = 4,
  OP_CUSTOM_OPT = 5
};

#define MAX_COUNT (1 << 20) /* tensors, operators, codes: far beyond any real model */

static int type_size(int type) {
  switch (type) {
  case CLSEG__TFL_FLOAT32:
  case CLSEG__TFL_INT32: return 4;
  case CLSEG__TFL_FLOAT16: return 2;
  default: return 0;
  }
}

/* The contents of buffer index b: a data vector, or (offset, size) into the file. */
static int read_buffer(clseg__tfl_model *m, const uint8_t *buffers, size_t nbuf, uint32_t b,
                       clseg__tfl_tensor *t) {
  clseg__fb *f = &m->fb;
  clseg__fb_table bt;
  uint64_t off, size;
  t->data = NULL;
  t->bytes = 0;
  if (b == 0) /* buffer 0 is the empty sentinel */
    return 1;
  if (b >= nbuf)
    return fb_fail(f, 0, "tensor '%s' names buffer %u of %zu", t->name, b, nbuf);
  if (!fb_vec_table(f, buffers, b, &bt) ||
      !clseg__fb_vector(f, &bt, BUFFER_DATA, 1, &t->bytes, &t->data) ||
      !clseg__fb_scalar(f, &bt, BUFFER_OFFSET, 8, 0, &off) ||
      !clseg__fb_scalar(f, &bt, BUFFER_SIZE, 8, 0, &size))
    return 0;
  if (!t->bytes && off > 1) {
    if (off > f->n || size > f->n - off)
      return fb_fail(f, bt.pos, "buffer %u: bytes %llu..%llu lie outside the file", b,
                     (unsigned long long)off, (unsigned long long)(off + size));
    t->data = f->p + off;
    t->bytes = (size_t)size;
  }
  if (!t->bytes)
    t->data = NULL;
  return 1;
}

/* ---- sparse constants (TFLite's SparsityParameters), decoded to dense at load ---- */

#define SP_MAX_LEVELS (2 * CLSEG__TFL_MAX_DIMS)

/* One level of the traversal: a dense run of `size` coordinates, or compressed (CSR) rows whose
 * coordinates are indices[segments[p] .. segments[p + 1]) for the parent position p. */
typedef struct {
  int sparse, size;
  const uint8_t *seg, *idx;
  size_t nseg, nidx;
  int seg_es, idx_es;
} sp_level;

typedef struct {
  clseg__fb *f;
  size_t pos; /* the sparsity table, for messages */
  const clseg__tfl_tensor *t;
  int rank, nlev, es;
  int order[SP_MAX_LEVELS];       /* the dimension each level walks (rank + k: block dimension k) */
  int block_of[SP_MAX_LEVELS];    /* for block dimension k: the tensor dimension it splits */
  int bsize[CLSEG__TFL_MAX_DIMS]; /* block size per tensor dimension (1: not blocked) */
  sp_level lv[SP_MAX_LEVELS];
  int coord[SP_MAX_LEVELS];
  const uint8_t *values;
  size_t nvalues, leaves;
  uint8_t *dst;
} sp_walk;

static size_t sp_index(const uint8_t *d, int es, size_t i) {
  return es == 4 ? clseg__rd_u32(d + 4 * i) : es == 2 ? clseg__rd_u16(d + 2 * i) : d[i];
}

/* A SparseIndexVector union member (Int32Vector 1, Uint16Vector 2, Uint8Vector 3): its values. */
static int sp_vector(clseg__fb *f, const clseg__fb_table *dm, int type_id, int id,
                     const uint8_t **data, size_t *n, int *es) {
  static const int sizes[] = {0, 4, 2, 1};
  uint64_t type;
  clseg__fb_table vt;
  int present;
  *n = 0;
  *data = NULL;
  if (!clseg__fb_scalar(f, dm, type_id, 1, 0, &type) ||
      !clseg__fb_subtable(f, dm, id, &vt, &present))
    return 0;
  if (!present)
    return 1;
  if (type < 1 || type > 3)
    return fb_fail(f, dm->pos, "sparse index vector of type %u", (unsigned)type);
  *es = sizes[type];
  return clseg__fb_vector(f, &vt, 0, (size_t)*es, n, data);
}

/* The size of the coordinate range level l walks. */
static int sp_extent(const sp_walk *z, int l) {
  const int d = z->order[l];
  return d < z->rank ? z->t->dims[d] / z->bsize[d] : z->bsize[z->block_of[d - z->rank]];
}

static int sp_leaf(sp_walk *z, size_t pos) {
  if (pos >= z->nvalues)
    return fb_fail(z->f, z->pos, "tensor '%s': sparse value %zu of %zu", z->t->name, pos,
                   z->nvalues);
  size_t at = 0;
  for (int d = 0; d < z->rank; d++) {
    int outer = 0, inner = 0;
    for (int l = 0; l < z->nlev; l++) {
      if (z->order[l] == d)
        outer = z->coord[l];
      else if (z->order[l] >= z->rank && z->block_of[z->order[l] - z->rank] == d)
        inner = z->coord[l];
    }
    at = at * (size_t)z->t->dims[d] + (size_t)outer * (size_t)z->bsize[d] + (size_t)inner;
  }
  memcpy(z->dst + at * (size_t)z->es, z->values + pos * (size_t)z->es, (size_t)z->es);
  z->leaves++;
  return 1;
}

/* Walks level l from parent position pos (depth at most SP_MAX_LEVELS). */
static int sp_walk_level(sp_walk *z, int l, size_t pos) {
  if (l == z->nlev)
    return sp_leaf(z, pos);
  const sp_level *v = &z->lv[l];
  const int extent = sp_extent(z, l);
  if (!v->sparse) {
    for (int i = 0; i < v->size; i++) {
      z->coord[l] = i;
      if (!sp_walk_level(z, l + 1, pos * (size_t)v->size + (size_t)i))
        return 0;
    }
    return 1;
  }
  if (pos + 1 >= v->nseg)
    return fb_fail(z->f, z->pos, "tensor '%s': sparse level %d has %zu segments, needs %zu",
                   z->t->name, l, v->nseg, pos + 2);
  const size_t lo = sp_index(v->seg, v->seg_es, pos), hi = sp_index(v->seg, v->seg_es, pos + 1);
  if (lo > hi || hi > v->nidx)
    return fb_fail(z->f, z->pos, "tensor '%s': sparse level %d segment %zu..%zu of %zu indices",
                   z->t->name, l, lo, hi, v->nidx);
  for (size_t j = lo; j < hi; j++) {
    const size_t c = sp_index(v->idx, v->idx_es, j);
    if (c >= (size_t)extent)
      return fb_fail(z->f, z->pos, "tensor '%s': sparse index %zu outside 0..%d", z->t->name, c,
                     extent - 1);
    z->coord[l] = (int)c;
    if (!sp_walk_level(z, l + 1, j))
      return 0;
  }
  return 1;
}

/* Reads the traversal order, block map and levels of sparsity table sp into z. */
static int sp_read(sp_walk *z, const clseg__fb_table *sp) {
  clseg__fb *f = z->f;
  size_t no, nb, nd;
  const uint8_t *ov, *bv, *dv;
  if (!clseg__fb_vector(f, sp, SP_TRAVERSAL, 4, &no, &ov) ||
      !clseg__fb_vector(f, sp, SP_BLOCK_MAP, 4, &nb, &bv) ||
      !clseg__fb_vector(f, sp, SP_DIM_METADATA, 4, &nd, &dv))
    return 0;
  z->nlev = (int)no;
  if (nb > (size_t)z->rank || no != (size_t)z->rank + nb || nd != no)
    return fb_fail(f, sp->pos,
                   "tensor '%s': sparsity of %zu levels, %zu block dimensions and %zu "
                   "level descriptions for %d dimensions",
                   z->t->name, no, nb, nd, z->rank);
  for (int d = 0; d < z->rank; d++)
    z->bsize[d] = 1;
  int seen = 0;
  for (int l = 0; l < z->nlev; l++) {
    const int32_t o = clseg__rd_i32(ov + 4 * l);
    if (o < 0 || o >= z->nlev || (seen >> o & 1))
      return fb_fail(f, sp->pos, "tensor '%s': traversal order is not a permutation", z->t->name);
    seen |= 1 << o;
    z->order[l] = o;
  }
  for (size_t k = 0; k < nb; k++) {
    const int32_t d = clseg__rd_i32(bv + 4 * k);
    if (d < 0 || d >= z->rank)
      return fb_fail(f, sp->pos, "tensor '%s': block map names dimension %d", z->t->name, d);
    z->block_of[k] = d;
  }
  for (int l = 0; l < z->nlev; l++) {
    clseg__fb_table dm;
    uint64_t format, size;
    sp_level *v = &z->lv[l];
    if (!fb_vec_table(f, dv, (size_t)l, &dm) ||
        !clseg__fb_scalar(f, &dm, DM_FORMAT, 1, 0, &format) ||
        !clseg__fb_scalar(f, &dm, DM_DENSE_SIZE, 4, 0, &size) ||
        !sp_vector(f, &dm, DM_SEGMENTS_TYPE, DM_SEGMENTS, &v->seg, &v->nseg, &v->seg_es) ||
        !sp_vector(f, &dm, DM_INDICES_TYPE, DM_INDICES, &v->idx, &v->nidx, &v->idx_es))
      return 0;
    if (format > 1)
      return fb_fail(f, dm.pos, "tensor '%s': sparse level format %u", z->t->name,
                     (unsigned)format);
    v->sparse = (int)format;
    v->size = (int)(uint32_t)size;
    const int d = z->order[l];
    if (d >= z->rank) { /* a block dimension: dense, its size the block size */
      if (v->sparse || v->size < 1 || z->t->dims[z->block_of[d - z->rank]] % v->size)
        return fb_fail(f, dm.pos, "tensor '%s': block of %d does not divide dimension %d",
                       z->t->name, v->size, z->block_of[d - z->rank]);
      z->bsize[z->block_of[d - z->rank]] = v->size;
    }
  }
  for (int l = 0; l < z->nlev; l++)
    if (!z->lv[l].sparse && z->lv[l].size != sp_extent(z, l))
      return fb_fail(f, sp->pos, "tensor '%s': dense level %d of %d coordinates, %d expected",
                     z->t->name, l, z->lv[l].size, sp_extent(z, l));
  return 1;
}

/* Replaces t's sparse data (the non-zero values in traversal order) by its dense form, owned by m.
 */
static int densify(clseg__tfl_model *m, clseg__tfl_tensor *t, const clseg__fb_table *sp) {
  sp_walk z = {.f = &m->fb, .pos = sp->pos, .t = t, .rank = t->ndim, .es = type_size(t->type)};
  if (!z.es)
    return fb_fail(&m->fb, sp->pos, "tensor '%s': sparse data of type %d", t->name, t->type);
  if (!sp_read(&z, sp))
    return 0;
  size_t count = 1;
  for (int d = 0; d < t->ndim; d++)
    count *= (size_t)t->dims[d];
  uint8_t **list = realloc(m->dense, sizeof *list * (size_t)(m->ndense + 1));
  if (list)
    m->dense = list;
  z.dst = list ? calloc(count ? count : 1, (size_t)z.es) : NULL;
  if (!z.dst)
    return fb_fail(&m->fb, sp->pos, "out of memory densifying '%s'", t->name);
  m->dense[m->ndense++] = z.dst;
  z.values = t->data;
  z.nvalues = t->data ? t->bytes / (size_t)z.es : 0;
  if (!sp_walk_level(&z, 0, 0))
    return 0;
  if (z.leaves != z.nvalues)
    return fb_fail(&m->fb, sp->pos, "tensor '%s': %zu sparse values, the indices address %zu",
                   t->name, z.nvalues, z.leaves);
  t->data = z.dst;
  t->bytes = count * (size_t)z.es;
  return 1;
}

static int read_tensor(clseg__tfl_model *m, const uint8_t *tvec, size_t i, const uint8_t *buffers,
                       size_t nbuf) {
  clseg__fb *f = &m->fb;
  clseg__tfl_tensor *t = &m->tensors[i];
  clseg__fb_table tt;
  size_t nd;
  const uint8_t *dims;
  uint64_t type, buf;
  if (!fb_vec_table(f, tvec, i, &tt) || !fb_string(f, &tt, TENSOR_NAME, t->name, sizeof t->name) ||
      !clseg__fb_vector(f, &tt, TENSOR_SHAPE, 4, &nd, &dims) ||
      !clseg__fb_scalar(f, &tt, TENSOR_TYPE, 1, 0, &type) ||
      !clseg__fb_scalar(f, &tt, TENSOR_BUFFER, 4, 0, &buf))
    return 0;
  if (nd > CLSEG__TFL_MAX_DIMS)
    return fb_fail(f, tt.pos, "tensor %zu '%s' has %zu dimensions", i, t->name, nd);
  t->type = (int)type;
  t->ndim = (int)nd;
  for (size_t d = 0; d < nd; d++) {
    t->dims[d] = clseg__rd_i32(dims + 4 * d);
    if (t->dims[d] < 1 || t->dims[d] > (1 << 24))
      return fb_fail(f, tt.pos, "tensor %zu '%s' has dimension %zu of size %d", i, t->name, d,
                     t->dims[d]);
  }
  if (!read_buffer(m, buffers, nbuf, (uint32_t)buf, t))
    return 0;
  clseg__fb_table sp;
  int sparse;
  if (!clseg__fb_subtable(f, &tt, TENSOR_SPARSITY, &sp, &sparse) || (sparse && !densify(m, t, &sp)))
    return 0;
  if (t->data) { /* a constant: its size must match its shape */
    uint64_t count = 1;
    for (int d = 0; d < t->ndim && count <= f->n;
         d++) /* dims < 2^24: no overflow before the stop */
      count *= (uint64_t)t->dims[d];
    int es = type_size(t->type);
    if (es && (count > f->n || count * (uint64_t)es != t->bytes))
      return fb_fail(f, tt.pos, "tensor %zu '%s': %zu bytes of data for %llu elements of %d bytes",
                     i, t->name, t->bytes, (unsigned long long)count, es);
  }
  return 1;
}

/* Reads a vector of tensor indexes; -1 is allowed where optional. */
static int read_indexes(clseg__tfl_model *m, const clseg__fb_table *t, int id, int optional,
                        int32_t **out, int *count) {
  size_t n;
  const uint8_t *d;
  *out = NULL;
  *count = 0;
  if (!clseg__fb_vector(&m->fb, t, id, 4, &n, &d))
    return 0;
  if (n > 4096)
    return fb_fail(&m->fb, t->pos, "%zu tensor indexes", n);
  *out = malloc(sizeof **out * (n ? n : 1));
  if (!*out)
    return fb_fail(&m->fb, t->pos, "out of memory");
  for (size_t i = 0; i < n; i++) {
    int32_t v = clseg__rd_i32(d + 4 * i);
    if (v >= m->ntensors || v < (optional ? -1 : 0))
      return fb_fail(&m->fb, t->pos, "tensor index %d outside 0..%d", v, m->ntensors - 1);
    (*out)[i] = v;
  }
  *count = (int)n;
  return 1;
}

static int read_op(clseg__tfl_model *m, const uint8_t *ovec, size_t i) {
  clseg__fb *f = &m->fb;
  clseg__tfl_op *op = &m->ops[i];
  clseg__fb_table ot;
  uint64_t code, otype;
  int present;
  if (!fb_vec_table(f, ovec, i, &ot) || !clseg__fb_scalar(f, &ot, OP_OPCODE, 4, 0, &code) ||
      !read_indexes(m, &ot, OP_INPUTS, 1, &op->in, &op->nin) ||
      !read_indexes(m, &ot, OP_OUTPUTS, 0, &op->out, &op->nout) ||
      !clseg__fb_scalar(f, &ot, OP_OPT_TYPE, 1, 0, &otype) ||
      !clseg__fb_subtable(f, &ot, OP_OPT, &op->opt, &present) ||
      !clseg__fb_vector(f, &ot, OP_CUSTOM_OPT, 1, &op->custom_len, &op->custom_opt))
    return 0;
  if (code >= (uint64_t)m->ncodes)
    return fb_fail(f, ot.pos, "operator %zu uses operator code %llu of %d", i,
                   (unsigned long long)code, m->ncodes);
  if (op->nout < 1)
    return fb_fail(f, ot.pos, "operator %zu has no output", i);
  op->code = m->codes[code].code;
  op->custom = m->codes[code].custom;
  op->opt_type = present ? (int)otype : 0;
  return 1;
}

static int read_opcodes(clseg__tfl_model *m, const clseg__fb_table *root) {
  clseg__fb *f = &m->fb;
  size_t n;
  const uint8_t *v;
  if (!clseg__fb_vector(f, root, MODEL_OPCODES, 4, &n, &v))
    return 0;
  if (n > MAX_COUNT)
    return fb_fail(f, root->pos, "%zu operator codes", n);
  m->codes = calloc(n ? n : 1, sizeof *m->codes);
  if (!m->codes)
    return fb_fail(f, 0, "out of memory");
  m->ncodes = (int)n;
  for (size_t i = 0; i < n; i++) {
    clseg__fb_table t;
    uint64_t dep, builtin;
    if (!fb_vec_table(f, v, i, &t) || !clseg__fb_scalar(f, &t, OC_DEPRECATED, 1, 0, &dep) ||
        !clseg__fb_scalar(f, &t, OC_BUILTIN, 4, 0, &builtin) ||
        !fb_string(f, &t, OC_CUSTOM, m->codes[i].custom, sizeof m->codes[i].custom))
      return 0;
    int d = (int)(int8_t)(uint8_t)dep, b = (int)(int32_t)(uint32_t)builtin;
    m->codes[i].code = d > b ? d : b; /* newer files keep codes > 127 in builtin_code only */
  }
  return 1;
}

/* The one subgraph: tensors, operators, its single input and output. */
static int read_subgraph(clseg__tfl_model *m, const clseg__fb_table *sg, const uint8_t *bufs,
                         size_t nbuf) {
  clseg__fb *f = &m->fb;
  size_t nt, no;
  const uint8_t *tv, *ov;
  int32_t *io = NULL;
  int nio = 0;
  if (!clseg__fb_vector(f, sg, SG_TENSORS, 4, &nt, &tv) ||
      !clseg__fb_vector(f, sg, SG_OPERATORS, 4, &no, &ov))
    return 0;
  if (nt > MAX_COUNT || no > MAX_COUNT)
    return fb_fail(f, sg->pos, "%zu tensors, %zu operators", nt, no);
  m->tensors = calloc(nt ? nt : 1, sizeof *m->tensors);
  m->ops = calloc(no ? no : 1, sizeof *m->ops);
  if (!m->tensors || !m->ops)
    return fb_fail(f, 0, "out of memory");
  m->ntensors = (int)nt;
  for (size_t i = 0; i < nt; i++)
    if (!read_tensor(m, tv, i, bufs, nbuf))
      return 0;
  for (size_t i = 0; i < no; i++, m->nops++)
    if (!read_op(m, ov, i))
      return m->nops++, 0; /* counted so that its arrays are freed */
  if (!read_indexes(m, sg, SG_INPUTS, 0, &io, &nio))
    return free(io), 0;
  m->input = nio == 1 ? io[0] : -1;
  free(io);
  if (nio != 1)
    return fb_unsupported(f, sg->pos, "the model has %d inputs; one is supported", nio);
  if (!read_indexes(m, sg, SG_OUTPUTS, 0, &io, &nio))
    return free(io), 0;
  m->outputs = io;
  m->noutputs = nio;
  m->output = nio ? io[0] : -1;
  if (!nio)
    return fb_fail(f, sg->pos, "the model has no output");
  return nio <= CLSEG_MAX_OUTPUTS
             ? 1
             : fb_unsupported(f, sg->pos, "the model has %d outputs (at most %d)", nio,
                              CLSEG_MAX_OUTPUTS);
}

static int read_model(clseg__tfl_model *m) {
  clseg__fb *f = &m->fb;
  clseg__fb_table root, sg;
  size_t nsg, nbuf;
  const uint8_t *sgv, *bufv;
  if (f->n < 8 || memcmp(f->p + 4, "TFL3", 4))
    return fb_fail(f, 4, "not a TensorFlow Lite file (no \"TFL3\" identifier)");
  if (!clseg__fb_table_at(f, clseg__rd_u32(f->p), &root) ||
      !fb_string(f, &root, MODEL_DESCRIPTION, m->description, sizeof m->description) ||
      !read_opcodes(m, &root) || !clseg__fb_vector(f, &root, MODEL_SUBGRAPHS, 4, &nsg, &sgv) ||
      !clseg__fb_vector(f, &root, MODEL_BUFFERS, 4, &nbuf, &bufv))
    return 0;
  if (nsg != 1)
    return fb_unsupported(f, root.pos, "the model has %zu subgraphs; one is supported", nsg);
  return fb_vec_table(f, sgv, 0, &sg) && read_subgraph(m, &sg, bufv, nbuf);
}

clseg_status clseg__tfl_parse(const void *data, size_t size, clseg__tfl_model **out, char *err,
                              size_t errlen) {
  *out = NULL;
  clseg__tfl_model *m = calloc(1, sizeof *m);
  uint8_t *copy = malloc(size ? size : 1);
  if (!m || !copy) {
    free(m);
    free(copy);
    snprintf(err, errlen, "out of memory reading %zu bytes", size);
    return CLSEG_OUT_OF_MEMORY;
  }
  if (size)
    memcpy(copy, data, size);
  m->bytes = copy;
  m->fb.p = copy;
  m->fb.n = size;
  if (!read_model(m)) {
    snprintf(err, errlen, "%s", m->fb.err);
    const int unsupported = m->fb.unsupported;
    clseg__tfl_free(m);
    return unsupported ? CLSEG_UNSUPPORTED : CLSEG_FORMAT;
  }
  *out = m;
  return CLSEG_OK;
}

void clseg__tfl_free(clseg__tfl_model *m) {
  if (!m)
    return;
  for (int i = 0; i < m->nops; i++) {
    free(m->ops[i].in);
    free(m->ops[i].out);
  }
  free(m->ops);
  free(m->outputs);
  free(m->tensors);
  free(m->codes);
  for (int i = 0; i < m->ndense; i++)
    free(m->dense[i]);
  free(m->dense);
  free(m->bytes);
  free(m);
}

int32_t clseg__tfl_opt_int(clseg__tfl_model *m, const clseg__tfl_op *op, int id, int size,
                           int32_t def) {
  uint64_t v;
  if (!op->opt_type || !clseg__fb_scalar(&m->fb, &op->opt, id, size, (uint32_t)def, &v))
    return def;
  if (size == 1)
    return (int32_t)(int8_t)(uint8_t)v;
  return (int32_t)(v & 0x7fffffffu) - (int32_t)((v >> 31) & 1) * INT32_MAX -
         (int32_t)((v >> 31) & 1);
}

float clseg__tfl_opt_float(clseg__tfl_model *m, const clseg__tfl_op *op, int id, float def) {
  uint64_t v;
  uint32_t bits;
  float d = def;
  memcpy(&bits, &d, 4);
  if (!op->opt_type || !clseg__fb_scalar(&m->fb, &op->opt, id, 4, bits, &v))
    return def;
  bits = (uint32_t)v;
  memcpy(&d, &bits, 4);
  return d;
}

/* ---- the public entry points ---- */

/* "FILE: N unsupported operators: NAME xCOUNT, ..." for every operator without a handler; 0 when
 * none. */
static int list_unsupported(const clseg__tfl_model *m, char *msg, size_t cap) {
  int total = 0;
  size_t len = 0;
  msg[0] = 0;
  for (int i = 0; i < m->nops; i++) {
    const clseg__tfl_op *op = &m->ops[i];
    int seen = 0, count = 0;
    if (clseg__tfl_supported(op))
      continue;
    total++;
    for (int j = 0; j < m->nops; j++) {
      const clseg__tfl_op *o = &m->ops[j];
      int same =
          o->code == op->code && (op->code != CLSEG__TFL_CUSTOM || !strcmp(o->custom, op->custom));
      seen |= same && j < i;
      count += same;
    }
    if (seen)
      continue;
    const char *name = clseg__tfl_op_name(op->code);
    char buf[160];
    if (op->code == CLSEG__TFL_CUSTOM)
      snprintf(buf, sizeof buf, "%sCUSTOM '%s' x%d", len ? ", " : "", op->custom, count);
    else if (name)
      snprintf(buf, sizeof buf, "%s%s x%d", len ? ", " : "", name, count);
    else
      snprintf(buf, sizeof buf, "%sbuiltin operator %d x%d", len ? ", " : "", op->code, count);
    if (len + strlen(buf) + 1 < cap) {
      memcpy(msg + len, buf, strlen(buf) + 1);
      len += strlen(buf);
    }
  }
  return total;
}

static void fill_info(const clseg__tfl_model *m, const char *name, clseg_tflite_info *info) {
  const clseg__tfl_tensor *in = &m->tensors[m->input], *out = &m->tensors[m->output];
  memset(info, 0, sizeof *info);
  info->input_h = in->dims[1];
  info->input_w = in->dims[2];
  info->input_c = in->dims[3];
  info->output_h = out->ndim == 4 ? out->dims[1] : 1;
  info->output_w = out->ndim == 4 ? out->dims[2] : 1;
  info->output_c = out->ndim ? out->dims[out->ndim - 1] : 1;
  info->operators = m->nops;
  info->outputs = m->noutputs;
  for (int i = 0; i < m->nops; i++)
    if (m->ops[i].out[0] == m->output)
      info->output_is_probability =
          m->ops[i].code == CLSEG__TFL_LOGISTIC || m->ops[i].code == CLSEG__TFL_SOFTMAX;
  const char *base = strrchr(name, '/');
  snprintf(info->name, sizeof info->name, "%s",
           m->description[0] ? m->description
           : base            ? base + 1
                             : name);
}

clseg_status clseg_tflite_load_buffer(const void *data, size_t size, const char *name,
                                      clseg_graph **graph, clseg_tflite_info *info) {
  char err[1024], list[768];
  clseg__tfl_model *m = NULL;
  if (graph)
    *graph = NULL;
  name = name ? name : "(buffer)";
  if (!graph || (!data && size))
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "tflite '%s': NULL %s", name,
                       graph ? "data" : "graph");
  clseg_status s = clseg__tfl_parse(data, size, &m, err, sizeof err);
  if (s != CLSEG_OK)
    return clseg__fail(NULL, s, "%s: %s TFLite file: %s", name,
                       s == CLSEG_UNSUPPORTED ? "unsupported feature in a" : "malformed", err);
  int missing = list_unsupported(m, list, sizeof list);
  if (missing) {
    clseg__tfl_free(m);
    return clseg__fail(NULL, CLSEG_UNSUPPORTED, "%s: %d operators are not supported: %s", name,
                       missing, list);
  }
  s = clseg__tfl_build(m, graph, err, sizeof err);
  if (s == CLSEG_OK && info)
    fill_info(m, name, info);
  clseg__tfl_free(m);
  if (s != CLSEG_OK)
    return clseg__fail(NULL, s, "%s: %s", name, err);
  return clseg__ok(NULL);
}

clseg_status clseg_tflite_load(const char *path, clseg_graph **graph, clseg_tflite_info *info) {
  if (graph)
    *graph = NULL;
  if (!path)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "tflite: NULL path");
  uint8_t *buf;
  size_t len;
  char why[CLSEG__FILE_WHY_LEN];
  clseg_status rs = clseg__file_read(path, MAX_FILE, &buf, &len, why, sizeof why);
  if (rs != CLSEG_OK)
    return clseg__fail(NULL, rs, "%s", why);
  clseg_status s = clseg_tflite_load_buffer(buf, len, path, graph, info);
  free(buf);
  return s;
}

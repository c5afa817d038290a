/* The .tflite reader: walks the FlatBuffer (tflite_flatbuffer.c) by hand (Model -> subgraphs ->
 * tensors, operators; buffers; operator codes), checking every offset, vtable and length against
 * the file before it is read; decodes sparse constants to dense; reads operators' options. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "clseg_graph.h"
#include "formats/tflite.h"
#include "internal.h"

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
    return clseg__fb_fail(f, 0, "tensor '%s' names buffer %u of %zu", t->name, b, nbuf);
  if (!clseg__fb_vec_table(f, buffers, b, &bt) ||
      !clseg__fb_vector(f, &bt, BUFFER_DATA, 1, &t->bytes, &t->data) ||
      !clseg__fb_scalar(f, &bt, BUFFER_OFFSET, 8, 0, &off) ||
      !clseg__fb_scalar(f, &bt, BUFFER_SIZE, 8, 0, &size))
    return 0;
  if (!t->bytes && off > 1) {
    if (off > f->n || size > f->n - off)
      return clseg__fb_fail(f, bt.pos, "buffer %u: bytes %llu..%llu lie outside the file", b,
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
/* The most elements a sparse constant may have once dense (256 MB as float32): its shape alone sets
 * the dense size, so one flipped byte of a dimension would otherwise ask for gigabytes. */
#define SP_MAX_DENSE (1 << 26)

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
    return clseg__fb_fail(f, dm->pos, "sparse index vector of type %u", (unsigned)type);
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
    return clseg__fb_fail(z->f, z->pos, "tensor '%s': sparse value %zu of %zu", z->t->name, pos,
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
    return clseg__fb_fail(z->f, z->pos, "tensor '%s': sparse level %d has %zu segments, needs %zu",
                          z->t->name, l, v->nseg, pos + 2);
  const size_t lo = sp_index(v->seg, v->seg_es, pos), hi = sp_index(v->seg, v->seg_es, pos + 1);
  if (lo > hi || hi > v->nidx)
    return clseg__fb_fail(z->f, z->pos,
                          "tensor '%s': sparse level %d segment %zu..%zu of %zu indices",
                          z->t->name, l, lo, hi, v->nidx);
  for (size_t j = lo; j < hi; j++) {
    const size_t c = sp_index(v->idx, v->idx_es, j);
    if (c >= (size_t)extent)
      return clseg__fb_fail(z->f, z->pos, "tensor '%s': sparse index %zu outside 0..%d", z->t->name,
                            c, extent - 1);
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
    return clseg__fb_fail(f, sp->pos,
                          "tensor '%s': sparsity of %zu levels, %zu block dimensions and %zu "
                          "level descriptions for %d dimensions",
                          z->t->name, no, nb, nd, z->rank);
  for (int d = 0; d < z->rank; d++)
    z->bsize[d] = 1;
  int seen = 0;
  for (int l = 0; l < z->nlev; l++) {
    const int32_t o = clseg__rd_i32(ov + 4 * l);
    if (o < 0 || o >= z->nlev || (seen >> o & 1))
      return clseg__fb_fail(f, sp->pos, "tensor '%s': traversal order is not a permutation",
                            z->t->name);
    seen |= 1 << o;
    z->order[l] = o;
  }
  for (size_t k = 0; k < nb; k++) {
    const int32_t d = clseg__rd_i32(bv + 4 * k);
    if (d < 0 || d >= z->rank)
      return clseg__fb_fail(f, sp->pos, "tensor '%s': block map names dimension %d", z->t->name, d);
    z->block_of[k] = d;
  }
  for (int l = 0; l < z->nlev; l++) {
    clseg__fb_table dm;
    uint64_t format, size;
    sp_level *v = &z->lv[l];
    if (!clseg__fb_vec_table(f, dv, (size_t)l, &dm) ||
        !clseg__fb_scalar(f, &dm, DM_FORMAT, 1, 0, &format) ||
        !clseg__fb_scalar(f, &dm, DM_DENSE_SIZE, 4, 0, &size) ||
        !sp_vector(f, &dm, DM_SEGMENTS_TYPE, DM_SEGMENTS, &v->seg, &v->nseg, &v->seg_es) ||
        !sp_vector(f, &dm, DM_INDICES_TYPE, DM_INDICES, &v->idx, &v->nidx, &v->idx_es))
      return 0;
    if (format > 1)
      return clseg__fb_fail(f, dm.pos, "tensor '%s': sparse level format %u", z->t->name,
                            (unsigned)format);
    v->sparse = (int)format;
    v->size = (int)(uint32_t)size;
    const int d = z->order[l];
    if (d >= z->rank) { /* a block dimension: dense, its size the block size */
      if (v->sparse || v->size < 1 || z->t->dims[z->block_of[d - z->rank]] % v->size)
        return clseg__fb_fail(f, dm.pos, "tensor '%s': block of %d does not divide dimension %d",
                              z->t->name, v->size, z->block_of[d - z->rank]);
      z->bsize[z->block_of[d - z->rank]] = v->size;
    }
  }
  for (int l = 0; l < z->nlev; l++)
    if (!z->lv[l].sparse && z->lv[l].size != sp_extent(z, l))
      return clseg__fb_fail(f, sp->pos,
                            "tensor '%s': dense level %d of %d coordinates, %d expected",
                            z->t->name, l, z->lv[l].size, sp_extent(z, l));
  return 1;
}

/* Replaces t's sparse data (the non-zero values in traversal order) by its dense form, owned by m.
 */
static int densify(clseg__tfl_model *m, clseg__tfl_tensor *t, const clseg__fb_table *sp) {
  sp_walk z = {.f = &m->fb, .pos = sp->pos, .t = t, .rank = t->ndim, .es = type_size(t->type)};
  if (!z.es) /* a valid file (int8 weights are stored sparse too): one clseg cannot read */
    return clseg__fb_unsupported(&m->fb, sp->pos,
                                 "tensor '%s': sparse data of type %d is unsupported (float32, "
                                 "float16 and int32 are)",
                                 t->name, t->type);
  if (!sp_read(&z, sp))
    return 0;
  size_t count = 1;
  for (int d = 0; d < t->ndim && count <= SP_MAX_DENSE; d++)
    count *= (size_t)t->dims[d]; /* dims < 2^24: no overflow before the stop */
  if (count > SP_MAX_DENSE)
    return clseg__fb_unsupported(
        &m->fb, sp->pos,
        "tensor '%s': a sparse constant of more than %d elements once dense "
        "is unsupported",
        t->name, SP_MAX_DENSE);
  uint8_t **list = realloc(m->dense, sizeof *list * (size_t)(m->ndense + 1));
  if (list)
    m->dense = list;
  z.dst = list ? calloc(count ? count : 1, (size_t)z.es) : NULL;
  if (!z.dst)
    return clseg__fb_fail(&m->fb, sp->pos, "out of memory densifying '%s'", t->name);
  m->dense[m->ndense++] = z.dst;
  z.values = t->data;
  z.nvalues = t->data ? t->bytes / (size_t)z.es : 0;
  if (!sp_walk_level(&z, 0, 0))
    return 0;
  if (z.leaves != z.nvalues)
    return clseg__fb_fail(&m->fb, sp->pos,
                          "tensor '%s': %zu sparse values, the indices address %zu", t->name,
                          z.nvalues, z.leaves);
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
  if (!clseg__fb_vec_table(f, tvec, i, &tt) ||
      !clseg__fb_string(f, &tt, TENSOR_NAME, t->name, sizeof t->name) ||
      !clseg__fb_vector(f, &tt, TENSOR_SHAPE, 4, &nd, &dims) ||
      !clseg__fb_scalar(f, &tt, TENSOR_TYPE, 1, 0, &type) ||
      !clseg__fb_scalar(f, &tt, TENSOR_BUFFER, 4, 0, &buf))
    return 0;
  if (nd > CLSEG__TFL_MAX_DIMS)
    return clseg__fb_fail(f, tt.pos, "tensor %zu '%s' has %zu dimensions", i, t->name, nd);
  t->type = (int)type;
  t->ndim = (int)nd;
  for (size_t d = 0; d < nd; d++) {
    t->dims[d] = clseg__rd_i32(dims + 4 * d);
    if (t->dims[d] < 1 || t->dims[d] > (1 << 24))
      return clseg__fb_fail(f, tt.pos, "tensor %zu '%s' has dimension %zu of size %d", i, t->name,
                            d, t->dims[d]);
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
      return clseg__fb_fail(f, tt.pos,
                            "tensor %zu '%s': %zu bytes of data for %llu elements of %d bytes", i,
                            t->name, t->bytes, (unsigned long long)count, es);
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
    return clseg__fb_fail(&m->fb, t->pos, "%zu tensor indexes", n);
  *out = malloc(sizeof **out * (n ? n : 1));
  if (!*out)
    return clseg__fb_fail(&m->fb, t->pos, "out of memory");
  for (size_t i = 0; i < n; i++) {
    int32_t v = clseg__rd_i32(d + 4 * i);
    if (v >= m->ntensors || v < (optional ? -1 : 0))
      return clseg__fb_fail(&m->fb, t->pos, "tensor index %d outside 0..%d", v, m->ntensors - 1);
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
  if (!clseg__fb_vec_table(f, ovec, i, &ot) || !clseg__fb_scalar(f, &ot, OP_OPCODE, 4, 0, &code) ||
      !read_indexes(m, &ot, OP_INPUTS, 1, &op->in, &op->nin) ||
      !read_indexes(m, &ot, OP_OUTPUTS, 0, &op->out, &op->nout) ||
      !clseg__fb_scalar(f, &ot, OP_OPT_TYPE, 1, 0, &otype) ||
      !clseg__fb_subtable(f, &ot, OP_OPT, &op->opt, &present) ||
      !clseg__fb_vector(f, &ot, OP_CUSTOM_OPT, 1, &op->custom_len, &op->custom_opt))
    return 0;
  if (code >= (uint64_t)m->ncodes)
    return clseg__fb_fail(f, ot.pos, "operator %zu uses operator code %llu of %d", i,
                          (unsigned long long)code, m->ncodes);
  if (op->nout < 1)
    return clseg__fb_fail(f, ot.pos, "operator %zu has no output", i);
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
    return clseg__fb_fail(f, root->pos, "%zu operator codes", n);
  m->codes = calloc(n ? n : 1, sizeof *m->codes);
  if (!m->codes)
    return clseg__fb_fail(f, 0, "out of memory");
  m->ncodes = (int)n;
  for (size_t i = 0; i < n; i++) {
    clseg__fb_table t;
    uint64_t dep, builtin;
    if (!clseg__fb_vec_table(f, v, i, &t) || !clseg__fb_scalar(f, &t, OC_DEPRECATED, 1, 0, &dep) ||
        !clseg__fb_scalar(f, &t, OC_BUILTIN, 4, 0, &builtin) ||
        !clseg__fb_string(f, &t, OC_CUSTOM, m->codes[i].custom, sizeof m->codes[i].custom))
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
    return clseg__fb_fail(f, sg->pos, "%zu tensors, %zu operators", nt, no);
  m->tensors = calloc(nt ? nt : 1, sizeof *m->tensors);
  m->ops = calloc(no ? no : 1, sizeof *m->ops);
  if (!m->tensors || !m->ops)
    return clseg__fb_fail(f, 0, "out of memory");
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
    return clseg__fb_unsupported(f, sg->pos, "the model has %d inputs; one is supported", nio);
  if (!read_indexes(m, sg, SG_OUTPUTS, 0, &io, &nio))
    return free(io), 0;
  m->outputs = io;
  m->noutputs = nio;
  m->output = nio ? io[0] : -1;
  if (!nio)
    return clseg__fb_fail(f, sg->pos, "the model has no output");
  return nio <= CLSEG_MAX_OUTPUTS
             ? 1
             : clseg__fb_unsupported(f, sg->pos, "the model has %d outputs (at most %d)", nio,
                                     CLSEG_MAX_OUTPUTS);
}

static int read_model(clseg__tfl_model *m) {
  clseg__fb *f = &m->fb;
  clseg__fb_table root, sg;
  size_t nsg, nbuf;
  const uint8_t *sgv, *bufv;
  if (f->n < 8 || memcmp(f->p + 4, "TFL3", 4))
    return clseg__fb_fail(f, 4, "not a TensorFlow Lite file (no \"TFL3\" identifier)");
  if (!clseg__fb_table_at(f, clseg__rd_u32(f->p), &root) ||
      !clseg__fb_string(f, &root, MODEL_DESCRIPTION, m->description, sizeof m->description) ||
      !read_opcodes(m, &root) || !clseg__fb_vector(f, &root, MODEL_SUBGRAPHS, 4, &nsg, &sgv) ||
      !clseg__fb_vector(f, &root, MODEL_BUFFERS, 4, &nbuf, &bufv))
    return 0;
  if (nsg != 1)
    return clseg__fb_unsupported(f, root.pos, "the model has %zu subgraphs; one is supported", nsg);
  return clseg__fb_vec_table(f, sgv, 0, &sg) && read_subgraph(m, &sg, bufv, nbuf);
}

clseg_status clseg__tfl_parse(const void *data, size_t size, clseg__tfl_model **out) {
  *out = NULL;
  clseg__tfl_model *m = calloc(1, sizeof *m);
  uint8_t *copy = malloc(size ? size : 1);
  if (!m || !copy) {
    free(m);
    free(copy);
    return clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "out of memory reading %zu bytes", size);
  }
  if (size)
    memcpy(copy, data, size);
  m->bytes = copy;
  m->fb.p = copy;
  m->fb.n = size;
  if (!read_model(m)) {
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

/* Running a plan: upload the input, enqueue every step's operator on its planned views, download
 * the outputs (or, on a device sharing host memory, let the last step write into the caller's
 * array). One wait per run (the download or the map); with profiling, per-step times come from
 * marker events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/resize.h"
#include "plan_internal.h"

static clseg_tensor *in_of(clseg_plan *p, const clseg__step *s, int i) {
  return p->steps[i < 3 && s->read[i] >= 0 ? s->read[i] : s->node->in[i]->id].view;
}

static clseg_status run_cbam_spatial(clseg_plan *p, clseg_tensor *const *pr, clseg_tensor *x,
                                     clseg_tensor *y) {
  clseg_tensor *const *conv = pr + CLSEG__SLOT_SPATIAL_CONV;
  clseg_tensor *const *bn = pr + CLSEG__SLOT_SPATIAL_BN;
  const clseg_cbam_spatial_params sp = {.bn_gamma = bn[CLSEG__SLOT_BN_WEIGHT],
                                        .bn_beta = bn[CLSEG__SLOT_BN_BIAS],
                                        .bn_mean = bn[CLSEG__SLOT_BN_MEAN],
                                        .bn_var = bn[CLSEG__SLOT_BN_VAR],
                                        .bn_eps = 1e-5f};
  return clseg_cbam_spatial_gate(p->ctx, x, conv[CLSEG__SLOT_WEIGHT], conv[CLSEG__SLOT_BIAS], &sp,
                                 y);
}

static clseg_status run_attention_gate(clseg_plan *p, clseg__step *s, clseg_tensor *x,
                                       clseg_tensor *y) {
  clseg_tensor *const *pr = s->param;
  clseg_tensor *const *phi = pr + CLSEG__SLOT_PHI, *const *psi = pr + CLSEG__SLOT_PSI;
  clseg_tensor *const *out = pr + CLSEG__SLOT_OUT, *const *bn = pr + CLSEG__SLOT_OUT_BN;
  const clseg_attention_gate_params ap = {.theta_stride = s->node->theta_stride,
                                          .w_out = out[CLSEG__SLOT_WEIGHT],
                                          .b_out = out[CLSEG__SLOT_BIAS],
                                          .bn_gamma = bn[CLSEG__SLOT_BN_WEIGHT],
                                          .bn_beta = bn[CLSEG__SLOT_BN_BIAS],
                                          .bn_mean = bn[CLSEG__SLOT_BN_MEAN],
                                          .bn_var = bn[CLSEG__SLOT_BN_VAR],
                                          .bn_eps = 1e-5f};
  return clseg_attention_gate(p->ctx, x, in_of(p, s, 1), pr[CLSEG__SLOT_THETA_WEIGHT], NULL,
                              phi[CLSEG__SLOT_WEIGHT], phi[CLSEG__SLOT_BIAS],
                              psi[CLSEG__SLOT_WEIGHT], psi[CLSEG__SLOT_BIAS], &ap, NULL, y);
}

static clseg_status run_attention(clseg_plan *p, clseg__step *s, clseg_tensor *x, clseg_tensor *y) {
  clseg_tensor *const *pr = s->param;
  clseg_tensor *const w1 = pr[CLSEG__SLOT_FC1_WEIGHT], *const b1 = pr[CLSEG__SLOT_FC1_BIAS];
  clseg_tensor *const w2 = pr[CLSEG__SLOT_FC2_WEIGHT], *const b2 = pr[CLSEG__SLOT_FC2_BIAS];
  switch (s->node->op) {
  case CLSEG__N_CBAM_CHANNEL: return clseg_cbam_channel_gate(p->ctx, x, w1, b1, w2, b2, y);
  case CLSEG__N_CBAM_SPATIAL: return run_cbam_spatial(p, pr, x, y);
  case CLSEG__N_SE: return clseg_se_gate(p->ctx, x, w1, b1, w2, b2, y);
  case CLSEG__N_SCSE:
    return clseg_scse_gate(p->ctx, x, w1, b1, w2, b2, pr[CLSEG__SLOT_SSE_WEIGHT],
                           pr[CLSEG__SLOT_SSE_BIAS], y);
  case CLSEG__N_ATTENTION_GATE: return run_attention_gate(p, s, x, y);
  default: return clseg__fail(p->ctx, CLSEG_INTERNAL, "no runner for node '%s'", s->node->name);
  }
}

static clseg_status run_layout(clseg_plan *p, clseg__step *s, clseg_tensor *x, clseg_tensor *y) {
  clseg_node *n = s->node;
  switch (n->op) {
  case CLSEG__N_CONCAT: {
    const clseg_tensor *xs[64];
    if (n->nin > 64)
      return clseg__fail(p->ctx, CLSEG_UNSUPPORTED, "concat '%s': %d inputs (at most 64)", n->name,
                         n->nin);
    for (int i = 0; i < n->nin; i++)
      xs[i] = in_of(p, s, i);
    return clseg_concat(p->ctx, xs, n->nin, y);
  }
  case CLSEG__N_CONCAT_H: {
    const clseg_tensor *xs[64];
    if (n->nin > 64)
      return clseg__fail(p->ctx, CLSEG_UNSUPPORTED, "concat_h '%s': %d inputs (at most 64)",
                         n->name, n->nin);
    for (int i = 0; i < n->nin; i++)
      xs[i] = in_of(p, s, i);
    return clseg_concat_h(p->ctx, xs, n->nin, y);
  }
  case CLSEG__N_RESHAPE_NHWC: return clseg_reshape_nhwc(p->ctx, x, y);
  case CLSEG__N_SLICE: return clseg_slice_channels(p->ctx, x, n->slice_start, y);
  case CLSEG__N_PAD: return clseg_pad(p->ctx, x, &n->u.pad, y);
  case CLSEG__N_REDUCE: return clseg_reduce_channels(p->ctx, x, n->reduce, y);
  case CLSEG__N_SOFTMAX: return clseg_softmax_channels(p->ctx, x, y);
  case CLSEG__N_ARGMAX: return clseg_argmax_channels(p->ctx, x, y);
  case CLSEG__N_SPACE_DEPTH:
    return n->u.space_depth.mode == 2
               ? clseg_space_to_depth(p->ctx, x, n->u.space_depth.block, y)
               : clseg_depth_to_space(p->ctx, x, n->u.space_depth.block,
                                      (clseg_depth_to_space_mode)n->u.space_depth.mode, y);
  default: return run_attention(p, s, x, y);
  }
}

/* A reduction without keepdims writes its output at the kept rank. */
static clseg_status run_reduce_axes(clseg_plan *p, clseg__step *s, clseg_tensor *x,
                                    clseg_tensor *y) {
  clseg_node *n = s->node;
  clseg_tensor kept = *y;
  int a = n->u.axis.axis < 0 ? n->u.axis.axis + x->rank : n->u.axis.axis;
  int na = n->u.axis.naxes ? n->u.axis.naxes : x->rank - a;
  memcpy(kept.shape, x->shape, sizeof kept.shape);
  kept.rank = x->rank;
  for (int i = a; i < a + na && i < CLSEG_MAX_RANK; i++)
    kept.shape[i] = 1;
  return clseg_reduce_axes(p->ctx, x, n->reduce, n->u.axis.axis, n->u.axis.naxes, &kept);
}

static clseg_status run_nd(clseg_plan *p, clseg__step *s, clseg_tensor *x, clseg_tensor *y) {
  clseg_node *n = s->node;
  clseg_tensor *const *pr = s->param;
  switch (n->op) {
  case CLSEG__N_TRANSPOSE: return clseg_transpose(p->ctx, x, n->u.perm.p, y);
  case CLSEG__N_MATMUL:
    if (s->attn)
      return clseg__attention_fused(p->ctx, s->attn, x, in_of(p, s, 1), in_of(p, s, 2), NULL, y);
    return clseg_matmul(p->ctx, x, in_of(p, s, 1), NULL, &s->mm, y);
  case CLSEG__N_SOFTMAX_AXIS: return clseg_softmax(p->ctx, x, n->u.axis.axis, n->u.axis.log, y);
  case CLSEG__N_LAYERNORM: {
    const clseg_layernorm_params lp = {n->u.axis.axis, n->u.axis.naxes, n->u.axis.eps};
    return clseg_layernorm(p->ctx, x, pr[CLSEG__SLOT_WEIGHT], pr[CLSEG__SLOT_BIAS], &lp, y);
  }
  case CLSEG__N_GROUPNORM:
    return clseg_groupnorm(p->ctx, x, n->u.axis.groups, n->u.axis.eps, pr[CLSEG__SLOT_WEIGHT],
                           pr[CLSEG__SLOT_BIAS], y);
  case CLSEG__N_REDUCE_AXES: return run_reduce_axes(p, s, x, y);
  case CLSEG__N_NARROW: return clseg_narrow(p->ctx, x, n->u.axis.axis, n->u.axis.start, y);
  case CLSEG__N_EXPAND: return clseg_expand(p->ctx, x, y);
  case CLSEG__N_UNARY: return clseg_unary(p->ctx, n->unary, x, y);
  case CLSEG__N_ATTENTION:
    return clseg_attention(p->ctx, x, in_of(p, s, 1), in_of(p, s, 2), &n->u.attn, y);
  default: return run_layout(p, s, x, y);
  }
}

clseg_status clseg__step_run(clseg_plan *p, clseg__step *s) {
  clseg_node *n = s->node;
  clseg_tensor *y = s->view, *x = n->nin ? in_of(p, s, 0) : NULL;
  clseg_tensor *const *pr = s->param;
  clseg_tensor *const w = pr[CLSEG__SLOT_WEIGHT]; /* the weight slots: convs, linear */
  clseg_tensor *const b = pr[CLSEG__SLOT_BIAS];
  if (s->gelu) {
    const clseg_activation gelu = {CLSEG_ACT_GELU, 0.0f, 0.0f};
    return clseg_activation_apply(p->ctx, x, &gelu, y);
  }
  if (s->ln) { /* written op by op (gamma and beta constants), or moved off its transposes */
    int own = n->op == CLSEG__N_LAYERNORM;
    return clseg_layernorm(p->ctx, x,
                           s->ln_gamma >= 0 ? p->steps[s->ln_gamma].view
                           : own            ? w
                                            : NULL,
                           s->ln_beta >= 0 ? p->steps[s->ln_beta].view
                           : own           ? b
                                           : NULL,
                           &s->lnp, y);
  }
  switch (n->op) {
  case CLSEG__N_CONV: {
    clseg_conv2d_params cp = n->u.conv;
    cp.act = s->act;
    clseg_tensor *res = s->residual >= 0 ? p->steps[s->residual].view : NULL;
    return s->conv ? clseg__conv2d_run(p->ctx, s->conv, x, res, y)
                   : clseg_conv2d(p->ctx, x, w, b, res, &cp, y);
  }
  case CLSEG__N_CONVT: {
    clseg_conv_transpose2d_params cp = n->u.convt;
    cp.act = s->act;
    return s->convt ? clseg__conv_transpose2d_run(p->ctx, s->convt, x, y)
                    : clseg_conv_transpose2d(p->ctx, x, w, b, &cp, y);
  }
  case CLSEG__N_BN:
    return clseg_batchnorm(p->ctx, x, pr[CLSEG__SLOT_BN_WEIGHT], pr[CLSEG__SLOT_BN_BIAS],
                           pr[CLSEG__SLOT_BN_MEAN], pr[CLSEG__SLOT_BN_VAR], 1e-5f, NULL, y);
  case CLSEG__N_ACT: return clseg_activation_apply(p->ctx, x, &n->u.act, y);
  case CLSEG__N_POOL: return clseg_pool2d(p->ctx, x, &n->u.pool, y);
  case CLSEG__N_GPOOL: return clseg_global_pool(p->ctx, x, n->pool_kind, y);
  case CLSEG__N_RESIZE:
    return clseg__resize_sum(p->ctx, x, &n->u.resize,
                             s->residual >= 0 ? p->steps[s->residual].view : NULL, &s->act, y);
  case CLSEG__N_BINARY: return clseg_binary(p->ctx, n->binary, x, in_of(p, s, 1), NULL, y);
  case CLSEG__N_LINEAR: return clseg_linear(p->ctx, x, w, b, NULL, y);
  case CLSEG__N_PRELU: return clseg_prelu(p->ctx, x, w, y);
  default: return run_nd(p, s, x, y);
  }
}

static double event_end_ms(cl_event e) {
  cl_ulong t = 0;
  if (clGetEventProfilingInfo(e, CL_PROFILING_COMMAND_END, sizeof t, &t, NULL) != CL_SUCCESS)
    return -1.0;
  return (double)t * 1e-6;
}

/* Runs every step; with profiling, a marker after each step timestamps its end. */
static clseg_status run_steps(clseg_plan *p) {
  cl_event prev = NULL;
  int profile = p->opt.profile;
  double t_prev = 0.0;
  if (profile && clEnqueueMarkerWithWaitList(p->ctx->queue, 0, NULL, &prev) == CL_SUCCESS)
    clWaitForEvents(1, &prev), t_prev = event_end_ms(prev);
  for (int k = 1; k < p->norder; k++) {
    clseg__step *s = &p->steps[p->order[k]];
    clseg_status st = clseg__step_run(p, s);
    if (st != CLSEG_OK)
      return clseg__fail_prefix(p->ctx, st, "running node '%s' (%s): ", s->node->name,
                                clseg__node_op_name(s->node->op));
    cl_event ev = NULL;
    if (profile && clEnqueueMarkerWithWaitList(p->ctx->queue, 0, NULL, &ev) == CL_SUCCESS) {
      clWaitForEvents(1, &ev); /* waiting keeps the times per step honest on every driver */
      double t = event_end_ms(ev);
      s->ms = t >= 0 && t_prev >= 0 ? t - t_prev : -1.0;
      t_prev = t;
      clReleaseEvent(ev);
    }
  }
  if (prev)
    clReleaseEvent(prev);
  return CLSEG_OK;
}

clseg_status clseg_plan_run(clseg_plan *p, const float *input, size_t input_count, float *output,
                            size_t output_count) {
  if (!p || !input || !output)
    return clseg__fail(p ? p->ctx : NULL, CLSEG_INVALID_ARGUMENT, "clseg_plan_run: NULL argument");
  return clseg_plan_run_outputs(p, input, input_count, &output, &output_count, 1);
}

/* The storage of output node `out` when it can be the caller's array itself: on a device that
 * shares host memory (CPUs, integrated GPUs), when the plan's last step writes it (nothing reads it
 * after) and the caller's room has its size. CLSEG_COPY_OUTPUTS=1 turns this off (the tests compare
 * both). */
static int direct_storage(const clseg_plan *p, int out, size_t count) {
  const clseg__step *s = &p->steps[p->steps[out].target];
  const char *copy = getenv("CLSEG_COPY_OUTPUTS");
  if (!p->ctx->info.unified_memory || (copy && !strcmp(copy, "1")) || p->norder < 2 ||
      s->storage < 0 || s->node->id != p->order[p->norder - 1] ||
      count != p->steps[out].view->count)
    return -1;
  return s->storage;
}

/* Points every view of storage `sto` at buffer b from its start (b NULL: back at the arena). */
static void redirect(clseg_plan *p, int sto, cl_mem b) {
  for (int i = 0; i < p->g->nnodes; i++) {
    clseg__step *s = &p->steps[i];
    if (s->storage == sto) {
      s->view->buf = b ? b : p->arena;
      s->view->offset = b ? 0 : p->storages[sto].offset;
    }
  }
}

/* Runs the steps with output i's storage in the caller's array (a buffer over it,
 * CL_MEM_USE_HOST_PTR): the last step writes the result where the caller reads it, instead of a
 * copy out of the arena afterwards (SegFormer-B0 at 512x512: 157 MB of logits). The blocking map
 * makes the data visible. */
static clseg_status run_into(clseg_plan *p, int sto, float *out, size_t count) {
  cl_int err;
  cl_mem b = clCreateBuffer(p->ctx->cl, CL_MEM_WRITE_ONLY | CL_MEM_USE_HOST_PTR,
                            count * sizeof(float), out, &err);
  if (err != CL_SUCCESS)
    return clseg__cl_fail(p->ctx, err, "running: wrapping the output array");
  redirect(p, sto, b);
  clseg_status s = run_steps(p);
  redirect(p, sto, NULL);
  void *m = clEnqueueMapBuffer(p->ctx->queue, b, CL_TRUE, CL_MAP_READ, 0, count * sizeof(float), 0,
                               NULL, NULL, &err);
  if (err == CL_SUCCESS)
    err = clEnqueueUnmapMemObject(p->ctx->queue, b, m, 0, NULL, NULL);
  if (err == CL_SUCCESS)
    err = clFinish(p->ctx->queue);
  clReleaseMemObject(b);
  if (s == CLSEG_OK && err != CL_SUCCESS)
    s = clseg__cl_fail(p->ctx, err, "running: reading the output array");
  return s;
}

clseg_status clseg_plan_run_outputs(clseg_plan *p, const float *input, size_t input_count,
                                    float *const *outputs, const size_t *counts, int n) {
  if (!p || !input || !outputs || !counts || n < 1 || n > p->g->noutputs)
    return clseg__fail(p ? p->ctx : NULL, CLSEG_INVALID_ARGUMENT,
                       "clseg_plan_run_outputs: NULL argument, or %d outputs of %d", n,
                       p ? p->g->noutputs : 0);
  clseg_tensor *in = p->steps[p->g->input->id].view;
  clseg_status s = clseg_tensor_upload(in, input, input_count);
  int direct = -1, sto = -1;
  for (int i = 0; i < n && direct < 0; i++)
    if (outputs[i] && (sto = direct_storage(p, p->g->outputs[i]->id, counts[i])) >= 0)
      direct = i;
  if (s == CLSEG_OK)
    s = direct >= 0 ? run_into(p, sto, outputs[direct], counts[direct]) : run_steps(p);
  for (int i = 0; i < n && s == CLSEG_OK; i++) {
    const clseg__step *o = &p->steps[p->g->outputs[i]->id];
    if (!outputs[i] || i == direct)
      continue;
    if (direct >= 0 && o->storage == sto && counts[i] == counts[direct]) /* the same values twice */
      memcpy(outputs[i], outputs[direct], counts[i] * sizeof(float));
    else
      s = clseg_tensor_download(o->view, outputs[i], counts[i]);
  }
  return s;
}

int clseg_plan_layer_count(const clseg_plan *p) {
  return p ? p->norder - 1 : 0;
}

clseg_status clseg_plan_layer_get(const clseg_plan *p, int i, clseg_plan_layer *out) {
  if (!p || !out || i < 0 || i + 1 >= p->norder)
    return clseg__fail(p ? p->ctx : NULL, CLSEG_INVALID_ARGUMENT, "clseg_plan_layer_get: %s",
                       !p     ? "NULL plan"
                       : !out ? "NULL output"
                              : "layer index out of range");
  const clseg__step *s = &p->steps[p->order[i + 1]]; /* order[0] is the input */
  memset(out, 0, sizeof *out);
  out->name = s->node->name;
  out->op = clseg__node_op_name(s->node->op);
  memcpy(out->shape, s->shape, sizeof out->shape);
  out->ms = p->opt.profile ? s->ms : -1.0;
  if (s->conv) {
    out->variant = clseg__conv2d_prep_variant(s->conv);
    clseg__conv2d_prep_tuning(s->conv, &out->options, &out->tuning);
  } else if (s->convt) {
    clseg__conv_transpose2d_prep_tuning(s->convt, &out->variant, &out->options, &out->tuning);
  }
  for (int k = 0; k < p->g->nnodes; k++)
    if (p->steps[k].target == s->node->id) {
      out->flops += p->steps[k].flops;
      out->fused += k != s->node->id;
    }
  return CLSEG_OK;
}

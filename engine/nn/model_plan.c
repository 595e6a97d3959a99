/* Packed convolution weights, kernel scratch and the eval plan
 * (model_plan.h). Packing is the only place weights are rearranged: the
 * kernels read the packed copies and never allocate. */
#include "nn/model_plan.h"
#include "nn/conv_ops.h"
#include "nn/batchnorm.h"
#include "nn/conv_algo.h"
#include "core/threadpool.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

/* Largest scratch any call of layer l's ops needs with 1..max_batch
 * images (a call never has more). */
static size_t layer_scratch(const dacc_model *m, const dacc_kernels *k, const dacc_layer *l,
                            const dacc_conv_packs *c) {
    size_t most = 0;
    for (int n = 1; n <= m->max_batch; n++) {
        dacc_conv_shape s = dacc_model_conv_shape(l, n);
        dacc_conv_need a, b, f, e, both = {0};
        dacc_conv_fwd_query(k, &s, c->train_fwd, &a);
        dacc_conv_bwd_data_query(k, &s, c->train_bwd, &b);
        dacc_conv_bwd_filter_query(k, &s, c->train_wgt, &f);
        dacc_conv_fwd_query(k, &s, c->eval_fwd, &e);
        if (c->train_both) dacc_conv_bwd_both_query(k, &s, c->train_bwd, c->train_wgt, &both);
        most = max_size(most, max_size(max_size(a.scratch_size, b.scratch_size),
                                       max_size(f.scratch_size, e.scratch_size)));
        most = max_size(most, both.scratch_size);
    }
    return most;
}

static int folded_bn(const dacc_model *m, int i);

/* Each conv layer's algorithms and packed offsets for table k (into
 * m->conv); returns the packed floats, *scratch the scratch per thread. */
static size_t plan_layout(dacc_model *m, const dacc_kernels *k, size_t *scratch) {
    size_t packed = 0;
    *scratch = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const dacc_layer *l = &m->layers[i];
        if (l->kind != DACC_L_CONV) continue;
        dacc_conv_packs *c = &m->conv[i];
        const dacc_conv_shape s = dacc_model_conv_shape(l, m->max_batch);
        dacc_conv_need need;
        /* training as eval (F(4x4) where the rule picks it; the accuracy
         * argument is tests/unit/test_train_f64.c's) unless a test asks
         * for precise rounding; eval also F(6x6) (conv_algo.c) */
        c->train_fwd = dacc_conv_fwd_algo(k, &s, m->train_precise);
        c->train_bwd = dacc_conv_bwd_data_algo(k, &s, m->train_precise);
        c->eval_fwd = dacc_conv_eval_fwd_algo(k, &s);
        c->train_wgt = dacc_conv_bwd_filter_algo(k, &s, m->train_precise);
        /* the first layer's input gradient is never asked for */
        c->train_both = l->in != 0 &&
                        !dacc_conv_bwd_both_query(k, &s, c->train_bwd, c->train_wgt, &need);
        c->train_fwd_off = packed;
        dacc_conv_fwd_query(k, &s, c->train_fwd, &need);
        packed += dacc_conv_lines(need.packed_size);
        c->train_bwd_off = packed;
        dacc_conv_bwd_data_query(k, &s, c->train_bwd, &need);
        packed += dacc_conv_lines(need.packed_size);
        if (c->eval_fwd == c->train_fwd && folded_bn(m, i) < 0) {
            /* eval packs the same weights for the same algorithm: the same
             * bits, so both use one copy (ConvPool's polyphase layers:
             * 3.7 MB) */
            c->eval_fwd_off = c->train_fwd_off;
        } else {
            c->eval_fwd_off = packed;
            dacc_conv_fwd_query(k, &s, c->eval_fwd, &need);
            packed += dacc_conv_lines(need.packed_size);
        }
        *scratch = max_size(*scratch, dacc_conv_lines(layer_scratch(m, k, l, c)));
    }
    return packed;
}

/* Room for the plan of every kernel table this CPU runs (tests and
 * benchmarks swap m->k; the plan follows, see follow_table), then the plan
 * of m->k. */
int dacc_model_plan_init(dacc_model *m, int threads) {
    size_t packed = 0, scratch = 0, s;
    for (int isa = 0; isa < DACC_ISA_COUNT; isa++) {
        dacc_kernels t;
        if (dacc_kernels_for_isa((dacc_isa)isa, &t)) continue;
        packed = max_size(packed, plan_layout(m, &t, &s));
        scratch = max_size(scratch, s);
    }
    packed = max_size(packed, plan_layout(m, m->k, &s));
    m->plan_k = m->k;
    m->packed_cap = packed;
    m->kscratch_per_thread = max_size(scratch, s);
    m->packed = dacc_conv_alloc(packed);
    m->kscratch = dacc_conv_alloc(m->kscratch_per_thread * (size_t)threads);
    m->eval = calloc(1, sizeof *m->eval);
    size_t most = 0;
    for (int i = 0; i < m->n_acts; i++) most = max_size(most, m->act_size[i]);
    m->eval_local_half = dacc_conv_lines(most * DACC_EVAL_GROUP_BIG);
    m->eval_local = dacc_conv_alloc(2 * m->eval_local_half * (size_t)threads);
    m->eval_local_act = calloc(2 * (size_t)threads, sizeof(int));
    return m->packed && m->kscratch && m->eval && m->eval_local && m->eval_local_act ? 0 : -1;
}

/* The plan of the current m->k: re-laid-out when the table was swapped
 * (the eval plan then rebuilt). A table of kernels this CPU runs always
 * fits the room reserved at init; another one gets new room, and running
 * out of memory then is fatal (the forward has no error to return). */
static void follow_table(dacc_model *m) {
    if (m->k == m->plan_k) return;
    size_t scratch, packed = plan_layout(m, m->k, &scratch);
    if (packed > m->packed_cap || scratch > m->kscratch_per_thread) {
        const int threads = dacc_pool_threads(m->pool);
        free(m->packed);
        free(m->kscratch);
        m->packed_cap = max_size(packed, m->packed_cap);
        m->kscratch_per_thread = max_size(scratch, m->kscratch_per_thread);
        m->packed = dacc_conv_alloc(m->packed_cap);
        m->kscratch = dacc_conv_alloc(m->kscratch_per_thread * (size_t)threads);
        if (!m->packed || !m->kscratch) {
            fprintf(stderr, "dacc: out of memory for packed weights\n");
            abort();
        }
    }
    m->plan_k = m->k;
    m->eval->valid = 0;
}

void dacc_model_set_train_precise(dacc_model *m, int precise) {
    m->train_precise = precise != 0;
    m->plan_k = NULL; /* the next step lays the plan out again (follow_table) */
}

void dacc_model_plan_free(dacc_model *m) {
    free(m->packed);
    free(m->kscratch);
    free(m->eval);
    free(m->eval_local);
    free(m->eval_local_act);
    m->packed = m->kscratch = m->eval_local = NULL;
    m->eval_local_act = NULL;
    m->eval = NULL;
}

/* ---- training: every conv's forward and backward-data weights ---- */

static void t_pack(void *ctx, int t, int nt) {
    dacc_model *m = ctx;
    const dacc_kernels *k = m->k;
    float *ks = dacc_model_kscratch(m, t); /* free: no conv runs in this round */
    int job = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const dacc_layer *l = &m->layers[i];
        if (l->kind != DACC_L_CONV) continue;
        const dacc_conv_packs *c = &m->conv[i];
        const dacc_conv_shape s = dacc_model_conv_shape(l, m->max_batch);
        const float *w = m->params + l->w_off, *b = m->params + l->b_off;
        if (job++ % nt == t)
            dacc_conv_fwd_pack(k, &s, c->train_fwd, w, b, m->packed + c->train_fwd_off, ks);
        /* the first layer's input gradient is never asked for */
        if (l->in != 0 && job++ % nt == t)
            dacc_conv_bwd_data_pack(k, &s, c->train_bwd, w, m->packed + c->train_bwd_off, ks);
    }
}

void dacc_model_pack_train(dacc_model *m) {
    follow_table(m);
    /* layers whose eval and training forward share packed weights
     * (plan_layout) now hold these parameters' packing, which the eval
     * plan's parameter check cannot see: it is rebuilt at the next eval */
    m->eval->valid = 0;
    dacc_pool_run(m->pool, t_pack, m, dacc_pool_threads(m->pool));
}

/* ---- eval ---- */

/* Eval mode: the BN whose output reaches layer i's convolution (through
 * eval-mode dropouts, which are identities), or -1. Only an unpadded conv
 * can absorb it: padding would put zeros where the BN would put b. */
static int folded_bn(const dacc_model *m, int i) {
    const dacc_layer *l = &m->layers[i];
    if (l->kind != DACC_L_CONV || l->pad != 0) return -1;
    int j = i - 1;
    while (j >= 0 && m->layers[j].kind == DACC_L_DROPOUT) j--;
    return j >= 0 && m->layers[j].kind == DACC_L_BN ? j : -1;
}
/* Index of the next layer after i that is not a dropout (eval identities). */
static int next_live(const dacc_model *m, int i) {
    i++;
    while (i < m->n_layers && m->layers[i].kind == DACC_L_DROPOUT) i++;
    return i;
}
static int bn_is_folded(const dacc_model *m, int j) {
    int i = next_live(m, j);
    return i < m->n_layers && folded_bn(m, i) == j;
}

int dacc_model_relu_follows(const dacc_model *m, int i) {
    const dacc_layer *l = &m->layers[i], *r = &m->layers[i + 1];
    return i + 1 < m->n_layers && r->kind == DACC_L_RELU && r->in == l->out && r->out == l->out;
}

int dacc_model_relu_before(const dacc_model *m, int i) {
    if (i < 1) return 0;
    const dacc_layer *l = &m->layers[i], *r = &m->layers[i - 1];
    return r->kind == DACC_L_RELU && r->out == l->in && r->in == l->in;
}

/* conv(x*a + b) = conv with w'[t][ic][oc] = w*a[ic] and
 * b'[oc] = bias[oc] + sum_{t,ic} w*b[ic]. */
static void fold_bn(const dacc_model *m, const dacc_layer *c, const dacc_layer *bnl, float *wf,
                    float *bf) {
    float a[128], b[128];
    dacc_bn_eval_coeffs(bnl->c, m->params + bnl->w_off, m->params + bnl->b_off,
                        m->buffers + bnl->rm_off, m->buffers + bnl->rv_off, a, b);
    const int ic = c->c, oc = c->oc;
    const size_t rows = (size_t)c->k * c->k * ic;
    const float *w = m->params + c->w_off, *bias = m->params + c->b_off;
    double acc[128];
    for (int o = 0; o < oc; o++) acc[o] = bias[o];
    for (size_t r = 0; r < rows; r++) {
        const float ar = a[r % ic];
        const double br = b[r % ic];
        const float *wr = w + r * oc;
        float *fr = wf + r * oc;
        for (int o = 0; o < oc; o++) {
            fr[o] = wr[o] * ar;
            acc[o] += wr[o] * br;
        }
    }
    for (int o = 0; o < oc; o++) bf[o] = (float)acc[o];
}

/* A conv step: weights (folded with the BN before it, if any) packed for
 * the eval algorithm. */
static void plan_conv(dacc_model *m, int i, dacc_eval_step *st) {
    const dacc_layer *l = &m->layers[i];
    const dacc_conv_packs *c = &m->conv[i];
    const float *w = m->params + l->w_off, *bias = m->params + l->b_off;
    const int f = folded_bn(m, i);
    if (f >= 0) {
        float *wf = m->folded + l->w_off, *bf = m->folded + l->b_off;
        fold_bn(m, l, &m->layers[f], wf, bf);
        st->x = m->layers[f].in;
        w = wf;
        bias = bf;
    }
    const dacc_conv_shape s = dacc_model_conv_shape(l, m->max_batch);
    st->algo = c->eval_fwd;
    st->packed = m->packed + c->eval_fwd_off;
    /* built on the caller's thread before the eval rounds: task 0's
     * kernel scratch is free */
    dacc_conv_fwd_pack(m->k, &s, c->eval_fwd, w, bias, m->packed + c->eval_fwd_off,
                       dacc_model_kscratch(m, 0));
}

/* The plan: batch-norms folded into the next convolution or into the next
 * max pooling (which pools the affine map by max or min per channel,
 * kernels.h), ReLUs after a conv or a max pool fused into it, dropouts
 * skipped (identities). */
static void build_eval_plan(dacc_model *m, dacc_eval_plan *e) {
    e->steps = 0;
    int pending_bn = -1; /* a BN whose affine the next max pooling applies */
    for (int i = 0; i < m->n_layers; i++) {
        const dacc_layer *l = &m->layers[i];
        if (l->kind == DACC_L_DROPOUT) continue;
        if (l->kind == DACC_L_BN) {
            if (bn_is_folded(m, i)) continue; /* applied by the next conv */
            int j = next_live(m, i);
            if (j < m->n_layers && m->layers[j].kind == DACC_L_MAXPOOL && m->layers[j].in == l->out) {
                pending_bn = i;
                continue;
            }
        }
        dacc_eval_step *st = &e->step[e->steps++];
        memset(st, 0, sizeof *st);
        st->l = l;
        st->x = l->in;
        st->y = l->out;
        const dacc_layer *bn = l->kind == DACC_L_BN ? l : NULL;
        if (l->kind == DACC_L_MAXPOOL && pending_bn >= 0) {
            bn = &m->layers[pending_bn];
            st->x = bn->in;
            pending_bn = -1;
        }
        if (bn) {
            dacc_bn_eval_coeffs(bn->c, m->params + bn->w_off, m->params + bn->b_off,
                                m->buffers + bn->rm_off, m->buffers + bn->rv_off, st->a, st->b);
            st->has_affine = 1;
        }
        if (l->kind == DACC_L_CONV) plan_conv(m, i, st);
        if ((l->kind == DACC_L_CONV || l->kind == DACC_L_MAXPOOL) && dacc_model_relu_follows(m, i)) {
            st->relu = 1;
            i++;
        }
    }
    e->split = 0;
    for (int i = 0; i < e->steps; i++)
        if (m->act_size[e->step[i].x] > DACC_EVAL_SMALL_FLOATS ||
            m->act_size[e->step[i].y] > DACC_EVAL_SMALL_FLOATS)
            e->split = i + 1;
}

/* Compared bit for bit with the copy the plan was built from: it cannot
 * miss a parameter written directly by a test, an import or a checkpoint
 * load, and costs a fraction of one fold of conv128. A training step's
 * packing invalidates it (dacc_model_pack_train): it may overwrite weights
 * the plan shares, even when the parameters come back to the plan's. */
const dacc_eval_plan *dacc_model_eval_plan(dacc_model *m) {
    follow_table(m);
    float *src_p = m->eval_src, *src_b = m->eval_src + m->n_params;
    if (m->eval->valid && !memcmp(src_p, m->params, sizeof(float) * m->n_params) &&
        !memcmp(src_b, m->buffers, sizeof(float) * m->n_buffers))
        return m->eval;
    build_eval_plan(m, m->eval);
    memcpy(src_p, m->params, sizeof(float) * m->n_params);
    memcpy(src_b, m->buffers, sizeof(float) * m->n_buffers);
    m->eval->valid = 1;
    return m->eval;
}

/* Forward, loss, backward and the Adam step over the layer list. Each layer's
 * work is split by images into one task per thread; per-channel and weight
 * reductions are kept per task and summed in task order, so a result depends
 * on the thread count but never on scheduling. */
#include "nn/model_internal.h"
#include "dacc/model.h"
#include "nn/batchnorm.h"
#include "core/rng.h"
#include "core/threadpool.h"
#include <math.h>
#include <string.h>

typedef struct pass {
    dacc_model *m;
    const dacc_layer *l;
    int n;                 /* images in the batch */
    int train;
    uint64_t seed;         /* dropout stream */
    int layer_index;
    const uint8_t *images;
    const float *a, *b, *k; /* per-channel coefficients for affine ops */
    int phase;             /* BN forward: 0 sums, 1 squared deviations, 2 apply;
                              BN backward: 0 sums, 1 apply */
    int relu;              /* conv forward: fused ReLU (the next layer is skipped) */
} pass;

static float *act(dacc_model *m, int id) { return m->acts + m->act_off[id]; }
static float *dact(dacc_model *m, int id) { return m->dacts + m->act_off[id]; }
static void range(int n, int task, int ntasks, int *lo, int *hi) {
    *lo = (int)((long)n * task / ntasks);
    *hi = (int)((long)n * (task + 1) / ntasks);
}
static int ntasks(const dacc_model *m, int n) {
    int t = dacc_pool_threads(m->pool);
    return t < n ? t : n;
}
static dacc_conv_shape conv_shape(const dacc_layer *l, int n) {
    dacc_conv_shape s = {n, l->h, l->w, l->c, l->oh, l->ow, l->oc, l->k, l->k, l->stride, l->pad, 0, 0};
    return s;
}
static dacc_pool_shape pool_shape(const dacc_layer *l, int n) {
    dacc_pool_shape s = {n, l->h, l->w, l->c, l->oh, l->ow, l->k, l->stride, l->pad};
    return s;
}
static uint8_t *aux(dacc_model *m, const dacc_layer *l) {
    return m->aux + l->aux_off * (size_t)m->max_batch;
}

/* ---- tasks ---- */

static void t_input(void *ctx, int t, int nt) {
    pass *p = ctx;
    int lo, hi;
    range(p->n, t, nt, &lo, &hi);
    const float scale = 1.0f / (255.0f * DACC_NORM_STD), shift = -DACC_NORM_MEAN / DACC_NORM_STD;
    p->m->k->u8_normalize((size_t)(hi - lo) * 784, p->images + (size_t)lo * 784, scale, shift,
                          act(p->m, 0) + (size_t)lo * 784);
}

static void t_fwd(void *ctx, int t, int nt) {
    pass *p = ctx;
    dacc_model *m = p->m;
    const dacc_layer *l = p->l;
    const dacc_kernels *k = m->k;
    int lo, hi;
    range(p->n, t, nt, &lo, &hi);
    int n = hi - lo;
    if (n <= 0) return;
    size_t in_sz = m->act_size[l->in], out_sz = m->act_size[l->out];
    const float *x = act(m, l->in) + lo * in_sz;
    float *y = act(m, l->out) + lo * out_sz;
    switch (l->kind) {
    case DACC_L_CONV: {
        dacc_conv_shape s = conv_shape(l, n);
        s.relu = p->relu;
        s.precise = 1; /* routing of ReLUs and max pools must not hang on rounding */
        k->conv_fwd(&s, x, m->params + l->w_off, m->params + l->b_off, y);
        break;
    }
    case DACC_L_RELU:
        k->relu_fwd(n * in_sz, x, y);
        break;
    case DACC_L_MAXPOOL: {
        dacc_pool_shape s = pool_shape(l, n);
        k->maxpool_fwd(&s, x, y, (int32_t *)aux(m, l) + lo * out_sz);
        break;
    }
    case DACC_L_AVGPOOL: {
        dacc_pool_shape s = pool_shape(l, n);
        k->avgpool_fwd(&s, x, y);
        break;
    }
    case DACC_L_DROPOUT: {
        uint8_t *mask = aux(m, l) + lo * in_sz;
        /* keep when a uniform 64-bit draw falls below (1-p) * 2^64 */
        uint64_t keep = l->p <= 0 || 1.0 - l->p >= 1.0 ? UINT64_MAX
                                                      : (uint64_t)((1.0 - l->p) * 18446744073709551615.0);
        for (int i = 0; i < n; i++) {
            dacc_rng r;
            dacc_rng_seed(&r, p->seed, DACC_STREAM_DROPOUT, (uint64_t)p->layer_index,
                          (uint64_t)(lo + i));
            for (size_t j = 0; j < in_sz; j++)
                mask[i * in_sz + j] = l->p <= 0 || dacc_rng_u64(&r) < keep;
        }
        k->dropout(n * in_sz, x, mask, 1.0f / (1.0f - l->p), y);
        break;
    }
    case DACC_L_BN: /* training batch-norm runs in phases (bn_forward_train) */
        break;
    }
}

static void t_bn(void *ctx, int t, int nt) {
    pass *p = ctx;
    dacc_model *m = p->m;
    const dacc_layer *l = p->l;
    int lo, hi;
    range(p->n, t, nt, &lo, &hi);
    size_t sz = m->act_size[l->in];
    size_t rows = (size_t)(hi - lo) * sz / l->c;
    const float *x = act(m, l->in) + lo * sz;
    double *red = m->red + (size_t)t * 256;
    const float *mean = m->stats + l->stat_off;
    if (p->phase == 0) {
        memset(red, 0, sizeof(double) * l->c);
        m->k->channel_sum(rows, l->c, x, red);
    } else if (p->phase == 1) {
        memset(red, 0, sizeof(double) * l->c);
        m->k->channel_sqdev(rows, l->c, x, mean, red);
    } else {
        m->k->channel_affine(rows, l->c, x, p->a, p->b, act(m, l->out) + lo * sz);
    }
}

static void bn_forward_train(pass *p) {
    dacc_model *m = p->m;
    const dacc_layer *l = p->l;
    int nt = ntasks(m, p->n), c = l->c;
    double cnt = (double)p->n * m->act_size[l->in] / c;
    float *mean = m->stats + l->stat_off, *invstd = mean + c;
    float a[128], b[128];
    double tot[128];
    p->phase = 0;
    dacc_pool_run(m->pool, t_bn, p, nt);
    memset(tot, 0, sizeof tot);
    for (int t = 0; t < nt; t++)
        for (int j = 0; j < c; j++) tot[j] += m->red[(size_t)t * 256 + j];
    dacc_bn_mean(c, cnt, tot, mean);
    p->phase = 1;
    dacc_pool_run(m->pool, t_bn, p, nt);
    memset(tot, 0, sizeof tot);
    for (int t = 0; t < nt; t++)
        for (int j = 0; j < c; j++) tot[j] += m->red[(size_t)t * 256 + j];
    dacc_bn_train_coeffs(c, cnt, tot, mean, m->params + l->w_off, m->params + l->b_off, invstd,
                         a, b, m->buffers + l->rm_off, m->buffers + l->rv_off);
    m->bn_batches[l->bn_index]++;
    p->a = a;
    p->b = b;
    p->phase = 2;
    dacc_pool_run(m->pool, t_bn, p, nt);
}

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

/* The fold's inputs: conv weights and bias, BN gamma, beta, running mean
 * and variance, as (offset, count) into params (arena 0) or buffers (1). */
static int fold_inputs(const dacc_layer *c, const dacc_layer *bn, size_t off[6], size_t cnt[6],
                       int arena[6]) {
    const size_t o[6] = {c->w_off, c->b_off, bn->w_off, bn->b_off, bn->rm_off, bn->rv_off};
    const size_t n[6] = {(size_t)c->k * c->k * c->c * c->oc, (size_t)c->oc, (size_t)bn->c,
                         (size_t)bn->c, (size_t)bn->c, (size_t)bn->c};
    for (int i = 0; i < 6; i++) off[i] = o[i], cnt[i] = n[i], arena[i] = i >= 4;
    return 6;
}

/* fold_bn, redone only when one of its inputs changed since the last fold
 * (compared bit for bit with a copy: ~6x cheaper than folding conv128,
 * which took half of a batch-1 forward, and it cannot miss a parameter
 * written directly by a test, an import or a checkpoint load). */
static void fold_bn_cached(dacc_model *m, int i, const dacc_layer *bn, float *wf, float *bf) {
    const dacc_layer *c = &m->layers[i];
    size_t off[6], cnt[6];
    int arena[6];
    int k = fold_inputs(c, bn, off, cnt, arena), same = (int)(m->fold_valid >> i & 1);
    float *src[2] = {m->params, m->buffers};
    float *copy[2] = {m->fold_src, m->fold_src + m->n_params};
    for (int j = 0; same && j < k; j++)
        same = !memcmp(src[arena[j]] + off[j], copy[arena[j]] + off[j], sizeof(float) * cnt[j]);
    if (same) return;
    fold_bn(m, c, bn, wf, bf);
    for (int j = 0; j < k; j++)
        memcpy(copy[arena[j]] + off[j], src[arena[j]] + off[j], sizeof(float) * cnt[j]);
    m->fold_valid |= (uint64_t)1 << i; /* i < DACC_MAX_LAYERS <= 64 */
}

/* ---- eval mode: one thread-pool round for the whole network ----
 * Every eval layer works image by image, so each thread runs the whole
 * network over its own images with no hand-offs between layers. The plan
 * is made once per call on the calling thread: batch-norms folded into the
 * next convolution or into the next max pooling (which pools the affine
 * map by max or min per channel, kernels.h), ReLUs after a conv or a max
 * pool fused into it, dropouts skipped (identities). */
typedef struct eval_step {
    const dacc_layer *l;
    int x, y;                 /* activation tensors read and written */
    const float *w, *bias;    /* conv: weights and bias (params or folded) */
    int has_affine;           /* BN apply, or max pooling of an affine map */
    float a[128], b[128];
    int relu;                 /* conv, max pool: ReLU fused */
} eval_step;

typedef struct eval_plan {
    dacc_model *m;
    const uint8_t *images;
    int n, steps, split; /* steps [0, split) in big-activation groups */
    eval_step step[DACC_MAX_LAYERS];
} eval_plan;

/* Steps [s0, s1) of the eval network over images [lo, lo + n) (from the
 * input images when s0 is 0). */
static void eval_images(const eval_plan *e, int s0, int s1, int lo, int n) {
    dacc_model *m = e->m;
    const dacc_kernels *k = m->k;
    const float scale = 1.0f / (255.0f * DACC_NORM_STD), shift = -DACC_NORM_MEAN / DACC_NORM_STD;
    if (s0 == 0)
        k->u8_normalize((size_t)n * 784, e->images + (size_t)lo * 784, scale, shift,
                        act(m, 0) + (size_t)lo * 784);
    for (int i = s0; i < s1; i++) {
        const eval_step *st = &e->step[i];
        const dacc_layer *l = st->l;
        size_t in_sz = m->act_size[st->x];
        const float *x = act(m, st->x) + lo * in_sz;
        float *y = act(m, st->y) + lo * m->act_size[st->y];
        switch (l->kind) {
        case DACC_L_CONV: {
            dacc_conv_shape s = conv_shape(l, n);
            s.relu = st->relu;
            k->conv_fwd(&s, x, st->w, st->bias, y);
            break;
        }
        case DACC_L_MAXPOOL: {
            dacc_pool_shape s = pool_shape(l, n);
            k->maxpool_affine(&s, x, st->has_affine ? st->a : NULL, st->has_affine ? st->b : NULL,
                              st->relu, y);
            break;
        }
        case DACC_L_AVGPOOL: {
            dacc_pool_shape s = pool_shape(l, n);
            k->avgpool_fwd(&s, x, y);
            break;
        }
        case DACC_L_RELU: k->relu_fwd(n * in_sz, x, y); break;
        case DACC_L_BN: k->channel_affine(n * in_sz / l->c, l->c, x, st->a, st->b, y); break;
        case DACC_L_DROPOUT: break; /* never planned */
        }
    }
}

/* A thread's images go through the network in groups, so that a group's
 * activations between two layers stay in the core's caches (32 images of
 * conv32_1's output are 2.8 MB; L2 is 1 MB). Small groups cost one more
 * weight packing per group in each conv kernel, so the steps are in two
 * stages: up to the last step that reads or writes more than
 * EVAL_SMALL_FLOATS floats per image, in groups of EVAL_GROUP_BIG, then the
 * rest in groups of EVAL_GROUP_SMALL. In the network the first stage is
 * conv32_1 .. pool_1 (86 + 74 KB per image between them), the second
 * conv64_1 on (64 KB per image in all; conv64_2's F(4x4) weights are
 * 590 KB once transformed). Measured, batch 64 on 2 threads
 * (bench_network, 3 interleaved runs each, images/s): 16/16 (one stage,
 * before) 26500-27100, 8/32 27000-27300, 4/32 28100-29100, 8/16
 * 26600-27100; a second set: 4/32 26900-28300, 2/32 25700-26900, 4/16
 * 25800-27900, 6/32 27100-27800. */
#ifndef EVAL_GROUP_BIG
#define EVAL_GROUP_BIG 4
#endif
#ifndef EVAL_GROUP_SMALL
#define EVAL_GROUP_SMALL 32
#endif
#ifndef EVAL_SMALL_FLOATS
#define EVAL_SMALL_FLOATS 8192
#endif
static void t_eval(void *ctx, int t, int nt) {
    eval_plan *e = ctx;
    int lo, hi;
    range(e->n, t, nt, &lo, &hi);
    for (int i = lo; i < hi; i += EVAL_GROUP_BIG)
        eval_images(e, 0, e->split, i, hi - i < EVAL_GROUP_BIG ? hi - i : EVAL_GROUP_BIG);
    for (int i = lo; i < hi; i += EVAL_GROUP_SMALL)
        eval_images(e, e->split, e->steps, i, hi - i < EVAL_GROUP_SMALL ? hi - i : EVAL_GROUP_SMALL);
}

/* Does layer i+1 apply a ReLU in place on layer i's output? */
static int relu_follows(const dacc_model *m, int i) {
    const dacc_layer *l = &m->layers[i], *r = &m->layers[i + 1];
    return i + 1 < m->n_layers && r->kind == DACC_L_RELU && r->in == l->out && r->out == l->out;
}

static const float *forward_eval(dacc_model *m, const uint8_t *images, int n) {
    static _Thread_local eval_plan e; /* ~40 KB: not on a small thread stack */
    e.m = m;
    e.images = images;
    e.n = n;
    e.steps = 0;
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
        eval_step *st = &e.step[e.steps++];
        st->l = l;
        st->x = l->in;
        st->y = l->out;
        st->has_affine = 0;
        st->relu = 0;
        const dacc_layer *bn = NULL;
        if (l->kind == DACC_L_BN) bn = l;
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
        if (l->kind == DACC_L_CONV) {
            int f = folded_bn(m, i);
            st->w = m->params + l->w_off;
            st->bias = m->params + l->b_off;
            if (f >= 0) {
                float *wf = m->folded + l->w_off, *bf = m->folded + l->b_off;
                fold_bn_cached(m, i, &m->layers[f], wf, bf);
                st->x = m->layers[f].in;
                st->w = wf;
                st->bias = bf;
            }
        }
        if ((l->kind == DACC_L_CONV || l->kind == DACC_L_MAXPOOL) && relu_follows(m, i)) {
            st->relu = 1;
            i++;
        }
    }
    e.split = 0;
    for (int i = 0; i < e.steps; i++)
        if (m->act_size[e.step[i].x] > EVAL_SMALL_FLOATS || m->act_size[e.step[i].y] > EVAL_SMALL_FLOATS)
            e.split = i + 1;
    dacc_pool_run(m->pool, t_eval, &e, ntasks(m, n));
    return act(m, m->layers[m->n_layers - 1].out);
}

const float *dacc_model_forward(dacc_model *m, const uint8_t *images, int n, int train,
                                uint64_t dropout_seed) {
    if (!train) return forward_eval(m, images, n);
    pass p = {m, NULL, n, train, dropout_seed, 0, images, NULL, NULL, NULL, 0, 0};
    int nt = ntasks(m, n);
    dacc_pool_run(m->pool, t_input, &p, nt);
    for (int i = 0; i < m->n_layers; i++) {
        const dacc_layer *l = &m->layers[i];
        p.l = l;
        p.layer_index = i;
        if (l->kind == DACC_L_BN) {
            bn_forward_train(&p);
            continue;
        }
        /* a ReLU in place on a conv's output runs in the conv's epilogue;
         * its backward is unchanged (it reads the output) */
        int fuse = l->kind == DACC_L_CONV && relu_follows(m, i);
        p.relu = fuse;
        dacc_pool_run(m->pool, t_fwd, &p, nt);
        p.relu = 0;
        if (fuse) i++;
    }
    return act(m, m->layers[m->n_layers - 1].out);
}

const float *dacc_model_logits(const dacc_model *m) {
    return m->acts + m->act_off[m->layers[m->n_layers - 1].out];
}

double dacc_model_loss(dacc_model *m, const uint8_t *labels, int n, int paper, int *correct) {
    const int K = DACC_CLASSES;
    int last = m->layers[m->n_layers - 1].out;
    const float *logits = act(m, last);
    float *d = dact(m, last);
    float p[DACC_CLASSES], r[DACC_CLASSES];
    double loss = 0;
    int ok = 0;
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * K;
        float *dz = d + (size_t)i * K;
        int y = labels[i], best = 0;
        for (int j = 1; j < K; j++)
            if (z[j] > z[best]) best = j;
        ok += best == y;
        m->k->softmax(1, K, z, p);
        if (!paper) {
            /* log-softmax in double: exact even when p[y] underflows */
            double mx = z[best], se = 0;
            for (int j = 0; j < K; j++) se += exp((double)z[j] - mx);
            loss -= (double)z[y] - mx - log(se);
            for (int j = 0; j < K; j++) dz[j] = (p[j] - (j == y)) / n;
        } else {
            /* the notebook: CrossEntropyLoss(softmax(z)) = a second softmax */
            m->k->softmax(1, K, p, r);
            loss -= log(r[y]);
            float dq[DACC_CLASSES], dot = 0;
            for (int j = 0; j < K; j++) {
                dq[j] = (r[j] - (j == y)) / n;
                dot += dq[j] * p[j];
            }
            for (int j = 0; j < K; j++) dz[j] = p[j] * (dq[j] - dot);
        }
    }
    if (correct) *correct = ok;
    return loss / n;
}

/* ---- backward ---- */

static void t_bwd(void *ctx, int t, int nt) {
    pass *p = ctx;
    dacc_model *m = p->m;
    const dacc_layer *l = p->l;
    const dacc_kernels *k = m->k;
    int lo, hi;
    range(p->n, t, nt, &lo, &hi);
    int n = hi - lo;
    size_t in_sz = m->act_size[l->in], out_sz = m->act_size[l->out];
    const float *x = act(m, l->in) + lo * in_sz;
    const float *y = act(m, l->out) + lo * out_sz;
    const float *dy = dact(m, l->out) + lo * out_sz;
    float *dx = dact(m, l->in) + lo * in_sz;
    if (n <= 0) return;
    switch (l->kind) {
    case DACC_L_CONV: {
        dacc_conv_shape s = conv_shape(l, n);
        s.precise = 1; /* as the forward (kernels.h) */
        float *part = m->scratch + (size_t)t * m->scratch_per_thread;
        size_t nw = (size_t)l->k * l->k * l->c * l->oc;
        k->conv_bwd_filter(&s, x, dy, part, part + nw);
        if (l->in != 0) k->conv_bwd_data(&s, dy, m->params + l->w_off, dx);
        break;
    }
    case DACC_L_RELU:
        k->relu_bwd(n * in_sz, y, dy, dx);
        break;
    case DACC_L_MAXPOOL: {
        dacc_pool_shape s = pool_shape(l, n);
        k->maxpool_bwd(&s, dy, (const int32_t *)aux(m, l) + lo * out_sz, dx);
        break;
    }
    case DACC_L_AVGPOOL: {
        dacc_pool_shape s = pool_shape(l, n);
        k->avgpool_bwd(&s, dy, dx);
        break;
    }
    case DACC_L_DROPOUT:
        k->dropout(n * in_sz, dy, aux(m, l) + lo * in_sz, 1.0f / (1.0f - l->p), dx);
        break;
    case DACC_L_BN: {
        size_t rows = (size_t)n * in_sz / l->c;
        const float *mean = m->stats + l->stat_off;
        if (p->phase == 0) {
            double *red = m->red + (size_t)t * 256;
            memset(red, 0, sizeof(double) * 2 * l->c);
            k->channel_dot(rows, l->c, dy, x, mean, red, red + l->c);
        } else {
            k->channel_affine2(rows, l->c, dy, x, p->a, p->b, p->k, dx);
        }
        break;
    }
    }
}

/* Sums the per-task weight-gradient partials in task order, split by
 * element ranges so the reduction itself runs in parallel. */
static void t_reduce(void *ctx, int t, int nt) {
    pass *p = ctx;
    dacc_model *m = p->m;
    const dacc_layer *l = p->l;
    int parts = ntasks(m, p->n);
    size_t nw = (size_t)l->k * l->k * l->c * l->oc, total = nw + l->oc;
    size_t lo = total * t / nt, hi = total * (t + 1) / nt;
    for (size_t j = lo; j < hi; j++) {
        float s = 0;
        for (int q = 0; q < parts; q++) s += m->scratch[(size_t)q * m->scratch_per_thread + j];
        if (j < nw) m->grads[l->w_off + j] = s;
        else m->grads[l->b_off + (j - nw)] = s;
    }
}

void dacc_model_backward(dacc_model *m, int n) {
    pass p = {m, NULL, n, 1, 0, 0, NULL, NULL, NULL, NULL, 0, 0};
    int nt = ntasks(m, n);
    for (int i = m->n_layers - 1; i >= 0; i--) {
        const dacc_layer *l = &m->layers[i];
        p.l = l;
        if (l->kind == DACC_L_BN) {
            int c = l->c;
            double cnt = (double)n * m->act_size[l->in] / c;
            p.phase = 0;
            dacc_pool_run(m->pool, t_bwd, &p, nt);
            double sdy[128] = {0}, sdyx[128] = {0};
            for (int t = 0; t < nt; t++)
                for (int j = 0; j < c; j++) {
                    sdy[j] += m->red[(size_t)t * 256 + j];
                    sdyx[j] += m->red[(size_t)t * 256 + c + j];
                }
            const float *mean = m->stats + l->stat_off, *invstd = mean + c;
            float a[128], b[128], kk[128];
            dacc_bn_backward_coeffs(c, cnt, sdy, sdyx, mean, invstd, m->params + l->w_off,
                                    m->grads + l->w_off, m->grads + l->b_off, a, b, kk);
            p.a = a; p.b = b; p.k = kk;
            p.phase = 1;
            dacc_pool_run(m->pool, t_bwd, &p, nt);
            continue;
        }
        dacc_pool_run(m->pool, t_bwd, &p, nt);
        if (l->kind == DACC_L_CONV) dacc_pool_run(m->pool, t_reduce, &p, dacc_pool_threads(m->pool));
    }
}

typedef struct adam_ctx { dacc_model *m; dacc_adam_args a; } adam_ctx;
static void t_adam(void *ctx, int t, int nt) {
    adam_ctx *c = ctx;
    dacc_model *m = c->m;
    size_t lo = m->n_params * t / nt, hi = m->n_params * (t + 1) / nt;
    m->k->adam(hi - lo, m->params + lo, m->grads + lo, m->adam_m + lo, m->adam_v + lo, &c->a);
}

void dacc_model_adam_step(dacc_model *m, float lr) {
    m->adam_step++;
    adam_ctx c = {m, {lr, 0.9f, 0.999f, 1e-8f, 0, 0}};
    c.a.bc1 = (float)(1.0 - pow(0.9, (double)m->adam_step));
    c.a.bc2 = (float)(1.0 - pow(0.999, (double)m->adam_step));
    dacc_pool_run(m->pool, t_adam, &c, dacc_pool_threads(m->pool));
}

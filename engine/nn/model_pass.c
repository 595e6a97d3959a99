/* Forward, loss, backward and the Adam step over the layer list. Each layer's
 * work is split by images into one task per thread; per-channel and weight
 * reductions are kept per task and summed in task order, so a result depends
 * on the thread count but never on scheduling. */
#include "nn/model_internal.h"
#include "dacc/model.h"
#include "nn/batchnorm.h"
#include "nn/layer_times.h"
#include "nn/model_plan.h"
#include "nn/conv_ops.h"
#include "core/rng.h"
#include "core/threadpool.h"
#include <math.h>
#include <sched.h>
#include <stdatomic.h>
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
    int phase;             /* BN forward: 0 sums, 1 sums again (bn_stats), 2 apply;
                              BN backward: 0 sums, 1 apply */
    int relu;              /* conv forward: fused ReLU (the next layer is skipped);
                              BN backward: the backward of the ReLU before it merged */
    int set;               /* conv backward: the partials set its weight gradients go to */
} pass;

static float *act(dacc_model *m, int id) { return m->acts + m->act_off[id]; }
/* Task t's partial weight gradients in set (0 or 1; model_internal.h). */
static float *partials(const dacc_model *m, int set, int t) {
    return m->scratch + ((size_t)set * (size_t)dacc_pool_threads(m->pool) + (size_t)t) * m->scratch_per_thread;
}
static float *dact(dacc_model *m, int id) { return m->dacts + m->dact_off[id]; }
/* A spin-wait's pause: lets the core's other work (and a hypervisor) run. */
static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}
static void range(int n, int task, int ntasks, int *lo, int *hi) {
    *lo = (int)((long)n * task / ntasks);
    *hi = (int)((long)n * (task + 1) / ntasks);
}
static int ntasks(const dacc_model *m, int n) {
    int t = dacc_pool_threads(m->pool);
    return t < n ? t : n;
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
        const dacc_conv_packs *c = &m->conv[p->layer_index];
        dacc_conv_shape s = dacc_model_conv_shape(l, n);
        s.relu = p->relu;
        dacc_conv_fwd(k, &s, c->train_fwd, x, m->packed + c->train_fwd_off, y, dacc_model_kscratch(m, t));
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
        /* one stream per image (so a mask depends only on the seed, the
         * layer and the image's place in the batch), DROPOUT_STREAMS at a time */
        enum { DROPOUT_STREAMS = 32 };
        for (int i0 = 0; i0 < n; i0 += DROPOUT_STREAMS) {
            const int ns = n - i0 < DROPOUT_STREAMS ? n - i0 : DROPOUT_STREAMS;
            if (l->p <= 0) {
                memset(mask + i0 * in_sz, 1, ns * in_sz);
                continue;
            }
            uint64_t st[4 * DROPOUT_STREAMS];
            for (int i = 0; i < ns; i++) {
                dacc_rng r;
                dacc_rng_seed(&r, p->seed, DACC_STREAM_DROPOUT, (uint64_t)p->layer_index,
                              (uint64_t)(lo + i0 + i));
                memcpy(st + 4 * i, r.s, sizeof r.s);
            }
            k->dropout_mask(ns, st, in_sz, keep, mask + i0 * in_sz, in_sz);
        }
        k->dropout(n * in_sz, x, mask, 1.0f / (1.0f - l->p), y);
        break;
    }
    case DACC_L_BN: /* training batch-norm runs in phases (t_chain, bn_stats) */
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
    if (p->phase < 2) { /* moments about the running mean (0) or the batch mean (1) */
        const float *shift = p->phase == 0 ? m->buffers + l->rm_off : m->stats + l->stat_off;
        memset(red, 0, sizeof(double) * 2 * l->c);
        m->k->channel_moments(rows, l->c, x, shift, red, red + l->c);
    } else {
        m->k->channel_affine(rows, l->c, x, p->a, p->b, act(m, l->out) + lo * sz);
    }
}

/* ---- training forward: one round per batch-norm ----
 * Every step but a batch-norm's statistics works image by image over the
 * same split (task t always has the images range(n, t, nt)), so a task runs
 * a chain of layers over its images without waiting for the others; only a
 * BN's batch mean and variance need every task's images. A round runs: the
 * apply of the BN the chain starts at (its coefficients from the round
 * before), every layer up to the next BN, and that BN's channel moments
 * about its running mean: mean and variance in one pass (batchnorm.h; a
 * two-pass variance cost a pass over x and a round per BN, ~0.2 ms of a
 * ~13 ms step per thread). The per-task
 * partials are summed in task order, so the results do not depend on the
 * rounds' timing. Timers: see round_spread. */
typedef struct chain {
    const pass *p;
    int i0, i1;   /* layers [i0, i1); i0 a BN: its apply */
    int input;    /* start with the input normalisation */
} chain;

static void t_chain(void *ctx, int t, int nt) {
    const chain *c = ctx;
    dacc_model *m = c->p->m;
    pass q = *c->p;
    double t0 = t == 0 ? dacc_lt_now() : 0, t1;
    if (c->input) t_input(&q, t, nt);
    for (int i = c->i0; i < c->i1; i++) {
        const dacc_layer *l = &m->layers[i];
        q.l = l;
        q.layer_index = i;
        q.phase = 2;
        q.relu = l->kind == DACC_L_CONV && dacc_model_relu_follows(m, i);
        if (l->kind == DACC_L_BN) t_bn(&q, t, nt);
        else t_fwd(&q, t, nt);
        if (t == 0) m->times.round[i][DACC_TIME_FWD] += (t1 = dacc_lt_now()) - t0, t0 = t1;
        if (q.relu) i++; /* a ReLU in place on a conv's output runs in its epilogue */
    }
    if (c->i1 < m->n_layers && m->layers[c->i1].kind == DACC_L_BN) {
        q.l = &m->layers[c->i1];
        q.phase = 0;
        t_bn(&q, t, nt);
        if (t == 0) m->times.round[c->i1][DACC_TIME_FWD] += dacc_lt_now() - t0;
    }
}

/* A chain round's wall time, shared among its steps in proportion to
 * task 0's time of each (m->times.round, cleared here): the wait for the
 * other tasks stays in the layers' times, as when each had its own round. */
static void round_spread(dacc_layer_times *tm, double wall) {
    double tot = 0;
    for (int i = 0; i < DACC_MAX_LAYERS; i++)
        for (int q = 0; q < DACC_TIME_PARTS; q++) tot += tm->round[i][q];
    if (tot > 0)
        for (int i = 0; i < DACC_MAX_LAYERS; i++)
            for (int q = 0; q < DACC_TIME_PARTS; q++) tm->s[i][q] += tm->round[i][q] * wall / tot;
    memset(tm->round, 0, sizeof tm->round);
}

/* Sums the tasks' channel partials (m->red: 2c per task) in task order. */
static void sum_red(const dacc_model *m, int nt, int c, double *tot) {
    memset(tot, 0, sizeof(double) * 2 * (size_t)c);
    for (int t = 0; t < nt; t++)
        for (int j = 0; j < 2 * c; j++) tot[j] += m->red[(size_t)t * 256 + j];
}

/* BN layer l's batch statistics after the chain that ended with its sums:
 * the mean and variance, the apply coefficients a, b (and the running
 * statistics). */
static void bn_stats(pass *p, int i, int nt, float *a, float *b) {
    dacc_model *m = p->m;
    const dacc_layer *l = &m->layers[i];
    const int c = l->c;
    double cnt = (double)p->n * m->act_size[l->in] / c, tot[256];
    float *mean = m->stats + l->stat_off, *invstd = mean + c;
    double t0 = dacc_lt_now();
    sum_red(m, nt, c, tot);
    float *rm = m->buffers + l->rm_off;
    const float *shift = rm;
    if (dacc_bn_shift_far(c, cnt, tot, tot + c, rm, mean)) { /* again about the batch mean */
        p->l = l;
        p->phase = 1;
        dacc_pool_run(m->pool, t_bn, p, nt);
        sum_red(m, nt, c, tot);
        shift = mean;
    }
    dacc_bn_train_moments(c, cnt, tot, tot + c, shift, m->params + l->w_off, m->params + l->b_off,
                          mean, invstd, a, b, rm, m->buffers + l->rv_off);
    m->bn_batches[l->bn_index]++;
    m->times.s[i][DACC_TIME_FWD] += dacc_lt_now() - t0;
}

/* ---- eval mode: one thread-pool round for the whole network ----
 * Every eval layer works image by image, so each thread runs the whole
 * network over its own images with no hand-offs between layers, following
 * the eval plan (model_plan.c: built, and the weights packed, once per
 * parameter change). */
typedef struct eval_run {
    dacc_model *m;
    const dacc_eval_plan *plan;
    const uint8_t *images;
    int n;
    atomic_int next_group, groups_done; /* t_eval's groups of the steps before split */
    atomic_int next_small;              /* and of the steps after it */
} eval_run;

/* Can step i of a call running steps [.., s1) keep its output in the
 * thread's local buffers? Only when step i + 1 of the same call reads it
 * and no later step reads that version of it (an in-place step rewrites
 * it): every other activation stays in the model's arena. */
static int eval_keeps_local(const dacc_eval_plan *p, int i, int s1) {
    const int y = p->step[i].y;
    if (i + 1 >= s1 || p->step[i + 1].x != y) return 0;
    for (int j = i + 1; j < p->steps; j++) {
        if (j > i + 1 && p->step[j].x == y) return 0;
        if (p->step[j].y == y) return 1;
    }
    return 1;
}

/* Where step i writes a group of n images starting at lo: the group's
 * activations between two steps go to one of the thread's two local
 * buffers (alternating, so a step never writes the buffer it reads), not
 * to the arena at lo, so that every group reuses the same few hundred KB
 * and they stay in the core's L2 instead of streaming through L3. */
static float *eval_out(const eval_run *e, int t, int i, int s1, int lo, int n,
                       float **local_of) {
    dacc_model *m = e->m;
    const int y = e->plan->step[i].y;
    if ((size_t)n * m->act_size[y] <= m->eval_local_half && eval_keeps_local(e->plan, i, s1)) {
        local_of[y] = m->eval_local + ((size_t)2 * t + (i & 1)) * m->eval_local_half;
        m->eval_local_act[2 * t + (i & 1)] = y;
        return local_of[y];
    }
    local_of[y] = NULL;
    return act(m, y) + lo * m->act_size[y];
}

/* Steps [s0, s1) of the eval network over images [lo, lo + n) (from the
 * input images when s0 is 0). */
static void eval_images(const eval_run *e, int t, int s0, int s1, int lo, int n) {
    dacc_model *m = e->m;
    const dacc_kernels *k = m->k;
    const float scale = 1.0f / (255.0f * DACC_NORM_STD), shift = -DACC_NORM_MEAN / DACC_NORM_STD;
    float *local_of[DACC_MAX_ACTS] = {0}; /* an activation's local buffer, or NULL: the arena */
    if (s0 == 0)
        k->u8_normalize((size_t)n * 784, e->images + (size_t)lo * 784, scale, shift,
                        act(m, 0) + (size_t)lo * 784);
    for (int i = s0; i < s1; i++) {
        const dacc_eval_step *st = &e->plan->step[i];
        const dacc_layer *l = st->l;
        size_t in_sz = m->act_size[st->x];
        const float *x = local_of[st->x] ? local_of[st->x] : act(m, st->x) + lo * in_sz;
        float *y = eval_out(e, t, i, s1, lo, n, local_of);
        switch (l->kind) {
        case DACC_L_CONV: {
            dacc_conv_shape s = dacc_model_conv_shape(l, n);
            s.relu = st->relu;
            dacc_conv_fwd(k, &s, st->algo, x, st->packed, y, dacc_model_kscratch(m, t));
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

/* Steps [s0, s1) over groups of `size` images, each group claimed from
 * *next by whichever task is free (done, if not NULL, counts the groups
 * finished). */
static void eval_groups(eval_run *e, int t, int s0, int s1, int size, atomic_int *next,
                        atomic_int *done) {
    const int groups = (e->n + size - 1) / size;
    for (int g; (g = atomic_fetch_add_explicit(next, 1, memory_order_relaxed)) < groups;) {
        const int lo = g * size;
        eval_images(e, t, s0, s1, lo, e->n - lo < size ? e->n - lo : size);
        if (done) atomic_fetch_add_explicit(done, 1, memory_order_release);
    }
    /* every group is claimed; any still running is near its end (yield
     * now and then, in case its task waits for this core) */
    for (unsigned i = 1; done && atomic_load_explicit(done, memory_order_acquire) < groups; i++)
        if (i % 4096) cpu_relax();
        else sched_yield();
}

/* Images go through the network in groups, so that a group's activations
 * between two layers stay in the core's caches (32 images of conv32_1's
 * output are 2.8 MB; L2 is 1 MB): the plan's steps [0, split) (more than
 * DACC_EVAL_SMALL_FLOATS floats per image in or out; conv32_1 .. pool_1 in
 * the network) in groups of DACC_EVAL_GROUP_BIG, then, once those are all
 * done (the rest reads their outputs from the arena), the rest in groups
 * of at most DACC_EVAL_GROUP_SMALL, about four per task (model_plan.h).
 * Groups go to whichever task is free next, so a core that runs slower for
 * a while (a shared VM's often do) does fewer of them instead of holding
 * up the other at the end. An image's result does not depend on its group
 * or task. */
static void t_eval(void *ctx, int t, int nt) {
    eval_run *e = ctx;
    const int big = DACC_EVAL_GROUP_BIG;
    eval_groups(e, t, 0, e->plan->split, big, &e->next_group, &e->groups_done);
    int small = (e->n + 4 * nt - 1) / (4 * nt);
    small = small > DACC_EVAL_GROUP_SMALL ? DACC_EVAL_GROUP_SMALL : small < big ? big : small;
    eval_groups(e, t, e->plan->split, e->plan->steps, small, &e->next_small, NULL);
}

static const float *forward_eval(dacc_model *m, const uint8_t *images, int n) {
    eval_run e = {m, dacc_model_eval_plan(m), images, n, 0, 0, 0};
    dacc_pool_run(m->pool, t_eval, &e, ntasks(m, n));
    return act(m, m->layers[m->n_layers - 1].out);
}

const float *dacc_model_forward(dacc_model *m, const uint8_t *images, int n, int train,
                                uint64_t dropout_seed) {
    if (!train) return forward_eval(m, images, n);
    pass p = {m, NULL, n, train, dropout_seed, 0, images, NULL, NULL, NULL, 0, 0, 0};
    int nt = ntasks(m, n);
    double t0 = dacc_lt_now();
    dacc_model_pack_train(m); /* once per step: the weights changed since the last */
    m->times.pack_s += dacc_lt_now() - t0;
    float a[128], b[128]; /* the apply coefficients of the BN a chain starts at */
    for (int i = 0; i < m->n_layers;) {
        int j = m->layers[i].kind == DACC_L_BN ? i + 1 : i;
        while (j < m->n_layers && m->layers[j].kind != DACC_L_BN) j++;
        chain c = {&p, i, j, i == 0};
        p.a = a;
        p.b = b;
        t0 = dacc_lt_now();
        dacc_pool_run(m->pool, t_chain, &c, nt);
        round_spread(&m->times, dacc_lt_now() - t0);
        if (j < m->n_layers) bn_stats(&p, j, nt, a, b);
        i = j;
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
        const dacc_conv_packs *c = &m->conv[p->layer_index];
        dacc_conv_shape s = dacc_model_conv_shape(l, n);
        float *part = partials(m, p->set, t);
        float *ks = dacc_model_kscratch(m, t);
        size_t nw = (size_t)l->k * l->k * l->c * l->oc;
        double t0 = t == 0 ? dacc_lt_now() : 0, t1 = 0; /* task 0 splits the round's time */
        if (c->train_both) { /* one pass: its time counts as backward-weights */
            dacc_conv_bwd_both(k, &s, c->train_bwd, c->train_wgt, x, dy,
                               m->packed + c->train_bwd_off, dx, part, part + nw, ks);
            if (t == 0) m->times.split_weights_s = dacc_lt_now() - t0, m->times.split_data_s = 0;
            break;
        }
        dacc_conv_bwd_filter(k, &s, c->train_wgt, x, dy, part, part + nw, ks);
        if (t == 0) t1 = dacc_lt_now();
        if (l->in != 0)
            dacc_conv_bwd_data(k, &s, c->train_bwd, dy, m->packed + c->train_bwd_off, dx, ks);
        if (t == 0) m->times.split_weights_s = t1 - t0, m->times.split_data_s = dacc_lt_now() - t1;
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
        } else if (p->relu) {
            k->channel_affine2_relu(rows, l->c, dy, x, p->a, p->b, p->k, dx);
        } else {
            k->channel_affine2(rows, l->c, dy, x, p->a, p->b, p->k, dx);
        }
        break;
    }
    }
}

/* Conv layer l's weight gradients: the sums over parts tasks of its
 * partials (set), in task order, of elements [total * t / nt, total *
 * (t + 1) / nt): task t of nt's share, so the sums run in parallel and
 * their bits do not depend on nt. */
static void reduce_share(dacc_model *m, const dacc_layer *l, int set, int parts, int t, int nt) {
    size_t nw = (size_t)l->k * l->k * l->c * l->oc, total = nw + l->oc;
    size_t lo = total * t / nt, hi = total * (t + 1) / nt;
    const float *part = partials(m, set, 0);
    const size_t stride = m->scratch_per_thread; /* between two tasks' partials */
    for (size_t j = lo; j < hi; j++) {
        float s = 0;
        for (int q = 0; q < parts; q++) s += part[(size_t)q * stride + j];
        if (j < nw) m->grads[l->w_off + j] = s;
        else m->grads[l->b_off + (j - nw)] = s;
    }
}

/* A convolution whose partials (one per task of the pass) are still to be
 * summed. */
typedef struct pending_reduce {
    int layer; /* -1: none */
    int set;
} pending_reduce;

typedef struct reduce_ctx {
    dacc_model *m;
    pending_reduce r;
    int parts;
} reduce_ctx;

static void t_reduce(void *ctx, int t, int nt) {
    reduce_ctx *c = ctx;
    reduce_share(c->m, &c->m->layers[c->r.layer], c->r.set, c->parts, t, nt);
}

/* ---- training backward: rounds as in the forward ----
 * A round runs, over each task's images: the apply of the BN it starts at
 * (with the backward of the ReLU before it, which reads the BN input), the
 * layers below down to the next BN, and that BN's sums (channel_dot). A
 * round holds at most one convolution. Its weight-gradient partials (one
 * buffer per task) are summed at the start of the next round, while that
 * round's convolution writes the other of two partials sets; the last
 * convolution's are summed in a round of their own (t_reduce). Timers:
 * see round_spread. */
typedef struct bchain {
    const pass *p;
    int i0, i1;           /* layers i0 down to i1 + 1; i1 a BN: its sums at the end */
    pending_reduce prev;  /* the previous round's convolution, summed first */
} bchain;

static void t_bchain(void *ctx, int t, int nt) {
    const bchain *c = ctx;
    dacc_model *m = c->p->m;
    dacc_layer_times *tm = &m->times;
    pass q = *c->p;
    double t0 = t == 0 ? dacc_lt_now() : 0, t1;
    if (c->prev.layer >= 0) {
        reduce_share(m, &m->layers[c->prev.layer], c->prev.set, nt, t, nt); /* nt partials, as in its round */
        if (t == 0) tm->round[c->prev.layer][DACC_TIME_BWD_WEIGHTS] += (t1 = dacc_lt_now()) - t0, t0 = t1;
    }
    for (int i = c->i0; i > c->i1; i--) {
        const dacc_layer *l = &m->layers[i];
        q.l = l;
        q.layer_index = i;
        q.phase = 1;
        q.relu = l->kind == DACC_L_BN && dacc_model_relu_before(m, i);
        t_bwd(&q, t, nt);
        if (t == 0) {
            t1 = dacc_lt_now();
            if (l->kind == DACC_L_CONV) {
                tm->round[i][DACC_TIME_BWD_DATA] += tm->split_data_s;
                tm->round[i][DACC_TIME_BWD_WEIGHTS] += t1 - t0 - tm->split_data_s;
            } else {
                tm->round[i][DACC_TIME_BWD_DATA] += t1 - t0;
            }
            t0 = t1;
        }
        if (q.relu) i--; /* merged into the BN's apply (same bits) */
    }
    if (c->i1 >= 0 && m->layers[c->i1].kind == DACC_L_BN) {
        q.l = &m->layers[c->i1];
        q.phase = 0;
        t_bwd(&q, t, nt);
        if (t == 0) tm->round[c->i1][DACC_TIME_BWD_DATA] += dacc_lt_now() - t0;
    }
}

/* The end of the round that starts at layer i (see t_bchain): the next BN
 * below or a second convolution; *conv the convolution in it, or -1. The
 * layout of the activation gradients depends on it (model_build.c). */
int dacc_model_bwd_round_end(const dacc_model *m, int i, int *conv) {
    int k = i;
    *conv = -1;
    while (k >= 0) {
        const dacc_layer *l = &m->layers[k];
        if (k != i && l->kind == DACC_L_BN) break;
        if (l->kind == DACC_L_CONV) {
            if (*conv >= 0) break;
            *conv = k;
        }
        if (l->kind == DACC_L_BN && dacc_model_relu_before(m, k)) k--;
        k--;
    }
    return k;
}

int dacc_model_bwd_round_tensors(const dacc_model *m, int i, int end, int *ids) {
    int n = 0;
    for (int j = i; j > end; j--) ids[n++] = m->layers[j].in, ids[n++] = m->layers[j].out;
    if (end >= 0 && m->layers[end].kind == DACC_L_BN) ids[n++] = m->layers[end].out;
    return n;
}

/* After the round that ended at BN layer k: its backward coefficients
 * (a, b, kk) from the tasks' sums, and its parameters' gradients. */
static void bn_backward_coeffs(dacc_model *m, int k, int n, int nt, float *a, float *b, float *kk) {
    const dacc_layer *l = &m->layers[k];
    int ch = l->c;
    double cnt = (double)n * m->act_size[l->in] / ch;
    double sdy[128] = {0}, sdyx[128] = {0};
    double t0 = dacc_lt_now();
    for (int t = 0; t < nt; t++)
        for (int j = 0; j < ch; j++) {
            sdy[j] += m->red[(size_t)t * 256 + j];
            sdyx[j] += m->red[(size_t)t * 256 + ch + j];
        }
    const float *mean = m->stats + l->stat_off, *invstd = mean + ch;
    dacc_bn_backward_coeffs(ch, cnt, sdy, sdyx, mean, invstd, m->params + l->w_off,
                            m->grads + l->w_off, m->grads + l->b_off, a, b, kk);
    m->times.s[k][DACC_TIME_BWD_DATA] += dacc_lt_now() - t0;
}

void dacc_model_backward(dacc_model *m, int n) {
    pass p = {m, NULL, n, 1, 0, 0, NULL, NULL, NULL, NULL, 0, 0, 0};
    int nt = ntasks(m, n), conv;
    float a[128], b[128], kk[128]; /* the backward coefficients of the BN a round starts at */
    p.a = a, p.b = b, p.k = kk;
    pending_reduce prev = {-1, 0};
    for (int i = m->n_layers - 1; i >= 0;) {
        const int k = dacc_model_bwd_round_end(m, i, &conv);
        p.set = prev.layer >= 0 ? 1 - prev.set : 0;
        bchain c = {&p, i, k, prev};
        double t0 = dacc_lt_now();
        dacc_pool_run(m->pool, t_bchain, &c, nt);
        round_spread(&m->times, dacc_lt_now() - t0);
        if (conv >= 0) prev = (pending_reduce){conv, p.set};
        else prev.layer = -1;
        if (k >= 0 && m->layers[k].kind == DACC_L_BN) bn_backward_coeffs(m, k, n, nt, a, b, kk);
        i = k;
    }
    if (prev.layer >= 0) { /* the last convolution's sums */
        reduce_ctx rc = {m, prev, nt};
        double t0 = dacc_lt_now();
        dacc_pool_run(m->pool, t_reduce, &rc, dacc_pool_threads(m->pool));
        m->times.s[prev.layer][DACC_TIME_BWD_WEIGHTS] += dacc_lt_now() - t0;
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

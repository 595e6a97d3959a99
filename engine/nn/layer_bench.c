/* Per-layer, per-op kernel timing over the kernel tables (layer_bench.h). */
#include "nn/layer_bench.h"
#include "nn/model_internal.h"
#include "core/threadpool.h"
#include "nn/conv_algo.h"
#include "nn/conv_ops.h"
#include "nn/model_plan.h"
#include "nn/fma_peak.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Items that are not layers of the list. */
enum { K_INPUT = 100, K_SOFTMAX, K_ADAM };
enum { OP_FWD, OP_FWD_EVAL, OP_BWD_DATA, OP_BWD_W, OP_BWD_BOTH, OP_BWD, OP_N };
static const char *const op_names[OP_N] = {"fwd", "fwd-eval", "bwd-data", "bwd-weights",
                                           "bwd-both", "bwd"};
/* a result this far from the scalar table's is a wrong kernel, not rounding
 * (F(4x4) Winograd, the loosest, is ~1e-5 on these sizes) */
#define MAX_REL_ERR 1e-3

typedef struct item {
    dacc_layer l;
    char name[32];
    int kind;      /* dacc_layer_kind or K_* */
    int relu_in;   /* a BN after a ReLU: training merges the ReLU's backward
                      into the BN's (channel_affine2_relu), so it is timed so */
    size_t count;  /* K_ADAM: parameters */
} item;

/* One item's buffers, for batch images and up to `nt` tasks. */
typedef struct bufs {
    size_t in_sz, out_sz, nw;
    float *x, *y, *dy, *dx, *w, *bias, *part, *coef, *p0;
    int32_t *idx;
    uint8_t *mask, *u8;
    double *red;
} bufs;

/* One (item, op, table) as the tasks run it. */
typedef struct bctx {
    const item *it;
    int op, batch;
    const dacc_kernels *k;
    dacc_conv_algo algo, algo_w; /* algo_w: bwd-both's backward-weights */
    int ref;                     /* the scalar reference run */
    float *packed, *ks;
    size_t ks_per_task;
    bufs *b;
} bctx;

const char *dacc_conv_algo_name(dacc_conv_algo a) {
    static const char *const names[2][7] = {
        {"direct", "?", "winograd-f2", "?", "winograd-f4", "winograd-f5", "winograd-f6"},
        {"poly-direct", "?", "poly-winograd-f2", "?", "poly-winograd-f4", "poly-winograd-f5",
         "poly-winograd-f6"}};
    const unsigned in = (unsigned)dacc_conv_inner(a);
    return in < 7 ? names[dacc_conv_is_poly(a)][in] : "?";
}

static void range(int n, int t, int nt, int *lo, int *hi) {
    *lo = (int)((long)n * t / nt);
    *hi = (int)((long)n * (t + 1) / nt);
}

static void task_conv(const bctx *c, int t, int lo, int n) {
    const dacc_layer *l = &c->it->l;
    bufs *b = c->b;
    dacc_conv_shape s = {n, l->h, l->w, l->c, l->oh, l->ow, l->oc, l->k, l->k, l->stride, l->pad, 0};
    const float *x = b->x + lo * b->in_sz, *dy = b->dy + lo * b->out_sz;
    float *ks = c->ks + (size_t)t * c->ks_per_task, *part = b->part + (size_t)t * (b->nw + l->oc);
    if (c->op == OP_FWD || c->op == OP_FWD_EVAL)
        dacc_conv_fwd(c->k, &s, c->algo, x, c->packed, b->y + lo * b->out_sz, ks);
    else if (c->op == OP_BWD_DATA)
        dacc_conv_bwd_data(c->k, &s, c->algo, dy, c->packed, b->dx + lo * b->in_sz, ks);
    else if (c->op == OP_BWD_BOTH)
        dacc_conv_bwd_both(c->k, &s, c->algo, c->algo_w, x, dy, c->packed, b->dx + lo * b->in_sz,
                           part, part + b->nw, ks);
    else
        dacc_conv_bwd_filter(c->k, &s, c->algo, x, dy, part, part + b->nw, ks);
}

static void task_layer(const bctx *c, int t, int lo, int n) {
    const dacc_layer *l = &c->it->l;
    const dacc_kernels *k = c->k;
    bufs *b = c->b;
    const float *x = b->x + lo * b->in_sz, *dy = b->dy + lo * b->out_sz;
    float *y = b->y + lo * b->out_sz, *dx = b->dx + lo * b->in_sz;
    dacc_pool_shape ps = {n, l->h, l->w, l->c, l->oh, l->ow, l->k, l->stride, l->pad};
    int32_t *idx = b->idx + lo * b->out_sz;
    size_t rows = (size_t)n * b->in_sz / (l->c ? l->c : 1);
    double *red = b->red + (size_t)t * 256;
    const float *a = b->coef, *bb = b->coef + 128, *kk = b->coef + 256;
    int fwd = c->op == OP_FWD;
    switch (c->it->kind) {
    case DACC_L_CONV: task_conv(c, t, lo, n); break;
    case DACC_L_MAXPOOL:
        if (c->op == OP_FWD_EVAL) k->maxpool_affine(&ps, x, a, bb, 1, y); /* BN folded, ReLU fused */
        else if (fwd) k->maxpool_fwd(&ps, x, y, idx);
        else k->maxpool_bwd(&ps, dy, idx, dx);
        break;
    case DACC_L_AVGPOOL: fwd ? k->avgpool_fwd(&ps, x, y) : k->avgpool_bwd(&ps, dy, dx); break;
    case DACC_L_RELU: fwd ? k->relu_fwd(n * b->in_sz, x, y) : k->relu_bwd(n * b->in_sz, x, dy, dx); break;
    case DACC_L_DROPOUT:
        k->dropout(n * b->in_sz, x, b->mask + lo * b->in_sz, 1.0f / (1.0f - l->p), y);
        break;
    case DACC_L_BN: /* the training forward's two passes; the backward's two */
        memset(red, 0, sizeof(double) * 256);
        if (fwd) {
            k->channel_moments(rows, l->c, x, kk, red, red + 128);
            k->channel_affine(rows, l->c, x, a, bb, y);
        } else {
            k->channel_dot(rows, l->c, dy, x, kk, red, red + 128);
            if (c->it->relu_in) k->channel_affine2_relu(rows, l->c, dy, x, a, bb, kk, dx);
            else k->channel_affine2(rows, l->c, dy, x, a, bb, kk, dx);
        }
        break;
    case K_INPUT:
        k->u8_normalize((size_t)n * 784, b->u8 + (size_t)lo * 784, 0.0127f, -0.4242f, y);
        break;
    case K_SOFTMAX: k->softmax((size_t)n, DACC_CLASSES, x, y); break;
    default: break;
    }
}

static void task(void *ctx, int t, int nt) {
    const bctx *c = ctx;
    if (c->it->kind == K_ADAM) {
        static const dacc_adam_args aa = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.271f, 0.002997f};
        size_t n = c->it->count, lo = n * t / nt, hi = n * (t + 1) / nt;
        bufs *b = c->b;
        c->k->adam(hi - lo, b->y + lo, b->dy + lo, b->x + lo, b->dx + lo, &aa);
        return;
    }
    int lo, hi;
    range(c->batch, t, nt, &lo, &hi);
    if (hi > lo) task_layer(c, t, lo, hi - lo);
}

/* ---- the items: every preset's layers, each (name, kind, shape) once ---- */

static int same_item(const item *a, const dacc_layer *l, const char *name, int relu) {
    return a->kind == (int)l->kind && !strncmp(a->name, name, strlen(name)) && a->l.h == l->h && a->l.c == l->c &&
           a->l.oc == l->oc && a->l.k == l->k && a->relu_in == relu;
}

static int add_model_items(const dacc_model *m, item *items, int n, int max) {
    for (int i = 0; i < m->n_layers && n < max; i++) {
        const dacc_layer *l = &m->layers[i];
        char name[28]; /* leaves room for ":max" in item.name[32] */
        dacc_model_layer_label(m, i, name, sizeof name);
        int seen = 0, relu = l->kind == DACC_L_BN && dacc_model_relu_before(m, i);
        for (int j = 0; j < n && !seen; j++) seen = same_item(&items[j], l, name, relu);
        if (seen) continue;
        items[n] = (item){*l, "", (int)l->kind, relu, 0};
        snprintf(items[n].name, sizeof items[n].name, "%s%s", name,
                 l->kind == DACC_L_MAXPOOL ? ":max" : l->kind == DACC_L_AVGPOOL ? ":avg" : "");
        n++;
    }
    return n;
}

static int build_items(item *items, int max, size_t *nparams, dacc_err *e) {
    int n = 0;
    items[n++] = (item){.name = "input", .kind = K_INPUT};
    *nparams = 0;
    for (int p = 0; p < DACC_N_PRESETS; p++) {
        dacc_variant v;
        dacc_model *m = calloc(1, sizeof *m);
        if (!m || dacc_variant_preset(dacc_preset_names[p], &v) < 0 ||
            dacc_model_init(m, &v, 1, 1, 1, e)) {
            free(m);
            return -1;
        }
        n = add_model_items(m, items, n, max - 2);
        if (m->n_params > *nparams) *nparams = m->n_params;
        dacc_model_free(m);
        free(m);
    }
    items[n++] = (item){.name = "loss", .kind = K_SOFTMAX};
    items[n++] = (item){.name = "adam", .kind = K_ADAM, .count = *nparams};
    return n;
}

static int item_ops(const item *it, int *ops) {
    int n = 0;
    switch (it->kind) {
    case DACC_L_CONV:
        ops[n++] = OP_FWD, ops[n++] = OP_FWD_EVAL, ops[n++] = OP_BWD_DATA, ops[n++] = OP_BWD_W;
        ops[n++] = OP_BWD_BOTH; /* where the engine fuses the two */
        break;
    case DACC_L_MAXPOOL: ops[n++] = OP_FWD, ops[n++] = OP_FWD_EVAL, ops[n++] = OP_BWD; break;
    case DACC_L_AVGPOOL: case DACC_L_RELU: case DACC_L_BN: ops[n++] = OP_FWD, ops[n++] = OP_BWD; break;
    default: ops[n++] = OP_FWD; break;
    }
    return n;
}

/* ---- buffers ---- */

static float *rand_floats(size_t n, float lo, float hi, uint64_t *st) {
    float *p = dacc_conv_alloc(n);
    for (size_t i = 0; p && i < n; i++) {
        *st ^= *st << 13, *st ^= *st >> 7, *st ^= *st << 17;
        p[i] = lo + (hi - lo) * (float)((*st >> 40) * (1.0 / 16777216.0));
    }
    return p;
}

static void bufs_free(bufs *b) {
    free(b->x), free(b->y), free(b->dy), free(b->dx), free(b->w), free(b->bias), free(b->part);
    free(b->coef), free(b->p0), free(b->idx), free(b->mask), free(b->u8), free(b->red);
    memset(b, 0, sizeof *b);
}

static void item_sizes(const item *it, bufs *b) {
    const dacc_layer *l = &it->l;
    b->in_sz = it->kind == K_INPUT ? 784 : it->kind == K_SOFTMAX ? DACC_CLASSES : (size_t)l->h * l->w * l->c;
    b->out_sz = it->kind == K_INPUT ? 784 : it->kind == K_SOFTMAX ? DACC_CLASSES
                                                                  : (size_t)l->oh * l->ow * l->oc;
    b->nw = it->kind == DACC_L_CONV ? (size_t)l->k * l->k * l->c * l->oc : 0;
}

/* Random inputs for `batch` images and `nt` tasks; 0 or -1. */
static int bufs_alloc(const item *it, int batch, int nt, const dacc_kernels *scalar, bufs *b) {
    uint64_t st = 0x9e3779b97f4a7c15ull;
    memset(b, 0, sizeof *b);
    item_sizes(it, b);
    size_t ni = it->kind == K_ADAM ? it->count : (size_t)batch * b->in_sz,
           no = it->kind == K_ADAM ? it->count : (size_t)batch * b->out_sz;
    b->x = rand_floats(ni, -1, 1, &st), b->dx = rand_floats(ni, 0, 0.01f, &st);
    b->y = rand_floats(no, -1, 1, &st), b->dy = rand_floats(no, -1, 1, &st);
    b->w = rand_floats(b->nw + 1, -0.3f, 0.3f, &st), b->bias = rand_floats(it->l.oc + 1, -1, 1, &st);
    b->part = dacc_conv_alloc((size_t)nt * (b->nw + it->l.oc + 1));
    b->coef = rand_floats(384, 0.5f, 1.5f, &st);
    b->p0 = dacc_conv_alloc(3 * ni + 3 * no + 1);
    b->idx = calloc(no + 1, sizeof(int32_t)), b->mask = calloc(ni + 1, 1), b->u8 = calloc(ni + 1, 1);
    b->red = calloc((size_t)nt * 256, sizeof(double));
    if (!b->x || !b->dx || !b->y || !b->dy || !b->w || !b->bias || !b->part || !b->coef || !b->p0 ||
        !b->idx || !b->mask || !b->u8 || !b->red)
        return -1;
    for (size_t i = 0; i < ni; i++) b->mask[i] = (uint8_t)(i * 2654435761u >> 7 & 1), b->u8[i] = (uint8_t)(i * 37);
    if (it->kind == DACC_L_MAXPOOL) { /* the backward's argmax */
        const dacc_layer *l = &it->l;
        dacc_pool_shape ps = {batch, l->h, l->w, l->c, l->oh, l->ow, l->k, l->stride, l->pad};
        scalar->maxpool_fwd(&ps, b->x, b->y, b->idx);
    }
    /* the state Adam updates, restored before each checked call */
    memcpy(b->p0, b->x, ni * 4), memcpy(b->p0 + ni, b->dx, ni * 4), memcpy(b->p0 + 2 * ni, b->y, no * 4);
    return 0;
}

static void adam_restore(const item *it, bufs *b) {
    if (it->kind != K_ADAM) return;
    size_t n = it->count;
    memcpy(b->x, b->p0, n * 4), memcpy(b->dx, b->p0 + n, n * 4), memcpy(b->y, b->p0 + 2 * n, n * 4);
}

/* The floats an op writes (checked against the scalar table's). */
static const float *op_output(const item *it, int op, const bufs *b, int batch, size_t *n) {
    size_t ni = it->kind == K_ADAM ? it->count : (size_t)batch * b->in_sz,
           no = it->kind == K_ADAM ? it->count : (size_t)batch * b->out_sz;
    if (op == OP_BWD_W) return *n = b->nw + it->l.oc, b->part;
    if (op == OP_BWD_DATA || op == OP_BWD || op == OP_BWD_BOTH) return *n = ni, b->dx;
    return *n = no, b->y;
}

/* ---- one (item, op, table) ---- */

/* bwd-both's query: the fused op's needs, or (the scalar reference run)
 * the two ops' run apart; 1 where the table does not fuse. */
static int both_query(const bctx *c, const dacc_conv_shape *s, dacc_conv_need *need) {
    if (!dacc_conv_bwd_both_query(c->k, s, c->algo, c->algo_w, need)) return 0;
    if (!c->ref) return 1;
    dacc_conv_need f;
    if (dacc_conv_bwd_data_query(c->k, s, c->algo, need) ||
        dacc_conv_bwd_filter_query(c->k, s, c->algo_w, &f))
        return -1;
    if (f.scratch_size > need->scratch_size) need->scratch_size = f.scratch_size;
    return 0;
}

/* Chooses the algorithm as the engine does (fwd as training, fwd-eval as
 * evaluation: they differ where eval runs F(6x6)),
 * packs the weights and allocates the kernels' scratch for nt tasks;
 * 1: the table has no such op here (bwd-both where it does not fuse). */
static int prepare(bctx *c, int nt) {
    const item *it = c->it;
    c->algo = DACC_CONV_DIRECT, c->packed = c->ks = NULL, c->ks_per_task = 0;
    if (it->kind != DACC_L_CONV) return 0;
    const dacc_layer *l = &it->l;
    dacc_conv_shape s = {c->batch, l->h, l->w, l->c, l->oh, l->ow, l->oc, l->k, l->k, l->stride, l->pad, 0};
    c->algo = c->op == OP_FWD        ? dacc_conv_fwd_algo(c->k, &s, 0)
            : c->op == OP_FWD_EVAL ? dacc_conv_eval_fwd_algo(c->k, &s)
            : c->op == OP_BWD_DATA || c->op == OP_BWD_BOTH ? dacc_conv_bwd_data_algo(c->k, &s, 0)
                                   : dacc_conv_bwd_filter_algo(c->k, &s, 0);
    c->algo_w = c->op == OP_BWD_BOTH ? dacc_conv_bwd_filter_algo(c->k, &s, 0) : DACC_CONV_DIRECT;
    dacc_conv_need need;
    const int rc = c->op == OP_BWD_W      ? dacc_conv_bwd_filter_query(c->k, &s, c->algo, &need)
                 : c->op == OP_BWD_DATA ? dacc_conv_bwd_data_query(c->k, &s, c->algo, &need)
                 : c->op == OP_BWD_BOTH ? both_query(c, &s, &need)
                                        : dacc_conv_fwd_query(c->k, &s, c->algo, &need);
    if (rc) return rc > 0 ? 1 : -1; /* scratch for s->n images covers fewer */
    c->ks_per_task = dacc_conv_lines(need.scratch_size);
    c->packed = dacc_conv_alloc(need.packed_size);
    c->ks = dacc_conv_alloc(c->ks_per_task * (size_t)nt);
    if (!c->packed || !c->ks) return -1;
    if (c->op == OP_FWD || c->op == OP_FWD_EVAL)
        dacc_conv_fwd_pack(c->k, &s, c->algo, c->b->w, c->b->bias, c->packed, c->ks);
    if (c->op == OP_BWD_DATA || c->op == OP_BWD_BOTH)
        dacc_conv_bwd_data_pack(c->k, &s, c->algo, c->b->w, c->packed, c->ks);
    return 0;
}

static void unprepare(bctx *c) {
    free(c->packed), free(c->ks);
    c->packed = c->ks = NULL;
}

/* One checked call on one task (the whole batch). */
static void run_once(bctx *c) {
    adam_restore(c->it, c->b);
    task(c, 0, 1);
}

static double rel_err(const float *a, const float *r, size_t n) {
    double md = 0, mr = 1e-30;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - r[i]);
        if (!(d <= md)) md = d; /* NaN propagates */
        if (fabs(r[i]) > mr) mr = fabs(r[i]);
    }
    return md / mr;
}

/* Median and fastest seconds per call over reps samples of about sample_s
 * each, after one warm-up sample. */
static void time_op(bctx *c, dacc_pool *pool, int nt, const dacc_bench_opts *o, double *med, double *best) {
    double t0 = dacc_bench_now();
    dacc_pool_run(pool, task, c, nt);
    double one = dacc_bench_now() - t0;
    long iters = (long)(o->sample_s / (one > 1e-7 ? one : 1e-7));
    if (iters < 1) iters = 1;
    double s[64];
    int reps = o->reps < 64 ? o->reps : 64;
    for (int r = -1; r < reps; r++) {
        t0 = dacc_bench_now();
        for (long i = 0; i < iters; i++) dacc_pool_run(pool, task, c, nt);
        if (r >= 0) s[r] = (dacc_bench_now() - t0) / iters;
    }
    dacc_bench_sort(s, reps);
    *med = s[reps / 2], *best = s[0];
}

static void row_work(const item *it, int op, const bufs *b, int batch, dacc_bench_row *r) {
    const dacc_layer *l = &it->l;
    size_t ni = (size_t)batch * b->in_sz, no = (size_t)batch * b->out_sz;
    r->flops = r->bytes = 0;
    if (it->kind == DACC_L_CONV) {
        r->flops = 2.0 * no * l->c * l->k * l->k * (op == OP_BWD_BOTH ? 2 : 1);
        snprintf(r->shape, sizeof r->shape, "%dx%dx%dx%d>%d k%d/%d", batch, l->h, l->w, l->c, l->oc, l->k,
                 l->stride);
        return;
    }
    if (it->kind == K_ADAM) {
        r->bytes = 28.0 * it->count; /* p, g, m, v read; p, m, v written */
        snprintf(r->shape, sizeof r->shape, "%zu params", it->count);
        return;
    }
    /* bytes each op must move at least: its inputs read and outputs written once */
    r->bytes = it->kind == K_INPUT ? 5.0 * ni : 4.0 * (ni + no) + (op == OP_BWD ? 4.0 * no : 0);
    if (it->kind == DACC_L_BN) r->bytes = op == OP_FWD ? 4.0 * 4 * ni : 4.0 * 5 * ni;
    if (it->kind == K_SOFTMAX) {
        snprintf(r->shape, sizeof r->shape, "%dx%d", batch, DACC_CLASSES);
        return;
    }
    snprintf(r->shape, sizeof r->shape, "%dx%dx%dx%d", batch, it->kind == K_INPUT ? 28 : l->h,
             it->kind == K_INPUT ? 28 : l->w, it->kind == K_INPUT ? 1 : l->c);
}

typedef struct bench_run {
    const dacc_bench_opts *o;
    dacc_bench_emit *emit;
    void *user;
    dacc_pool *pool;
    int nt;
    dacc_kernels scalar;
} bench_run;

/* Whether a selected table runs layer it's two backward ops in one pass. */
static int any_table_fuses(const dacc_bench_opts *o, const item *it) {
    const dacc_layer *l = &it->l;
    dacc_conv_shape s = {o->batch, l->h, l->w, l->c, l->oh, l->ow, l->oc, l->k, l->k, l->stride, l->pad, 0};
    for (int isa = 0; isa < DACC_ISA_COUNT; isa++) {
        dacc_kernels k;
        dacc_conv_need need;
        if (!(o->isas >> isa & 1) || dacc_kernels_for_isa((dacc_isa)isa, &k)) continue;
        if (!dacc_conv_bwd_both_query(&k, &s, dacc_conv_bwd_data_algo(&k, &s, 0),
                                      dacc_conv_bwd_filter_algo(&k, &s, 0), &need))
            return 1;
    }
    return 0;
}

/* Every selected table on one op of one item: checked, then timed. */
static int bench_op(bench_run *br, const item *it, int op, bufs *b, dacc_err *e) {
    const dacc_bench_opts *o = br->o;
    bctx c = {it, op, o->batch, &br->scalar, DACC_CONV_DIRECT, DACC_CONV_DIRECT, 1, NULL, NULL, 0, b};
    size_t n;
    if (op == OP_BWD_BOTH && !any_table_fuses(o, it)) return 0;
    if (prepare(&c, br->nt)) return unprepare(&c), dacc_fail(e, "%s %s: out of memory", it->name, op_names[op]);
    run_once(&c);
    unprepare(&c);
    const float *out = op_output(it, op, b, o->batch, &n);
    /* bwd-both: dx, then the weight gradients (checked too) */
    const size_t nw = op == OP_BWD_BOTH ? b->nw + it->l.oc : 0;
    float *ref = malloc((n + nw + 1) * sizeof *ref);
    if (!ref) return dacc_fail(e, "out of memory");
    memcpy(ref, out, n * sizeof *ref);
    if (nw) memcpy(ref + n, b->part, nw * sizeof *ref);
    int rc = 0;
    for (int isa = 0; isa < DACC_ISA_COUNT && !rc; isa++) {
        dacc_kernels k;
        if (!(o->isas >> isa & 1) || dacc_kernels_for_isa((dacc_isa)isa, &k)) continue;
        c.k = &k, c.ref = 0;
        const int prc = prepare(&c, br->nt);
        if (prc) {
            unprepare(&c);
            if (prc > 0) continue; /* not fused with this table */
            rc = dacc_fail(e, "%s %s: out of memory", it->name, op_names[op]);
            break;
        }
        dacc_bench_row r;
        memset(&r, 0, sizeof r);
        snprintf(r.layer, sizeof r.layer, "%s", it->name);
        snprintf(r.op, sizeof r.op, "%s", it->kind == K_ADAM ? "step" : op_names[op]);
        r.isa = (dacc_isa)isa;
        r.algo = it->kind == DACC_L_CONV ? dacc_conv_algo_name(c.algo) : "-";
        r.threads = br->nt;
        run_once(&c);
        r.rel_err = rel_err(op_output(it, op, b, o->batch, &n), ref, n);
        if (nw) {
            const double ew = rel_err(b->part, ref + n, nw);
            if (!(ew <= r.rel_err)) r.rel_err = ew;
        }
        r.ok = r.rel_err <= MAX_REL_ERR;
        row_work(it, op, b, o->batch, &r);
        if (r.ok) time_op(&c, br->pool, br->nt, o, &r.med_s, &r.best_s);
        unprepare(&c);
        if (br->emit(br->user, &r)) rc = dacc_fail(e, "stopped");
    }
    free(ref);
    return rc;
}

static int wanted(const dacc_bench_opts *o, const item *it) {
    if (o->conv_only && it->kind != DACC_L_CONV) return 0;
    return !o->layer || strstr(it->name, o->layer);
}

int dacc_layer_bench(const dacc_bench_opts *o, dacc_bench_emit *emit, void *user, dacc_err *e) {
    enum { MAX_ITEMS = 6 * DACC_MAX_LAYERS + 3 };
    item *items = calloc(MAX_ITEMS, sizeof *items);
    bench_run br = {o, emit, user, NULL, o->threads < o->batch ? o->threads : o->batch, {0}};
    size_t np;
    int n = items ? build_items(items, MAX_ITEMS, &np, e) : dacc_fail(e, "out of memory");
    int rc = n < 0 ? -1 : 0, any = 0;
    if (!rc && dacc_kernels_for_isa(DACC_ISA_SCALAR, &br.scalar)) rc = dacc_fail(e, "no scalar kernel table");
    if (!rc && !(br.pool = dacc_pool_create(o->threads))) rc = dacc_fail(e, "cannot start %d threads", o->threads);
    for (int i = 0; !rc && i < n; i++) {
        if (!wanted(o, &items[i])) continue;
        any = 1;
        int nt = items[i].kind == K_ADAM ? o->threads : br.nt;
        bufs b;
        if (bufs_alloc(&items[i], o->batch, nt, &br.scalar, &b)) {
            bufs_free(&b);
            rc = dacc_fail(e, "%s: out of memory for batch %d", items[i].name, o->batch);
            break;
        }
        int ops[OP_N], nops = item_ops(&items[i], ops), save = br.nt;
        br.nt = nt;
        for (int j = 0; j < nops && !rc; j++) rc = bench_op(&br, &items[i], ops[j], &b, e);
        br.nt = save;
        bufs_free(&b);
    }
    if (!rc && !any) rc = dacc_fail(e, "no layer matches '%s'", o->layer ? o->layer : "");
    if (br.pool) dacc_pool_destroy(br.pool);
    free(items);
    return rc;
}

/* Every op of the kernel table, every implementation this CPU runs, at the
 * network's sizes (batch 64; convolutions batch 16 to keep the scalar
 * reference quick). Each kernel is first checked against the scalar kernel
 * on the same inputs (refused if it disagrees), warmed up, then timed over
 * repeats: the median time per call, GB/s for the memory-bound ops (bytes
 * the op must read + write, once each), GFLOP/s for convolutions, and the
 * speed-up over scalar.
 *
 * usage: bench_kernels [op-substring]     e.g. bench_kernels pool */
#include "dacc/kernels.h"
#include "nn/conv_algo.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static float frand(float lo, float hi) {
    uint64_t x = rng_state;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    rng_state = x;
    return lo + (hi - lo) * (float)((x >> 40) * (1.0 / 16777216.0));
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}
static float *frandv(size_t n, float lo, float hi) {
    float *p = xmalloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = frand(lo, hi);
    return p;
}

/* One benchmark case: all buffers any op may need. */
typedef struct bcase {
    dacc_op op;
    char label[64];
    size_t n, rows;
    int c, k;
    dacc_pool_shape ps;
    dacc_conv_shape cs;
    float *x, *y, *dy, *dx, *w, *b, *a, *kk, *mean, *g, *m, *v, *p0, *m0, *v0;
    int32_t *idx;
    uint8_t *mask, *u8;
    double *o1, *o2;
    size_t nout;        /* floats in the checked output */
    double bytes, flops;
} bcase;

/* The table of the ISA whose kernel fn is (the conv ops run through their
 * ISA's query and pack, with the algorithm the engine picks for eval; the
 * time includes packing the weights and allocating scratch). */
static dacc_kernels table_of(void (*fn)(void)) {
    int n;
    const dacc_kernel_impl *all = dacc_kernel_impls(&n);
    dacc_kernels k;
    memset(&k, 0, sizeof k);
    for (int i = 0; i < n; i++)
        if (all[i].fn == fn) dacc_kernels_for_isa(all[i].isa, &k);
    return k;
}

static void call_conv(bcase *c, void (*fn)(void)) {
    static void (*last)(void);
    static dacc_kernels k;
    if (fn != last) k = table_of(fn), last = fn;
    int rc = 0;
    switch (c->op) {
    case DACC_OP_conv_fwd:
        rc = dacc_conv_fwd_once(&k, &c->cs, dacc_conv_fwd_algo(&k, &c->cs, 0), c->x, c->w, c->b, c->y);
        break;
    case DACC_OP_conv_bwd_data:
        rc = dacc_conv_bwd_data_once(&k, &c->cs, dacc_conv_bwd_data_algo(&k, &c->cs, 0), c->dy, c->w,
                                     c->y);
        break;
    default: rc = dacc_conv_bwd_filter_once(&k, &c->cs, c->x, c->dy, c->y, c->b); break;
    }
    if (rc) {
        fprintf(stderr, "bench_kernels: out of memory\n");
        exit(2);
    }
}

static void call(bcase *c, void (*fn)(void)) {
    static const dacc_adam_args aa = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.271f, 0.002997f};
    switch (c->op) {
    case DACC_OP_conv_fwd:
    case DACC_OP_conv_bwd_data:
    case DACC_OP_conv_bwd_filter: call_conv(c, fn); break;
    case DACC_OP_maxpool_fwd: ((dacc_maxpool_fwd_t *)fn)(&c->ps, c->x, c->y, c->idx); break;
    case DACC_OP_maxpool_bwd: ((dacc_maxpool_bwd_t *)fn)(&c->ps, c->dy, c->idx, c->y); break;
    case DACC_OP_maxpool_affine:
        ((dacc_maxpool_affine_t *)fn)(&c->ps, c->x, c->mean, c->mean + c->ps.c, 1, c->y);
        break;
    case DACC_OP_avgpool_fwd: ((dacc_avgpool_fwd_t *)fn)(&c->ps, c->x, c->y); break;
    case DACC_OP_avgpool_bwd: ((dacc_avgpool_bwd_t *)fn)(&c->ps, c->dy, c->y); break;
    case DACC_OP_relu_fwd: ((dacc_relu_fwd_t *)fn)(c->n, c->x, c->y); break;
    case DACC_OP_relu_bwd: ((dacc_relu_bwd_t *)fn)(c->n, c->x, c->dy, c->y); break;
    case DACC_OP_channel_sum: ((dacc_channel_sum_t *)fn)(c->rows, c->c, c->x, c->o1); break;
    case DACC_OP_channel_sqdev: ((dacc_channel_sqdev_t *)fn)(c->rows, c->c, c->x, c->mean, c->o1); break;
    case DACC_OP_channel_dot:
        ((dacc_channel_dot_t *)fn)(c->rows, c->c, c->dy, c->x, c->mean, c->o1, c->o2);
        break;
    case DACC_OP_channel_affine: ((dacc_channel_affine_t *)fn)(c->rows, c->c, c->x, c->a, c->b, c->y); break;
    case DACC_OP_channel_affine2:
        ((dacc_channel_affine2_t *)fn)(c->rows, c->c, c->x, c->dy, c->a, c->b, c->kk, c->y);
        break;
    case DACC_OP_dropout: ((dacc_dropout_t *)fn)(c->n, c->x, c->mask, 2.0f, c->y); break;
    case DACC_OP_softmax: ((dacc_softmax_t *)fn)(c->rows, c->k, c->x, c->y); break;
    case DACC_OP_adam: ((dacc_adam_t *)fn)(c->n, c->y, c->g, c->m, c->v, &aa); break;
    case DACC_OP_u8_normalize: ((dacc_u8_normalize_t *)fn)(c->n, c->u8, 0.0127f, -0.4242f, c->y); break;
    default: break;
    }
}

/* Reset state that a call accumulates into (reductions add; Adam updates). */
static void reset(bcase *c) {
    if (c->o1) memset(c->o1, 0, sizeof(double) * (size_t)c->c);
    if (c->o2) memset(c->o2, 0, sizeof(double) * (size_t)c->c);
    if (c->op == DACC_OP_adam) {
        memcpy(c->y, c->p0, c->n * 4), memcpy(c->m, c->m0, c->n * 4), memcpy(c->v, c->v0, c->n * 4);
    }
}

static const char *prefix(dacc_op op) { return dacc_op_name(op); }

static bcase *new_case(dacc_op op, const char *label) {
    bcase *c = calloc(1, sizeof *c);
    c->op = op;
    snprintf(c->label, sizeof c->label, "%s", label);
    return c;
}

static bcase *ew_case(dacc_op op, size_t n, const char *what) {
    char l[64];
    snprintf(l, sizeof l, "n=%zu (%s)", n, what);
    bcase *c = new_case(op, l);
    c->n = n, c->nout = n;
    c->x = frandv(n, -1, 1), c->dy = frandv(n, -1, 1), c->y = frandv(n, 0, 1);
    if (op == DACC_OP_relu_fwd) c->bytes = 8.0 * n;
    if (op == DACC_OP_relu_bwd) c->bytes = 12.0 * n;
    if (op == DACC_OP_dropout) {
        c->mask = xmalloc(n);
        for (size_t i = 0; i < n; i++) c->mask[i] = frand(0, 1) < 0.5f;
        c->bytes = 9.0 * n;
    }
    if (op == DACC_OP_u8_normalize) {
        c->u8 = xmalloc(n);
        for (size_t i = 0; i < n; i++) c->u8[i] = (uint8_t)frand(0, 256);
        c->bytes = 5.0 * n;
    }
    if (op == DACC_OP_adam) {
        c->g = frandv(n, -1, 1), c->m = frandv(n, -0.1f, 0.1f), c->v = frandv(n, 0, 0.01f);
        c->p0 = xmalloc(n * 4), c->m0 = xmalloc(n * 4), c->v0 = xmalloc(n * 4);
        memcpy(c->p0, c->y, n * 4), memcpy(c->m0, c->m, n * 4), memcpy(c->v0, c->v, n * 4);
        c->bytes = 28.0 * n;
    }
    return c;
}

static bcase *ch_case(dacc_op op, size_t rows, int ch, const char *what) {
    char l[64];
    snprintf(l, sizeof l, "%zux%d (%s)", rows, ch, what);
    bcase *c = new_case(op, l);
    size_t n = rows * ch;
    c->rows = rows, c->c = ch;
    c->x = frandv(n, -1, 2), c->dy = frandv(n, -1, 1), c->y = frandv(n, 0, 1);
    c->a = frandv(ch, -2, 2), c->b = frandv(ch, -1, 1), c->kk = frandv(ch, -1, 1), c->mean = frandv(ch, 0, 1);
    if (op == DACC_OP_channel_sum || op == DACC_OP_channel_sqdev || op == DACC_OP_channel_dot) {
        c->o1 = calloc(ch, sizeof(double));
        if (op == DACC_OP_channel_dot) c->o2 = calloc(ch, sizeof(double));
        c->bytes = (op == DACC_OP_channel_dot ? 8.0 : 4.0) * n;
    } else {
        c->nout = n;
        c->bytes = (op == DACC_OP_channel_affine ? 8.0 : 12.0) * n;
    }
    return c;
}

static bcase *pool_case(dacc_op op, int n, int ih, int ch, const char *what) {
    char l[64];
    snprintf(l, sizeof l, "%dx%dx%dx%d k5/2 (%s)", n, ih, ih, ch, what);
    bcase *c = new_case(op, l);
    dacc_pool_shape s = {n, ih, ih, ch, 0, 0, 5, 2, 2};
    s.oh = s.ow = (ih + 4 - 5) / 2 + 1;
    c->ps = s;
    size_t ni = (size_t)n * ih * ih * ch, no = (size_t)n * s.oh * s.ow * ch;
    c->x = frandv(ni, -1, 1), c->dy = frandv(no, -1, 1);
    c->y = xmalloc(ni * 4), c->idx = xmalloc(no * 4);
    int cnt;
    const dacc_kernel_impl *all = dacc_kernel_impls(&cnt);
    for (int i = 0; i < cnt; i++) /* idx for the backward pass */
        if (all[i].op == DACC_OP_maxpool_fwd && all[i].isa == DACC_ISA_SCALAR)
            ((dacc_maxpool_fwd_t *)all[i].fn)(&s, c->x, c->y, c->idx);
    c->mean = frandv(2 * (size_t)ch, -1, 1); /* maxpool_affine's a and b */
    int fwd = op == DACC_OP_maxpool_fwd || op == DACC_OP_avgpool_fwd || op == DACC_OP_maxpool_affine;
    c->nout = fwd ? no : ni;
    c->bytes = 4.0 * (ni + no) + (op == DACC_OP_maxpool_fwd || op == DACC_OP_maxpool_bwd ? 4.0 * no : 0);
    return c;
}

static bcase *conv_case(dacc_op op, int n, int ih, int ic, int oc, int k, const char *what) {
    char l[64];
    snprintf(l, sizeof l, "%dx%dx%dx%d->%d k%d (%s)", n, ih, ih, ic, oc, k, what);
    bcase *c = new_case(op, l);
    dacc_conv_shape s = {n, ih, ih, ic, ih - k + 1, ih - k + 1, oc, k, k, 1, 0, 0};
    c->cs = s;
    size_t nx = (size_t)n * ih * ih * ic, ny = (size_t)n * s.oh * s.ow * oc, nw = (size_t)k * k * ic * oc;
    c->x = frandv(nx, -1, 1), c->w = frandv(nw, -1, 1), c->b = frandv(oc, -1, 1), c->dy = frandv(ny, -1, 1);
    size_t out = op == DACC_OP_conv_fwd ? ny : op == DACC_OP_conv_bwd_data ? nx : nw;
    c->y = xmalloc(out * 4);
    c->nout = out;
    c->flops = 2.0 * ny * k * k * ic;
    return c;
}

static int cmp_median(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median seconds per call: samples of `inner` calls each (~2 ms), >= 7
 * samples and ~0.2 s in all. */
static double time_fn(bcase *c, void (*fn)(void)) {
    call(c, fn); /* warm-up */
    double t0 = now();
    call(c, fn);
    double one = now() - t0;
    int inner = one > 2e-3 ? 1 : (int)(2e-3 / (one > 1e-8 ? one : 1e-8)) + 1;
    double samples[64];
    int ns = 0;
    double start = now();
    while (ns < 64 && (ns < 7 || now() - start < 0.2)) {
        double s = now();
        for (int i = 0; i < inner; i++) call(c, fn);
        samples[ns++] = (now() - s) / inner;
    }
    qsort(samples, ns, sizeof samples[0], cmp_median);
    return samples[ns / 2];
}

/* Output of a call: floats in y (or the double sums). Returns 0 if it
 * matches the reference within a loose bound (test_kernels is the judge;
 * this only refuses to time a kernel that is plainly wrong). */
static int check(bcase *c, const float *refy, const double *ref1, const double *ref2, const char *name) {
    for (size_t i = 0; i < c->nout; i++)
        if (!(fabsf(refy[i] - c->y[i]) <= 1e-3f * (1.0f + fabsf(refy[i])))) {
            fprintf(stderr, "%s: output %zu differs from scalar (%g vs %g): not timed\n", name, i,
                    c->y[i], refy[i]);
            return -1;
        }
    for (int j = 0; c->o1 && j < c->c; j++)
        if (fabs(ref1[j] - c->o1[j]) > 1e-4 * (1 + fabs(ref1[j])) ||
            (c->o2 && fabs(ref2[j] - c->o2[j]) > 1e-4 * (1 + fabs(ref2[j])))) {
            fprintf(stderr, "%s: channel %d differs from scalar: not timed\n", name, j);
            return -1;
        }
    return 0;
}

static void run_case(bcase *c) {
    int cnt;
    const dacc_kernel_impl *all = dacc_kernel_impls(&cnt);
    const dacc_kernel_impl *ref = NULL;
    for (int i = 0; i < cnt; i++)
        if (all[i].op == c->op && all[i].isa == DACC_ISA_SCALAR) ref = &all[i];
    if (!ref) return;
    reset(c);
    call(c, ref->fn);
    float *refy = xmalloc(c->nout * 4 + 4);
    memcpy(refy, c->y, c->nout * 4);
    double r1[256] = {0}, r2[256] = {0};
    if (c->o1) memcpy(r1, c->o1, sizeof(double) * c->c);
    if (c->o2) memcpy(r2, c->o2, sizeof(double) * c->c);
    double t_scalar = 0;
    /* scalar first so that the speed-up column has its baseline */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < cnt; i++) {
            const dacc_kernel_impl *im = &all[i];
            if (im->op != c->op || (pass == 0) != (im->isa == DACC_ISA_SCALAR)) continue;
            if (!dacc_cpu_supports(im->isa)) continue;
            reset(c);
            call(c, im->fn);
            if (check(c, refy, r1, r2, im->name)) continue;
            double t = time_fn(c, im->fn);
            if (pass == 0) t_scalar = t;
            char rate[32] = "";
            if (c->flops > 0) snprintf(rate, sizeof rate, "%8.1f GFLOP/s", c->flops / t * 1e-9);
            else if (c->bytes > 0) snprintf(rate, sizeof rate, "%8.1f GB/s", c->bytes / t * 1e-9);
            printf("| %-16s | %-30s | %-34s | %10.1f | %-17s | %6.1fx |\n", prefix(c->op), c->label,
                   im->name, t * 1e6, rate, t_scalar / t);
            fflush(stdout);
        }
    free(refy);
}

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : NULL;
    printf("cpu: %s\n\n", dacc_cpu_description());
    printf("| %-16s | %-30s | %-34s | %10s | %-17s | %7s |\n", "op", "size", "kernel", "median us",
           "rate", "vs scalar");
    printf("|---|---|---|---:|---:|---:|\n");
    const size_t act = (size_t)64 * 24 * 24 * 32; /* conv32_2's output, batch 64 */
    bcase *cases[64];
    int nc = 0;
    cases[nc++] = ew_case(DACC_OP_relu_fwd, act, "conv32_2 out");
    cases[nc++] = ew_case(DACC_OP_relu_bwd, act, "conv32_2 out");
    cases[nc++] = ew_case(DACC_OP_dropout, act, "conv32_2 out");
    cases[nc++] = ew_case(DACC_OP_dropout, (size_t)64 * 128, "conv128 out");
    cases[nc++] = ew_case(DACC_OP_u8_normalize, (size_t)64 * 784, "a batch");
    cases[nc++] = ew_case(DACC_OP_adam, 197482, "all parameters");
    static const dacc_op chops[] = {DACC_OP_channel_sum, DACC_OP_channel_sqdev, DACC_OP_channel_dot,
                                    DACC_OP_channel_affine, DACC_OP_channel_affine2};
    for (int i = 0; i < 5; i++) {
        cases[nc++] = ch_case(chops[i], (size_t)64 * 24 * 24, 32, "conv32_2 BN");
        cases[nc++] = ch_case(chops[i], (size_t)64 * 8 * 8, 64, "conv64_2 BN");
    }
    static const dacc_op pops[] = {DACC_OP_maxpool_fwd, DACC_OP_maxpool_bwd, DACC_OP_maxpool_affine,
                                   DACC_OP_avgpool_fwd, DACC_OP_avgpool_bwd};
    for (int i = 0; i < 5; i++) {
        cases[nc++] = pool_case(pops[i], 64, 24, 32, "pool_1");
        cases[nc++] = pool_case(pops[i], 64, 8, 64, "pool_2");
    }
    bcase *sm = new_case(DACC_OP_softmax, "64x10 (logits)");
    sm->rows = 64, sm->k = 10, sm->nout = 640, sm->x = frandv(640, -8, 8), sm->y = xmalloc(640 * 4);
    sm->bytes = 8.0 * 640;
    cases[nc++] = sm;
    static const dacc_op cops[] = {DACC_OP_conv_fwd, DACC_OP_conv_bwd_data, DACC_OP_conv_bwd_filter};
    for (int i = 0; i < 3; i++) {
        cases[nc++] = conv_case(cops[i], 16, 26, 32, 32, 3, "conv32_2");
        cases[nc++] = conv_case(cops[i], 16, 10, 64, 64, 3, "conv64_2");
    }
    for (int i = 0; i < nc; i++) {
        bcase *c = cases[i];
        if (filter && !strstr(dacc_op_name(c->op), filter)) continue;
        run_case(c);
    }
    return 0;
}

/* Convolution kernels of every ISA on the network's layer shapes: forward,
 * backward-data and backward-weights. For each one it first checks the
 * result against the scalar reference, then warms up, repeats, and prints
 * the median time, GFLOP/s and the fraction of this machine's FMA peak for
 * that ISA (bench_peak.h: the best run seen in the process, 15 at the start
 * and 7 more before each row; a ceiling, so the best run is the estimate). It prints the best
 * sample too: on a shared machine the median mostly measures the neighbours. Single thread, then 2 threads each
 * running half of the batch (as the engine does; for backward-weights each
 * thread writes its own dw, the sum is not timed).
 *
 * FLOPs are 2 x (n * oh * ow * oc * ic * kh * kw), the full window even
 * where padding makes taps zero (the ConvPool layers), the usual convention.
 * The weights are packed once before timing, for the algorithm the engine
 * chooses for eval (engine/nn/conv_algo.c); packing is not timed.
 *
 * usage: bench_conv [-n batch] [-r repeats] [-t threads(1|2|12)] [-l layer] [-i isa]
 *   defaults: -n 32 -r 9 -t 12 (both), every layer, every supported ISA */
#include "bench_peak.h"
#include "dacc/kernels.h"
#include "nn/conv_algo.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct layer {
    const char *name;
    int ih, ic, oc, k, stride, pad;
} layer;

static const layer layers[] = {
    {"conv32_1", 28, 1, 32, 3, 1, 0},  {"conv32_2", 26, 32, 32, 3, 1, 0},
    {"conv64_1", 12, 32, 64, 3, 1, 0}, {"conv64_2", 10, 64, 64, 3, 1, 0},
    {"conv128", 4, 64, 128, 4, 1, 0},  {"fc", 1, 128, 10, 1, 1, 0},
    {"pool_1", 24, 32, 32, 5, 2, 2},   {"pool_2", 8, 64, 64, 5, 2, 2},
};

enum { OP_FWD, OP_BWD_DATA, OP_BWD_FILTER, OP_N };
static const char *const op_names[OP_N] = {"fwd", "bwd-data", "bwd-filter"};

typedef struct buffers {
    dacc_conv_shape s;
    float *x, *w, *b, *dy, *y, *dx, *dw, *db;
} buffers;

typedef struct call {
    const dacc_kernels *k;
    int op;
    buffers *buf;
    int img0, nimg; /* the images this thread runs */
    float *dw, *db; /* this thread's weight gradients */
    dacc_conv_algo algo;
    const float *packed; /* the op's packed weights (fwd, bwd-data) */
    float *scratch;      /* this thread's */
} call;

static void run_call(const call *c) {
    dacc_conv_shape s = c->buf->s;
    s.n = c->nimg;
    const size_t xo = (size_t)c->img0 * s.ih * s.iw * s.ic, yo = (size_t)c->img0 * s.oh * s.ow * s.oc;
    const buffers *b = c->buf;
    switch (c->op) {
    case OP_FWD: c->k->conv_fwd(&s, c->algo, b->x + xo, c->packed, b->y + yo, c->scratch); break;
    case OP_BWD_DATA:
        c->k->conv_bwd_data(&s, c->algo, b->dy + yo, c->packed, b->dx + xo, c->scratch);
        break;
    default: c->k->conv_bwd_filter(&s, b->x + xo, b->dy + yo, c->dw, c->db, c->scratch); break;
    }
}

/* The op's algorithm, packed weights and the scratch of any call with up to
 * s->n images (*scratch_floats); NULL when memory is short. */
static float *prepare(const dacc_kernels *k, int op, const buffers *b, dacc_conv_algo *algo,
                      size_t *scratch_floats) {
    const dacc_conv_shape *s = &b->s;
    dacc_conv_query_t *q = op == OP_FWD ? k->conv_fwd_query
                         : op == OP_BWD_DATA ? k->conv_bwd_data_query : k->conv_bwd_filter_query;
    *algo = op == OP_FWD ? dacc_conv_fwd_algo(k, s, 0)
          : op == OP_BWD_DATA ? dacc_conv_bwd_data_algo(k, s, 0) : DACC_CONV_DIRECT;
    dacc_conv_need need;
    *scratch_floats = 0;
    for (int n = 1; n <= s->n; n++) {
        dacc_conv_shape sn = *s;
        sn.n = n;
        q(&sn, *algo, &need);
        if (need.scratch_size > *scratch_floats) *scratch_floats = need.scratch_size;
    }
    float *packed = dacc_conv_alloc(need.packed_size);
    if (packed && op == OP_FWD) k->conv_fwd_pack(s, *algo, b->w, b->b, packed);
    if (packed && op == OP_BWD_DATA) k->conv_bwd_data_pack(s, *algo, b->w, packed);
    return packed;
}

typedef struct thread_job {
    call c;
    long iters;
} thread_job;

static void *thread_main(void *p) {
    thread_job *j = p;
    for (long i = 0; i < j->iters; i++) run_call(&j->c);
    return NULL;
}

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* Wall time of `iters` calls on each of `threads` threads; *cpu (if not
 * NULL) gets the process CPU time they used, which leaves out the time other
 * processes held the cores. */
static double time_calls(call *cs, int threads, long iters, double *cpu) {
    thread_job jobs[2];
    pthread_t th[2];
    double c0 = cpu_now(), t0 = bench_now();
    for (int t = 0; t < threads; t++) {
        jobs[t] = (thread_job){cs[t], iters};
        if (t == threads - 1)
            thread_main(&jobs[t]);
        else
            pthread_create(&th[t], NULL, thread_main, &jobs[t]);
    }
    for (int t = 0; t < threads - 1; t++) pthread_join(th[t], NULL);
    double wall = bench_now() - t0;
    if (cpu) *cpu = cpu_now() - c0;
    return wall;
}

static float *rand_buf(size_t n, uint64_t *st) {
    float *p = aligned_alloc(64, ((n ? n : 1) * sizeof(float) + 63) / 64 * 64);
    for (size_t i = 0; i < n; i++) {
        *st ^= *st << 13; *st ^= *st >> 7; *st ^= *st << 17;
        p[i] = (float)((*st >> 40) * (2.0 / 16777216.0) - 1.0);
    }
    return p;
}

/* max |a-r| / max(1e-30, max |r|): a loose sanity check (the real test is
 * tests/test_conv_kernels.c). */
static double rel_err(const float *a, const float *r, size_t n) {
    double md = 0, mr = 1e-30;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - r[i]);
        if (!(d <= md)) md = d; /* NaN propagates */
        if (fabs(r[i]) > mr) mr = fabs(r[i]);
    }
    return md / mr;
}

int main(int argc, char **argv) {
    int batch = 32, reps = 9, thread_mode = 12;
    const char *only_layer = NULL, *only_isa = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-n")) batch = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-r")) reps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-t")) thread_mode = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-l")) only_layer = argv[i + 1];
        else if (!strcmp(argv[i], "-i")) only_isa = argv[i + 1];
        else {
            fprintf(stderr, "usage: %s [-n batch] [-r repeats] [-t 1|2|12] [-l layer] [-i isa]\n", argv[0]);
            return 2;
        }
    }
    if (batch < 1 || reps < 1) return 2;
    dacc_kernels ref;
    dacc_kernels_for_isa(DACC_ISA_SCALAR, &ref);
    printf("cpu: %s\nbatch %d, %d samples of ~20 ms. GFLOP/s: median wall time; best: fastest sample;\n"
           "cpu: from the median process CPU time per thread, i.e. as if each thread had a core to\n"
           "itself (time other processes held the cores left out).\n"
           "%%pk = GFLOP/s / (threads x peak); peak = the ISA's FMA peak per core: the best run of\n"
           "bench_peak's loop so far (15 at the start, 7 more before each row).\n\n",
           dacc_cpu_description(), batch, reps);
    printf("%-9s %-10s %-7s %2s %8s %8s %5s %8s %5s %8s %5s %6s\n", "layer", "op", "isa", "th",
           "med ms", "GFLOP/s", "%pk", "best", "%pk", "cpu", "%pk", "peak");
    uint64_t st = 0x9e3779b97f4a7c15ull;
    double peak_max[DACC_ISA_COUNT] = {0};
    for (int isa = 0; isa < DACC_ISA_COUNT; isa++)
        peak_max[isa] = peak_per_core((dacc_isa)isa, 1, 15, 1000000L, 1);
    for (size_t li = 0; li < sizeof layers / sizeof layers[0]; li++) {
        const layer *L = &layers[li];
        if (only_layer && strcmp(only_layer, L->name)) continue;
        buffers b;
        dacc_conv_shape *s = &b.s;
        *s = (dacc_conv_shape){batch, L->ih, L->ih, L->ic, 0, 0, L->oc, L->k, L->k, L->stride, L->pad, 0};
        s->oh = s->ow = (L->ih + 2 * L->pad - L->k) / L->stride + 1;
        const size_t nx = (size_t)batch * s->ih * s->iw * s->ic, ny = (size_t)batch * s->oh * s->ow * s->oc,
                     nw = (size_t)s->kh * s->kw * s->ic * s->oc;
        b.x = rand_buf(nx, &st); b.w = rand_buf(nw, &st); b.b = rand_buf(s->oc, &st);
        b.dy = rand_buf(ny, &st); b.y = rand_buf(ny, &st); b.dx = rand_buf(nx, &st);
        b.dw = rand_buf(2 * (nw + s->oc), &st);
        const double flops = 2.0 * ny * s->ic * s->kh * s->kw;
        /* references */
        float *ry = rand_buf(ny, &st), *rdx = rand_buf(nx, &st), *rdw = rand_buf(nw + s->oc, &st);
        if (dacc_conv_fwd_once(&ref, s, DACC_CONV_DIRECT, b.x, b.w, b.b, ry) ||
            dacc_conv_bwd_data_once(&ref, s, DACC_CONV_DIRECT, b.dy, b.w, rdx) ||
            dacc_conv_bwd_filter_once(&ref, s, b.x, b.dy, rdw, rdw + nw)) {
            fprintf(stderr, "bench_conv: out of memory\n");
            return 1;
        }
        for (int op = 0; op < OP_N; op++)
            for (int isa = DACC_ISA_AVX512; isa >= DACC_ISA_SCALAR; isa--) {
                if (isa == DACC_ISA_SCALAR && !(only_isa && !strcmp(only_isa, "scalar"))) continue;
                if (only_isa && strcmp(only_isa, dacc_isa_name((dacc_isa)isa))) continue;
                dacc_kernels k;
                if (dacc_kernels_for_isa((dacc_isa)isa, &k)) continue;
                dacc_conv_algo algo;
                size_t sf;
                float *packed = prepare(&k, op, &b, &algo, &sf);
                float *scr[2] = {dacc_conv_alloc(sf), dacc_conv_alloc(sf)};
                if (!packed || !scr[0] || !scr[1]) {
                    fprintf(stderr, "bench_conv: out of memory\n");
                    return 1;
                }
                call c1 = {&k, op, &b, 0, batch, b.dw, b.dw + nw, algo, packed, scr[0]};
                /* check before timing */
                run_call(&c1);
                double e = op == OP_FWD ? rel_err(b.y, ry, ny)
                         : op == OP_BWD_DATA ? rel_err(b.dx, rdx, nx)
                         : fmax(rel_err(b.dw, rdw, nw), rel_err(b.dw + nw, rdw + nw, s->oc));
                if (!(e < 1e-4)) {
                    printf("%-9s %-10s %-7s WRONG RESULT (rel err %g), not timed\n", L->name, op_names[op],
                           dacc_isa_name((dacc_isa)isa), e);
                    free(packed), free(scr[0]), free(scr[1]);
                    continue;
                }
                for (int threads = 1; threads <= 2; threads++) {
                    if (thread_mode != 12 && thread_mode != threads) continue;
                    if (threads == 2 && batch < 2) continue;
                    call cs[2] = {c1, c1};
                    if (threads == 2) {
                        cs[0].nimg = batch / 2;
                        cs[1].img0 = batch / 2;
                        cs[1].nimg = batch - batch / 2;
                        cs[1].scratch = scr[1];
                        cs[1].dw = b.dw + nw + s->oc;
                        cs[1].db = cs[1].dw + nw;
                    }
                    /* iterations per sample: about 20 ms */
                    double t1 = time_calls(cs, threads, 1, NULL);
                    long iters = (long)(0.02 / (t1 > 1e-7 ? t1 : 1e-7));
                    if (iters < 1) iters = 1;
                    time_calls(cs, threads, iters, NULL); /* warm-up */
                    /* the peak is a ceiling: every run is a lower bound of it, so keep
                     * the best seen so far in this process (per core) */
                    double pk = peak_per_core((dacc_isa)isa, threads, 7, 1000000L, 1);
                    if (pk > peak_max[isa]) peak_max[isa] = pk;
                    const double peak = peak_max[isa];
                    double *ts = malloc(sizeof(double) * reps * 2), *cs_t = ts + reps;
                    for (int r = 0; r < reps; r++) {
                        ts[r] = time_calls(cs, threads, iters, &cs_t[r]) / iters;
                        cs_t[r] /= (double)iters * threads;
                    }
                    qsort(ts, reps, sizeof(double), cmp_double);
                    qsort(cs_t, reps, sizeof(double), cmp_double);
                    double med = ts[reps / 2], best = ts[0], cpu = cs_t[reps / 2];
                    free(ts);
                    double g = flops / med * 1e-9, gb = flops / best * 1e-9,
                           gc = flops / cpu * 1e-9; /* as if each thread had its core */
                    if (peak > 0)
                        printf("%-9s %-10s %-7s %2d %8.3f %8.1f %4.0f%% %8.1f %4.0f%% %8.1f %4.0f%% %6.1f\n",
                               L->name, op_names[op], dacc_isa_name((dacc_isa)isa), threads,
                               med * 1e3, g, 100.0 * g / (peak * threads), gb,
                               100.0 * gb / (peak * threads), gc, 100.0 * gc / (peak * threads), peak);
                    else
                        printf("%-9s %-10s %-7s %2d %8.3f %8.1f %5s %8.1f %5s %8.1f %5s %6s\n", L->name,
                               op_names[op], dacc_isa_name((dacc_isa)isa), threads, med * 1e3, g,
                               "-", gb, "-", gc, "-", "-");
                    fflush(stdout);
                }
                free(packed), free(scr[0]), free(scr[1]);
            }
        free(b.x); free(b.w); free(b.b); free(b.dy); free(b.y); free(b.dx); free(b.dw);
        free(ry); free(rdx); free(rdw);
    }
    return 0;
}

/* Whole-network benchmark: training and inference throughput of one variant
 * through the engine's public API (dacc_model_forward/loss/backward/
 * adam_step), the peak resident memory of a process that loads MNIST, builds
 * the model and trains a few hundred batches, and a per-layer breakdown of a
 * training step.
 *
 * The breakdown instruments the bench, not the engine: the model's kernel
 * table pointer is swapped for a copy whose entries wrap the real kernels,
 * time each call per thread, and attribute it to a layer from the activation
 * tensor its pointer lies in (the layer list tells which layer reads or
 * writes that tensor). Time on a thread between two kernel calls ("gap":
 * thread-pool hand-offs, waiting for the other thread, dropout mask
 * generation, weight-gradient reduction, BN coefficient math, the loss loop)
 * is charged to the row of the kernel that ends it. The throughput figures
 * are measured separately with the real table.
 *
 * Order: peak memory first (load data, build, train --mem-batches batches,
 * read VmHWM: nothing else has been allocated yet), which doubles as the
 * warm-up; then training samples, inference samples, the breakdown, and the
 * FMA peak (engine/nn/fma_peak.c) for the "%pk" column. Every figure is the median
 * over --reps samples of about --seconds each.
 *
 * FLOPs: 2 x multiply-accumulates of the convolutions (the Linear layer
 * included, padding taps counted), forward; a training step is forward +
 * backward-weights + backward-data (none for the first conv), i.e. ~58.6
 * MFLOP per image for Original. Elementwise ops are not counted.
 *
 * Serve mode (for bench/vs_pytorch, which interleaves dacc with PyTorch in
 * one run): --serve builds the models, warms up, prints "ready", then
 * answers lines on stdin:
 *   train SECONDS          -> "train IMAGES_PER_S STEPS CPU_IMAGES_PER_S"
 *   infer BATCH SECONDS    -> "infer BATCH IMAGES_PER_S STEPS CPU_IMAGES_PER_S"
 * (CPU_IMAGES_PER_S: images per second of process CPU time per thread)
 *   mem                    -> "mem VMHWM_KB MAXRSS_KB"
 *   quit
 *
 * usage: bench_network [--variant NAME] [--threads N] [--batch 64]
 *          [--infer-batches 64,256,1024] [--reps 7] [--seconds 1.0]
 *          [--mem-batches 200] [--mnist DIR | --random] [--no-breakdown]
 *          [--serve] */
#include "nn/fma_peak.h"
#define bench_now dacc_bench_now
#include <stdlib.h>
#include <time.h>
#include "nn/model_internal.h"
#include "dacc/data.h"
#include "dacc/model.h"
#include "core/threadpool.h"
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

/* ---------------------------------------------------------------- data */

typedef struct dataset {
    uint8_t *pixels, *labels;
    int64_t n;
    int random;
    char source[512];
} dataset;

static uint64_t xs(uint64_t *s) {
    *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17;
    return *s;
}

/* MNIST training images, or random images with MNIST's look (about 80%
 * background, strokes of random grey) when MNIST is not there. */
static int load_data(const char *dir, int force_random, dataset *d) {
    memset(d, 0, sizeof *d);
    if (!force_random) {
        char path[400];
        dacc_err e;
        dacc_images tr = {0};
        if (dacc_data_resolve(dir, 0, path, sizeof path, &e) == 0 &&
            dacc_mnist_load(path, &tr, NULL, &e) == 0) {
            d->pixels = tr.pixels;
            d->labels = tr.labels;
            d->n = tr.n;
            snprintf(d->source, sizeof d->source, "MNIST training set, %s (%lld images)", path,
                     (long long)tr.n);
            return 0;
        }
        fprintf(stderr, "bench_network: MNIST not available (%s); using random images\n", e.msg);
        if (dir) return -1;
    }
    d->n = 8192;
    d->random = 1;
    d->pixels = malloc((size_t)d->n * 784);
    d->labels = malloc((size_t)d->n);
    if (!d->pixels || !d->labels) return -1;
    uint64_t s = 0x243f6a8885a308d3ull;
    for (size_t i = 0; i < (size_t)d->n * 784; i++) {
        uint64_t r = xs(&s);
        d->pixels[i] = (r & 0xff) < 205 ? 0 : (uint8_t)(r >> 8);
    }
    for (int64_t i = 0; i < d->n; i++) d->labels[i] = (uint8_t)(xs(&s) % 10);
    snprintf(d->source, sizeof d->source, "random images (%lld)", (long long)d->n);
    return 0;
}

/* ---------------------------------------------------------------- memory */

static long status_kb(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, kl) && line[kl] == ':') {
            v = atol(line + kl + 1);
            break;
        }
    fclose(f);
    return v;
}

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static long maxrss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static size_t model_bytes(const dacc_model *m) {
    size_t acts = 0;
    for (int i = 0; i < m->n_acts; i++) acts += m->act_size[i] * (size_t)m->max_batch;
    int th = dacc_pool_threads(m->pool);
    return sizeof(float) * (4 * m->n_params + m->n_buffers + 2 * acts + m->n_stats +
                            (m->scratch_per_thread + m->kscratch_per_thread) * th) +
           m->aux_per_image * m->max_batch + sizeof(double) * 256 * th;
}

/* ---------------------------------------------------------------- timing */

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
static double median(double *v, int n) {
    double *c = malloc(sizeof(double) * n);
    memcpy(c, v, sizeof(double) * n);
    qsort(c, n, sizeof(double), cmp_d);
    double r = n % 2 ? c[n / 2] : 0.5 * (c[n / 2 - 1] + c[n / 2]);
    free(c);
    return r;
}

typedef struct trainer {
    dacc_model *m;
    const dataset *d;
    int batch;
    int64_t cursor, step;
} trainer;

static double train_step(trainer *t) {
    if (t->cursor + t->batch > t->d->n) t->cursor = 0;
    const uint8_t *x = t->d->pixels + (size_t)t->cursor * 784, *y = t->d->labels + t->cursor;
    t->cursor += t->batch;
    dacc_model_forward(t->m, x, t->batch, 1, 0x5eed0000ull + (uint64_t)t->step++);
    double loss = dacc_model_loss(t->m, y, t->batch, 0, NULL);
    dacc_model_backward(t->m, t->batch);
    dacc_model_adam_step(t->m, 1e-3f);
    return loss;
}

/* Trains for at least `seconds` (and at least one step); images/s on the
 * wall clock. *cpu_ips (if not NULL): images per second of process CPU time
 * per thread, i.e. the rate had the threads never been descheduled. */
static double train_for(trainer *t, double seconds, long *steps_out, double *cpu_ips) {
    long steps = 0;
    double t0 = bench_now(), c0 = cpu_now(), el;
    do {
        train_step(t);
        steps++;
    } while ((el = bench_now() - t0) < seconds);
    if (steps_out) *steps_out = steps;
    if (cpu_ips) *cpu_ips = steps * (double)t->batch / ((cpu_now() - c0) / dacc_pool_threads(t->m->pool));
    return steps * (double)t->batch / el;
}

static double infer_for(dacc_model *m, const dataset *d, int batch, double seconds, long *steps_out,
                        double *cpu_ips) {
    long steps = 0;
    int64_t cur = 0;
    double t0 = bench_now(), c0 = cpu_now(), el;
    volatile float sink = 0;
    do {
        if (cur + batch > d->n) cur = 0;
        const float *z = dacc_model_forward(m, d->pixels + (size_t)cur * 784, batch, 0, 0);
        sink += z[0];
        cur += batch;
        steps++;
    } while ((el = bench_now() - t0) < seconds);
    (void)sink;
    if (steps_out) *steps_out = steps;
    if (cpu_ips) *cpu_ips = steps * (double)batch / ((cpu_now() - c0) / dacc_pool_threads(m->pool));
    return steps * (double)batch / el;
}

/* ---------------------------------------------------------------- FLOPs */

static void network_flops(const dacc_model *m, double *fwd, double *train) {
    double f = 0, t = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const dacc_layer *l = &m->layers[i];
        if (l->kind != DACC_L_CONV) continue;
        double mac = (double)l->oh * l->ow * l->oc * l->k * l->k * l->c;
        f += 2 * mac;
        t += 2 * mac * (l->in == 0 ? 2 : 3);
    }
    *fwd = f;
    *train = t;
}

/* ---------------------------------------------------------------- breakdown */

enum { COL_FWD, COL_BWD_DATA, COL_BWD, COL_GAP, NCOL };
#define MAX_ROWS (DACC_MAX_LAYERS + 4)
#define MAX_SLOTS 8
enum { ROW_INPUT = DACC_MAX_LAYERS, ROW_LOSS, ROW_ADAM, ROW_PACK };

static struct {
    const dacc_model *m;
    dacc_kernels real;
    /* [thread][row][column][0 = wall, 1 = thread CPU time] */
    double acc[MAX_SLOTS][MAX_ROWS][NCOL][2];
    double last_end[MAX_SLOTS][2];
    long last_step[MAX_SLOTS];
    long step;            /* current step number, set by the bench */
    double step_start;    /* wall */
    double step_cpu0[MAX_SLOTS];
} ins;
static atomic_int next_slot;
static _Thread_local int my_slot = -1;

static int slot(void) {
    if (my_slot < 0) {
        my_slot = atomic_fetch_add(&next_slot, 1);
        if (my_slot >= MAX_SLOTS) my_slot = MAX_SLOTS - 1;
    }
    return my_slot;
}

static double thread_cpu(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* Activation tensor id holding p in acts (arena 0) or dacts (arena 1), or -1. */
static int tensor_of(const void *p, int *arena) {
    const dacc_model *m = ins.m;
    for (int a = 0; a < 2; a++) {
        const float *base = a ? m->dacts : m->acts;
        for (int i = 0; i < m->n_acts; i++) {
            const float *lo = base + m->act_off[i], *hi = lo + m->act_size[i] * m->max_batch;
            if ((const float *)p >= lo && (const float *)p < hi) {
                *arena = a;
                return i;
            }
        }
    }
    return -1;
}

/* The layer of `kind` whose input (use_out=0) or output tensor holds p. */
static int layer_of(const void *p, dacc_layer_kind kind, int use_out) {
    int arena, id = tensor_of(p, &arena);
    if (id < 0) return -1;
    for (int i = 0; i < ins.m->n_layers; i++) {
        const dacc_layer *l = &ins.m->layers[i];
        if (l->kind == kind && (use_out ? l->out : l->in) == id) return i;
    }
    return -1;
}

typedef struct stamp { double wall, cpu; } stamp;
static stamp t_begin(void) {
    stamp s = {bench_now(), thread_cpu()};
    return s;
}
static void t_end(stamp t0, int row, int col) {
    stamp t1 = t_begin();
    int s = slot();
    if (row < 0) row = ROW_LOSS; /* unattributed: should not happen, keep it visible */
    ins.acc[s][row][col][0] += t1.wall - t0.wall;
    ins.acc[s][row][col][1] += t1.cpu - t0.cpu;
    /* the gap since this thread's previous kernel in this step; a worker's
     * first kernel of a step counts from the step's start (wall) */
    int same = ins.last_step[s] == ins.step;
    double pw = same ? ins.last_end[s][0] : ins.step_start;
    if (t0.wall > pw) ins.acc[s][row][COL_GAP][0] += t0.wall - pw;
    if (same && t0.cpu > ins.last_end[s][1]) ins.acc[s][row][COL_GAP][1] += t0.cpu - ins.last_end[s][1];
    ins.last_end[s][0] = t1.wall;
    ins.last_end[s][1] = t1.cpu;
    ins.last_step[s] = ins.step;
}

static void w_conv_fwd_pack(const dacc_conv_shape *s, dacc_conv_algo a, const float *w,
                            const float *b, float *packed) {
    stamp t0 = t_begin();
    ins.real.conv_fwd_pack(s, a, w, b, packed);
    t_end(t0, ROW_PACK, COL_FWD);
}
static void w_conv_bwd_data_pack(const dacc_conv_shape *s, dacc_conv_algo a, const float *w,
                                 float *packed) {
    stamp t0 = t_begin();
    ins.real.conv_bwd_data_pack(s, a, w, packed);
    t_end(t0, ROW_PACK, COL_BWD_DATA);
}
static void w_conv_fwd(const dacc_conv_shape *s, dacc_conv_algo a, const float *x,
                       const float *packed, float *y, float *scratch) {
    stamp t0 = t_begin();
    ins.real.conv_fwd(s, a, x, packed, y, scratch);
    /* by the output: in eval mode a conv that absorbed a BN reads the BN's input */
    t_end(t0, layer_of(y, DACC_L_CONV, 1), COL_FWD);
}
static void w_conv_bwd_data(const dacc_conv_shape *s, dacc_conv_algo a, const float *dy,
                            const float *packed, float *dx, float *scratch) {
    stamp t0 = t_begin();
    ins.real.conv_bwd_data(s, a, dy, packed, dx, scratch);
    t_end(t0, layer_of(dy, DACC_L_CONV, 1), COL_BWD_DATA);
}
static void w_conv_bwd_filter(const dacc_conv_shape *s, const float *x, const float *dy, float *dw,
                              float *db, float *scratch) {
    stamp t0 = t_begin();
    ins.real.conv_bwd_filter(s, x, dy, dw, db, scratch);
    t_end(t0, layer_of(x, DACC_L_CONV, 0), COL_BWD);
}
static void w_maxpool_fwd(const dacc_pool_shape *s, const float *x, float *y, int32_t *idx) {
    stamp t0 = t_begin();
    ins.real.maxpool_fwd(s, x, y, idx);
    t_end(t0, layer_of(x, DACC_L_MAXPOOL, 0), COL_FWD);
}
static void w_maxpool_bwd(const dacc_pool_shape *s, const float *dy, const int32_t *idx, float *dx) {
    stamp t0 = t_begin();
    ins.real.maxpool_bwd(s, dy, idx, dx);
    t_end(t0, layer_of(dy, DACC_L_MAXPOOL, 1), COL_BWD);
}
static void w_maxpool_affine(const dacc_pool_shape *s, const float *x, const float *a,
                             const float *b, int relu, float *y) {
    stamp t0 = t_begin();
    ins.real.maxpool_affine(s, x, a, b, relu, y);
    t_end(t0, layer_of(y, DACC_L_MAXPOOL, 1), COL_FWD);
}
static void w_avgpool_fwd(const dacc_pool_shape *s, const float *x, float *y) {
    stamp t0 = t_begin();
    ins.real.avgpool_fwd(s, x, y);
    t_end(t0, layer_of(x, DACC_L_AVGPOOL, 0), COL_FWD);
}
static void w_avgpool_bwd(const dacc_pool_shape *s, const float *dy, float *dx) {
    stamp t0 = t_begin();
    ins.real.avgpool_bwd(s, dy, dx);
    t_end(t0, layer_of(dy, DACC_L_AVGPOOL, 1), COL_BWD);
}
static void w_relu_fwd(size_t n, const float *x, float *y) {
    stamp t0 = t_begin();
    ins.real.relu_fwd(n, x, y);
    t_end(t0, layer_of(x, DACC_L_RELU, 0), COL_FWD);
}
static void w_relu_bwd(size_t n, const float *y, const float *dy, float *dx) {
    stamp t0 = t_begin();
    ins.real.relu_bwd(n, y, dy, dx);
    t_end(t0, layer_of(y, DACC_L_RELU, 1), COL_BWD);
}
static void w_channel_sum(size_t rows, int c, const float *x, double *out) {
    stamp t0 = t_begin();
    ins.real.channel_sum(rows, c, x, out);
    t_end(t0, layer_of(x, DACC_L_BN, 0), COL_FWD);
}
static void w_channel_sqdev(size_t rows, int c, const float *x, const float *mean, double *out) {
    stamp t0 = t_begin();
    ins.real.channel_sqdev(rows, c, x, mean, out);
    t_end(t0, layer_of(x, DACC_L_BN, 0), COL_FWD);
}
static void w_channel_dot(size_t rows, int c, const float *dy, const float *x, const float *mean,
                          double *sdy, double *sdyx) {
    stamp t0 = t_begin();
    ins.real.channel_dot(rows, c, dy, x, mean, sdy, sdyx);
    t_end(t0, layer_of(x, DACC_L_BN, 0), COL_BWD);
}
static void w_channel_affine(size_t rows, int c, const float *x, const float *a, const float *b, float *y) {
    stamp t0 = t_begin();
    ins.real.channel_affine(rows, c, x, a, b, y);
    t_end(t0, layer_of(x, DACC_L_BN, 0), COL_FWD);
}
static void w_channel_affine2(size_t rows, int c, const float *p, const float *q, const float *a,
                              const float *b, const float *k, float *out) {
    stamp t0 = t_begin();
    ins.real.channel_affine2(rows, c, p, q, a, b, k, out);
    t_end(t0, layer_of(p, DACC_L_BN, 1), COL_BWD);
}
static void w_channel_affine2_relu(size_t rows, int c, const float *p, const float *q,
                                   const float *a, const float *b, const float *k, float *out) {
    stamp t0 = t_begin();
    ins.real.channel_affine2_relu(rows, c, p, q, a, b, k, out);
    t_end(t0, layer_of(p, DACC_L_BN, 1), COL_BWD);
}
static void w_dropout(size_t n, const float *x, const uint8_t *mask, float scale, float *y) {
    stamp t0 = t_begin();
    ins.real.dropout(n, x, mask, scale, y);
    int arena = 0;
    tensor_of(x, &arena);
    t_end(t0, layer_of(x, DACC_L_DROPOUT, 0), arena ? COL_BWD : COL_FWD);
}
static void w_softmax(size_t rows, int k, const float *x, float *y) {
    stamp t0 = t_begin();
    ins.real.softmax(rows, k, x, y);
    t_end(t0, ROW_LOSS, COL_FWD);
}
static void w_adam(size_t n, float *p, const float *g, float *mm, float *v, const dacc_adam_args *a) {
    stamp t0 = t_begin();
    ins.real.adam(n, p, g, mm, v, a);
    t_end(t0, ROW_ADAM, COL_BWD);
}
static void w_u8_normalize(size_t n, const uint8_t *x, float scale, float shift, float *y) {
    stamp t0 = t_begin();
    ins.real.u8_normalize(n, x, scale, shift, y);
    t_end(t0, ROW_INPUT, COL_FWD);
}

static dacc_kernels wrapped_table(const dacc_kernels *real) {
    dacc_kernels w = *real;
    w.conv_fwd_pack = w_conv_fwd_pack;
    w.conv_bwd_data_pack = w_conv_bwd_data_pack;
    w.conv_fwd = w_conv_fwd;
    w.conv_bwd_data = w_conv_bwd_data;
    w.conv_bwd_filter = w_conv_bwd_filter;
    w.maxpool_fwd = w_maxpool_fwd;
    w.maxpool_bwd = w_maxpool_bwd;
    w.maxpool_affine = w_maxpool_affine;
    w.avgpool_fwd = w_avgpool_fwd;
    w.avgpool_bwd = w_avgpool_bwd;
    w.relu_fwd = w_relu_fwd;
    w.relu_bwd = w_relu_bwd;
    w.channel_sum = w_channel_sum;
    w.channel_sqdev = w_channel_sqdev;
    w.channel_dot = w_channel_dot;
    w.channel_affine = w_channel_affine;
    w.channel_affine2 = w_channel_affine2;
    w.channel_affine2_relu = w_channel_affine2_relu;
    w.dropout = w_dropout;
    w.softmax = w_softmax;
    w.adam = w_adam;
    w.u8_normalize = w_u8_normalize;
    return w;
}

/* Display name of row r: the layer's PyTorch name, or what it follows. */
static void row_name(const dacc_model *m, int r, char *buf, size_t n) {
    if (r == ROW_INPUT) { snprintf(buf, n, "input (u8->f32)"); return; }
    if (r == ROW_LOSS) { snprintf(buf, n, "loss (softmax, CE)"); return; }
    if (r == ROW_ADAM) { snprintf(buf, n, "adam"); return; }
    if (r == ROW_PACK) { snprintf(buf, n, "pack conv weights"); return; }
    const dacc_layer *l = &m->layers[r];
    const char *prev = "input";
    int pools = 0, drops = 0;
    for (int i = 0; i <= r; i++) {
        const dacc_layer *q = &m->layers[i];
        if (q->kind == DACC_L_MAXPOOL || q->kind == DACC_L_AVGPOOL) pools++;
        if (q->kind == DACC_L_DROPOUT) drops++;
        if (i < r && q->kind != DACC_L_RELU && q->kind != DACC_L_DROPOUT && q->kind != DACC_L_BN) {
            if (q->name[0]) prev = q->name;
            else prev = pools == 1 ? "pool_1" : "pool_2";
        }
    }
    switch (l->kind) {
    case DACC_L_CONV: snprintf(buf, n, "%s", l->name); break;
    case DACC_L_BN: snprintf(buf, n, "%s", l->name); break;
    case DACC_L_RELU: snprintf(buf, n, "relu(%s)", prev); break;
    case DACC_L_MAXPOOL: snprintf(buf, n, "pool_%d (max)", pools); break;
    case DACC_L_AVGPOOL: snprintf(buf, n, "pool_%d (avg)", pools); break;
    case DACC_L_DROPOUT: snprintf(buf, n, "dropout_%d", drops); break;
    }
}

/* infer = 0: training steps of t (on t->m); 1: eval-mode forward passes of
 * batch t->batch on t->m. */
/* Per-step samples of the breakdown, filled by breakdown_sample. */
typedef struct bd_samples {
    double (*cells)[MAX_ROWS][NCOL][2]; /* per sample: ms per step of each cell, thread-averaged, [wall, cpu] */
    double *wall, *cpu, *faults, *sys;
} bd_samples;

/* `reps` samples of `seconds` each (after a warm-up) with the kernel table
 * wrapped so that every call is timed on its thread. */
static void breakdown_sample(trainer *t, int infer, int reps, double seconds, bd_samples *b) {
    dacc_model *m = t->m;
    dacc_kernels wrapped = wrapped_table(m->k);
    ins.m = m;
    ins.real = *m->k;
    const dacc_kernels *saved = m->k;
    m->k = &wrapped;
    int th = dacc_pool_threads(m->pool);
    double (*cells)[MAX_ROWS][NCOL][2] = b->cells;
    double *wall = b->wall, *cpu = b->cpu, *faults = b->faults, *sys = b->sys;
    for (int r = -1; r < reps; r++) { /* r = -1: warm-up of the wrappers */
        memset(ins.acc, 0, sizeof ins.acc);
        long steps = 0;
        struct rusage ru0, ru1;
        getrusage(RUSAGE_SELF, &ru0);
        double t0 = bench_now(), c0 = cpu_now(), el;
        do {
            ins.step_start = bench_now();
            ins.step++;
            if (infer) {
                if (t->cursor + t->batch > t->d->n) t->cursor = 0;
                dacc_model_forward(m, t->d->pixels + (size_t)t->cursor * 784, t->batch, 0, 0);
                t->cursor += t->batch;
            } else {
                train_step(t);
            }
            steps++;
        } while ((el = bench_now() - t0) < seconds);
        getrusage(RUSAGE_SELF, &ru1);
        if (r < 0) continue;
        wall[r] = el / steps * 1e3;
        faults[r] = (double)(ru1.ru_minflt - ru0.ru_minflt) / steps;
        sys[r] = ((ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) + 1e-6 * (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec)) /
                 th / steps * 1e3;
        cpu[r] = (cpu_now() - c0) / th / steps * 1e3;
        for (int row = 0; row < MAX_ROWS; row++)
            for (int c = 0; c < NCOL; c++)
                for (int k = 0; k < 2; k++) {
                    double sum = 0;
                    for (int q = 0; q < MAX_SLOTS; q++) sum += ins.acc[q][row][c][k];
                    cells[r][row][c][k] = sum / th / steps * 1e3;
                }
    }
    m->k = saved;
}

/* The per-layer table of a training step or eval forward (see the text it prints). */
static void breakdown(trainer *t, int infer, int reps, double seconds) {
    dacc_model *m = t->m;
    int th = dacc_pool_threads(m->pool);
    bd_samples b = {calloc(reps, sizeof *b.cells), calloc(reps, sizeof(double)), calloc(reps, sizeof(double)),
                    calloc(reps, sizeof(double)), calloc(reps, sizeof(double))};
    breakdown_sample(t, infer, reps, seconds, &b);
    double (*cells)[MAX_ROWS][NCOL][2] = b.cells;
    double *wall = b.wall, *cpu = b.cpu, *faults = b.faults, *sys = b.sys;
    double med[MAX_ROWS][NCOL][2], v[64], tot[2] = {0, 0}, kern[2] = {0, 0}, gap[2] = {0, 0};
    for (int row = 0; row < MAX_ROWS; row++)
        for (int c = 0; c < NCOL; c++)
            for (int k = 0; k < 2; k++) {
                for (int r = 0; r < reps; r++) v[r] = cells[r][row][c][k];
                med[row][c][k] = median(v, reps);
                tot[k] += med[row][c][k];
                if (c == COL_GAP) gap[k] += med[row][c][k];
                else kern[k] += med[row][c][k];
            }
    double wall_med = median(wall, reps), cpu_med = median(cpu, reps);
    if (infer) {
        printf("\nPer-layer time of an eval-mode forward pass (batch %d, %d thread%s), as above.\n\n", t->batch,
               th, th > 1 ? "s" : "");
    } else
    printf("\nPer-layer time of a training step (batch %d, %d thread%s). The bench wraps the kernel\n"
           "table and times every call on its thread; ms per step, averaged over the threads, median\n"
           "of %d samples. CPU columns use the thread's CPU clock (time the thread was descheduled\n"
           "on this shared machine left out); wall = the same on the wall clock.\n"
           "fwd = forward kernels; bwd-data, bwd = backward kernels (bwd = bwd-weights for convs);\n"
           "gap = CPU time of the thread between the previous kernel and this one: engine code\n"
           "outside kernels (dropout masks before dropout_*, weight-gradient sums after a conv's\n"
           "backward show at the next row, BN coefficients, the loss loop, pool hand-off).\n\n",
           t->batch, th, th > 1 ? "s" : "", reps);
    printf("%-20s %8s %8s %8s %8s %8s %6s %8s %9s\n", "layer", "fwd", "bwd-data", "bwd", "gap",
           "cpu ms", "%", "wall ms", "GFLOP/s");
    int order[MAX_ROWS], no = 0;
    order[no++] = ROW_INPUT;
    for (int i = 0; i < m->n_layers; i++) order[no++] = i;
    order[no++] = ROW_LOSS;
    order[no++] = ROW_ADAM;
    order[no++] = ROW_PACK;
    for (int oi = 0; oi < no; oi++) {
        int row = order[oi];
        double sc = 0, sw = 0;
        for (int c = 0; c < NCOL; c++) {
            sc += med[row][c][1];
            sw += med[row][c][0];
        }
        if (infer && sw == 0) continue; /* layers that do not run in eval mode */
        char name[48];
        row_name(m, row, name, sizeof name);
        char gf[16] = "";
        if (row < DACC_MAX_LAYERS && m->layers[row].kind == DACC_L_CONV) {
            const dacc_layer *l = &m->layers[row];
            double mac = (double)l->oh * l->ow * l->oc * l->k * l->k * l->c * t->batch;
            double ms = med[row][COL_FWD][1] + med[row][COL_BWD_DATA][1] + med[row][COL_BWD][1];
            /* ms is per thread; each thread did 1/th of the batch */
            double passes = infer ? 1 : l->in == 0 ? 2 : 3;
            snprintf(gf, sizeof gf, "%9.1f", 2 * mac * passes / (ms * 1e-3) * 1e-9 / th);
        }
        printf("%-20s %8.3f %8.3f %8.3f %8.3f %8.3f %6.1f %8.3f %9s\n", name, med[row][COL_FWD][1],
               med[row][COL_BWD_DATA][1], med[row][COL_BWD][1], med[row][COL_GAP][1], sc,
               100 * sc / tot[1], sw, gf);
    }
    printf("%-20s %8s %8s %8s %8.3f %8.3f %6s %8.3f\n", "sum", "", "", "", gap[1], tot[1], "", tot[0]);
    printf("per step: kernels %.2f ms CPU (%.2f wall), engine outside kernels %.2f ms CPU;\n"
           "process CPU %.2f ms per thread, wall %.2f ms (median; wall - CPU = waiting or descheduled)\n",
           kern[1], kern[0], gap[1], cpu_med, wall_med);
    printf("page faults %.0f per step; system CPU %.2f ms per step per thread (included in the CPU columns)\n",
           median(faults, reps), median(sys, reps));
    printf("(conv GFLOP/s: per thread, on the kernels' CPU time)\n");
    free(faults);
    free(sys);
    free(cells);
    free(wall);
    free(cpu);
}

/* ---------------------------------------------------------------- main */

static int parse_list(const char *s, int *out, int max) {
    int n = 0;
    while (*s && n < max) {
        out[n++] = atoi(s);
        const char *c = strchr(s, ',');
        if (!c) break;
        s = c + 1;
    }
    return n;
}

static void usage(const char *argv0) {
    fprintf(stderr,
            "usage: %s [--variant NAME] [--threads N] [--batch 64] [--infer-batches 64,256,1024]\n"
            "       [--reps 7] [--seconds 1.0] [--mem-batches 200] [--mnist DIR | --random]\n"
            "       [--no-breakdown] [--serve]\n",
            argv0);
}

static int serve(trainer *t, dacc_model *im, const dataset *d, int max_infer) {
    printf("ready\n");
    fflush(stdout);
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
        double secs = 1;
        int b = 0;
        long steps = 0;
        if (sscanf(line, "train %lf", &secs) == 1) {
            double cips, ips = train_for(t, secs, &steps, &cips);
            printf("train %.2f %ld %.2f\n", ips, steps, cips);
        } else if (sscanf(line, "infer %d %lf", &b, &secs) == 2) {
            if (b < 1 || b > max_infer) {
                printf("error batch %d not in 1..%d\n", b, max_infer);
            } else {
                double cips, ips = infer_for(im, d, b, secs, &steps, &cips);
                printf("infer %d %.2f %ld %.2f\n", b, ips, steps, cips);
            }
        } else if (!strncmp(line, "mem", 3)) {
            printf("mem %ld %ld\n", status_kb("VmHWM"), maxrss_kb());
        } else if (!strncmp(line, "quit", 4)) {
            break;
        } else {
            printf("error unknown command\n");
        }
        fflush(stdout);
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *vname = "Original", *mnist = NULL;
    int threads = 1, batch = 64, reps = 7, mem_batches = 200, random_data = 0, do_breakdown = 1,
        serve_mode = 0;
    int infer_b[8] = {64, 256, 1024}, n_infer = 3;
    double seconds = 1.0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--random")) random_data = 1;
        else if (!strcmp(a, "--no-breakdown")) do_breakdown = 0;
        else if (!strcmp(a, "--serve")) serve_mode = 1;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(argv[0]); return 0; }
        else if (!v) { usage(argv[0]); return 2; }
        else {
            i++;
            if (!strcmp(a, "--variant")) vname = v;
            else if (!strcmp(a, "--threads")) threads = atoi(v);
            else if (!strcmp(a, "--batch")) batch = atoi(v);
            else if (!strcmp(a, "--infer-batches")) n_infer = parse_list(v, infer_b, 8);
            else if (!strcmp(a, "--reps")) reps = atoi(v);
            else if (!strcmp(a, "--seconds")) seconds = atof(v);
            else if (!strcmp(a, "--mem-batches")) mem_batches = atoi(v);
            else if (!strcmp(a, "--mnist")) mnist = v;
            else { usage(argv[0]); return 2; }
        }
    }
    if (threads < 1 || batch < 1 || reps < 1 || reps > 64 || n_infer < 1 || seconds <= 0) {
        usage(argv[0]);
        return 2;
    }
    int max_infer = 0;
    for (int i = 0; i < n_infer; i++) {
        if (infer_b[i] < 1) { usage(argv[0]); return 2; }
        if (infer_b[i] > max_infer) max_infer = infer_b[i];
    }
    dacc_variant var;
    dacc_err e;
    if (dacc_variant_parse(vname, &var, &e)) {
        fprintf(stderr, "bench_network: %s\n", e.msg);
        return 2;
    }

    /* 1. peak memory of: data + model + a few hundred training batches */
    long rss0 = status_kb("VmRSS");
    dataset d;
    if (load_data(mnist, random_data, &d)) {
        fprintf(stderr, "bench_network: cannot load data\n");
        return 1;
    }
    long rss_data = status_kb("VmRSS");
    dacc_model m;
    if (dacc_model_init(&m, &var, batch, threads, 42, &e)) {
        fprintf(stderr, "bench_network: %s\n", e.msg);
        return 1;
    }
    trainer t = {&m, &d, batch, 0, 0};
    double t0 = bench_now(), loss0 = train_step(&t), loss = loss0;
    for (int i = 1; i < mem_batches; i++) loss = train_step(&t);
    double warm = bench_now() - t0;
    long hwm = status_kb("VmHWM"), maxrss = maxrss_kb();
    if (!isfinite(loss)) {
        fprintf(stderr, "bench_network: training diverged (loss %g)\n", loss);
        return 1;
    }
    dacc_model im;
    if (dacc_model_init(&im, &var, max_infer, threads, 42, &e)) {
        fprintf(stderr, "bench_network: %s\n", e.msg);
        return 1;
    }
    memcpy(im.params, m.params, sizeof(float) * m.n_params);
    memcpy(im.buffers, m.buffers, sizeof(float) * m.n_buffers);

    if (serve_mode) {
        int rc = serve(&t, &im, &d, max_infer);
        dacc_model_free(&im);
        dacc_model_free(&m);
        return rc;
    }

    double fwd_flop, train_flop;
    network_flops(&m, &fwd_flop, &train_flop);
    printf("cpu: %s\n", dacc_cpu_description());
    char sw[128];
    dacc_variant_switches(&var, sw, sizeof sw);
    printf("variant %s (%s), %d thread%s, training batch %d; data: %s\n", var.name, sw, threads,
           threads > 1 ? "s" : "", batch, d.source);
    printf("kernels:");
    for (int op = 0; op < DACC_OP_COUNT; op++)
        if (op == DACC_OP_conv_fwd || op == DACC_OP_conv_bwd_data || op == DACC_OP_conv_bwd_filter)
            printf(" %s", m.k->names[op]);
    printf(" (isa %s)\n", dacc_isa_name(m.k->isa));
    printf("FLOP per image: forward %.2f M, training step %.2f M (2 x conv MACs; fwd + bwd-weights + "
           "bwd-data)\n", fwd_flop * 1e-6, train_flop * 1e-6);
    printf("%d samples of >= %.2f s each; figures are medians (min..max in brackets)\n\n", reps, seconds);

    printf("Memory (process that loaded the data, built the model and trained %d batches of %d,\n"
           "loss %.3f -> %.3f, %.1f s):\n", mem_batches, batch, loss0, loss, warm);
    printf("  peak RSS: VmHWM %.1f MB, ru_maxrss %.1f MB\n", hwm / 1024.0, maxrss / 1024.0);
    printf("  of which: start %.1f MB, training data %.1f MB (%lld images), model arenas %.1f MB\n\n",
           rss0 / 1024.0, (rss_data - rss0) / 1024.0, (long long)d.n, model_bytes(&m) / 1048576.0);

    /* 2. throughput */
    double *s = calloc(reps, sizeof(double)), *sc = calloc(reps, sizeof(double));
    double tr, tr_cpu, tmin, tmax;
    for (int r = 0; r < reps; r++) s[r] = train_for(&t, seconds, NULL, &sc[r]);
    tr = median(s, reps);
    tr_cpu = median(sc, reps);
    tmin = tmax = s[0];
    for (int r = 0; r < reps; r++) { tmin = fmin(tmin, s[r]); tmax = fmax(tmax, s[r]); }
    double inf[8], inf_cpu[8], imin[8], imax[8];
    for (int i = 0; i < n_infer; i++) {
        infer_for(&im, &d, infer_b[i], 0.2, NULL, NULL); /* warm-up at this size */
        for (int r = 0; r < reps; r++) s[r] = infer_for(&im, &d, infer_b[i], seconds / 2, NULL, &sc[r]);
        inf[i] = median(s, reps);
        inf_cpu[i] = median(sc, reps);
        imin[i] = imax[i] = s[0];
        for (int r = 0; r < reps; r++) { imin[i] = fmin(imin[i], s[r]); imax[i] = fmax(imax[i], s[r]); }
    }
    /* the peak is a ceiling: the best run of the FMA loop (engine/nn/fma_peak.c) */
    dacc_isa pisa = dacc_cpu_supports(DACC_ISA_AVX512) ? DACC_ISA_AVX512 : DACC_ISA_AVX2;
    double peak = dacc_fma_peak(pisa, 1, 15, 1000000L, 1);
    printf("%-22s %9s %18s %9s %6s %11s %6s\n", "", "images/s", "(min..max)", "GFLOP/s", "%pk",
           "cpu img/s", "%pk");
    for (int i = -1; i < n_infer; i++) {
        char label[32];
        double w = i < 0 ? tr : inf[i], c = i < 0 ? tr_cpu : inf_cpu[i], f = i < 0 ? train_flop : fwd_flop;
        double lo = i < 0 ? tmin : imin[i], hi = i < 0 ? tmax : imax[i];
        if (i < 0) snprintf(label, sizeof label, "training, batch %d", batch);
        else snprintf(label, sizeof label, "inference, batch %d", infer_b[i]);
        double pw = peak > 0 ? 100 * w * f * 1e-9 / (peak * threads) : 0;
        double pc = peak > 0 ? 100 * c * f * 1e-9 / (peak * threads) : 0;
        printf("%-22s %9.0f %8.0f..%-8.0f %9.1f %6.1f %11.0f %6.1f\n", label, w, lo, hi, w * f * 1e-9, pw,
               c, pc);
    }
    if (peak > 0)
        printf("%%pk: of %d x %.1f GFLOP/s (%s FMA peak per core, best run of bench_peak's loop)\n", threads,
               peak, dacc_isa_name(pisa));
    printf("cpu img/s: images per second of process CPU time per thread (descheduled time left out)\n");
    printf("epoch of 60000 at this rate: %.1f s training\n", 60000.0 / tr);

    /* 3. breakdown */
    if (do_breakdown) {
        breakdown(&t, 0, reps, seconds / 2);
        trainer ti = {&im, &d, batch <= max_infer ? batch : max_infer, 0, 0};
        breakdown(&ti, 1, reps, seconds / 2);
    }

    printf("\nRESULT variant=%s threads=%d batch=%d train_ips=%.1f", var.name, threads, batch, tr);
    for (int i = 0; i < n_infer; i++) printf(" infer%d_ips=%.1f", infer_b[i], inf[i]);
    printf(" vmhwm_mb=%.1f maxrss_mb=%.1f\n", hwm / 1024.0, maxrss / 1024.0);
    free(s);
    free(sc);
    dacc_model_free(&im);
    dacc_model_free(&m);
    free(d.pixels);
    free(d.labels);
    return 0;
}

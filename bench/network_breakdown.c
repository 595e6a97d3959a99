/* bench_network's per-layer breakdown of a training step or eval forward
 * (the method is described at the top of bench_network.c): a copy of the
 * kernel table whose entries time each call on its thread and charge it to
 * the layer whose activation tensor the call reads or writes. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "network.h"
#include "nn/model_internal.h"
#include "core/threadpool.h"

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

/* Activation tensor id holding p in acts, or -1. The gradients share
 * regions (engine/nn/model_build.c), so a call on them is charged by its
 * shape, its layer's argmax or mask, or the activation it also reads. The
 * eval forward keeps a group's activations between two steps in per-thread
 * buffers: their tensor is the one the engine noted for them. */
static int tensor_of(const void *p) {
    const dacc_model *m = ins.m;
    const float *q = p, *lb = m->eval_local;
    const size_t nbuf = 2 * (size_t)dacc_pool_threads(m->pool);
    if (lb && q >= lb && q < lb + nbuf * m->eval_local_half)
        return m->eval_local_act[(size_t)(q - lb) / m->eval_local_half];
    for (int i = 0; i < m->n_acts; i++) {
        const float *lo = m->acts + m->act_off[i], *hi = lo + m->act_size[i] * m->max_batch;
        if ((const float *)p >= lo && (const float *)p < hi) return i;
    }
    return -1;
}

static int in_grads(const void *p) {
    const dacc_model *m = ins.m;
    size_t end = 0;
    for (int i = 0; i < m->n_acts; i++)
        if (m->dact_off[i] + m->act_size[i] * m->max_batch > end) end = m->dact_off[i] + m->act_size[i] * m->max_batch;
    return (const float *)p >= m->dacts && (const float *)p < m->dacts + end;
}

/* The layer of `kind` whose input (use_out=0) or output tensor holds p. */
static int layer_of(const void *p, dacc_layer_kind kind, int use_out) {
    int id = tensor_of(p);
    if (id < 0) return -1;
    for (int i = 0; i < ins.m->n_layers; i++) {
        const dacc_layer *l = &ins.m->layers[i];
        if (l->kind == kind && (use_out ? l->out : l->in) == id) return i;
    }
    return -1;
}

/* The layer of `kind` whose argmax or dropout mask (in aux) holds p. */
static int layer_of_aux(const void *p, dacc_layer_kind kind) {
    const dacc_model *m = ins.m;
    int best = -1;
    for (int i = 0; i < m->n_layers; i++) {
        const dacc_layer *l = &m->layers[i];
        const uint8_t *start = m->aux + l->aux_off * (size_t)m->max_batch;
        if (l->kind == kind && (const uint8_t *)p >= start &&
            (best < 0 || l->aux_off > m->layers[best].aux_off))
            best = i;
    }
    return best;
}

/* The layer of `kind` with input h x w x c, window k and stride (and oc
 * output channels: a conv). */
static int layer_of_shape(dacc_layer_kind kind, int h, int w, int c, int oc, int k, int stride) {
    for (int i = 0; i < ins.m->n_layers; i++) {
        const dacc_layer *l = &ins.m->layers[i];
        if (l->kind == kind && l->h == h && l->w == w && l->c == c && (oc < 0 || l->oc == oc) && l->k == k &&
            l->stride == stride)
            return i;
    }
    return -1;
}

/* The 5x5 stride-2 conv whose polyphase form (engine/nn/conv_ops.h) is
 * the 3x3 shape s: the same output, 4x the input channels. */
static int poly_layer_of(const dacc_conv_shape *s) {
    for (int i = 0; i < ins.m->n_layers; i++) {
        const dacc_layer *l = &ins.m->layers[i];
        if (l->kind == DACC_L_CONV && l->k == 5 && l->stride == 2 && 4 * l->c == s->ic &&
            l->oc == s->oc && l->oh == s->oh && l->ow == s->ow)
            return i;
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
    int li = layer_of_shape(DACC_L_CONV, s->ih, s->iw, s->ic, s->oc, s->kh, s->stride);
    if (li < 0) li = poly_layer_of(s); /* dx: the phases' gradient */
    t_end(t0, li, COL_BWD_DATA);
}
static void w_conv_bwd_filter(const dacc_conv_shape *s, dacc_conv_algo a, const float *x,
                              const float *dy, float *dw, float *db, float *scratch) {
    stamp t0 = t_begin();
    ins.real.conv_bwd_filter(s, a, x, dy, dw, db, scratch);
    int li = layer_of(x, DACC_L_CONV, 0);
    if (li < 0) li = poly_layer_of(s); /* x: the input phases, in the kernels' scratch */
    t_end(t0, li, COL_BWD);
}
/* both backward ops in one call: its time shows in the bwd column */
static void w_conv_bwd_both(const dacc_conv_shape *s, dacc_conv_algo da, dacc_conv_algo wa,
                            const float *x, const float *dy, const float *packed, float *dx,
                            float *dw, float *db, float *scratch) {
    stamp t0 = t_begin();
    ins.real.conv_bwd_both(s, da, wa, x, dy, packed, dx, dw, db, scratch);
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
    t_end(t0, layer_of_aux(idx, DACC_L_MAXPOOL), COL_BWD);
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
    t_end(t0, layer_of_shape(DACC_L_AVGPOOL, s->ih, s->iw, s->c, -1, s->k, s->stride), COL_BWD);
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
static void w_channel_moments(size_t rows, int c, const float *x, const float *shift, double *sum,
                              double *sq) {
    stamp t0 = t_begin();
    ins.real.channel_moments(rows, c, x, shift, sum, sq);
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
    t_end(t0, layer_of(q, DACC_L_BN, 0), COL_BWD);
}
static void w_channel_affine2_relu(size_t rows, int c, const float *p, const float *q,
                                   const float *a, const float *b, const float *k, float *out) {
    stamp t0 = t_begin();
    ins.real.channel_affine2_relu(rows, c, p, q, a, b, k, out);
    t_end(t0, layer_of(q, DACC_L_BN, 0), COL_BWD);
}
static void w_dropout(size_t n, const float *x, const uint8_t *mask, float scale, float *y) {
    stamp t0 = t_begin();
    ins.real.dropout(n, x, mask, scale, y);
    t_end(t0, layer_of_aux(mask, DACC_L_DROPOUT), in_grads(x) ? COL_BWD : COL_FWD);
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
    w.conv_bwd_both = w_conv_bwd_both;
    w.maxpool_fwd = w_maxpool_fwd;
    w.maxpool_bwd = w_maxpool_bwd;
    w.maxpool_affine = w_maxpool_affine;
    w.avgpool_fwd = w_avgpool_fwd;
    w.avgpool_bwd = w_avgpool_bwd;
    w.relu_fwd = w_relu_fwd;
    w.relu_bwd = w_relu_bwd;
    w.channel_moments = w_channel_moments;
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
        double t0 = bench_now(), c0 = net_cpu_now(), el;
        do {
            ins.step_start = bench_now();
            ins.step++;
            if (infer) {
                if (t->cursor + t->batch > t->d->n) t->cursor = 0;
                dacc_model_forward(m, t->d->pixels + (size_t)t->cursor * 784, t->batch, 0, 0);
                t->cursor += t->batch;
            } else {
                net_train_step(t);
            }
            steps++;
        } while ((el = bench_now() - t0) < seconds);
        getrusage(RUSAGE_SELF, &ru1);
        if (r < 0) continue;
        wall[r] = el / steps * 1e3;
        faults[r] = (double)(ru1.ru_minflt - ru0.ru_minflt) / steps;
        sys[r] = ((ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) + 1e-6 * (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec)) /
                 th / steps * 1e3;
        cpu[r] = (net_cpu_now() - c0) / th / steps * 1e3;
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
void net_breakdown(trainer *t, int infer, int reps, double seconds) {
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
                med[row][c][k] = net_median(v, reps);
                tot[k] += med[row][c][k];
                if (c == COL_GAP) gap[k] += med[row][c][k];
                else kern[k] += med[row][c][k];
            }
    double wall_med = net_median(wall, reps), cpu_med = net_median(cpu, reps);
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
           net_median(faults, reps), net_median(sys, reps));
    printf("(conv GFLOP/s: per thread, on the kernels' CPU time)\n");
    free(faults);
    free(sys);
    free(cells);
    free(wall);
    free(cpu);
}

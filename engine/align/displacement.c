/* Displacement statistics: the accumulator (displacement.h) and measuring a
 * file by registering every transformed image back to its original. */
#include "align/displacement.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/threadpool.h"
#include "dacc/align.h"

#define BINS 2500         /* 0.01 px each, up to 25 px; beyond goes to the last bin */
#define BIN_WIDTH 0.01
#define FIXED 1e6         /* sums in micro-pixels: exact and order-independent */

struct dacc_disp_acc {
    int64_t n[DACC_DISP_ROWS];
    int64_t sum[DACC_DISP_ROWS];
    double max[DACC_DISP_ROWS];
    int64_t hist[DACC_DISP_ROWS][BINS + 1];
};

dacc_disp_acc *dacc_disp_acc_new(void) { return calloc(1, sizeof(dacc_disp_acc)); }
void dacc_disp_acc_free(dacc_disp_acc *a) { free(a); }

static void add_one(dacc_disp_acc *a, int row, double d) {
    a->n[row]++;
    a->sum[row] += (int64_t)llround(d * FIXED);
    if (d > a->max[row]) a->max[row] = d;
    int b = (int)(d / BIN_WIDTH);
    a->hist[row][b < BINS ? b : BINS]++;
}

void dacc_disp_acc_add(dacc_disp_acc *a, int cls, const uint8_t *img, int rows, int cols,
                       const double *pts) {
    double sx = cols > 1 ? 1.0 / (cols - 1) : 0, sy = rows > 1 ? 1.0 / (rows - 1) : 0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            int i = r * cols + c;
            if (img[i] < DACC_DISP_INK) continue;
            double dx = (pts[2 * i] - c * sx) * (cols - 1), dy = (pts[2 * i + 1] - r * sy) * (rows - 1);
            double d = sqrt(dx * dx + dy * dy);
            if (!(d < 1e6)) d = 1e6; /* NaN or absurd: counted as far */
            if (cls >= 0 && cls < DACC_DISP_ROWS - 1) add_one(a, cls, d);
            add_one(a, DACC_DISP_ROWS - 1, d);
        }
}

void dacc_disp_acc_merge(dacc_disp_acc *dst, const dacc_disp_acc *src) {
    for (int k = 0; k < DACC_DISP_ROWS; k++) {
        dst->n[k] += src->n[k];
        dst->sum[k] += src->sum[k];
        if (src->max[k] > dst->max[k]) dst->max[k] = src->max[k];
        for (int b = 0; b <= BINS; b++) dst->hist[k][b] += src->hist[k][b];
    }
}

/* Smallest value v (bin centre, capped by the maximum) with at least a
 * fraction q of the samples <= its bin. */
static double quantile(const dacc_disp_acc *a, int k, double q) {
    int64_t need = (int64_t)ceil(q * (double)a->n[k]), cum = 0;
    if (need < 1) need = 1;
    for (int b = 0; b <= BINS; b++) {
        cum += a->hist[k][b];
        if (cum >= need) {
            double v = b < BINS ? (b + 0.5) * BIN_WIDTH : a->max[k];
            return v < a->max[k] ? v : a->max[k];
        }
    }
    return a->max[k];
}

void dacc_disp_acc_stats(const dacc_disp_acc *a, dacc_disp_stats *s) {
    memset(s, 0, sizeof *s);
    for (int k = 0; k < DACC_DISP_ROWS; k++) {
        if (!a->n[k]) continue;
        s->count[k] = (double)a->n[k];
        s->mean[k] = (double)a->sum[k] / FIXED / (double)a->n[k];
        s->median[k] = quantile(a, k, 0.5);
        s->p95[k] = quantile(a, k, 0.95);
        s->max[k] = a->max[k];
    }
}

/* ---- measuring a file ------------------------------------------------------ */
#define MEASURE_CHUNK 16

typedef struct measure_ctx {
    const dacc_align_settings *s;
    int rows, cols;
    int64_t n;
    const uint8_t *orig, *warped, *labels;
    dacc_disp_acc *acc;
    pthread_mutex_t mu;
    int *failed;
} measure_ctx;

static void measure_task(void *vctx, int task, int ntasks) {
    (void)ntasks;
    measure_ctx *c = vctx;
    size_t px = (size_t)c->rows * c->cols;
    dacc_aligner *al = NULL;
    dacc_cpab_field f = {0};
    dacc_err e;
    dacc_disp_acc *acc = dacc_disp_acc_new();
    double *pts = malloc(sizeof(double) * 2 * px);
    double theta[4 * DACC_CPAB_MAX_SIDE * DACC_CPAB_MAX_SIDE * 2];
    if (!acc || !pts || dacc_aligner_new(c->s, c->rows, c->cols, &al, &e) ||
        dacc_cpab_field_init(&f, dacc_aligner_cpab(al), c->s->nsteps, c->s->nsub, &e)) {
        c->failed[task] = 1;
        goto done;
    }
    int64_t lo = (int64_t)task * MEASURE_CHUNK;
    int64_t hi = lo + MEASURE_CHUNK < c->n ? lo + MEASURE_CHUNK : c->n;
    for (int64_t i = lo; i < hi; i++) {
        const uint8_t *b = c->warped + (size_t)i * px;
        /* the generator's direction: b(u) = a(T(u)) */
        dacc_aligner_pair_u8(al, c->orig + (size_t)i * px, b, theta, NULL);
        dacc_cpab_field_set(&f, theta, 1.0);
        dacc_cpab_transform_grid(&f, c->rows, c->cols, pts);
        dacc_disp_acc_add(acc, c->labels[i], b, c->rows, c->cols, pts);
    }
    pthread_mutex_lock(&c->mu);
    dacc_disp_acc_merge(c->acc, acc);
    pthread_mutex_unlock(&c->mu);
done:
    dacc_cpab_field_free(&f);
    dacc_aligner_free(al);
    dacc_disp_acc_free(acc);
    free(pts);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int dacc_align_measure(const char *path, const dacc_images *base, const dacc_align_settings *s,
                       int64_t limit, int threads, int verbose, dacc_disp_stats *out, dacc_err *e) {
    dacc_alignmnist *a;
    if (dacc_alignmnist_open(path, base, &a, e)) return -1;
    int rows = dacc_alignmnist_rows(a), cols = dacc_alignmnist_cols(a);
    int blocks = dacc_alignmnist_blocks(a);
    int64_t n = dacc_alignmnist_base(a);
    if (limit > 0 && limit < n) n = limit;
    size_t px = (size_t)rows * cols;
    measure_ctx c = {s, rows, cols, n, NULL, NULL, NULL, dacc_disp_acc_new(),
                     PTHREAD_MUTEX_INITIALIZER, NULL};
    uint8_t *orig = malloc(px * (size_t)n + 1), *warped = malloc(px * (size_t)n + 1);
    uint8_t *labels = malloc((size_t)n + 1);
    int ntasks = (int)((n + MEASURE_CHUNK - 1) / MEASURE_CHUNK), rc = -1;
    c.failed = calloc((size_t)ntasks + 1, sizeof(int));
    dacc_pool *pool = dacc_pool_create(threads < 1 ? 1 : threads);
    if (!orig || !warped || !labels || !c.acc || !c.failed || !pool) {
        dacc_fail(e, "%s: out of memory (or no threads) measuring %lld images per block", path,
                  (long long)n);
        goto out;
    }
    if (blocks < 2) {
        dacc_fail(e, "%s: only block 0: nothing transformed to measure", path);
        goto out;
    }
    if (dacc_alignmnist_read(a, 0, 0, n, orig, labels, e)) goto out;
    c.orig = orig;
    c.warped = warped;
    c.labels = labels;
    double t0 = now_s();
    for (int b = 1; b < blocks; b++) {
        if (dacc_alignmnist_read(a, b, 0, n, warped, NULL, e)) goto out;
        dacc_pool_run(pool, measure_task, &c, ntasks);
        for (int k = 0; k < ntasks; k++)
            if (c.failed[k]) {
                dacc_fail(e, "%s: out of memory in a worker", path);
                goto out;
            }
        if (verbose)
            fprintf(stderr, "align: measured block %d/%d (%lld images), %.0f s\n", b, blocks - 1,
                    (long long)n, now_s() - t0);
    }
    dacc_disp_acc_stats(c.acc, out);
    rc = 0;
out:
    dacc_pool_destroy(pool);
    dacc_alignmnist_close(a);
    dacc_disp_acc_free(c.acc);
    free(c.failed);
    free(orig);
    free(warped);
    free(labels);
    return rc;
}

/* The per-class deformation model: fitting (random same-class pairs aligned
 * in parallel, worst pairs trimmed, zero-mean covariance of theta and -theta,
 * Cholesky), the class-model file, and sampling. Every random choice comes
 * from a dacc_rng stream keyed by (seed, class, pair) or (seed, image, block),
 * so results do not depend on the thread count. */
#include "dacc/align.h"
#include "dacc/fileio.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "core/rng.h"
#include "core/threadpool.h"
#include "dacc/fileio.h"

static const char MODEL_MAGIC[8] = {'D', 'A', 'C', 'C', 'A', 'L', 'G', 'N'};

static uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
#define FNV_INIT 0xcbf29ce484222325ULL

uint64_t dacc_images_hash(const dacc_images *d) {
    uint64_t h = FNV_INIT;
    int64_t shape[3] = {d->n, d->rows, d->cols};
    h = fnv1a(h, shape, sizeof shape);
    h = fnv1a(h, d->pixels, (size_t)d->n * d->rows * d->cols);
    h = fnv1a(h, d->labels, (size_t)d->n);
    return h;
}

uint64_t dacc_align_tag(int split, int block) {
    return ((uint64_t)(split + 1) << 32) | (uint32_t)block;
}

void dacc_align_model_free(dacc_align_model *m) {
    if (!m) return;
    free(m->chol);
    memset(m, 0, sizeof *m);
}

/* ---- serialisation: little-endian, field by field ----------------------- */
typedef struct buf {
    uint8_t *p;
    size_t n, cap;
    int oom;
} buf;

static void put(buf *b, const void *v, size_t n) {
    if (b->oom) return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->n + n) cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, v, n);
    b->n += n;
}
static void put_u32(buf *b, uint32_t v) {
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, x, 4);
}
static void put_u64(buf *b, uint64_t v) {
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}
static void put_f64(buf *b, double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    put_u64(b, u);
}

typedef struct rd {
    const uint8_t *p;
    size_t n, off;
    int short_read;
} rd;
static uint32_t get_u32(rd *r) {
    if (r->off + 4 > r->n) {
        r->short_read = 1;
        return 0;
    }
    const uint8_t *x = r->p + r->off;
    r->off += 4;
    return (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24;
}
static uint64_t get_u64(rd *r) {
    uint64_t lo = get_u32(r);
    return lo | (uint64_t)get_u32(r) << 32;
}
static double get_f64(rd *r) {
    uint64_t u = get_u64(r);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

static void put_settings(buf *b, const dacc_align_settings *s) {
    put_u32(b, (uint32_t)s->nx);
    put_u32(b, (uint32_t)s->ny);
    put_u32(b, (uint32_t)s->pairs_per_class);
    put_u64(b, s->seed);
    put_f64(b, s->lambda);
    put_f64(b, s->noise);
    put_f64(b, s->blur);
    put_f64(b, s->trim);
    put_f64(b, s->eps);
    put_u32(b, (uint32_t)s->max_iter);
    put_u32(b, (uint32_t)s->coarse_to_fine);
    put_u32(b, (uint32_t)s->nsteps);
    put_u32(b, (uint32_t)s->nsub);
    put_u32(b, (uint32_t)s->zero_boundary);
    put_u32(b, (uint32_t)s->prior);
    put_f64(b, s->prior_length);
    put_f64(b, s->prior_lin_ratio);
}

static void get_settings(rd *r, dacc_align_settings *s) {
    s->nx = (int)get_u32(r);
    s->ny = (int)get_u32(r);
    s->pairs_per_class = (int)get_u32(r);
    s->seed = get_u64(r);
    s->lambda = get_f64(r);
    s->noise = get_f64(r);
    s->blur = get_f64(r);
    s->trim = get_f64(r);
    s->eps = get_f64(r);
    s->max_iter = (int)get_u32(r);
    s->coarse_to_fine = (int)get_u32(r);
    s->nsteps = (int)get_u32(r);
    s->nsub = (int)get_u32(r);
    s->zero_boundary = (int)get_u32(r);
    s->prior = (int)get_u32(r);
    s->prior_length = get_f64(r);
    s->prior_lin_ratio = get_f64(r);
}

uint64_t dacc_align_settings_hash(const dacc_align_settings *s, uint64_t train_hash) {
    buf b = {0};
    put_u32(&b, DACC_ALIGN_MODEL_VERSION);
    put_settings(&b, s);
    put_u64(&b, train_hash);
    uint64_t h = b.oom ? 0 : fnv1a(FNV_INIT, b.p, b.n);
    free(b.p);
    return h;
}

static int serialise(const dacc_align_model *m, buf *b) {
    put(b, MODEL_MAGIC, 8);
    put_u32(b, DACC_ALIGN_MODEL_VERSION);
    put_u32(b, (uint32_t)m->rows);
    put_u32(b, (uint32_t)m->cols);
    put_u32(b, (uint32_t)m->d);
    put_u32(b, (uint32_t)m->nclasses);
    put_settings(b, &m->fit);
    put_u64(b, m->train_hash);
    for (int k = 0; k < m->nclasses; k++) {
        put_u32(b, (uint32_t)m->pairs[k]);
        put_u32(b, (uint32_t)m->kept[k]);
        put_f64(b, m->rms_before[k]);
        put_f64(b, m->rms_after[k]);
        put_f64(b, m->theta_rms[k]);
    }
    int d = m->d;
    for (int k = 0; k < m->nclasses; k++)
        for (int i = 0; i < d; i++)
            for (int j = 0; j <= i; j++) put_f64(b, m->chol[((size_t)k * d + i) * d + j]);
    uint32_t crc = b->oom ? 0 : (uint32_t)crc32(0L, b->p, (uInt)b->n);
    put_u32(b, crc);
    return b->oom ? -1 : 0;
}

uint64_t dacc_align_model_hash(const dacc_align_model *m) {
    buf b = {0};
    uint64_t h = serialise(m, &b) ? 0 : fnv1a(FNV_INIT, b.p, b.n);
    free(b.p);
    return h;
}

int dacc_align_model_save(const dacc_align_model *m, const char *path, dacc_err *e) {
    buf b = {0};
    if (serialise(m, &b)) {
        free(b.p);
        return dacc_fail(e, "%s: out of memory serialising the class model", path);
    }
    int rc = dacc_write_file_atomic(path, b.p, b.n, e);
    free(b.p);
    return rc;
}

/* Ranges a loaded model's fields must lie in: what `dacc align` can fit
 * (images 28x28, tessellation up to DACC_CPAB_MAX_SIDE, --pairs 2..100000,
 * --fit-seed 0..2^31-1) with room for hand-set fit settings, but never a
 * value that would hang or crash the generator (nsteps 2^31-1, 0). */
#define MODEL_MAX_STEPS 1000
#define MODEL_MAX_ITER 10000

static int finite_in(double v, double lo, double hi) { return isfinite(v) && v >= lo && v <= hi; }

static int check_model_header(const dacc_align_model *m, const char *path, dacc_err *e) {
    const dacc_align_settings *s = &m->fit;
    const char *bad = NULL;
    if (m->nclasses < 1 || m->nclasses > DACC_ALIGN_CLASSES) bad = "classes (1..10)";
    else if (m->rows != DACC_MNIST_SIDE || m->cols != DACC_MNIST_SIDE) bad = "image size (28x28)";
    else if (s->nx < 1 || s->ny < 1 || s->nx > DACC_CPAB_MAX_SIDE || s->ny > DACC_CPAB_MAX_SIDE)
        bad = "tessellation (1..16 per side)";
    else if (m->d < 1 || m->d > 4 * DACC_CPAB_MAX_SIDE * DACC_CPAB_MAX_SIDE * 2) bad = "d";
    else if (s->pairs_per_class < 2 || s->pairs_per_class > 100000) bad = "pairs per class";
    else if (s->seed > 2147483647u) bad = "fit seed";
    else if (!finite_in(s->lambda, 0, 1e6)) bad = "lambda";
    else if (!finite_in(s->noise, 1e-9, 1e6)) bad = "noise";
    else if (!finite_in(s->blur, 0, 100)) bad = "blur";
    else if (!finite_in(s->trim, 0, 0.5) || s->trim == 0.5) bad = "trim";
    else if (!finite_in(s->eps, 0, 1e6)) bad = "eps";
    else if (s->max_iter < 0 || s->max_iter > MODEL_MAX_ITER) bad = "max_iter";
    else if (s->coarse_to_fine != 0 && s->coarse_to_fine != 1) bad = "coarse_to_fine";
    else if (s->nsteps < 1 || s->nsteps > MODEL_MAX_STEPS) bad = "nsteps (1..1000)";
    else if (s->nsub < 1 || s->nsub > MODEL_MAX_STEPS) bad = "nsub (1..1000)";
    else if (s->zero_boundary != 0 && s->zero_boundary != 1) bad = "zero_boundary (0 or 1)";
    else if (s->prior != DACC_PRIOR_SMOOTH && s->prior != DACC_PRIOR_ISOTROPIC) bad = "prior (0 or 1)";
    else if (!finite_in(s->prior_length, 0, 1e6)) bad = "prior length";
    else if (!finite_in(s->prior_lin_ratio, 0, 1e6)) bad = "prior linear ratio";
    if (bad)
        return dacc_fail(e, "%s: class model header field out of range: %s (classes %d, d %d, "
                            "image %dx%d, tessellation %dx%d, nsteps %d, nsub %d)",
                         path, bad, m->nclasses, m->d, m->rows, m->cols, s->nx, s->ny, s->nsteps,
                         s->nsub);
    /* d in closed form: exact with a zero boundary, a lower bound without
     * (check_model_basis then builds the basis, after the file size agrees) */
    int lo = dacc_cpab_dim(s->nx, s->ny, s->zero_boundary);
    if (s->zero_boundary ? m->d != lo : m->d < lo)
        return dacc_fail(e, "%s: d = %d but tessellation [%d,%d] has d %s %d", path, m->d, s->nx,
                         s->ny, s->zero_boundary ? "=" : ">=", lo);
    return 0;
}

/* A free-boundary tessellation's d can exceed dacc_cpab_dim (dependent
 * constraints): only its basis tells. That costs up to seconds for 16x16,
 * so it runs last, once the file's size has confirmed d. */
static int check_model_basis(const dacc_align_model *m, const char *path, dacc_err *e) {
    const dacc_align_settings *s = &m->fit;
    if (s->zero_boundary) return 0;
    dacc_cpab t;
    dacc_err e2;
    if (dacc_cpab_init(&t, s->nx, s->ny, s->zero_boundary, &e2)) return dacc_fail(e, "%s: %s", path, e2.msg);
    int dt = t.d;
    dacc_cpab_free(&t);
    if (dt != m->d)
        return dacc_fail(e, "%s: d = %d but tessellation [%d,%d] has d = %d", path, m->d, s->nx,
                         s->ny, dt);
    return 0;
}

/* Per-class statistics: counts within the fit's pairs, finite RMS values. */
static int check_model_stats(const dacc_align_model *m, const char *path, dacc_err *e) {
    for (int k = 0; k < m->nclasses; k++)
        if (m->pairs[k] < 0 || m->pairs[k] > 2 * m->fit.pairs_per_class || m->kept[k] < 0 ||
            m->kept[k] > m->pairs[k] || !finite_in(m->rms_before[k], 0, 1e6) ||
            !finite_in(m->rms_after[k], 0, 1e6) || !finite_in(m->theta_rms[k], 0, 1e6))
            return dacc_fail(e, "%s: class %d: statistics out of range (pairs %d, kept %d)", path,
                             k, m->pairs[k], m->kept[k]);
    return 0;
}

/* The Cholesky factors (lower triangles, row by row) into m->chol: every
 * entry finite, every diagonal positive. */
static int read_chol(dacc_align_model *m, rd *r, const char *path, dacc_err *e) {
    size_t d = (size_t)m->d;
    m->chol = calloc((size_t)m->nclasses * d * d, sizeof(double));
    if (!m->chol) return dacc_fail(e, "%s: out of memory", path);
    for (int k = 0; k < m->nclasses; k++)
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j <= i; j++) m->chol[((size_t)k * d + i) * d + j] = get_f64(r);
    for (int k = 0; k < m->nclasses; k++)
        for (size_t i = 0; i < d; i++) {
            for (size_t j = 0; j < i; j++)
                if (!isfinite(m->chol[((size_t)k * d + i) * d + j]))
                    return dacc_fail(e, "%s: class %d: Cholesky factor is not finite at (%zu, %zu)",
                                     path, k, i, j);
            double v = m->chol[((size_t)k * d + i) * d + i];
            if (!(v > 0) || !isfinite(v))
                return dacc_fail(e, "%s: class %d: Cholesky factor has diagonal %g at %zu", path,
                                 k, v, i);
        }
    return 0;
}

int dacc_align_model_load(const char *path, dacc_align_model *m, dacc_err *e) {
    memset(m, 0, sizeof *m);
    char *raw;
    size_t n;
    if (dacc_read_file(path, (size_t)64 << 20, &raw, &n, e))
        return dacc_fail_wrap(e, "cannot read class model");
    uint8_t *data = (uint8_t *)raw;
    int rc = -1;
    if (n < 8 + 4 + 4 || memcmp(data, MODEL_MAGIC, 8) != 0) {
        dacc_fail(e, "%s: not a dacc class model (bad magic)", path);
        goto out;
    }
    uint32_t want = (uint32_t)crc32(0L, data, (uInt)(n - 4));
    rd r = {data, n, 8, 0};
    uint32_t version = get_u32(&r);
    if (version != DACC_ALIGN_MODEL_VERSION) {
        dacc_fail(e, "%s: class model version %u, this dacc reads version %d", path, version,
                  DACC_ALIGN_MODEL_VERSION);
        goto out;
    }
    m->rows = (int)get_u32(&r);
    m->cols = (int)get_u32(&r);
    m->d = (int)get_u32(&r);
    m->nclasses = (int)get_u32(&r);
    get_settings(&r, &m->fit);
    m->train_hash = get_u64(&r);
    if (r.short_read) {
        dacc_fail(e, "%s: truncated (%zu bytes, shorter than the header)", path, n);
        goto out;
    }
    if (check_model_header(m, path, e)) goto out;
    {
        size_t dd = (size_t)m->d;
        size_t expect = r.off + (size_t)m->nclasses * (8 + 24) + (size_t)m->nclasses * dd * (dd + 1) / 2 * 8 + 4;
        if (expect != n) {
            dacc_fail(e, "%s: %zu bytes, but its header implies %zu (%s)", path, n, expect,
                      n < expect ? "truncated" : "trailing bytes");
            goto out;
        }
        rd tail = {data, n, n - 4, 0};
        uint32_t have = get_u32(&tail);
        if (have != want) {
            dacc_fail(e, "%s: CRC32 mismatch (stored %08x, computed %08x): file is damaged", path,
                      have, want);
            goto out;
        }
    }
    if (check_model_basis(m, path, e)) goto out;
    for (int k = 0; k < m->nclasses; k++) {
        m->pairs[k] = (int32_t)get_u32(&r);
        m->kept[k] = (int32_t)get_u32(&r);
        m->rms_before[k] = get_f64(&r);
        m->rms_after[k] = get_f64(&r);
        m->theta_rms[k] = get_f64(&r);
    }
    if (check_model_stats(m, path, e)) goto out;
    size_t d = (size_t)m->d;
    size_t expect = r.off + (size_t)m->nclasses * d * (d + 1) / 2 * 8 + 4;
    if (expect != n) {
        dacc_fail(e, "%s: size %zu bytes, the header implies %zu", path, n, expect);
        goto out;
    }
    rc = read_chol(m, &r, path, e);
out:
    free(data);
    if (rc) dacc_align_model_free(m);
    return rc;
}

/* theta = scale L_cls z, z the next d normals of r. */
static void sample_from(const dacc_align_model *m, int cls, double scale, dacc_rng *r, double *theta) {
    int d = m->d;
    double z[4 * DACC_CPAB_MAX_SIDE * DACC_CPAB_MAX_SIDE * 2];
    for (int j = 0; j < d; j++) z[j] = dacc_rng_normal(r);
    const double *L = m->chol + (size_t)cls * d * d;
    for (int i = 0; i < d; i++) {
        double s = 0;
        for (int j = 0; j <= i; j++) s += L[(size_t)i * d + j] * z[j];
        theta[i] = scale * s;
    }
}

int dacc_align_sample(const dacc_align_model *m, int cls, double scale, uint64_t seed,
                      uint64_t index, uint64_t tag, double *theta) {
    if (cls < 0 || cls >= m->nclasses) return -1;
    dacc_rng r;
    dacc_rng_seed(&r, seed, DACC_STREAM_ALIGN, index, tag);
    sample_from(m, cls, scale, &r, theta);
    return 0;
}

int dacc_align_augment_theta(const dacc_align_model *m, int cls, double scale, uint64_t seed,
                             int epoch, uint64_t index, double *theta) {
    if (cls < 0 || cls >= m->nclasses || epoch < 0) return -1;
    dacc_rng r;
    dacc_rng_seed(&r, seed, DACC_STREAM_AUGMENT, (uint64_t)epoch, index);
    sample_from(m, cls, scale, &r, theta);
    return 0;
}

/* ---- fitting ------------------------------------------------------------- */
#define FIT_CHUNK 16
#define FIT_TAG (UINT64_C(0xF17) << 40)

typedef struct fit_ctx {
    const dacc_align_settings *s;
    const dacc_images *train;
    int32_t *idx[DACC_ALIGN_CLASSES];
    int64_t nidx[DACC_ALIGN_CLASSES];
    int npairs, d;
    double *theta, *rms0, *rms1;
    int *failed; /* per chunk */
    int verbose;
    pthread_mutex_t mu;
    int done;
    double t0, last;
} fit_ctx;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void fit_task(void *vctx, int task, int ntasks) {
    (void)ntasks;
    fit_ctx *c = vctx;
    dacc_aligner *al;
    dacc_err e;
    int total = DACC_ALIGN_CLASSES * c->npairs;
    int lo = task * FIT_CHUNK, hi = lo + FIT_CHUNK < total ? lo + FIT_CHUNK : total;
    if (dacc_aligner_new(c->s, c->train->rows, c->train->cols, &al, &e)) {
        c->failed[task] = 1;
        return;
    }
    size_t px = (size_t)c->train->rows * c->train->cols;
    for (int i = lo; i < hi; i++) {
        int k = i / c->npairs, p = i % c->npairs;
        dacc_rng r;
        dacc_rng_seed(&r, c->s->seed, DACC_STREAM_ALIGN, ((uint64_t)k << 32) | (uint32_t)p, FIT_TAG);
        uint32_t n = (uint32_t)c->nidx[k];
        uint32_t a = dacc_rng_below(&r, n), b = dacc_rng_below(&r, n - 1);
        if (b >= a) b++; /* a distinct second image */
        const uint8_t *ia = c->train->pixels + (size_t)c->idx[k][a] * px;
        const uint8_t *ib = c->train->pixels + (size_t)c->idx[k][b] * px;
        dacc_align_result res;
        dacc_aligner_pair_u8(al, ia, ib, c->theta + (size_t)i * c->d, &res);
        c->rms0[i] = res.rms_before;
        c->rms1[i] = res.rms_after;
        if (c->verbose) {
            pthread_mutex_lock(&c->mu);
            c->done++;
            double t = now_s();
            if (t - c->last >= 5.0 || c->done == total) {
                c->last = t;
                double el = t - c->t0;
                fprintf(stderr, "align: fit %d/%d pairs (%.0f%%), %.0f s elapsed, ~%.0f s left\n",
                        c->done, total, 100.0 * c->done / total, el,
                        el / c->done * (total - c->done));
            }
            pthread_mutex_unlock(&c->mu);
        }
    }
    dacc_aligner_free(al);
}

typedef struct rank_item {
    double rms;
    int i;
} rank_item;

static int cmp_rank(const void *a, const void *b) {
    const rank_item *x = a, *y = b;
    if (x->rms < y->rms) return -1;
    if (x->rms > y->rms) return 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* c->idx[k]: the indices of class k's training images; every class needs
 * two (a pair). */
static int index_classes(fit_ctx *c, const dacc_images *train, dacc_err *e) {
    for (int64_t i = 0; i < train->n; i++)
        if (train->labels[i] < DACC_ALIGN_CLASSES) c->nidx[train->labels[i]]++;
    for (int k = 0; k < DACC_ALIGN_CLASSES; k++) {
        if (c->nidx[k] < 2)
            return dacc_fail(e, "align fit: class %d has %lld training images (need >= 2)", k,
                             (long long)c->nidx[k]);
        c->idx[k] = malloc(sizeof(int32_t) * (size_t)c->nidx[k]);
        if (!c->idx[k]) return dacc_fail(e, "align fit: out of memory");
        c->nidx[k] = 0;
    }
    for (int64_t i = 0; i < train->n; i++) {
        int k = train->labels[i];
        if (k < DACC_ALIGN_CLASSES) c->idx[k][c->nidx[k]++] = (int32_t)i;
    }
    return 0;
}

/* Class k's prior from its fitted pairs: the `keep` pairs with the lowest
 * residual rms, their theta's second moment plus a jitter of eps x the mean
 * variance, Cholesky-factored into m->chol; also the class's fit statistics.
 * rank (npairs items) and sig (d x d) are scratch. */
static int class_prior(const fit_ctx *c, int k, int keep, rank_item *rank, double *sig, dacc_align_model *m,
                       dacc_err *e) {
    int d = c->d;
    for (int p = 0; p < c->npairs; p++) {
        rank[p].rms = c->rms1[k * c->npairs + p];
        rank[p].i = k * c->npairs + p;
    }
    qsort(rank, (size_t)c->npairs, sizeof *rank, cmp_rank);
    memset(sig, 0, sizeof(double) * (size_t)d * d);
    double r0 = 0, r1 = 0;
    for (int q = 0; q < keep; q++) {
        const double *th = c->theta + (size_t)rank[q].i * d;
        for (int i = 0; i < d; i++)
            for (int j = 0; j <= i; j++) sig[(size_t)i * d + j] += th[i] * th[j];
        r0 += c->rms0[rank[q].i];
        r1 += c->rms1[rank[q].i];
    }
    double tr = 0;
    for (int i = 0; i < d; i++)
        for (int j = 0; j <= i; j++) {
            double v = sig[(size_t)i * d + j] / keep;
            sig[(size_t)i * d + j] = sig[(size_t)j * d + i] = v;
        }
    for (int i = 0; i < d; i++) tr += sig[(size_t)i * d + i];
    double jitter = c->s->eps * tr / d + 1e-12;
    for (int i = 0; i < d; i++) sig[(size_t)i * d + i] += jitter;
    if (dacc_cholesky(sig, d))
        return dacc_fail(e, "align fit: class %d: covariance is not positive definite", k);
    memcpy(m->chol + (size_t)k * d * d, sig, sizeof(double) * (size_t)d * d);
    m->pairs[k] = c->npairs;
    m->kept[k] = keep;
    m->rms_before[k] = r0 / keep;
    m->rms_after[k] = r1 / keep;
    m->theta_rms[k] = sqrt(tr / d);
    if (c->verbose)
        fprintf(stderr, "align: class %d: kept %d/%d pairs, rms %.4f -> %.4f, theta rms %.4f\n", k, keep,
                c->npairs, m->rms_before[k], m->rms_after[k], m->theta_rms[k]);
    return 0;
}

int dacc_align_model_fit(const dacc_align_settings *s, const dacc_images *train, int threads,
                         int verbose, dacc_align_model *m, dacc_err *e) {
    memset(m, 0, sizeof *m);
    if (dacc_images_check_mnist(train, "training images", e)) return -1;
    if (s->pairs_per_class < 2)
        return dacc_fail(e, "align fit: pairs per class %d (need >= 2)", s->pairs_per_class);
    if (!(s->trim >= 0 && s->trim < 0.5))
        return dacc_fail(e, "align fit: trim %g must be in [0, 0.5)", s->trim);
    fit_ctx c;
    memset(&c, 0, sizeof c);
    c.s = s;
    c.train = train;
    c.npairs = s->pairs_per_class;
    c.verbose = verbose;
    int rc = -1;
    dacc_pool *pool = NULL;
    rank_item *rank = NULL;
    double *sig = NULL;
    dacc_aligner *probe;
    if (dacc_aligner_new(s, train->rows, train->cols, &probe, e)) return dacc_fail_wrap(e, "align fit");
    c.d = dacc_aligner_cpab(probe)->d;
    dacc_aligner_free(probe);
    if (index_classes(&c, train, e)) goto out;
    int total = DACC_ALIGN_CLASSES * c.npairs;
    int ntasks = (total + FIT_CHUNK - 1) / FIT_CHUNK;
    c.theta = malloc(sizeof(double) * (size_t)total * c.d);
    c.rms0 = malloc(sizeof(double) * (size_t)total);
    c.rms1 = malloc(sizeof(double) * (size_t)total);
    c.failed = calloc((size_t)ntasks, sizeof(int));
    rank = malloc(sizeof(rank_item) * (size_t)c.npairs);
    sig = malloc(sizeof(double) * (size_t)c.d * c.d);
    m->chol = calloc((size_t)DACC_ALIGN_CLASSES * c.d * c.d, sizeof(double));
    if (!c.theta || !c.rms0 || !c.rms1 || !c.failed || !rank || !sig || !m->chol) goto oom;
    pool = dacc_pool_create(threads < 1 ? 1 : threads);
    if (!pool) goto oom;
    pthread_mutex_init(&c.mu, NULL);
    c.t0 = c.last = now_s();
    if (verbose)
        fprintf(stderr, "align: fitting the class model: %d pairs per class, tessellation [%d,%d], %d threads\n",
                c.npairs, s->nx, s->ny, dacc_pool_threads(pool));
    dacc_pool_run(pool, fit_task, &c, ntasks);
    pthread_mutex_destroy(&c.mu);
    for (int t = 0; t < ntasks; t++)
        if (c.failed[t]) {
            dacc_fail(e, "align fit: out of memory in a worker");
            goto out;
        }

    m->fit = *s;
    m->rows = train->rows;
    m->cols = train->cols;
    m->d = c.d;
    m->nclasses = DACC_ALIGN_CLASSES;
    m->train_hash = dacc_images_hash(train);
    int keep = c.npairs - (int)floor(s->trim * c.npairs);
    for (int k = 0; k < DACC_ALIGN_CLASSES; k++)
        if (class_prior(&c, k, keep, rank, sig, m, e)) goto out;
    if (verbose) fprintf(stderr, "align: fit done in %.1f s\n", now_s() - c.t0);
    rc = 0;
    goto out;
oom:
    dacc_fail(e, "align fit: out of memory");
out:
    dacc_pool_destroy(pool);
    for (int k = 0; k < DACC_ALIGN_CLASSES; k++) free(c.idx[k]);
    free(c.theta);
    free(c.rms0);
    free(c.rms1);
    free(c.failed);
    free(rank);
    free(sig);
    if (rc) dacc_align_model_free(m);
    return rc;
}

/* Making AlignMNIST-layout files from a class model, and the cache that
 * keeps them: block b of image i is warped by theta = scale * L_k z with z
 * from the stream (seed, ALIGN, i, tag(split, b)), so every byte depends only
 * on the parameters, never on the thread count. Files are named by a hash of
 * everything they depend on; the npz writer is atomic, so a file that exists
 * under its final name is complete. */
#include "dacc/fileio.h"
#include "dacc/align.h"

#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "align/displacement.h"
#include "core/threadpool.h"
#include "dacc/alignmnist.h"
#include "dacc/npz.h"

/* Bump when the generator's output for the same parameters changes. */
#define GEN_VERSION 2
#define GEN_CHUNK 500

void dacc_align_options_default(dacc_align_options *o) {
    memset(o, 0, sizeof *o);
    o->blocks = 5;
    o->seed = 1;
    o->scale = DACC_ALIGN_DEFAULT_SCALE;
    o->pairs_per_class = 1000;
    o->threads = dacc_default_threads();
    o->fit_seed = 1;
    dacc_align_settings s;
    dacc_align_settings_default(&s);
    o->zero_boundary = s.zero_boundary;
    o->prior = s.prior;
    o->lambda = s.lambda;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct gen_ctx {
    const dacc_align_model *m;
    const dacc_cpab *t;
    const dacc_images *src;
    int split, block;
    uint64_t seed;
    double scale;
    uint8_t *out;
    int *failed;
    dacc_disp_acc *disp; /* optional: displacement statistics of the block */
    pthread_mutex_t *mu;
} gen_ctx;

static void gen_task(void *vctx, int task, int ntasks) {
    (void)ntasks;
    gen_ctx *c = vctx;
    dacc_cpab_field f;
    dacc_err e;
    if (dacc_cpab_field_init(&f, c->t, c->m->fit.nsteps, c->m->fit.nsub, &e)) {
        c->failed[task] = 1;
        return;
    }
    double theta[4 * DACC_CPAB_MAX_SIDE * DACC_CPAB_MAX_SIDE * 2];
    size_t px = (size_t)c->src->rows * c->src->cols;
    dacc_disp_acc *acc = c->disp ? dacc_disp_acc_new() : NULL;
    double *pts = c->disp ? malloc(sizeof(double) * 2 * px) : NULL;
    if (c->disp && (!acc || !pts)) {
        c->failed[task] = 1;
        goto done;
    }
    int64_t lo = (int64_t)task * GEN_CHUNK, hi = lo + GEN_CHUNK < c->src->n ? lo + GEN_CHUNK : c->src->n;
    uint64_t tag = dacc_align_tag(c->split, c->block);
    for (int64_t i = lo; i < hi; i++) {
        if (dacc_align_sample(c->m, c->src->labels[i], c->scale, c->seed, (uint64_t)i, tag, theta)) {
            c->failed[task] = 2;
            break;
        }
        dacc_cpab_field_set(&f, theta, 1.0);
        uint8_t *o = c->out + (size_t)i * px;
        dacc_cpab_warp_u8(&f, c->src->pixels + (size_t)i * px, c->src->rows, c->src->cols, o, pts);
        if (acc) dacc_disp_acc_add(acc, c->src->labels[i], o, c->src->rows, c->src->cols, pts);
    }
    if (acc) { /* integer sums: the merge order does not matter */
        pthread_mutex_lock(c->mu);
        dacc_disp_acc_merge(c->disp, acc);
        pthread_mutex_unlock(c->mu);
    }
done:
    dacc_disp_acc_free(acc);
    free(pts);
    dacc_cpab_field_free(&f);
}

/* With a pool the caller owns (NULL: make one for this call). */
static int generate_block(const dacc_align_model *m, const dacc_cpab *t, const dacc_images *src,
                          int split, int block, uint64_t seed, double scale, dacc_pool *pool,
                          uint8_t *out, dacc_disp_acc *disp, dacc_err *e) {
    if (src->rows != m->rows || src->cols != m->cols)
        return dacc_fail(e, "align: images are %dx%d but the class model was fitted on %dx%d",
                         src->rows, src->cols, m->rows, m->cols);
    int ntasks = (int)((src->n + GEN_CHUNK - 1) / GEN_CHUNK);
    if (ntasks == 0) return 0;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    gen_ctx c = {m,     t,     src, split, block, seed, scale,
                 out,   calloc((size_t)ntasks, sizeof(int)), disp, &mu};
    if (!c.failed) return dacc_fail(e, "align: out of memory");
    dacc_pool_run(pool, gen_task, &c, ntasks);
    int rc = 0;
    for (int k = 0; k < ntasks && !rc; k++) {
        if (c.failed[k] == 1) rc = dacc_fail(e, "align: out of memory in a worker");
        if (c.failed[k] == 2)
            rc = dacc_fail(e, "align: a label is outside the class model's %d classes", m->nclasses);
    }
    free(c.failed);
    return rc;
}

int dacc_align_generate_block(const dacc_align_model *m, const dacc_images *src, int split,
                              int block, uint64_t seed, double scale, int threads, uint8_t *out,
                              dacc_err *e) {
    dacc_cpab t;
    if (dacc_cpab_init(&t, m->fit.nx, m->fit.ny, m->fit.zero_boundary, e)) return dacc_fail_wrap(e, "align");
    if (t.d != m->d) {
        dacc_cpab_free(&t);
        return dacc_fail(e, "align: class model has d = %d, tessellation gives %d", m->d, t.d);
    }
    dacc_pool *pool = dacc_pool_create(threads < 1 ? 1 : threads);
    if (!pool) {
        dacc_cpab_free(&t);
        return dacc_fail(e, "align: cannot create threads");
    }
    int rc = generate_block(m, &t, src, split, block, seed, scale, pool, out, NULL, e);
    dacc_pool_destroy(pool);
    dacc_cpab_free(&t);
    return rc;
}

int dacc_alignmnist_write(const char *path, const dacc_align_model *m, const dacc_images *src,
                          int split, int blocks, uint64_t seed, double scale, int threads,
                          int verbose, dacc_disp_stats *stats, dacc_err *e) {
    if (blocks < 0 || blocks > 75) return dacc_fail(e, "%s: blocks %d must be 0..75", path, blocks);
    size_t px = (size_t)src->rows * src->cols, n = (size_t)src->n;
    int64_t total = (int64_t)n * (blocks + 1);
    uint8_t *buf = malloc(n * px > 0 ? n * px : 1);
    double *y = malloc(sizeof(double) * (size_t)(total ? total : 1));
    dacc_cpab t;
    memset(&t, 0, sizeof t);
    dacc_pool *pool = NULL;
    dacc_npz_writer *w = NULL;
    dacc_disp_acc *disp = dacc_disp_acc_new();
    int rc = -1;
    if (!buf || !y || !disp) {
        dacc_fail(e, "%s: out of memory for %zu images", path, n);
        goto out;
    }
    if (dacc_cpab_init(&t, m->fit.nx, m->fit.ny, m->fit.zero_boundary, e)) goto out;
    if (t.d != m->d) {
        dacc_fail(e, "%s: class model has d = %d, tessellation gives %d", path, m->d, t.d);
        goto out;
    }
    pool = dacc_pool_create(threads < 1 ? 1 : threads);
    if (!pool) {
        dacc_fail(e, "%s: cannot create threads", path);
        goto out;
    }
    if (dacc_npz_writer_open(path, 0, &w, e)) goto out;
    int64_t xshape[3] = {total, src->rows, src->cols};
    if (dacc_npz_writer_begin(w, "x", "|u1", 3, xshape, e) ||
        dacc_npz_writer_write(w, src->pixels, n * px, e))
        goto out;
    double t0 = now_s();
    for (int b = 1; b <= blocks; b++) {
        if (generate_block(m, &t, src, split, b, seed, scale, pool, buf, disp, e)) goto out;
        if (dacc_npz_writer_write(w, buf, n * px, e)) goto out;
        if (verbose)
            fprintf(stderr, "align: %s block %d/%d (%zu images) done, %.1f s\n",
                    split ? "test" : "train", b, blocks, n, now_s() - t0);
    }
    if (dacc_npz_writer_end(w, e)) goto out;
    for (int64_t k = 0; k < total; k++) y[k] = src->labels[k % (int64_t)n];
    int64_t yshape[1] = {total};
    if (dacc_npz_writer_add(w, "y", "<f8", 1, yshape, y, e)) goto out;
    dacc_disp_stats ds;
    dacc_disp_acc_stats(disp, &ds);
    if (stats) *stats = ds;
    double dv[DACC_DISP_ROWS * 5];
    dacc_disp_stats_pack(&ds, dv);
    int64_t dshape[2] = {DACC_DISP_ROWS, 5};
    if (dacc_npz_writer_add(w, DACC_DISP_MEMBER, "<f8", 2, dshape, dv, e)) goto out;
    dacc_npz_writer *wc = w;
    w = NULL;
    if (dacc_npz_writer_close(wc, e)) goto out;
    rc = 0;
out:
    if (rc) {
        dacc_npz_writer_abort(w);
        dacc_fail_wrap(e, "generating %s", path);
    }
    dacc_pool_destroy(pool);
    dacc_cpab_free(&t);
    dacc_disp_acc_free(disp);
    free(buf);
    free(y);
    return rc;
}

/* ---- the cache ------------------------------------------------------------- */
static int readable(const char *p) { return access(p, R_OK) == 0; }

int dacc_align_default_model_path(char *out, size_t n) {
    const char *env = getenv("DACC_ALIGN_MODEL");
    if (env && *env) {
        snprintf(out, n, "%s", env);
        return readable(out) ? 0 : -1;
    }
    /* Where CMake installs it (cmake --install), then the source tree this
     * library was built from, then beside a relocated executable
     * (<prefix>/bin/dacc -> <prefix>/share/dacc/). */
    static const char *const fixed[] = {DACC_CLASS_MODEL_INSTALLED, DACC_CLASS_MODEL_SOURCE};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if ((size_t)snprintf(out, n, "%s", fixed[i]) < n && readable(out)) return 0;
    char exe[4096];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k > 0) {
        exe[k] = 0;
        if ((size_t)snprintf(out, n, "%s/../share/dacc/alignclass-4x4.bin", dirname(exe)) < n &&
            readable(out))
            return 0;
    }
    if (n) out[0] = 0;
    return -1;
}

static int cache_folder(const dacc_align_options *o, char *out, size_t n, dacc_err *e) {
    if (o->cache_dir && *o->cache_dir) {
        if ((size_t)snprintf(out, n, "%s", o->cache_dir) >= n)
            return dacc_fail(e, "%s: path too long", o->cache_dir);
    } else {
        char base[4096];
        if (dacc_data_cache_dir(base, sizeof base, e)) return -1;
        if ((size_t)snprintf(out, n, "%s/alignmnist", base) >= n)
            return dacc_fail(e, "%s/alignmnist: path too long", base);
    }
    return dacc_mkdir_p(out, e);
}

void dacc_align_options_fit_settings(const dacc_align_options *o, dacc_align_settings *s) {
    dacc_align_settings_default(s);
    if (o->pairs_per_class > 0) s->pairs_per_class = o->pairs_per_class;
    s->seed = o->fit_seed;
    s->zero_boundary = o->zero_boundary;
    s->prior = o->prior;
    s->lambda = o->lambda;
}

int dacc_align_model_ensure(const dacc_align_options *o, const dacc_images *train,
                            dacc_align_model *m, char *path, size_t path_len, dacc_err *e) {
    memset(m, 0, sizeof *m);
    if (o->class_model && *o->class_model) {
        if (dacc_align_model_load(o->class_model, m, e)) return -1;
        if (path_len) snprintf(path, path_len, "%s", o->class_model);
        return 0;
    }
    if (!train) return dacc_fail(e, "align: no training images to find or fit the class model");
    char dir[4096];
    if (cache_folder(o, dir, sizeof dir, e)) return -1;
    dacc_align_settings s;
    dacc_align_options_fit_settings(o, &s);
    uint64_t th = dacc_images_hash(train);
    uint64_t want = dacc_align_settings_hash(&s, th);
    char cached[4200];
    snprintf(cached, sizeof cached, "%s/alignclass-%dx%d-%016llx.bin", dir, s.nx, s.ny,
             (unsigned long long)want);
    dacc_err e2;
    if (readable(cached)) {
        if (dacc_align_model_load(cached, m, &e2) == 0 &&
            dacc_align_settings_hash(&m->fit, m->train_hash) == want) {
            if (path_len) snprintf(path, path_len, "%s", cached);
            return 0;
        }
        dacc_align_model_free(m);
        if (o->verbose) fprintf(stderr, "align: ignoring cached model (%s); refitting\n", e2.msg);
    }
    char shipped[4096];
    if (dacc_align_default_model_path(shipped, sizeof shipped) == 0) {
        if (dacc_align_model_load(shipped, m, &e2) == 0) {
            if (dacc_align_settings_hash(&m->fit, m->train_hash) == want) {
                if (path_len) snprintf(path, path_len, "%s", shipped);
                return 0;
            }
            dacc_align_model_free(m);
            if (o->verbose)
                fprintf(stderr, "align: the shipped model %s was fitted with other settings or data; fitting anew\n",
                        shipped);
        } else if (o->verbose) {
            fprintf(stderr, "align: cannot use the shipped model: %s\n", e2.msg);
        }
    }
    if (dacc_align_model_fit(&s, train, o->threads, o->verbose, m, e)) return -1;
    if (dacc_align_model_save(m, cached, e)) {
        dacc_align_model_free(m);
        return -1;
    }
    if (o->verbose) fprintf(stderr, "align: class model cached in %s\n", cached);
    if (path_len) snprintf(path, path_len, "%s", cached);
    return 0;
}

static uint64_t fnv_u64(uint64_t h, uint64_t v) {
    for (int i = 0; i < 8; i++) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t output_hash(uint64_t model_hash, uint64_t images_hash, int split, int blocks,
                            uint64_t seed, double scale) {
    uint64_t sb;
    memcpy(&sb, &scale, 8);
    uint64_t h = 0xcbf29ce484222325ULL;
    uint64_t parts[] = {GEN_VERSION, model_hash, images_hash, (uint64_t)split, (uint64_t)blocks,
                        seed, sb};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) h = fnv_u64(h, parts[i]);
    return h;
}

int dacc_alignmnist_ensure(const dacc_align_options *o, const dacc_images *train,
                           const dacc_images *test, char *train_npz, char *test_npz,
                           size_t path_len, dacc_err *e) {
    if (o->blocks < 1 || o->blocks > 75)
        return dacc_fail(e, "align: blocks %d must be 1..75", o->blocks);
    if (!train && !(o->class_model && *o->class_model))
        return dacc_fail(e, "align: the training images are needed to find or fit the class model "
                            "(pass them, with a NULL output path to skip making the training set)");
    if (!(o->scale >= 0) || o->scale > 10)
        return dacc_fail(e, "align: scale %g must be in [0, 10]", o->scale);
    char dir[4096], mpath[4096];
    if (cache_folder(o, dir, sizeof dir, e)) return -1;
    dacc_align_model m;
    if (dacc_align_model_ensure(o, train, &m, mpath, sizeof mpath, e)) return -1;
    uint64_t mh = dacc_align_model_hash(&m);
    const dacc_images *sets[2] = {train, test};
    char *outs[2] = {train_npz, test_npz};
    const char *names[2] = {"train", "test"};
    int rc = 0;
    for (int split = 0; split < 2 && !rc; split++) {
        if (!sets[split] || !outs[split]) continue;
        uint64_t h = output_hash(mh, dacc_images_hash(sets[split]), split, o->blocks, o->seed, o->scale);
        if ((size_t)snprintf(outs[split], path_len, "%s/alignmnist-%s-%016llx.npz", dir, names[split],
                             (unsigned long long)h) >= path_len) {
            rc = dacc_fail(e, "%s: path too long for the output buffer", dir);
            break;
        }
        if (readable(outs[split])) {
            if (o->verbose) fprintf(stderr, "align: %s set cached: %s\n", names[split], outs[split]);
            continue;
        }
        if (o->verbose)
            fprintf(stderr, "align: generating %s set: %lld images x %d blocks (model %s)\n",
                    names[split], (long long)sets[split]->n, o->blocks, mpath);
        rc = dacc_alignmnist_write(outs[split], &m, sets[split], split, o->blocks, o->seed,
                                   o->scale, o->threads, o->verbose, NULL, e);
    }
    dacc_align_model_free(&m);
    return rc;
}

/* The study runner (see include/dacc/study.h): which tasks to run, resuming,
 * training, evaluation and progress. Every file of the run directory is
 * written through its owner (study/rundir.h, docs/RUNDIR.md). */
#include "dacc/study.h"
#include "study/rundir.h"
#include "study/scales.h"
#include "dacc/alignmnist.h"
#include "dacc/checkpoint.h"
#include "dacc/fileio.h"
#include "dacc/runlock.h"
#include "dacc/kernels.h"
#include "core/rng.h"
#include "dacc/robustness.h"
#include "core/threadpool.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define INSPECT_DIGITS 48

/* What one job (a thread running tasks one after another) last reported. */
typedef struct slot {
    int cur; /* index into tasks */
    int epoch, batch, batches;
    double ips;
    char state[16];
    int scale_i, scale_n; /* evaluating scale scale_i of scale_n (0 of 0: no scale) */
    double scale;
} slot;

/* The study's shared state; jobs take tasks from `next` and report through
 * `mu`, which guards everything below it. */
typedef struct runner {
    const dacc_study_config *c; /* train.threads is each task's thread count */
    const dacc_images *train, *test;
    dacc_task *tasks;
    int n_tasks, jobs;
    double t_start;
    volatile sig_atomic_t *stop;
    int64_t inspect_idx[INSPECT_DIGITS];
    int n_inspect, insp_nb;
    const uint8_t *insp, *insp_labels;
    pthread_mutex_t mu;
    int next, failed;
    int counts[4]; /* trained, already done, held by another process; done ones given new scales */
    double last_progress;
    double work_total, work_done; /* in epochs; evaluation counts as one */
} runner;

static double now_wall(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int dacc_study_tasks(const dacc_study_config *c, dacc_task *out, int max) {
    int n = 0;
    for (int s = 0; s < c->n_seeds; s++)
        for (int v = 0; v < c->n_variants; v++) {
            if (n >= max) return n;
            dacc_task *t = &out[n];
            t->index = n;
            t->variant = c->variants[v];
            t->seed = c->seeds[s];
            snprintf(t->id, sizeof t->id, "%02d-%s-s%llu", n, t->variant.name, (unsigned long long)t->seed);
            n++;
        }
    return n;
}

static int mine(const dacc_study_config *c, int index) {
    return c->shard_n <= 1 || index % c->shard_n == c->shard_i;
}

/* ---- progress.json ---- */

/* progress.json from the job that reports (with several jobs, the task
 * shown is the last one to report; work and ETA are the whole shard's). */
static void write_progress_locked(runner *r, const slot *s, int force) {
    double t = now_wall();
    if (!force && t - r->last_progress < 1.0) return;
    r->last_progress = t;
    /* after the last task, report the last one (with state done) */
    int ci = s->cur < r->n_tasks ? s->cur : r->n_tasks - 1;
    const dacc_task *k = ci >= 0 ? &r->tasks[ci] : NULL;
    double elapsed = t - r->t_start;
    double eta = r->work_done > 0 ? elapsed / r->work_done * (r->work_total - r->work_done) : -1;
    dacc_rd_progress_rec p = {s->state, k ? k->id : "", k ? k->variant.name : "", k ? k->index : r->n_tasks,
                              r->n_tasks, s->epoch, r->c->train.epochs, s->batch, s->batches, k ? k->seed : 0,
                              s->ips, eta, elapsed, t, s->scale, s->scale_i, s->scale_n};
    dacc_err e;
    dacc_rd_write_progress(r->c->out_dir, &p, &e); /* progress is advisory: a failed write is not fatal */
}

static void write_progress(runner *r, const slot *s, int force) {
    pthread_mutex_lock(&r->mu);
    write_progress_locked(r, s, force);
    pthread_mutex_unlock(&r->mu);
}

static void set_state(runner *r, slot *s, const char *state) {
    snprintf(s->state, sizeof s->state, "%s", state);
    write_progress(r, s, 1);
}

static void add_work(runner *r, double done, double total) {
    pthread_mutex_lock(&r->mu);
    r->work_done += done;
    r->work_total += total;
    pthread_mutex_unlock(&r->mu);
}

/* ---- per-task files ---- */

static void task_path(const runner *r, const dacc_task *t, const char *file, char *out, size_t n) {
    snprintf(out, n, "%s/tasks/%s/%s", r->c->out_dir, t->id, file);
}

static void task_dir(const runner *r, const dacc_task *t, char *out, size_t n) {
    snprintf(out, n, "%s/tasks/%s", r->c->out_dir, t->id);
}

/* The settings a task's results depend on; a finished task is reused only
 * when these match exactly. */
/* A data file by name only: caches live at different paths on different
 * machines, and generated files carry a hash of their parameters in the name. */
static const char *base_name(const char *path) {
    if (!path) return "";
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void task_key(const runner *r, const dacc_task *t, char *out, size_t n) {
    const dacc_train_config *c = &r->c->train;
    char sw[128];
    dacc_variant_switches(&t->variant, sw, sizeof sw);
    snprintf(out, n, "variant=%s;%s;seed=%llu;epochs=%d;batch=%d;lr=%g;gamma=%g;protocol=%s;"
                     "train_limit=%lld;blocks=%d;align_train=%s;align_test=%s;threads=%d",
             t->variant.name, sw, (unsigned long long)t->seed, c->epochs, c->batch, c->lr, c->gamma,
             c->paper ? "paper" : "default", (long long)c->train_limit, r->c->blocks,
             base_name(r->c->align_train), base_name(r->c->align_test), c->threads);
    /* augmented training depends on the deformations' scale and model too
     * (appended only then: other tasks' keys stay as they were) */
    size_t len = strlen(out);
    if (t->variant.augment == DACC_AUGMENT_ALIGN && len < n)
        snprintf(out + len, n - len, ";augment_scale=%.17g;augment_model=%016llx", c->augment_scale,
                 (unsigned long long)c->augment_model_hash);
}

static int write_config(runner *r, const dacc_task *t, dacc_err *e) {
    char dir[4200], key[1024];
    task_dir(r, t, dir, sizeof dir);
    task_key(r, t, key, sizeof key);
    return dacc_rd_write_config(dir, key, t, r->c, e);
}

/* Was the task's folder written with the same settings (config.json's key)? */
static int same_settings(const runner *r, const dacc_task *t) {
    char dir[4200], key[1024];
    task_dir(r, t, dir, sizeof dir);
    task_key(r, t, key, sizeof key);
    return dacc_rd_config_has_key(dir, key);
}

/* Is the task finished with the same settings? */
static int task_done(const runner *r, const dacc_task *t) {
    char dir[4200];
    task_dir(r, t, dir, sizeof dir);
    return dacc_rd_is_done(dir) && same_settings(r, t);
}

typedef struct epoch_ctx {
    runner *r;
    slot *s;
    const dacc_task *t;
    dacc_model *m;
    dacc_train_config *cfg;
} epoch_ctx;

static void on_batch(void *u, int epoch, int b, int nb, double loss, double ips) {
    (void)loss;
    epoch_ctx *x = u;
    x->s->epoch = epoch;
    x->s->batch = b;
    x->s->batches = nb;
    x->s->ips = ips;
    write_progress(x->r, x->s, 0);
}

static int on_epoch(void *u, const dacc_epoch_stats *s, dacc_err *e) {
    epoch_ctx *x = u;
    runner *r = x->r;
    char path[4200];
    task_dir(r, x->t, path, sizeof path);
    if (dacc_rd_append_metrics(path, x->t, s, x->m, e)) return -1;
    task_path(r, x->t, "checkpoint.dacc", path, sizeof path);
    if (dacc_checkpoint_save(path, x->m, x->cfg, s->epoch, e)) return -1;
    add_work(r, 1, 0);
    if (r->c->log) {
        fprintf(r->c->log, "[%s] %s epoch %d/%d  lr %.6f  loss %.4f  train %.2f%%  test %.2f%%  %.1f s  %.0f img/s\n",
                x->t->id, x->t->variant.name, s->epoch, s->epochs, s->lr, s->loss, 100 * s->train_acc,
                100 * s->test_acc, s->seconds, x->s->ips);
        fflush(r->c->log);
    }
    write_progress(r, x->s, 1);
    return 0;
}

/* ---- inspector digits ---- */

/* Digits for the inspector: half with the largest mean deformation (pixel
 * distance of their transformations to the clean image: the hard ones),
 * half random; chosen from the data alone so every shard agrees. */
static void choose_inspect(runner *r, const uint8_t *blocks_px, int nb, int64_t n) {
    int half = nb > 0 ? INSPECT_DIGITS / 2 : 0; /* no transformations: all random */
    double best[INSPECT_DIGITS / 2];
    int64_t idx[INSPECT_DIGITS / 2];
    int have = 0;
    for (int64_t i = 0; i < n && half > 0; i++) {
        double d = 0;
        for (int b = 1; b <= nb; b++)
            for (int p = 0; p < 784; p++) {
                double v = (double)blocks_px[((size_t)b * n + i) * 784 + p] - blocks_px[(size_t)i * 784 + p];
                d += v * v;
            }
        if (have < half) {
            best[have] = d;
            idx[have++] = i;
            continue;
        }
        int lo = 0;
        for (int k = 1; k < half; k++)
            if (best[k] < best[lo]) lo = k;
        if (d > best[lo]) best[lo] = d, idx[lo] = i;
    }
    r->n_inspect = 0;
    for (int k = 0; k < have; k++) r->inspect_idx[r->n_inspect++] = idx[k];
    dacc_rng g;
    dacc_rng_seed(&g, 12345, DACC_STREAM_INSPECT, 0, 0);
    while (r->n_inspect < INSPECT_DIGITS && r->n_inspect < n) {
        int64_t i = dacc_rng_below(&g, (uint32_t)n);
        int dup = 0;
        for (int k = 0; k < r->n_inspect; k++) dup |= r->inspect_idx[k] == i;
        if (!dup) r->inspect_idx[r->n_inspect++] = i;
    }
}

/* Images of the inspector digits, all blocks: [digit][block][784]. */
static uint8_t *inspect_images(runner *r, int *nb_out, uint8_t *labels, dacc_err *e) {
    const dacc_images *test = r->test;
    int nb = 0;
    uint8_t *all = NULL;
    if (r->c->align_test) {
        dacc_alignmnist *a;
        if (dacc_alignmnist_open(r->c->align_test, test, &a, e)) return NULL;
        nb = dacc_alignmnist_blocks(a) - 1;
        if (nb > r->c->blocks) nb = r->c->blocks;
        all = malloc((size_t)(nb + 1) * test->n * 784);
        uint8_t *lb = malloc((size_t)test->n);
        int bad = !all || !lb;
        for (int b = 0; b <= nb && !bad; b++)
            bad = dacc_alignmnist_read(a, b, 0, test->n, all + (size_t)b * test->n * 784, lb, e);
        free(lb);
        dacc_alignmnist_close(a);
        if (bad) {
            free(all);
            return NULL;
        }
    } else {
        all = malloc((size_t)test->n * 784);
        if (!all) return NULL;
        memcpy(all, test->pixels, (size_t)test->n * 784);
    }
    choose_inspect(r, all, nb, test->n);
    uint8_t *out = malloc((size_t)r->n_inspect * (nb + 1) * 784);
    for (int k = 0; out && k < r->n_inspect; k++) {
        labels[k] = test->labels[r->inspect_idx[k]];
        for (int b = 0; b <= nb; b++)
            memcpy(out + ((size_t)k * (nb + 1) + b) * 784, all + ((size_t)b * test->n + r->inspect_idx[k]) * 784, 784);
    }
    free(all);
    *nb_out = nb;
    return out;
}

/* inspect.txt of a task: "block digit pred conf" per line. */
static int write_task_inspect(runner *r, const dacc_task *t, dacc_model *m, const uint8_t *imgs,
                              int nb, dacc_err *e) {
    int count = r->n_inspect * (nb + 1);
    uint8_t *pred = malloc((size_t)count);
    float *conf = malloc(sizeof(float) * count);
    uint8_t *batch = malloc((size_t)count * 784);
    if (!pred || !conf || !batch) {
        free(pred); free(conf); free(batch);
        return dacc_fail(e, "out of memory");
    }
    memcpy(batch, imgs, (size_t)count * 784);
    dacc_evaluate(m, batch, NULL, count, pred, conf);
    char dir[4200];
    task_dir(r, t, dir, sizeof dir);
    int rc = dacc_rd_write_task_inspect(dir, r->n_inspect, nb, pred, conf, e);
    free(pred);
    free(conf);
    free(batch);
    return rc;
}

/* inspect.json from every task folder that has an inspect.txt (also other
 * shards'), the lowest seed per variant. */
static int write_inspect_json_locked(runner *r, const uint8_t *imgs, const uint8_t *labels, int nb,
                                     dacc_err *e) {
    dacc_rd_inspect in = {r->n_inspect, nb, r->inspect_idx, labels, imgs};
    return dacc_rd_write_inspect_json(r->c->out_dir, r->tasks, r->n_tasks, &in, e);
}

/* Shards finishing at the same moment each rebuild inspect.json from every
 * inspect.txt; one at a time (DIR/.lock-inspect), so the last to write has
 * seen every other shard's file and none of them is lost. */
static int write_inspect_json(runner *r, const uint8_t *imgs, const uint8_t *labels, int nb, dacc_err *e) {
    char path[4200];
    snprintf(path, sizeof path, "%s/.lock-inspect", r->c->out_dir);
    dacc_lock *l;
    if (dacc_lock_wait(path, &l, e)) return -1;
    int rc = write_inspect_json_locked(r, imgs, labels, nb, e);
    dacc_lock_release(l);
    return rc;
}

static int write_study_json(runner *r, dacc_err *e) {
    return dacc_rd_write_study(r->c->out_dir, r->c, r->tasks, r->n_tasks, e);
}

/* ---- one task ---- */

/* Takes tasks/<id>/.lock without waiting, so no task is ever trained by two
 * processes at once (shards of arrays with different N, a resubmission while
 * the old array still runs). Returns 0 with *out held, 1 when another live
 * process holds it (logged; the task is skipped), -1 on an error. */
static int lock_task(runner *r, const dacc_task *t, dacc_lock **out, dacc_err *e) {
    char path[4200], holder[320];
    task_path(r, t, "", path, sizeof path);
    if (dacc_mkdir_p(path, e)) return -1;
    task_path(r, t, ".lock", path, sizeof path);
    int rc = dacc_lock_try(path, out, holder, sizeof holder, e);
    if (rc > 0) {
        if (r->c->log) fprintf(r->c->log, "[%s] being trained by %s: skipped\n", t->id, holder);
        add_work(r, 0, -(r->c->train.epochs + 1));
    }
    if (rc == 0) { /* only the holder writes in the folder: what a killed one left is stale */
        task_path(r, t, "", path, sizeof path);
        dacc_tmp_remove_all(path);
    }
    return rc;
}

/* The epoch to resume after: the checkpoint's, when the folder was written
 * with the same settings and the checkpoint is usable; else 0. */
static int resume_point(runner *r, const dacc_task *t, dacc_model *m, uint64_t seed) {
    char path[4200];
    int start = 0;
    task_path(r, t, "checkpoint.dacc", path, sizeof path);
    if (!same_settings(r, t) || access(path, F_OK) != 0) return 0;
    dacc_checkpoint ck;
    dacc_err ce;
    if (dacc_checkpoint_read(path, &ck, &ce) == 0 && dacc_checkpoint_apply(&ck, m, 1, path, &ce) == 0) {
        start = ck.epochs_done;
        if (r->c->log) fprintf(r->c->log, "[%s] resuming after epoch %d\n", t->id, start);
    } else if (r->c->log) {
        fprintf(r->c->log, "[%s] checkpoint unusable (%s): starting over\n", t->id, ce.msg);
    }
    if (start == 0) dacc_model_init_params(m, seed);
    dacc_checkpoint_free(&ck);
    return start;
}

/* ---- the other deformation scales (--scales, study/scales.c) ---- */

typedef struct scale_ctx {
    runner *r;
    slot *s;
} scale_ctx;

/* Before each scale: progress shows which one; the one before is done. */
static void on_scale(void *u, int i, int n, double scale) {
    scale_ctx *x = u;
    if (i > 0) add_work(x->r, 1, 0);
    x->s->scale_i = i;
    x->s->scale_n = n;
    x->s->scale = scale;
    set_state(x->r, x->s, "evaluating");
}

/* The missing scales of a finished task with its network m. */
static int eval_scales(runner *r, slot *s, const dacc_task *t, dacc_model *m, dacc_err *e) {
    char dir[4200], key[1024];
    task_dir(r, t, dir, sizeof dir);
    task_key(r, t, key, sizeof key);
    scale_ctx x = {r, s};
    int rc = dacc_scales_eval(r->c, r->train, r->test, t, dir, key, m, on_scale, &x, r->stop, e);
    if (rc == 0 && s->scale_n > 0) add_work(r, 1, 0);
    s->scale_i = s->scale_n = 0;
    return rc;
}

static int scales_missing(const runner *r, const dacc_task *t) {
    char dir[4200], key[1024];
    task_dir(r, t, dir, sizeof dir);
    task_key(r, t, key, sizeof key);
    return dacc_scales_missing(r->c, dir, key, NULL);
}

/* A task finished earlier (maybe by a run without --scales): its network
 * from the checkpoint, evaluated on the scales it lacks. */
static int scales_of_done(runner *r, slot *s, const dacc_task *t, dacc_err *e) {
    char dir[4200];
    task_dir(r, t, dir, sizeof dir);
    if (r->c->log) {
        fprintf(r->c->log, "[%s] already done; evaluating %d more deformation scale(s)\n", t->id,
                scales_missing(r, t));
        fflush(r->c->log);
    }
    dacc_model *m = dacc_scales_load(r->c, t, dir, e);
    if (!m) return -1;
    int rc = eval_scales(r, s, t, m, e);
    dacc_model_delete(m);
    return rc;
}

static void log_results(const runner *r, const dacc_task *t, const dacc_robustness *held,
                        const dacc_robustness *paper) {
    if (!r->c->log) return;
    fprintf(r->c->log, "[%s] %s: held-out clean %.2f%%", t->id, t->variant.name, 100 * held->acc[0]);
    if (held->blocks) fprintf(r->c->log, "  x^ %.2f%%  delta %+.2f", 100 * held->xhat, 100 * held->delta);
    fprintf(r->c->log, " | paper clean %.2f%%", 100 * paper->acc[0]);
    if (paper->blocks) fprintf(r->c->log, "  x^ %.2f%%  delta %+.2f", 100 * paper->xhat, 100 * paper->delta);
    fputc('\n', r->c->log);
    fflush(r->c->log);
}

/* Both protocols evaluated; predictions.bin, predictions-paper.bin and
 * results.json written. */
static int evaluate_task(runner *r, const dacc_task *t, dacc_model *m, dacc_err *e) {
    char dir[4200], path[4300];
    task_dir(r, t, dir, sizeof dir);
    int nb = r->c->blocks, rc = 0;
    dacc_robustness held, paper;
    /* the paper protocol measures on the images trained on: with
     * --train-limit, on those only */
    int64_t nt = r->test->n, ntr = r->train->n, lim = r->c->train.train_limit;
    if (lim > 0 && lim < ntr) ntr = lim;
    dacc_images train_part = *r->train;
    train_part.n = ntr;
    uint8_t *ph = malloc((size_t)(nb + 1) * nt), *pp = malloc((size_t)(nb + 1) * ntr);
    if (!ph || !pp) rc = dacc_fail(e, "out of memory");
    if (rc == 0) {
        if (r->c->align_test) rc = dacc_eval_alignmnist(m, r->c->align_test, r->test, nb, 0, &held, ph, NULL, e);
        else dacc_eval_clean(m, r->test, &held, ph, NULL);
    }
    if (rc == 0) {
        if (r->c->align_train) rc = dacc_eval_alignmnist(m, r->c->align_train, r->train, nb, ntr, &paper, pp, NULL, e);
        else dacc_eval_clean(m, &train_part, &paper, pp, NULL);
    }
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/predictions.bin", dir);
        rc = dacc_pred_write(path, ph, r->test->labels, held.blocks + 1, nt, e);
    }
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/predictions-paper.bin", dir);
        rc = dacc_pred_write(path, pp, r->train->labels, paper.blocks + 1, ntr, e);
    }
    free(ph);
    free(pp);
    if (rc == 0) rc = dacc_rd_write_results(dir, t, &paper, &held, e);
    if (rc == 0) log_results(r, t, &held, &paper);
    return rc;
}

static int run_task(runner *r, slot *s, const dacc_task *t, dacc_err *e) {
    char dir[4200];
    task_dir(r, t, dir, sizeof dir);
    if (dacc_mkdir_p(dir, e)) return -1;
    dacc_train_config cfg = r->c->train;
    cfg.variant = t->variant;
    cfg.seed = t->seed;
    dacc_model *m = dacc_model_new(&cfg.variant, cfg.batch, cfg.threads, cfg.seed, e);
    if (!m) return -1;
    int start = resume_point(r, t, m, cfg.seed);
    int rc = dacc_rd_trim_metrics(dir, start, e);
    if (rc == 0 && start < cfg.epochs) { /* a network trained now: older scale results are not its */
        char path[4300];
        snprintf(path, sizeof path, "%s/scales.json", dir);
        unlink(path);
    }
    if (rc == 0) rc = write_config(r, t, e);
    add_work(r, start, 0);
    if (rc == 0 && start < cfg.epochs) {
        set_state(r, s, "training");
        epoch_ctx x = {r, s, t, m, &cfg};
        dacc_train_hooks hooks = {&x, on_batch, on_epoch, r->stop};
        int done = start;
        rc = dacc_train_run(m, &cfg, r->train, r->test, start, &hooks, &done, e);
    }
    if (rc == 0) {
        set_state(r, s, "evaluating");
        rc = evaluate_task(r, t, m, e);
        if (rc == 0 && r->insp) rc = write_task_inspect(r, t, m, r->insp, r->insp_nb, e);
        if (rc == 0) rc = dacc_rd_mark_done(dir, e);
        add_work(r, 1, 0);
    }
    if (rc == 0) rc = eval_scales(r, s, t, m, e);
    dacc_model_delete(m);
    return rc;
}

/* ---- jobs ---- */

static void count(runner *r, int which) {
    pthread_mutex_lock(&r->mu);
    r->counts[which]++;
    pthread_mutex_unlock(&r->mu);
}

/* The next task of this shard for a job, or -1 when none is left (or the
 * study stops: another job failed, or a signal asked to stop). */
static int claim(runner *r) {
    pthread_mutex_lock(&r->mu);
    while (r->next < r->n_tasks && !mine(r->c, r->next)) r->next++;
    int t = r->next < r->n_tasks && !r->failed && !(r->stop && *r->stop) ? r->next++ : -1;
    pthread_mutex_unlock(&r->mu);
    return t;
}

static void log_done(const runner *r, const dacc_task *k) {
    if (r->c->log) fprintf(r->c->log, "[%s] already done\n", k->id);
}

/* One task under its lock: skipped when done (and given every scale) or
 * held by another process. */
static int one_task(runner *r, slot *s, int t, dacc_err *e) {
    const dacc_task *k = &r->tasks[t];
    s->cur = t;
    if (task_done(r, k) && !scales_missing(r, k)) {
        log_done(r, k);
        count(r, 1);
        return 0;
    }
    dacc_lock *tl = NULL;
    int missing = task_done(r, k) ? scales_missing(r, k) : -1; /* the work counted for it at the start */
    int lr = lock_task(r, k, &tl, e);
    if (lr != 0) {
        if (lr > 0) count(r, 2);
        if (lr > 0 && missing >= 0) add_work(r, 0, r->c->train.epochs + 1 - missing); /* lock_task took epochs + 1 */
        return lr < 0 ? -1 : 0;
    }
    int rc = 0;
    if (task_done(r, k) && scales_missing(r, k)) {
        rc = scales_of_done(r, s, k, e);
        count(r, 1);
        if (rc == 0) count(r, 3);
    } else if (task_done(r, k)) { /* finished by another process since we looked */
        log_done(r, k);
        count(r, 1);
    } else {
        rc = run_task(r, s, k, e);
        if (rc == 0) count(r, 0);
    }
    dacc_lock_release(tl);
    if (rc == 0) rc = write_inspect_json(r, r->insp, r->insp_labels, r->insp_nb, e);
    return rc;
}

typedef struct job {
    runner *r;
    slot s;
    dacc_err e;
    int rc;
} job;

static void *job_main(void *arg) {
    job *j = arg;
    runner *r = j->r;
    int t;
    j->rc = 0;
    while (j->rc == 0 && (t = claim(r)) >= 0) {
        j->rc = one_task(r, &j->s, t, &j->e);
        if (j->rc == 0 && r->stop && *r->stop) j->rc = 1;
    }
    if (j->rc < 0) {
        pthread_mutex_lock(&r->mu);
        r->failed = 1;
        pthread_mutex_unlock(&r->mu);
    }
    return NULL;
}

/* Runs r->jobs jobs (the caller's thread is one of them); the result is the
 * first error, else interrupted, else done. Returns the job that decided it. */
static int run_jobs(runner *r, job *jobs, int *decider) {
    pthread_t th[DACC_MAX_VARIANTS * DACC_MAX_SEEDS];
    int started = 1;
    for (int k = 0; k < r->jobs; k++) jobs[k] = (job){.r = r, .s = {.state = "training"}};
    for (int k = 1; k < r->jobs; k++) {
        if (pthread_create(&th[k], NULL, job_main, &jobs[k]) != 0) break;
        started++;
    }
    job_main(&jobs[0]);
    for (int k = 1; k < started; k++) pthread_join(th[k], NULL);
    int rc = 0;
    *decider = 0;
    for (int k = 0; k < started && rc == 0; k++)
        if (jobs[k].rc < 0) rc = -1, *decider = k;
    for (int k = 0; k < started && rc == 0; k++)
        if (jobs[k].rc > 0) rc = 1, *decider = k;
    return rc;
}

/* Jobs and threads per task: --jobs, else one job per thread up to the
 * shard's task count (done or not, so a resumed study keeps its split). */
static void choose_jobs(const dacc_study_config *c, int n_tasks, int *jobs, int *threads) {
    int mine_n = 0;
    for (int t = 0; t < n_tasks; t++) mine_n += mine(c, t);
    int total = c->train.threads > 0 ? c->train.threads : 1;
    int j = c->jobs > 0 ? c->jobs : total;
    if (j > mine_n) j = mine_n > 0 ? mine_n : 1;
    if (c->jobs <= 0 && j > total) j = total;
    *jobs = j;
    *threads = total / j > 0 ? total / j : 1;
}

int dacc_study_run(const dacc_study_config *c, const dacc_images *train, const dacc_images *test,
                   volatile sig_atomic_t *stop, dacc_err *e) {
    if (dacc_images_check_mnist(train, "training images", e) ||
        dacc_images_check_mnist(test, "test images", e))
        return -1;
    runner r;
    memset(&r, 0, sizeof r);
    dacc_study_config cc = *c; /* with each task's thread count */
    r.c = &cc;
    r.train = train;
    r.test = test;
    r.stop = stop;
    r.tasks = calloc(DACC_MAX_VARIANTS * DACC_MAX_SEEDS, sizeof *r.tasks);
    job *jobs = calloc(DACC_MAX_VARIANTS * DACC_MAX_SEEDS, sizeof *jobs);
    if (!r.tasks || !jobs) {
        free(r.tasks);
        free(jobs);
        return dacc_fail(e, "out of memory");
    }
    r.n_tasks = dacc_study_tasks(c, r.tasks, DACC_MAX_VARIANTS * DACC_MAX_SEEDS);
    choose_jobs(c, r.n_tasks, &r.jobs, &cc.train.threads);
    pthread_mutex_init(&r.mu, NULL);
    r.t_start = now_wall();
    slot s0 = {.state = "starting"};
    int rc = dacc_mkdir_p(c->out_dir, e);
    char tdir[4200];
    snprintf(tdir, sizeof tdir, "%s/tasks", c->out_dir);
    if (rc == 0) rc = dacc_mkdir_p(tdir, e);
    if (rc == 0) rc = write_study_json(&r, e);
    for (int t = 0; t < r.n_tasks; t++)
        if (mine(c, t))
            r.work_total += (task_done(&r, &r.tasks[t]) ? 0 : c->train.epochs + 1) + scales_missing(&r, &r.tasks[t]);
    write_progress(&r, &s0, 1);
    uint8_t labels[INSPECT_DIGITS];
    uint8_t *insp = rc == 0 ? inspect_images(&r, &r.insp_nb, labels, e) : NULL;
    if (rc == 0 && !insp) rc = -1;
    r.insp = insp;
    r.insp_labels = labels;
    if (rc == 0 && c->log && r.jobs > 1) {
        fprintf(c->log, "%d jobs at once, %d thread%s each\n", r.jobs, cc.train.threads,
                cc.train.threads > 1 ? "s" : "");
        fflush(c->log);
    }
    int decider = 0;
    if (rc == 0) {
        rc = run_jobs(&r, jobs, &decider);
        if (rc != 0) *e = jobs[decider].e;
        s0 = jobs[decider].s;
    }
    if (rc == 0 && c->log) {
        fprintf(c->log, "shard %d/%d finished: %d of the study's %d tasks are this shard's; %d trained now, "
                        "%d already done, %d skipped (another process holds them)",
                c->shard_n > 1 ? c->shard_i : 0, c->shard_n > 1 ? c->shard_n : 1,
                r.counts[0] + r.counts[1] + r.counts[2], r.n_tasks, r.counts[0], r.counts[1], r.counts[2]);
        if (c->n_scales) fprintf(c->log, "; %d done task(s) given new scales", r.counts[3]);
        fputc('\n', c->log);
        fflush(c->log);
    }
    if (rc == 0 && insp) rc = write_inspect_json(&r, insp, labels, r.insp_nb, e);
    if (rc == 0) s0.cur = r.n_tasks; /* interrupted or failed: keep the task it was on */
    snprintf(s0.state, sizeof s0.state, "%s", rc == 0 ? "done" : rc > 0 ? "interrupted" : "failed");
    write_progress(&r, &s0, 1);
    pthread_mutex_destroy(&r.mu);
    free(insp);
    free(jobs);
    free(r.tasks);
    return rc;
}

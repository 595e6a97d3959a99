/* Robustness as a curve (see scales.h): the finished network on every
 * --scales set, both protocols, one set at a time; scales.json rewritten
 * after each scale so an interrupted run loses at most one evaluation. */
#include "study/scales.h"
#include "study/rundir.h"
#include "dacc/checkpoint.h"
#include "dacc/robustness.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *base_name(const char *path) {
    const char *s = path ? strrchr(path, '/') : NULL;
    return s ? s + 1 : path ? path : "";
}

/* Does entry k of s hold scale i of c (same scale and the same sets)? */
static int same_entry(const dacc_rd_scale *x, const dacc_study_config *c, int i) {
    return x->scale == c->scales[i] && !strcmp(x->set_train, base_name(c->scale_train[i])) &&
           !strcmp(x->set_test, base_name(c->scale_test[i]));
}

static int find_entry(const dacc_rd_scales *s, const dacc_study_config *c, int i) {
    for (int k = 0; k < s->n; k++)
        if (same_entry(&s->s[k], c, i)) return k;
    return -1;
}

/* scales.json of the task when written for the same settings; else empty. */
static dacc_rd_scales *load_current(const char *task_dir, const char *key) {
    dacc_rd_scales *s = malloc(sizeof *s);
    if (!s) return NULL;
    dacc_err e;
    if (dacc_rd_read_scales(task_dir, s, &e) != 0 || strcmp(s->key, key)) memset(s, 0, sizeof *s);
    snprintf(s->key, sizeof s->key, "%s", key);
    return s;
}

int dacc_scales_missing(const dacc_study_config *c, const char *task_dir, const char *key, int *missing) {
    if (c->n_scales <= 0) return 0;
    dacc_rd_scales *s = load_current(task_dir, key);
    int n = 0;
    for (int i = 0; i < c->n_scales; i++) {
        int m = !s || find_entry(s, c, i) < 0;
        if (missing) missing[i] = m;
        n += m;
    }
    free(s);
    return n;
}

/* One protocol of one set into p: accuracies per block, and the per-image
 * histogram of (clean right, transformed blocks right) into hist. */
static int eval_proto(dacc_model *m, const char *path, const dacc_images *base, int nb, int64_t limit,
                      dacc_rd_proto *p, int64_t *hist, int *nhist, dacc_err *e) {
    int64_t n = limit > 0 && limit < base->n ? limit : base->n;
    uint8_t *pred = malloc((size_t)(nb + 1) * (size_t)n);
    if (!pred) return dacc_fail(e, "out of memory");
    dacc_robustness r;
    int rc = dacc_eval_alignmnist(m, path, base, nb, limit, &r, pred, NULL, e);
    if (rc == 0 && (r.blocks < 1 || r.n != n)) rc = dacc_fail(e, "%s: no transformed blocks to evaluate", path);
    if (rc == 0) {
        memset(p, 0, sizeof *p);
        p->has = 1;
        p->clean = r.acc[0];
        p->n = r.n;
        p->ny = r.blocks;
        for (int b = 1; b <= r.blocks; b++) p->y[b - 1] = r.acc[b];
        *nhist = 2 * (r.blocks + 1);
        memset(hist, 0, sizeof(int64_t) * (size_t)*nhist);
        int64_t right_clean = 0, right_t = 0; /* counts: x^ and delta exact (0 at the identity) */
        for (int64_t i = 0; i < r.n; i++) {
            int right = 0, clean = pred[i] == base->labels[i];
            for (int b = 1; b <= r.blocks; b++) right += pred[(size_t)b * (size_t)r.n + (size_t)i] == base->labels[i];
            hist[clean * (r.blocks + 1) + right]++;
            right_clean += clean;
            right_t += right;
        }
        double nn = (double)r.n * r.blocks;
        p->xhat = p->xhat_file = (double)right_t / nn;
        p->delta = p->delta_file = (double)(right_t - right_clean * r.blocks) / nn;
    }
    free(pred);
    return rc;
}

/* Scale i of c into slot x: the held-out protocol on the test images, the
 * paper protocol on the training images (the first train_limit with
 * --train-limit, as the task was trained on). */
static int eval_scale(const dacc_study_config *c, const dacc_images *train, const dacc_images *test,
                      dacc_model *m, int i, dacc_rd_scale *x, dacc_err *e) {
    memset(x, 0, sizeof *x);
    x->scale = c->scales[i];
    snprintf(x->set_train, sizeof x->set_train, "%s", base_name(c->scale_train[i]));
    snprintf(x->set_test, sizeof x->set_test, "%s", base_name(c->scale_test[i]));
    int nb = c->blocks < DACC_RD_MAX_Y ? c->blocks : DACC_RD_MAX_Y;
    if (eval_proto(m, c->scale_test[i], test, nb, 0, &x->proto[DACC_RD_HELDOUT], x->hist[DACC_RD_HELDOUT],
                   &x->nhist[DACC_RD_HELDOUT], e))
        return -1;
    return eval_proto(m, c->scale_train[i], train, nb, c->train.train_limit, &x->proto[DACC_RD_PAPER],
                      x->hist[DACC_RD_PAPER], &x->nhist[DACC_RD_PAPER], e);
}

/* Puts x into s in ascending scale order, replacing an entry of the same
 * scale (its sets changed: a stale result). */
static void insert_entry(dacc_rd_scales *s, const dacc_rd_scale *x) {
    int k = 0;
    while (k < s->n && s->s[k].scale < x->scale) k++;
    if (k < s->n && s->s[k].scale == x->scale) {
        s->s[k] = *x;
        return;
    }
    if (s->n == DACC_RD_MAX_SCALES) s->n--; /* the largest goes: it is re-evaluated if still asked for */
    memmove(&s->s[k + 1], &s->s[k], sizeof *x * (size_t)(s->n - k));
    s->s[k] = *x;
    s->n++;
}

int dacc_scales_eval(const dacc_study_config *c, const dacc_images *train, const dacc_images *test,
                     const dacc_task *t, const char *task_dir, const char *key, dacc_model *m,
                     dacc_scale_fn fn, void *u, volatile sig_atomic_t *stop, dacc_err *e) {
    int missing[DACC_MAX_SCALES];
    int todo = dacc_scales_missing(c, task_dir, key, missing), done = 0, rc = 0;
    if (todo == 0) return 0;
    dacc_rd_scales *s = load_current(task_dir, key);
    dacc_rd_scale *x = malloc(sizeof *x);
    if (!s || !x) rc = dacc_fail(e, "out of memory");
    for (int i = 0; i < c->n_scales && rc == 0; i++) {
        if (!missing[i]) continue;
        if (stop && *stop) {
            rc = 1;
            break;
        }
        if (fn) fn(u, done, todo, c->scales[i]);
        rc = eval_scale(c, train, test, m, i, x, e);
        if (rc == 0) {
            insert_entry(s, x);
            rc = dacc_rd_write_scales(task_dir, t, s, e);
        }
        if (rc == 0 && c->log) {
            const dacc_rd_proto *h = &x->proto[DACC_RD_HELDOUT], *p = &x->proto[DACC_RD_PAPER];
            fprintf(c->log, "[%s] scale %g (%d/%d): held-out clean %.2f%%  x^ %.2f%%  delta %+.2f | paper clean %.2f%%"
                            "  x^ %.2f%%  delta %+.2f\n", t->id, x->scale, done + 1, todo, 100 * h->clean,
                    100 * h->xhat, 100 * h->delta, 100 * p->clean, 100 * p->xhat, 100 * p->delta);
            fflush(c->log);
        }
        done++;
    }
    free(x);
    free(s);
    return rc;
}

dacc_model *dacc_scales_load(const dacc_study_config *c, const dacc_task *t, const char *task_dir, dacc_err *e) {
    char path[4200];
    snprintf(path, sizeof path, "%s/checkpoint.dacc", task_dir);
    dacc_checkpoint ck;
    if (dacc_checkpoint_read(path, &ck, e)) return NULL;
    dacc_model *m = NULL;
    if (ck.epochs_done != c->train.epochs)
        dacc_fail(e, "%s: holds %d epochs, the finished task %d", path, ck.epochs_done, c->train.epochs);
    else if ((m = dacc_model_new(&t->variant, c->train.batch, c->train.threads, t->seed, e)) &&
             dacc_checkpoint_apply(&ck, m, 0, path, e)) {
        dacc_model_delete(m);
        m = NULL;
    }
    dacc_checkpoint_free(&ck);
    return m;
}

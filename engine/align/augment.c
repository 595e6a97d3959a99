/* Learned augmentation (variant switch augment=align): every training image
 * of every epoch is replaced by a warp drawn afresh from its class's
 * deformation model, theta = scale L_k z with z from the stream (seed,
 * AUGMENT, epoch, index). A batch is split over the training thread pool in
 * fixed contiguous parts; each image's warp depends only on its own theta,
 * so the batch does not depend on the split or the thread count. */
#include "dacc/align.h"

#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"

struct dacc_augmenter {
    const dacc_align_model *m;
    double scale;
    int tasks;
    dacc_cpab t;
    dacc_cpab_field *fields; /* one per task */
    uint8_t *scratch;        /* one source image per task (the warp is not in place) */
};

void dacc_augmenter_free(dacc_augmenter *a) {
    if (!a) return;
    if (a->fields)
        for (int k = 0; k < a->tasks; k++) dacc_cpab_field_free(&a->fields[k]);
    free(a->fields);
    free(a->scratch);
    dacc_cpab_free(&a->t);
    free(a);
}

int dacc_augmenter_new(const dacc_align_model *m, double scale, int tasks, dacc_augmenter **out,
                       dacc_err *e) {
    *out = NULL;
    if (tasks < 1) tasks = 1;
    if (!(scale >= 0 && scale <= 100)) return dacc_fail(e, "augment: scale %g is not in 0..100", scale);
    dacc_augmenter *a = calloc(1, sizeof *a);
    if (!a) return dacc_fail(e, "augment: out of memory");
    a->m = m;
    a->scale = scale;
    if (dacc_cpab_init(&a->t, m->fit.nx, m->fit.ny, m->fit.zero_boundary, e)) {
        free(a);
        return dacc_fail_wrap(e, "augment");
    }
    if (a->t.d != m->d) {
        dacc_augmenter_free(a);
        return dacc_fail(e, "augment: class model has d = %d, its tessellation gives %d", m->d, a->t.d);
    }
    a->fields = calloc((size_t)tasks, sizeof *a->fields);
    a->scratch = malloc((size_t)tasks * m->rows * m->cols);
    if (!a->fields || !a->scratch) {
        dacc_augmenter_free(a);
        return dacc_fail(e, "augment: out of memory");
    }
    for (int k = 0; k < tasks; k++, a->tasks++)
        if (dacc_cpab_field_init(&a->fields[k], &a->t, m->fit.nsteps, m->fit.nsub, e)) {
            dacc_augmenter_free(a);
            return dacc_fail_wrap(e, "augment");
        }
    *out = a;
    return 0;
}

typedef struct aug_ctx {
    dacc_augmenter *a;
    uint64_t seed;
    int epoch, n;
    const int32_t *idx;
    const uint8_t *labels;
    uint8_t *images;
    int *bad; /* per task: the first image whose label is outside the model, else -1 */
} aug_ctx;

static void aug_task(void *vctx, int task, int ntasks) {
    aug_ctx *c = vctx;
    dacc_augmenter *a = c->a;
    size_t px = (size_t)a->m->rows * a->m->cols;
    uint8_t *src = a->scratch + (size_t)task * px;
    double theta[4 * DACC_CPAB_MAX_SIDE * DACC_CPAB_MAX_SIDE * 2];
    int lo = (int)((int64_t)c->n * task / ntasks), hi = (int)((int64_t)c->n * (task + 1) / ntasks);
    c->bad[task] = -1;
    for (int i = lo; i < hi; i++) {
        if (dacc_align_augment_theta(a->m, c->labels[i], a->scale, c->seed, c->epoch,
                                     (uint64_t)c->idx[i], theta)) {
            c->bad[task] = i;
            return;
        }
        dacc_cpab_field_set(&a->fields[task], theta, 1.0);
        memcpy(src, c->images + (size_t)i * px, px);
        dacc_cpab_warp_u8(&a->fields[task], src, a->m->rows, a->m->cols, c->images + (size_t)i * px, NULL);
    }
}

int dacc_augment_batch(dacc_augmenter *a, struct dacc_pool *pool, uint64_t seed, int epoch,
                       const int32_t *idx, const uint8_t *labels, uint8_t *images, int n,
                       dacc_err *e) {
    if (n <= 0) return 0;
    int bad[64], tasks = a->tasks;
    if (tasks > n) tasks = n;
    if (tasks > (int)(sizeof bad / sizeof bad[0])) tasks = (int)(sizeof bad / sizeof bad[0]);
    aug_ctx c = {a, seed, epoch, n, idx, labels, images, bad};
    if (pool && tasks > 1) dacc_pool_run(pool, aug_task, &c, tasks);
    else {
        tasks = 1;
        aug_task(&c, 0, 1);
    }
    for (int k = 0; k < tasks; k++)
        if (bad[k] >= 0)
            return dacc_fail(e, "augment: image %d has label %d, outside the class model's %d classes",
                             (int)idx[bad[k]], labels[bad[k]], a->m->nclasses);
    return 0;
}

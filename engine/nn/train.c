/* The training loop (Adam, StepLR, shuffled or file-order batches) and the
 * evaluation loop. */
#include "nn/model_internal.h"
#include "dacc/train.h"
#include "dacc/align.h"
#include "core/rng.h"
#include "core/threadpool.h"
#include "nn/layer_times.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void dacc_train_config_default(dacc_train_config *c) {
    memset(c, 0, sizeof *c);
    dacc_variant_preset("Original", &c->variant);
    c->epochs = 20;
    c->batch = 64;
    c->lr = 1e-3f;
    c->gamma = 0.7f;
    c->seed = 1;
    c->threads = 0;
    c->augment_scale = DACC_ALIGN_DEFAULT_SCALE;
}

float dacc_train_lr(const dacc_train_config *c, int epoch) {
    if (!c->variant.lr_decay) return c->lr;
    return (float)(c->lr * pow(c->gamma, epoch));
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The augmenter of an augment=align variant: one work area per thread. */
static int make_augmenter(dacc_model *m, const dacc_train_config *cfg, dacc_augmenter **out, dacc_err *e) {
    const dacc_align_model *am = cfg->augment_model;
    if (!am) return dacc_fail(e, "variant %s: augment=align needs the AlignMNIST class model (none given)",
                              cfg->variant.name);
    if (am->rows != 28 || am->cols != 28)
        return dacc_fail(e, "augment=align: the class model is for %dx%d images, MNIST is 28x28", am->rows, am->cols);
    if (dacc_augmenter_new(am, cfg->augment_scale, dacc_pool_threads(m->pool), out, e))
        return dacc_fail_wrap(e, "variant %s", cfg->variant.name);
    return 0;
}

/* The batch of the images idx[0..bs), warped when augmenting: keyed by each
 * image's index in the training set, so the warp of (seed, epoch, image)
 * does not depend on the batch order. */
static int gather(dacc_model *m, const dacc_train_config *cfg, const dacc_images *train, dacc_augmenter *aug,
                  int ep, const int32_t *idx, int bs, uint8_t *bx, uint8_t *by, dacc_err *e) {
    const size_t img = 784;
    for (int i = 0; i < bs; i++) {
        memcpy(bx + i * img, train->pixels + (size_t)idx[i] * img, img);
        by[i] = train->labels[idx[i]];
    }
    return aug ? dacc_augment_batch(aug, m->pool, cfg->seed, ep, idx, by, bx, bs, e) : 0;
}

int dacc_train_run(dacc_model *m, const dacc_train_config *cfg, const dacc_images *train,
                   const dacc_images *test, int start_epoch, const dacc_train_hooks *hooks,
                   int *epochs_done, dacc_err *e) {
    if (dacc_images_check_mnist(train, "training images", e) ||
        dacc_images_check_mnist(test, "test images", e))
        return -1;
    int64_t n = train->n;
    if (cfg->train_limit > 0 && cfg->train_limit < n) n = cfg->train_limit;
    if (n <= 0) return dacc_fail(e, "no training images");
    if (cfg->batch > m->max_batch) return dacc_fail(e, "batch %d exceeds the model's %d", cfg->batch, m->max_batch);
    const size_t img = 784;
    dacc_augmenter *aug = NULL;
    if (cfg->variant.augment == DACC_AUGMENT_ALIGN && make_augmenter(m, cfg, &aug, e)) return -1;
    int32_t *order = malloc(sizeof(int32_t) * n);
    uint8_t *bx = malloc(img * cfg->batch), *by = malloc(cfg->batch);
    if (!order || !bx || !by) {
        free(order); free(bx); free(by);
        dacc_augmenter_free(aug);
        return dacc_fail(e, "out of memory for the training batches");
    }
    int batches = (int)((n + cfg->batch - 1) / cfg->batch), rc = 0;
    if (epochs_done) *epochs_done = start_epoch;
    for (int ep = start_epoch; ep < cfg->epochs && rc == 0; ep++) {
        for (int64_t i = 0; i < n; i++) order[i] = (int32_t)i;
        if (!cfg->paper) {
            dacc_rng r;
            dacc_rng_seed(&r, cfg->seed, DACC_STREAM_SHUFFLE, (uint64_t)ep, 0);
            dacc_rng_shuffle(&r, order, n);
        }
        float lr = dacc_train_lr(cfg, ep);
        dacc_model_times_reset(m);
        double t0 = now(), loss_sum = 0;
        int64_t correct = 0, seen = 0;
        for (int b = 0; b < batches; b++) {
            if (hooks && hooks->stop && *hooks->stop) {
                rc = 1;
                break;
            }
            int bs = (int)((b + 1) * (int64_t)cfg->batch > n ? n - (int64_t)b * cfg->batch : cfg->batch);
            if (gather(m, cfg, train, aug, ep, order + (int64_t)b * cfg->batch, bs, bx, by, e)) {
                rc = -1;
                break;
            }
            /* dropout stream per (epoch, batch): resumable from any epoch */
            uint64_t dseed = cfg->seed * 1000003ULL + (uint64_t)ep * 100003ULL + (uint64_t)b;
            dacc_model_forward(m, bx, bs, 1, dseed);
            int ok = 0;
            double t1 = dacc_lt_now();
            double loss = dacc_model_loss(m, by, bs, cfg->paper, &ok);
            m->times.loss_s += dacc_lt_now() - t1;
            dacc_model_backward(m, bs);
            t1 = dacc_lt_now();
            dacc_model_adam_step(m, lr);
            m->times.adam_s += dacc_lt_now() - t1;
            m->times.steps++;
            if (!isfinite(loss)) {
                rc = dacc_fail(e, "training diverged: loss is %g at epoch %d batch %d", loss, ep + 1, b + 1);
                break;
            }
            loss_sum += loss * bs;
            correct += ok;
            seen += bs;
            if (hooks && hooks->batch)
                hooks->batch(hooks->user, ep + 1, b + 1, batches, loss, seen / (now() - t0 + 1e-9));
        }
        if (rc) break;
        dacc_epoch_stats s = {ep + 1, cfg->epochs, lr, loss_sum / seen, (double)correct / seen, NAN, 0, now() - t0};
        if (test && test->n > 0)
            s.test_acc = (double)dacc_evaluate(m, test->pixels, test->labels, test->n, NULL, NULL) / test->n;
        s.seconds = now() - t0;
        if (epochs_done) *epochs_done = ep + 1;
        if (hooks && hooks->epoch && hooks->epoch(hooks->user, &s, e)) rc = -1;
    }
    free(order); free(bx); free(by);
    dacc_augmenter_free(aug);
    return rc;
}

int64_t dacc_evaluate(dacc_model *m, const uint8_t *pixels, const uint8_t *labels, int64_t n,
                      uint8_t *pred, float *conf) {
    int64_t correct = 0;
    const int K = DACC_CLASSES;
    for (int64_t i0 = 0; i0 < n; i0 += m->max_batch) {
        int bs = (int)(n - i0 < m->max_batch ? n - i0 : m->max_batch);
        const float *z = dacc_model_forward(m, pixels + (size_t)i0 * 784, bs, 0, 0);
        for (int i = 0; i < bs; i++) {
            const float *zi = z + (size_t)i * K;
            int best = 0;
            for (int j = 1; j < K; j++)
                if (zi[j] > zi[best]) best = j;
            if (labels) correct += best == labels[i0 + i];
            if (pred) pred[i0 + i] = (uint8_t)best;
            if (conf) {
                double s = 0;
                for (int j = 0; j < K; j++) s += exp((double)zi[j] - zi[best]);
                conf[i0 + i] = (float)(1.0 / s);
            }
        }
    }
    return correct;
}

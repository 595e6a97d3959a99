/* Training and evaluation loops over whole data sets, with progress
 * callbacks and a stop flag checked between batches. */
#ifndef DACC_TRAIN_H
#define DACC_TRAIN_H
#include "dacc/data.h"
#include "dacc/model.h"
#include <signal.h>

typedef struct dacc_train_config {
    dacc_variant variant;
    int epochs;        /* 20 */
    int batch;         /* 64 */
    float lr;          /* 1e-3 */
    float gamma;       /* StepLR factor per epoch when variant.lr_decay: 0.7 */
    uint64_t seed;     /* init, shuffling and dropout streams */
    int paper;         /* protocol paper: softmax fed to cross-entropy, no shuffling */
    int threads;
    int64_t train_limit; /* use only the first N training images (0 = all) */
    /* variant.augment == DACC_AUGMENT_ALIGN: the class model every training
     * image is warped from (include/dacc/align.h; not owned, NULL fails the
     * run), its sampling scale, and its identity (dacc_align_model_hash),
     * which checkpoints record so a resumed run can check it has the same. */
    const struct dacc_align_model *augment_model;
    double augment_scale;
    uint64_t augment_model_hash;
} dacc_train_config;

void dacc_train_config_default(dacc_train_config *c);
/* Learning rate of epoch e (0-based). */
float dacc_train_lr(const dacc_train_config *c, int epoch);

typedef struct dacc_epoch_stats {
    int epoch, epochs;          /* epoch is 1-based when reported */
    double lr, loss, train_acc, test_acc, seconds;
    double train_seconds;       /* the training steps only (before the test evaluation) */
} dacc_epoch_stats;

typedef struct dacc_train_hooks {
    void *user;
    /* after each batch: images/s over the epoch so far */
    void (*batch)(void *user, int epoch, int batch, int batches, double loss, double ips);
    /* after each epoch; returning non-zero aborts training with an error */
    int (*epoch)(void *user, const dacc_epoch_stats *s, dacc_err *e);
    volatile sig_atomic_t *stop; /* checked between batches */
} dacc_train_hooks;

/* Trains epochs [start_epoch, cfg->epochs). Returns 0, -1 on error, or 1 if
 * stopped through hooks->stop (the model is then at the end of the last
 * completed epoch only if stop came between epochs: callers checkpoint at
 * epoch ends). test may be NULL (no per-epoch test accuracy). */
int dacc_train_run(dacc_model *m, const dacc_train_config *cfg, const dacc_images *train,
                   const dacc_images *test, int start_epoch, const dacc_train_hooks *hooks,
                   int *epochs_done, dacc_err *e);

/* Eval-mode predictions for n images (28x28 uint8): pred[i] (may be NULL),
 * conf[i] = softmax probability of pred (may be NULL). Returns correct
 * count when labels are given, else 0. */
int64_t dacc_evaluate(dacc_model *m, const uint8_t *pixels, const uint8_t *labels, int64_t n,
                      uint8_t *pred, float *conf);

#endif

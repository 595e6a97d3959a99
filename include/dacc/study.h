/* The study runner: variants x seeds as tasks, each trained, checkpointed
 * every epoch, evaluated clean and on AlignMNIST, written to the run
 * directory (docs/RUNDIR.md) that the TUI and `dacc report` read. Finished
 * tasks are skipped and interrupted ones resume from their checkpoint. */
#ifndef DACC_STUDY_H
#define DACC_STUDY_H
#include "dacc/train.h"
#include <signal.h>
#include <stdio.h>

#define DACC_MAX_VARIANTS 32
#define DACC_MAX_SEEDS 32
#define DACC_MAX_SCALES 16 /* = DACC_RD_MAX_SCALES, the bound of scales.json */

typedef struct dacc_study_config {
    dacc_train_config train;     /* epochs, batch, lr, gamma, protocol, threads, limit */
    int n_variants;
    dacc_variant variants[DACC_MAX_VARIANTS];
    int n_seeds;
    uint64_t seeds[DACC_MAX_SEEDS];
    const char *out_dir;
    const char *mnist_dir;       /* resolved MNIST folder */
    const char *align_train;     /* AlignMNIST file of the training images (paper protocol) or NULL */
    const char *align_test;      /* of the test images (held-out protocol) or NULL */
    int blocks;                  /* transformed blocks to evaluate (5) */
    const char *augment_model_path; /* the file of train.augment_model (augment=align variants) or NULL */
    int shard_i, shard_n;        /* run tasks with index % shard_n == shard_i */
    int jobs;                    /* tasks at once (train.threads split between them); 0 = auto */
    FILE *log;                   /* plain progress lines, or NULL */
    /* dacc run --scales: every finished network is also evaluated on these
     * generated sets (both protocols), results in tasks/<id>/scales.json */
    int n_scales;
    double scales[DACC_MAX_SCALES];          /* ascending, distinct */
    const char *scale_train[DACC_MAX_SCALES]; /* the training images' set at scales[i] */
    const char *scale_test[DACC_MAX_SCALES];  /* the test images' set */
} dacc_study_config;

typedef struct dacc_task {
    char id[80];
    int index;
    dacc_variant variant;
    uint64_t seed;
} dacc_task;

/* Tasks in run order (seed-major). Returns the count. */
int dacc_study_tasks(const dacc_study_config *c, dacc_task *out, int max);
/* Runs the study. Returns 0 done, 1 interrupted via *stop (state saved), -1 error. */
int dacc_study_run(const dacc_study_config *c, const dacc_images *train, const dacc_images *test,
                   volatile sig_atomic_t *stop, dacc_err *e);

#endif

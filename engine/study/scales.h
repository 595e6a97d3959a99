/* Robustness as a curve (dacc run --scales): a finished network evaluated,
 * without retraining, on the AlignMNIST sets generated at each scale of
 * the study's --scales, both protocols; results in tasks/<id>/scales.json
 * (through rundir_scales.c). Internal to engine/study; the runner calls it
 * for tasks it has just finished and for tasks finished earlier (also by
 * a run at an older commit without --scales). */
#ifndef DACC_STUDY_SCALES_H
#define DACC_STUDY_SCALES_H
#include "dacc/study.h"
#include <signal.h>

/* Which of c's scales task_dir still lacks: an entry counts when its key
 * (the task's settings), scale and set file names all match. Returns the
 * number missing and sets missing[i] (may be NULL). */
int dacc_scales_missing(const dacc_study_config *c, const char *task_dir, const char *key, int *missing);

/* Called before each scale is evaluated (i of n still to do, 0-based). */
typedef void (*dacc_scale_fn)(void *u, int i, int n, double scale);

/* Evaluates the missing scales with m, one set at a time (each streamed in
 * chunks), rewriting scales.json after each; stops between scales when
 * *stop is set (returns 1). Returns 0 done, 1 stopped, -1 error. */
int dacc_scales_eval(const dacc_study_config *c, const dacc_images *train, const dacc_images *test,
                     const dacc_task *t, const char *task_dir, const char *key, dacc_model *m,
                     dacc_scale_fn fn, void *u, volatile sig_atomic_t *stop, dacc_err *e);

/* A finished task's network from its checkpoint.dacc, which must hold all
 * c->train.epochs epochs (the weights only). NULL with e on any problem. */
dacc_model *dacc_scales_load(const dacc_study_config *c, const dacc_task *t, const char *task_dir, dacc_err *e);

#endif

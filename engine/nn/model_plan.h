/* How the model runs its convolutions and its eval forward: each conv
 * layer's algorithms (chosen once per model), its weights packed into the
 * kernels' layouts (once per training step for training, once per
 * parameter change for eval), the kernels' per-thread scratch, and the
 * eval plan (batch-norms folded, ReLUs fused), built once per parameter
 * change. Internal to engine/nn. */
#ifndef DACC_NN_MODEL_PLAN_H
#define DACC_NN_MODEL_PLAN_H
#include "nn/model_internal.h"

/* One step of the eval network. */
typedef struct dacc_eval_step {
    const dacc_layer *l;
    int x, y;                 /* activation tensors read and written */
    const float *packed;      /* conv: packed weights and bias (BN folded in) */
    dacc_conv_algo algo;      /* conv: the algorithm they are packed for */
    int has_affine;           /* BN apply, or max pooling of an affine map */
    float a[128], b[128];
    int relu;                 /* conv, max pool: ReLU fused */
} dacc_eval_step;

/* Steps [0, split) read or write more than DACC_EVAL_SMALL_FLOATS floats
 * per image (model_pass.c runs them in smaller groups of images). */
#define DACC_EVAL_SMALL_FLOATS 8192
/* Images per group in the two stages of the eval forward (model_pass.c;
 * the second stage's groups at most this, smaller so that a task gets
 * about four); the sizes measured best with bench_network
 * (docs/PERFORMANCE.md). */
#ifndef DACC_EVAL_GROUP_BIG
#define DACC_EVAL_GROUP_BIG 4
#endif
#ifndef DACC_EVAL_GROUP_SMALL
#define DACC_EVAL_GROUP_SMALL 32
#endif
typedef struct dacc_eval_plan {
    int valid, steps, split;
    dacc_eval_step step[DACC_MAX_LAYERS];
} dacc_eval_plan;

/* Chooses the algorithms and allocates the packed weights, the kernels'
 * scratch for `threads` threads and the eval plan (after the layers and
 * max_batch are set). 0, or -1 when memory is short. m->k may be swapped
 * for another table later (tests, benchmarks): the next forward lays the
 * plan out for it. */
int dacc_model_plan_init(dacc_model *m, int threads);
void dacc_model_plan_free(dacc_model *m);
/* Training convolutions with precise rounding (F(2x2) or direct, no
 * F(4x4); conv_algo.c) or, by default, as the rule picks them for eval.
 * For tests and benchmarks that compare the two; the next training step
 * packs for the new choice. */
void dacc_model_set_train_precise(dacc_model *m, int precise);
/* Packs every conv layer's weights for the training forward and
 * backward-data, spread over the thread pool. */
void dacc_model_pack_train(dacc_model *m);
/* The eval plan, rebuilt (folds and packing included) when a parameter or
 * buffer differs from the ones it was built from. */
const dacc_eval_plan *dacc_model_eval_plan(dacc_model *m);
/* Does layer i+1 apply a ReLU in place on layer i's output? */
int dacc_model_relu_follows(const dacc_model *m, int i);
/* Does layer i-1 apply a ReLU in place on layer i's input? (A BN's backward
 * then takes that ReLU's backward in, channel_affine2_relu.) */
int dacc_model_relu_before(const dacc_model *m, int i);
/* The conv kernels' scratch of task t. */
static inline float *dacc_model_kscratch(const dacc_model *m, int t) {
    return m->kscratch + (size_t)t * m->kscratch_per_thread;
}
static inline dacc_conv_shape dacc_model_conv_shape(const dacc_layer *l, int n) {
    dacc_conv_shape s = {n, l->h, l->w, l->c, l->oh, l->ow, l->oc, l->k, l->k, l->stride, l->pad, 0};
    return s;
}

#endif

/* The network of STUDY.md ("modern LeNet-5") and its variants: the variant
 * switches, and the model as an opaque handle with forward, loss, backward
 * and Adam. Forward/backward run layer by layer; each layer's work is split
 * over the thread pool by images, reductions are summed in a fixed order so
 * results are bit-identical for a given thread count. */
#ifndef DACC_MODEL_H
#define DACC_MODEL_H
#include "dacc/err.h"
#include "dacc/kernels.h"
#include <stddef.h>
#include <stdint.h>

typedef enum { DACC_POOL_MAX, DACC_POOL_AVG, DACC_POOL_CONV } dacc_pool_kind;
typedef enum { DACC_DROPOUT_ALL, DACC_DROPOUT_FC, DACC_DROPOUT_NONE } dacc_dropout_kind;
/* Training-data augmentation: none, or every training image of every epoch
 * replaced by a fresh draw from its class's AlignMNIST deformation model
 * (engine/align/augment.c; docs/ALIGNMNIST.md, "Learned augmentation"). */
typedef enum { DACC_AUGMENT_NONE, DACC_AUGMENT_ALIGN } dacc_augment_kind;

/* A variant = the switches that differ between the six networks of the
 * study; user variants combine them freely. */
typedef struct dacc_variant {
    char name[32];
    int bn;                    /* batch-norm layers present */
    dacc_dropout_kind dropout; /* all / before the Linear only / none */
    dacc_pool_kind pool;       /* max / avg / learnable strided conv */
    int lr_decay;              /* StepLR (gamma 0.7 per epoch) */
    dacc_augment_kind augment; /* none (the presets) / align; not part of the network */
} dacc_variant;

#define DACC_N_PRESETS 6
extern const char *const dacc_preset_names[DACC_N_PRESETS];
/* "Original", "StepLR", ... (case-insensitive); -1 if unknown. */
int dacc_variant_preset(const char *name, dacc_variant *v);
/* A preset name, or key=value pairs: name=Mine,base=Original,bn=on|off,
 * dropout=all|fc|none,pool=max|avg|conv,lr_decay=on|off,augment=none|align.
 * base= resets every switch to the preset's, so it comes first. */
int dacc_variant_parse(const char *spec, dacc_variant *v, dacc_err *e);
/* "bn=on,dropout=all,pool=max,lr_decay=on", then ",augment=align" when
 * augmenting (absent for none: the presets' strings, and the run-directory
 * keys made from them, stay what they were). */
void dacc_variant_switches(const dacc_variant *v, char *buf, size_t n);

/* The model is opaque outside engine/nn/ (its layers, arenas and caches are
 * in engine/nn/model_internal.h). */
typedef struct dacc_model dacc_model;

/* Builds the layer list and allocates for batches up to max_batch;
 * parameters are initialised as PyTorch does, from seed. NULL on failure. */
dacc_model *dacc_model_new(const dacc_variant *v, int max_batch, int threads, uint64_t seed,
                           dacc_err *e);
void dacc_model_delete(dacc_model *m);
/* Parameters, batch-norm buffers and optimiser state afresh from seed. */
void dacc_model_init_params(dacc_model *m, uint64_t seed);
/* The kernel table the model runs on. */
const dacc_kernels *dacc_model_kernels(const dacc_model *m);
/* The largest batch a call takes (dacc_evaluate works in batches of it). */
int dacc_model_max_batch(const dacc_model *m);

/* Forward pass on n images (uint8, 28x28). train=1: batch statistics,
 * dropout with masks from (seed, step); train=0: running statistics, no
 * dropout. Returns the logits (n x 10), valid until the next call. */
const float *dacc_model_forward(dacc_model *m, const uint8_t *images, int n, int train,
                                uint64_t dropout_seed);
/* Loss and gradient of the logits from the last forward; paper=1 feeds the
 * softmax into cross-entropy (the notebook's double softmax). Returns the
 * mean loss; counts correct predictions into *correct if non-NULL. */
double dacc_model_loss(dacc_model *m, const uint8_t *labels, int n, int paper, int *correct);
/* Backward from the logits' gradient, with the weights of the last training
 * forward (which packed them); fills the gradients. */
void dacc_model_backward(dacc_model *m, int n);
/* One Adam step at learning rate lr. */
void dacc_model_adam_step(dacc_model *m, float lr);
/* Time of the training steps per layer (engine/nn/layer_times.c): wall
 * seconds the caller's thread spends on each layer's work, accumulated from
 * dacc_model_times_reset on. A round of the thread pool runs several
 * layers (and both parts of a conv layer's backward); the round's wall
 * time is split among them in the proportion task 0 measured for each.
 * The weights' packing, the loss and the Adam step are timed apart; the
 * rest of a step (copying the batch, the input normalisation) is what is
 * left of it. */
enum { DACC_TIME_FWD, DACC_TIME_BWD_DATA, DACC_TIME_BWD_WEIGHTS, DACC_TIME_PARTS };
typedef struct dacc_step_times {
    double pack_s, loss_s, adam_s;
    long steps;
} dacc_step_times;
void dacc_model_times_reset(dacc_model *m);
/* Layers in the model's list. */
int dacc_model_layer_count(const dacc_model *m);
/* Seconds of layer i in part (DACC_TIME_*); 0 out of range. */
double dacc_model_layer_time(const dacc_model *m, int i, int part);
/* Whether layer i's backward-data and backward-weights run as one kernel
 * call (conv_bwd_both): its time is then all under backward-weights. */
int dacc_model_layer_bwd_fused(const dacc_model *m, int i);
void dacc_model_step_times(const dacc_model *m, dacc_step_times *out);
/* A layer's name for reports: its PyTorch name, pool_1/pool_2 for the
 * parameterless pooling layers, <layer>+relu and <layer>+dropout for the
 * ReLU and dropout after a convolution or pooling layer. */
void dacc_model_layer_label(const dacc_model *m, int i, char *buf, size_t n);
/* Copies of the logits of the last forward. */
const float *dacc_model_logits(const dacc_model *m);

#define DACC_NORM_MEAN 0.1307f
#define DACC_NORM_STD 0.3081f
#define DACC_CLASSES 10

#endif

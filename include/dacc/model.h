/* The network of STUDY.md ("modern LeNet-5") and its variants, as a list of
 * layers over NHWC activations, with parameters, gradients and optimiser
 * state each in one arena. Forward/backward run layer by layer; each layer's
 * work is split over the thread pool by images, reductions are summed in a
 * fixed order so results are bit-identical for a given thread count. */
#ifndef DACC_MODEL_H
#define DACC_MODEL_H
#include "dacc/err.h"
#include "dacc/kernels.h"
#include <stddef.h>
#include <stdint.h>

typedef enum { DACC_POOL_MAX, DACC_POOL_AVG, DACC_POOL_CONV } dacc_pool_kind;
typedef enum { DACC_DROPOUT_ALL, DACC_DROPOUT_FC, DACC_DROPOUT_NONE } dacc_dropout_kind;

/* A variant = the switches that differ between the six networks of the
 * study; user variants combine them freely. */
typedef struct dacc_variant {
    char name[32];
    int bn;                    /* batch-norm layers present */
    dacc_dropout_kind dropout; /* all / before the Linear only / none */
    dacc_pool_kind pool;       /* max / avg / learnable strided conv */
    int lr_decay;              /* StepLR (gamma 0.7 per epoch) */
} dacc_variant;

#define DACC_N_PRESETS 6
extern const char *const dacc_preset_names[DACC_N_PRESETS];
/* "Original", "StepLR", ... (case-insensitive); -1 if unknown. */
int dacc_variant_preset(const char *name, dacc_variant *v);
/* A preset name, or key=value pairs: name=Mine,base=Original,bn=on|off,
 * dropout=all|fc|none,pool=max|avg|conv,lr_decay=on|off. */
int dacc_variant_parse(const char *spec, dacc_variant *v, dacc_err *e);
/* "bn=on,dropout=all,pool=max,lr_decay=on" */
void dacc_variant_switches(const dacc_variant *v, char *buf, size_t n);

typedef enum {
    DACC_L_CONV, DACC_L_RELU, DACC_L_BN, DACC_L_MAXPOOL, DACC_L_AVGPOOL, DACC_L_DROPOUT
} dacc_layer_kind;

typedef struct dacc_layer {
    dacc_layer_kind kind;
    char name[24];        /* PyTorch name (conv32_1, BN32_1, pool_1, fc) or "" */
    int in, out;          /* activation tensor ids (equal for in-place layers) */
    int h, w, c;          /* input shape of one image */
    int oh, ow, oc;       /* output shape of one image */
    int k, stride, pad;   /* conv/pool window */
    float p;              /* dropout probability */
    size_t w_off, b_off;  /* parameters: conv weight/bias, BN gamma/beta */
    size_t rm_off, rv_off;/* BN running mean/var in the buffer arena */
    int bn_index;         /* BN: index into num_batches_tracked */
    size_t aux_off;       /* maxpool argmax / dropout mask, per image */
    size_t stat_off;      /* BN: batch mean and invstd (2*c floats) */
} dacc_layer;

/* A named tensor of the model, for checkpoints and export. */
typedef enum { DACC_T_PARAM, DACC_T_BUFFER } dacc_tensor_role;
typedef struct dacc_tensor_ref {
    char name[48];        /* PyTorch state_dict key, e.g. conv32_1.weight */
    dacc_tensor_role role;
    size_t off, count;    /* into params (PARAM) or buffers (BUFFER) */
    int ndim;
    int64_t shape[4];     /* PyTorch shape */
    int conv_weight;      /* stored [kh][kw][ic][oc], PyTorch [oc][ic][kh][kw] */
} dacc_tensor_ref;

#define DACC_MAX_LAYERS 40

/* A convolution layer's algorithms (chosen once per model) and where its
 * packed weights live in dacc_model.packed: for the training forward and
 * backward-data (packed once per training step) and for eval (once per
 * parameter change, batch-norm folded in). */
typedef struct dacc_conv_packs {
    dacc_conv_algo train_fwd, train_bwd, eval_fwd;
    size_t train_fwd_off, train_bwd_off, eval_fwd_off;
} dacc_conv_packs;
/* Time of the training steps per layer (engine/nn/layer_times.c): wall
 * seconds the caller's thread spends on each layer's work, accumulated from
 * dacc_model_times_reset on. A conv layer's backward runs both of its parts
 * in one round of the thread pool; the round's time is split between them
 * in the proportion task 0 (the caller's thread) measured. The weights'
 * packing, the loss and the Adam step are timed apart; the rest of a step
 * (copying the batch, the input normalisation) is what is left of it. */
enum { DACC_TIME_FWD, DACC_TIME_BWD_DATA, DACC_TIME_BWD_WEIGHTS, DACC_TIME_PARTS };
typedef struct dacc_layer_times {
    double s[DACC_MAX_LAYERS][DACC_TIME_PARTS];
    double pack_s, loss_s, adam_s;
    double split_data_s, split_weights_s; /* task 0's conv backward parts (scratch) */
    long steps;
} dacc_layer_times;
#define DACC_MAX_TENSORS 48
#define DACC_MAX_ACTS 48

typedef struct dacc_model {
    dacc_variant variant;
    int n_layers;
    dacc_layer layers[DACC_MAX_LAYERS];
    int n_tensors;
    dacc_tensor_ref tensors[DACC_MAX_TENSORS];
    int n_acts;
    size_t act_size[DACC_MAX_ACTS];   /* floats per image */
    size_t act_off[DACC_MAX_ACTS];    /* into acts, for max_batch images */
    size_t n_params, n_buffers, aux_per_image, n_stats;
    int n_bn;
    float *params, *grads, *adam_m, *adam_v, *buffers;
    int64_t *bn_batches;              /* num_batches_tracked per BN layer */
    int64_t adam_step;
    int max_batch;
    float *acts, *dacts;              /* activations and their gradients */
    uint8_t *aux;                     /* argmax (int32) and dropout masks */
    float *stats;
    float *scratch;                   /* per-thread partial weight gradients */
    size_t scratch_per_thread;
    dacc_conv_packs conv[DACC_MAX_LAYERS]; /* conv layers only */
    float *packed;                    /* every conv's packed weights */
    float *kscratch;                  /* per-thread scratch of the conv kernels */
    size_t kscratch_per_thread;
    float *folded;                    /* eval: conv weights with batch-norm folded in
                                         (same offsets as params) */
    float *eval_src;                  /* params then buffers as the eval plan was built from */
    struct dacc_eval_plan *eval;      /* valid while eval_src matches */
    double *red;                      /* per-thread partial channel sums */
    struct dacc_pool *pool;
    const dacc_kernels *k;
    dacc_layer_times times;
} dacc_model;

/* Builds the layer list and allocates for batches up to max_batch;
 * parameters are initialised as PyTorch does, from seed. */
int dacc_model_init(dacc_model *m, const dacc_variant *v, int max_batch, int threads,
                    uint64_t seed, dacc_err *e);
void dacc_model_free(dacc_model *m);
void dacc_model_init_params(dacc_model *m, uint64_t seed);

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
 * forward (which packed them); fills m->grads. */
void dacc_model_backward(dacc_model *m, int n);
/* One Adam step at learning rate lr. */
void dacc_model_adam_step(dacc_model *m, float lr);
/* Clears the per-layer timers (dacc_layer_times). */
void dacc_model_times_reset(dacc_model *m);
/* A layer's name for reports: its PyTorch name, pool_1/pool_2 for the
 * parameterless pooling layers, <layer>+relu and <layer>+dropout for the
 * ReLU and dropout after a convolution or pooling layer. */
void dacc_model_layer_label(const dacc_model *m, int i, char *buf, size_t n);
/* Copies of the logits of the last forward. */
const float *dacc_model_logits(const dacc_model *m);
const dacc_tensor_ref *dacc_model_find_tensor(const dacc_model *m, const char *name);
float *dacc_model_tensor_data(dacc_model *m, const dacc_tensor_ref *t);

#define DACC_NORM_MEAN 0.1307f
#define DACC_NORM_STD 0.3081f
#define DACC_CLASSES 10

#endif

/* The inside of dacc_model (include/dacc/model.h keeps it opaque): the layer
 * list over NHWC activations, the named tensors, and the arenas (parameters,
 * gradients, optimiser state, activations) and eval caches (folded weights)
 * each in one allocation. For engine/nn/ and its white-box tests and
 * benchmarks only. */
#ifndef DACC_NN_MODEL_INTERNAL_H
#define DACC_NN_MODEL_INTERNAL_H
#include "dacc/model.h"

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
 * parameter change, batch-norm folded in; the training forward's copy
 * when no batch-norm is folded and the algorithm is the same, as both then
 * hold the same bits); train_wgt, the backward-weights algorithm, has no
 * packed weights; train_both: the two backward ops run fused, on
 * backward-data's packed weights. */
typedef struct dacc_conv_packs {
    dacc_conv_algo train_fwd, train_bwd, eval_fwd;
    dacc_conv_algo train_wgt;
    int train_both; /* backward-data and -weights in one kernel call (conv_ops.h) */
    size_t train_fwd_off, train_bwd_off, eval_fwd_off;
} dacc_conv_packs;
/* Time of the training steps per layer (layer_times.c; dacc_model_times). */
typedef struct dacc_layer_times {
    double s[DACC_MAX_LAYERS][DACC_TIME_PARTS];
    double pack_s, loss_s, adam_s;
    double split_data_s, split_weights_s; /* task 0's conv backward parts (scratch) */
    double round[DACC_MAX_LAYERS][DACC_TIME_PARTS]; /* task 0's steps of a round (scratch) */
    long steps;
} dacc_layer_times;
#define DACC_MAX_TENSORS 48
#define DACC_MAX_ACTS 48

struct dacc_model {
    dacc_variant variant;
    int n_layers;
    dacc_layer layers[DACC_MAX_LAYERS];
    int n_tensors;
    dacc_tensor_ref tensors[DACC_MAX_TENSORS];
    int n_acts;
    size_t act_size[DACC_MAX_ACTS];   /* floats per image */
    size_t act_off[DACC_MAX_ACTS];    /* into acts, for max_batch images */
    size_t dact_off[DACC_MAX_ACTS];   /* into dacts: the start of the tensor's region */
    size_t n_params, n_buffers, aux_per_image, n_stats;
    int n_bn;
    float *params, *grads, *adam_m, *adam_v, *buffers;
    int64_t *bn_batches;              /* num_batches_tracked per BN layer */
    int64_t adam_step;
    int max_batch;
    float *acts;                      /* activations, one region per tensor */
    float *dacts;                     /* their gradients: a few regions shared by the
                                         tensors (model_build.c, layout_grads) */
    uint8_t *aux;                     /* argmax (int32) and dropout masks */
    float *stats;
    float *scratch;                   /* partial weight gradients: two sets (backward
                                         alternates them between convolutions), each
                                         pool threads x scratch_per_thread */
    size_t scratch_per_thread;
    dacc_conv_packs conv[DACC_MAX_LAYERS]; /* conv layers only */
    const dacc_kernels *plan_k;       /* the table conv[] and packed are laid out for */
    int train_precise;                /* training convolutions without F(4x4) (conv_algo.c;
                                         0, tests compare both: dacc_model_set_train_precise) */
    float *packed;                    /* every conv's packed weights */
    size_t packed_cap;                /* floats of packed */
    float *kscratch;                  /* per-thread scratch of the conv kernels */
    size_t kscratch_per_thread;
    float *folded;                    /* eval: conv weights with batch-norm folded in
                                         (same offsets as params) */
    float *eval_src;                  /* params then buffers as the eval plan was built from */
    struct dacc_eval_plan *eval;      /* valid while eval_src matches */
    float *eval_local;                /* per thread: two buffers of eval_local_half floats
                                         for a group's activations between eval steps */
    size_t eval_local_half;
    int *eval_local_act;              /* per thread and buffer: the activation it holds
                                         (read by bench_network's breakdown) */
    double *red;                      /* per-thread partial channel sums */
    struct dacc_pool *pool;
    const dacc_kernels *k;
    dacc_layer_times times;
};

/* As dacc_model_new / dacc_model_delete, on a model the caller holds (engine/nn and its
 * white-box tests and benchmarks). */
int dacc_model_init(dacc_model *m, const dacc_variant *v, int max_batch, int threads,
                    uint64_t seed, dacc_err *e);
void dacc_model_free(dacc_model *m);
/* The last layer (exclusive) of the backward round that starts at layer i
 * (model_pass.c); *conv its convolution, or -1. */
int dacc_model_bwd_round_end(const dacc_model *m, int i, int *conv);
/* The tensors whose gradients the round from layer i down to (end, i]
 * reads or writes, into ids (room for 2 * DACC_MAX_LAYERS + 1): every
 * layer's input and output, and the output of the BN whose sums end it.
 * Returns their number (repeats included). */
int dacc_model_bwd_round_tensors(const dacc_model *m, int i, int end, int *ids);
const dacc_tensor_ref *dacc_model_find_tensor(const dacc_model *m, const char *name);
float *dacc_model_tensor_data(dacc_model *m, const dacc_tensor_ref *t);

#endif

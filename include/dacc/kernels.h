/* The kernel table: every hot operation of training and evaluation as a
 * function pointer, chosen once per process for the CPU (or forced with
 * DACC_ISA). The engine calls only these; it never touches intrinsics.
 *
 * Layouts: activations are NHWC (channels last, so channels sit in vector
 * lanes); convolution weights are [kh][kw][ic][oc] (oc innermost). A linear
 * layer is a 1x1 convolution on a 1x1 image. All kernels overwrite their
 * outputs unless the comment says "adds". */
#ifndef DACC_KERNELS_H
#define DACC_KERNELS_H
#include <stddef.h>
#include <stdint.h>

typedef struct dacc_conv_shape {
    int n;              /* images */
    int ih, iw, ic;     /* input  n x ih x iw x ic */
    int oh, ow, oc;     /* output n x oh x ow x oc */
    int kh, kw, stride, pad;
    int relu;           /* conv_fwd only: 1 = y = max(conv + bias, 0) (fused ReLU) */
} dacc_conv_shape;

/* How a convolution is computed. The engine chooses (engine/nn/conv_algo.c)
 * and passes the same choice to the query, pack and compute ops; a kernel
 * whose query refuses an algorithm must not be called with it. */
typedef enum dacc_conv_algo {
    DACC_CONV_DIRECT = 0, /* a direct sum over the window (every kernel) */
    DACC_CONV_WINO2 = 2,  /* Winograd F(2x2,3x3): 3x3, stride 1 */
    DACC_CONV_WINO4 = 4,  /* Winograd F(4x4,3x3): ~10x the rounding of F(2x2) */
    DACC_CONV_WINO5 = 5,  /* Winograd F(5x5,3x3), 8-lane kernels (AVX2): forward, and */
    DACC_CONV_WINO6 = 6   /* F(6x6,3x3): backward-data's flipped form runs on it too */
} dacc_conv_algo;

/* What one convolution op needs for a shape and algorithm, in floats. */
typedef struct dacc_conv_need {
    size_t packed_size;  /* the pack op's output (0 for backward-weights) */
    size_t scratch_size; /* per call; enough for any call with at most s->n images */
    int lanes;           /* floats per vector in the kernel's channel blocking */
} dacc_conv_need;

typedef struct dacc_pool_shape {
    int n, ih, iw, c, oh, ow;
    int k, stride, pad; /* square window */
} dacc_pool_shape;

typedef struct dacc_adam_args {
    float lr, beta1, beta2, eps;
    float bc1, bc2;     /* bias corrections 1-beta1^t, 1-beta2^t */
} dacc_adam_args;

/* Convolutions compute only: weights are packed beforehand into the
 * kernel's own layout (by the pack op of the same ISA, once per weight
 * change) and every temporary lives in caller-provided scratch; no
 * convolution op allocates. packed and scratch are best 64-byte aligned
 * (any float alignment is correct). The packed layout of an op depends on
 * its ISA, the algorithm and s without s->n and s->relu.
 *
 * query: fills *need; returns 0, or -1 when the kernel has no such
 * algorithm for s (need->lanes is set either way). */
typedef int dacc_conv_query_t(const dacc_conv_shape *s, dacc_conv_algo algo,
                              dacc_conv_need *need);
typedef dacc_conv_query_t dacc_conv_fwd_query_t, dacc_conv_bwd_data_query_t,
    dacc_conv_bwd_filter_query_t;
/* packed = w (and bias; NULL means zeros) in conv_fwd's layout. */
typedef void dacc_conv_fwd_pack_t(const dacc_conv_shape *s, dacc_conv_algo algo,
                                  const float *w, const float *bias, float *packed);
/* y = conv(x, w) + bias; zero padding; then, when s->relu is set,
 * y = max(y, 0). The backward ops ignore s->relu. */
typedef void dacc_conv_fwd_t(const dacc_conv_shape *s, dacc_conv_algo algo, const float *x,
                             const float *packed, float *y, float *scratch);
/* packed = w in conv_bwd_data's layout (transposed, flipped or transformed;
 * the packed size may include the pack's own workspace). */
typedef void dacc_conv_bwd_data_pack_t(const dacc_conv_shape *s, dacc_conv_algo algo,
                                       const float *w, float *packed);
/* dx = gradient of the input given dy. */
typedef void dacc_conv_bwd_data_t(const dacc_conv_shape *s, dacc_conv_algo algo,
                                  const float *dy, const float *packed, float *dx,
                                  float *scratch);
/* dw = sum over the s->n images of the weight gradient; db likewise
 * (db may be NULL). No packed weights (packed_size 0); algo is direct or,
 * where the query accepts it, Winograd F(2x2,3x3) (3x3, stride 1). */
typedef void dacc_conv_bwd_filter_t(const dacc_conv_shape *s, dacc_conv_algo algo,
                                    const float *x, const float *dy, float *dw, float *db,
                                    float *scratch);
/* conv_bwd_data then conv_bwd_filter (same s, dy), fused: the two ops'
 * results, bit for bit, from one pass over dy where the query accepts the
 * pair (data_algo, wgt_algo); packed is conv_bwd_data's (same ISA), and
 * need->packed_size its size. Where the query refuses (-1), the engine
 * calls the two ops; the compute op then still gives their results, with
 * scratch for the larger of the two ops' needs. */
typedef int dacc_conv_bwd_both_query_t(const dacc_conv_shape *s, dacc_conv_algo data_algo,
                                       dacc_conv_algo wgt_algo, dacc_conv_need *need);
typedef void dacc_conv_bwd_both_t(const dacc_conv_shape *s, dacc_conv_algo data_algo,
                                  dacc_conv_algo wgt_algo, const float *x, const float *dy,
                                  const float *packed, float *dx, float *dw, float *db,
                                  float *scratch);
/* Max pooling, padding counts as -inf (PyTorch). idx[o] = offset of the
 * winning input element within its image (h*iw*c + w*c + ch); ties go to the
 * first in row-major window order. */
typedef void dacc_maxpool_fwd_t(const dacc_pool_shape *s, const float *x,
                                    float *y, int32_t *idx);
typedef void dacc_maxpool_bwd_t(const dacc_pool_shape *s, const float *dy,
                                    const int32_t *idx, float *dx);
/* Eval-mode max pooling of a per-channel affine map, without argmax:
 * y = maxpool(x * a[c] + b[c]), then max(y, 0) when relu is set; a == NULL
 * (and b == NULL) means the identity. Computed as a * (max or, for a < 0,
 * min of the window) + b, so a batch-norm before the pool costs one affine
 * per output instead of a pass over the input (rounding is monotonic, so
 * this equals pooling the rounded affine values). A window entirely in the
 * padding gives -inf (0 with relu). NaN inputs give an unspecified value. */
typedef void dacc_maxpool_affine_t(const dacc_pool_shape *s, const float *x, const float *a,
                                       const float *b, int relu, float *y);
/* Average pooling, padding counted in the average (divide by k*k). */
typedef void dacc_avgpool_fwd_t(const dacc_pool_shape *s, const float *x, float *y);
typedef void dacc_avgpool_bwd_t(const dacc_pool_shape *s, const float *dy, float *dx);
/* y = max(x, 0); x == y allowed. */
typedef void dacc_relu_fwd_t(size_t n, const float *x, float *y);
/* dx = y > 0 ? dy : 0 (y is the ReLU output); dy == dx allowed. */
typedef void dacc_relu_bwd_t(size_t n, const float *y, const float *dy, float *dx);
/* Per-channel reductions over rows x c (row-major), added to double sums.
 * channel_moments (batch-norm forward): with d = x[r][c] - shift[c],
 *   sum[c] += sum_r d; sq[c] += sum_r d^2
 * channel_dot (batch-norm backward):
 *   sum_dy[c] += sum_r dy[r][c]; sum_dyx[c] += sum_r dy[r][c] * (x[r][c] - mean[c]) */
typedef void dacc_channel_moments_t(size_t rows, int c, const float *x, const float *shift,
                                    double *sum, double *sq);
typedef void dacc_channel_dot_t(size_t rows, int c, const float *dy, const float *x,
                                    const float *mean, double *sum_dy, double *sum_dyx);
/* y[r][c] = x[r][c] * a[c] + b[c]; x == y allowed (batch-norm apply). */
typedef void dacc_channel_affine_t(size_t rows, int c, const float *x,
                                       const float *a, const float *b, float *y);
/* out[r][c] = p[r][c] * a[c] + q[r][c] * b[c] + k[c] (batch-norm backward);
 * out may alias p. */
typedef void dacc_channel_affine2_t(size_t rows, int c, const float *p, const float *q,
                                        const float *a, const float *b, const float *k,
                                        float *out);
/* out[r][c] = q[r][c] > 0 ? p[r][c] * a[c] + q[r][c] * b[c] + k[c] : 0:
 * batch-norm backward and the backward of the ReLU before it (q, the BN
 * input, is that ReLU's output) in one pass; out may alias p. */
typedef void dacc_channel_affine2_relu_t(size_t rows, int c, const float *p, const float *q,
                                         const float *a, const float *b, const float *k,
                                         float *out);
/* y = mask ? x * scale : 0 (inverted dropout); x == y allowed. */
typedef void dacc_dropout_t(size_t n, const float *x, const uint8_t *mask,
                                float scale, float *y);
/* Dropout masks from xoshiro256** streams (the step of engine/core/rng.h's
 * dacc_rng_next): for stream i < streams with state[4i..4i+3],
 * mask[i * stride + j] = (its j-th draw < keep) for j < n (state is not
 * advanced). */
typedef void dacc_dropout_mask_t(int streams, const uint64_t *state, size_t n, uint64_t keep,
                                 uint8_t *mask, size_t stride);
/* Row-wise softmax of rows x k. */
typedef void dacc_softmax_t(size_t rows, int k, const float *x, float *y);
/* One Adam step (PyTorch's formula):
 * m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps) */
typedef void dacc_adam_t(size_t n, float *p, const float *g, float *m, float *v,
                             const dacc_adam_args *a);
/* y = x * scale + shift, x uint8 (input normalisation). */
typedef void dacc_u8_normalize_t(size_t n, const uint8_t *x, float scale,
                                     float shift, float *y);

/* X-macro over every op: (name, function type). A convolution's query,
 * pack and compute ops are listed for the same ISAs in the same order
 * (the list.inc of each simd/f32-conv-* family), so every table takes all three from one ISA
 * and the packed layout always matches (test_kernels checks). */
#define DACC_OPS(X)                                   \
    X(conv_fwd_query, dacc_conv_fwd_query_t)         \
    X(conv_fwd_pack, dacc_conv_fwd_pack_t)           \
    X(conv_fwd, dacc_conv_fwd_t)                     \
    X(conv_bwd_data_query, dacc_conv_bwd_data_query_t) \
    X(conv_bwd_data_pack, dacc_conv_bwd_data_pack_t) \
    X(conv_bwd_data, dacc_conv_bwd_data_t)           \
    X(conv_bwd_filter_query, dacc_conv_bwd_filter_query_t) \
    X(conv_bwd_filter, dacc_conv_bwd_filter_t)       \
    X(conv_bwd_both_query, dacc_conv_bwd_both_query_t) \
    X(conv_bwd_both, dacc_conv_bwd_both_t)           \
    X(maxpool_fwd, dacc_maxpool_fwd_t)               \
    X(maxpool_bwd, dacc_maxpool_bwd_t)               \
    X(maxpool_affine, dacc_maxpool_affine_t)         \
    X(avgpool_fwd, dacc_avgpool_fwd_t)               \
    X(avgpool_bwd, dacc_avgpool_bwd_t)               \
    X(relu_fwd, dacc_relu_fwd_t)                     \
    X(relu_bwd, dacc_relu_bwd_t)                     \
    X(channel_moments, dacc_channel_moments_t)       \
    X(channel_dot, dacc_channel_dot_t)               \
    X(channel_affine, dacc_channel_affine_t)         \
    X(channel_affine2, dacc_channel_affine2_t)       \
    X(channel_affine2_relu, dacc_channel_affine2_relu_t) \
    X(dropout, dacc_dropout_t)                       \
    X(dropout_mask, dacc_dropout_mask_t)             \
    X(softmax, dacc_softmax_t)                       \
    X(adam, dacc_adam_t)                             \
    X(u8_normalize, dacc_u8_normalize_t)

typedef enum dacc_isa {
    DACC_ISA_SCALAR,
    DACC_ISA_AVX2,
    DACC_ISA_AVX512,
    DACC_ISA_NEON,
    DACC_ISA_HWY,
    DACC_ISA_COUNT
} dacc_isa;

typedef enum dacc_op {
#define X(name, type) DACC_OP_##name,
    DACC_OPS(X)
#undef X
    DACC_OP_COUNT
} dacc_op;

typedef struct dacc_kernels {
#define X(name, type) type *name;
    DACC_OPS(X)
#undef X
    const char *names[DACC_OP_COUNT]; /* symbol chosen for each op */
    dacc_isa isa;                     /* the path asked for (scalar fills gaps) */
} dacc_kernels;

/* One compiled implementation of one op. */
typedef struct dacc_kernel_impl {
    dacc_op op;
    dacc_isa isa;
    const char *name;
    void (*fn)(void);   /* cast to the op's type */
} dacc_kernel_impl;

const char *dacc_isa_name(dacc_isa isa);
int dacc_isa_parse(const char *s, dacc_isa *out);   /* 0 ok, -1 unknown */
const char *dacc_op_name(dacc_op op);
/* Does this CPU (and this build) run the ISA's kernels? */
int dacc_cpu_supports(dacc_isa isa);
/* A short description of the CPU ("AMD EPYC ... avx2 fma avx512f ..."). */
const char *dacc_cpu_description(void);

/* Every compiled implementation, best first within an op, scalar last. */
const dacc_kernel_impl *dacc_kernel_impls(int *count);
/* Table for one ISA: each op from that ISA, scalar where it has none.
 * Returns -1 if the CPU or build lacks the ISA. */
int dacc_kernels_for_isa(dacc_isa isa, dacc_kernels *out);
/* The process-wide table, chosen once: DACC_ISA if set (NULL if DACC_ISA is
 * unknown or unsupported; see dacc_kernels_error), else the best per op. */
const dacc_kernels *dacc_kernels_get(void);
const char *dacc_kernels_error(void);

#endif

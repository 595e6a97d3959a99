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
    int precise;        /* conv_fwd, conv_bwd_data: 1 = no fast path whose
                           rounding is far above a direct sum's (x86: no
                           Winograd F(4x4)). Training asks for it: the forward's
                           outputs decide which ReLUs pass and which max-pool
                           input wins, and Adam turns a near-zero gradient into
                           +-lr; with F(4x4)'s ~10x larger rounding such
                           near-ties went another way between kernel tables in
                           about one step in four (test_determinism: gradients
                           1e-2, updates 2e-3 apart). Eval leaves it 0. */
} dacc_conv_shape;

typedef struct dacc_pool_shape {
    int n, ih, iw, c, oh, ow;
    int k, stride, pad; /* square window */
} dacc_pool_shape;

typedef struct dacc_adam_args {
    float lr, beta1, beta2, eps;
    float bc1, bc2;     /* bias corrections 1-beta1^t, 1-beta2^t */
} dacc_adam_args;

/* y = conv(x, w) + bias (bias may be NULL); zero padding; then, when
 * s->relu is set, y = max(y, 0). The backward kernels ignore s->relu. */
typedef void dacc_conv_fwd_t(const dacc_conv_shape *s, const float *x,
                                 const float *w, const float *bias, float *y);
/* dx = gradient of the input given dy. */
typedef void dacc_conv_bwd_data_t(const dacc_conv_shape *s, const float *dy,
                                      const float *w, float *dx);
/* dw = sum over the s->n images of the weight gradient; db likewise
 * (db may be NULL). */
typedef void dacc_conv_bwd_filter_t(const dacc_conv_shape *s, const float *x,
                                        const float *dy, float *dw, float *db);
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
/* Per-channel reductions over rows x c (row-major): adds to double out[c].
 * channel_sum:   out[c] += sum_r x[r][c]
 * channel_sqdev: out[c] += sum_r (x[r][c] - mean[c])^2
 * channel_dot:   sum_dy[c] += sum_r dy[r][c];
 *                sum_dyx[c] += sum_r dy[r][c] * (x[r][c] - mean[c]) */
typedef void dacc_channel_sum_t(size_t rows, int c, const float *x, double *out);
typedef void dacc_channel_sqdev_t(size_t rows, int c, const float *x,
                                      const float *mean, double *out);
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
/* y = mask ? x * scale : 0 (inverted dropout); x == y allowed. */
typedef void dacc_dropout_t(size_t n, const float *x, const uint8_t *mask,
                                float scale, float *y);
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

/* X-macro over every op: (name, function type). */
#define DACC_OPS(X)                                   \
    X(conv_fwd, dacc_conv_fwd_t)                     \
    X(conv_bwd_data, dacc_conv_bwd_data_t)           \
    X(conv_bwd_filter, dacc_conv_bwd_filter_t)       \
    X(maxpool_fwd, dacc_maxpool_fwd_t)               \
    X(maxpool_bwd, dacc_maxpool_bwd_t)               \
    X(maxpool_affine, dacc_maxpool_affine_t)         \
    X(avgpool_fwd, dacc_avgpool_fwd_t)               \
    X(avgpool_bwd, dacc_avgpool_bwd_t)               \
    X(relu_fwd, dacc_relu_fwd_t)                     \
    X(relu_bwd, dacc_relu_bwd_t)                     \
    X(channel_sum, dacc_channel_sum_t)               \
    X(channel_sqdev, dacc_channel_sqdev_t)           \
    X(channel_dot, dacc_channel_dot_t)               \
    X(channel_affine, dacc_channel_affine_t)         \
    X(channel_affine2, dacc_channel_affine2_t)       \
    X(dropout, dacc_dropout_t)                       \
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

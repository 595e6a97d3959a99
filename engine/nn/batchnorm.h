/* Batch-norm's per-channel arithmetic between the kernels' reductions, shared
 * by the model (threaded) and the gradient test (one task). PyTorch rules:
 * normalise with the biased batch variance, update running stats with the
 * unbiased one, momentum 0.1, eps 1e-5. */
#ifndef DACC_BATCHNORM_H
#define DACC_BATCHNORM_H
#include "dacc/kernels.h"
#include <stdint.h>

#define DACC_BN_EPS 1e-5
#define DACC_BN_MOMENTUM 0.1f

/* Training statistics in one pass: channel_moments about a shift near the
 * batch mean (the running mean) gives sum (x - shift) and sum (x - shift)^2,
 * var = sq/cnt - d^2 with d = mean - shift. The subtraction loses about
 * log2(1 + d^2/(var + eps)) bits of what the normalisation uses (var + eps),
 * so when some channel's d^2 exceeds DACC_BN_SHIFT_FAR (var + eps) (a
 * running mean far from this batch's, e.g. early in training on shifted
 * data), the caller sums again about the batch mean. */
#define DACC_BN_SHIFT_FAR 8.0
/* After channel_moments: mean = shift + d (float); nonzero when the shift
 * was too far for some channel. */
int dacc_bn_shift_far(int c, double cnt, const double *sum, const double *sq, const float *shift,
                      float *mean);
/* After channel_moments: mean, invstd, the apply coefficients y = x*a + b,
 * and the running statistics update (rm, rv may be NULL; shift may be rm or
 * mean: each channel's shift is read before its outputs are written). */
void dacc_bn_train_moments(int c, double cnt, const double *sum, const double *sq,
                           const float *shift, const float *gamma, const float *beta, float *mean,
                           float *invstd, float *a, float *b, float *rm, float *rv);
/* Eval mode: y = x*a + b from the running statistics. */
void dacc_bn_eval_coeffs(int c, const float *gamma, const float *beta, const float *rm,
                         const float *rv, float *a, float *b);
/* After channel_dot (sum dy, sum dy*(x-mean)): parameter gradients and
 * dx = dy*A + x*B + K. */
void dacc_bn_backward_coeffs(int c, double cnt, const double *sum_dy, const double *sum_dyx,
                             const float *mean, const float *invstd, const float *gamma,
                             float *dgamma, float *dbeta, float *A, float *B, float *K);
#endif

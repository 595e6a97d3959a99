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

/* After channel_sum: mean = sum / cnt. */
void dacc_bn_mean(int c, double cnt, const double *sum, float *mean);
/* After channel_sqdev: invstd, the apply coefficients y = x*a + b, and the
 * running statistics update (rm, rv may be NULL). */
void dacc_bn_train_coeffs(int c, double cnt, const double *sqdev, const float *mean,
                          const float *gamma, const float *beta, float *invstd, float *a,
                          float *b, float *rm, float *rv);
/* Eval mode: y = x*a + b from the running statistics. */
void dacc_bn_eval_coeffs(int c, const float *gamma, const float *beta, const float *rm,
                         const float *rv, float *a, float *b);
/* After channel_dot (sum dy, sum dy*(x-mean)): parameter gradients and
 * dx = dy*A + x*B + K. */
void dacc_bn_backward_coeffs(int c, double cnt, const double *sum_dy, const double *sum_dyx,
                             const float *mean, const float *invstd, const float *gamma,
                             float *dgamma, float *dbeta, float *A, float *B, float *K);
#endif

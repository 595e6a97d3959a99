/* Batch-norm coefficient arithmetic (see include/dacc/batchnorm.h). */
#include "nn/batchnorm.h"
#include <math.h>

/* Channel j's mean - shift (*d) and biased variance from its moments. */
static double moments(double cnt, const double *sum, const double *sq, int j, double *d) {
    *d = sum[j] / cnt;
    return sq[j] / cnt - *d * *d;
}

int dacc_bn_shift_far(int c, double cnt, const double *sum, const double *sq, const float *shift,
                      float *mean) {
    int far = 0;
    for (int j = 0; j < c; j++) {
        double d, var = moments(cnt, sum, sq, j, &d);
        mean[j] = (float)(shift[j] + d);
        if (!(d * d <= DACC_BN_SHIFT_FAR * (var + DACC_BN_EPS))) far = 1;
    }
    return far;
}

void dacc_bn_train_moments(int c, double cnt, const double *sum, const double *sq,
                           const float *shift, const float *gamma, const float *beta, float *mean,
                           float *invstd, float *a, float *b, float *rm, float *rv) {
    for (int j = 0; j < c; j++) {
        double d, var = moments(cnt, sum, sq, j, &d);
        if (var < 0) var = 0; /* rounding; a NaN stays NaN, as in the two-pass form */
        mean[j] = (float)(shift[j] + d);
        invstd[j] = (float)(1.0 / sqrt(var + DACC_BN_EPS));
        a[j] = gamma[j] * invstd[j];
        b[j] = beta[j] - mean[j] * a[j];
        if (rm && rv) { /* after shift[j] was read: shift may be rm */
            double unbiased = cnt > 1 ? var * cnt / (cnt - 1) : var;
            rm[j] = (1 - DACC_BN_MOMENTUM) * rm[j] + DACC_BN_MOMENTUM * mean[j];
            rv[j] = (1 - DACC_BN_MOMENTUM) * rv[j] + DACC_BN_MOMENTUM * (float)unbiased;
        }
    }
}

void dacc_bn_eval_coeffs(int c, const float *gamma, const float *beta, const float *rm,
                         const float *rv, float *a, float *b) {
    for (int j = 0; j < c; j++) {
        a[j] = gamma[j] / sqrtf(rv[j] + (float)DACC_BN_EPS);
        b[j] = beta[j] - rm[j] * a[j];
    }
}

void dacc_bn_backward_coeffs(int c, double cnt, const double *sum_dy, const double *sum_dyx,
                             const float *mean, const float *invstd, const float *gamma,
                             float *dgamma, float *dbeta, float *A, float *B, float *K) {
    for (int j = 0; j < c; j++) {
        double is = invstd[j], g = gamma[j];
        dgamma[j] = (float)(sum_dyx[j] * is);
        dbeta[j] = (float)sum_dy[j];
        /* dx = g*is*(dy - mean(dy) - xhat*mean(dy*xhat)), xhat = (x-mean)*is */
        double a = g * is, bb = -g * is * is * is * sum_dyx[j] / cnt;
        A[j] = (float)a;
        B[j] = (float)bb;
        K[j] = (float)(-a * sum_dy[j] / cnt - bb * mean[j]);
    }
}

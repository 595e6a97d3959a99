/* Batch-norm coefficient arithmetic (see include/dacc/batchnorm.h). */
#include "nn/batchnorm.h"
#include <math.h>

void dacc_bn_mean(int c, double cnt, const double *sum, float *mean) {
    for (int j = 0; j < c; j++) mean[j] = (float)(sum[j] / cnt);
}

void dacc_bn_train_coeffs(int c, double cnt, const double *sqdev, const float *mean,
                          const float *gamma, const float *beta, float *invstd, float *a,
                          float *b, float *rm, float *rv) {
    for (int j = 0; j < c; j++) {
        double var = sqdev[j] / cnt;
        invstd[j] = (float)(1.0 / sqrt(var + DACC_BN_EPS));
        a[j] = gamma[j] * invstd[j];
        b[j] = beta[j] - mean[j] * a[j];
        if (rm && rv) {
            double unbiased = cnt > 1 ? sqdev[j] / (cnt - 1) : sqdev[j];
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

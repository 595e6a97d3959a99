/* Reference per-channel reductions and affine maps over rows x c (the
 * pieces of batch-norm). Sums accumulate in double so that the reference is
 * a good judge of the vector kernels' float partial sums. */
#include "dacc/kernels.h"

void dacc_f32_channel_moments__scalar(size_t rows, int c, const float *x, const float *shift,
                                      double *sum, double *sq) {
    for (size_t r = 0; r < rows; r++)
        for (int j = 0; j < c; j++) {
            double d = (double)x[r * c + j] - shift[j];
            sum[j] += d;
            sq[j] += d * d;
        }
}

void dacc_f32_channel_dot__scalar(size_t rows, int c, const float *dy, const float *x,
                                  const float *mean, double *sum_dy, double *sum_dyx) {
    for (size_t r = 0; r < rows; r++)
        for (int j = 0; j < c; j++) {
            double g = dy[r * c + j];
            sum_dy[j] += g;
            sum_dyx[j] += g * ((double)x[r * c + j] - mean[j]);
        }
}

void dacc_f32_channel_affine__scalar(size_t rows, int c, const float *x,
                                     const float *a, const float *b, float *y) {
    for (size_t r = 0; r < rows; r++)
        for (int j = 0; j < c; j++) y[r * c + j] = x[r * c + j] * a[j] + b[j];
}

void dacc_f32_channel_affine2__scalar(size_t rows, int c, const float *p, const float *q,
                                      const float *a, const float *b, const float *k,
                                      float *out) {
    for (size_t r = 0; r < rows; r++)
        for (int j = 0; j < c; j++)
            out[r * c + j] = p[r * c + j] * a[j] + q[r * c + j] * b[j] + k[j];
}

void dacc_f32_channel_affine2_relu__scalar(size_t rows, int c, const float *p, const float *q,
                                           const float *a, const float *b, const float *k,
                                           float *out) {
    for (size_t r = 0; r < rows; r++)
        for (int j = 0; j < c; j++) {
            size_t o = r * c + j;
            out[o] = q[o] > 0.0f ? p[o] * a[j] + q[o] * b[j] + k[j] : 0.0f;
        }
}

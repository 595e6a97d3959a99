/* Reference ReLU forward and backward. */
#include "dacc/kernels.h"

void dacc_f32_relu_fwd__scalar(size_t n, const float *x, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void dacc_f32_relu_bwd__scalar(size_t n, const float *y, const float *dy, float *dx) {
    for (size_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

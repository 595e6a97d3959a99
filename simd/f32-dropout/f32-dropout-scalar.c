/* Reference inverted dropout apply: the mask is drawn by the engine's RNG. */
#include "dacc/kernels.h"

void dacc_f32_dropout__scalar(size_t n, const float *x, const uint8_t *mask,
                              float scale, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = mask[i] ? x[i] * scale : 0.0f;
}

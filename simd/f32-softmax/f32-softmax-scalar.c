/* Reference row-wise softmax (max-subtracted for range safety). */
#include "dacc/kernels.h"
#include <math.h>

void dacc_f32_softmax__scalar(size_t rows, int k, const float *x, float *y) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * k;
        float *yr = y + r * k;
        float m = xr[0];
        for (int j = 1; j < k; j++) m = xr[j] > m ? xr[j] : m;
        float sum = 0.0f;
        for (int j = 0; j < k; j++) sum += yr[j] = expf(xr[j] - m);
        float inv = 1.0f / sum;
        for (int j = 0; j < k; j++) yr[j] *= inv;
    }
}

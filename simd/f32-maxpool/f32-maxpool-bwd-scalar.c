/* Reference max-pooling backward: route each output gradient to its winner. */
#include "dacc/kernels.h"
#include <string.h>

void dacc_f32_maxpool_bwd__scalar(const dacc_pool_shape *s, const float *dy,
                                  const int32_t *idx, float *dx) {
    const size_t in_plane = (size_t)s->ih * s->iw * s->c;
    const size_t out_plane = (size_t)s->oh * s->ow * s->c;
    memset(dx, 0, sizeof(float) * in_plane * s->n);
    for (int n = 0; n < s->n; n++)
        for (size_t o = 0; o < out_plane; o++) {
            int32_t j = idx[n * out_plane + o];
            if (j >= 0) dx[n * in_plane + j] += dy[n * out_plane + o];
        }
}

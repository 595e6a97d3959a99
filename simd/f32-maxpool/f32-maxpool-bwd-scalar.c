/* Reference max-pooling backward: route each output gradient to its winner.
 * Each image's dx is zeroed just before its scatter rather than the whole
 * batch's up front, so the scatter hits cache (pool_1: 73 KB per image); a
 * scatter does not vectorise profitably (docs/PERFORMANCE.md), so this is
 * also the x86 kernel. */
#include "dacc/kernels.h"
#include <string.h>

void dacc_f32_maxpool_bwd__scalar(const dacc_pool_shape *s, const float *dy,
                                  const int32_t *idx, float *dx) {
    const size_t in_plane = (size_t)s->ih * s->iw * s->c;
    const size_t out_plane = (size_t)s->oh * s->ow * s->c;
    for (int n = 0; n < s->n; n++) {
        float *dxn = dx + n * in_plane;
        const float *dyn = dy + n * out_plane;
        const int32_t *in = idx + n * out_plane;
        memset(dxn, 0, sizeof(float) * in_plane);
        for (size_t o = 0; o < out_plane; o++)
            if (in[o] >= 0) dxn[in[o]] += dyn[o];
    }
}

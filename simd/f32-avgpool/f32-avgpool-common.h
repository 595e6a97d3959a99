/* PyTorch's divisor for average pooling with count_include_pad=True: the
 * window clipped to the padded input (usually k*k). */
#ifndef DACC_AVGPOOL_COMMON_H
#define DACC_AVGPOOL_COMMON_H
#include "dacc/kernels.h"

static inline int dacc_avgpool_divisor(const dacc_pool_shape *s, int oh, int ow) {
    int hs = oh * s->stride - s->pad, ws = ow * s->stride - s->pad;
    int he = hs + s->k, we = ws + s->k;
    if (he > s->ih + s->pad) he = s->ih + s->pad;
    if (we > s->iw + s->pad) we = s->iw + s->pad;
    return (he - hs) * (we - ws);
}
#endif

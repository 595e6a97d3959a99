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

/* The backward kernels' table of 1/divisor per output pixel lives on the
 * stack (kernels never allocate); larger outputs compute it per use. */
#define DACC_AVGPOOL_INV_MAX 1024
static inline const float *dacc_avgpool_inv_table(const dacc_pool_shape *s, float *buf) {
    if ((size_t)s->oh * s->ow > DACC_AVGPOOL_INV_MAX) return NULL;
    for (int oh = 0; oh < s->oh; oh++)
        for (int ow = 0; ow < s->ow; ow++)
            buf[oh * s->ow + ow] = 1.0f / (float)dacc_avgpool_divisor(s, oh, ow);
    return buf;
}
static inline float dacc_avgpool_inv(const float *table, const dacc_pool_shape *s, int oh,
                                     int ow) {
    return table ? table[oh * s->ow + ow] : 1.0f / (float)dacc_avgpool_divisor(s, oh, ow);
}
#endif

/* The zero padding of a convolution's input, shared by the forward and the
 * weight-gradient kernels of AVX2 and AVX-512 (f32-conv-fwd-tmpl.h,
 * f32-conv-bwd-filter-tmpl.h): both read the same padded windows. */
#ifndef DACC_F32_CONV_PAD_H
#define DACC_F32_CONV_PAD_H
#include "dacc/kernels.h"
#include <stddef.h>
#include <string.h>

/* Copy images [i0, i0+cnt) into xs as sh x sw windows with zero borders:
 * xs(r, c) = x(r - pad, c - pad), or 0 outside the image. */
static inline void conv_pad_images(const dacc_conv_shape *s, const float *x, int i0, int cnt, int sh,
                                   int sw, float *xs) {
    const size_t IC = (size_t)s->ic;
    for (int i = 0; i < cnt; i++)
        for (int r = 0; r < sh; r++) {
            float *dst = xs + (((size_t)i * sh + r) * sw) * IC;
            const int ih = r - s->pad;
            if (ih < 0 || ih >= s->ih) {
                memset(dst, 0, sizeof(float) * sw * IC);
                continue;
            }
            /* columns c with 0 <= c - pad < iw */
            int c0 = s->pad < sw ? s->pad : sw;
            int c1 = s->pad + s->iw < sw ? s->pad + s->iw : sw;
            if (c1 < c0) c1 = c0;
            memset(dst, 0, sizeof(float) * c0 * IC);
            memcpy(dst + c0 * IC, x + (((size_t)(i0 + i) * s->ih + ih) * s->iw + (c0 - s->pad)) * IC,
                   sizeof(float) * (c1 - c0) * IC);
            memset(dst + c1 * IC, 0, sizeof(float) * (sw - c1) * IC);
        }
}

#endif

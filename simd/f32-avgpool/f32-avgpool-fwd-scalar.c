/* Reference average pooling, padding counted in the average (PyTorch's
 * default count_include_pad=True). */
#include "f32-avgpool-common.h"

void dacc_f32_avgpool_fwd__scalar(const dacc_pool_shape *s, const float *x, float *y) {
    const int C = s->c;
    for (int n = 0; n < s->n; n++)
        for (int oh = 0; oh < s->oh; oh++)
            for (int ow = 0; ow < s->ow; ow++) {
                float *yp = y + (((size_t)n * s->oh + oh) * s->ow + ow) * C;
                float inv = 1.0f / (float)dacc_avgpool_divisor(s, oh, ow);
                for (int c = 0; c < C; c++) yp[c] = 0.0f;
                for (int kh = 0; kh < s->k; kh++) {
                    int ih = oh * s->stride - s->pad + kh;
                    if (ih < 0 || ih >= s->ih) continue;
                    for (int kw = 0; kw < s->k; kw++) {
                        int iw = ow * s->stride - s->pad + kw;
                        if (iw < 0 || iw >= s->iw) continue;
                        const float *xp = x + (((size_t)n * s->ih + ih) * s->iw + iw) * C;
                        for (int c = 0; c < C; c++) yp[c] += xp[c];
                    }
                }
                for (int c = 0; c < C; c++) yp[c] *= inv;
            }
}

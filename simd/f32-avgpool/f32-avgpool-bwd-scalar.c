/* Reference average-pooling backward: spread each gradient over its window. */
#include "f32-avgpool-common.h"
#include <string.h>

void dacc_f32_avgpool_bwd__scalar(const dacc_pool_shape *s, const float *dy, float *dx) {
    const int C = s->c;
    memset(dx, 0, sizeof(float) * (size_t)s->n * s->ih * s->iw * C);
    for (int n = 0; n < s->n; n++)
        for (int oh = 0; oh < s->oh; oh++)
            for (int ow = 0; ow < s->ow; ow++) {
                const float *dyp = dy + (((size_t)n * s->oh + oh) * s->ow + ow) * C;
                float inv = 1.0f / (float)dacc_avgpool_divisor(s, oh, ow);
                for (int kh = 0; kh < s->k; kh++) {
                    int ih = oh * s->stride - s->pad + kh;
                    if (ih < 0 || ih >= s->ih) continue;
                    for (int kw = 0; kw < s->k; kw++) {
                        int iw = ow * s->stride - s->pad + kw;
                        if (iw < 0 || iw >= s->iw) continue;
                        float *dxp = dx + (((size_t)n * s->ih + ih) * s->iw + iw) * C;
                        for (int c = 0; c < C; c++) dxp[c] += dyp[c] * inv;
                    }
                }
            }
}

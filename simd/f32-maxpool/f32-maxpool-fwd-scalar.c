/* Reference max pooling (PyTorch semantics: padding is -inf, the first
 * maximum in window order wins, NaN wins over numbers, as in PyTorch's CPU kernel). */
#include "dacc/kernels.h"
#include <math.h>

void dacc_f32_maxpool_fwd__scalar(const dacc_pool_shape *s, const float *x,
                                  float *y, int32_t *idx) {
    const int C = s->c;
    const size_t in_plane = (size_t)s->ih * s->iw * C;
    for (int n = 0; n < s->n; n++) {
        const float *xi = x + n * in_plane;
        for (int oh = 0; oh < s->oh; oh++)
            for (int ow = 0; ow < s->ow; ow++) {
                size_t o = (((size_t)n * s->oh + oh) * s->ow + ow) * C;
                for (int c = 0; c < C; c++) {
                    float best = -INFINITY;
                    int32_t bi = -1;
                    for (int kh = 0; kh < s->k; kh++) {
                        int ih = oh * s->stride - s->pad + kh;
                        if (ih < 0 || ih >= s->ih) continue;
                        for (int kw = 0; kw < s->k; kw++) {
                            int iw = ow * s->stride - s->pad + kw;
                            if (iw < 0 || iw >= s->iw) continue;
                            int32_t j = (int32_t)(((size_t)ih * s->iw + iw) * C + c);
                            float v = xi[j];
                            if (bi < 0) bi = j; /* all -inf: the first one */
                            if (v > best || isnan(v)) {
                                best = v;
                                bi = j;
                            }
                        }
                    }
                    y[o + c] = best;
                    idx[o + c] = bi;
                }
            }
    }
}

/* Reference convolution backward-weights: dw[kh][kw][ic][oc] and db[oc]
 * summed over every image and output position. */
#include "f32-conv-fwd/f32-conv-plain.h"
#include "f32-conv-bwd-filter/f32-conv-bwd-both-apart.h"
#include <string.h>

CONV_PLAIN_BWD_FILTER(scalar, 1)
CONV_BWD_BOTH_APART(scalar, 1)

void dacc_f32_conv_bwd_filter__scalar(const dacc_conv_shape *s, dacc_conv_algo algo,
                                 const float *x, const float *dy, float *dw, float *db,
                                 float *scratch) {
    (void)algo; /* the query accepts direct only */
    (void)scratch;
    const int OC = s->oc, IC = s->ic;
    memset(dw, 0, sizeof(float) * (size_t)s->kh * s->kw * IC * OC);
    if (db) memset(db, 0, sizeof(float) * (size_t)OC);
    for (int n = 0; n < s->n; n++)
        for (int oh = 0; oh < s->oh; oh++)
            for (int ow = 0; ow < s->ow; ow++) {
                const float *dyp = dy + (((size_t)n * s->oh + oh) * s->ow + ow) * OC;
                if (db)
                    for (int o = 0; o < OC; o++) db[o] += dyp[o];
                for (int kh = 0; kh < s->kh; kh++) {
                    int ih = oh * s->stride - s->pad + kh;
                    if (ih < 0 || ih >= s->ih) continue;
                    for (int kw = 0; kw < s->kw; kw++) {
                        int iw = ow * s->stride - s->pad + kw;
                        if (iw < 0 || iw >= s->iw) continue;
                        const float *xp = x + (((size_t)n * s->ih + ih) * s->iw + iw) * IC;
                        float *wp = dw + ((size_t)kh * s->kw + kw) * IC * OC;
                        for (int i = 0; i < IC; i++) {
                            float xv = xp[i];
                            float *wr = wp + (size_t)i * OC;
                            for (int o = 0; o < OC; o++) wr[o] += xv * dyp[o];
                        }
                    }
                }
            }
}

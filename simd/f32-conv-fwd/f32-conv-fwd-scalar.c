/* Reference convolution forward (NHWC, weights [kh][kw][ic][oc]): the
 * definition every vector kernel is tested against. Plain loops, oc innermost. */
#include "f32-conv-fwd/f32-conv-plain.h"

static void conv_fwd_ref(const dacc_conv_shape *s, const float *x, const float *w,
                         const float *bias, float *y) {
    const int OC = s->oc, IC = s->ic;
    for (int n = 0; n < s->n; n++)
        for (int oh = 0; oh < s->oh; oh++)
            for (int ow = 0; ow < s->ow; ow++) {
                float *yp = y + (((size_t)n * s->oh + oh) * s->ow + ow) * OC;
                for (int o = 0; o < OC; o++) yp[o] = bias ? bias[o] : 0.0f;
                for (int kh = 0; kh < s->kh; kh++) {
                    int ih = oh * s->stride - s->pad + kh;
                    if (ih < 0 || ih >= s->ih) continue;
                    for (int kw = 0; kw < s->kw; kw++) {
                        int iw = ow * s->stride - s->pad + kw;
                        if (iw < 0 || iw >= s->iw) continue;
                        const float *xp = x + (((size_t)n * s->ih + ih) * s->iw + iw) * IC;
                        const float *wp = w + ((size_t)kh * s->kw + kw) * IC * OC;
                        for (int i = 0; i < IC; i++) {
                            float xv = xp[i];
                            const float *wr = wp + (size_t)i * OC;
                            for (int o = 0; o < OC; o++) yp[o] += xv * wr[o];
                        }
                    }
                }
                if (s->relu)
                    for (int o = 0; o < OC; o++) yp[o] = yp[o] > 0.0f ? yp[o] : 0.0f;
            }
}

CONV_PLAIN_FWD(scalar, 1)

void dacc_f32_conv_fwd__scalar(const dacc_conv_shape *s, dacc_conv_algo algo, const float *x,
                               const float *packed, float *y, float *scratch) {
    (void)algo;
    (void)scratch;
    conv_fwd_ref(s, x, packed, packed + conv_plain_weights(s), y);
}

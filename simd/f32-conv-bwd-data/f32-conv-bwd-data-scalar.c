/* Reference convolution backward-data: scatter each output gradient through
 * the window (works for any stride and padding). */
#include "f32-conv-fwd/f32-conv-plain.h"

static void conv_bwd_data_ref(const dacc_conv_shape *s, const float *dy, const float *w,
                              float *dx) {
    const int OC = s->oc, IC = s->ic;
    memset(dx, 0, sizeof(float) * (size_t)s->n * s->ih * s->iw * IC);
    for (int n = 0; n < s->n; n++)
        for (int oh = 0; oh < s->oh; oh++)
            for (int ow = 0; ow < s->ow; ow++) {
                const float *dyp = dy + (((size_t)n * s->oh + oh) * s->ow + ow) * OC;
                for (int kh = 0; kh < s->kh; kh++) {
                    int ih = oh * s->stride - s->pad + kh;
                    if (ih < 0 || ih >= s->ih) continue;
                    for (int kw = 0; kw < s->kw; kw++) {
                        int iw = ow * s->stride - s->pad + kw;
                        if (iw < 0 || iw >= s->iw) continue;
                        float *dxp = dx + (((size_t)n * s->ih + ih) * s->iw + iw) * IC;
                        const float *wp = w + ((size_t)kh * s->kw + kw) * IC * OC;
                        for (int i = 0; i < IC; i++) {
                            const float *wr = wp + (size_t)i * OC;
                            float acc = 0.0f;
                            for (int o = 0; o < OC; o++) acc += wr[o] * dyp[o];
                            dxp[i] += acc;
                        }
                    }
                }
            }
}

CONV_PLAIN_BWD_DATA(scalar, 1)

void dacc_f32_conv_bwd_data__scalar(const dacc_conv_shape *s, dacc_conv_algo algo,
                                    const float *dy, const float *packed, float *dx,
                                    float *scratch) {
    (void)algo;
    (void)scratch;
    conv_bwd_data_ref(s, dy, packed, dx);
}

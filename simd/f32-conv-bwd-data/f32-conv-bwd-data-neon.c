/* Convolution backward-data for NEON: dx[i] += sum_o w[kh][kw][i][o] dy[o]
 * through each output's window. Four input channels at a time, each a 4-lane
 * dot product over o, folded with two pairwise adds into one vector that is
 * added to dx; scalar remainders for o and i. */
#include "f32-conv-fwd/f32-conv-plain.h"
#include <arm_neon.h>
#include <string.h>

static void conv_bwd_data_neon(const dacc_conv_shape *s, const float *dy, const float *w,
                               float *dx) {
    const int OC = s->oc, IC = s->ic;
    memset(dx, 0, sizeof(float) * (size_t)s->n * s->ih * s->iw * IC);
    for (int n = 0; n < s->n; n++)
        for (int oh = 0; oh < s->oh; oh++)
            for (int ow = 0; ow < s->ow; ow++) {
                const float *dyp = dy + (((size_t)n * s->oh + oh) * s->ow + ow) * OC;
                int h0 = oh * s->stride - s->pad, w0 = ow * s->stride - s->pad;
                int kh0 = h0 < 0 ? -h0 : 0, kw0 = w0 < 0 ? -w0 : 0;
                int kh1 = s->ih - h0 < s->kh ? s->ih - h0 : s->kh;
                int kw1 = s->iw - w0 < s->kw ? s->iw - w0 : s->kw;
                for (int kh = kh0; kh < kh1; kh++)
                    for (int kw = kw0; kw < kw1; kw++) {
                        float *dxp = dx + (((size_t)n * s->ih + h0 + kh) * s->iw + w0 + kw) * IC;
                        const float *wp = w + ((size_t)kh * s->kw + kw) * IC * OC;
                        int i = 0;
                        for (; i + 4 <= IC; i += 4) {
                            const float *w0r = wp + (size_t)i * OC, *w1r = w0r + OC;
                            const float *w2r = w1r + OC, *w3r = w2r + OC;
                            float32x4_t a0 = vdupq_n_f32(0), a1 = a0, a2 = a0, a3 = a0;
                            int o = 0;
                            for (; o + 4 <= OC; o += 4) {
                                float32x4_t d = vld1q_f32(dyp + o);
                                a0 = vfmaq_f32(a0, vld1q_f32(w0r + o), d);
                                a1 = vfmaq_f32(a1, vld1q_f32(w1r + o), d);
                                a2 = vfmaq_f32(a2, vld1q_f32(w2r + o), d);
                                a3 = vfmaq_f32(a3, vld1q_f32(w3r + o), d);
                            }
                            float32x4_t sum = vpaddq_f32(vpaddq_f32(a0, a1), vpaddq_f32(a2, a3));
                            if (o < OC) {
                                float t[4] = {0, 0, 0, 0};
                                for (; o < OC; o++) {
                                    t[0] += w0r[o] * dyp[o], t[1] += w1r[o] * dyp[o];
                                    t[2] += w2r[o] * dyp[o], t[3] += w3r[o] * dyp[o];
                                }
                                sum = vaddq_f32(sum, vld1q_f32(t));
                            }
                            vst1q_f32(dxp + i, vaddq_f32(vld1q_f32(dxp + i), sum));
                        }
                        for (; i < IC; i++) {
                            const float *wr = wp + (size_t)i * OC;
                            float32x4_t a = vdupq_n_f32(0);
                            int o = 0;
                            for (; o + 4 <= OC; o += 4) a = vfmaq_f32(a, vld1q_f32(wr + o), vld1q_f32(dyp + o));
                            float acc = vaddvq_f32(a);
                            for (; o < OC; o++) acc += wr[o] * dyp[o];
                            dxp[i] += acc;
                        }
                    }
            }
}

CONV_PLAIN_BWD_DATA(neon, 4)

void dacc_f32_conv_bwd_data__neon(const dacc_conv_shape *s, dacc_conv_algo algo,
                                  const float *dy, const float *packed, float *dx,
                                  float *scratch) {
    (void)algo;
    (void)scratch;
    conv_bwd_data_neon(s, dy, packed, dx);
}

/* Convolution forward for NEON (NHWC, weights [kh][kw][ic][oc]): per output
 * pixel, output channels in 4-lane vectors, 16 at a time (four independent
 * FMA chains), then 4, then a scalar remainder; the window is clipped to
 * the image once per pixel instead of testing every tap. */
#include "f32-conv-fwd/f32-conv-plain.h"
#include <arm_neon.h>

static void conv_fwd_neon(const dacc_conv_shape *s, const float *x, const float *w,
                          const float *bias, float *y) {
    const int OC = s->oc, IC = s->ic, relu = s->relu;
    const float32x4_t z = vdupq_n_f32(0.0f);
    for (int n = 0; n < s->n; n++)
        for (int oh = 0; oh < s->oh; oh++)
            for (int ow = 0; ow < s->ow; ow++) {
                float *yp = y + (((size_t)n * s->oh + oh) * s->ow + ow) * OC;
                int h0 = oh * s->stride - s->pad, w0 = ow * s->stride - s->pad;
                int kh0 = h0 < 0 ? -h0 : 0, kw0 = w0 < 0 ? -w0 : 0;
                int kh1 = s->ih - h0 < s->kh ? s->ih - h0 : s->kh;
                int kw1 = s->iw - w0 < s->kw ? s->iw - w0 : s->kw;
                int o = 0;
                for (; o + 16 <= OC; o += 16) {
                    float32x4_t a0, a1, a2, a3;
                    if (bias) {
                        a0 = vld1q_f32(bias + o), a1 = vld1q_f32(bias + o + 4);
                        a2 = vld1q_f32(bias + o + 8), a3 = vld1q_f32(bias + o + 12);
                    } else {
                        a0 = a1 = a2 = a3 = vdupq_n_f32(0.0f);
                    }
                    for (int kh = kh0; kh < kh1; kh++)
                        for (int kw = kw0; kw < kw1; kw++) {
                            const float *xp = x + (((size_t)n * s->ih + h0 + kh) * s->iw + w0 + kw) * IC;
                            const float *wp = w + ((size_t)kh * s->kw + kw) * IC * OC + o;
                            for (int i = 0; i < IC; i++, wp += OC) {
                                float xv = xp[i];
                                a0 = vfmaq_n_f32(a0, vld1q_f32(wp), xv);
                                a1 = vfmaq_n_f32(a1, vld1q_f32(wp + 4), xv);
                                a2 = vfmaq_n_f32(a2, vld1q_f32(wp + 8), xv);
                                a3 = vfmaq_n_f32(a3, vld1q_f32(wp + 12), xv);
                            }
                        }
                    if (relu) {
                        a0 = vmaxq_f32(a0, z), a1 = vmaxq_f32(a1, z);
                        a2 = vmaxq_f32(a2, z), a3 = vmaxq_f32(a3, z);
                    }
                    vst1q_f32(yp + o, a0), vst1q_f32(yp + o + 4, a1);
                    vst1q_f32(yp + o + 8, a2), vst1q_f32(yp + o + 12, a3);
                }
                for (; o + 4 <= OC; o += 4) {
                    float32x4_t a0 = bias ? vld1q_f32(bias + o) : vdupq_n_f32(0.0f);
                    for (int kh = kh0; kh < kh1; kh++)
                        for (int kw = kw0; kw < kw1; kw++) {
                            const float *xp = x + (((size_t)n * s->ih + h0 + kh) * s->iw + w0 + kw) * IC;
                            const float *wp = w + ((size_t)kh * s->kw + kw) * IC * OC + o;
                            for (int i = 0; i < IC; i++, wp += OC) a0 = vfmaq_n_f32(a0, vld1q_f32(wp), xp[i]);
                        }
                    if (relu) a0 = vmaxq_f32(a0, z);
                    vst1q_f32(yp + o, a0);
                }
                for (; o < OC; o++) {
                    float a = bias ? bias[o] : 0.0f;
                    for (int kh = kh0; kh < kh1; kh++)
                        for (int kw = kw0; kw < kw1; kw++) {
                            const float *xp = x + (((size_t)n * s->ih + h0 + kh) * s->iw + w0 + kw) * IC;
                            const float *wp = w + ((size_t)kh * s->kw + kw) * IC * OC + o;
                            for (int i = 0; i < IC; i++) a += xp[i] * wp[(size_t)i * OC];
                        }
                    yp[o] = relu && !(a > 0.0f) ? 0.0f : a;
                }
            }
}

CONV_PLAIN_FWD(neon, 4)

void dacc_f32_conv_fwd__neon(const dacc_conv_shape *s, dacc_conv_algo algo, const float *x,
                             const float *packed, float *y, float *scratch) {
    (void)algo;
    (void)scratch;
    conv_fwd_neon(s, x, packed, packed + conv_plain_weights(s), y);
}

/* Average pooling forward/backward, channels in 4 lanes (16 per pass),
 * scalar remainder channels. Forward sums the window in the reference's
 * order then scales once; backward spreads dy/divisor over the window. */
#include "f32-avgpool-common.h"
#include <arm_neon.h>
#include <string.h>

void dacc_f32_avgpool_fwd__neon(const dacc_pool_shape *s, const float *x, float *y) {
    const int C = s->c;
    for (int n = 0; n < s->n; n++)
        for (int oh = 0; oh < s->oh; oh++)
            for (int ow = 0; ow < s->ow; ow++) {
                float *yp = y + (((size_t)n * s->oh + oh) * s->ow + ow) * C;
                const float inv = 1.0f / (float)dacc_avgpool_divisor(s, oh, ow);
                int h0 = oh * s->stride - s->pad, w0 = ow * s->stride - s->pad;
                int kh0 = h0 < 0 ? -h0 : 0, kw0 = w0 < 0 ? -w0 : 0;
                int kh1 = s->ih - h0 < s->k ? s->ih - h0 : s->k;
                int kw1 = s->iw - w0 < s->k ? s->iw - w0 : s->k;
                int c0 = 0;
                for (; c0 + 16 <= C; c0 += 16) {
                    float32x4_t a0 = vdupq_n_f32(0), a1 = a0, a2 = a0, a3 = a0;
                    for (int kh = kh0; kh < kh1; kh++)
                        for (int kw = kw0; kw < kw1; kw++) {
                            const float *xp = x + (((size_t)n * s->ih + h0 + kh) * s->iw + w0 + kw) * C + c0;
                            a0 = vaddq_f32(a0, vld1q_f32(xp));
                            a1 = vaddq_f32(a1, vld1q_f32(xp + 4));
                            a2 = vaddq_f32(a2, vld1q_f32(xp + 8));
                            a3 = vaddq_f32(a3, vld1q_f32(xp + 12));
                        }
                    vst1q_f32(yp + c0, vmulq_n_f32(a0, inv));
                    vst1q_f32(yp + c0 + 4, vmulq_n_f32(a1, inv));
                    vst1q_f32(yp + c0 + 8, vmulq_n_f32(a2, inv));
                    vst1q_f32(yp + c0 + 12, vmulq_n_f32(a3, inv));
                }
                for (; c0 + 4 <= C; c0 += 4) {
                    float32x4_t a0 = vdupq_n_f32(0);
                    for (int kh = kh0; kh < kh1; kh++)
                        for (int kw = kw0; kw < kw1; kw++)
                            a0 = vaddq_f32(a0, vld1q_f32(x + (((size_t)n * s->ih + h0 + kh) * s->iw + w0 + kw) * C + c0));
                    vst1q_f32(yp + c0, vmulq_n_f32(a0, inv));
                }
                for (int c = c0; c < C; c++) {
                    float a = 0.0f;
                    for (int kh = kh0; kh < kh1; kh++)
                        for (int kw = kw0; kw < kw1; kw++)
                            a += x[(((size_t)n * s->ih + h0 + kh) * s->iw + w0 + kw) * C + c];
                    yp[c] = a * inv;
                }
            }
}

void dacc_f32_avgpool_bwd__neon(const dacc_pool_shape *s, const float *dy, float *dx) {
    const int C = s->c;
    memset(dx, 0, sizeof(float) * (size_t)s->n * s->ih * s->iw * C);
    for (int n = 0; n < s->n; n++)
        for (int oh = 0; oh < s->oh; oh++)
            for (int ow = 0; ow < s->ow; ow++) {
                const float *dyp = dy + (((size_t)n * s->oh + oh) * s->ow + ow) * C;
                const float inv = 1.0f / (float)dacc_avgpool_divisor(s, oh, ow);
                int h0 = oh * s->stride - s->pad, w0 = ow * s->stride - s->pad;
                int kh0 = h0 < 0 ? -h0 : 0, kw0 = w0 < 0 ? -w0 : 0;
                int kh1 = s->ih - h0 < s->k ? s->ih - h0 : s->k;
                int kw1 = s->iw - w0 < s->k ? s->iw - w0 : s->k;
                for (int kh = kh0; kh < kh1; kh++)
                    for (int kw = kw0; kw < kw1; kw++) {
                        float *xp = dx + (((size_t)n * s->ih + h0 + kh) * s->iw + w0 + kw) * C;
                        int c = 0;
                        for (; c + 4 <= C; c += 4)
                            vst1q_f32(xp + c, vaddq_f32(vld1q_f32(xp + c), vmulq_n_f32(vld1q_f32(dyp + c), inv)));
                        for (; c < C; c++) xp[c] += dyp[c] * inv;
                    }
            }
}

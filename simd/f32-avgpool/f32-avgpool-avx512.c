/* Average pooling forward/backward, channels in 16 lanes (masked tail).
 * Forward sums the window in the reference's order then scales once, as
 * the reference does; backward spreads dy/divisor over the window. */
#include "f32-avgpool-common.h"
#include <immintrin.h>
#include <string.h>

static inline __mmask16 lanes(int left) {
    return left >= 16 ? (__mmask16)0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1u);
}

void dacc_f32_avgpool_fwd__avx512(const dacc_pool_shape *s, const float *x, float *y) {
    const int C = s->c;
    for (int n = 0; n < s->n; n++)
        for (int oh = 0; oh < s->oh; oh++)
            for (int ow = 0; ow < s->ow; ow++) {
                float *yp = y + (((size_t)n * s->oh + oh) * s->ow + ow) * C;
                const __m512 inv = _mm512_set1_ps(1.0f / (float)dacc_avgpool_divisor(s, oh, ow));
                int h0 = oh * s->stride - s->pad, w0 = ow * s->stride - s->pad;
                int kh0 = h0 < 0 ? -h0 : 0, kw0 = w0 < 0 ? -w0 : 0;
                int kh1 = s->ih - h0 < s->k ? s->ih - h0 : s->k;
                int kw1 = s->iw - w0 < s->k ? s->iw - w0 : s->k;
                for (int c0 = 0; c0 < C; c0 += 64) {
                    __mmask16 m[4];
                    __m512 acc[4];
                    for (int b = 0; b < 4; b++) {
                        m[b] = lanes(C - c0 - 16 * b);
                        acc[b] = _mm512_setzero_ps();
                    }
                    for (int kh = kh0; kh < kh1; kh++)
                        for (int kw = kw0; kw < kw1; kw++) {
                            const float *xp =
                                x + (((size_t)n * s->ih + h0 + kh) * s->iw + w0 + kw) * C + c0;
                            for (int b = 0; b < 4; b++)
                                acc[b] = _mm512_add_ps(acc[b], _mm512_maskz_loadu_ps(m[b], xp + 16 * b));
                        }
                    for (int b = 0; b < 4; b++)
                        _mm512_mask_storeu_ps(yp + c0 + 16 * b, m[b], _mm512_mul_ps(acc[b], inv));
                }
            }
}

void dacc_f32_avgpool_bwd__avx512(const dacc_pool_shape *s, const float *dy, float *dx) {
    const int C = s->c;
    memset(dx, 0, sizeof(float) * (size_t)s->n * s->ih * s->iw * C);
    for (int n = 0; n < s->n; n++)
        for (int oh = 0; oh < s->oh; oh++)
            for (int ow = 0; ow < s->ow; ow++) {
                const float *dyp = dy + (((size_t)n * s->oh + oh) * s->ow + ow) * C;
                const __m512 inv = _mm512_set1_ps(1.0f / (float)dacc_avgpool_divisor(s, oh, ow));
                int h0 = oh * s->stride - s->pad, w0 = ow * s->stride - s->pad;
                int kh0 = h0 < 0 ? -h0 : 0, kw0 = w0 < 0 ? -w0 : 0;
                int kh1 = s->ih - h0 < s->k ? s->ih - h0 : s->k;
                int kw1 = s->iw - w0 < s->k ? s->iw - w0 : s->k;
                for (int c0 = 0; c0 < C; c0 += 64) {
                    __mmask16 m[4];
                    __m512 g[4];
                    for (int b = 0; b < 4; b++) {
                        m[b] = lanes(C - c0 - 16 * b);
                        g[b] = _mm512_mul_ps(_mm512_maskz_loadu_ps(m[b], dyp + c0 + 16 * b), inv);
                    }
                    for (int kh = kh0; kh < kh1; kh++)
                        for (int kw = kw0; kw < kw1; kw++) {
                            float *xp = dx + (((size_t)n * s->ih + h0 + kh) * s->iw + w0 + kw) * C + c0;
                            for (int b = 0; b < 4; b++)
                                _mm512_mask_storeu_ps(xp + 16 * b, m[b],
                                                      _mm512_add_ps(_mm512_maskz_loadu_ps(m[b], xp + 16 * b), g[b]));
                        }
                }
            }
}

/* Average pooling forward/backward, channels in 8 lanes (maskload tail).
 * Forward sums the window in the reference's order then scales once, as
 * the reference does; backward spreads dy/divisor over the window. */
#include "f32-avgpool-common.h"
#include <immintrin.h>
#include <string.h>

static inline __m256i lanes(int left) {
    static const int32_t tab[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    if (left <= 0) return _mm256_setzero_si256();
    return _mm256_loadu_si256((const __m256i *)(tab + 8 - (left >= 8 ? 8 : left)));
}

void dacc_f32_avgpool_fwd__avx2(const dacc_pool_shape *s, const float *x, float *y) {
    const int C = s->c;
    for (int n = 0; n < s->n; n++)
        for (int oh = 0; oh < s->oh; oh++)
            for (int ow = 0; ow < s->ow; ow++) {
                float *yp = y + (((size_t)n * s->oh + oh) * s->ow + ow) * C;
                const __m256 inv = _mm256_set1_ps(1.0f / (float)dacc_avgpool_divisor(s, oh, ow));
                int h0 = oh * s->stride - s->pad, w0 = ow * s->stride - s->pad;
                int kh0 = h0 < 0 ? -h0 : 0, kw0 = w0 < 0 ? -w0 : 0;
                int kh1 = s->ih - h0 < s->k ? s->ih - h0 : s->k;
                int kw1 = s->iw - w0 < s->k ? s->iw - w0 : s->k;
                for (int c0 = 0; c0 < C; c0 += 32) {
                    __m256i m[4];
                    __m256 acc[4];
                    for (int b = 0; b < 4; b++) {
                        m[b] = lanes(C - c0 - 8 * b);
                        acc[b] = _mm256_setzero_ps();
                    }
                    for (int kh = kh0; kh < kh1; kh++)
                        for (int kw = kw0; kw < kw1; kw++) {
                            const float *xp =
                                x + (((size_t)n * s->ih + h0 + kh) * s->iw + w0 + kw) * C + c0;
                            for (int b = 0; b < 4; b++)
                                acc[b] = _mm256_add_ps(acc[b], _mm256_maskload_ps(xp + 8 * b, m[b]));
                        }
                    for (int b = 0; b < 4; b++)
                        _mm256_maskstore_ps(yp + c0 + 8 * b, m[b], _mm256_mul_ps(acc[b], inv));
                }
            }
}

void dacc_f32_avgpool_bwd__avx2(const dacc_pool_shape *s, const float *dy, float *dx) {
    const int C = s->c;
    memset(dx, 0, sizeof(float) * (size_t)s->n * s->ih * s->iw * C);
    for (int n = 0; n < s->n; n++)
        for (int oh = 0; oh < s->oh; oh++)
            for (int ow = 0; ow < s->ow; ow++) {
                const float *dyp = dy + (((size_t)n * s->oh + oh) * s->ow + ow) * C;
                const __m256 inv = _mm256_set1_ps(1.0f / (float)dacc_avgpool_divisor(s, oh, ow));
                int h0 = oh * s->stride - s->pad, w0 = ow * s->stride - s->pad;
                int kh0 = h0 < 0 ? -h0 : 0, kw0 = w0 < 0 ? -w0 : 0;
                int kh1 = s->ih - h0 < s->k ? s->ih - h0 : s->k;
                int kw1 = s->iw - w0 < s->k ? s->iw - w0 : s->k;
                for (int c0 = 0; c0 < C; c0 += 32) {
                    __m256i m[4];
                    __m256 g[4];
                    for (int b = 0; b < 4; b++) {
                        m[b] = lanes(C - c0 - 8 * b);
                        g[b] = _mm256_mul_ps(_mm256_maskload_ps(dyp + c0 + 8 * b, m[b]), inv);
                    }
                    for (int kh = kh0; kh < kh1; kh++)
                        for (int kw = kw0; kw < kw1; kw++) {
                            float *xp = dx + (((size_t)n * s->ih + h0 + kh) * s->iw + w0 + kw) * C + c0;
                            for (int b = 0; b < 4; b++)
                                _mm256_maskstore_ps(xp + 8 * b, m[b],
                                                    _mm256_add_ps(_mm256_maskload_ps(xp + 8 * b, m[b]), g[b]));
                        }
                }
            }
}

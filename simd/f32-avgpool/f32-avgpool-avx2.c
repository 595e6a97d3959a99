/* Average pooling forward/backward, channels in 8 lanes (maskload tail), up
 * to four channel vectors per pass. Forward sums the window in the
 * reference's order then scales once. Backward gathers instead of
 * scattering: each input pixel sums dy/divisor over the outputs whose
 * window covers it (in output order, as the reference adds them), one store
 * per input and no zeroing pass. */
#include "f32-avgpool-common.h"
#include "avx2-lanes.h"
#include <immintrin.h>

static inline __attribute__((always_inline)) void
fwd_block(const float *xn, int iw_, int C, int c0, int nb, int full, const __m256i *m, int h0,
          int w0, int kh0, int kh1, int kw0, int kw1, __m256 inv, float *yp) {
    __m256 acc[4];
    for (int b = 0; b < nb; b++) acc[b] = _mm256_setzero_ps();
    for (int kh = kh0; kh < kh1; kh++)
        for (int kw = kw0; kw < kw1; kw++) {
            const float *xp = xn + ((size_t)(h0 + kh) * iw_ + w0 + kw) * C + c0;
            for (int b = 0; b < nb; b++)
                /* m is NULL when full: not read then */
                acc[b] = _mm256_add_ps(acc[b], full ? _mm256_loadu_ps(xp + 8 * b) : avx2_load_m(xp + 8 * b, m[b], 0));
        }
    for (int b = 0; b < nb; b++) {
        if (full) _mm256_storeu_ps(yp + c0 + 8 * b, _mm256_mul_ps(acc[b], inv));
        else _mm256_maskstore_ps(yp + c0 + 8 * b, m[b], _mm256_mul_ps(acc[b], inv));
    }
}

void dacc_f32_avgpool_fwd__avx2(const dacc_pool_shape *s, const float *x, float *y) {
    const int C = s->c;
    for (int n = 0; n < s->n; n++) {
        const float *xn = x + (size_t)n * s->ih * s->iw * C;
        for (int oh = 0; oh < s->oh; oh++)
            for (int ow = 0; ow < s->ow; ow++) {
                float *yp = y + (((size_t)n * s->oh + oh) * s->ow + ow) * C;
                const __m256 inv = _mm256_set1_ps(1.0f / (float)dacc_avgpool_divisor(s, oh, ow));
                int h0 = oh * s->stride - s->pad, w0 = ow * s->stride - s->pad;
                int kh0 = h0 < 0 ? -h0 : 0, kw0 = w0 < 0 ? -w0 : 0;
                int kh1 = s->ih - h0 < s->k ? s->ih - h0 : s->k;
                int kw1 = s->iw - w0 < s->k ? s->iw - w0 : s->k;
                int c0 = 0;
                for (; c0 + 32 <= C; c0 += 32)
                    fwd_block(xn, s->iw, C, c0, 4, 1, NULL, h0, w0, kh0, kh1, kw0, kw1, inv, yp);
                if (c0 < C) {
                    int left = C - c0;
                    __m256i m[4] = {avx2_lanes(left), avx2_lanes(left - 8), avx2_lanes(left - 16), avx2_lanes(left - 24)};
                    if (left > 16)
                        fwd_block(xn, s->iw, C, c0, 4, 0, m, h0, w0, kh0, kh1, kw0, kw1, inv, yp);
                    else if (left > 8)
                        fwd_block(xn, s->iw, C, c0, 2, 0, m, h0, w0, kh0, kh1, kw0, kw1, inv, yp);
                    else
                        fwd_block(xn, s->iw, C, c0, 1, 0, m, h0, w0, kh0, kh1, kw0, kw1, inv, yp);
                }
            }
    }
}

void dacc_f32_avgpool_bwd__avx2(const dacc_pool_shape *s, const float *dy, float *dx) {
    const int C = s->c, K = s->k, S = s->stride, P = s->pad;
    float inv_buf[DACC_AVGPOOL_INV_MAX];
    const float *inv = dacc_avgpool_inv_table(s, inv_buf);
    for (int n = 0; n < s->n; n++) {
        const float *dyn = dy + (size_t)n * s->oh * s->ow * C;
        for (int ih = 0; ih < s->ih; ih++) {
            int lo = ih + P - K + 1, oh0 = lo <= 0 ? 0 : (lo + S - 1) / S;
            int oh1 = (ih + P) / S;
            if (oh1 > s->oh - 1) oh1 = s->oh - 1;
            for (int iw = 0; iw < s->iw; iw++) {
                int lw = iw + P - K + 1, ow0 = lw <= 0 ? 0 : (lw + S - 1) / S;
                int ow1 = (iw + P) / S;
                if (ow1 > s->ow - 1) ow1 = s->ow - 1;
                float *dxp = dx + (((size_t)n * s->ih + ih) * s->iw + iw) * C;
                int c0 = 0;
                for (; c0 + 8 <= C; c0 += 8) {
                    __m256 acc = _mm256_setzero_ps();
                    for (int oh = oh0; oh <= oh1; oh++)
                        for (int ow = ow0; ow <= ow1; ow++)
                            acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_loadu_ps(dyn + ((size_t)oh * s->ow + ow) * C + c0),
                                                                   _mm256_set1_ps(dacc_avgpool_inv(inv, s, oh, ow))));
                    _mm256_storeu_ps(dxp + c0, acc);
                }
                if (c0 < C) {
                    __m256i m = avx2_lanes(C - c0);
                    __m256 acc = _mm256_setzero_ps();
                    for (int oh = oh0; oh <= oh1; oh++)
                        for (int ow = ow0; ow <= ow1; ow++)
                            acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_maskload_ps(dyn + ((size_t)oh * s->ow + ow) * C + c0, m),
                                                                   _mm256_set1_ps(dacc_avgpool_inv(inv, s, oh, ow))));
                    _mm256_maskstore_ps(dxp + c0, m, acc);
                }
            }
        }
    }
}

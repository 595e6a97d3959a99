/* Max pooling forward, channels in 8 lanes (maskload tail), the
 * reference's rules exactly (strict > so the first maximum wins, NaN always
 * taken so the last NaN wins, padding never wins). Rows first where the
 * window and output row fit the ring (f32-maxpool-rows-driver.h), else window
 * by window, up to four channel vectors per pass. Backward is the scalar
 * kernel (a scatter; see its file). */
#include "dacc/kernels.h"
#include "f32-maxpool/pool-window.h"
#include "avx2-lanes.h"
#include <immintrin.h>
#include <math.h>

static inline __attribute__((always_inline)) void
pool_block(const float *xi, int iw_, int C, int c0, int nb, int full, const __m256i *m, const pool_window *pw, float *y, int32_t *idx) {
    const int h0 = pw->h0, w0 = pw->w0, kh0 = pw->kh0, kh1 = pw->kh1, kw0 = pw->kw0, kw1 = pw->kw1;
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256 best[4];
    __m256i bi[4];
    int32_t j0 = ((h0 + kh0) * iw_ + (w0 + kw0)) * C + c0;
    for (int b = 0; b < nb; b++) {
        best[b] = _mm256_set1_ps(-INFINITY);
        bi[b] = _mm256_add_epi32(_mm256_set1_epi32(j0 + 8 * b), iota);
    }
    for (int kh = kh0; kh < kh1; kh++)
        for (int kw = kw0; kw < kw1; kw++) {
            int32_t j = ((h0 + kh) * iw_ + (w0 + kw)) * C + c0;
            for (int b = 0; b < nb; b++) {
                __m256 v = avx2_load_m(xi + j + 8 * b, m[b], full);
                __m256 k = _mm256_or_ps(_mm256_cmp_ps(v, best[b], _CMP_GT_OQ),
                                        _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
                best[b] = _mm256_blendv_ps(best[b], v, k);
                __m256i jv = _mm256_add_epi32(_mm256_set1_epi32(j + 8 * b), iota);
                bi[b] = _mm256_castps_si256(
                    _mm256_blendv_ps(_mm256_castsi256_ps(bi[b]), _mm256_castsi256_ps(jv), k));
            }
        }
    for (int b = 0; b < nb; b++) {
        if (full) {
            _mm256_storeu_ps(y + c0 + 8 * b, best[b]);
            _mm256_storeu_si256((__m256i *)(idx + c0 + 8 * b), bi[b]);
        } else {
            _mm256_maskstore_ps(y + c0 + 8 * b, m[b], best[b]);
            _mm256_maskstore_epi32(idx + c0 + 8 * b, m[b], bi[b]);
        }
    }
}

/* take (v, p) into (best, pos) by the reference's rule */
#define POOL_TAKE(best, pos, v, p)                                                         \
    do {                                                                                   \
        const __m256 k_ = _mm256_or_ps(_mm256_cmp_ps(v, best, _CMP_GT_OQ),                 \
                                       _mm256_cmp_ps(v, v, _CMP_UNORD_Q));                 \
        best = _mm256_blendv_ps(best, v, k_);                                              \
        pos = _mm256_castps_si256(                                                         \
            _mm256_blendv_ps(_mm256_castsi256_ps(pos), _mm256_castsi256_ps(p), k_));       \
    } while (0)

#define POOL_VL 8
#define POOL_VF __m256
#define POOL_VI __m256i
#define POOL_MASK_T __m256i
#define POOL_LANES(n) avx2_lanes(n)
#define POOL_LOAD(m, full, p) avx2_load_m(p, m, full)
#define POOL_STORE_F(p, m, full, v) ((full) ? _mm256_storeu_ps(p, v) : _mm256_maskstore_ps(p, m, v))
#define POOL_STORE_I(p, m, full, v)                                                        \
    ((full) ? _mm256_storeu_si256((__m256i *)(p), v) : _mm256_maskstore_epi32(p, m, v))
#define POOL_SET1_F(x) _mm256_set1_ps(x)
#define POOL_SET1_I(x) _mm256_set1_epi32(x)
#define POOL_INDEX(pos, C, c)                                                              \
    _mm256_add_epi32(_mm256_mullo_epi32(pos, _mm256_set1_epi32(C)),                        \
                     _mm256_add_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)))
#include "f32-maxpool/f32-maxpool-rows-driver.h"

void dacc_f32_maxpool_fwd__avx2(const dacc_pool_shape *s, const float *x, float *y, int32_t *idx) {
    const int C = s->c;
    const size_t in_plane = (size_t)s->ih * s->iw * C;
    if (pool_rows_fits(s)) {
        pool_rows(s, x, y, idx);
        return;
    }
    for (int n = 0; n < s->n; n++) {
        const float *xi = x + n * in_plane;
        for (int oh = 0; oh < s->oh; oh++)
            for (int ow = 0; ow < s->ow; ow++) {
                size_t o = (((size_t)n * s->oh + oh) * s->ow + ow) * C;
                const pool_window pw = pool_window_at(s, oh, ow);
                if (pool_window_empty(&pw)) { /* window entirely in the padding */
                    for (int c = 0; c < C; c++) {
                        y[o + c] = -INFINITY;
                        idx[o + c] = -1;
                    }
                    continue;
                }
                int c0 = 0;
                const __m256i all = _mm256_set1_epi32(-1);
                for (; c0 + 32 <= C; c0 += 32) {
                    const __m256i full[4] = {all, all, all, all};
                    pool_block(xi, s->iw, C, c0, 4, 1, full, &pw, y + o, idx + o);
                }
                if (c0 < C) {
                    int left = C - c0;
                    __m256i m[4] = {avx2_lanes(left), avx2_lanes(left - 8), avx2_lanes(left - 16), avx2_lanes(left - 24)};
                    if (left > 16)
                        pool_block(xi, s->iw, C, c0, 4, 0, m, &pw, y + o, idx + o);
                    else if (left > 8)
                        pool_block(xi, s->iw, C, c0, 2, 0, m, &pw, y + o, idx + o);
                    else
                        pool_block(xi, s->iw, C, c0, 1, 0, m, &pw, y + o, idx + o);
                }
            }
    }
}

/* Max pooling forward, channels in 16 lanes (masked tail). It keeps the
 * reference's rules exactly: a lane takes v when v > best (strict: the
 * first maximum in window order wins) or v is NaN (so the last NaN wins);
 * padding never wins. Windows up to SEP_KMAX rows and rows up to
 * SEP_OWMAX outputs are pooled rows first (f32-maxpool-rows-driver.h);
 * others window by window, up to four channel vectors per pass. Backward
 * is the scalar kernel: a scatter, which gather-add-scatter and per-input
 * gathers made 2x slower. */
#include "dacc/kernels.h"
#include "f32-maxpool/pool-window.h"
#include <immintrin.h>
#include <math.h>

static inline __attribute__((always_inline)) void
pool_block(const float *xi, int iw_, int C, int c0, int nb, const __mmask16 *m, const pool_window *pw, float *y, int32_t *idx) {
    const int h0 = pw->h0, w0 = pw->w0, kh0 = pw->kh0, kh1 = pw->kh1, kw0 = pw->kw0, kw1 = pw->kw1;
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512 best[4];
    __m512i bi[4];
    int32_t j0 = ((h0 + kh0) * iw_ + (w0 + kw0)) * C + c0;
    for (int b = 0; b < nb; b++) {
        best[b] = _mm512_set1_ps(-INFINITY);
        bi[b] = _mm512_add_epi32(_mm512_set1_epi32(j0 + 16 * b), iota);
    }
    for (int kh = kh0; kh < kh1; kh++)
        for (int kw = kw0; kw < kw1; kw++) {
            int32_t j = ((h0 + kh) * iw_ + (w0 + kw)) * C + c0;
            for (int b = 0; b < nb; b++) {
                __m512 v = _mm512_maskz_loadu_ps(m[b], xi + j + 16 * b);
                __mmask16 k = _mm512_cmp_ps_mask(v, best[b], _CMP_GT_OQ) |
                              _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
                best[b] = _mm512_mask_mov_ps(best[b], k, v);
                bi[b] = _mm512_mask_mov_epi32(bi[b], k,
                                              _mm512_add_epi32(_mm512_set1_epi32(j + 16 * b), iota));
            }
        }
    for (int b = 0; b < nb; b++) {
        _mm512_mask_storeu_ps(y + c0 + 16 * b, m[b], best[b]);
        _mm512_mask_storeu_epi32(idx + c0 + 16 * b, m[b], bi[b]);
    }
}

/* take (v, p) into (best, pos) by the reference's rule */
#define POOL_TAKE(best, pos, v, p)                                                         \
    do {                                                                                   \
        const __mmask16 k_ = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) |                     \
                             _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);                       \
        best = _mm512_mask_mov_ps(best, k_, v);                                            \
        pos = _mm512_mask_mov_epi32(pos, k_, p);                                           \
    } while (0)

#define POOL_VL 16
#define POOL_VF __m512
#define POOL_VI __m512i
#define POOL_MASK_T __mmask16
#define POOL_LANES(n) ((__mmask16)pool_lanes16(n))
/* masked moves cost as plain ones here: full is not needed */
#define POOL_LOAD(m, full, p) ((void)(full), _mm512_maskz_loadu_ps(m, p))
#define POOL_STORE_F(p, m, full, v) ((void)(full), _mm512_mask_storeu_ps(p, m, v))
#define POOL_STORE_I(p, m, full, v) ((void)(full), _mm512_mask_storeu_epi32(p, m, v))
#define POOL_SET1_F(x) _mm512_set1_ps(x)
#define POOL_SET1_I(x) _mm512_set1_epi32(x)
#define POOL_INDEX(pos, C, c)                                                              \
    _mm512_add_epi32(_mm512_mullo_epi32(pos, _mm512_set1_epi32(C)),                        \
                     _mm512_add_epi32(_mm512_set1_epi32(c), _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)))
#include "f32-maxpool/f32-maxpool-rows-driver.h"

void dacc_f32_maxpool_fwd__avx512(const dacc_pool_shape *s, const float *x, float *y,
                                  int32_t *idx) {
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
                for (; c0 + 64 <= C; c0 += 64) {
                    static const __mmask16 full[4] = {0xffff, 0xffff, 0xffff, 0xffff};
                    pool_block(xi, s->iw, C, c0, 4, full, &pw, y + o, idx + o);
                }
                if (c0 < C) {
                    const int left = C - c0;
                    const __mmask16 m[4] = {pool_lanes16(left), pool_lanes16(left - 16), pool_lanes16(left - 32),
                                            pool_lanes16(left - 48)};
                    if (left > 32)
                        pool_block(xi, s->iw, C, c0, 4, m, &pw, y + o, idx + o);
                    else if (left > 16)
                        pool_block(xi, s->iw, C, c0, 2, m, &pw, y + o, idx + o);
                    else
                        pool_block(xi, s->iw, C, c0, 1, m, &pw, y + o, idx + o);
                }
            }
    }
}

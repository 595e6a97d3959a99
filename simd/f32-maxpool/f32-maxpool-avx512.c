/* Max pooling forward, channels in 16 lanes (masked tail). It keeps the
 * reference's rules exactly: a lane takes v when v > best (strict: the
 * first maximum in window order wins) or v is NaN (so the last NaN wins);
 * padding never wins. Windows up to SEP_KMAX rows and rows up to
 * SEP_OWMAX outputs are pooled rows first (pool-window.h); others window by
 * window, up to four channel vectors per pass. Backward is the scalar
 * kernel: a scatter, which gather-add-scatter and per-input gathers made
 * 2x slower. */
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

/* Input row h of one channel vector: each output column's winner over its
 * taps in that row (value, and position h * iw + w in every lane). */
static void pool_row(const float *xi, const dacc_pool_shape *s, int h, int c, __mmask16 m,
                     __m512 *rv, __m512i *rp) {
    const size_t C = (size_t)s->c;
    const float *row = xi + (size_t)h * s->iw * C + c;
    for (int ow = 0; ow < s->ow; ow++) {
        const pool_window pw = pool_window_at(s, 0, ow);
        if (pw.kw0 >= pw.kw1) continue; /* columns entirely in the padding */
        int w = pw.w0 + pw.kw0;
        __m512 best = _mm512_maskz_loadu_ps(m, row + w * C);
        __m512i pos = _mm512_set1_epi32(h * s->iw + w);
        for (w++; w < pw.w0 + pw.kw1; w++) {
            const __m512 v = _mm512_maskz_loadu_ps(m, row + w * C);
            POOL_TAKE(best, pos, v, _mm512_set1_epi32(h * s->iw + w));
        }
        rv[ow] = best;
        rp[ow] = pos;
    }
}

/* One image, one channel vector: rows first (each input row once, kept in
 * a ring of k rows), then each output the rule over its rows' winners in
 * row order. Equal to the window-order scan: the first maximum of the
 * first row holding the maximum, or the last NaN of the last row holding
 * a NaN. */
static void pool_image_rows(const dacc_pool_shape *s, const float *xi, int c, __mmask16 m,
                            float *yi, int32_t *ii) {
    __m512 rv[SEP_KMAX][SEP_OWMAX];
    __m512i rp[SEP_KMAX][SEP_OWMAX];
    const int K = s->k;
    const __m512i lane = _mm512_add_epi32(_mm512_set1_epi32(c), _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    int next = 0; /* rows below this are in the ring (or skipped) */
    for (int oh = 0; oh < s->oh; oh++) {
        const pool_window r = pool_window_at(s, oh, 0);
        const int a = r.h0 + r.kh0, b = r.h0 + r.kh1;
        for (int h = next > a ? next : a; h < b; h++) pool_row(xi, s, h, c, m, rv[h % K], rp[h % K]);
        if (b > next) next = b;
        int slot[SEP_KMAX]; /* ring slots of rows a..b-1 */
        for (int h = a; h < b; h++) slot[h - a] = h % K;
        for (int ow = 0; ow < s->ow; ow++) {
            const size_t o = ((size_t)oh * s->ow + ow) * s->c + c;
            const pool_window pw = pool_window_at(s, oh, ow);
            if (pool_window_empty(&pw)) {
                _mm512_mask_storeu_ps(yi + o, m, _mm512_set1_ps(-INFINITY));
                _mm512_mask_storeu_epi32(ii + o, m, _mm512_set1_epi32(-1));
                continue;
            }
            __m512 best = rv[slot[0]][ow];
            __m512i pos = rp[slot[0]][ow];
            for (int j = 1; j < b - a; j++) POOL_TAKE(best, pos, rv[slot[j]][ow], rp[slot[j]][ow]);
            _mm512_mask_storeu_ps(yi + o, m, best);
            _mm512_mask_storeu_epi32(ii + o, m, _mm512_add_epi32(_mm512_mullo_epi32(pos, _mm512_set1_epi32(s->c)), lane));
        }
    }
}

void dacc_f32_maxpool_fwd__avx512(const dacc_pool_shape *s, const float *x, float *y,
                                  int32_t *idx) {
    const int C = s->c;
    const size_t in_plane = (size_t)s->ih * s->iw * C;
    if (s->k <= SEP_KMAX && s->ow <= SEP_OWMAX) {
        const size_t out_plane = (size_t)s->oh * s->ow * C;
        for (int n = 0; n < s->n; n++)
            for (int c = 0; c < C; c += 16)
                pool_image_rows(s, x + n * in_plane, c, C - c >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (C - c)) - 1u),
                                y + n * out_plane, idx + n * out_plane);
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
                    __mmask16 m[4];
                    int left = C - c0;
                    for (int b = 0; b < 4; b++) {
                        int l = left - 16 * b;
                        m[b] = l >= 16 ? (__mmask16)0xffff : l <= 0 ? 0 : (__mmask16)((1u << l) - 1u);
                    }
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

/* Per-channel reductions and affine maps over rows x c, channels in 16
 * lanes (masked tail). Reductions sum float lanes over blocks of ROWS_BLOCK
 * rows (a block of c <= 64 channels stays in L1) and add each block's
 * partial sums to the double outputs, which keeps the error within a few
 * float roundings of a 32-term sum. */
#include "dacc/kernels.h"
#include <immintrin.h>

#define ROWS_BLOCK 32

static inline __mmask16 lanes(int left) {
    return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
}

static inline void add_to_double(double *out, __m512 acc, __mmask16 m) {
    __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(acc));
    __m512d hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(acc, 1));
    __mmask8 ml = (__mmask8)m, mh = (__mmask8)(m >> 8);
    _mm512_mask_storeu_pd(out, ml, _mm512_add_pd(_mm512_maskz_loadu_pd(ml, out), lo));
    _mm512_mask_storeu_pd(out + 8, mh, _mm512_add_pd(_mm512_maskz_loadu_pd(mh, out + 8), hi));
}

void dacc_f32_channel_moments__avx512(size_t rows, int c, const float *x, const float *shift,
                                      double *sum, double *sq) {
    for (size_t r0 = 0; r0 < rows; r0 += ROWS_BLOCK) {
        size_t r1 = rows - r0 < ROWS_BLOCK ? rows : r0 + ROWS_BLOCK;
        for (int j = 0; j < c; j += 16) {
            __mmask16 m = lanes(c - j);
            const __m512 s = _mm512_maskz_loadu_ps(m, shift + j);
            __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
            __m512 q0 = _mm512_setzero_ps(), q1 = _mm512_setzero_ps();
            const float *xp = x + r0 * (size_t)c + j;
            size_t r = r0;
            for (; r + 2 <= r1; r += 2, xp += 2 * (size_t)c) {
                __m512 d0 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, xp), s);
                __m512 d1 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, xp + c), s);
                s0 = _mm512_add_ps(s0, d0);
                s1 = _mm512_add_ps(s1, d1);
                q0 = _mm512_fmadd_ps(d0, d0, q0);
                q1 = _mm512_fmadd_ps(d1, d1, q1);
            }
            if (r < r1) {
                __m512 d0 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, xp), s);
                s0 = _mm512_add_ps(s0, d0);
                q0 = _mm512_fmadd_ps(d0, d0, q0);
            }
            add_to_double(sum + j, _mm512_add_ps(s0, s1), m);
            add_to_double(sq + j, _mm512_add_ps(q0, q1), m);
        }
    }
}

void dacc_f32_channel_dot__avx512(size_t rows, int c, const float *dy, const float *x,
                                  const float *mean, double *sum_dy, double *sum_dyx) {
    for (size_t r0 = 0; r0 < rows; r0 += ROWS_BLOCK) {
        size_t r1 = rows - r0 < ROWS_BLOCK ? rows : r0 + ROWS_BLOCK;
        for (int j = 0; j < c; j += 16) {
            __mmask16 m = lanes(c - j);
            const __m512 mu = _mm512_maskz_loadu_ps(m, mean + j);
            __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
            __m512 p0 = _mm512_setzero_ps(), p1 = _mm512_setzero_ps();
            size_t off = r0 * (size_t)c + j, r = r0;
            for (; r + 2 <= r1; r += 2, off += 2 * (size_t)c) {
                __m512 g0 = _mm512_maskz_loadu_ps(m, dy + off);
                __m512 g1 = _mm512_maskz_loadu_ps(m, dy + off + c);
                s0 = _mm512_add_ps(s0, g0);
                s1 = _mm512_add_ps(s1, g1);
                p0 = _mm512_fmadd_ps(g0, _mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + off), mu), p0);
                p1 = _mm512_fmadd_ps(g1, _mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + off + c), mu), p1);
            }
            if (r < r1) {
                __m512 g0 = _mm512_maskz_loadu_ps(m, dy + off);
                s0 = _mm512_add_ps(s0, g0);
                p0 = _mm512_fmadd_ps(g0, _mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + off), mu), p0);
            }
            add_to_double(sum_dy + j, _mm512_add_ps(s0, s1), m);
            add_to_double(sum_dyx + j, _mm512_add_ps(p0, p1), m);
        }
    }
}

void dacc_f32_channel_affine__avx512(size_t rows, int c, const float *x, const float *a,
                                     const float *b, float *y) {
    if (c % 16 == 0 && c <= 64) { /* the network's widths: a and b live in registers */
        __m512 av[4], bv[4];
        int nv = c / 16;
        for (int v = 0; v < nv; v++) {
            av[v] = _mm512_loadu_ps(a + 16 * v);
            bv[v] = _mm512_loadu_ps(b + 16 * v);
        }
        for (size_t r = 0; r < rows; r++)
            for (int v = 0; v < nv; v++) {
                size_t o = r * (size_t)c + 16 * v;
                _mm512_storeu_ps(y + o, _mm512_fmadd_ps(_mm512_loadu_ps(x + o), av[v], bv[v]));
            }
        return;
    }
    for (size_t r = 0; r < rows; r++)
        for (int j = 0; j < c; j += 16) {
            __mmask16 m = lanes(c - j);
            size_t o = r * (size_t)c + j;
            __m512 v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + o), _mm512_maskz_loadu_ps(m, a + j),
                                       _mm512_maskz_loadu_ps(m, b + j));
            _mm512_mask_storeu_ps(y + o, m, v);
        }
}

void dacc_f32_channel_affine2__avx512(size_t rows, int c, const float *p, const float *q,
                                      const float *a, const float *b, const float *k,
                                      float *out) {
    for (size_t r = 0; r < rows; r++)
        for (int j = 0; j < c; j += 16) {
            __mmask16 m = lanes(c - j);
            size_t o = r * (size_t)c + j;
            __m512 t = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + o), _mm512_maskz_loadu_ps(m, b + j),
                                       _mm512_maskz_loadu_ps(m, k + j));
            __m512 v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, p + o), _mm512_maskz_loadu_ps(m, a + j), t);
            _mm512_mask_storeu_ps(out + o, m, v);
        }
}

/* As affine2, then zero where q <= 0 (the ReLU mask from q, which is the
 * ReLU's output): the same arithmetic, so the same bits as affine2 followed
 * by relu_bwd. */
void dacc_f32_channel_affine2_relu__avx512(size_t rows, int c, const float *p, const float *q,
                                           const float *a, const float *b, const float *k,
                                           float *out) {
    const __m512 zero = _mm512_setzero_ps();
    if (c % 16 == 0 && c <= 64) { /* the network's widths: coefficients in registers */
        __m512 av[4], bv[4], kv[4];
        int nv = c / 16;
        for (int v = 0; v < nv; v++) {
            av[v] = _mm512_loadu_ps(a + 16 * v);
            bv[v] = _mm512_loadu_ps(b + 16 * v);
            kv[v] = _mm512_loadu_ps(k + 16 * v);
        }
        for (size_t r = 0; r < rows; r++)
            for (int v = 0; v < nv; v++) {
                size_t o = r * (size_t)c + 16 * v;
                __m512 qv = _mm512_loadu_ps(q + o);
                __mmask16 pos = _mm512_cmp_ps_mask(qv, zero, _CMP_GT_OQ);
                __m512 t = _mm512_fmadd_ps(qv, bv[v], kv[v]);
                _mm512_storeu_ps(out + o, _mm512_maskz_fmadd_ps(pos, _mm512_loadu_ps(p + o), av[v], t));
            }
        return;
    }
    for (size_t r = 0; r < rows; r++)
        for (int j = 0; j < c; j += 16) {
            __mmask16 m = lanes(c - j);
            size_t o = r * (size_t)c + j;
            __m512 qv = _mm512_maskz_loadu_ps(m, q + o);
            __mmask16 pos = _mm512_cmp_ps_mask(qv, zero, _CMP_GT_OQ);
            __m512 t = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(m, b + j), _mm512_maskz_loadu_ps(m, k + j));
            __m512 v = _mm512_maskz_fmadd_ps(pos, _mm512_maskz_loadu_ps(m, p + o),
                                             _mm512_maskz_loadu_ps(m, a + j), t);
            _mm512_mask_storeu_ps(out + o, m, v);
        }
}

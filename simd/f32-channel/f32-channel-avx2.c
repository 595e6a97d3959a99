/* Per-channel reductions and affine maps over rows x c, channels in 8
 * lanes (maskload/maskstore tail). Reductions sum float lanes over blocks of
 * ROWS_BLOCK rows (a block of c <= 64 channels stays in L1) and add each
 * block's partial sums to the double outputs. */
#include "dacc/kernels.h"
#include "avx2-lanes.h"
#include <immintrin.h>

#define ROWS_BLOCK 32

static inline void add_to_double(double *out, __m256 acc, int left) {
    __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(acc));
    __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(acc, 1));
    if (left >= 8) {
        _mm256_storeu_pd(out, _mm256_add_pd(_mm256_loadu_pd(out), lo));
        _mm256_storeu_pd(out + 4, _mm256_add_pd(_mm256_loadu_pd(out + 4), hi));
        return;
    }
    double t[8];
    _mm256_storeu_pd(t, lo);
    _mm256_storeu_pd(t + 4, hi);
    for (int i = 0; i < left; i++) out[i] += t[i];
}

#define CH_INLINE static inline __attribute__((always_inline))


/* One channel vector over rows [r0, r1): sum of d and of d^2, d = x - s. */
CH_INLINE void moments_vec(const float *xp, size_t c, size_t r0, size_t r1, __m256 s, __m256i m,
                           const int full, __m256 *sum, __m256 *sq) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 q0 = _mm256_setzero_ps(), q1 = _mm256_setzero_ps();
    size_t r = r0;
    for (; r + 2 <= r1; r += 2, xp += 2 * c) {
        __m256 d0 = _mm256_sub_ps(avx2_load_m(xp, m, full), s);
        __m256 d1 = _mm256_sub_ps(avx2_load_m(xp + c, m, full), s);
        s0 = _mm256_add_ps(s0, d0);
        s1 = _mm256_add_ps(s1, d1);
        q0 = _mm256_fmadd_ps(d0, d0, q0);
        q1 = _mm256_fmadd_ps(d1, d1, q1);
    }
    if (r < r1) {
        __m256 d0 = _mm256_sub_ps(avx2_load_m(xp, m, full), s);
        s0 = _mm256_add_ps(s0, d0);
        q0 = _mm256_fmadd_ps(d0, d0, q0);
    }
    *sum = _mm256_add_ps(s0, s1);
    *sq = _mm256_add_ps(q0, q1);
}

void dacc_f32_channel_moments__avx2(size_t rows, int c, const float *x, const float *shift,
                                    double *sum, double *sq) {
    for (size_t r0 = 0; r0 < rows; r0 += ROWS_BLOCK) {
        size_t r1 = rows - r0 < ROWS_BLOCK ? rows : r0 + ROWS_BLOCK;
        for (int j = 0; j < c; j += 8) {
            const __m256i m = avx2_lanes(c - j);
            const __m256 s = _mm256_maskload_ps(shift + j, m);
            const float *xp = x + r0 * (size_t)c + j;
            __m256 vs, vq;
            if (c - j >= 8)
                moments_vec(xp, (size_t)c, r0, r1, s, m, 1, &vs, &vq);
            else
                moments_vec(xp, (size_t)c, r0, r1, s, m, 0, &vs, &vq);
            add_to_double(sum + j, vs, c - j);
            add_to_double(sq + j, vq, c - j);
        }
    }
}

/* One channel vector over rows [r0, r1): sum of dy and of dy (x - mu). */
CH_INLINE void dot_vec(const float *dy, const float *x, size_t c, size_t r0, size_t r1, __m256 mu,
                       __m256i m, const int full, __m256 *sdy, __m256 *sdyx) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 p0 = _mm256_setzero_ps(), p1 = _mm256_setzero_ps();
    size_t off = 0, r = r0;
    for (; r + 2 <= r1; r += 2, off += 2 * c) {
        __m256 g0 = avx2_load_m(dy + off, m, full);
        __m256 g1 = avx2_load_m(dy + off + c, m, full);
        s0 = _mm256_add_ps(s0, g0);
        s1 = _mm256_add_ps(s1, g1);
        p0 = _mm256_fmadd_ps(g0, _mm256_sub_ps(avx2_load_m(x + off, m, full), mu), p0);
        p1 = _mm256_fmadd_ps(g1, _mm256_sub_ps(avx2_load_m(x + off + c, m, full), mu), p1);
    }
    if (r < r1) {
        __m256 g0 = avx2_load_m(dy + off, m, full);
        s0 = _mm256_add_ps(s0, g0);
        p0 = _mm256_fmadd_ps(g0, _mm256_sub_ps(avx2_load_m(x + off, m, full), mu), p0);
    }
    *sdy = _mm256_add_ps(s0, s1);
    *sdyx = _mm256_add_ps(p0, p1);
}

void dacc_f32_channel_dot__avx2(size_t rows, int c, const float *dy, const float *x,
                                const float *mean, double *sum_dy, double *sum_dyx) {
    for (size_t r0 = 0; r0 < rows; r0 += ROWS_BLOCK) {
        size_t r1 = rows - r0 < ROWS_BLOCK ? rows : r0 + ROWS_BLOCK;
        for (int j = 0; j < c; j += 8) {
            const __m256i m = avx2_lanes(c - j);
            const __m256 mu = _mm256_maskload_ps(mean + j, m);
            const size_t off = r0 * (size_t)c + j;
            __m256 vs, vp;
            if (c - j >= 8)
                dot_vec(dy + off, x + off, (size_t)c, r0, r1, mu, m, 1, &vs, &vp);
            else
                dot_vec(dy + off, x + off, (size_t)c, r0, r1, mu, m, 0, &vs, &vp);
            add_to_double(sum_dy + j, vs, c - j);
            add_to_double(sum_dyx + j, vp, c - j);
        }
    }
}

void dacc_f32_channel_affine__avx2(size_t rows, int c, const float *x, const float *a,
                                   const float *b, float *y) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * (size_t)c;
        float *yr = y + r * (size_t)c;
        int j = 0;
        for (; j + 8 <= c; j += 8)
            _mm256_storeu_ps(yr + j, _mm256_fmadd_ps(_mm256_loadu_ps(xr + j), _mm256_loadu_ps(a + j),
                                                     _mm256_loadu_ps(b + j)));
        if (j < c) {
            __m256i m = avx2_lanes(c - j);
            __m256 v = _mm256_fmadd_ps(_mm256_maskload_ps(xr + j, m), _mm256_maskload_ps(a + j, m),
                                       _mm256_maskload_ps(b + j, m));
            _mm256_maskstore_ps(yr + j, m, v);
        }
    }
}

void dacc_f32_channel_affine2__avx2(size_t rows, int c, const float *p, const float *q,
                                    const float *a, const float *b, const float *k, float *out) {
    for (size_t r = 0; r < rows; r++) {
        size_t o = r * (size_t)c;
        int j = 0;
        for (; j + 8 <= c; j += 8) {
            __m256 t = _mm256_fmadd_ps(_mm256_loadu_ps(q + o + j), _mm256_loadu_ps(b + j),
                                       _mm256_loadu_ps(k + j));
            _mm256_storeu_ps(out + o + j,
                             _mm256_fmadd_ps(_mm256_loadu_ps(p + o + j), _mm256_loadu_ps(a + j), t));
        }
        if (j < c) {
            __m256i m = avx2_lanes(c - j);
            __m256 t = _mm256_fmadd_ps(_mm256_maskload_ps(q + o + j, m), _mm256_maskload_ps(b + j, m),
                                       _mm256_maskload_ps(k + j, m));
            __m256 v = _mm256_fmadd_ps(_mm256_maskload_ps(p + o + j, m), _mm256_maskload_ps(a + j, m), t);
            _mm256_maskstore_ps(out + o + j, m, v);
        }
    }
}

/* As affine2, then zero where q <= 0 (the ReLU mask from q, the ReLU's
 * output): the same bits as affine2 followed by relu_bwd. */
void dacc_f32_channel_affine2_relu__avx2(size_t rows, int c, const float *p, const float *q,
                                         const float *a, const float *b, const float *k,
                                         float *out) {
    const __m256 zero = _mm256_setzero_ps();
    for (size_t r = 0; r < rows; r++) {
        size_t o = r * (size_t)c;
        int j = 0;
        for (; j + 8 <= c; j += 8) {
            __m256 qv = _mm256_loadu_ps(q + o + j);
            __m256 t = _mm256_fmadd_ps(qv, _mm256_loadu_ps(b + j), _mm256_loadu_ps(k + j));
            __m256 v = _mm256_fmadd_ps(_mm256_loadu_ps(p + o + j), _mm256_loadu_ps(a + j), t);
            _mm256_storeu_ps(out + o + j, _mm256_and_ps(v, _mm256_cmp_ps(qv, zero, _CMP_GT_OQ)));
        }
        if (j < c) {
            __m256i m = avx2_lanes(c - j);
            __m256 qv = _mm256_maskload_ps(q + o + j, m);
            __m256 t = _mm256_fmadd_ps(qv, _mm256_maskload_ps(b + j, m), _mm256_maskload_ps(k + j, m));
            __m256 v = _mm256_fmadd_ps(_mm256_maskload_ps(p + o + j, m), _mm256_maskload_ps(a + j, m), t);
            _mm256_maskstore_ps(out + o + j, m, _mm256_and_ps(v, _mm256_cmp_ps(qv, zero, _CMP_GT_OQ)));
        }
    }
}

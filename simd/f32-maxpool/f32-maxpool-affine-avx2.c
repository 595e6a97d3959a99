/* Eval-mode max pooling of an affine map (kernels.h), channels in 8 lanes
 * (masked tail), up to four channel vectors per pass: a running max and
 * min per lane (the min only for channel blocks with a negative a), then
 * max or min by the sign of a, one FMA and the optional
 * ReLU before the store. */
#include "dacc/kernels.h"
#include "f32-maxpool/pool-window.h"
#include "avx2-lanes.h"
#include <immintrin.h>
#include <math.h>

static inline __attribute__((always_inline)) void
pool_block(const float *xi, int iw_, int C, int c0, int nb, const __m256i *m, const pool_window *pw, const float *a, const float *b, int relu, const int with_min,
           float *y) {
    __m256 mx[4], mn[4];
    _Pragma("GCC unroll 4") for (int v = 0; v < nb; v++) {
        mx[v] = _mm256_set1_ps(-INFINITY);
        mn[v] = _mm256_set1_ps(INFINITY);
    }
    for (int kh = pw->kh0; kh < pw->kh1; kh++)
        for (int kw = pw->kw0; kw < pw->kw1; kw++) {
            const float *p = xi + ((size_t)(pw->h0 + kh) * iw_ + (pw->w0 + kw)) * C + c0;
            _Pragma("GCC unroll 4") for (int v = 0; v < nb; v++) {
                __m256 x = _mm256_maskload_ps(p + 8 * v, m[v]);
                mx[v] = _mm256_max_ps(mx[v], x);
                if (with_min) mn[v] = _mm256_min_ps(mn[v], x);
            }
        }
    _Pragma("GCC unroll 4") for (int v = 0; v < nb; v++) {
        __m256 r = mx[v];
        if (a) {
            __m256 av = _mm256_maskload_ps(a + c0 + 8 * v, m[v]);
            __m256 bv = _mm256_maskload_ps(b + c0 + 8 * v, m[v]);
            __m256 neg = _mm256_cmp_ps(av, _mm256_setzero_ps(), _CMP_LT_OQ);
            r = _mm256_fmadd_ps(with_min ? _mm256_blendv_ps(mx[v], mn[v], neg) : mx[v], av, bv);
        }
        if (relu) r = _mm256_max_ps(r, _mm256_setzero_ps());
        _mm256_maskstore_ps(y + c0 + 8 * v, m[v], r);
    }
}

/* One output row of one channel block, separably: the max (and min) of
 * each input column over the window's rows into col[], then each output
 * the max over its window's columns of col[]. 5x5 windows at stride 2 load
 * 180 vectors per 12 outputs instead of 300, in chains of 5, not 25. */
static inline __attribute__((always_inline)) void
pool_row_sep_body(const float *xi, const dacc_pool_shape *s, int oh, int C, int c0, int nb, const __m256i *m,
                  const float *a, const float *b, int relu, const int with_min, const int full, float *yrow) {
    __m256 cmx[POOL_SEP_MAX_W][4], cmn[POOL_SEP_MAX_W][4];
    const pool_window r = pool_window_at(s, oh, 0);
    for (int w = 0; w < s->iw; w++) {
        __m256 mx[4], mn[4];
        _Pragma("GCC unroll 4") for (int v = 0; v < nb; v++) {
            mx[v] = _mm256_set1_ps(-INFINITY);
            mn[v] = _mm256_set1_ps(INFINITY);
        }
        for (int kh = r.kh0; kh < r.kh1; kh++) {
            const float *p = xi + ((size_t)(r.h0 + kh) * s->iw + w) * C + c0;
            _Pragma("GCC unroll 4") for (int v = 0; v < nb; v++) {
                const __m256 x = avx2_load_m(p + 8 * v, m[v], full);
                mx[v] = _mm256_max_ps(mx[v], x);
                if (with_min) mn[v] = _mm256_min_ps(mn[v], x);
            }
        }
        _Pragma("GCC unroll 4") for (int v = 0; v < nb; v++) {
            cmx[w][v] = mx[v];
            if (with_min) cmn[w][v] = mn[v];
        }
    }
    __m256 av[4], bv[4];
    __m256 neg[4];
    if (a) _Pragma("GCC unroll 4") for (int v = 0; v < nb; v++) {
        av[v] = _mm256_maskload_ps(a + c0 + 8 * v, m[v]);
        bv[v] = _mm256_maskload_ps(b + c0 + 8 * v, m[v]);
        neg[v] = _mm256_cmp_ps(av[v], _mm256_setzero_ps(), _CMP_LT_OQ);
    }
    for (int ow = 0; ow < s->ow; ow++) {
        const pool_window pw = pool_window_at(s, oh, ow);
        float *yo = yrow + (size_t)ow * C;
        if (pool_window_empty(&pw)) { /* window entirely in the padding */
            for (int c = c0; c < C && c < c0 + nb * 8; c++) yo[c] = relu ? 0.0f : -INFINITY;
            continue;
        }
        __m256 mx[4], mn[4];
        _Pragma("GCC unroll 4") for (int v = 0; v < nb; v++) {
            mx[v] = cmx[pw.w0 + pw.kw0][v];
            if (with_min) mn[v] = cmn[pw.w0 + pw.kw0][v];
        }
        for (int kw = pw.kw0 + 1; kw < pw.kw1; kw++)
            _Pragma("GCC unroll 4") for (int v = 0; v < nb; v++) {
                mx[v] = _mm256_max_ps(mx[v], cmx[pw.w0 + kw][v]);
                if (with_min) mn[v] = _mm256_min_ps(mn[v], cmn[pw.w0 + kw][v]);
            }
        _Pragma("GCC unroll 4") for (int v = 0; v < nb; v++) {
            __m256 res = mx[v];
            if (a) res = _mm256_fmadd_ps(with_min ? _mm256_blendv_ps(mx[v], mn[v], neg[v]) : mx[v], av[v], bv[v]);
            if (relu) res = _mm256_max_ps(res, _mm256_setzero_ps());
            if (full)
                _mm256_storeu_ps(yo + c0 + 8 * v, res);
            else
                _mm256_maskstore_ps(yo + c0 + 8 * v, m[v], res);
        }
    }
}

/* Full blocks (every lane of the nb vectors a channel) use plain loads and
 * stores: vmaskmovps is slow on AMD, its store especially. */
static inline __attribute__((always_inline)) void
pool_row_sep(const float *xi, const dacc_pool_shape *s, int oh, int C, int c0, int nb, const __m256i *m,
             const float *a, const float *b, int relu, const int with_min, float *yrow) {
    if (C - c0 >= 8 * nb)
        pool_row_sep_body(xi, s, oh, C, c0, nb, m, a, b, relu, with_min, 1, yrow);
    else
        pool_row_sep_body(xi, s, oh, C, c0, nb, m, a, b, relu, with_min, 0, yrow);
}


#define POOL_FN dacc_f32_maxpool_affine__avx2
#define POOL_VL 8
#define POOL_MASK_T __m256i
#define POOL_LANES(n) avx2_lanes(n)
#include "f32-maxpool/f32-maxpool-affine-driver.h"

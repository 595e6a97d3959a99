/* Eval-mode max pooling of an affine map (kernels.h), channels in 16 lanes
 * (masked tail), up to four channel vectors per pass: a running max and
 * min per lane over the window's taps (the min only for channel blocks
 * with a negative a), then max or min by the sign of a,
 * one FMA and the optional ReLU before the store. */
#include "dacc/kernels.h"
#include "f32-maxpool/pool-window.h"
#include <immintrin.h>
#include <math.h>

static inline __attribute__((always_inline)) void
pool_block(const float *xi, int iw_, int C, int c0, int nb, const __mmask16 *m, const pool_window *pw, const float *a, const float *b, int relu, const int with_min,
           float *y) {
    __m512 mx[4], mn[4];
    _Pragma("GCC unroll 4") for (int v = 0; v < nb; v++) {
        mx[v] = _mm512_set1_ps(-INFINITY);
        mn[v] = _mm512_set1_ps(INFINITY);
    }
    for (int kh = pw->kh0; kh < pw->kh1; kh++)
        for (int kw = pw->kw0; kw < pw->kw1; kw++) {
            const float *p = xi + ((size_t)(pw->h0 + kh) * iw_ + (pw->w0 + kw)) * C + c0;
            _Pragma("GCC unroll 4") for (int v = 0; v < nb; v++) {
                __m512 x = _mm512_maskz_loadu_ps(m[v], p + 16 * v);
                mx[v] = _mm512_max_ps(mx[v], x);
                if (with_min) mn[v] = _mm512_min_ps(mn[v], x);
            }
        }
    _Pragma("GCC unroll 4") for (int v = 0; v < nb; v++) {
        __m512 r = mx[v];
        if (a) {
            __m512 av = _mm512_maskz_loadu_ps(m[v], a + c0 + 16 * v);
            __m512 bv = _mm512_maskz_loadu_ps(m[v], b + c0 + 16 * v);
            __mmask16 neg = _mm512_cmp_ps_mask(av, _mm512_setzero_ps(), _CMP_LT_OQ);
            r = _mm512_fmadd_ps(with_min ? _mm512_mask_mov_ps(mx[v], neg, mn[v]) : mx[v], av, bv);
        }
        if (relu) r = _mm512_max_ps(r, _mm512_setzero_ps());
        _mm512_mask_storeu_ps(y + c0 + 16 * v, m[v], r);
    }
}

/* One output row of one channel block, separably: the max (and min) of
 * each input column over the window's rows into col[], then each output
 * the max over its window's columns of col[]. 5x5 windows at stride 2 load
 * 180 vectors per 12 outputs instead of 300, in chains of 5, not 25. */
static inline __attribute__((always_inline)) void
pool_row_sep(const float *xi, const dacc_pool_shape *s, int oh, int C, int c0, int nb, const __mmask16 *m,
             const float *a, const float *b, int relu, const int with_min, float *yrow) {
    __m512 cmx[POOL_SEP_MAX_W][4], cmn[POOL_SEP_MAX_W][4];
    const pool_window r = pool_window_at(s, oh, 0);
    for (int w = 0; w < s->iw; w++) {
        __m512 mx[4], mn[4];
        _Pragma("GCC unroll 4") for (int v = 0; v < nb; v++) {
            mx[v] = _mm512_set1_ps(-INFINITY);
            mn[v] = _mm512_set1_ps(INFINITY);
        }
        for (int kh = r.kh0; kh < r.kh1; kh++) {
            const float *p = xi + ((size_t)(r.h0 + kh) * s->iw + w) * C + c0;
            _Pragma("GCC unroll 4") for (int v = 0; v < nb; v++) {
                const __m512 x = _mm512_maskz_loadu_ps(m[v], p + 16 * v);
                mx[v] = _mm512_max_ps(mx[v], x);
                if (with_min) mn[v] = _mm512_min_ps(mn[v], x);
            }
        }
        _Pragma("GCC unroll 4") for (int v = 0; v < nb; v++) {
            cmx[w][v] = mx[v];
            if (with_min) cmn[w][v] = mn[v];
        }
    }
    __m512 av[4], bv[4];
    __mmask16 neg[4];
    if (a) _Pragma("GCC unroll 4") for (int v = 0; v < nb; v++) {
        av[v] = _mm512_maskz_loadu_ps(m[v], a + c0 + 16 * v);
        bv[v] = _mm512_maskz_loadu_ps(m[v], b + c0 + 16 * v);
        neg[v] = _mm512_cmp_ps_mask(av[v], _mm512_setzero_ps(), _CMP_LT_OQ);
    }
    for (int ow = 0; ow < s->ow; ow++) {
        const pool_window pw = pool_window_at(s, oh, ow);
        float *yo = yrow + (size_t)ow * C;
        if (pool_window_empty(&pw)) { /* window entirely in the padding */
            for (int c = c0; c < C && c < c0 + nb * 16; c++) yo[c] = relu ? 0.0f : -INFINITY;
            continue;
        }
        __m512 mx[4], mn[4];
        _Pragma("GCC unroll 4") for (int v = 0; v < nb; v++) {
            mx[v] = cmx[pw.w0 + pw.kw0][v];
            if (with_min) mn[v] = cmn[pw.w0 + pw.kw0][v];
        }
        for (int kw = pw.kw0 + 1; kw < pw.kw1; kw++)
            _Pragma("GCC unroll 4") for (int v = 0; v < nb; v++) {
                mx[v] = _mm512_max_ps(mx[v], cmx[pw.w0 + kw][v]);
                if (with_min) mn[v] = _mm512_min_ps(mn[v], cmn[pw.w0 + kw][v]);
            }
        _Pragma("GCC unroll 4") for (int v = 0; v < nb; v++) {
            __m512 res = mx[v];
            if (a) res = _mm512_fmadd_ps(with_min ? _mm512_mask_mov_ps(mx[v], neg[v], mn[v]) : mx[v], av[v], bv[v]);
            if (relu) res = _mm512_max_ps(res, _mm512_setzero_ps());
            _mm512_mask_storeu_ps(yo + c0 + 16 * v, m[v], res);
        }
    }
}


#define POOL_FN dacc_f32_maxpool_affine__avx512
#define POOL_VL 16
#define POOL_MASK_T __mmask16
#define POOL_LANES(n) pool_lanes16(n)
#include "f32-maxpool/f32-maxpool-affine-driver.h"

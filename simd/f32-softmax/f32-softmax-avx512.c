/* Row-wise softmax, 16 lanes along the row (masked tail; k = 10 is one
 * masked vector). exp from SLEEF's fixed-ISA u1.0 routine when available,
 * else a degree-7 polynomial on the reduced argument (~2 ulp). */
#include "dacc/kernels.h"
#include <immintrin.h>
#include <math.h>
#if defined(DACC_HAVE_SLEEF)
#include <sleef.h>
#endif

static inline __m512 exp16(__m512 x) {
#if defined(DACC_HAVE_SLEEF)
    return Sleef_expf16_u10avx512f(x);
#else
    /* exp(x) = 2^n * exp(r), n = round(x / ln 2), |r| <= ln2 / 2 */
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.0f)), _mm512_set1_ps(-87.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145752f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860677e-6f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
#endif
}

void dacc_f32_softmax__avx512(size_t rows, int k, const float *x, float *y) {
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * (size_t)k;
        float *yr = y + r * (size_t)k;
        __m512 vm = ninf;
        for (int j = 0; j < k; j += 16) {
            __mmask16 t = k - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (k - j)) - 1u);
            vm = _mm512_max_ps(vm, _mm512_mask_loadu_ps(ninf, t, xr + j));
        }
        const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(vm));
        __m512 vs = _mm512_setzero_ps();
        for (int j = 0; j < k; j += 16) {
            __mmask16 t = k - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (k - j)) - 1u);
            __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(t, xr + j), m));
            vs = _mm512_mask_add_ps(vs, t, vs, e);
            _mm512_mask_storeu_ps(yr + j, t, e);
        }
        const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vs));
        for (int j = 0; j < k; j += 16) {
            __mmask16 t = k - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (k - j)) - 1u);
            _mm512_mask_storeu_ps(yr + j, t, _mm512_mul_ps(_mm512_maskz_loadu_ps(t, yr + j), inv));
        }
    }
}

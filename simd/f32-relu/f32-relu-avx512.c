/* ReLU forward/backward, 16 lanes, masked tail. max(x, 0) with x first
 * gives 0 for NaN and -0, exactly as the scalar reference. */
#include "dacc/kernels.h"
#include <immintrin.h>

static inline __mmask16 tail16(size_t r) { return (__mmask16)((1u << r) - 1u); }

void dacc_f32_relu_fwd__avx512(size_t n, const float *x, float *y) {
    const __m512 zero = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512 a = _mm512_loadu_ps(x + i), b = _mm512_loadu_ps(x + i + 16);
        __m512 c = _mm512_loadu_ps(x + i + 32), d = _mm512_loadu_ps(x + i + 48);
        _mm512_storeu_ps(y + i, _mm512_max_ps(a, zero));
        _mm512_storeu_ps(y + i + 16, _mm512_max_ps(b, zero));
        _mm512_storeu_ps(y + i + 32, _mm512_max_ps(c, zero));
        _mm512_storeu_ps(y + i + 48, _mm512_max_ps(d, zero));
    }
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_max_ps(_mm512_loadu_ps(x + i), zero));
    if (i < n) {
        __mmask16 m = tail16(n - i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_max_ps(_mm512_maskz_loadu_ps(m, x + i), zero));
    }
}

void dacc_f32_relu_bwd__avx512(size_t n, const float *y, const float *dy, float *dx) {
    const __m512 zero = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __mmask16 k0 = _mm512_cmp_ps_mask(_mm512_loadu_ps(y + i), zero, _CMP_GT_OQ);
        __mmask16 k1 = _mm512_cmp_ps_mask(_mm512_loadu_ps(y + i + 16), zero, _CMP_GT_OQ);
        _mm512_storeu_ps(dx + i, _mm512_maskz_loadu_ps(k0, dy + i));
        _mm512_storeu_ps(dx + i + 16, _mm512_maskz_loadu_ps(k1, dy + i + 16));
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : tail16(n - i);
        __mmask16 k = _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, y + i), zero, _CMP_GT_OQ);
        _mm512_mask_storeu_ps(dx + i, m, _mm512_maskz_loadu_ps(k, dy + i));
    }
}

/* uint8 -> float normalisation, 16 lanes, masked tail. Uses one FMA
 * (a single rounding; the scalar reference may round twice). */
#include "dacc/kernels.h"
#include <immintrin.h>

void dacc_u8_normalize__avx512(size_t n, const uint8_t *x, float scale, float shift, float *y) {
    const __m512 vs = _mm512_set1_ps(scale), vb = _mm512_set1_ps(shift);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i b = _mm256_loadu_si256((const __m256i *)(x + i));
        __m512 lo = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm256_castsi256_si128(b)));
        __m512 hi = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm256_extracti128_si256(b, 1)));
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(lo, vs, vb));
        _mm512_storeu_ps(y + i + 16, _mm512_fmadd_ps(hi, vs, vb));
    }
    for (; i < n; i += 16) {
        __mmask16 t = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1u);
        __m512 v = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(t, x + i)));
        _mm512_mask_storeu_ps(y + i, t, _mm512_fmadd_ps(v, vs, vb));
    }
}

/* uint8 -> float normalisation, 8 lanes, remainder loop. Uses one FMA
 * (a single rounding; the scalar reference may round twice). */
#include "dacc/kernels.h"
#include <immintrin.h>
#include <math.h>

void dacc_u8_normalize__avx2(size_t n, const uint8_t *x, float scale, float shift, float *y) {
    const __m256 vs = _mm256_set1_ps(scale), vb = _mm256_set1_ps(shift);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i b = _mm_loadu_si128((const __m128i *)(x + i));
        __m256 lo = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b));
        __m256 hi = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(b, 8)));
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(lo, vs, vb));
        _mm256_storeu_ps(y + i + 8, _mm256_fmadd_ps(hi, vs, vb));
    }
    for (; i < n; i++) y[i] = fmaf((float)x[i], scale, shift);
}

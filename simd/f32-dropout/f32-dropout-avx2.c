/* Inverted dropout apply, 8 lanes: mask bytes widened to 32-bit lanes and
 * compared with zero; a dropped lane is zeroed even if x is NaN or inf. */
#include "dacc/kernels.h"
#include <immintrin.h>

void dacc_f32_dropout__avx2(size_t n, const float *x, const uint8_t *mask, float scale,
                            float *y) {
    const __m256 vs = _mm256_set1_ps(scale);
    const __m256i zero = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i mb = _mm_loadl_epi64((const __m128i *)(mask + i));
        __m256i drop = _mm256_cmpeq_epi32(_mm256_cvtepu8_epi32(mb), zero);
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), vs);
        _mm256_storeu_ps(y + i, _mm256_andnot_ps(_mm256_castsi256_ps(drop), v));
    }
    for (; i < n; i++) y[i] = mask[i] ? x[i] * scale : 0.0f;
}

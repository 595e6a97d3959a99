/* ReLU forward/backward, 8 lanes, scalar remainder. max(x, 0) with x first
 * gives 0 for NaN and -0, exactly as the scalar reference. */
#include "dacc/kernels.h"
#include <immintrin.h>

void dacc_f32_relu_fwd__avx2(size_t n, const float *x, float *y) {
    const __m256 zero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
        __m256 c = _mm256_loadu_ps(x + i + 16), d = _mm256_loadu_ps(x + i + 24);
        _mm256_storeu_ps(y + i, _mm256_max_ps(a, zero));
        _mm256_storeu_ps(y + i + 8, _mm256_max_ps(b, zero));
        _mm256_storeu_ps(y + i + 16, _mm256_max_ps(c, zero));
        _mm256_storeu_ps(y + i + 24, _mm256_max_ps(d, zero));
    }
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_max_ps(_mm256_loadu_ps(x + i), zero));
    for (; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void dacc_f32_relu_bwd__avx2(size_t n, const float *y, const float *dy, float *dx) {
    const __m256 zero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 k0 = _mm256_cmp_ps(_mm256_loadu_ps(y + i), zero, _CMP_GT_OQ);
        __m256 k1 = _mm256_cmp_ps(_mm256_loadu_ps(y + i + 8), zero, _CMP_GT_OQ);
        _mm256_storeu_ps(dx + i, _mm256_and_ps(k0, _mm256_loadu_ps(dy + i)));
        _mm256_storeu_ps(dx + i + 8, _mm256_and_ps(k1, _mm256_loadu_ps(dy + i + 8)));
    }
    for (; i + 8 <= n; i += 8) {
        __m256 k = _mm256_cmp_ps(_mm256_loadu_ps(y + i), zero, _CMP_GT_OQ);
        _mm256_storeu_ps(dx + i, _mm256_and_ps(k, _mm256_loadu_ps(dy + i)));
    }
    for (; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

/* Inverted dropout apply, 16 lanes: the mask bytes become a k-mask
 * (vptestmb), dropped lanes are zeroed by the masked multiply. */
#include "dacc/kernels.h"
#include <immintrin.h>

void dacc_f32_dropout__avx512(size_t n, const float *x, const uint8_t *mask, float scale,
                              float *y) {
    const __m512 vs = _mm512_set1_ps(scale);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i mb = _mm256_loadu_si256((const __m256i *)(mask + i));
        __mmask32 k = _mm256_test_epi8_mask(mb, mb);
        _mm512_storeu_ps(y + i, _mm512_maskz_mul_ps((__mmask16)k, _mm512_loadu_ps(x + i), vs));
        _mm512_storeu_ps(y + i + 16,
                         _mm512_maskz_mul_ps((__mmask16)(k >> 16), _mm512_loadu_ps(x + i + 16), vs));
    }
    for (; i < n; i += 16) {
        __mmask16 t = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1u);
        __m128i mb = _mm_maskz_loadu_epi8(t, mask + i);
        __mmask16 k = _mm_test_epi8_mask(mb, mb);
        _mm512_mask_storeu_ps(y + i, t, _mm512_maskz_mul_ps(k, _mm512_maskz_loadu_ps(k, x + i), vs));
    }
}

/* Adam step, 16 lanes, masked tail; the reference's order of operations
 * (true sqrt and division, no reciprocal estimates) so runs track it. */
#include "dacc/kernels.h"
#include <immintrin.h>
#include <math.h>

void dacc_f32_adam__avx512(size_t n, float *p, const float *g, float *m, float *v,
                           const dacc_adam_args *a) {
    const __m512 b1 = _mm512_set1_ps(a->beta1), c1 = _mm512_set1_ps(1.0f - a->beta1);
    const __m512 b2 = _mm512_set1_ps(a->beta2), c2 = _mm512_set1_ps(1.0f - a->beta2);
    const __m512 step = _mm512_set1_ps(a->lr / a->bc1), bc2s = _mm512_set1_ps(sqrtf(a->bc2));
    const __m512 eps = _mm512_set1_ps(a->eps);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 t = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1u);
        __m512 gv = _mm512_maskz_loadu_ps(t, g + i);
        __m512 mv = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(t, m + i), b1, _mm512_mul_ps(gv, c1));
        __m512 vv = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(t, v + i), b2,
                                    _mm512_mul_ps(_mm512_mul_ps(gv, gv), c2));
        __m512 den = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vv), bc2s), eps);
        __m512 pv = _mm512_fnmadd_ps(step, _mm512_div_ps(mv, den), _mm512_maskz_loadu_ps(t, p + i));
        _mm512_mask_storeu_ps(m + i, t, mv);
        _mm512_mask_storeu_ps(v + i, t, vv);
        _mm512_mask_storeu_ps(p + i, t, pv);
    }
}

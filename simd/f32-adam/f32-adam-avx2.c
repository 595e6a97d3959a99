/* Adam step, 8 lanes, remainder loop; the reference's order of operations
 * (true sqrt and division, no reciprocal estimates) so runs track it. */
#include "dacc/kernels.h"
#include <immintrin.h>
#include <math.h>

void dacc_f32_adam__avx2(size_t n, float *p, const float *g, float *m, float *v,
                         const dacc_adam_args *a) {
    const float sstep = a->lr / a->bc1, sbc2s = sqrtf(a->bc2);
    const __m256 b1 = _mm256_set1_ps(a->beta1), c1 = _mm256_set1_ps(1.0f - a->beta1);
    const __m256 b2 = _mm256_set1_ps(a->beta2), c2 = _mm256_set1_ps(1.0f - a->beta2);
    const __m256 step = _mm256_set1_ps(sstep), bc2s = _mm256_set1_ps(sbc2s);
    const __m256 eps = _mm256_set1_ps(a->eps);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gv = _mm256_loadu_ps(g + i);
        __m256 mv = _mm256_fmadd_ps(_mm256_loadu_ps(m + i), b1, _mm256_mul_ps(gv, c1));
        __m256 vv = _mm256_fmadd_ps(_mm256_loadu_ps(v + i), b2,
                                    _mm256_mul_ps(_mm256_mul_ps(gv, gv), c2));
        __m256 den = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vv), bc2s), eps);
        __m256 pv = _mm256_fnmadd_ps(step, _mm256_div_ps(mv, den), _mm256_loadu_ps(p + i));
        _mm256_storeu_ps(m + i, mv);
        _mm256_storeu_ps(v + i, vv);
        _mm256_storeu_ps(p + i, pv);
    }
    for (; i < n; i++) {
        m[i] = m[i] * a->beta1 + g[i] * (1.0f - a->beta1);
        v[i] = v[i] * a->beta2 + g[i] * g[i] * (1.0f - a->beta2);
        float denom = sqrtf(v[i]) / sbc2s + a->eps;
        p[i] -= sstep * (m[i] / denom);
    }
}

/* Row-wise softmax, 8 lanes along the row (maskload tail; k = 10 is one
 * full and one masked vector). exp from SLEEF's fixed-ISA u1.0 routine when
 * available, else a degree-7 polynomial on the reduced argument (~2 ulp). */
#include "dacc/kernels.h"
#include "avx2-lanes.h"
#include <immintrin.h>
#include <math.h>
#if defined(DACC_HAVE_SLEEF)
#include <sleef.h>
#endif

static inline __m256 exp8(__m256 x) {
#if defined(DACC_HAVE_SLEEF)
    return Sleef_expf8_u10avx2(x);
#else
    /* exp(x) = 2^n * exp(r), n = round(x / ln 2), |r| <= ln2 / 2 */
    x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.0f)), _mm256_set1_ps(-87.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145752f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.42860677e-6f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_cvtps_epi32(n), 23);
    return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), e));
#endif
}

static inline float hmax(__m256 v) {
    __m128 a = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_max_ps(a, _mm_movehl_ps(a, a));
    a = _mm_max_ss(a, _mm_movehdup_ps(a));
    return _mm_cvtss_f32(a);
}

static inline float hsum(__m256 v) {
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_add_ps(a, _mm_movehl_ps(a, a));
    a = _mm_add_ss(a, _mm_movehdup_ps(a));
    return _mm_cvtss_f32(a);
}

void dacc_f32_softmax__avx2(size_t rows, int k, const float *x, float *y) {
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * (size_t)k;
        float *yr = y + r * (size_t)k;
        __m256 vm = ninf;
        int j = 0;
        for (; j + 8 <= k; j += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(xr + j));
        if (j < k) vm = _mm256_max_ps(vm, _mm256_blendv_ps(ninf, _mm256_maskload_ps(xr + j, avx2_lanes(k - j)),
                                                         _mm256_castsi256_ps(avx2_lanes(k - j))));
        const __m256 m = _mm256_set1_ps(hmax(vm));
        __m256 vs = _mm256_setzero_ps();
        for (j = 0; j + 8 <= k; j += 8) {
            __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(xr + j), m));
            vs = _mm256_add_ps(vs, e);
            _mm256_storeu_ps(yr + j, e);
        }
        if (j < k) {
            __m256i t = avx2_lanes(k - j);
            __m256 e = exp8(_mm256_sub_ps(_mm256_maskload_ps(xr + j, t), m));
            e = _mm256_and_ps(e, _mm256_castsi256_ps(t));
            vs = _mm256_add_ps(vs, e);
            _mm256_maskstore_ps(yr + j, t, e);
        }
        const __m256 inv = _mm256_set1_ps(1.0f / hsum(vs));
        for (j = 0; j + 8 <= k; j += 8) _mm256_storeu_ps(yr + j, _mm256_mul_ps(_mm256_loadu_ps(yr + j), inv));
        if (j < k) {
            __m256i t = avx2_lanes(k - j);
            _mm256_maskstore_ps(yr + j, t, _mm256_mul_ps(_mm256_maskload_ps(yr + j, t), inv));
        }
    }
}

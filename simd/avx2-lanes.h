/* Channel-tail masks of the AVX2 kernels (include from files compiled with
 * AVX2 flags). AVX2 has no mask registers: a lane mask is a vector of
 * all-ones / zero ints for vmaskmovps, which on AMD is slower than a plain
 * move (the store much slower), so kernels use it only for a tail. */
#ifndef DACC_AVX2_LANES_H
#define DACC_AVX2_LANES_H
#include <immintrin.h>
#include <stdint.h>

/* The first n of 8 lanes (n clipped to 0..8). */
static inline __m256i avx2_lanes(int n) {
    static const int32_t tab[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    if (n <= 0) return _mm256_setzero_si256();
    return _mm256_loadu_si256((const __m256i *)(tab + 8 - (n >= 8 ? 8 : n)));
}

/* The lanes of m from p (others zero); full (m is every lane; a constant
 * where the caller is inlined) loads plainly. */
static inline __attribute__((always_inline)) __m256 avx2_load_m(const float *p, __m256i m, const int full) {
    return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, m);
}
#endif

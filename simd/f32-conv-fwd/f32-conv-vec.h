/* Vector layer shared by the x86 convolution kernels: the same templates
 * (f32-conv-igemm.h, f32-conv-winograd.h and the backward templates) are compiled once per ISA. Define
 * DACC_CONV_AVX512 or DACC_CONV_AVX2 before including; the file that includes
 * this is compiled with that ISA's flags (CMake picks them by file name). */
#ifndef DACC_F32_CONV_VEC_H
#define DACC_F32_CONV_VEC_H
#include <immintrin.h>
#include <stddef.h>

#define CONV_INLINE static inline __attribute__((always_inline))

#if defined(DACC_CONV_AVX512)
typedef __m512 vf;
#define VL 16
CONV_INLINE vf v_zero(void) { return _mm512_setzero_ps(); }
CONV_INLINE vf v_load(const float *p) { return _mm512_loadu_ps(p); }
CONV_INLINE void v_store(float *p, vf v) { _mm512_storeu_ps(p, v); }
/* n valid lanes, 1 <= n <= VL; lanes past n are not touched in memory. */
CONV_INLINE __mmask16 v_mask(int n) { return (__mmask16)((1u << n) - 1u); }
CONV_INLINE vf v_loadn(const float *p, int n) { return _mm512_maskz_loadu_ps(v_mask(n), p); }
CONV_INLINE void v_storen(float *p, vf v, int n) { _mm512_mask_storeu_ps(p, v_mask(n), v); }
/* Folded by GCC into the FMA's embedded broadcast operand ({1to16}). */
CONV_INLINE vf v_bcast(const float *p) { return _mm512_set1_ps(*p); }
CONV_INLINE vf v_fma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
CONV_INLINE vf v_add(vf a, vf b) { return _mm512_add_ps(a, b); }
CONV_INLINE vf v_sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
CONV_INLINE vf v_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
CONV_INLINE vf v_set1(float f) { return _mm512_set1_ps(f); }
CONV_INLINE vf v_max(vf a, vf b) { return _mm512_max_ps(a, b); }
#elif defined(DACC_CONV_AVX2)
typedef __m256 vf;
#define VL 8
CONV_INLINE vf v_zero(void) { return _mm256_setzero_ps(); }
CONV_INLINE vf v_load(const float *p) { return _mm256_loadu_ps(p); }
CONV_INLINE void v_store(float *p, vf v) { _mm256_storeu_ps(p, v); }
CONV_INLINE __m256i v_mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
/* Masked lanes are neither read nor written (no fault past a buffer's end). */
CONV_INLINE vf v_loadn(const float *p, int n) { return _mm256_maskload_ps(p, v_mask(n)); }
CONV_INLINE void v_storen(float *p, vf v, int n) { _mm256_maskstore_ps(p, v_mask(n), v); }
CONV_INLINE vf v_bcast(const float *p) { return _mm256_broadcast_ss(p); }
CONV_INLINE vf v_fma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
CONV_INLINE vf v_add(vf a, vf b) { return _mm256_add_ps(a, b); }
CONV_INLINE vf v_sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
CONV_INLINE vf v_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
CONV_INLINE vf v_set1(float f) { return _mm256_set1_ps(f); }
CONV_INLINE vf v_max(vf a, vf b) { return _mm256_max_ps(a, b); }
#else
#error "define DACC_CONV_AVX512 or DACC_CONV_AVX2"
#endif

CONV_INLINE size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

/* The symbol of an op for the ISA being compiled (CONV_ISA, e.g. avx2):
 * CONV_SYM(dacc_f32_conv_fwd__) is dacc_f32_conv_fwd__avx2. */
#define CONV_CAT_(a, b) a##b
#define CONV_CAT(a, b) CONV_CAT_(a, b)
#define CONV_SYM(base) CONV_CAT(base, CONV_ISA)

#endif

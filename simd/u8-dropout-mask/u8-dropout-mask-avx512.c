/* Dropout masks, eight xoshiro256** streams in the 64-bit lanes of a zmm
 * (the scalar kernel's step, lane by lane); each draw's unsigned compare
 * with keep is an 8-bit k-mask, eight of them are transposed into eight
 * streams' bytes (dropout-mask-bits.h). Streams past a multiple of eight
 * run in the low lanes. */
#include "dacc/kernels.h"
#include "u8-dropout-mask/dropout-mask-bits.h"
#include <immintrin.h>

static inline __m512i mul5(__m512i x) { return _mm512_add_epi64(x, _mm512_slli_epi64(x, 2)); }
static inline __m512i mul9(__m512i x) { return _mm512_add_epi64(x, _mm512_slli_epi64(x, 3)); }

void dacc_u8_dropout_mask__avx512(int streams, const uint64_t *state, size_t n, uint64_t keep,
                                  uint8_t *mask, size_t stride) {
    const __m512i kv = _mm512_set1_epi64((long long)keep);
    const __m512i lane4 = _mm512_setr_epi64(0, 4, 8, 12, 16, 20, 24, 28);
    for (int i0 = 0; i0 < streams; i0 += 8) {
        const int lanes = streams - i0 < 8 ? streams - i0 : 8;
        const __mmask8 lm = (__mmask8)((1u << lanes) - 1u);
        const uint64_t *st = state + 4 * (size_t)i0;
        __m512i s0 = _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), lm, lane4, st, 8);
        __m512i s1 = _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), lm, lane4, st + 1, 8);
        __m512i s2 = _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), lm, lane4, st + 2, 8);
        __m512i s3 = _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), lm, lane4, st + 3, 8);
        uint8_t *m = mask + (size_t)i0 * stride;
        for (size_t j = 0; j < n; j += 8) {
            const int count = n - j < 8 ? (int)(n - j) : 8;
            uint64_t bits = 0;
            for (int t = 0; t < count; t++) {
                const __m512i out = mul9(_mm512_rol_epi64(mul5(s1), 7)), sh = _mm512_slli_epi64(s1, 17);
                s2 = _mm512_xor_si512(s2, s0);
                s3 = _mm512_xor_si512(s3, s1);
                s1 = _mm512_xor_si512(s1, s2);
                s0 = _mm512_xor_si512(s0, s3);
                s2 = _mm512_xor_si512(s2, sh);
                s3 = _mm512_rol_epi64(s3, 45);
                bits |= (uint64_t)_mm512_cmplt_epu64_mask(out, kv) << (8 * t);
            }
            dm_store8(bits, lanes, m, stride, j, count);
        }
    }
}

/* Dropout masks, eight xoshiro256** streams in two ymm of four 64-bit
 * lanes each (the scalar kernel's step; rotations as two shifts, the
 * unsigned compare as a signed one with the sign bits flipped); eight
 * draws' compare bits are transposed into eight streams' bytes
 * (dropout-mask-bits.h). */
#include "dacc/kernels.h"
#include "u8-dropout-mask/dropout-mask-bits.h"
#include <immintrin.h>

#define ROTL(x, k) _mm256_or_si256(_mm256_slli_epi64(x, k), _mm256_srli_epi64(x, 64 - (k)))

typedef struct { __m256i s0, s1, s2, s3; } lanes4;

static inline lanes4 load4(const uint64_t *st, int lanes) {
    uint64_t a[4][4] = {{0}};
    for (int i = 0; i < lanes && i < 4; i++)
        for (int w = 0; w < 4; w++) a[w][i] = st[4 * i + w];
    lanes4 r = {_mm256_loadu_si256((const __m256i *)a[0]), _mm256_loadu_si256((const __m256i *)a[1]),
                _mm256_loadu_si256((const __m256i *)a[2]), _mm256_loadu_si256((const __m256i *)a[3])};
    return r;
}

/* one draw of four streams; returns the 4 compare bits (out < keep) */
static inline unsigned step4(lanes4 *s, __m256i keep_flipped) {
    const __m256i sign = _mm256_set1_epi64x((long long)0x8000000000000000ULL);
    __m256i x = _mm256_add_epi64(s->s1, _mm256_slli_epi64(s->s1, 2));
    x = ROTL(x, 7);
    const __m256i out = _mm256_add_epi64(x, _mm256_slli_epi64(x, 3)), t = _mm256_slli_epi64(s->s1, 17);
    s->s2 = _mm256_xor_si256(s->s2, s->s0);
    s->s3 = _mm256_xor_si256(s->s3, s->s1);
    s->s1 = _mm256_xor_si256(s->s1, s->s2);
    s->s0 = _mm256_xor_si256(s->s0, s->s3);
    s->s2 = _mm256_xor_si256(s->s2, t);
    s->s3 = ROTL(s->s3, 45);
    const __m256i lt = _mm256_cmpgt_epi64(keep_flipped, _mm256_xor_si256(out, sign));
    return (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(lt));
}

void dacc_u8_dropout_mask__avx2(int streams, const uint64_t *state, size_t n, uint64_t keep,
                                uint8_t *mask, size_t stride) {
    const __m256i kf = _mm256_set1_epi64x((long long)(keep ^ 0x8000000000000000ULL));
    for (int i0 = 0; i0 < streams; i0 += 8) {
        const int lanes = streams - i0 < 8 ? streams - i0 : 8;
        const uint64_t *st = state + 4 * (size_t)i0;
        lanes4 a = load4(st, lanes), b = lanes > 4 ? load4(st + 16, lanes - 4) : a;
        uint8_t *m = mask + (size_t)i0 * stride;
        for (size_t j = 0; j < n; j += 8) {
            const int count = n - j < 8 ? (int)(n - j) : 8;
            uint64_t bits = 0;
            for (int t = 0; t < count; t++) {
                unsigned k = step4(&a, kf);
                if (lanes > 4) k |= step4(&b, kf) << 4;
                bits |= (uint64_t)k << (8 * t);
            }
            dm_store8(bits, lanes, m, stride, j, count);
        }
    }
}

/* Reference dropout masks: stream by stream, draw by draw, the
 * xoshiro256** step of dacc_rng_next (engine/core/rng.h), which
 * test_kernels checks this against. */
#include "dacc/kernels.h"

static inline uint64_t rotl(uint64_t x, int k) { return x << k | x >> (64 - k); }

void dacc_u8_dropout_mask__scalar(int streams, const uint64_t *state, size_t n, uint64_t keep,
                                  uint8_t *mask, size_t stride) {
    for (int i = 0; i < streams; i++) {
        uint64_t s0 = state[4 * i], s1 = state[4 * i + 1], s2 = state[4 * i + 2],
                 s3 = state[4 * i + 3];
        uint8_t *m = mask + (size_t)i * stride;
        for (size_t j = 0; j < n; j++) {
            const uint64_t out = rotl(s1 * 5, 7) * 9, t = s1 << 17;
            s2 ^= s0, s3 ^= s1, s1 ^= s2, s0 ^= s3, s2 ^= t, s3 = rotl(s3, 45);
            m[j] = out < keep;
        }
    }
}

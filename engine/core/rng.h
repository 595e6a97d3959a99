/* Counter-based random streams: every stream is derived from (seed, purpose,
 * indices) by hashing, so initialisation, shuffling and dropout are
 * independent, reproducible and do not depend on the thread count or on
 * where a resumed run restarted. */
#ifndef DACC_RNG_H
#define DACC_RNG_H
#include <stdint.h>

typedef struct dacc_rng { uint64_t s[4]; } dacc_rng;

/* Purposes: one per user of randomness, so no two users ever seed from the
 * same (seed, stream, a, b). ALIGN: the AlignMNIST generator and fit;
 * AUGMENT: training-time deformations (augment=align), never ALIGN. */
enum { DACC_STREAM_INIT = 1, DACC_STREAM_SHUFFLE = 2, DACC_STREAM_DROPOUT = 3,
       DACC_STREAM_ALIGN = 4, DACC_STREAM_INSPECT = 5, DACC_STREAM_AUGMENT = 6 };

void dacc_rng_seed(dacc_rng *r, uint64_t seed, uint64_t stream, uint64_t a, uint64_t b);
uint64_t dacc_rng_u64(dacc_rng *r);
/* dacc_rng_u64 inlined, for loops that draw per element (dropout masks):
 * the state stays in registers instead of a call per draw. */
static inline uint64_t dacc_rng_next(dacc_rng *r) {
    uint64_t *s = r->s;
    uint64_t out = ((s[1] * 5) << 7 | (s[1] * 5) >> 57) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t; s[3] = s[3] << 45 | s[3] >> 19;
    return out;
}
double dacc_rng_uniform(dacc_rng *r);           /* [0,1) */
uint32_t dacc_rng_below(dacc_rng *r, uint32_t n); /* [0,n), unbiased */
double dacc_rng_normal(dacc_rng *r);
void dacc_rng_shuffle(dacc_rng *r, int32_t *a, int64_t n);

#endif

/* xoshiro256** seeded through splitmix64 from (seed, stream, a, b). */
#include "core/rng.h"
#include <math.h>

static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void dacc_rng_seed(dacc_rng *r, uint64_t seed, uint64_t stream, uint64_t a, uint64_t b) {
    uint64_t x = seed;
    x = splitmix(&x) ^ stream * 0xd1b54a32d192ed03ULL;
    x = splitmix(&x) ^ a * 0x8cb92ba72f3d8dd7ULL;
    x = splitmix(&x) ^ b * 0xa0761d6478bd642fULL;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix(&x);
}

uint64_t dacc_rng_u64(dacc_rng *r) { return dacc_rng_next(r); }

double dacc_rng_uniform(dacc_rng *r) { return (dacc_rng_u64(r) >> 11) * 0x1.0p-53; }

uint32_t dacc_rng_below(dacc_rng *r, uint32_t n) {
    uint64_t m = (uint64_t)(uint32_t)(dacc_rng_u64(r) >> 32) * n;
    uint32_t lo = (uint32_t)m;
    if (lo < n) {
        uint32_t t = -n % n;
        while (lo < t) {
            m = (uint64_t)(uint32_t)(dacc_rng_u64(r) >> 32) * n;
            lo = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

double dacc_rng_normal(dacc_rng *r) {
    double u = dacc_rng_uniform(r), v = dacc_rng_uniform(r);
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

void dacc_rng_shuffle(dacc_rng *r, int32_t *a, int64_t n) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = dacc_rng_below(r, (uint32_t)(i + 1));
        int32_t t = a[i]; a[i] = a[j]; a[j] = t;
    }
}

/* Float buffers for kernel tests: n floats poisoned with NaN (a read of an
 * element never written shows up in the result) followed by GUARD_FLOATS
 * guard words that must survive the call (an overrun fails). */
#ifndef DACC_TEST_GUARDED_H
#define DACC_TEST_GUARDED_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define GUARD_FLOATS 16
#define GUARD_VALUE 12345.678f

static inline float *alloc_guarded(size_t n) {
    float *p = malloc(sizeof(float) * (n + GUARD_FLOATS));
    if (!p) { fprintf(stderr, "out of memory\n"); exit(2); }
    for (size_t i = 0; i < n; i++) p[i] = NAN;
    for (int g = 0; g < GUARD_FLOATS; g++) p[n + g] = GUARD_VALUE;
    return p;
}

static inline int guards_ok(const float *p, size_t n) {
    for (int g = 0; g < GUARD_FLOATS; g++)
        if (p[n + g] != GUARD_VALUE) return 0;
    return 1;
}

#endif

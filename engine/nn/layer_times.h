/* The clock of the per-layer timers (dacc_layer_times in dacc/model.h). */
#ifndef DACC_NN_LAYER_TIMES_H
#define DACC_NN_LAYER_TIMES_H
#include <time.h>

/* Monotonic seconds; one clock_gettime (vDSO, ~20-30 ns). */
static inline double dacc_lt_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#endif

/* This machine's fp32 FMA peak, measured: 12 independent FMA chains (more
 * than latency 4 x 2 pipes) in registers, no memory traffic, for AVX2 (8
 * lanes) and AVX-512 (16 lanes), on 1..2 threads. `dacc bench` and
 * bench/bench_peak quote kernels against it. */
#ifndef DACC_NN_FMA_PEAK_H
#define DACC_NN_FMA_PEAK_H
#include "dacc/kernels.h"

/* GFLOP/s per core of the ISA's FMA loop over `reps` runs of `iters` x 12
 * FMAs per thread on `threads` (1 or 2) threads: the median run, or the
 * fastest if `best` (a ceiling: on a shared machine every run is a lower
 * bound of it). 0 when the ISA has no FMA loop here (scalar, hwy, neon) or
 * the CPU or build lacks it. */
double dacc_fma_peak(dacc_isa isa, int threads, int reps, long iters, int best);
/* The machine's peak per core: the best of dacc_fma_peak over the ISAs it
 * runs, one thread (0 when none has a loop). */
double dacc_fma_peak_machine(int reps, long iters);
/* Monotonic seconds. */
double dacc_bench_now(void);
/* Sorts n doubles ascending (qsort's comparator for medians). */
void dacc_bench_sort(double *v, int n);

#endif

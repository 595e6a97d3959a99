/* Measures this machine's fp32 FMA peak per core: 12 independent FMA
 * chains (more than latency 4 x 2 pipes) in registers, no memory traffic,
 * for AVX2 (8 lanes) and AVX-512 (16 lanes). Prints the median GFLOP/s over
 * repeats (and the best run), one thread and one thread per core. bench_conv quotes its kernels
 * as a fraction of the same loops (bench_peak.h).
 *
 * usage: bench_peak [repeats]      (default 15) */
#include "bench_peak.h"
#include <stdio.h>

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 15;
    if (reps < 1) reps = 1;
    printf("cpu: %s\n", dacc_cpu_description());
    printf("%-8s %8s %14s %14s %14s\n", "isa", "threads", "GFLOP/s", "per core", "best/core");
    static const dacc_isa isas[] = {DACC_ISA_AVX2, DACC_ISA_AVX512};
    for (int i = 0; i < 2; i++)
        for (int th = 1; th <= 2; th++) {
            double g = peak_per_core(isas[i], th, reps, 5000000L, 0);
            double b = peak_per_core(isas[i], th, reps, 5000000L, 1);
            if (g > 0)
                printf("%-8s %8d %14.1f %14.1f %14.1f\n", dacc_isa_name(isas[i]), th, g * th, g, b);
        }
    return 0;
}

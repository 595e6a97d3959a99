/* Measures this machine's fp32 FMA peak per core (engine/nn/fma_peak.c:
 * 12 independent FMA chains in registers) for AVX2 and AVX-512. Prints the
 * median GFLOP/s over repeats (and the best run), one thread and one
 * thread per core. `dacc bench` quotes its kernels against the same loops.
 *
 * usage: bench_peak [repeats]      (default 15) */
#include "nn/fma_peak.h"
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 15;
    if (reps < 1) reps = 1;
    printf("cpu: %s\n", dacc_cpu_description());
    printf("%-8s %8s %14s %14s %14s\n", "isa", "threads", "GFLOP/s", "per core", "best/core");
    static const dacc_isa isas[] = {DACC_ISA_AVX2, DACC_ISA_AVX512};
    for (int i = 0; i < 2; i++)
        for (int th = 1; th <= 2; th++) {
            double g = dacc_fma_peak(isas[i], th, reps, 5000000L, 0);
            double b = dacc_fma_peak(isas[i], th, reps, 5000000L, 1);
            if (g > 0)
                printf("%-8s %8d %14.1f %14.1f %14.1f\n", dacc_isa_name(isas[i]), th, g * th, g, b);
        }
    return 0;
}

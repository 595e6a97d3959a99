/* Convolution kernels of every ISA on the network's layer shapes: forward
 * (training and evaluation algorithms), backward-data and backward-weights,
 * through the engine's layer bench (engine/nn/layer_bench.c, as `dacc bench`):
 * each result checked against the scalar table, then timed; prints the
 * median and fastest ms, GFLOP/s and % of this machine's FMA peak.
 *
 * usage: bench_conv [-n batch] [-r repeats] [-t threads] [-l layer] [-i isa]
 *   defaults: -n 32 -r 9 -t 1, every conv layer, every supported ISA but scalar */
#include "nn/fma_peak.h"
#include "nn/layer_bench.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int row(void *u, const dacc_bench_row *r) {
    double peak = *(const double *)u, g = r->ok ? r->flops / r->med_s * 1e-9 : 0;
    if (!r->ok)
        printf("%-12s %-11s %-7s WRONG RESULT (rel err %g), not timed\n", r->layer, r->op, dacc_isa_name(r->isa),
               r->rel_err);
    else
        printf("%-12s %-11s %-7s %-11s %2d %8.3f %8.3f %8.1f %5.1f%%\n", r->layer, r->op, dacc_isa_name(r->isa),
               r->algo, r->threads, r->med_s * 1e3, r->best_s * 1e3, g,
               peak > 0 ? 100.0 * g / (peak * r->threads) : 0.0);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    dacc_bench_opts o = {0, NULL, 1, 32, 1, 9, 0.02};
    const char *only_isa = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-n")) o.batch = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-r")) o.reps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-t")) o.threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-l")) o.layer = argv[i + 1];
        else if (!strcmp(argv[i], "-i")) only_isa = argv[i + 1];
        else {
            fprintf(stderr, "usage: %s [-n batch] [-r repeats] [-t threads] [-l layer] [-i isa]\n", argv[0]);
            return 2;
        }
    }
    if (o.batch < 1 || o.reps < 1 || o.reps > 64 || o.threads < 1 || o.threads > 1024) return 2;
    for (int i = 1; i < DACC_ISA_COUNT; i++) o.isas |= 1u << i;
    if (only_isa) {
        dacc_isa isa;
        if (dacc_isa_parse(only_isa, &isa)) return fprintf(stderr, "bench_conv: unknown ISA %s\n", only_isa), 2;
        o.isas = 1u << isa;
    }
    double peak = dacc_fma_peak_machine(15, 1000000L);
    printf("cpu: %s\nbatch %d, median of %d samples of ~20 ms; peak %.1f GFLOP/s per core\n\n",
           dacc_cpu_description(), o.batch, o.reps, peak);
    printf("%-12s %-11s %-7s %-11s %2s %8s %8s %8s %6s\n", "layer", "op", "isa", "algo", "th", "med ms", "best ms",
           "GFLOP/s", "%peak");
    dacc_err e;
    if (dacc_layer_bench(&o, row, &peak, &e)) {
        fprintf(stderr, "bench_conv: %s\n", e.msg);
        return 1;
    }
    return 0;
}

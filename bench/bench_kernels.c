/* Every op of the kernel table, every implementation this CPU runs, at the
 * network's sizes, through the engine's layer bench (engine/nn/layer_bench.c,
 * as `dacc bench`): each kernel checked against the scalar table on the same
 * inputs (not timed if it disagrees), warmed up, timed over repeats; prints
 * the median time per call, GFLOP/s (convolutions) or GB/s (the bytes the op
 * must read and write once), and the speed-up over scalar.
 *
 * usage: bench_kernels [layer-substring] [batch]   e.g. bench_kernels pool 64
 *   default batch 64, 1 thread */
#include "nn/layer_bench.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct last { char layer[32], op[16]; double scalar_s; } last;

static int row(void *u, const dacc_bench_row *r) {
    last *l = u;
    if (strcmp(l->layer, r->layer) || strcmp(l->op, r->op)) {
        snprintf(l->layer, sizeof l->layer, "%s", r->layer);
        snprintf(l->op, sizeof l->op, "%s", r->op);
        l->scalar_s = 0;
    }
    if (r->isa == DACC_ISA_SCALAR && r->ok) l->scalar_s = r->med_s;
    char rate[32] = "WRONG, not timed";
    if (r->ok && r->flops > 0) snprintf(rate, sizeof rate, "%8.1f GFLOP/s", r->flops / r->med_s * 1e-9);
    else if (r->ok) snprintf(rate, sizeof rate, "%8.1f GB/s", r->bytes / r->med_s * 1e-9);
    printf("| %-16s | %-11s | %-22s | %-7s | %10.1f | %-17s | %6.1fx |\n", r->layer, r->op, r->shape,
           dacc_isa_name(r->isa), r->ok ? r->med_s * 1e6 : 0, rate,
           r->ok && l->scalar_s > 0 ? l->scalar_s / r->med_s : 0);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    dacc_bench_opts o = {0, argc > 1 ? argv[1] : NULL, 0, argc > 2 ? atoi(argv[2]) : 64, 1, 7, 0.002};
    if (o.batch < 1 || o.batch > 4096) return fprintf(stderr, "usage: %s [layer-substring] [batch]\n", argv[0]), 2;
    for (int i = 0; i < DACC_ISA_COUNT; i++) o.isas |= 1u << i;
    printf("cpu: %s\n\n", dacc_cpu_description());
    printf("| %-16s | %-11s | %-22s | %-7s | %10s | %-17s | %7s |\n", "layer", "op", "size", "isa", "median us",
           "rate", "vs scalar");
    printf("|---|---|---|---|---:|---:|---:|\n");
    last l = {"", "", 0};
    dacc_err e;
    if (dacc_layer_bench(&o, row, &l, &e)) {
        fprintf(stderr, "bench_kernels: %s\n", e.msg);
        return 1;
    }
    return 0;
}

/* Times every op of every layer of the network (the union of the six
 * presets' layers, plus the input normalisation, the softmax of the loss
 * and the Adam step) with each kernel table this CPU runs: each op's result
 * is first checked against the scalar table on the same inputs (not timed
 * when it disagrees), then it is warmed up and timed over repeats. The
 * batch is split by images over a thread pool as the engine splits it.
 * `dacc bench` and bench/bench_conv print its rows. */
#ifndef DACC_NN_LAYER_BENCH_H
#define DACC_NN_LAYER_BENCH_H
#include "dacc/err.h"
#include "dacc/kernels.h"

typedef struct dacc_bench_opts {
    unsigned isas;      /* bit i: ISA i; those the CPU lacks are skipped */
    const char *layer;  /* only layers whose name contains this, or NULL */
    int conv_only;      /* only convolution layers */
    int batch, threads, reps;
    double sample_s;    /* about this long per timed sample */
} dacc_bench_opts;

typedef struct dacc_bench_row {
    char layer[32], op[16], shape[48];
    dacc_isa isa;
    const char *algo;   /* dacc_conv_algo_name, or "-" */
    int threads;
    double rel_err;     /* max |out - scalar| / max |scalar| */
    int ok;             /* rel_err within bounds: timed */
    double med_s, best_s;
    double flops, bytes; /* per call; 0 where it does not apply */
} dacc_bench_row;

/* Called once per (layer, op, ISA); a non-zero return stops the bench. */
typedef int dacc_bench_emit(void *user, const dacc_bench_row *r);

/* 0, or -1 with e set (out of memory, no layer matches). */
int dacc_layer_bench(const dacc_bench_opts *o, dacc_bench_emit *emit, void *user, dacc_err *e);
/* "direct", "winograd-f2", "winograd-f4", "winograd-f5", "winograd-f6",
 * each also with "poly-" in front (conv_ops.h); "?" for no algorithm. */
const char *dacc_conv_algo_name(dacc_conv_algo a);

#endif

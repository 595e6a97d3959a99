/* Shared parts of bench/bench_network.c: the data it trains on, the
 * trainer that steps a model through it, clocks, memory probes and medians
 * (network_common.c), and the per-layer breakdown (network_breakdown.c). */
#ifndef DACC_BENCH_NETWORK_H
#define DACC_BENCH_NETWORK_H
#include <stddef.h>
#include <stdint.h>

#include "dacc/model.h"
#include "nn/fma_peak.h"
#define bench_now dacc_bench_now

typedef struct dataset {
    uint8_t *pixels, *labels;
    int64_t n;
    int random;
    char source[512];
} dataset;

typedef struct trainer {
    dacc_model *m;
    const dataset *d;
    int batch;
    int64_t cursor, step;
} trainer;

/* MNIST's training images from dir (or the cache), or random images with
 * MNIST's look when MNIST is missing and dir is NULL, or if force_random. */
int net_load_data(const char *dir, int force_random, dataset *d);
/* A "Key:" field of /proc/self/status in kB (VmRSS, VmHWM), -1 if absent. */
long net_status_kb(const char *key);
/* Process CPU time in seconds. */
double net_cpu_now(void);
/* getrusage's ru_maxrss in kB. */
long net_maxrss_kb(void);
/* Bytes of the model's arenas (parameters, Adam moments, activations, scratch). */
size_t net_model_bytes(const dacc_model *m);
/* Median of v[0..n) (v is left as it is). */
double net_median(const double *v, int n);
/* One training step on the next batch; returns the loss. */
double net_train_step(trainer *t);
/* Trains for at least `seconds` (and at least one step); images/s on the
 * wall clock. *cpu_ips (if not NULL): images per second of process CPU time
 * per thread, i.e. the rate had the threads never been descheduled. */
double net_train_for(trainer *t, double seconds, long *steps_out, double *cpu_ips);
/* The same for eval-mode forward passes of `batch` images on m. */
double net_infer_for(dacc_model *m, const dataset *d, int batch, double seconds, long *steps_out,
                     double *cpu_ips);
/* Prints the per-layer table of a training step (infer = 0) or of an
 * eval-mode forward pass (infer = 1) of t->batch images on t->m: `reps`
 * samples of `seconds` each. */
void net_breakdown(trainer *t, int infer, int reps, double seconds);

#endif

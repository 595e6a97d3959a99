/* bench_network's data, trainer, clocks, memory probes and medians
 * (declared in network.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "network.h"
#include "nn/model_internal.h"
#include "dacc/data.h"
#include "core/threadpool.h"

/* ---------------------------------------------------------------- data */

static uint64_t xs(uint64_t *s) {
    *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17;
    return *s;
}

/* MNIST training images, or random images with MNIST's look (about 80%
 * background, strokes of random grey) when MNIST is not there. */
int net_load_data(const char *dir, int force_random, dataset *d) {
    memset(d, 0, sizeof *d);
    if (!force_random) {
        char path[400];
        dacc_err e;
        dacc_images tr = {0};
        if (dacc_data_resolve(dir, 0, path, sizeof path, &e) == 0 &&
            dacc_mnist_load(path, &tr, NULL, &e) == 0) {
            d->pixels = tr.pixels;
            d->labels = tr.labels;
            d->n = tr.n;
            snprintf(d->source, sizeof d->source, "MNIST training set, %s (%lld images)", path,
                     (long long)tr.n);
            return 0;
        }
        fprintf(stderr, "bench_network: MNIST not available (%s); using random images\n", e.msg);
        if (dir) return -1;
    }
    d->n = 8192;
    d->random = 1;
    d->pixels = malloc((size_t)d->n * 784);
    d->labels = malloc((size_t)d->n);
    if (!d->pixels || !d->labels) return -1;
    uint64_t s = 0x243f6a8885a308d3ull;
    for (size_t i = 0; i < (size_t)d->n * 784; i++) {
        uint64_t r = xs(&s);
        d->pixels[i] = (r & 0xff) < 205 ? 0 : (uint8_t)(r >> 8);
    }
    for (int64_t i = 0; i < d->n; i++) d->labels[i] = (uint8_t)(xs(&s) % 10);
    snprintf(d->source, sizeof d->source, "random images (%lld)", (long long)d->n);
    return 0;
}

/* ---------------------------------------------------------------- memory */

long net_status_kb(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, kl) && line[kl] == ':') {
            v = atol(line + kl + 1);
            break;
        }
    fclose(f);
    return v;
}

double net_cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

long net_maxrss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

size_t net_model_bytes(const dacc_model *m) {
    size_t acts = 0;
    for (int i = 0; i < m->n_acts; i++) acts += m->act_size[i] * (size_t)m->max_batch;
    int th = dacc_pool_threads(m->pool);
    return sizeof(float) * (4 * m->n_params + m->n_buffers + 2 * acts + m->n_stats +
                            (m->scratch_per_thread + m->kscratch_per_thread) * th) +
           m->aux_per_image * m->max_batch + sizeof(double) * 256 * th;
}

/* ---------------------------------------------------------------- timing */

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
double net_median(const double *v, int n) {
    double *c = malloc(sizeof(double) * n);
    memcpy(c, v, sizeof(double) * n);
    qsort(c, n, sizeof(double), cmp_d);
    double r = n % 2 ? c[n / 2] : 0.5 * (c[n / 2 - 1] + c[n / 2]);
    free(c);
    return r;
}

double net_train_step(trainer *t) {
    if (t->cursor + t->batch > t->d->n) t->cursor = 0;
    const uint8_t *x = t->d->pixels + (size_t)t->cursor * 784, *y = t->d->labels + t->cursor;
    t->cursor += t->batch;
    dacc_model_forward(t->m, x, t->batch, 1, 0x5eed0000ull + (uint64_t)t->step++);
    double loss = dacc_model_loss(t->m, y, t->batch, 0, NULL);
    dacc_model_backward(t->m, t->batch);
    dacc_model_adam_step(t->m, 1e-3f);
    return loss;
}

double net_train_for(trainer *t, double seconds, long *steps_out, double *cpu_ips) {
    long steps = 0;
    double t0 = bench_now(), c0 = net_cpu_now(), el;
    do {
        net_train_step(t);
        steps++;
    } while ((el = bench_now() - t0) < seconds);
    if (steps_out) *steps_out = steps;
    if (cpu_ips) *cpu_ips = steps * (double)t->batch / ((net_cpu_now() - c0) / dacc_pool_threads(t->m->pool));
    return steps * (double)t->batch / el;
}

double net_infer_for(dacc_model *m, const dataset *d, int batch, double seconds, long *steps_out,
                     double *cpu_ips) {
    long steps = 0;
    int64_t cur = 0;
    double t0 = bench_now(), c0 = net_cpu_now(), el;
    volatile float sink = 0;
    do {
        if (cur + batch > d->n) cur = 0;
        const float *z = dacc_model_forward(m, d->pixels + (size_t)cur * 784, batch, 0, 0);
        sink += z[0];
        cur += batch;
        steps++;
    } while ((el = bench_now() - t0) < seconds);
    (void)sink;
    if (steps_out) *steps_out = steps;
    if (cpu_ips) *cpu_ips = steps * (double)batch / ((net_cpu_now() - c0) / dacc_pool_threads(m->pool));
    return steps * (double)batch / el;
}

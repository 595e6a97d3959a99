/* Timing of the AlignMNIST generator: one 28x28 warp (field setup and
 * integration separately), one block of 60000 images, and a class-model fit
 * for a given pair count. Checks results before timing; prints medians.
 *
 *   bench_align [--data DIR] [--model FILE] [--pairs N] [--threads T] [--reps R]
 *
 * MNIST comes from --data or the cache (never fetched here); the model from
 * --model, else the shipped engine/align/alignclass-4x4.bin, else a fit with
 * --pairs pairs per class (which is then timed too). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dacc/align.h"
#include "dacc/data.h"
#include "core/threadpool.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The fit, always timed for --pairs (small by default). */
static int time_fit(const dacc_images *train, int pairs, int threads, dacc_align_model *fitted) {
    dacc_err e;
    dacc_align_settings s;
    dacc_align_settings_default(&s);
    s.pairs_per_class = pairs;
    double t0 = now_s(), c0 = cpu_s();
    if (dacc_align_model_fit(&s, train, threads, 0, fitted, &e)) {
        fprintf(stderr, "bench_align: %s\n", e.msg);
        return 1;
    }
    double tfit = now_s() - t0, cfit = cpu_s() - c0;
    printf("fit: %d pairs/class x 10 classes: wall %.2f s on %d threads, cpu %.2f s = %.1f ms cpu per pair;\n"
           "     1000 pairs/class: ~%.0f s wall at this load, ~%.0f s on %d idle cores\n",
           pairs, tfit, threads, cfit, 1000 * cfit / (10.0 * pairs), tfit * 1000.0 / pairs,
           cfit * 1000.0 / pairs / threads, threads);
    return 0;
}

/* One warp: field setup (A = B theta, 64 expm) and the integration+sampling,
 * checked first (theta = 0 is the identity). */
static int time_warp(const dacc_align_model *m, const dacc_images *train, int nr) {
    dacc_err e;
    dacc_cpab t;
    dacc_cpab_field f;
    dacc_cpab_init(&t, m->fit.nx, m->fit.ny, m->fit.zero_boundary, &e);
    dacc_cpab_field_init(&f, &t, m->fit.nsteps, m->fit.nsub, &e);
    double theta[62 * 2] = {0};
    uint8_t out[784];
    dacc_cpab_field_set(&f, theta, 1.0);
    dacc_cpab_warp_u8(&f, train->pixels, 28, 28, out, NULL);
    int rc = 0;
    if (memcmp(out, train->pixels, 784)) {
        fprintf(stderr, "bench_align: theta = 0 is not the identity\n");
        rc = 1;
    }
    enum { NW = 2000 };
    /* every image its own sample, as in generation: a repeated theta would
     * let the branch predictor learn the crossing pattern and flatter us */
    double tw[16], cw[16];
    for (int r = 0; r < nr && !rc; r++) {
        double a = now_s(), ca = cpu_s();
        for (int i = 0; i < NW; i++) {
            dacc_align_sample(m, train->labels[i], 1.0, 1, (uint64_t)i, 1 + r, theta);
            dacc_cpab_field_set(&f, theta, 1.0);
            dacc_cpab_warp_u8(&f, train->pixels + (size_t)i * 784, 28, 28, out, NULL);
        }
        tw[r] = (now_s() - a) / NW;
        cw[r] = (cpu_s() - ca) / NW;
    }
    if (!rc)
        printf("warp 28x28 (sample, field setup, integrate, interpolate; 1 thread): wall %.1f us, cpu %.1f us\n",
               1e6 * median(tw, nr), 1e6 * median(cw, nr));
    dacc_cpab_field_free(&f);
    dacc_cpab_free(&t);
    return rc;
}

/* One block of the whole training set, checked first (the same on 1 and
 * `threads` threads, and not the input). */
static int time_block(const dacc_align_model *m, const dacc_images *train, int threads, int nr) {
    dacc_err e;
    size_t bytes = (size_t)train->n * 784;
    uint8_t *b1 = malloc(bytes), *b2 = malloc(bytes);
    int rc = 1;
    if (!b1 || !b2) goto done;
    if (dacc_align_generate_block(m, train, 0, 1, 1, 1.0, threads, b1, &e) ||
        dacc_align_generate_block(m, train, 0, 1, 1, 1.0, 1, b2, &e)) {
        fprintf(stderr, "bench_align: %s\n", e.msg);
        goto done;
    }
    if (memcmp(b1, b2, bytes) || !memcmp(b1, train->pixels, bytes)) {
        fprintf(stderr, "bench_align: block not deterministic across threads, or unchanged\n");
        goto done;
    }
    double tb[16], cb[16];
    for (int r = 0; r < nr; r++) {
        double a = now_s(), ca = cpu_s();
        dacc_align_generate_block(m, train, 0, 1 + r, 1, 1.0, threads, b1, &e);
        tb[r] = now_s() - a;
        cb[r] = cpu_s() - ca;
    }
    double mb = median(tb, nr), mc = median(cb, nr);
    printf("block of %lld images: wall %.2f s on %d threads, cpu %.2f s (%.1f us cpu per image);\n"
           "     5 blocks x (60000+10000): ~%.1f s wall at this load, ~%.1f s on %d idle cores\n",
           (long long)train->n, mb, threads, mc, 1e6 * mc / train->n, mb * 5 * 70000.0 / train->n,
           mc * 5 * 70000.0 / train->n / threads, threads);
    rc = 0;
done:
    free(b1);
    free(b2);
    return rc;
}

int main(int argc, char **argv) {
    const char *data = NULL, *model = NULL;
    int pairs = 20, threads = dacc_default_threads(), reps = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
        else if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
        else if (!strcmp(argv[i], "--pairs") && i + 1 < argc) pairs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_align [--data DIR] [--model FILE] [--pairs N] [--threads T] [--reps R]\n");
            return 2;
        }
    }
    if (reps < 1) reps = 1;
    if (threads < 1) threads = 1;
    dacc_err e;
    char dir[4096], mpath[4096];
    dacc_images train = {0};
    if (dacc_data_resolve(data, 0, dir, sizeof dir, &e) || dacc_mnist_load(dir, &train, NULL, &e)) {
        fprintf(stderr, "bench_align: %s (run `dacc data` first or pass --data DIR)\n", e.msg);
        return 1;
    }
    printf("bench_align: MNIST %s, %lld training images, %d threads\n", dir, (long long)train.n, threads);
    dacc_align_model fitted, m;
    if (time_fit(&train, pairs, threads, &fitted)) return 1;
    if (!model && dacc_align_default_model_path(mpath, sizeof mpath) == 0) model = mpath;
    if (model) {
        if (dacc_align_model_load(model, &m, &e)) {
            fprintf(stderr, "bench_align: %s\n", e.msg);
            return 1;
        }
        dacc_align_model_free(&fitted);
        printf("model: %s\n", model);
    } else {
        m = fitted;
        printf("model: the one just fitted (%d pairs/class)\n", pairs);
    }
    int nr = reps < 16 ? reps : 16;
    int rc = time_warp(&m, &train, nr) || time_block(&m, &train, threads, nr);
    dacc_align_model_free(&m);
    dacc_images_free(&train);
    return rc;
}

/* Measures this machine's fp32 FMA peak per core: many independent FMA
 * chains (more than latency x pipes) in registers, no memory traffic, for
 * AVX2 (8 lanes) and AVX-512 (16 lanes). Prints the median GFLOP/s over
 * repeats, single thread and one thread per core. The conv benchmarks quote
 * their speed as a fraction of this number.
 *
 * usage: bench_peak [repeats]      (default 15) */
#include "dacc/kernels.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHAINS 12
#define ITERS 20000000L

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

#if defined(__x86_64__) && (defined(DACC_HAVE_AVX2) || defined(DACC_HAVE_AVX512))
#include <immintrin.h>
#endif
/* CHAINS independent accumulators, each its own variable (an array would be
 * kept in memory by GCC), started at different values so no two chains can
 * be merged; 12 chains cover FMA latency (4) x pipes (2) with room. */
#define FMA12(fma)                                                            \
    a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c);              \
    a3 = fma(a3, m, c); a4 = fma(a4, m, c); a5 = fma(a5, m, c);              \
    a6 = fma(a6, m, c); a7 = fma(a7, m, c); a8 = fma(a8, m, c);              \
    a9 = fma(a9, m, c); a10 = fma(a10, m, c); a11 = fma(a11, m, c)
#define DECL12(T, set1)                                                       \
    T a0 = set1(0.f), a1 = set1(1.f), a2 = set1(2.f), a3 = set1(3.f);         \
    T a4 = set1(4.f), a5 = set1(5.f), a6 = set1(6.f), a7 = set1(7.f);         \
    T a8 = set1(8.f), a9 = set1(9.f), a10 = set1(10.f), a11 = set1(11.f)
#define SUM12(add) add(add(add(add(a0, a1), add(a2, a3)), add(add(a4, a5), add(a6, a7))), \
                       add(add(a8, a9), add(a10, a11)))

#if defined(__x86_64__) && defined(DACC_HAVE_AVX2)
__attribute__((target("avx2,fma"))) static float peak_avx2(long iters) {
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    DECL12(__m256, _mm256_set1_ps);
    for (long it = 0; it < iters; it++) {
        FMA12(_mm256_fmadd_ps);
    }
    __m256 s = SUM12(_mm256_add_ps);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    return _mm_cvtss_f32(h);
}
#endif
#if defined(__x86_64__) && defined(DACC_HAVE_AVX512)
__attribute__((target("avx512f,avx2,fma"))) static float peak_avx512(long iters) {
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    DECL12(__m512, _mm512_set1_ps);
    for (long it = 0; it < iters; it++) {
        FMA12(_mm512_fmadd_ps);
    }
    __m512 s = SUM12(_mm512_add_ps);
    return _mm512_reduce_add_ps(s);
}
#endif

typedef float peak_fn(long);
typedef struct { peak_fn *fn; long iters; float sink; } job;
static void *run_job(void *p) {
    job *j = p;
    j->sink = j->fn(j->iters);
    return NULL;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median GFLOP/s over `reps` runs with `threads` threads each running the loop. */
static double measure(peak_fn *fn, int lanes, int threads, int reps) {
    double *g = malloc(sizeof(double) * reps);
    volatile float sink = 0;
    for (int r = 0; r < reps; r++) {
        pthread_t th[2];
        job jobs[2];
        double t0 = now();
        for (int t = 0; t < threads; t++) {
            jobs[t] = (job){fn, ITERS / 4, 0};
            pthread_create(&th[t], NULL, run_job, &jobs[t]);
        }
        for (int t = 0; t < threads; t++) {
            pthread_join(th[t], NULL);
            sink += jobs[t].sink;
        }
        double dt = now() - t0;
        g[r] = 2.0 * lanes * CHAINS * (double)(ITERS / 4) * threads / dt * 1e-9;
    }
    (void)sink;
    qsort(g, reps, sizeof(double), cmp_double);
    double med = g[reps / 2];
    free(g);
    return med;
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 15;
    if (reps < 1) reps = 1;
    printf("cpu: %s\n", dacc_cpu_description());
    printf("%-8s %8s %14s %14s\n", "isa", "threads", "GFLOP/s", "per core");
#if defined(__x86_64__) && defined(DACC_HAVE_AVX2)
    if (dacc_cpu_supports(DACC_ISA_AVX2))
        for (int th = 1; th <= 2; th++) {
            double g = measure(peak_avx2, 8, th, reps);
            printf("%-8s %8d %14.1f %14.1f\n", "avx2", th, g, g / th);
        }
#endif
#if defined(__x86_64__) && defined(DACC_HAVE_AVX512)
    if (dacc_cpu_supports(DACC_ISA_AVX512))
        for (int th = 1; th <= 2; th++) {
            double g = measure(peak_avx512, 16, th, reps);
            printf("%-8s %8d %14.1f %14.1f\n", "avx512", th, g, g / th);
        }
#endif
    return 0;
}

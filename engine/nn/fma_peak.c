/* The FMA peak loops (fma_peak.h). */
#include "nn/fma_peak.h"
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define CHAINS 12

double dacc_bench_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void dacc_bench_sort(double *v, int n) { qsort(v, (size_t)n, sizeof *v, cmp_double); }

#if defined(__x86_64__) && (defined(DACC_HAVE_AVX2) || defined(DACC_HAVE_AVX512))
#include <immintrin.h>
#endif
/* CHAINS independent accumulators, each its own variable (an array would be
 * kept in memory by GCC), started at different values so no two chains can
 * be merged. */
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

/* GFLOP/s of all threads together; 0 when a thread cannot be started. */
static double measure(peak_fn *fn, long iters, int lanes, int threads, int reps, int best) {
    double g[64];
    volatile float sink = 0;
    if (reps > 64) reps = 64;
    for (int r = 0; r < reps; r++) {
        pthread_t th[2];
        job jobs[2];
        double t0 = dacc_bench_now();
        for (int t = 0; t < threads; t++) {
            jobs[t] = (job){fn, iters, 0};
            if (pthread_create(&th[t], NULL, run_job, &jobs[t])) {
                for (int u = 0; u < t; u++) pthread_join(th[u], NULL);
                return 0;
            }
        }
        for (int t = 0; t < threads; t++) {
            pthread_join(th[t], NULL);
            sink += jobs[t].sink;
        }
        double dt = dacc_bench_now() - t0;
        g[r] = 2.0 * lanes * CHAINS * (double)iters * threads / dt * 1e-9;
    }
    (void)sink;
    dacc_bench_sort(g, reps);
    return best ? g[reps - 1] : g[reps / 2];
}

double dacc_fma_peak(dacc_isa isa, int threads, int reps, long iters, int best) {
    if (threads < 1 || threads > 2 || reps < 1 || iters < 1) return 0;
#if defined(__x86_64__) && defined(DACC_HAVE_AVX512)
    if (isa == DACC_ISA_AVX512 && dacc_cpu_supports(isa))
        return measure(peak_avx512, iters, 16, threads, reps, best) / threads;
#endif
#if defined(__x86_64__) && defined(DACC_HAVE_AVX2)
    if (isa == DACC_ISA_AVX2 && dacc_cpu_supports(isa))
        return measure(peak_avx2, iters, 8, threads, reps, best) / threads;
#endif
    (void)isa; (void)best;
    return 0.0;
}

double dacc_fma_peak_machine(int reps, long iters) {
    double p = 0;
    for (int i = 0; i < DACC_ISA_COUNT; i++) {
        double q = dacc_fma_peak((dacc_isa)i, 1, reps, iters, 1);
        if (q > p) p = q;
    }
    return p;
}

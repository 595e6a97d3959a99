/* Persistent worker threads; the caller runs tasks too, so one thread means
 * no synchronisation at all.
 *
 * A training step is ~90 short rounds, so waking a sleeping worker through
 * the kernel (a futex wait and wake per round, plus the scheduler's
 * latency) costs a noticeable share of the step (docs/PERFORMANCE.md). Workers
 * and the caller therefore spin for a short while (SPIN_NS) on an atomic
 * before sleeping on a condition variable: between the rounds of a step
 * nobody sleeps, and an idle pool (between epochs, after a study) sleeps
 * after ~50 us and costs nothing.
 *
 * One 64-bit word holds the round's generation, task count and next task,
 * so a task is claimed with one compare-and-swap that also proves the round
 * is still the one the worker woke for: a worker late from the previous
 * round can never take a task of the next one with the old function. */
#include "core/threadpool.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define SPIN_NS 50000 /* ~ the gap between two rounds of a step, with margin */

/* state = generation (24 bits) | ntasks (20 bits) | next task (20 bits) */
#define GEN(s) ((uint32_t)((s) >> 40))
#define NTASKS(s) ((int)(((s) >> 20) & 0xFFFFF))
#define NEXT(s) ((int)((s) & 0xFFFFF))
#define MAX_TASKS 0xFFFFF

struct dacc_pool {
    int threads;
    pthread_t *tid;
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    _Atomic uint64_t state;
    atomic_int finished;
    atomic_int quit;
    dacc_task_fn fn; /* written before the round's state is published */
    void *ctx;
};

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Spins until pred(p, arg) holds or SPIN_NS pass; returns whether it held.
 * The clock is read every 256 polls only. */
static int spin_until(dacc_pool *p, int (*pred)(dacc_pool *, uint32_t), uint32_t arg) {
    uint64_t t0 = 0;
    for (unsigned i = 1;; i++) {
        if (pred(p, arg)) return 1;
        if ((i & 255) == 0) {
            uint64_t t = now_ns();
            if (!t0) t0 = t;
            else if (t - t0 > SPIN_NS) return 0;
        }
    }
}

/* Run tasks of round `gen` until none is left to claim. */
static void drain(dacc_pool *p, uint32_t gen) {
    uint64_t s = atomic_load_explicit(&p->state, memory_order_acquire);
    for (;;) {
        if (GEN(s) != gen || NEXT(s) >= NTASKS(s)) return;
        if (!atomic_compare_exchange_weak_explicit(&p->state, &s, s + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue; /* s was reloaded */
        int n = NTASKS(s);
        p->fn(p->ctx, NEXT(s), n);
        if (atomic_fetch_add_explicit(&p->finished, 1, memory_order_acq_rel) + 1 == n) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_broadcast(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
        s = atomic_load_explicit(&p->state, memory_order_acquire);
    }
}

static int new_round(dacc_pool *p, uint32_t seen) {
    return GEN(atomic_load_explicit(&p->state, memory_order_acquire)) != seen ||
           atomic_load_explicit(&p->quit, memory_order_relaxed);
}
static int round_done(dacc_pool *p, uint32_t n) {
    return atomic_load_explicit(&p->finished, memory_order_acquire) >= (int)n;
}

static void *worker(void *arg) {
    dacc_pool *p = arg;
    uint32_t seen = GEN(atomic_load(&p->state));
    for (;;) {
        if (!spin_until(p, new_round, seen)) {
            pthread_mutex_lock(&p->mu);
            while (!new_round(p, seen)) pthread_cond_wait(&p->wake, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->quit)) return NULL;
        seen = GEN(atomic_load_explicit(&p->state, memory_order_acquire));
        drain(p, seen);
    }
}

dacc_pool *dacc_pool_create(int threads) {
    dacc_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->threads = threads < 1 ? 1 : threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->state, 0);
    atomic_init(&p->finished, 0);
    atomic_init(&p->quit, 0);
    p->tid = calloc((size_t)p->threads, sizeof *p->tid);
    if (!p->tid) {
        free(p);
        return NULL;
    }
    for (int i = 1; i < p->threads; i++)
        if (pthread_create(&p->tid[i], NULL, worker, p) != 0) {
            p->threads = i; /* run with the workers that started */
            break;
        }
    return p;
}

int dacc_pool_threads(const dacc_pool *p) { return p->threads; }

void dacc_pool_run(dacc_pool *p, dacc_task_fn fn, void *ctx, int ntasks) {
    if (p->threads == 1 || ntasks <= 1 || ntasks > MAX_TASKS) {
        for (int t = 0; t < ntasks; t++) fn(ctx, t, ntasks);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->finished, 0, memory_order_relaxed);
    uint64_t s = atomic_load_explicit(&p->state, memory_order_relaxed);
    uint32_t gen = (GEN(s) + 1) & 0xFFFFFF;
    /* release: fn, ctx and finished are visible to whoever sees the round */
    atomic_store_explicit(&p->state, (uint64_t)gen << 40 | (uint64_t)ntasks << 20,
                          memory_order_release);
    /* a worker that found no round re-checks under the mutex before it
     * sleeps, so taking the mutex here means none misses this broadcast */
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    drain(p, gen);
    if (!spin_until(p, round_done, (uint32_t)ntasks)) {
        pthread_mutex_lock(&p->mu);
        while (!round_done(p, (uint32_t)ntasks)) pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}

void dacc_pool_destroy(dacc_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->quit, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->threads; i++) pthread_join(p->tid[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p->tid);
    free(p);
}

int dacc_default_threads(void) {
    const char *s = getenv("SLURM_CPUS_PER_TASK");
    if (s && atoi(s) > 0) return atoi(s);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

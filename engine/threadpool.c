/* Persistent worker threads woken by a generation counter; the caller runs
 * task 0..k itself too, so one thread means no synchronisation at all. */
#include "dacc/threadpool.h"
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct dacc_pool {
    int threads;
    pthread_t *tid;
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    unsigned generation;
    int quit;
    dacc_task_fn fn;
    void *ctx;
    int ntasks, next, finished;
};

/* Take tasks until none is left; returns the number run. */
static void drain(dacc_pool *p) {
    for (;;) {
        pthread_mutex_lock(&p->mu);
        int t = p->next < p->ntasks ? p->next++ : -1;
        pthread_mutex_unlock(&p->mu);
        if (t < 0) return;
        p->fn(p->ctx, t, p->ntasks);
        pthread_mutex_lock(&p->mu);
        if (++p->finished == p->ntasks) pthread_cond_broadcast(&p->done);
        pthread_mutex_unlock(&p->mu);
    }
}

static void *worker(void *arg) {
    dacc_pool *p = arg;
    unsigned seen = 0;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->generation == seen && !p->quit) pthread_cond_wait(&p->wake, &p->mu);
        if (p->quit) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        drain(p);
    }
}

dacc_pool *dacc_pool_create(int threads) {
    dacc_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->threads = threads < 1 ? 1 : threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    p->tid = calloc((size_t)p->threads, sizeof *p->tid);
    for (int i = 1; i < p->threads; i++) pthread_create(&p->tid[i], NULL, worker, p);
    return p;
}

int dacc_pool_threads(const dacc_pool *p) { return p->threads; }

void dacc_pool_run(dacc_pool *p, dacc_task_fn fn, void *ctx, int ntasks) {
    if (p->threads == 1 || ntasks == 1) {
        for (int t = 0; t < ntasks; t++) fn(ctx, t, ntasks);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->ntasks = ntasks;
    p->next = 0;
    p->finished = 0;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    drain(p);
    pthread_mutex_lock(&p->mu);
    while (p->finished < p->ntasks) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void dacc_pool_destroy(dacc_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
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

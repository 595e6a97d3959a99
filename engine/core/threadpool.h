/* A small persistent thread pool: run(fn, task) for task = 0..tasks-1, the
 * caller's thread taking part; returns when all are done. The partition of
 * work into tasks is the caller's, so results depend only on the task count. */
#ifndef DACC_THREADPOOL_H
#define DACC_THREADPOOL_H

typedef struct dacc_pool dacc_pool;
typedef void (*dacc_task_fn)(void *ctx, int task, int ntasks);

dacc_pool *dacc_pool_create(int threads);   /* threads >= 1 */
int dacc_pool_threads(const dacc_pool *p);
void dacc_pool_run(dacc_pool *p, dacc_task_fn fn, void *ctx, int ntasks);
void dacc_pool_destroy(dacc_pool *p);
/* Thread count: --threads, else SLURM_CPUS_PER_TASK, else online CPUs. */
int dacc_default_threads(void);

#endif

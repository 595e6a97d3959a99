/* Locks in a run directory (docs/RUNDIR.md, "Locks"): flock(2) on small
 * files, so several processes (shards of a Slurm array, a resubmission, a
 * second terminal) can share one run directory without training a task
 * twice. A lock is held for as long as its process keeps the file open and
 * is released by the kernel when the process ends, also on kill -9; the
 * files themselves stay (removing a lock file would race with a process
 * about to lock it). Each lock file holds "pid host" of its holder, for the
 * message that names who holds it. */
#ifndef DACC_RUNLOCK_H
#define DACC_RUNLOCK_H

#include <stddef.h>

#include "dacc/err.h"

typedef struct dacc_lock dacc_lock;

/* DIR/.lock-shard-I-of-N (an unsharded run is shard 0 of 1), taken without
 * waiting: fails at once, naming DIR and the holder's pid and host, when
 * another process runs the same shard of DIR. */
int dacc_lock_shard(const char *dir, int shard_i, int shard_n, dacc_lock **out, dacc_err *e);

/* Takes the lock file PATH without waiting. Returns 0 and *out when taken;
 * 1 when another process holds it (HOLDER, HOLDER_N bytes, gets "pid P on
 * host H" or "an unknown process"); -1 with e set on an error (PATH is a
 * link or not a regular file, cannot be created, ...). */
int dacc_lock_try(const char *path, dacc_lock **out, char *holder, size_t holder_n, dacc_err *e);

/* Takes the lock file PATH, waiting for it (for short critical sections). */
int dacc_lock_wait(const char *path, dacc_lock **out, dacc_err *e);

/* Releases and frees L (NULL is fine). */
void dacc_lock_release(dacc_lock *l);

#endif

/* File helpers shared by every module that reads or writes files: one of
 * each, so the rules hold everywhere.
 *   - Inputs are opened only if they are regular files (a FIFO, device or
 *     folder is refused at once instead of blocking or reading forever).
 *   - Outputs are written to a unique temporary name beside the target
 *     (O_CREAT|O_EXCL|O_NOFOLLOW, pid + random suffix), flushed, then renamed
 *     into place: a link planted at a predictable name is never followed and
 *     two writers (shards of one study) never share a temporary file. */
#ifndef DACC_FILEIO_H
#define DACC_FILEIO_H

#include <stddef.h>
#include <stdio.h>

#include "dacc/err.h"

/* Opens PATH read-only; fails (naming PATH) unless it is a regular file.
 * Links are followed: a dataset may be a symlink to a regular file. */
int dacc_open_regular(const char *path, dacc_err *e);
FILE *dacc_fopen_regular(const char *path, dacc_err *e);

/* Reads a whole regular file of at most MAX bytes into a malloc'd buffer
 * (NUL-terminated, *n excludes the NUL). Larger files fail naming the limit. */
int dacc_read_file(const char *path, size_t max, char **out, size_t *n, dacc_err *e);

/* A writer's temporary file for PATH: creates "PATH.tmp-<pid>-<random>" with
 * O_EXCL|O_NOFOLLOW, writes its name to TMP (TMP_N bytes) and returns the fd. */
int dacc_tmp_create(const char *path, char *tmp, size_t tmp_n, dacc_err *e);
/* fsyncs and closes FD, then renames TMP to PATH; on any failure removes TMP. */
int dacc_tmp_commit(int fd, const char *tmp, const char *path, dacc_err *e);
/* Closes FD and removes TMP (a writer that gave up). */
void dacc_tmp_abort(int fd, const char *tmp);

/* Removes every temporary file (NAME.tmp-<pid>-<random>) in folder DIR: for
 * a caller that knows no other writer uses DIR (it holds DIR's lock), so
 * they were left by a killed writer. Links are removed, never followed. */
void dacc_tmp_remove_all(const char *dir);

/* Writes N bytes to PATH atomically (a unique temp file, then rename). */
int dacc_write_file_atomic(const char *path, const void *data, size_t n, dacc_err *e);

/* Appends N bytes to PATH with one write(2) (O_APPEND, O_NOFOLLOW): lines
 * from concurrent writers never interleave. Refuses a non-regular PATH. */
int dacc_append_file(const char *path, const void *data, size_t n, dacc_err *e);

/* mkdir -p; fails if PATH exists and is not a folder. */
int dacc_mkdir_p(const char *path, dacc_err *e);

/* Seconds on the monotonic clock. */
double dacc_now_s(void);

#endif

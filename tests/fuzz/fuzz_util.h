/* Shared by the libFuzzer harnesses: the readers take paths, so each input
 * is written to a per-process file (in /dev/shm when it exists, else /tmp)
 * that is removed at exit. Build and run: docs/FUZZING.md, scripts/fuzz. */
#ifndef DACC_FUZZ_UTIL_H
#define DACC_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_PATHS 8
static char fuzz_paths[FUZZ_MAX_PATHS][96];
static int fuzz_npaths;

static inline void fuzz_cleanup(void) {
    for (int i = 0; i < fuzz_npaths; i++) {
        unlink(fuzz_paths[i]);
        rmdir(fuzz_paths[i]);
    }
}

/* A stable per-process path ending in NAME (the k-th distinct name asked). */
static inline const char *fuzz_path(const char *name) {
    for (int i = 0; i < fuzz_npaths; i++) {
        const char *p = fuzz_paths[i];
        size_t lp = 0, ln = 0;
        while (p[lp]) lp++;
        while (name[ln]) ln++;
        if (lp >= ln && !__builtin_memcmp(p + lp - ln, name, ln)) return p;
    }
    if (fuzz_npaths == FUZZ_MAX_PATHS) abort();
    if (fuzz_npaths == 0) atexit(fuzz_cleanup);
    struct stat st;
    const char *dir = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    char *p = fuzz_paths[fuzz_npaths++];
    snprintf(p, sizeof fuzz_paths[0], "%s/dacc-fuzz-%d-%s", dir, (int)getpid(), name);
    return p;
}

static inline void fuzz_write(const char *path, const uint8_t *d, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n && fwrite(d, 1, n, f) != n) abort();
    fclose(f);
}

/* Writes d with its last four bytes replaced by the CRC32 of the rest
 * (little endian), as dacc's checksummed files end, so the fuzzer reaches
 * the checks behind the checksum; inputs under 16 bytes are written as
 * they are. */
static inline void fuzz_write_crc(const char *path, const uint8_t *d, size_t n) {
    uint8_t *b = malloc(n ? n : 1);
    if (!b) abort();
    memcpy(b, d, n);
    if (n >= 16) {
        uint32_t crc = (uint32_t)crc32(0L, b, (uInt)(n - 4));
        for (int i = 0; i < 4; i++) b[n - 4 + i] = (uint8_t)(crc >> (8 * i));
    }
    fuzz_write(path, b, n);
    free(b);
}

/* Writes d gzip-compressed (the fuzzer mutates the content, not the stream). */
static inline void fuzz_write_gz(const char *path, const uint8_t *d, size_t n) {
    gzFile g = gzopen(path, "wb1");
    if (!g) abort();
    if (n && gzwrite(g, d, (unsigned)n) != (int)n) abort();
    gzclose(g);
}

/* Splits data at each "@@@\n" into at most max parts; returns the count. */
static inline int fuzz_split(const uint8_t *d, size_t n, const uint8_t **part, size_t *len,
                             int max) {
    int k = 0;
    size_t start = 0;
    for (size_t i = 0; i + 4 <= n && k < max - 1; i++)
        if (d[i] == '@' && d[i + 1] == '@' && d[i + 2] == '@' && d[i + 3] == '\n') {
            part[k] = d + start;
            len[k++] = i - start;
            start = i + 4;
            i += 3;
        }
    part[k] = d + start;
    len[k++] = n - start;
    return k;
}

/* Writes DIR/NAME from part k, or removes it when the input has no part k. */
static inline void fuzz_put(const char *dir, const char *name, int k, int nparts,
                            const uint8_t *const *part, const size_t *len) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (k < nparts) fuzz_write(p, part[k], len[k]);
    else unlink(p);
}

/* The start of the run-directory harnesses: splits the input into at most
 * max parts at "@@@\n" and makes the per-process folder NAME with tasks/t1/
 * inside; *dir is NAME's path and t1 (tn bytes) receives tasks/t1's. Returns
 * the number of parts. */
static inline int fuzz_run_dir(const char *name, const uint8_t *data, size_t size, const uint8_t **part,
                               size_t *len, int max, const char **dir, char *t1, size_t tn) {
    int np = fuzz_split(data, size, part, len, max);
    char tasks[200];
    *dir = fuzz_path(name);
    snprintf(tasks, sizeof tasks, "%s/tasks", *dir);
    snprintf(t1, tn, "%s/t1", tasks);
    mkdir(*dir, 0700);
    mkdir(tasks, 0700);
    mkdir(t1, 0700);
    return np;
}

#endif

/* The run directory (docs/RUNDIR.md): the only interface between the
 * engine, `dacc report` and the TUI. engine/study/rundir*.c is the one
 * module that reads and writes its files; this header holds what the CLI,
 * the TUI and tests use. The writers the study runner needs are internal
 * (engine/study/rundir.h). */
#ifndef DACC_RUNDIR_H
#define DACC_RUNDIR_H
#include "dacc/err.h"
#include <stddef.h>
#include <stdint.h>

/* ---- predictions.bin / predictions-paper.bin ----
 * Block 0 clean, 1..blocks-1 transformed; for each block and image the
 * predicted class and the label (u8 each); CRC32 last. Bounded by what the
 * format allows: at most DACC_PRED_MAX_BLOCKS blocks (the clean one and 80
 * transformed) of at most DACC_PRED_MAX_IMAGES images, so a reader never
 * holds more than blocks x images bytes whatever the file claims. */
#define DACC_PRED_MAX_BLOCKS 81
#define DACC_PRED_MAX_IMAGES (1 << 20)
typedef struct dacc_pred {
    int blocks;        /* including the clean block */
    int64_t n;         /* images per block */
    uint8_t *pred;     /* [blocks][n] predicted class */
    uint8_t *label;    /* [n] */
} dacc_pred;
/* Reads and verifies a predictions file: regular file, magic, version 1,
 * header in range and equal to want_blocks / want_n when those are > 0,
 * exact size (checked before anything is allocated), CRC32, labels 0..9
 * and equal in every block. Streamed: memory is the arrays only. */
int dacc_pred_read(const char *path, int want_blocks, int64_t want_n, dacc_pred *p, dacc_err *e);
void dacc_pred_free(dacc_pred *p);



/* ---- results.json ----
 * Parsed as written (docs/RUNDIR.md); x^ and delta are computed from the
 * y's (eq. 1-2), so every number has one source; the file's rounded copy of
 * x^ is kept only to be checked. Absent numbers are NaN. */
enum { DACC_RD_HELDOUT, DACC_RD_PAPER, DACC_RD_NPROTO };
#define DACC_RD_MAX_Y (DACC_PRED_MAX_BLOCKS - 1)
#define DACC_RD_NAME 64
typedef struct dacc_rd_proto {
    int has;                  /* the protocol's object is present */
    double clean;             /* NaN when absent */
    int ny;                   /* transformed accuracies (0 without AlignMNIST) */
    double y[DACC_RD_MAX_Y];
    double xhat, delta;       /* from y; NaN without y */
    double xhat_file;         /* the file's "xhat", NaN when absent */
    int64_t n;                /* images; 0 when absent or not a count */
} dacc_rd_proto;
typedef struct dacc_rd_results {
    char variant[DACC_RD_NAME]; /* "" when absent or too long */
    int has_seed;
    uint64_t seed;
    dacc_rd_proto proto[DACC_RD_NPROTO];
} dacc_rd_results;
/* Parses results.json text; -1 (and err filled) when it is not a JSON object. */
int dacc_rd_parse_results(const char *buf, size_t n, dacc_rd_results *r, char *err, size_t errn);
/* The strict check of a finished task's results (what `dacc report`
 * accepts): a variant, a seed, at least one protocol, each with a clean
 * accuracy in [0,1], an image count, 1..DACC_RD_MAX_Y y's in [0,1] and a
 * file x^ equal to their mean. Returns 0 or -1 with why (and the protocol
 * in *where, "" when not about one). */
int dacc_rd_check_results(const dacc_rd_results *r, char *why, size_t whyn, const char **where);
#endif

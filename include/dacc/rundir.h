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
 * Parsed as written (docs/RUNDIR.md); x^ and delta are computed from all the
 * y's, so every number `dacc report` prints has one source; the file's
 * rounded copies are kept to be checked. In the live view (dacc_rd_task) the
 * file's x^ and delta are shown, at most DACC_RD_SHOW_Y y's kept. Absent
 * numbers are NaN. */
enum { DACC_RD_HELDOUT, DACC_RD_PAPER, DACC_RD_NPROTO };
#define DACC_RD_MAX_Y (DACC_PRED_MAX_BLOCKS - 1)
#define DACC_RD_NAME 64
typedef struct dacc_rd_proto {
    int has;                  /* the protocol's object is present */
    double clean;             /* NaN when absent */
    int ny;                   /* transformed accuracies (0 without AlignMNIST) */
    double y[DACC_RD_MAX_Y];
    double xhat, delta;       /* from y; NaN without y */
    double xhat_file, delta_file; /* the file's "xhat" and "delta", NaN when absent */
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

/* ---- tasks/<id>/scales.json (engine/study/rundir_scales.c) ----
 * A finished network evaluated on AlignMNIST sets generated at other
 * deformation scales (dacc run --scales): one entry per scale, each with
 * both protocols as in results.json plus "hist", the per-image histogram
 * of (clean right, transformed blocks right) that the one-seed paired
 * interval needs (dacc/stats.h). Bounded: the file to 1 MiB, at most
 * DACC_RD_MAX_SCALES entries (more are ignored), scales in [0, 10]; an
 * entry whose protocol fails the results.json check is dropped, a
 * histogram of the wrong length or sum is dropped (nhist = 0). x^ and
 * delta are the file's (exact, from counts) when within 1e-5 of y's. */
#define DACC_RD_MAX_SCALES 16
#define DACC_RD_SCALE_MAX 10.0
#define DACC_RD_SCALES_BYTES (1u << 20)
#define DACC_RD_SET_NAME 128
typedef struct dacc_rd_scale {
    double scale;
    char set_train[DACC_RD_SET_NAME], set_test[DACC_RD_SET_NAME]; /* base names of the sets */
    dacc_rd_proto proto[DACC_RD_NPROTO];
    int nhist[DACC_RD_NPROTO]; /* 2 * (ny + 1) with a valid histogram, else 0 */
    int64_t hist[DACC_RD_NPROTO][2 * (DACC_RD_MAX_Y + 1)];
} dacc_rd_scale;
typedef struct dacc_rd_scales {
    char key[1024]; /* the task's settings key (config.json) the entries belong to */
    int n, dropped; /* entries kept; entries ignored as invalid or beyond the bound */
    dacc_rd_scale s[DACC_RD_MAX_SCALES];
} dacc_rd_scales;
/* Parses scales.json text; -1 (err filled) when it is not a JSON object. */
int dacc_rd_parse_scales(const char *buf, size_t n, dacc_rd_scales *out, char *err, size_t errn);
/* Reads TASK_DIR/scales.json: 0 read, 1 absent (out empty), -1 unreadable. */
int dacc_rd_read_scales(const char *task_dir, dacc_rd_scales *out, dacc_err *e);

/* ---- the live view (engine/study/rundir_view.c) ----
 * The run directory as the dashboard and the text summary see it:
 * study.json, progress.json, tasks/<id>/{metrics.jsonl,results.json,DONE}
 * and inspect.json, each re-read only when its size or mtime changes. Every
 * reader tolerates missing, partial and malformed files (the engine may be
 * writing them while we look). Pure file reading, no curses. */
#define DACC_RD_MAX_VARIANTS 32 /* = DACC_MAX_VARIANTS of a study; more are counted, not shown */
#define DACC_RD_MAX_SEEDS 64
#define DACC_RD_MAX_TASKS 1024 /* DACC_MAX_VARIANTS x DACC_MAX_SEEDS */
#define DACC_RD_MAX_EPOCHS 500
#define DACC_RD_MAX_KERNELS 48
#define DACC_RD_MAX_DIGITS 256
#define DACC_RD_MAX_BLOCKS 8 /* images per inspector digit (clean + 7) */
#define DACC_RD_SHOW_Y 5 /* transformed accuracies a view shows (y1..y5) */
#define DACC_RD_EPOCH_MAX 1000 /* the most epochs a study may plan (dacc run --epochs) */
#define DACC_RD_MAX_SIDE 64

typedef struct dacc_rd_stamp {
    int exists;
    long long size, mtime_ns;
} dacc_rd_stamp;

typedef struct dacc_rd_epoch {
    int epoch;
    double lr, loss, train_acc, test_acc, seconds; /* NAN when absent */
} dacc_rd_epoch;

/* The "layer_ms" object of a metrics line (docs/RUNDIR.md): one epoch's
 * training time per layer, in milliseconds summed over its steps. n = 0
 * when no line has one (older run directories, other writers). */
#define DACC_RD_MAX_LAYERS 40
enum { DACC_RD_FWD, DACC_RD_BWD_DATA, DACC_RD_BWD_WEIGHTS, DACC_RD_PARTS };
typedef struct dacc_rd_layer_ms {
    int n, epoch;
    long steps;
    char name[DACC_RD_MAX_LAYERS][32];
    double ms[DACC_RD_MAX_LAYERS][DACC_RD_PARTS];
    /* bwd_data null: the layer's backward ran as one call, all of it in
     * bwd_weights (ms[i][DACC_RD_BWD_DATA] is then 0) */
    unsigned char fused[DACC_RD_MAX_LAYERS];
    double train, pack, loss, adam, rest; /* NAN when absent */
} dacc_rd_layer_ms;

typedef struct dacc_rd_task {
    char id[DACC_RD_NAME * 2];
    char variant[DACC_RD_NAME];
    int vidx; /* index into dacc_rd_run.variants, -1 if unknown */
    int seed;
    int nep;
    dacc_rd_epoch ep[DACC_RD_MAX_EPOCHS];
    int has_results, done;
    dacc_rd_proto proto[DACC_RD_NPROTO];
    dacc_rd_stamp st_metrics, st_results;
    int bad_lines; /* malformed metrics lines skipped at the last read */
    dacc_rd_layer_ms split; /* the last epoch's per-layer times */
    /* scales.json: delta per deformation scale and protocol (NaN: absent) */
    int nscales;
    double scale[DACC_RD_MAX_SCALES], scale_delta[DACC_RD_MAX_SCALES][DACC_RD_NPROTO];
    dacc_rd_stamp st_scales;
} dacc_rd_task;

typedef struct dacc_rd_progress {
    int valid;
    char state[24];
    char task[DACC_RD_NAME * 2];
    char variant[DACC_RD_NAME];
    int task_index, tasks, seed, epoch, epochs;
    long batch, batches;
    double images_per_s, eta_s, elapsed_s, updated; /* NAN when absent */
    int scale_index, scales; /* evaluating scale scale_index (0-based) of scales; scales 0: none */
    double scale;
} dacc_rd_progress;

typedef struct dacc_rd_digit {
    int index, label;
    char split[16];
    int nblocks;
    unsigned char *img; /* nblocks * rows * cols, 0..255 */
    int pred[DACC_RD_MAX_VARIANTS][DACC_RD_MAX_BLOCKS]; /* -1: not predicted (yet) */
    float conf[DACC_RD_MAX_VARIANTS][DACC_RD_MAX_BLOCKS];
} dacc_rd_digit;

typedef struct dacc_rd_run {
    char dir[1024];
    /* study.json */
    int have_study;
    char dacc_version[32], isa[32], protocol[32];
    int threads, epochs, batch, blocks;
    int nvariants;
    char variants[DACC_RD_MAX_VARIANTS][DACC_RD_NAME];
    int variants_hidden; /* listed in study.json beyond DACC_RD_MAX_VARIANTS */
    int nseeds;
    int seeds[DACC_RD_MAX_SEEDS];
    int ntasks;
    dacc_rd_task *tasks; /* ntasks entries */
    int cap_tasks;
    int nkernels;
    char kernel_op[DACC_RD_MAX_KERNELS][DACC_RD_NAME];
    char kernel_impl[DACC_RD_MAX_KERNELS][96];
    /* progress.json */
    dacc_rd_progress progress;
    /* inspect.json */
    int rows, cols, iblocks;
    int ndigits;
    dacc_rd_digit *digits;
    dacc_rd_stamp st_study, st_progress, st_inspect;
    char warning[256]; /* last problem reading a file, for the status line */
    /* progress.json exists but did not parse at its last change (a torn or
     * damaged file); progress keeps the last good state meanwhile */
    int progress_unreadable;
} dacc_rd_run;

/* Bits returned by dacc_rd_run_refresh. */
enum {
    DACC_RD_CH_STUDY = 1, DACC_RD_CH_PROGRESS = 2, DACC_RD_CH_METRICS = 4, DACC_RD_CH_RESULTS = 8, DACC_RD_CH_INSPECT = 16
};

/* Opens a run directory (it must exist; its files may not yet). */
int dacc_rd_run_open(dacc_rd_run **out, const char *dir, dacc_err *e);
/* Re-reads files whose size/mtime changed; returns DACC_RD_CH_* bits. */
int dacc_rd_run_refresh(dacc_rd_run *r);
void dacc_rd_run_free(dacc_rd_run *r);

/* Parses metrics.jsonl text: a last line without '\n' is ignored (it is
 * being written), malformed lines (and epochs outside 0..DACC_RD_EPOCH_MAX,
 * the format's bound) are skipped and counted in *bad. A line repeating an
 * epoch replaces the earlier one (a resumed task). Returns the number of
 * epochs stored in out (at most max). */
int dacc_rd_parse_metrics(const char *buf, size_t n, dacc_rd_epoch *out, int max, int *bad);

/* The layer_ms object of the last complete metrics line that has one;
 * out->n = 0 when none. Values are range-checked (finite, >= 0), names
 * truncated, at most DACC_RD_MAX_LAYERS layers kept. */
void dacc_rd_parse_layer_ms(const char *buf, size_t n, dacc_rd_layer_ms *out);

/* Mean over the seeds of a variant that have results for a protocol. */
typedef struct dacc_rd_stats {
    int nseeds; /* tasks with results in this protocol */
    double clean, y[DACC_RD_SHOW_Y], xhat, delta;
    int ny;
    double delta_sd; /* sample sd of delta over seeds, NAN with < 2 */
} dacc_rd_stats;
void dacc_rd_variant_stats(const dacc_rd_run *r, int vidx, int proto, dacc_rd_stats *s);

/* Delta against deformation scale (dacc run --scales): xs[] receives the
 * scales any task has, ascending (at most max), delta[] (may be NULL) the
 * mean over variant vidx's seeds at each in protocol proto (NaN where none).
 * Returns the number of scales. */
int dacc_rd_scale_curve(const dacc_rd_run *r, int vidx, int proto, double *xs, double *delta, int max);

/* Mean over the seeds of variant vidx of one metric at an epoch (which: 0
 * loss, 1 train_acc, 2 test_acc); values that are not finite (a diverged
 * loss) are left out; NaN when none. */
double dacc_rd_epoch_mean(const dacc_rd_run *r, int vidx, int epoch, int which);
/* The last epoch any task of variant vidx (all when vidx < 0) has logged;
 * never above the study's planned epochs (or DACC_RD_EPOCH_MAX). */
int dacc_rd_max_epoch(const dacc_rd_run *r, int vidx);

/* Study progress in [0,1] from progress.json and the task list. */
double dacc_rd_study_fraction(const dacc_rd_run *r);
/* Is a state final (done, failed, interrupted)? */
int dacc_rd_state_final(const char *state);

#endif

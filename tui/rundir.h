/* The run directory as the dashboard sees it: study.json, progress.json,
 * tasks/<id>/{metrics.jsonl,results.json,DONE} and inspect.json, each
 * re-read only when its size or mtime changes. Pure file reading, no curses,
 * so tests/test_tui_reader.c can exercise it. */
#ifndef DACC_TUI_RUNDIR_H
#define DACC_TUI_RUNDIR_H
#include <stddef.h>
#include "dacc/err.h"

#define TR_MAX_VARIANTS 16
#define TR_MAX_SEEDS 64
#define TR_MAX_TASKS 512
#define TR_MAX_EPOCHS 500
#define TR_MAX_KERNELS 48
#define TR_MAX_DIGITS 256
#define TR_MAX_BLOCKS 8
#define TR_MAX_Y 5
#define TR_MAX_SIDE 64
#define TR_NAME 48

enum { TR_HELDOUT, TR_PAPER, TR_NPROTO };

typedef struct tr_stamp {
    int exists;
    long long size, mtime_ns;
} tr_stamp;

typedef struct tr_epoch {
    int epoch;
    double lr, loss, train_acc, test_acc, seconds; /* NAN when absent */
} tr_epoch;

typedef struct tr_proto {
    int has;         /* this protocol is present in results.json */
    double clean;    /* NAN when absent */
    int ny;          /* number of transformed accuracies (0 without AlignMNIST) */
    double y[TR_MAX_Y];
    double xhat, delta; /* NAN when absent; computed from y when only y exists */
    long n;
} tr_proto;

typedef struct tr_task {
    char id[TR_NAME * 2];
    char variant[TR_NAME];
    int vidx; /* index into tr_run.variants, -1 if unknown */
    int seed;
    int nep;
    tr_epoch ep[TR_MAX_EPOCHS];
    int has_results, done;
    tr_proto proto[TR_NPROTO];
    tr_stamp st_metrics, st_results;
    int bad_lines; /* malformed metrics lines skipped at the last read */
} tr_task;

typedef struct tr_progress {
    int valid;
    char state[24];
    char task[TR_NAME * 2];
    char variant[TR_NAME];
    int task_index, tasks, seed, epoch, epochs;
    long batch, batches;
    double images_per_s, eta_s, elapsed_s, updated; /* NAN when absent */
} tr_progress;

typedef struct tr_digit {
    int index, label;
    char split[16];
    int nblocks;
    unsigned char *img; /* nblocks * rows * cols, 0..255 */
    int pred[TR_MAX_VARIANTS][TR_MAX_BLOCKS]; /* -1: not predicted (yet) */
    float conf[TR_MAX_VARIANTS][TR_MAX_BLOCKS];
} tr_digit;

typedef struct tr_run {
    char dir[1024];
    /* study.json */
    int have_study;
    char dacc_version[32], isa[32], protocol[32];
    int threads, epochs, batch, blocks;
    int nvariants;
    char variants[TR_MAX_VARIANTS][TR_NAME];
    int nseeds;
    int seeds[TR_MAX_SEEDS];
    int ntasks;
    tr_task *tasks; /* ntasks entries */
    int nkernels;
    char kernel_op[TR_MAX_KERNELS][TR_NAME];
    char kernel_impl[TR_MAX_KERNELS][96];
    /* progress.json */
    tr_progress progress;
    /* inspect.json */
    int rows, cols, iblocks;
    int ndigits;
    tr_digit *digits;
    tr_stamp st_study, st_progress, st_inspect;
    char warning[256]; /* last problem reading a file, for the status line */
    /* progress.json exists but did not parse at its last change (a torn or
     * damaged file); progress keeps the last good state meanwhile */
    int progress_unreadable;
} tr_run;

/* Bits returned by tr_run_refresh. */
enum {
    TR_CH_STUDY = 1, TR_CH_PROGRESS = 2, TR_CH_METRICS = 4, TR_CH_RESULTS = 8, TR_CH_INSPECT = 16
};

/* Opens a run directory (it must exist; its files may not yet). */
int tr_run_open(tr_run **out, const char *dir, dacc_err *e);
/* Re-reads files whose size/mtime changed; returns TR_CH_* bits. */
int tr_run_refresh(tr_run *r);
void tr_run_free(tr_run *r);

/* Parses metrics.jsonl text: a last line without '\n' is ignored (it is
 * being written), malformed lines are skipped and counted in *bad. A line
 * repeating an epoch replaces the earlier one (a resumed task). Returns the
 * number of epochs stored in out (at most max). */
int tr_parse_metrics(const char *buf, size_t n, tr_epoch *out, int max, int *bad);

/* Parses results.json text into t->proto (and has_results). 0 or -1. */
int tr_parse_results(const char *buf, size_t n, tr_proto proto[TR_NPROTO]);

/* Mean over the seeds of a variant that have results for a protocol. */
typedef struct tr_stats {
    int nseeds; /* tasks with results in this protocol */
    double clean, y[TR_MAX_Y], xhat, delta;
    int ny;
    double delta_sd; /* sample sd of delta over seeds, NAN with < 2 */
} tr_stats;
void tr_variant_stats(const tr_run *r, int vidx, int proto, tr_stats *s);

/* Study progress in [0,1] from progress.json and the task list. */
double tr_study_fraction(const tr_run *r);
/* Is a state final (done, failed, interrupted)? */
int tr_state_final(const char *state);

/* Reads a whole file (at most max bytes; larger is an error). *buf is
 * NUL-terminated, free() it. Returns 0, or -1 with e filled. */
int tr_read_file(const char *path, size_t max, char **buf, size_t *len, dacc_err *e);

/* dacc_err without linking the engine: fills e, returns -1. */
int tr_fail(dacc_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

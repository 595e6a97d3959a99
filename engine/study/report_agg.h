/* `dacc report` inside: the gathered tasks and the aggregated results every
 * writer consumes (internal to engine/study; the public entry point is
 * include/dacc/report.h).
 *
 * The pipeline, one file each:
 *   report_read.c   gather: task folders and study.json plans of every
 *                   input (through rundir.h, the run directory's owner),
 *                   duplicates merged  -> report.t, report.skipped
 *   report_stats.c  aggregate: per variant and protocol the means, intervals,
 *                   relative measures and McNemar tests  -> report.rows
 *   report_csv.c    results.csv, summary.csv, summary.json
 *   report_md.c     summary.md
 *   report_figures.c  figures/ (SVG) and report.html through study/figures.h
 *   report.c        the driver: runs the three steps and writes each output
 *                   file atomically (report_outputs[] lists them)
 *
 * A writer is `void w(const report *r, FILE *f)`: it reads only the struct
 * below (never the files) and prints one output. To add an output (figures,
 * an HTML page), write one and add a line to report_outputs[] in report.c. */
#ifndef DACC_STUDY_REPORT_AGG_H
#define DACC_STUDY_REPORT_AGG_H
#include "dacc/report.h"
#include "dacc/stats.h"
#include <stdint.h>
#include <stdio.h>

#define REPORT_MAXB 80 /* transformed blocks a task may have (rundir.h's limit) */
#define REPORT_NAME 64 /* bytes of a variant name, with the NUL */

/* Protocol k = 0 held-out, 1 paper (DACC_REPORT_HELDOUT == 1 << 0, ...). */
extern const char *const report_proto_name[2];  /* "heldout", "paper" */
extern const char *const report_proto_file[2];  /* "predictions.bin", ... */
extern const char *const report_proto_title[2]; /* one line for a heading */

/* One protocol of one task: results.json, and its predictions if usable. */
typedef struct report_proto {
    int present;
    double clean, y[REPORT_MAXB], xhat, delta; /* fractions; x^ and delta from y */
    int nb;           /* transformed blocks (0 = clean only) */
    int64_t n;        /* images per block */
    int pred_ok;      /* predictions file read, verified and consistent */
    uint8_t *right;   /* bits [(nb + 1)][n]: prediction right */
    uint32_t label_crc;
    int64_t hist[2 * (REPORT_MAXB + 1)]; /* [clean right][transformed blocks right] */
} report_proto;

/* One entry of a task's scales.json (report_scales.c): protocol k as above,
 * hist[k] present when nhist[k] > 0. */
#define REPORT_MAXS 16 /* scales a report shows (DACC_RD_MAX_SCALES) */
typedef struct report_scale {
    double scale;
    int present[2], nb[2], nhist[2];
    int64_t n[2];
    double clean[2], xhat[2], delta[2];
    int64_t hist[2][2 * (REPORT_MAXB + 1)];
} report_scale;

typedef struct report_task {
    char id[256];     /* folder name, "<nn>-<variant>-s<seed>" */
    char path[4096];  /* the folder */
    char variant[REPORT_NAME];
    uint64_t seed;
    long index;       /* the "<nn>" of the id, for ordering; large if none */
    long order;       /* position in the order the folders were read */
    char settings[512]; /* config.json's settings that a merge must share */
    report_proto pr[2];
    int ns;           /* entries of scales.json (0: none) */
    report_scale *sc; /* [ns], ascending scale */
} report_task;

/* McNemar against the reference, pooled over seeds (and blocks). */
typedef struct report_mcn {
    int ok, pairs;    /* ok: computed; pairs: seeds pooled */
    dacc_mcnemar t;
    int nb;
    int64_t bb[REPORT_MAXB], cb[REPORT_MAXB]; /* per transformed block */
} report_mcn;

/* One variant in one protocol: the row of summary.csv / .json / .md. */
typedef struct report_row {
    char variant[REPORT_NAME];
    int n, nx;        /* seeds; seeds with transformed accuracies */
    uint64_t *seeds;  /* [n], ascending */
    dacc_mean_ci clean, xhat, delta; /* over seeds; intervals clipped to range */
    double relrob, err_clean, err_xhat, rel_derr; /* NaN when undefined */
    int is_ref, have_ref;
    report_mcn mc_clean, mc_trans;
    dacc_interval one_clean, one_xhat, one_delta; /* n == 1: over the images */
    int64_t n_images;
    int nb;
} report_row;

/* One variant in one protocol at one deformation scale. */
typedef struct report_srow {
    int n;            /* seeds with this scale */
    dacc_mean_ci clean, xhat, delta;  /* over seeds */
    dacc_interval one_xhat, one_delta; /* n == 1 with a histogram: over the images */
    int64_t n_images;
    int nb;
} report_srow;

typedef struct report_strs {
    char **s;
    int n, cap;
} report_strs;
void report_strs_add(report_strs *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void report_strs_free(report_strs *l);

typedef struct report_plan {
    char id[256], variant[REPORT_NAME], src[4096];
    uint64_t seed;
} report_plan;

typedef struct report {
    const dacc_report_options *o;
    /* gathered (report_read.c) */
    report_task *t;   /* finished tasks, one per (variant, seed), in read order */
    int nt, capt;
    report_plan *pl;  /* study.json tasks of every input */
    int npl, cappl;
    report_strs skipped, warnings, inputs;
    int duplicates;
    /* by_key[i]: indices of t sorted by (variant, seed) (report_index) */
    int *by_key;
    /* aggregated (report_stats.c) */
    const char *ref;  /* the reference variant (Original) or NULL */
    int nv;           /* variants, in report order (Original first) */
    char (*names)[REPORT_NAME];
    int have_proto[2];
    report_row *rows[2]; /* rows[k][v]; rows[k][v].n == 0: no results */
    int maxb;         /* most transformed blocks of any task */
    /* deformation scales (report_scales.c): the union of every task's */
    int ns;
    double scales[REPORT_MAXS];
    report_srow *srows[2]; /* srows[k][v * ns + i]; .n == 0: none */
} report;

/* report_read.c */
int report_read_input(report *r, const char *dir, dacc_err *e);
void report_merge_duplicates(report *r);
void report_list_unstarted(report *r);
int report_index(report *r, dacc_err *e);
/* The tasks of one variant: by_key[start..*end), ascending seeds. */
int report_range(const report *r, const char *variant, int *end);
void report_free(report *r);

/* report_stats.c */
int report_aggregate(report *r, dacc_err *e);
const report_task *report_find(const report *r, const char *variant, uint64_t seed, int k);
int report_bit(const report_proto *p, int block, int64_t i);
int report_pair_counts(const report_proto *o, const report_proto *v, int b0, int b1, int64_t *bb,
                       int64_t *cc);
dacc_interval report_wilson_acc(double acc, int64_t n);

/* report_scales.c: scales.json of a task folder into t (problems become
 * warnings); the aggregation; the writers' parts (summary.csv rows after
 * the others, summary.json's "scales" of a protocol, summary.md's table). */
void report_read_scales(report *r, report_task *t);
int report_aggregate_scales(report *r, dacc_err *e);
void report_csv_scale_rows(const report *r, FILE *f, int k);
void report_json_scales(const report *r, FILE *f, int k, int v);
void report_md_scales(const report *r, FILE *f);
void report_free_scales(report *r);

/* Writers (report_csv.c, report_md.c); report_csv.c's pieces shared with
 * report_scales.c: a CSV field after its comma (quoted when needed), a
 * "name":{"mean","sd","ci95"} member, an interval as [lo,hi] or null. */
void report_csv_str(FILE *f, const char *s);
void report_json_ci(FILE *f, const char *name, const dacc_mean_ci *m);
void report_json_interval(FILE *f, dacc_interval i);
/* "clean":{...},"xhat":{...},"delta":{...} */
void report_json_means(FILE *f, const dacc_mean_ci *clean, const dacc_mean_ci *xhat, const dacc_mean_ci *delta);
void report_json_one_seed(FILE *f, int n, const dacc_interval *clean, dacc_interval xhat, dacc_interval delta);
void report_write_results_csv(const report *r, FILE *f);
void report_write_summary_csv(const report *r, FILE *f);
void report_write_summary_json(const report *r, FILE *f);
void report_write_summary_md(const report *r, FILE *f);
/* figures/ and report.html (report_figures.c, study/figures.h) */
int report_write_figures(const report *r, const char *out, dacc_err *e);

#endif

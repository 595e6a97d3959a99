/* The study's figures (docs/FIGURES.md): hand-written SVG files and a
 * self-contained report.html, drawn from one plain description of a study
 * (dacc_fig_study) that `dacc report` fills from its aggregated rows and the
 * run directory's metrics.jsonl and inspect.json. Every file is written
 * atomically; a study with missing parts still gets valid files with a note. */
#ifndef DACC_STUDY_FIGURES_H
#define DACC_STUDY_FIGURES_H
#include "dacc/err.h"
#include <stdint.h>
#include <stdio.h>

#define DACC_FIG_MAXV 16      /* variants drawn */
#define DACC_FIG_MAXE 1000    /* epochs per curve */
#define DACC_FIG_MAXB 81      /* images per digit: clean + transformed blocks */
#define DACC_FIG_MAXD 32      /* digits */
#define DACC_FIG_MAXS 16      /* deformation scales */

/* A mean with the 95% interval the report's tables print next to it
 * (over seeds; over images when there is one seed: one_seed = 1). */
typedef struct dacc_fig_val {
    double mean, lo, hi; /* NaN when absent; lo/hi NaN when no interval */
} dacc_fig_val;

typedef struct dacc_fig_proto {
    int present;      /* the variant has results for this protocol */
    int n_seeds, blocks;
    int one_seed;     /* intervals over images, not seeds */
    dacc_fig_val clean, xhat, delta;
    double mc_clean_p, mc_xhat_p; /* McNemar against Original; NaN: none */
    int is_ref;
} dacc_fig_proto;

typedef struct dacc_fig_curve {
    int n_epochs;     /* 0: no metrics */
    int n_seeds;      /* seeds that have metrics */
    /* per epoch: mean over seeds and the spread (min..max over seeds) */
    double loss[DACC_FIG_MAXE][3], acc[DACC_FIG_MAXE][3];
    int count[DACC_FIG_MAXE]; /* seeds with this epoch */
} dacc_fig_curve;

typedef struct dacc_fig_variant {
    char name[64];
    dacc_fig_proto pr[2];     /* [0] held-out, [1] paper */
    dacc_fig_curve *curve;    /* owned; NULL without metrics */
    /* delta against deformation scale (held-out), when the study has scales */
    dacc_fig_val scale_delta[DACC_FIG_MAXS];
} dacc_fig_variant;

typedef struct dacc_fig_digit {
    int label;
    long index;        /* in its split */
    char split[16];
    uint8_t img[DACC_FIG_MAXB][784];
    int pred[DACC_FIG_MAXV][DACC_FIG_MAXB]; /* -1: the variant has no entry */
} dacc_fig_digit;

typedef struct dacc_fig_study {
    int nv;
    dacc_fig_variant v[DACC_FIG_MAXV];
    int have_proto[2];
    const char *proto_title[2];
    int blocks;       /* images per digit (clean + transformed) */
    int nd;
    dacc_fig_digit *d; /* owned, [nd] */
    int n_scales;     /* 0: the study has a single deformation scale */
    double scale[DACC_FIG_MAXS];
    /* settings for report.html, "key: value" lines */
    char settings[4096];
    char title[256];
    char notes[4096]; /* what is missing, one sentence per line */
} dacc_fig_study;

void dacc_fig_study_free(dacc_fig_study *s);
void dacc_fig_note(dacc_fig_study *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads the training curves of one task folder (metrics.jsonl) and adds them
 * to variant V's curve (mean and spread over the tasks added). Missing or
 * malformed files add a note, never an error. */
void dacc_fig_add_metrics(dacc_fig_study *s, int v, const char *task_dir);
/* Mean and spread of the curves added (call once after all tasks). */
void dacc_fig_finish_curves(dacc_fig_study *s);
/* Reads the settings of RUN_DIR/study.json (absent: a note). */
void dacc_fig_read_study(dacc_fig_study *s, const char *run_dir);
/* Reads RUN_DIR/inspect.json into the digits (absent: a note). */
void dacc_fig_read_inspect(dacc_fig_study *s, const char *run_dir);

/* The figures as SVG text (malloc'd, NUL-terminated) */
char *dacc_fig_svg_accuracy(const dacc_fig_study *s, size_t *n);
char *dacc_fig_svg_delta(const dacc_fig_study *s, size_t *n);
char *dacc_fig_svg_curves(const dacc_fig_study *s, size_t *n);
char *dacc_fig_svg_digits(const dacc_fig_study *s, size_t *n);
char *dacc_fig_svg_scales(const dacc_fig_study *s, size_t *n); /* NULL: no scales */

/* Writes the SVG files into OUT/figures/ and OUT/report.html. */
int dacc_fig_write_all(const dacc_fig_study *s, const char *out, dacc_err *e);

/* report.html as text (malloc'd). */
char *dacc_fig_html(const dacc_fig_study *s, size_t *n);

#endif

/* `dacc report`: merges finished task folders (from one or several run
 * directories, e.g. shards run on different machines) and writes the study's
 * tables with their uncertainty: results.csv (one row per task and
 * evaluation protocol), summary.csv / summary.json (one row per variant and
 * protocol) and summary.md. Reads only the run-directory files of
 * docs/RUNDIR.md. A task counts only with its DONE marker; anything
 * unreadable is skipped with a reason (never fatal). Statistics: dacc/stats.h;
 * the choices are documented in docs/CLUSTER.md ("What the report computes"). */
#ifndef DACC_REPORT_H
#define DACC_REPORT_H
#include "dacc/err.h"
#include <stdio.h>

/* Evaluation protocols (docs/RUNDIR.md results.json). */
enum { DACC_REPORT_HELDOUT = 1, DACC_REPORT_PAPER = 2, DACC_REPORT_BOTH = 3 };

typedef struct dacc_report_options {
    int protocols;       /* DACC_REPORT_* mask */
    const char *out_dir; /* where the four files go; NULL: the first input */
    FILE *md;            /* the Markdown tables are also printed here, or NULL */
    FILE *log;           /* warnings and skipped tasks as lines, or NULL */
} dacc_report_options;

typedef struct dacc_report_counts {
    int tasks_used, tasks_skipped, duplicates, warnings;
} dacc_report_counts;

/* Returns 0 (also with skipped tasks), or -1 when an input is not a run
 * directory or task folder, no finished task was found, or an output file
 * cannot be written. */
int dacc_report_run(const char *const *dirs, int n_dirs, const dacc_report_options *o,
                    dacc_report_counts *counts, dacc_err *e);

#endif

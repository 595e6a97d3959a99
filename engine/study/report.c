/* dacc report (see include/dacc/report.h and report_agg.h): gather finished
 * tasks from any set of run directories / task folders, merge duplicates,
 * aggregate, and write each output file atomically. Reads only the files of
 * docs/RUNDIR.md, through their owner (rundir.h). */
#include "study/report_agg.h"
#include "dacc/fileio.h"
#include <stdlib.h>
#include <string.h>

const char *const report_proto_name[2] = {"heldout", "paper"};
const char *const report_proto_file[2] = {"predictions.bin", "predictions-paper.bin"};
const char *const report_proto_title[2] = {
    "held-out protocol: MNIST test images and their AlignMNIST transformations",
    "paper protocol: MNIST training images (as the notebook)",
};

/* The output files, in the order they are written. A writer reads only the
 * aggregated report; `echo` also prints the file to options.md. */
typedef struct report_output {
    const char *name;
    void (*write)(const report *r, FILE *f);
    int echo;
} report_output;

static const report_output report_outputs[] = {
    {"results.csv", report_write_results_csv, 0},
    {"summary.csv", report_write_summary_csv, 0},
    {"summary.json", report_write_summary_json, 0},
    {"summary.md", report_write_summary_md, 1},
};

static int write_output(const report *r, const char *dir, const report_output *w, dacc_err *e) {
    char *buf = NULL, path[4400];
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) return dacc_fail(e, "%s: out of memory", w->name);
    w->write(r, f);
    if (fclose(f)) {
        free(buf);
        return dacc_fail(e, "%s: out of memory", w->name);
    }
    if (w->echo && r->o->md) fwrite(buf, 1, n, r->o->md);
    snprintf(path, sizeof path, "%s/%s", dir, w->name);
    int rc = dacc_write_file_atomic(path, buf, n, e);
    free(buf);
    return rc;
}

/* Reads every input and merges; -1 when an input is not a run directory or
 * nothing finished was found. */
static int gather(report *r, const char *const *dirs, int n_dirs, dacc_err *e) {
    int rc = 0;
    for (int i = 0; i < n_dirs && rc == 0; i++) {
        rc = report_read_input(r, dirs[i], e);
        report_strs_add(&r->inputs, "%s", dirs[i]);
    }
    if (rc) return rc;
    report_merge_duplicates(r);
    report_list_unstarted(r);
    if (r->nt == 0) return dacc_fail(e, "no finished task found in %s%s", dirs[0], n_dirs > 1 ? " ..." : "");
    /* settings every merged task should share */
    for (int i = 1; i < r->nt; i++)
        if (r->t[i].settings[0] && r->t[0].settings[0] && strcmp(r->t[i].settings, r->t[0].settings)) {
            report_strs_add(&r->warnings, "%s was run with other settings (%s) than %s (%s): the merge mixes them",
                            r->t[i].path, r->t[i].settings, r->t[0].path, r->t[0].settings);
            break;
        }
    return 0;
}

int dacc_report_run(const char *const *dirs, int n_dirs, const dacc_report_options *o,
                    dacc_report_counts *counts, dacc_err *e) {
    if (n_dirs < 1) return dacc_fail(e, "no run directory given");
    report r;
    memset(&r, 0, sizeof r);
    r.o = o;
    int rc = gather(&r, dirs, n_dirs, e);
    if (rc == 0) rc = report_aggregate(&r, e);
    if (rc == 0) rc = report_aggregate_scales(&r, e);
    const char *out = o->out_dir ? o->out_dir : dirs[0];
    if (rc == 0) rc = dacc_mkdir_p(out, e);
    for (size_t i = 0; rc == 0 && i < sizeof report_outputs / sizeof report_outputs[0]; i++)
        rc = write_output(&r, out, &report_outputs[i], e);
    if (rc == 0) rc = report_write_figures(&r, out, e);
    if (o->log) {
        for (int i = 0; i < r.skipped.n; i++) fprintf(o->log, "skipped %s\n", r.skipped.s[i]);
        for (int i = 0; i < r.warnings.n; i++) fprintf(o->log, "warning: %s\n", r.warnings.s[i]);
    }
    if (counts) {
        counts->tasks_used = r.nt;
        counts->tasks_skipped = r.skipped.n;
        counts->duplicates = r.duplicates;
        counts->warnings = r.warnings.n;
    }
    report_free(&r);
    return rc;
}

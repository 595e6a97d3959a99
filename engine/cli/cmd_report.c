/* dacc report: merge finished tasks of one or more run directories (shards,
 * machines) into results.csv, summary.csv, summary.json and summary.md, the
 * figures and report.html, and print the Markdown tables. Reads only the run directory files. */
#include "cli.h"
#include "commands.h"
#include "dacc/report.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
        "usage: dacc report DIR... [--out OUTDIR] [--protocol heldout|paper|both]\n\n"
        "Merges the finished tasks (those with a DONE marker) of every DIR, where a\n"
        "DIR is a run directory (with tasks/) or a single task folder; run\n"
        "directories of different shards or machines can be given together. A task\n"
        "found twice is kept once (a warning if the two disagree); unfinished or\n"
        "unreadable tasks are listed as skipped with the reason.\n\n"
        "Writes results.csv (per task), summary.csv, summary.json and summary.md\n"
        "(per variant: mean over seeds with 95%% t-intervals, relative robustness\n"
        "x^/x, error ratios and relative delta error against Original, McNemar\n"
        "tests against Original on the same images) into OUTDIR, and prints the\n"
        "Markdown tables. Also writes OUTDIR/figures/*.svg (accuracy, delta,\n"
        "training curves, digits) and OUTDIR/report.html, one self-contained page\n"
        "(docs/FIGURES.md). See docs/CLUSTER.md for what each number is.\n\n"
        "  --out OUTDIR       where the files go (default: the first DIR)\n"
        "  --protocol P       heldout (test images), paper (training images, as the\n"
        "                     notebook) or both (default)\n"
        "  --quiet            do not print the tables\n\n"
        "Exit codes: 0 written (also with skipped tasks), 1 error, 2 usage.\n");
}

int cmd_report(int argc, char **argv) {
    dacc_report_options o = {DACC_REPORT_BOTH, NULL, stdout, stderr};
    const char **dirs = calloc((size_t)argc + 1, sizeof *dirs);
    int n = 0, quiet = 0;
    if (!dirs) return 1;
    for (int i = 1; i < argc; i++) {
        int miss = 0;
        const char *v;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            free(dirs);
            return 0;
        } else if (!strcmp(argv[i], "--quiet")) {
            quiet = 1;
        } else if ((v = cli_value(argc, argv, &i, "--out", &miss))) {
            o.out_dir = v;
        } else if ((v = cli_value(argc, argv, &i, "--protocol", &miss))) {
            if (!strcmp(v, "heldout")) o.protocols = DACC_REPORT_HELDOUT;
            else if (!strcmp(v, "paper")) o.protocols = DACC_REPORT_PAPER;
            else if (!strcmp(v, "both")) o.protocols = DACC_REPORT_BOTH;
            else {
                fprintf(stderr, "dacc report: --protocol %s: use heldout, paper or both\n", v);
                free(dirs);
                return 2;
            }
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "dacc report: %s '%s' (try --help)\n", miss ? "missing value for" : "unknown option",
                    argv[i]);
            free(dirs);
            return 2;
        } else {
            dirs[n++] = argv[i];
        }
    }
    if (!n) {
        fprintf(stderr, "dacc report: give at least one run directory (try --help)\n");
        free(dirs);
        return 2;
    }
    if (quiet) o.md = NULL;
    dacc_err e;
    dacc_report_counts c;
    int rc = dacc_report_run(dirs, n, &o, &c, &e);
    const char *out = o.out_dir ? o.out_dir : dirs[0];
    free(dirs);
    if (rc) return cli_error("report", 1, &e);
    fprintf(stderr, "dacc report: %d task%s, %d skipped, %d duplicate%s, %d warning%s; wrote %s/summary.md, "
                    "summary.csv, summary.json, results.csv, report.html, figures/\n",
            c.tasks_used, c.tasks_used == 1 ? "" : "s", c.tasks_skipped, c.duplicates, c.duplicates == 1 ? "" : "s",
            c.warnings, c.warnings == 1 ? "" : "s", out);
    return 0;
}

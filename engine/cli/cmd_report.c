/* dacc report: merge finished tasks of one or more run directories (shards,
 * machines) into results.csv, summary.csv, summary.json and summary.md, and
 * print the Markdown tables. Reads only the run directory files. */
#include "cli.h"
#include "commands.h"
#include "flags.h"
#include "dacc/report.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const flag_use report_flags[] = {
    {F_OUT, "where the files go (default: the first DIR)", NULL, "OUTDIR", 0},
    {F_REPORT_PROTOCOL, NULL, NULL, NULL, 0},
    {F_QUIET, "do not print the tables", NULL, NULL, 0},
    {F_HELP, NULL, NULL, NULL, 0},
};

static const flag_command report_cmd = {
    "report", "usage: dacc report DIR... [--out OUTDIR] [--protocol heldout|paper|both]",
    "Merges the finished tasks (those with a DONE marker) of every DIR, where a\n"
    "DIR is a run directory (with tasks/) or a single task folder; run\n"
    "directories of different shards or machines can be given together. A task\n"
    "found twice is kept once (a warning if the two disagree); unfinished or\n"
    "unreadable tasks are listed as skipped with the reason.\n\n"
    "Writes results.csv (per task), summary.csv, summary.json and summary.md\n"
    "(per variant: mean over seeds with 95% t-intervals, relative robustness\n"
    "x^/x, error ratios and relative delta error against Original, McNemar\n"
    "tests against Original on the same images) into OUTDIR, and prints the\n"
    "Markdown tables. See docs/CLUSTER.md for what each number is.\n",
    report_flags, sizeof report_flags / sizeof report_flags[0],
    "Exit codes: 0 written (also with skipped tasks), 1 error, 2 usage.\n",
    FLAG_MAX_POSITIONAL, "DIR"};

int cmd_report(int argc, char **argv) {
    static const int protocols[] = {DACC_REPORT_HELDOUT, DACC_REPORT_PAPER, DACC_REPORT_BOTH};
    flag_values v;
    int code = flags_parse(&report_cmd, argc, argv, &v);
    if (code >= 0) return code;
    if (!v.npos) return flags_usage_error(&report_cmd, "give at least one run directory (try --help)");
    dacc_report_options o = {protocols[v.i[F_REPORT_PROTOCOL]], v.set[F_OUT] ? v.s[F_OUT] : NULL,
                              v.set[F_QUIET] ? NULL : stdout, stderr};
    dacc_err e;
    dacc_report_counts c;
    int rc = dacc_report_run((const char *const *)v.pos, v.npos, &o, &c, &e);
    const char *out = o.out_dir ? o.out_dir : v.pos[0];
    if (rc) return cli_error("report", 1, &e);
    fprintf(stderr, "dacc report: %d task%s, %d skipped, %d duplicate%s, %d warning%s; wrote %s/summary.md, "
                    "summary.csv, summary.json, results.csv\n",
            c.tasks_used, c.tasks_used == 1 ? "" : "s", c.tasks_skipped, c.duplicates, c.duplicates == 1 ? "" : "s",
            c.warnings, c.warnings == 1 ? "" : "s", out);
    return 0;
}

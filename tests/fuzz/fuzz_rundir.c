/* libFuzzer target: the run directory as it is read while a study runs:
 * the JSON parser, metrics lines, results.json, and the dashboard's reader
 * (tui/rundir.c) over a folder made from the input. Parts are separated by
 * "@@@\n": study.json, progress.json, tasks/t1/metrics.jsonl,
 * tasks/t1/results.json, inspect.json. */
#include "core/json.h"
#include "dacc/rundir.h"
#include "fuzz_util.h"
#include "rundir.h" /* tui/ */

#include <string.h>
#include <sys/stat.h>

static void walk(const dacc_jv *v, int depth) {
    if (!v || depth > DACC_J_MAX_DEPTH + 1) abort(); /* deeper than the parser allows */
    for (const dacc_jv *c = v->child; c; c = c->next) walk(c, depth + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *part[5];
    size_t len[5];
    int np = fuzz_split(data, size, part, len, 5);
    char err[160];
    for (int k = 0; k < np; k++) {
        dacc_jdoc *d = dacc_json_parse((const char *)part[k], len[k], err, sizeof err);
        if (d) walk(dacc_json_root(d), 0);
        dacc_json_free(d);
    }
    static tr_epoch ep[TR_MAX_EPOCHS];
    int bad = 0;
    if (np > 2 && tr_parse_metrics((const char *)part[2], len[2], ep, TR_MAX_EPOCHS, &bad) > TR_MAX_EPOCHS)
        abort();
    if (np > 3) {
        dacc_rd_results r;
        const char *where;
        if (dacc_rd_parse_results((const char *)part[3], len[3], &r, err, sizeof err) == 0)
            dacc_rd_check_results(&r, err, sizeof err, &where);
    }
    const char *dir = fuzz_path("run");
    char tasks[200], t1[220];
    snprintf(tasks, sizeof tasks, "%s/tasks", dir);
    snprintf(t1, sizeof t1, "%s/t1", tasks);
    mkdir(dir, 0700);
    mkdir(tasks, 0700);
    mkdir(t1, 0700);
    fuzz_put(dir, "study.json", 0, np, part, len);
    fuzz_put(dir, "progress.json", 1, np, part, len);
    fuzz_put(t1, "metrics.jsonl", 2, np, part, len);
    fuzz_put(t1, "results.json", 3, np, part, len);
    fuzz_put(dir, "inspect.json", 4, np, part, len);
    tr_run *run;
    dacc_err e;
    if (tr_run_open(&run, dir, &e) == 0) {
        tr_run_refresh(run);
        tr_run_free(run);
    }
    return 0;
}

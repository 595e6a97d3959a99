/* libFuzzer target for the run directory's readers (engine/study/rundir_*.c,
 * the one owner, and core/json.c). The first byte picks what is fuzzed:
 *   0  results.json text: parse, then the report's strict check
 *   1  metrics.jsonl text
 *   2  study.json: the task list
 *   3  a whole run directory, as the dashboard reads it while a study runs:
 *      parts separated by "@@@\n" become study.json, progress.json,
 *      tasks/t1/metrics.jsonl, tasks/t1/results.json and inspect.json; each
 *      part is also parsed as JSON and walked.
 * Build and run with scripts/fuzz (docs/FUZZING.md). */
#include "study/rundir.h"
#include "fuzz_util.h"

#include <sys/stat.h>

static int count_task(void *u, const char *id, const char *variant, uint64_t seed) {
    (void)id, (void)variant, (void)seed;
    ++*(int *)u;
    return 0;
}

static void walk(const dacc_jv *v, int depth) {
    if (!v || depth > DACC_J_MAX_DEPTH + 1) abort(); /* deeper than the parser allows */
    for (const dacc_jv *c = v->child; c; c = c->next) walk(c, depth + 1);
}

static void run_dir(const uint8_t *data, size_t size) {
    const uint8_t *part[5];
    size_t len[5];
    const char *dir;
    char t1[220];
    int np = fuzz_run_dir("run", data, size, part, len, 5, &dir, t1, sizeof t1);
    char err[160];
    for (int k = 0; k < np; k++) {
        dacc_jdoc *d = dacc_json_parse((const char *)part[k], len[k], err, sizeof err);
        if (d) walk(dacc_json_root(d), 0);
        dacc_json_free(d);
    }
    fuzz_put(dir, "study.json", 0, np, part, len);
    fuzz_put(dir, "progress.json", 1, np, part, len);
    fuzz_put(t1, "metrics.jsonl", 2, np, part, len);
    fuzz_put(t1, "results.json", 3, np, part, len);
    fuzz_put(dir, "inspect.json", 4, np, part, len);
    dacc_rd_run *run;
    dacc_err e;
    if (dacc_rd_run_open(&run, dir, &e) == 0) {
        dacc_rd_run_refresh(run);
        dacc_rd_study_fraction(run);
        dacc_rd_run_free(run);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 4) {
    case 0: {
        dacc_rd_results r;
        char why[128];
        const char *where;
        if (dacc_rd_parse_results(s, n, &r, why, sizeof why) == 0) dacc_rd_check_results(&r, why, sizeof why, &where);
        break;
    }
    case 1: {
        static dacc_rd_epoch ep[DACC_RD_MAX_EPOCHS];
        int bad;
        if (dacc_rd_parse_metrics(s, n, ep, DACC_RD_MAX_EPOCHS, &bad) > DACC_RD_MAX_EPOCHS) abort();
        break;
    }
    case 2: {
        dacc_jdoc *d = dacc_json_parse(s, n, NULL, 0);
        int count = 0;
        dacc_rd_study_tasks(dacc_json_root(d), count_task, &count);
        dacc_json_free(d);
        break;
    }
    default:
        run_dir(data + 1, size - 1);
        break;
    }
    return 0;
}

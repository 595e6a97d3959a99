/* dacc plan: the tasks a `dacc run` with the same flags would have, in run
 * order, with their ids and the shard that runs each; with --out, whether
 * each is already done there. Trains nothing and needs no data. */
#include "cli.h"
#include "commands.h"
#include "dacc/study.h"
#include "study_flags.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f) {
    fprintf(f,
        "usage: dacc plan [the study flags of dacc run] [--mine]\n\n"
        "Lists the tasks of the study in the order dacc run works through them\n"
        "(seed-major: every variant of seed 1, then of seed 2, ...) with their ids\n"
        "(<nn>-<variant>-s<seed>, the folder under tasks/) and the shard that runs\n"
        "each (index %% N). With --out DIR, also each task's state in DIR.\n\n"
        "  --variants LIST    as dacc run (default: the six presets)\n"
        "  --seeds N|LIST     as dacc run (default 1)\n"
        "  --shard I/N        mark (*) the tasks shard I of N runs (default from\n"
        "                     SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT)\n"
        "  --out DIR          show done / started / - for each task in DIR\n"
        "  --mine             list only the tasks of this shard\n\n"
        "The other flags of dacc run are accepted (and ignored), so a run's\n"
        "command line can be reused as it is.\n");
}

/* dacc run flags that do not change the task list. */
static const char *const ignored_value_flags[] = {
    "--epochs", "--batch", "--lr", "--protocol", "--threads", "--train-limit", "--blocks",
    "--data", "--alignmnist", "--alignmnist-test",
};
static const char *const ignored_bool_flags[] = {"--plain", "--no-color", "--no-align"};

static const char *task_state(const char *out, const char *id) {
    char p[4400];
    struct stat st;
    snprintf(p, sizeof p, "%s/tasks/%s/DONE", out, id);
    if (stat(p, &st) == 0) return "done";
    snprintf(p, sizeof p, "%s/tasks/%s", out, id);
    if (stat(p, &st) == 0) return "started";
    return "-";
}

int cmd_plan(int argc, char **argv) {
    dacc_study_config *c = calloc(1, sizeof *c);
    dacc_task *tasks = calloc(DACC_MAX_VARIANTS * DACC_MAX_SEEDS, sizeof *tasks);
    if (!c || !tasks) {
        free(c);
        free(tasks);
        return 1;
    }
    study_flags_defaults(c);
    const char *out = NULL, *v;
    int mine_only = 0, code = -1, shard_given = c->shard_n > 1;
    dacc_err e;
    for (int i = 1; i < argc && code < 0; i++) {
        int miss = 0, done = 0;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            code = 0;
            break;
        } else if (!strcmp(argv[i], "--mine")) {
            mine_only = 1;
        } else if ((v = cli_value(argc, argv, &i, "--variants", &miss))) {
            if (study_flags_variants(v, c, &e)) code = cli_error("plan", 2, &e);
        } else if ((v = cli_value(argc, argv, &i, "--seeds", &miss))) {
            if (study_flags_seeds(v, c, &e)) code = cli_error("plan", 2, &e);
        } else if ((v = cli_value(argc, argv, &i, "--shard", &miss))) {
            if (study_flags_shard(v, &c->shard_i, &c->shard_n, &e)) code = cli_error("plan", 2, &e);
            shard_given = 1;
        } else if ((v = cli_value(argc, argv, &i, "--out", &miss))) {
            out = v;
        } else {
            for (size_t k = 0; !done && !miss && k < sizeof ignored_value_flags / sizeof *ignored_value_flags; k++)
                done = cli_value(argc, argv, &i, ignored_value_flags[k], &miss) != NULL;
            for (size_t k = 0; !done && k < sizeof ignored_bool_flags / sizeof *ignored_bool_flags; k++)
                done = !strcmp(argv[i], ignored_bool_flags[k]);
            if (!done) {
                fprintf(stderr, "dacc plan: %s '%s' (try --help)\n", miss ? "missing value for" : "unknown option",
                        argv[i]);
                code = 2;
            }
        }
        if (miss && code < 0) {
            fprintf(stderr, "dacc plan: missing value for '%s' (try --help)\n", argv[i]);
            code = 2;
        }
    }
    if (code >= 0) {
        free(c);
        free(tasks);
        return code;
    }
    int n = dacc_study_tasks(c, tasks, DACC_MAX_VARIANTS * DACC_MAX_SEEDS), mine = 0;
    for (int t = 0; t < n; t++) mine += tasks[t].index % c->shard_n == c->shard_i;
    printf("%d task%s: %d variant%s x %d seed%s, in this order", n, n == 1 ? "" : "s", c->n_variants,
           c->n_variants == 1 ? "" : "s", c->n_seeds, c->n_seeds == 1 ? "" : "s");
    if (c->shard_n > 1) printf("; %d shards, shard %d/%d runs %d (*)", c->shard_n, c->shard_i, c->shard_n, mine);
    printf("\n%5s  %-32s %-14s %6s %5s%s\n", "index", "id", "variant", "seed", "shard", out ? "  state" : "");
    for (int t = 0; t < n; t++) {
        const dacc_task *k = &tasks[t];
        int is_mine = k->index % c->shard_n == c->shard_i;
        if (mine_only && !is_mine) continue;
        printf("%5d  %-32s %-14s %6llu %5d", k->index, k->id, k->variant.name, (unsigned long long)k->seed,
               k->index % c->shard_n);
        if (out) printf("  %-7s", task_state(out, k->id));
        printf("%s\n", shard_given && c->shard_n > 1 && is_mine ? "  *" : "");
    }
    free(c);
    free(tasks);
    return 0;
}

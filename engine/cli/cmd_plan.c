/* dacc plan: the tasks a `dacc run` with the same flags would have, in run
 * order, with their ids and the shard that runs each; with --out, whether
 * each is already done there. Trains nothing and needs no data. */
#include "cli.h"
#include "flags.h"
#include "commands.h"
#include "dacc/study.h"
#include "study_flags.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* plan's own flags; every other flag of dacc run is accepted (and checked)
 * too, unlisted, so a run's command line can be reused as it is. */
static const flag_use plan_own[] = {
    {F_VARIANTS, "as dacc run (default: the six presets)", NULL, NULL, 0},
    {F_SEEDS, "as dacc run", NULL, NULL, 0},
    {F_SHARD, "mark (*) the tasks shard I of N runs (default from\n"
              "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT)", NULL, NULL, 0},
    {F_OUT, "show done / started / - for each task in DIR", NULL, NULL, 0},
    {F_MINE, NULL, NULL, NULL, 0},
    {F_HELP, NULL, NULL, NULL, 0},
};
static const flag_command plan_cmd = {
    "plan", "usage: dacc plan [the study flags of dacc run] [--mine]",
    "Lists the tasks of the study in the order dacc run works through them\n"
    "(seed-major: every variant of seed 1, then of seed 2, ...) with their ids\n"
    "(<nn>-<variant>-s<seed>, the folder under tasks/) and the shard that runs\n"
    "each (index % N). With --out DIR, also each task's state in DIR. With\n"
    "--scales, the deformation scales every finished task is evaluated at.\n",
    plan_own, sizeof plan_own / sizeof plan_own[0],
    "The other flags of dacc run are accepted (and ignored), so a run's\n"
    "command line can be reused as it is.\n",
    0, NULL};

/* plan's own flags, then dacc run's others, hidden, into uses (F_COUNT
 * entries); returns their number. */
static int plan_uses(flag_use *uses) {
    int n = 0;
    for (size_t k = 0; k < sizeof plan_own / sizeof plan_own[0]; k++) uses[n++] = plan_own[k];
    for (int k = 0; k < run_cmd.nflags && n < F_COUNT; k++) {
        int have = 0;
        for (int j = 0; j < n; j++) have |= uses[j].id == run_cmd.flags[k].id;
        if (!have) uses[n++] = (flag_use){run_cmd.flags[k].id, NULL, NULL, NULL, 1};
    }
    return n;
}

static const char *task_state(const char *out, const char *id) {
    char p[4400];
    struct stat st;
    snprintf(p, sizeof p, "%s/tasks/%s/DONE", out, id);
    if (stat(p, &st) == 0) return "done";
    snprintf(p, sizeof p, "%s/tasks/%s", out, id);
    if (stat(p, &st) == 0) return "started";
    return "-";
}

static void plan_print(const dacc_study_config *c, const dacc_task *tasks, int n, const char *out,
                       int mine_only, int shard_given) {
    int mine = 0;
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
    if (c->n_scales > 0) {
        printf("each finished task is also evaluated at deformation scale%s",
               c->n_scales == 1 ? "" : "s");
        for (int i = 0; i < c->n_scales; i++) printf("%s%g", i ? ", " : " ", c->scales[i]);
        printf(" (--scales; results in tasks/<id>/scales.json)\n");
    }
}

int cmd_plan(int argc, char **argv) {
    flag_values v;
    flag_use uses[F_COUNT];
    flag_command cmd = plan_cmd;
    cmd.flags = uses;
    cmd.nflags = plan_uses(uses);
    int code = flags_parse(&cmd, argc, argv, &v);
    if (code >= 0) return code;
    dacc_study_config *c = calloc(1, sizeof *c);
    dacc_task *tasks = calloc(DACC_MAX_VARIANTS * DACC_MAX_SEEDS, sizeof *tasks);
    dacc_err e;
    if (!c || !tasks) {
        code = 1;
    } else if (study_flags_apply(&v, c, &e) ||
               (v.set[F_SCALES] && study_flags_scales(v.s[F_SCALES], c->scales, &c->n_scales, &e))) {
        code = cli_error("plan", 2, &e);
    } else {
        int n = dacc_study_tasks(c, tasks, DACC_MAX_VARIANTS * DACC_MAX_SEEDS);
        plan_print(c, tasks, n, v.s[F_OUT], v.set[F_MINE], v.set[F_SHARD] || c->shard_n > 1);
        code = 0;
    }
    free(c);
    free(tasks);
    return code;
}

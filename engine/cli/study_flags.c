/* Study flags shared by dacc run and dacc plan (see study_flags.h). */
#include "study_flags.h"
#include "cli.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void study_flags_defaults(dacc_study_config *c) {
    c->n_variants = 0;
    for (int i = 0; i < DACC_N_PRESETS; i++) dacc_variant_preset(dacc_preset_names[i], &c->variants[c->n_variants++]);
    c->n_seeds = 0;
    c->seeds[c->n_seeds++] = 1;
    c->blocks = 5;
    c->shard_i = 0;
    c->shard_n = 1;
    /* array ids run MIN, MIN+STEP, ...: the shard is the position in that list */
    const char *sid = getenv("SLURM_ARRAY_TASK_ID"), *scount = getenv("SLURM_ARRAY_TASK_COUNT");
    const char *smin = getenv("SLURM_ARRAY_TASK_MIN"), *sstep = getenv("SLURM_ARRAY_TASK_STEP");
    if (sid && scount && atoi(scount) > 0) {
        int id = atoi(sid), lo = smin ? atoi(smin) : 0, step = sstep && atoi(sstep) > 0 ? atoi(sstep) : 1;
        c->shard_n = atoi(scount);
        c->shard_i = ((id - lo) / step) % c->shard_n;
        if (c->shard_i < 0) c->shard_i += c->shard_n;
    }
}

int study_flags_variants(const char *list, dacc_study_config *c, dacc_err *e) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", list) >= (int)sizeof buf) return dacc_fail(e, "--variants: list too long");
    c->n_variants = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
        if (c->n_variants >= DACC_MAX_VARIANTS) return dacc_fail(e, "--variants: at most %d", DACC_MAX_VARIANTS);
        if (dacc_variant_parse(tok, &c->variants[c->n_variants], e)) return -1;
        for (int i = 0; i < c->n_variants; i++)
            if (!strcmp(c->variants[i].name, c->variants[c->n_variants].name))
                return dacc_fail(e, "--variants: two variants are named %s (give name=...)", c->variants[i].name);
        c->n_variants++;
    }
    if (!c->n_variants) return dacc_fail(e, "--variants: empty list");
    return 0;
}

int study_flags_seeds(const char *v, dacc_study_config *c, dacc_err *e) {
    c->n_seeds = 0;
    if (!strchr(v, ',')) {
        long n;
        if (cli_int("--seeds", v, 1, DACC_MAX_SEEDS, &n, e)) return -1;
        for (long i = 1; i <= n; i++) c->seeds[c->n_seeds++] = (uint64_t)i;
        return 0;
    }
    char buf[512];
    if (snprintf(buf, sizeof buf, "%s", v) >= (int)sizeof buf) return dacc_fail(e, "--seeds: list too long");
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        long s;
        if (c->n_seeds >= DACC_MAX_SEEDS) return dacc_fail(e, "--seeds: at most %d", DACC_MAX_SEEDS);
        if (cli_int("--seeds", tok, 0, 2147483647L, &s, e)) return -1;
        c->seeds[c->n_seeds++] = (uint64_t)s;
    }
    if (!c->n_seeds) return dacc_fail(e, "--seeds: empty list");
    return 0;
}

int study_flags_shard(const char *v, int *i, int *n, dacc_err *e) {
    int a, b;
    char extra;
    if (sscanf(v, "%d/%d%c", &a, &b, &extra) != 2 || b < 1 || a < 0 || a >= b)
        return dacc_fail(e, "--shard %s: expected I/N with 0 <= I < N", v);
    *i = a;
    *n = b;
    return 0;
}

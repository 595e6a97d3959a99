/* Study flags shared by dacc run and dacc plan (see study_flags.h). */
#include "study_flags.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define I32_MAX 2147483647LL
#define I32_MIN (-2147483647LL - 1)

int study_flags_slurm(const char *id, const char *count, const char *min, const char *step, int *i,
                      int *n, dacc_err *e) {
    long long vid, vcount, vmin = 0, vstep = 1;
    if (flag_parse_int("SLURM_ARRAY_TASK_ID", id, I32_MIN, I32_MAX, &vid, e) ||
        flag_parse_int("SLURM_ARRAY_TASK_COUNT", count, 1, I32_MAX, &vcount, e) ||
        (min && flag_parse_int("SLURM_ARRAY_TASK_MIN", min, I32_MIN, I32_MAX, &vmin, e)) ||
        (step && flag_parse_int("SLURM_ARRAY_TASK_STEP", step, 1, I32_MAX, &vstep, e)))
        return -1;
    long long shard = ((vid - vmin) / vstep) % vcount;
    if (shard < 0) shard += vcount;
    *i = (int)shard;
    *n = (int)vcount;
    return 0;
}

int study_flags_defaults(dacc_study_config *c, dacc_err *e) {
    c->n_variants = 0;
    for (int i = 0; i < DACC_N_PRESETS; i++) dacc_variant_preset(dacc_preset_names[i], &c->variants[c->n_variants++]);
    c->n_seeds = 0;
    c->seeds[c->n_seeds++] = 1;
    c->blocks = 5;
    c->shard_i = 0;
    c->shard_n = 1;
    const char *sid = getenv("SLURM_ARRAY_TASK_ID"), *scount = getenv("SLURM_ARRAY_TASK_COUNT");
    if (!sid || !scount) return 0;
    return study_flags_slurm(sid, scount, getenv("SLURM_ARRAY_TASK_MIN"), getenv("SLURM_ARRAY_TASK_STEP"),
                             &c->shard_i, &c->shard_n, e);
}

int study_flags_apply(const flag_values *v, dacc_study_config *c, dacc_err *e) {
    /* an explicit --shard wins over the environment, even a broken one */
    if (study_flags_defaults(c, e) && !v->set[F_SHARD]) return -1;
    if (v->set[F_VARIANTS] && study_flags_variants(v->s[F_VARIANTS], c, e)) return -1;
    if (v->set[F_SEEDS] && study_flags_seeds(v->s[F_SEEDS], c, e)) return -1;
    if (v->set[F_SHARD] && study_flags_shard(v->s[F_SHARD], &c->shard_i, &c->shard_n, e)) return -1;
    return 0;
}

int study_flags_variants(const char *list, dacc_study_config *c, dacc_err *e) {
    char buf[FLAG_TEXT_MAX + 1];
    if (snprintf(buf, sizeof buf, "%s", list) >= (int)sizeof buf)
        return dacc_fail(e, "--variants: list too long (expected at most %d characters)", FLAG_TEXT_MAX);
    c->n_variants = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
        if (c->n_variants >= DACC_MAX_VARIANTS)
            return dacc_fail(e, "--variants: too many (expected at most %d)", DACC_MAX_VARIANTS);
        if (dacc_variant_parse(tok, &c->variants[c->n_variants], e)) return -1;
        for (int i = 0; i < c->n_variants; i++)
            if (!strcmp(c->variants[i].name, c->variants[c->n_variants].name))
                return dacc_fail(e, "--variants: two variants are named %s (expected distinct names; give name=...)",
                                 c->variants[i].name);
        c->n_variants++;
    }
    if (!c->n_variants) return dacc_fail(e, "--variants: empty list (expected at least one variant)");
    return 0;
}

int study_flags_seeds(const char *v, dacc_study_config *c, dacc_err *e) {
    c->n_seeds = 0;
    if (!strchr(v, ',')) {
        long long n;
        if (flag_parse_int("--seeds", v, 1, DACC_MAX_SEEDS, &n, e)) return -1;
        for (long long i = 1; i <= n; i++) c->seeds[c->n_seeds++] = (uint64_t)i;
        return 0;
    }
    char buf[512];
    if (snprintf(buf, sizeof buf, "%s", v) >= (int)sizeof buf)
        return dacc_fail(e, "--seeds: list too long (expected at most %d seeds)", DACC_MAX_SEEDS);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        long long s;
        if (c->n_seeds >= DACC_MAX_SEEDS)
            return dacc_fail(e, "--seeds: too many (expected at most %d)", DACC_MAX_SEEDS);
        if (flag_parse_int("--seeds", tok, 0, I32_MAX, &s, e)) return -1;
        c->seeds[c->n_seeds++] = (uint64_t)s;
    }
    if (!c->n_seeds) return dacc_fail(e, "--seeds: empty list (expected N or a comma list)");
    return 0;
}

int study_flags_shard(const char *v, int *i, int *n, dacc_err *e) {
    const char *slash = strchr(v, '/');
    char a[32];
    long long si, sn;
    dacc_err inner;
    if (!slash || (size_t)(slash - v) >= sizeof a)
        return dacc_fail(e, "--shard: '%.60s' is not I/N (expected I/N with 0 <= I < N)", v);
    memcpy(a, v, (size_t)(slash - v));
    a[slash - v] = 0;
    if (flag_parse_int("N", slash + 1, 1, I32_MAX, &sn, &inner) || flag_parse_int("I", a, 0, I32_MAX, &si, &inner))
        return dacc_fail(e, "--shard: '%.60s': %s", v, inner.msg);
    if (si >= sn) return dacc_fail(e, "--shard: '%.60s': I is not below N (expected I/N with 0 <= I < N)", v);
    *i = (int)si;
    *n = (int)sn;
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int study_flags_scales(const char *list, double *out, int *n, dacc_err *e) {
    char buf[512];
    if (snprintf(buf, sizeof buf, "%s", list) >= (int)sizeof buf)
        return dacc_fail(e, "--scales: list too long (expected at most %d scales)", DACC_MAX_SCALES);
    *n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        double s;
        if (*n >= DACC_MAX_SCALES) return dacc_fail(e, "--scales: too many (expected at most %d)", DACC_MAX_SCALES);
        if (flag_parse_real("--scales", tok, 0, 10, &s, e)) return -1;
        for (int i = 0; i < *n; i++)
            if (out[i] == s) return dacc_fail(e, "--scales: %g is given twice (expected distinct scales)", s);
        out[(*n)++] = s;
    }
    if (!*n) return dacc_fail(e, "--scales: empty list (expected numbers such as 0,0.5,1)");
    qsort(out, (size_t)*n, sizeof *out, cmp_double);
    return 0;
}

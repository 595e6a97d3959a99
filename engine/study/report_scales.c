/* `dacc report`, robustness as a curve (see report_agg.h): every task's
 * scales.json (written by dacc run --scales), aggregated per variant,
 * protocol and scale with the intervals the main tables use (t over seeds;
 * with one seed the paired per-image interval from the histogram), and
 * their parts of summary.csv, summary.json and summary.md. */
#include "study/report_agg.h"
#include "study/rundir.h"
#include "core/json.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void report_read_scales(report *r, report_task *t) {
    dacc_rd_scales *s = malloc(sizeof *s);
    dacc_err e;
    int rc = s ? dacc_rd_read_scales(t->path, s, &e) : -1;
    if (rc < 0) report_strs_add(&r->warnings, "%s: scales.json ignored (%s)", t->id, s ? e.msg : "out of memory");
    else if (rc == 0 && s->dropped)
        report_strs_add(&r->warnings, "%s: scales.json: %d invalid entr%s ignored", t->id, s->dropped,
                        s->dropped == 1 ? "y" : "ies");
    if (rc == 0 && s->n && !dacc_rd_config_has_key(t->path, s->key)) {
        report_strs_add(&r->warnings, "%s: scales.json was written for other settings than config.json's: ignored",
                        t->id);
        rc = 1;
    }
    if (rc == 0 && s->n && (t->sc = calloc((size_t)s->n, sizeof *t->sc))) {
        t->ns = s->n;
        for (int i = 0; i < s->n; i++) {
            const dacc_rd_scale *x = &s->s[i];
            report_scale *y = &t->sc[i];
            y->scale = x->scale;
            for (int k = 0; k < 2; k++) { /* report k: 0 held-out, 1 paper, as DACC_RD_* */
                const dacc_rd_proto *p = &x->proto[k];
                if (!(y->present[k] = p->has && (r->o->protocols & (1 << k)))) continue;
                y->clean[k] = p->clean, y->xhat[k] = p->xhat, y->delta[k] = p->delta;
                y->nb[k] = p->ny;
                y->n[k] = p->n;
                y->nhist[k] = p->ny <= REPORT_MAXB ? x->nhist[k] : 0;
                memcpy(y->hist[k], x->hist[k], sizeof(int64_t) * (size_t)y->nhist[k]);
            }
        }
    }
    free(s);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The union of the tasks' scales, ascending (at most REPORT_MAXS). */
static void collect_scales(report *r) {
    r->ns = 0;
    for (int i = 0; i < r->nt; i++)
        for (int j = 0; j < r->t[i].ns; j++) {
            double s = r->t[i].sc[j].scale;
            int have = 0;
            for (int q = 0; q < r->ns; q++) have |= r->scales[q] == s;
            if (have) continue;
            if (r->ns == REPORT_MAXS) {
                report_strs_add(&r->warnings, "more than %d deformation scales: scale %g left out", REPORT_MAXS, s);
                continue;
            }
            r->scales[r->ns++] = s;
        }
    qsort(r->scales, (size_t)r->ns, sizeof *r->scales, cmp_double);
}

static const report_scale *task_scale(const report_task *t, double s) {
    for (int j = 0; j < t->ns; j++)
        if (t->sc[j].scale == s) return &t->sc[j];
    return NULL;
}

static void clip(dacc_interval *i, double lo, double hi) {
    if (!i->ok) return;
    if (i->lo < lo) i->lo = lo;
    if (i->hi > hi) i->hi = hi;
}

/* Variant v's seeds at scale i in protocol k. */
static void summarize_scale(const report *r, int k, int v, int i, report_srow *w) {
    double c[DACC_RD_MAX_TASKS], x[DACC_RD_MAX_TASKS], d[DACC_RD_MAX_TASKS];
    const report_scale *one = NULL;
    int end;
    memset(w, 0, sizeof *w);
    w->one_xhat = w->one_delta = (dacc_interval){NAN, NAN, 0};
    for (int q = report_range(r, r->names[v], &end); q < end && w->n < DACC_RD_MAX_TASKS; q++) {
        const report_scale *y = task_scale(&r->t[r->by_key[q]], r->scales[i]);
        if (!y || !y->present[k]) continue;
        c[w->n] = y->clean[k], x[w->n] = y->xhat[k], d[w->n] = y->delta[k];
        w->n_images = y->n[k];
        w->nb = y->nb[k];
        one = y;
        w->n++;
    }
    w->clean = dacc_mean_ci_of(c, w->n);
    w->xhat = dacc_mean_ci_of(x, w->n);
    w->delta = dacc_mean_ci_of(d, w->n);
    clip(&w->clean.ci, 0, 1);
    clip(&w->xhat.ci, 0, 1);
    clip(&w->delta.ci, -1, 1);
    if (w->n == 1 && one->nhist[k] == 2 * (one->nb[k] + 1)) {
        w->one_xhat = dacc_xhat_interval(one->hist[k], one->nb[k]).ci;
        w->one_delta = dacc_paired_delta(one->hist[k], one->nb[k]).ci;
    }
}

int report_aggregate_scales(report *r, dacc_err *e) {
    collect_scales(r);
    if (!r->ns) return 0;
    for (int k = 0; k < 2; k++) {
        r->srows[k] = calloc((size_t)(r->nv * r->ns + 1), sizeof **r->srows);
        if (!r->srows[k]) return dacc_fail(e, "out of memory");
        if (!r->have_proto[k]) continue;
        for (int v = 0; v < r->nv; v++)
            for (int i = 0; i < r->ns; i++) summarize_scale(r, k, v, i, &r->srows[k][v * r->ns + i]);
    }
    return 0;
}

void report_free_scales(report *r) {
    for (int k = 0; k < 2; k++) free(r->srows[k]); /* the tasks' own are freed with them */
}

/* ---- writers ---- */

static void csv_num(FILE *f, double v) {
    if (isnan(v) || isinf(v)) fputs(",n/a", f);
    else fprintf(f, ",%.6f", v);
}

/* Rows of summary.csv per variant and scale: the columns of the main rows
 * where they apply (McNemar and the relative measures n/a), then the scale
 * and the one-seed image interval of delta. */
void report_csv_scale_rows(const report *r, FILE *f, int k) {
    for (int v = 0; r->srows[k] && v < r->nv; v++)
        for (int i = 0; i < r->ns; i++) {
            const report_srow *w = &r->srows[k][v * r->ns + i];
            if (!w->n) continue;
            fputs(report_proto_name[k], f);
            report_csv_str(f, r->names[v]);
            fprintf(f, ",%d,", w->n);
            int end, s = 0;
            for (int q = report_range(r, r->names[v], &end); q < end; q++) {
                const report_task *t = &r->t[r->by_key[q]];
                const report_scale *y = task_scale(t, r->scales[i]);
                if (y && y->present[k]) fprintf(f, "%s%llu", s++ ? " " : "", (unsigned long long)t->seed);
            }
            fprintf(f, ",%lld,%d", (long long)w->n_images, w->nb);
            const dacc_mean_ci *m3[3] = {&w->clean, &w->xhat, &w->delta};
            for (int q = 0; q < 3; q++) {
                csv_num(f, m3[q]->mean);
                csv_num(f, m3[q]->sd);
                csv_num(f, m3[q]->ci.lo);
                csv_num(f, m3[q]->ci.hi);
            }
            for (int q = 0; q < 14; q++) fputs(",n/a", f); /* relative measures and McNemar */
            fprintf(f, ",%s,%.10g", w->n == 1 ? "n=1: no interval over seeds" : "", r->scales[i]);
            csv_num(f, w->one_delta.ok ? w->one_delta.lo : NAN);
            csv_num(f, w->one_delta.ok ? w->one_delta.hi : NAN);
            fputc('\n', f);
        }
}

/* ,"scales":[...] of variant v in protocol k (nothing without scales). */
void report_json_scales(const report *r, FILE *f, int k, int v) {
    if (!r->ns || !r->srows[k]) return;
    fputs(",\"scales\":[", f);
    int first = 1;
    for (int i = 0; i < r->ns; i++) {
        const report_srow *w = &r->srows[k][v * r->ns + i];
        if (!w->n) continue;
        fprintf(f, "%s{\"scale\":%.10g,\"n\":%d,\"images\":%lld,\"blocks\":%d,", first ? "" : ",", r->scales[i], w->n,
                (long long)w->n_images, w->nb);
        first = 0;
        report_json_means(f, &w->clean, &w->xhat, &w->delta);
        report_json_one_seed(f, w->n, NULL, w->one_xhat, w->one_delta);
        fputc('}', f);
    }
    fputc(']', f);
}

/* One protocol's table: a row per variant, a column per scale, Δ in pp. */
static void md_scales_protocol(const report *r, FILE *f, int k) {
    fprintf(f, "## Δaccuracy against deformation scale: %s\n\n| variant |", report_proto_title[k]);
    for (int i = 0; i < r->ns; i++) fprintf(f, " scale %g |", r->scales[i]);
    fputs("\n|:--|", f);
    for (int i = 0; i < r->ns; i++) fputs("--:|", f);
    fputc('\n', f);
    int any1 = 0;
    for (int v = 0; v < r->nv; v++) {
        fprintf(f, "| %s |", r->names[v]);
        for (int i = 0; i < r->ns; i++) {
            const report_srow *w = &r->srows[k][v * r->ns + i];
            dacc_interval ci = w->n == 1 ? w->one_delta : w->delta.ci;
            any1 |= w->n == 1;
            if (!w->n) fputs(" n/a |", f);
            else if (ci.ok) fprintf(f, " %.2f [%.2f, %.2f]%s |", 100 * w->delta.mean, 100 * ci.lo, 100 * ci.hi,
                                    w->n == 1 ? "†" : "");
            else fprintf(f, " %.2f |", 100 * w->delta.mean);
        }
        fputc('\n', f);
    }
    fputs("\nΔ = x^ - clean in percentage points on AlignMNIST generated at each sampling scale (the same "
          "networks, not retrained; scale 0 is the identity). Brackets: 95% t-interval over seeds",
          f);
    fputs(any1 ? "; †: one seed, the paired per-image interval.\n\n" : ".\n\n", f);
}

void report_md_scales(const report *r, FILE *f) {
    for (int k = 0; k < 2 && r->ns; k++)
        if (r->have_proto[k] && r->srows[k]) md_scales_protocol(r, f, k);
}

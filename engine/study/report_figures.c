/* `dacc report`'s figures and report.html: the aggregated report (report_agg.h)
 * turned into the plain study description of figures.h, plus each task's
 * training curve (metrics.jsonl) and the first input's study.json and inspect.json. */
#include "study/figures.h"
#include "study/report_agg.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The mean with the interval the tables print: over seeds, or over the
 * images when there is one seed. */
static dacc_fig_val fig_val(const dacc_mean_ci *m, dacc_interval one, int is_one) {
    dacc_interval i = is_one ? one : m->ci;
    return (dacc_fig_val){m->mean, i.ok ? i.lo : NAN, i.ok ? i.hi : NAN};
}

static void fill_rows(dacc_fig_study *s, const report *r) {
    for (int k = 0; k < 2; k++) {
        s->have_proto[k] = r->have_proto[k];
        s->proto_title[k] = report_proto_title[k];
        for (int v = 0; r->have_proto[k] && v < s->nv; v++) {
            const report_row *w = &r->rows[k][v];
            if (!w->n) continue;
            int one = w->n == 1;
            s->v[v].pr[k] = (dacc_fig_proto){
                .present = 1, .n_seeds = w->n, .blocks = w->nb, .one_seed = one,
                .clean = fig_val(&w->clean, w->one_clean, one), .xhat = fig_val(&w->xhat, w->one_xhat, one),
                .delta = fig_val(&w->delta, w->one_delta, one),
                .mc_clean_p = w->mc_clean.ok ? w->mc_clean.t.p : NAN,
                .mc_xhat_p = w->mc_trans.ok ? w->mc_trans.t.p : NAN, .is_ref = w->is_ref};
        }
    }
}

/* Δ against deformation scale (held-out), with the tables' intervals. */
static void fill_scales(dacc_fig_study *s, const report *r) {
    if (!r->ns || !r->have_proto[0] || !r->srows[0]) return;
    s->n_scales = r->ns < DACC_FIG_MAXS ? r->ns : DACC_FIG_MAXS;
    for (int i = 0; i < s->n_scales; i++) s->scale[i] = r->scales[i];
    for (int v = 0; v < s->nv; v++)
        for (int i = 0; i < s->n_scales; i++) {
            const report_srow *w = &r->srows[0][v * r->ns + i];
            s->v[v].scale_delta[i] = w->n ? fig_val(&w->delta, w->one_delta, w->n == 1)
                                           : (dacc_fig_val){NAN, NAN, NAN};
        }
}

int report_write_figures(const report *r, const char *out, dacc_err *e) {
    dacc_fig_study *s = calloc(1, sizeof *s);
    if (!s) return dacc_fail(e, "%s/figures: out of memory", out);
    const char *first = r->inputs.n ? r->inputs.s[0] : out;
    s->nv = r->nv < DACC_FIG_MAXV ? r->nv : DACC_FIG_MAXV;
    snprintf(s->title, sizeof s->title, "dacc report: %s%s", first, r->inputs.n > 1 ? " and more" : "");
    dacc_fig_read_study(s, first);
    size_t k = strlen(s->settings);
    snprintf(s->settings + k, sizeof s->settings - k, "report written by: dacc %s, %d input(s), %d task(s)\n",
             DACC_VERSION, r->inputs.n, r->nt);
    if (r->nv > s->nv) dacc_fig_note(s, "%d variants; the figures show the first %d", r->nv, s->nv);
    if (r->skipped.n) dacc_fig_note(s, "%d task folder(s) skipped or missing (see summary.md)", r->skipped.n);
    if (r->nv == 1) dacc_fig_note(s, "one variant only: nothing to compare it with");
    for (int v = 0; v < s->nv; v++) snprintf(s->v[v].name, sizeof s->v[v].name, "%s", r->names[v]);
    fill_rows(s, r);
    fill_scales(s, r);
    for (int v = 0; v < s->nv; v++)
        for (int i = 0; i < r->nt; i++)
            if (!strcmp(r->t[i].variant, r->names[v])) dacc_fig_add_metrics(s, v, r->t[i].path);
    dacc_fig_finish_curves(s);
    dacc_fig_read_inspect(s, first);
    int rc = dacc_fig_write_all(s, out, e);
    dacc_fig_study_free(s);
    free(s);
    return rc;
}

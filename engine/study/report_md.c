/* `dacc report`, summary.md (see report_agg.h): one table per protocol in
 * percent with the intervals, then the skipped task folders and warnings. */
#include "study/report_agg.h"
#include <math.h>
#include <string.h>

/* "99.21 [99.10, 99.32]" in percent (or percentage points). */
static void md_val(FILE *f, double mean, dacc_interval ci, int dagger) {
    if (isnan(mean)) {
        fputs("n/a", f);
        return;
    }
    fprintf(f, "%.2f", 100 * mean);
    if (ci.ok) fprintf(f, " [%.2f, %.2f]%s", 100 * ci.lo, 100 * ci.hi, dagger ? "†" : "");
}

static void md_p(FILE *f, const report_row *w, const report_mcn *m) {
    if (w->is_ref) fputs("ref", f);
    else if (!m->ok) fputs("n/a", f);
    else if (m->t.p < 1e-4) fputs("<1e-4", f);
    else fprintf(f, "%.4f", m->t.p);
}

static void md_ratio(FILE *f, double v) {
    if (isnan(v)) fputs("n/a", f);
    else fprintf(f, "%.3f", v);
}

static void write_md_protocol(FILE *f, int k, const report_row *rows, int nv, int have_ref) {
    int nb = 0, any1 = 0;
    int64_t imgs = 0;
    for (int v = 0; v < nv; v++)
        if (rows[v].n) {
            if (rows[v].nb > nb) nb = rows[v].nb;
            imgs = rows[v].n_images;
            any1 |= rows[v].n == 1;
        }
    fprintf(f, "## %s\n\n", report_proto_title[k]);
    if (nb) fprintf(f, "%lld images per block, %d transformed block%s.\n\n", (long long)imgs, nb, nb == 1 ? "" : "s");
    else fprintf(f, "%lld images; no transformed blocks (clean accuracy only).\n\n", (long long)imgs);
    fputs("| variant | seeds | clean % | transformed x^ % | Δaccuracy pp | x^/x | error ratio clean / x^ "
          "| rel. Δ error | McNemar p clean / x^ |\n", f);
    fputs("|:--|--:|--:|--:|--:|--:|--:|--:|--:|\n", f);
    for (int v = 0; v < nv; v++) {
        const report_row *w = &rows[v];
        if (!w->n) continue;
        int one = w->n == 1;
        fprintf(f, "| %s | %d | ", w->variant, w->n);
        md_val(f, w->clean.mean, one ? w->one_clean : w->clean.ci, one);
        if (w->mc_clean.ok) fputs(dacc_signif_marker(w->mc_clean.t.p), f);
        fputs(" | ", f);
        md_val(f, w->xhat.mean, one ? w->one_xhat : w->xhat.ci, one);
        if (w->mc_trans.ok) fputs(dacc_signif_marker(w->mc_trans.t.p), f);
        fputs(" | ", f);
        md_val(f, w->delta.mean, one ? w->one_delta : w->delta.ci, one);
        fputs(" | ", f);
        md_ratio(f, w->relrob);
        fputs(" | ", f);
        md_ratio(f, w->err_clean);
        fputs(" / ", f);
        md_ratio(f, w->err_xhat);
        fputs(" | ", f);
        md_ratio(f, w->rel_derr);
        fputs(" | ", f);
        md_p(f, w, &w->mc_clean);
        fputs(" / ", f);
        md_p(f, w, &w->mc_trans);
        fputs(" |\n", f);
    }
    fputs("\nBrackets: 95% t-interval over seeds (clipped to the possible range).", f);
    if (any1)
        fputs(" †: one seed only, so no interval over seeds: the 95% interval over the images"
              " (Wilson for clean, per-image normal for x^ and the paired per-image Δ); seed-to-seed"
              " variation is not in it.", f);
    if (have_ref)
        fputs(" Error ratios and relative Δ error are against Original (1 = the same). Significance"
              " against Original, McNemar on the same images pooled over seeds (and the transformed"
              " blocks): * p < 0.05, ** p < 0.01, *** p < 0.001.\n\n", f);
    else
        fputs(" No Original among the tasks: the comparisons against it are n/a.\n\n", f);
}

void report_write_summary_md(const report *r, FILE *f) {
    fputs("# dacc report\n\n", f);
    for (int k = 0; k < 2; k++)
        if (r->have_proto[k]) write_md_protocol(f, k, r->rows[k], r->nv, r->ref != NULL);
    report_md_scales(r, f);
    if (r->skipped.n) {
        fprintf(f, "Skipped %d task folder%s:\n\n", r->skipped.n, r->skipped.n == 1 ? "" : "s");
        for (int i = 0; i < r->skipped.n; i++) fprintf(f, "- %s\n", r->skipped.s[i]);
        fputc('\n', f);
    }
    if (r->warnings.n) {
        fputs("Warnings:\n\n", f);
        for (int i = 0; i < r->warnings.n; i++) fprintf(f, "- %s\n", r->warnings.s[i]);
        fputc('\n', f);
    }
}

/* Fig. 3 (clean and transformed accuracy per variant) and Fig. 4 (Δaccuracy
 * per variant, Original as the reference line): grouped bars with the 95%
 * intervals of the report's tables, one panel per evaluation protocol.
 * data-value attributes carry summary.csv's numbers (same "%.6f"). */
#include "study/figures.h"
#include "study/svg.h"
#include <math.h>
#include <string.h>

static const char *const proto_key[2] = {"heldout", "paper"};

static void ci_mark(svg *g, double x, const axis *a, const dacc_fig_val *v) {
    if (isnan(v->lo) || isnan(v->hi)) return;
    double y0 = axis_px(a, v->lo), y1 = axis_px(a, v->hi);
    fprintf(g->f, "<path class=\"ci\" stroke=\"#1a1a1a\" stroke-width=\"1.5\" fill=\"none\" "
            "d=\"M%.1f %.1fV%.1fM%.1f %.1fH%.1fM%.1f %.1fH%.1f\"/>\n",
            x, y0, y1, x - 5, y0, x + 5, x - 5, y1, x + 5);
}

/* One bar from BASE to the value, its interval and its label. */
static void bar(svg *g, const char *cls, const char *variant, int k, double x, double w, const axis *a,
                double base, const dacc_fig_val *v, const char *fill, const char *dagger) {
    double yb = axis_px(a, base), yv = axis_px(a, v->mean);
    double top = yv < yb ? yv : yb, h = fabs(yb - yv);
    fprintf(g->f, "<rect class=\"bar %s\" data-variant=\"", cls);
    svg_esc(g->f, variant);
    fprintf(g->f, "\" data-protocol=\"%s\" data-value=\"%.6f\"", proto_key[k], v->mean);
    if (!isnan(v->lo) && !isnan(v->hi)) fprintf(g->f, " data-lo=\"%.6f\" data-hi=\"%.6f\"", v->lo, v->hi);
    fprintf(g->f, " x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n", x, top, w,
            h < 0.5 ? 0.5 : h, fill);
    ci_mark(g, x + w / 2, a, v);
    double ylab = (isnan(v->hi) ? top : fmin(top, axis_px(a, v->hi))) - 4;
    if (v->mean < base) ylab = fmax(yv, isnan(v->lo) ? yv : axis_px(a, v->lo)) + 12;
    svg_text(g, x + w / 2, ylab, "middle", "small value", "%.2f%s", 100 * v->mean, isnan(v->lo) ? "" : dagger);
}

static void range_of(const dacc_fig_val *v, double *lo, double *hi) {
    if (isnan(v->mean)) return;
    *lo = fmin(*lo, isnan(v->lo) ? v->mean : v->lo);
    *hi = fmax(*hi, isnan(v->hi) ? v->mean : v->hi);
}

static void accuracy_panel(svg *g, const dacc_fig_study *s, int k, double y0, double w) {
    double lo = 1, hi = 0;
    for (int v = 0; v < s->nv; v++)
        if (s->v[v].pr[k].present) {
            range_of(&s->v[v].pr[k].clean, &lo, &hi);
            range_of(&s->v[v].pr[k].xhat, &lo, &hi);
        }
    if (hi < lo) lo = 0, hi = 1;
    axis a = axis_make(lo - 0.1 * (hi - lo) - 0.002, fmin(1, hi + 0.1 * (hi - lo) + 0.002), y0 + 250, y0 + 40, 6);
    fprintf(g->f, "<g class=\"panel\" data-protocol=\"%s\">\n", proto_key[k]);
    svg_text(g, 70, y0 + 22, "start", "title", "%s", s->proto_title[k]);
    svg_yaxis(g, &a, 70, w - 20, 100, "%.1f");
    svg_text(g, 16, y0 + 145, "middle", "small", "%%");
    double gw = (w - 100) / (s->nv ? s->nv : 1);
    for (int v = 0; v < s->nv; v++) {
        const dacc_fig_proto *p = &s->v[v].pr[k];
        double x = 80 + v * gw;
        svg_text(g, x + gw / 2 - 5, y0 + 268, "middle", "label", "%s", s->v[v].name);
        if (!p->present) {
            svg_text(g, x + gw / 2 - 5, y0 + 240, "middle", "note", "no results");
            continue;
        }
        const char *dg = p->one_seed ? "†" : "";
        double bw = fmin(40, (gw - 16) / 2);
        bar(g, "clean", s->v[v].name, k, x + gw / 2 - 5 - bw, bw, &a, a.lo, &p->clean, "#56B4E9", dg);
        if (!isnan(p->xhat.mean))
            bar(g, "xhat", s->v[v].name, k, x + gw / 2 - 5, bw, &a, a.lo, &p->xhat, "#D55E00", dg);
        else
            svg_text(g, x + gw / 2 + bw / 2 - 5, a.p0 - 4, "middle", "note", "no x̂");
    }
    fputs("</g>\n", g->f);
}

static void legend2(svg *g, double x, double y) {
    fprintf(g->f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"#56B4E9\"/>\n", x, y - 10);
    svg_text(g, x + 16, y, "start", NULL, "clean");
    fprintf(g->f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"#D55E00\"/>\n", x + 70, y - 10);
    svg_text(g, x + 86, y, "start", NULL, "transformed x̂ (mean over blocks)");
}

static int n_protos(const dacc_fig_study *s) { return s->have_proto[0] + s->have_proto[1]; }

/* What the error bars are, and where there are none. */
static void interval_note(svg *g, double y, const char *tail) {
    const dacc_fig_study *s = g->user;
    int one = 0, none = 0;
    for (int k = 0; k < 2; k++)
        for (int v = 0; s->have_proto[k] && v < s->nv; v++) {
            const dacc_fig_proto *p = &s->v[v].pr[k];
            if (!p->present) continue;
            one |= p->one_seed;
            none |= isnan(p->clean.lo) || (!isnan(p->xhat.mean) && isnan(p->xhat.lo)) ||
                    (!isnan(p->delta.mean) && isnan(p->delta.lo));
        }
    svg_text(g, 20, y, "start", "small", "%s%s",
             one ? "Bars: 95% interval over seeds; †: one seed, so the interval is over the images (as in the tables)."
                 : "Bars: 95% t-interval over seeds (clipped to the possible range).", one ? "" : tail);
    if (none || one)
        svg_text(g, 20, y + 13, "start", "small", "%s%s",
                 none ? "No interval bar: one seed and no per-image predictions to give one." : "", one ? tail : "");
}

char *dacc_fig_svg_accuracy(const dacc_fig_study *s, size_t *n) {
    int w = 120 + (s->nv ? s->nv : 1) * 120, np = n_protos(s);
    if (w < 680) w = 680;
    svg g;
    int maxc = (w - 40) * 10 / 66, nl = svg_note_lines(s->notes, maxc);
    if (svg_open(&g, w, 104 + 290 * (np ? np : 1) + 30 + 15 * nl, "Fig. 3: clean and transformed accuracy per variant"))
        return NULL;
    svg_text(&g, 20, 24, "start", "title", "Clean and transformed (x̂) accuracy per variant, %%");
    legend2(&g, 20, 46);
    g.user = s;
    interval_note(&g, 66, "");
    double y = 90;
    for (int k = 0; k < 2; k++)
        if (s->have_proto[k]) {
            accuracy_panel(&g, s, k, y, w);
            y += 290;
        }
    if (!np) svg_text(&g, 20, y + 20, "start", "note", "No protocol has results: nothing to draw.");
    svg_notes(&g, 20, y + 20, s->notes, maxc);
    return svg_close(&g, n);
}

static void delta_panel(svg *g, const dacc_fig_study *s, int k, double y0, double w) {
    double lo = 0, hi = 0;
    int ref = -1;
    for (int v = 0; v < s->nv; v++)
        if (s->v[v].pr[k].present) {
            range_of(&s->v[v].pr[k].delta, &lo, &hi);
            if (s->v[v].pr[k].is_ref && !isnan(s->v[v].pr[k].delta.mean)) ref = v;
        }
    axis a = axis_make(lo - 0.1 * (hi - lo) - 0.001, hi + 0.1 * (hi - lo) + 0.001, y0 + 250, y0 + 40, 6);
    fprintf(g->f, "<g class=\"panel\" data-protocol=\"%s\">\n", proto_key[k]);
    svg_text(g, 70, y0 + 22, "start", "title", "%s", s->proto_title[k]);
    svg_yaxis(g, &a, 70, w - 120, 100, "%.1f");
    svg_text(g, 16, y0 + 145, "middle", "small", "pp");
    double gw = (w - 200) / (s->nv ? s->nv : 1);
    for (int v = 0; v < s->nv; v++) {
        const dacc_fig_proto *p = &s->v[v].pr[k];
        double x = 80 + v * gw, bw = fmin(48, gw - 30);
        svg_text(g, x + gw / 2 - 5, y0 + 268, "middle", "label", "%s", s->v[v].name);
        if (!p->present || isnan(p->delta.mean)) {
            svg_text(g, x + gw / 2 - 5, y0 + 240, "middle", "note", p->present ? "no x̂" : "no results");
            continue;
        }
        bar(g, "delta", s->v[v].name, k, x + gw / 2 - 5 - bw / 2, bw, &a, 0, &p->delta, svg_color(v),
            p->one_seed ? "†" : "");
    }
    double y = axis_px(&a, 0);
    fprintf(g->f, "<line class=\"axis\" x1=\"70\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", y, w - 120, y);
    if (ref >= 0) {
        double yr = axis_px(&a, s->v[ref].pr[k].delta.mean);
        fprintf(g->f, "<line class=\"refline\" data-value=\"%.6f\" x1=\"70\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"#000000\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\n",
                s->v[ref].pr[k].delta.mean, yr, w - 120, yr);
        svg_text(g, w - 114, yr - 2, "start", "small", "Original");
        svg_text(g, w - 114, yr + 11, "start", "small", "%.2f pp", 100 * s->v[ref].pr[k].delta.mean);
    } else {
        svg_text(g, 80, y0 + 36, "start", "note", "No Original with x̂ in this protocol: no reference line.");
    }
    fputs("</g>\n", g->f);
}

char *dacc_fig_svg_delta(const dacc_fig_study *s, size_t *n) {
    int w = 220 + (s->nv ? s->nv : 1) * 110, np = n_protos(s);
    if (w < 680) w = 680;
    svg g;
    int maxc = (w - 40) * 10 / 66, nl = svg_note_lines(s->notes, maxc);
    if (svg_open(&g, w, 84 + 290 * (np ? np : 1) + 30 + 15 * nl,
                 "Fig. 4: accuracy change under transformation per variant"))
        return NULL;
    svg_text(&g, 20, 24, "start", "title", "Δaccuracy = x̂ − clean per variant, percentage points");
    g.user = s;
    interval_note(&g, 44, " Dashed: Original.");
    double y = 70;
    for (int k = 0; k < 2; k++)
        if (s->have_proto[k]) {
            delta_panel(&g, s, k, y, w);
            y += 290;
        }
    if (!np) svg_text(&g, 20, y + 20, "start", "note", "No protocol has results: nothing to draw.");
    svg_notes(&g, 20, y + 20, s->notes, maxc);
    return svg_close(&g, n);
}

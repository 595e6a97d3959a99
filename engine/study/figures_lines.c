/* Line figures: the training curves (loss and clean test accuracy per epoch,
 * mean over seeds with the min..max band) and Δaccuracy against the
 * deformation scale, one line per variant. */
#include "study/figures.h"
#include "study/svg.h"
#include <math.h>
#include <string.h>

static void xaxis(svg *g, const axis *a, double y, double y_top, const char *label) {
    fprintf(g->f, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", a->p0, y, a->p1, y);
    int n = (int)llround((a->hi - a->lo) / a->step);
    for (int i = 0; i <= n && i <= 40; i++) {
        double v = a->lo + i * a->step, x = axis_px(a, v);
        fprintf(g->f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x, y, x, y_top);
        svg_text(g, x, y + 14, "middle", "small", "%g", v);
    }
    svg_text(g, (a->p0 + a->p1) / 2, y + 30, "middle", NULL, "%s", label);
}

static void legend(svg *g, const dacc_fig_study *s, double x, double y) {
    for (int v = 0; v < s->nv; v++) {
        double xx = x + (v % 6) * 130, yy = y + (v / 6) * 18;
        fprintf(g->f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"/>\n",
                xx, yy - 4, xx + 18, yy - 4, svg_color(v));
        svg_text(g, xx + 22, yy, "start", "legend", "%s", s->v[v].name);
    }
}

/* One curve (Q = 0 loss, 1 accuracy) of every variant into a panel at X0. */
static void curve_panel(svg *g, const dacc_fig_study *s, int q, double x0, double y0, double w, double h) {
    int maxe = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (int v = 0; v < s->nv; v++) {
        const dacc_fig_curve *c = s->v[v].curve;
        for (int e = 0; c && e < c->n_epochs; e++) {
            const double *p = q ? c->acc[e] : c->loss[e];
            if (isnan(p[0])) continue;
            lo = fmin(lo, p[1]), hi = fmax(hi, p[2]);
            if (e + 1 > maxe) maxe = e + 1;
        }
    }
    const char *name = q ? "clean test accuracy, %" : "training loss (mean over the epoch)";
    fprintf(g->f, "<g class=\"panel\" data-curve=\"%s\">\n", q ? "acc" : "loss");
    svg_text(g, x0, y0 + 16, "start", "title", "%s", q ? "Test accuracy per epoch" : "Training loss per epoch");
    if (!maxe) {
        svg_text(g, x0, y0 + 50, "start", "note", "No metrics.jsonl with epochs: no curve.");
        fputs("</g>\n", g->f);
        return;
    }
    axis ax = axis_make(1, maxe > 1 ? maxe : 2, x0 + 50, x0 + w, 8);
    ax.lo = 1;
    if (ax.step < 1) ax.step = 1; /* whole epochs */
    double pad = 0.05 * (hi - lo) + 1e-6;
    axis ay = axis_make(q ? lo - pad : fmax(0, lo - pad), q ? fmin(1, hi + pad) : hi + pad, y0 + h, y0 + 44, 6);
    svg_yaxis(g, &ay, x0 + 50, x0 + w, q ? 100 : 1, q ? "%.2f" : "%.3g");
    xaxis(g, &ax, y0 + h, y0 + 44, "epoch");
    svg_text(g, x0, y0 + 32, "start", "small", "%s", name);
    for (int v = 0; v < s->nv; v++) {
        const dacc_fig_curve *c = s->v[v].curve;
        if (!c || !c->n_epochs) continue;
        if (c->n_seeds > 1) { /* band: max forwards, min backwards */
            fprintf(g->f, "<polygon class=\"band\" fill=\"%s\" fill-opacity=\"0.18\" stroke=\"none\" points=\"",
                    svg_color(v));
            for (int e = 0; e < c->n_epochs; e++)
                fprintf(g->f, "%.1f,%.1f ", axis_px(&ax, e + 1), axis_px(&ay, (q ? c->acc : c->loss)[e][2]));
            for (int e = c->n_epochs - 1; e >= 0; e--)
                fprintf(g->f, "%.1f,%.1f ", axis_px(&ax, e + 1), axis_px(&ay, (q ? c->acc : c->loss)[e][1]));
            fputs("\"/>\n", g->f);
        }
        fprintf(g->f, "<polyline class=\"line %s\" data-variant=\"", q ? "acc" : "loss");
        svg_esc(g->f, s->v[v].name);
        fprintf(g->f, "\" data-epochs=\"%d\" data-last=\"%.6f\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                "points=\"", c->n_epochs, (q ? c->acc : c->loss)[c->n_epochs - 1][0], svg_color(v));
        for (int e = 0; e < c->n_epochs; e++)
            fprintf(g->f, "%.1f,%.1f ", axis_px(&ax, e + 1), axis_px(&ay, (q ? c->acc : c->loss)[e][0]));
        fputs("\"/>\n", g->f);
    }
    fputs("</g>\n", g->f);
}

char *dacc_fig_svg_curves(const dacc_fig_study *s, size_t *n) {
    int w = 980, rows = (s->nv + 5) / 6;
    svg g;
    int maxc = (w - 40) * 10 / 66, nl = svg_note_lines(s->notes, maxc);
    if (svg_open(&g, w, 420 + 18 * rows + 20 + 15 * nl, "Training curves per variant")) return NULL;
    int seeds = 0;
    for (int v = 0; v < s->nv; v++)
        if (s->v[v].curve && s->v[v].curve->n_seeds > seeds) seeds = s->v[v].curve->n_seeds;
    svg_text(&g, 20, 24, "start", "title", "Training curves: mean over seeds%s",
             seeds > 1 ? ", band = lowest to highest seed" : " (one seed: no band)");
    legend(&g, s, 30, 48);
    double y0 = 56 + 18 * rows;
    curve_panel(&g, s, 0, 20, y0, 440, 290);
    curve_panel(&g, s, 1, 510, y0, 440, 290);
    svg_notes(&g, 20, y0 + 360, s->notes, maxc);
    return svg_close(&g, n);
}

/* One point of variant v's line: a marker carrying summary.csv's numbers
 * (data-value, data-lo, data-hi as "%.6f") and its interval as a bar. */
static void scale_point(svg *g, const dacc_fig_study *s, int v, int i, const axis *ax, const axis *ay) {
    const dacc_fig_val *d = &s->v[v].scale_delta[i];
    if (isnan(d->mean)) return;
    double x = axis_px(ax, s->scale[i]);
    if (!isnan(d->lo) && !isnan(d->hi))
        fprintf(g->f, "<line class=\"ci\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", x,
                axis_px(ay, d->lo), x, axis_px(ay, d->hi), svg_color(v));
    fputs("<circle class=\"point scale\" data-variant=\"", g->f);
    svg_esc(g->f, s->v[v].name);
    fprintf(g->f, "\" data-scale=\"%g\" data-value=\"%.6f\"", s->scale[i], d->mean);
    if (!isnan(d->lo) && !isnan(d->hi)) fprintf(g->f, " data-lo=\"%.6f\" data-hi=\"%.6f\"", d->lo, d->hi);
    fprintf(g->f, " cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", x, axis_px(ay, d->mean), svg_color(v));
}

char *dacc_fig_svg_scales(const dacc_fig_study *s, size_t *n) {
    if (s->n_scales < 2) return NULL;
    svg g;
    int rows = (s->nv + 5) / 6;
    if (svg_open(&g, 800, 420 + 18 * rows, "Accuracy change against deformation scale")) return NULL;
    svg_text(&g, 20, 24, "start", "title", "Δaccuracy (held-out) against deformation scale, pp");
    legend(&g, s, 30, 48);
    double lo = 0, hi = 0, y0 = 60 + 18 * rows;
    for (int v = 0; v < s->nv; v++)
        for (int i = 0; i < s->n_scales; i++) {
            const dacc_fig_val *d = &s->v[v].scale_delta[i];
            if (isnan(d->mean)) continue;
            lo = fmin(lo, isnan(d->lo) ? d->mean : d->lo);
            hi = fmax(hi, isnan(d->hi) ? d->mean : d->hi);
        }
    axis ax = axis_make(s->scale[0], s->scale[s->n_scales - 1], 80, 760, 8);
    axis ay = axis_make(lo - 0.001, hi + 0.001, y0 + 290, y0, 6);
    svg_yaxis(&g, &ay, 80, 760, 100, "%.1f");
    xaxis(&g, &ax, y0 + 290, y0, "deformation scale");
    for (int v = 0; v < s->nv; v++) {
        fprintf(g.f, "<polyline class=\"line scale\" data-variant=\"");
        svg_esc(g.f, s->v[v].name);
        fprintf(g.f, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", svg_color(v));
        for (int i = 0; i < s->n_scales; i++)
            if (!isnan(s->v[v].scale_delta[i].mean))
                fprintf(g.f, "%.1f,%.1f ", axis_px(&ax, s->scale[i]), axis_px(&ay, s->v[v].scale_delta[i].mean));
        fputs("\"/>\n", g.f);
        for (int i = 0; i < s->n_scales; i++) scale_point(&g, s, v, i, &ax, &ay);
    }
    return svg_close(&g, n);
}

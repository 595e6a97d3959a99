/* report.html: one self-contained page (inline CSS and SVG, no script, no
 * external resource, so it works from a copied folder and offline) with the
 * study's settings, the tables with their intervals and McNemar tests, and
 * the figures; and the writer of figures/ next to it. */
#include "dacc/fileio.h"
#include "study/figures.h"
#include "study/svg.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const proto_key[2] = {"heldout", "paper"};

static const char *const css =
    "body{font-family:'DejaVu Sans',Verdana,Arial,Helvetica,sans-serif;margin:2em auto;max-width:1100px;"
    "padding:0 1em;background:#ffffff;color:#1a1a1a}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbbbbb;padding:3px 8px;text-align:right}"
    "td:first-child,th:first-child{text-align:left}th{background:#eeeeee}"
    "figure{margin:1.5em 0}figure svg{max-width:100%;height:auto;border:1px solid #cccccc}"
    "table.settings td{text-align:left}.note{color:#8a3b00}pre{white-space:pre-wrap;font-family:inherit}"
    "@media (prefers-color-scheme:dark){body{background:#161616;color:#e6e6e6}th{background:#2a2a2a}"
    "td,th{border-color:#555555}.note{color:#ffb066}}";

static void esc(FILE *f, const char *s) { svg_esc(f, s); }

static void cell(FILE *f, const dacc_fig_val *v, const char *cls, int one) {
    if (isnan(v->mean)) {
        fprintf(f, "<td class=\"%s\">n/a</td>", cls);
        return;
    }
    fprintf(f, "<td class=\"%s\" data-value=\"%.6f\">%.2f", cls, v->mean, 100 * v->mean);
    if (!isnan(v->lo) && !isnan(v->hi)) fprintf(f, " [%.2f, %.2f]%s", 100 * v->lo, 100 * v->hi, one ? "†" : "");
    fputs("</td>", f);
}

static void pcell(FILE *f, const dacc_fig_proto *p, double pv) {
    if (p->is_ref) fputs("<td>ref</td>", f);
    else if (isnan(pv)) fputs("<td>n/a</td>", f);
    else fprintf(f, "<td data-value=\"%.6g\">%s%.4g</td>", pv, pv < 1e-4 ? "&lt;" : "", pv < 1e-4 ? 1e-4 : pv);
}

static void table(FILE *f, const dacc_fig_study *s, int k) {
    fprintf(f, "<h2>%s</h2>\n<table class=\"results\" data-protocol=\"%s\">\n<tr><th>variant</th><th>seeds</th>"
            "<th>clean %%</th><th>transformed x̂ %%</th><th>Δaccuracy pp</th><th>McNemar p clean</th>"
            "<th>McNemar p x̂</th></tr>\n", s->proto_title[k], proto_key[k]);
    int one = 0;
    for (int v = 0; v < s->nv; v++) {
        const dacc_fig_proto *p = &s->v[v].pr[k];
        if (!p->present) continue;
        one |= p->one_seed;
        fputs("<tr><td>", f);
        esc(f, s->v[v].name);
        fprintf(f, "</td><td>%d</td>", p->n_seeds);
        cell(f, &p->clean, "clean", p->one_seed);
        cell(f, &p->xhat, "xhat", p->one_seed);
        cell(f, &p->delta, "delta", p->one_seed);
        pcell(f, p, p->mc_clean_p);
        pcell(f, p, p->mc_xhat_p);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n<p>Brackets: 95% t-interval over seeds (clipped to the possible range).", f);
    if (one) fputs(" †: one seed only: the 95% interval over the images; seed-to-seed variation is not in it.", f);
    fputs(" McNemar: against Original on the same images, pooled over seeds (and blocks).</p>\n", f);
}

/* Δ per variant and deformation scale (held-out), as summary.md's table. */
static void scale_table(FILE *f, const dacc_fig_study *s) {
    fputs("<h2>Δaccuracy against deformation scale (held-out)</h2>\n<table class=\"scales\">\n<tr><th>variant</th>", f);
    for (int i = 0; i < s->n_scales; i++) fprintf(f, "<th>scale %g</th>", s->scale[i]);
    fputs("</tr>\n", f);
    for (int v = 0; v < s->nv; v++) {
        fputs("<tr><td>", f);
        esc(f, s->v[v].name);
        fputs("</td>", f);
        for (int i = 0; i < s->n_scales; i++) {
            char cls[48];
            snprintf(cls, sizeof cls, "delta\" data-scale=\"%g", s->scale[i]);
            cell(f, &s->v[v].scale_delta[i], cls, s->v[v].pr[0].one_seed);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n<p>The same networks on AlignMNIST generated at each sampling scale (not retrained; scale 0 "
          "is the identity). Δ in percentage points, brackets as above.</p>\n", f);
}

static void figure(FILE *f, const char *id, const char *caption, const char *svg_text) {
    fprintf(f, "<figure id=\"%s\">\n", id);
    const char *p = svg_text ? strstr(svg_text, "<svg") : NULL; /* inline: no XML declaration */
    if (p) fputs(p, f);
    else fputs("<p class=\"note\">Not drawn (out of memory).</p>\n", f);
    fprintf(f, "<figcaption>%s (figures/%s.svg)</figcaption>\n</figure>\n", caption, id);
}

static void settings(FILE *f, const dacc_fig_study *s) {
    fputs("<table class=\"settings\">\n", f);
    for (const char *p = s->settings; *p;) {
        const char *e = strchr(p, '\n'), *c = strchr(p, ':');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (c && c < p + len) {
            fputs("<tr><th>", f);
            char buf[1024];
            snprintf(buf, sizeof buf, "%.*s", (int)(c - p), p);
            esc(f, buf);
            fputs("</th><td>", f);
            snprintf(buf, sizeof buf, "%.*s", (int)(p + len - c - 1), c + 1);
            esc(f, buf[0] == ' ' ? buf + 1 : buf);
            fputs("</td></tr>\n", f);
        }
        p += len + (e != NULL);
    }
    fputs("</table>\n", f);
}

char *dacc_fig_html(const dacc_fig_study *s, size_t *n) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    esc(f, s->title);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", css);
    esc(f, s->title);
    fputs("</h1>\n<h2>Settings</h2>\n", f);
    settings(f, s);
    if (s->notes[0]) {
        fputs("<h2>Notes</h2>\n<pre class=\"note\">", f);
        esc(f, s->notes);
        fputs("</pre>\n", f);
    }
    for (int k = 0; k < 2; k++)
        if (s->have_proto[k]) table(f, s, k);
    if (s->n_scales > 0) scale_table(f, s);
    fputs("<h2>Figures</h2>\n", f);
    size_t m;
    char *t;
    figure(f, "fig3-accuracy", "Clean and transformed accuracy per variant", t = dacc_fig_svg_accuracy(s, &m));
    free(t);
    figure(f, "fig4-delta", "Δaccuracy per variant, Original as the reference line", t = dacc_fig_svg_delta(s, &m));
    free(t);
    figure(f, "training-curves", "Training loss and test accuracy per epoch", t = dacc_fig_svg_curves(s, &m));
    free(t);
    figure(f, "fig5-digits", "Digits, their transformations and each variant's prediction",
           t = dacc_fig_svg_digits(s, &m));
    free(t);
    if ((t = dacc_fig_svg_scales(s, &m))) figure(f, "delta-scale", "Δaccuracy against deformation scale", t);
    else fputs("<p class=\"note\">Δaccuracy against deformation scale: not drawn, the study has one "
               "deformation scale.</p>\n", f);
    free(t);
    fputs("</body>\n</html>\n", f);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    *n = len;
    return buf;
}

typedef char *(*fig_fn)(const dacc_fig_study *, size_t *);

int dacc_fig_write_all(const dacc_fig_study *s, const char *out, dacc_err *e) {
    static const struct { const char *name; fig_fn fn; } figs[] = {
        {"fig3-accuracy.svg", dacc_fig_svg_accuracy}, {"fig4-delta.svg", dacc_fig_svg_delta},
        {"training-curves.svg", dacc_fig_svg_curves}, {"fig5-digits.svg", dacc_fig_svg_digits},
        {"delta-scale.svg", dacc_fig_svg_scales},
    };
    char path[4400];
    snprintf(path, sizeof path, "%s/figures", out);
    if (dacc_mkdir_p(path, e)) return -1;
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++) {
        size_t n = 0;
        char *t = figs[i].fn(s, &n);
        if (!t) {
            if (figs[i].fn == dacc_fig_svg_scales) continue; /* one scale: skipped, said in report.html */
            return dacc_fail(e, "%s/figures/%s: out of memory", out, figs[i].name);
        }
        snprintf(path, sizeof path, "%s/figures/%s", out, figs[i].name);
        int rc = dacc_write_file_atomic(path, t, n, e);
        free(t);
        if (rc) return -1;
    }
    size_t n = 0;
    char *h = dacc_fig_html(s, &n);
    if (!h) return dacc_fail(e, "%s/report.html: out of memory", out);
    snprintf(path, sizeof path, "%s/report.html", out);
    int rc = dacc_write_file_atomic(path, h, n, e);
    free(h);
    return rc;
}

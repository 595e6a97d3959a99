/* SVG helpers (see study/svg.h). */
#include "study/svg.h"
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Explicit white background and dark text, so the figures read the same in
 * light and dark viewers; font families every browser and librsvg resolve. */
static const char *const style =
    "text{font-family:'DejaVu Sans',Verdana,Arial,Helvetica,sans-serif;font-size:12px;fill:#1a1a1a}"
    ".title{font-size:15px;font-weight:bold}.small{font-size:10px}.note{font-size:11px;fill:#8a3b00}"
    ".grid{stroke:#d9d9d9;stroke-width:1}.axis{stroke:#333333;stroke-width:1}"
    ".wrong{fill:#c00000;font-weight:bold}.ok{fill:#1a1a1a}";

int svg_open(svg *g, int w, int h, const char *desc) {
    memset(g, 0, sizeof *g);
    g->f = open_memstream(&g->buf, &g->n);
    if (!g->f) return -1;
    fprintf(g->f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "font-family=\"'DejaVu Sans',Verdana,Arial,Helvetica,sans-serif\">\n<title>",
            w, h, w, h);
    svg_esc(g->f, desc);
    fprintf(g->f, "</title>\n<style>%s</style>\n<rect class=\"bg\" x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" "
            "fill=\"#ffffff\"/>\n", style, w, h);
    return 0;
}

char *svg_close(svg *g, size_t *n) {
    if (!g->f) return NULL;
    fputs("</svg>\n", g->f);
    int bad = ferror(g->f);
    fclose(g->f);
    g->f = NULL;
    if (bad) {
        free(g->buf);
        return NULL;
    }
    *n = g->n;
    return g->buf;
}

void svg_esc(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t') fputc(*s, f);
        }
    }
}

void svg_text(svg *g, double x, double y, const char *anchor, const char *cls, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(g->f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"", x, y, anchor);
    if (cls) fprintf(g->f, " class=\"%s\"", cls);
    fputc('>', g->f);
    svg_esc(g->f, buf);
    fputs("</text>\n", g->f);
}

/* Calls FN for each piece of NOTES: its lines, long ones cut at a space
 * before MAXC characters. Returns the pieces. */
static int note_pieces(const char *notes, int maxc, svg *g, double x, double y) {
    int n = 0;
    while (notes && *notes) {
        const char *e = strchr(notes, '\n');
        size_t len = e ? (size_t)(e - notes) : strlen(notes), take = len;
        if (maxc > 10 && len > (size_t)maxc) {
            take = (size_t)maxc;
            while (take > (size_t)maxc / 2 && notes[take] != ' ') take--;
            if (notes[take] != ' ') take = (size_t)maxc;
        }
        if (take) {
            if (g) svg_text(g, x, y + 15 * n, "start", "note", "%.*s", (int)take, notes);
            n++;
        }
        notes += take;
        if (take == len) notes += e != NULL;
        else while (*notes == ' ') notes++;
    }
    return n;
}

int svg_note_lines(const char *notes, int maxc) { return note_pieces(notes, maxc, NULL, 0, 0); }

double svg_notes(svg *g, double x, double y, const char *notes, int maxc) {
    return y + 15 * note_pieces(notes, maxc, g, x, y);
}

axis axis_make(double lo, double hi, double p0, double p1, int n) {
    axis a = {lo, hi, p0, p1, 1};
    if (!(hi > lo)) {
        double m = isfinite(lo) ? fabs(lo) * 0.05 + 1e-3 : 1;
        a.lo = (isfinite(lo) ? lo : 0) - m;
        a.hi = (isfinite(lo) ? lo : 0) + m;
    }
    double raw = (a.hi - a.lo) / (n > 0 ? n : 5);
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    a.step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
    a.lo = floor(a.lo / a.step + 1e-9) * a.step;
    a.hi = ceil(a.hi / a.step - 1e-9) * a.step;
    return a;
}

double axis_px(const axis *a, double v) {
    if (v < a->lo) v = a->lo;
    if (v > a->hi) v = a->hi;
    return a->p0 + (v - a->lo) / (a->hi - a->lo) * (a->p1 - a->p0);
}

void svg_yaxis(svg *g, const axis *a, double x, double x_end, double scale, const char *fmt) {
    fprintf(g->f, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x, a->p0, x, a->p1);
    int n = (int)llround((a->hi - a->lo) / a->step);
    for (int i = 0; i <= n && i <= 40; i++) {
        double v = a->lo + i * a->step, y = axis_px(a, v);
        fprintf(g->f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x, y, x_end, y);
        char lab[64];
        /* enough decimals that neighbouring ticks differ (fmt's own when it has them) */
        int dec = (int)ceil(-log10(a->step * fabs(scale)) - 1e-9);
        dec = dec < 0 ? 0 : dec > 6 ? 6 : dec;
        if (strstr(fmt, ".1f") && dec > 1) snprintf(lab, sizeof lab, "%.*f", dec, scale * v);
        else snprintf(lab, sizeof lab, fmt, scale * v);
        svg_text(g, x - 4, y + 4, "end", "small", "%s", lab);
    }
}

/* Okabe-Ito: distinguishable with the common colour-vision deficiencies */
const char *svg_color(int i) {
    static const char *const c[] = {"#000000", "#E69F00", "#56B4E9", "#009E73",
                                    "#D55E00", "#0072B2", "#CC79A7", "#999933"};
    return c[i % 8];
}

/* The training page's line chart (see chart.h). The plot area is mapped to
 * a dot grid (braille: 2 columns x 4 rows per cell; ASCII: one per cell);
 * each series is sampled at every dot column by linear interpolation between
 * its epochs and consecutive columns are joined vertically, so a steep drop
 * stays a connected line. */
#include "chart.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#define LABEL_W 7 /* y labels, right-aligned */

static void put_text(wchar_t *row, int w, int x, const char *s) {
    for (; *s && x < w; s++, x++)
        if (x >= 0) row[x] = (wchar_t)(unsigned char)*s;
}

static void y_range(const dacc_chart_series *s, int ns, double *lo, double *hi) {
    *lo = INFINITY, *hi = -INFINITY;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < s[k].n; i++)
            if (isfinite(s[k].y[i])) *lo = fmin(*lo, s[k].y[i]), *hi = fmax(*hi, s[k].y[i]);
    if (!isfinite(*lo)) *lo = 0, *hi = 1;
    if (*hi - *lo < 1e-12) *lo -= 0.5 * fabs(*lo) * 1e-3 + 1e-6, *hi += 0.5 * fabs(*hi) * 1e-3 + 1e-6;
}

/* Value of series S at x given its points' xs (ascending), or NaN outside. */
static double sample_at(const dacc_chart_series *s, const double *xs, double x) {
    if (s->n < 1 || x < xs[0] - 1e-12 || x > xs[s->n - 1] + 1e-12) return NAN;
    int i = 0;
    while (i < s->n - 2 && x > xs[i + 1]) i++;
    if (s->n == 1 || xs[i + 1] <= xs[i]) return s->y[i];
    double f = (x - xs[i]) / (xs[i + 1] - xs[i]);
    return s->y[i] + (f < 0 ? 0 : f > 1 ? 1 : f) * (s->y[i + 1] - s->y[i]);
}

/* Value of series S at fractional x (1-based), or NaN outside or in a gap. */
static double sample(const dacc_chart_series *s, double x) {
    if (s->n < 1 || x < 1 || x > s->n) return s->n == 1 && fabs(x - 1) < 0.5 ? s->y[0] : NAN;
    int i = (int)floor(x) - 1;
    if (i >= s->n - 1) return s->y[s->n - 1];
    double f = x - 1 - i;
    return s->y[i] + f * (s->y[i + 1] - s->y[i]);
}

/* Sets one dot (px, py) of the plot area (py = 0 at the top). */
static void dot(wchar_t *cells, unsigned char *owner, int w, int x0, int ascii, int px, int py, int id, int ns) {
    static const int bits[4][2] = {{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}};
    static const char marks[] = "*+ox#@%&";
    int cx = ascii ? px : px / 2, cy = ascii ? py : py / 4;
    wchar_t *c = &cells[cy * w + x0 + cx];
    if (ascii) *c = (wchar_t)marks[(ns - id) % 8]; /* the last series (on top) is '*' */
    else *c = (*c >= 0x2800 && *c <= 0x28FF ? *c : 0x2800) | bits[py % 4][px % 2];
    owner[cy * w + x0 + cx] = (unsigned char)id;
}

/* The x labels: first, middle and last x (given xs, or 1..maxx). */
static void x_labels(wchar_t *xl, int w, int pw, const dacc_chart_opts *o, int maxx) {
    char lab[32];
    double x0 = o->x ? o->x[0] : 1, x1 = o->x ? o->x[maxx - 1] : maxx;
    snprintf(lab, sizeof lab, "%g", x0);
    put_text(xl, w, LABEL_W + 1, lab);
    if (maxx > 2) {
        if (o->x) snprintf(lab, sizeof lab, "%g", (x0 + x1) / 2);
        else snprintf(lab, sizeof lab, "%d", (maxx + 1) / 2);
        put_text(xl, w, LABEL_W + 1 + (pw - 1) / 2 - (int)strlen(lab) / 2, lab);
    }
    if (maxx > 1) {
        snprintf(lab, sizeof lab, "%g", x1);
        put_text(xl, w, w - (int)strlen(lab), lab);
    }
}

static void axes(wchar_t *cells, int w, int ph, int ascii, double lo, double hi, const dacc_chart_opts *o,
                 int maxx) {
    char lab[32];
    for (int r = 0; r < ph; r++) cells[r * w + LABEL_W] = ascii ? '|' : 0x2502;
    cells[ph * w + LABEL_W] = ascii ? '+' : 0x2514;
    for (int x = LABEL_W + 1; x < w; x++) cells[ph * w + x] = ascii ? '-' : 0x2500;
    int rows[3] = {0, (ph - 1) / 2, ph - 1};
    for (int k = 0; k < 3; k++) {
        if (k == 1 && ph < 5) continue;
        double v = hi - (hi - lo) * rows[k] / (ph > 1 ? ph - 1 : 1);
        int n = snprintf(lab, sizeof lab, o->fmt ? o->fmt : "%.3g", (o->scale ? o->scale : 1) * v);
        if (n > LABEL_W - 1) n = LABEL_W - 1, lab[n] = 0;
        put_text(&cells[rows[k] * w], w, LABEL_W - 1 - n, lab);
    }
    x_labels(&cells[(ph + 1) * w], w, w - LABEL_W - 1, o, maxx);
}

int dacc_chart_render(const dacc_chart_series *s, int ns, const dacc_chart_opts *o, int w, int h,
                      wchar_t *cells, unsigned char *owner) {
    for (int i = 0; i < w * h; i++) cells[i] = L' ', owner[i] = 0;
    if (w < 16 || h < 4) return -1;
    int ph = h - 2, pw = w - LABEL_W - 1, ascii = o->ascii;
    int dw = ascii ? pw : 2 * pw, dh = ascii ? ph : 4 * ph, maxx = 1;
    for (int k = 0; k < ns; k++)
        if (s[k].n > maxx) maxx = s[k].n;
    double lo, hi;
    y_range(s, ns, &lo, &hi);
    axes(cells, w, ph, ascii, lo, hi, o, maxx);
    for (int k = 0; k < ns; k++) {
        int prev = -1;
        for (int px = 0; px < dw; px++) {
            double x0 = o->x ? o->x[0] : 1, x1 = o->x ? o->x[maxx - 1] : maxx;
            double x = maxx > 1 ? x0 + (double)px * (x1 - x0) / (dw - 1) : x0;
            double y = o->x ? sample_at(&s[k], o->x, x) : sample(&s[k], x);
            if (!isfinite(y)) { prev = -1; continue; }
            int py = (int)lround((hi - y) / (hi - lo) * (dh - 1));
            if (py < 0) py = 0;
            if (py > dh - 1) py = dh - 1;
            int a = prev < 0 ? py : prev, step = py >= a ? 1 : -1;
            if (ascii) a = py; /* one marker per column reads better than a wall */
            for (int q = a;; q += step) {
                dot(cells, owner, w, LABEL_W + 1, ascii, px, q, k + 1, ns);
                if (q == py) break;
            }
            prev = py;
        }
    }
    return 0;
}

/* The dashboard's results panels: the table of clean / y / x^ / delta per
 * variant, the Fig. 3 and Fig. 4 bars, and the digit inspector. */
#include "internal.h"
#ifdef DACC_HAVE_TUI
#include "chart.h"
#include "draw.h"
#include "fmt.h"
#include <curses.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

void dw_draw_table(const view *v, const dacc_rect *rc, int focused) {
    const dacc_rd_run *r = v->r;
    int both = dw_has_proto(r, DACC_RD_HELDOUT) && dw_has_proto(r, DACC_RD_PAPER);
    int proto = v->proto;
    if (!dw_has_proto(r, proto) && dw_has_proto(r, 1 - proto)) proto = 1 - proto;
    char title[96];
    snprintf(title, sizeof title, "Results: %s protocol%s", proto == DACC_RD_HELDOUT ? "held-out" : "paper",
             both ? (proto == DACC_RD_HELDOUT ? " (t: paper)" : " (t: held-out)") : "");
    dw_frame(v, rc, title, focused);
    int x = rc->x + 2, w = rc->w - 4, y = rc->y + 1, h = rc->h - 2;
    const char *delta = v->ascii ? "dAcc" : "\xce\x94" "acc";
    dw_set_attr(v, A_BOLD, 0);
    int cx = x;
    dw_put(v, y, cx, 12, "variant");
    cx += 12;
    dw_putf(v, y, cx, 3, "%s", r->nseeds > 1 ? " n" : "");
    cx += 3;
    dw_putf(v, y, cx, 7, "%7s", "clean");
    cx += 7;
    for (int k = 0; k < DACC_RD_SHOW_Y; k++, cx += 7) dw_putf(v, y, cx, 7, "%6s%d", "y", k + 1);
    dw_putf(v, y, cx, 7, "%7s", "x^");
    cx += 7;
    dw_putf(v, y, cx, 8, "%*s%s", v->ascii ? 4 : 4, "", delta);
    dw_set_attr(v, A_NORMAL, 0);
    /* best (closest to zero) delta in green, worst in red */
    double best = -INFINITY, worst = INFINITY;
    for (int vi = 0; vi < r->nvariants; vi++) {
        dacc_rd_stats s;
        dacc_rd_variant_stats(r, vi, proto, &s);
        if (isfinite(s.delta)) { if (s.delta > best) best = s.delta; if (s.delta < worst) worst = s.delta; }
    }
    int row = 1;
    for (int vi = 0; vi < r->nvariants && row < h; vi++, row++) {
        dacc_rd_stats s;
        char b[16];
        dacc_rd_variant_stats(r, vi, proto, &s);
        int sel = vi == v->variant;
        dw_set_attr(v, sel ? A_REVERSE : A_NORMAL, 0);
        dw_put(v, y + row, x, 11, r->variants[vi]);
        dw_set_attr(v, A_NORMAL, 0);
        cx = x + 12;
        if (r->nseeds > 1) dw_putf(v, y + row, cx, 3, "%2d", s.nseeds);
        cx += 3;
        dw_putf(v, y + row, cx, 7, "%7s", tf_pct(s.clean, 2, b, sizeof b));
        cx += 7;
        for (int k = 0; k < DACC_RD_SHOW_Y; k++, cx += 7) dw_putf(v, y + row, cx, 7, "%7s", tf_pct(s.y[k], 2, b, sizeof b));
        dw_putf(v, y + row, cx, 7, "%7s", tf_pct(s.xhat, 2, b, sizeof b));
        cx += 7;
        int pair = 0;
        if (isfinite(s.delta) && best > worst) pair = s.delta == best ? C_GOOD : s.delta == worst ? C_BAD : 0;
        dw_set_attr(v, pair ? A_BOLD : A_NORMAL, pair);
        dw_putf(v, y + row, cx, 8, "%8s", tf_pp(s.delta, 2, b, sizeof b));
        dw_set_attr(v, A_NORMAL, 0);
    }
    if (row + 1 < h) {
        dw_set_attr(v, A_NORMAL, C_DIM);
        dw_putf(v, y + row + 1, x, w, "accuracy in %%, %s = x^ - clean in points; x^ = mean of y1..y5%s",
             v->ascii ? "dAcc" : "\xce\x94" "acc", r->nseeds > 1 ? "; mean over n seeds" : "");
        dw_set_attr(v, A_NORMAL, 0);
    }
}

/* Fig. 3 rows: clean and x^ per variant from `axis` to 100 %, on two lines
 * each when there is room, else one (solid to x^, shaded to clean).
 * Returns the next free row. */
static int draw_fig3(const view *v, int y, int x, int h, int bw, double axis, const dacc_rd_stats *st) {
    const dacc_rd_run *r = v->r;
    int nv = r->nvariants, two_lines = h >= 3 * nv + 4, row = 1;
    char b1[16], b2[16];
    for (int vi = 0; vi < nv && row < h; vi++) {
        const dacc_rd_stats *s = &st[vi];
        dw_set_attr(v, vi == v->variant ? A_REVERSE : A_NORMAL, 0);
        dw_put(v, y + row, x, 11, r->variants[vi]);
        dw_set_attr(v, A_NORMAL, 0);
        double fc = (s->clean - axis) / (1 - axis), fx = (s->xhat - axis) / (1 - axis);
        if (two_lines) {
            dw_hbar(v, y + row, x + 12, bw, fc, C_BAR1, 0);
            dw_putf(v, y + row, x + 13 + bw, 14, "%s", tf_pct(s->clean, 2, b1, sizeof b1));
            row++;
            if (row >= h) break;
            if (v->ascii) {
                int n = isfinite(fx) ? (int)(fx * bw + 0.5) : 0;
                dw_set_attr(v, A_NORMAL, C_BAR2);
                for (int i = 0; i < bw; i++) mvaddch(y + row, x + 12 + i, i < n ? '=' : ' ');
                dw_set_attr(v, A_NORMAL, 0);
            } else {
                dw_hbar(v, y + row, x + 12, bw, fx, C_BAR2, 0);
            }
            dw_putf(v, y + row, x + 13 + bw, 14, "%s", tf_pct(s->xhat, 2, b2, sizeof b2));
            row++;
        } else {
            int nc = isfinite(fc) ? (int)(fc * bw + 0.5) : 0, nx = isfinite(fx) ? (int)(fx * bw + 0.5) : 0;
            if (nc < 0) nc = 0;
            if (nx < 0) nx = 0;
            for (int i = 0; i < bw; i++) {
                if (i < nx && i < nc) { dw_set_attr(v, A_NORMAL, C_BAR2); dw_glyph(v, y + row, x + 12 + i, L'\x2588', '='); }
                else if (i < nc) { dw_set_attr(v, A_NORMAL, C_BAR1); dw_glyph(v, y + row, x + 12 + i, L'\x2592', '#'); }
                else { dw_set_attr(v, A_NORMAL, 0); mvaddch(y + row, x + 12 + i, ' '); }
            }
            dw_set_attr(v, A_NORMAL, 0);
            dw_putf(v, y + row, x + 13 + bw, 16, "%s/%s", tf_pct(s->clean, 2, b1, sizeof b1),
                    tf_pct(s->xhat, 2, b2, sizeof b2));
            row++;
        }
    }
    return row;
}

/* Fig. 4 rows from `row`: delta bars growing left from a zero line near the
 * right edge, scaled to the largest |delta| (maxd). */
static void draw_fig4(const view *v, int y, int x, int w, int h, int row, int bw, double maxd,
                      const dacc_rd_stats *st) {
    const dacc_rd_run *r = v->r;
    char b1[16];
    dw_set_attr(v, A_BOLD, 0);
    dw_putf(v, y + row, x, w, "%s = x^ - clean in points, zero at %s (nearer zero = more robust)",
            v->ascii ? "delta" : "\xce\x94" "accuracy", v->ascii ? "|" : "\xe2\x94\x82");
    dw_set_attr(v, A_NORMAL, 0);
    row++;
    int zero = x + 12 + bw - 6; /* leaves room for small positive deltas */
    int left = bw - 6;
    if (maxd <= 0) maxd = 1e-4;
    for (int vi = 0; vi < r->nvariants && row < h; vi++, row++) {
        const dacc_rd_stats *s = &st[vi];
        dw_set_attr(v, vi == v->variant ? A_REVERSE : A_NORMAL, 0);
        dw_put(v, y + row, x, 11, r->variants[vi]);
        dw_set_attr(v, A_NORMAL, 0);
        int n = isfinite(s->delta) ? (int)(fabs(s->delta) / maxd * left + 0.5) : 0;
        if (n > left) n = left;
        int neg = isfinite(s->delta) && s->delta < 0;
        dw_set_attr(v, A_NORMAL, neg ? C_BAD : C_GOOD);
        if (neg)
            for (int i = 0; i < n; i++) dw_glyph(v, y + row, zero - 1 - i, L'\x2588', '#');
        else
            for (int i = 0; i < n && i < 5; i++) dw_glyph(v, y + row, zero + 1 + i, L'\x2588', '#');
        dw_set_attr(v, A_BOLD, 0);
        dw_glyph(v, y + row, zero, L'\x2502', '|');
        dw_set_attr(v, A_NORMAL, 0);
        dw_putf(v, y + row, x + 13 + bw, 14, "%s", tf_pp(s->delta, 2, b1, sizeof b1));
    }
}

/* Delta against deformation scale per variant (dacc run --scales) as a
 * chart: the selected variant last and bright, the others dim. */
static void draw_scales(const view *v, const dacc_rect *rc, int focused, int proto) {
    const dacc_rd_run *r = v->r;
    char title[96];
    snprintf(title, sizeof title, "Robustness (%s): %s against deformation scale (s: bars)",
             proto == DACC_RD_HELDOUT ? "held-out" : "paper", v->ascii ? "delta" : "\xce\x94" "accuracy");
    dw_frame(v, rc, title, focused);
    int x = rc->x + 2, w = rc->w - 4, y = rc->y + 1, h = rc->h - 2;
    double xs[DACC_RD_MAX_SCALES], d[DACC_RD_MAX_VARIANTS][DACC_RD_MAX_SCALES];
    int nx = dacc_rd_scale_curve(r, 0, proto, xs, NULL, DACC_RD_MAX_SCALES), nv = r->nvariants;
    if (nx < 1 || nv < 1) {
        dw_put(v, y, x, w, "no scales.json yet: run dacc run --scales 0,0.5,1,2 (same options) on this study");
        return;
    }
    wchar_t *cells = malloc(sizeof *cells * (size_t)(w * h));
    unsigned char *own = malloc((size_t)(w * h));
    dacc_chart_series s[DACC_RD_MAX_VARIANTS];
    for (int k = 0; k < nv; k++) {
        int vi = (v->variant + 1 + k) % nv; /* the selected one last */
        dacc_rd_scale_curve(r, vi, proto, xs, d[k], DACC_RD_MAX_SCALES);
        s[k] = (dacc_chart_series){d[k], nx};
    }
    dacc_chart_opts o = {v->ascii, 100, "%.1f", xs};
    if (cells && own && h >= 6 && dacc_chart_render(s, nv, &o, w, h - 2, cells, own) == 0) {
        dw_set_attr(v, A_BOLD, 0);
        dw_putf(v, y, x, w, "%s pp, mean over seeds; %s %s", v->ascii ? "delta" : "\xce\x94" "accuracy",
                v->variant < nv ? r->variants[v->variant] : "", v->ascii ? "'*'" : "bright");
        for (int i = 0; i < w * (h - 2); i++) {
            dw_set_attr(v, own[i] == nv ? A_BOLD : A_NORMAL, own[i] == nv ? C_ACCENT : own[i] ? C_DIM : 0);
            dw_glyph(v, y + 1 + i / w, x + i % w, cells[i], cells[i] < 0x80 ? (char)cells[i] : '.');
        }
        dw_set_attr(v, A_NORMAL, 0);
        dw_putf(v, y + h - 1, x, w, "%*sdeformation scale", w / 2 - 9, "");
    } else { /* no room for a chart: the selected variant's numbers */
        char line[256];
        int o2 = snprintf(line, sizeof line, "%s:", v->variant < nv ? r->variants[v->variant] : "");
        const double *dv = d[nv - 1];
        for (int i = 0; i < nx && o2 < (int)sizeof line - 24; i++)
            o2 += snprintf(line + o2, sizeof line - (size_t)o2, "  %g: %+.2f", xs[i], 100 * dv[i]);
        dw_put(v, y, x, w, line);
    }
    free(cells);
    free(own);
}

void dw_draw_bars(const view *v, const dacc_rect *rc, int focused) {
    const dacc_rd_run *r = v->r;
    int proto = v->proto;
    if (!dw_has_proto(r, proto) && dw_has_proto(r, 1 - proto)) proto = 1 - proto;
    if (v->scales) {
        draw_scales(v, rc, focused, proto);
        return;
    }
    char title[96];
    snprintf(title, sizeof title, "Robustness (%s): Fig. 3 clean vs x^, Fig. 4 %s",
             proto == DACC_RD_HELDOUT ? "held-out" : "paper", v->ascii ? "delta" : "\xce\x94" "accuracy");
    dw_frame(v, rc, title, focused);
    int x = rc->x + 2, w = rc->w - 4, y = rc->y + 1, h = rc->h - 2;
    int nv = r->nvariants;
    dacc_rd_stats st[DACC_RD_MAX_VARIANTS];
    double lo = INFINITY, maxd = 0;
    int any = 0;
    for (int vi = 0; vi < nv; vi++) {
        dacc_rd_variant_stats(r, vi, proto, &st[vi]);
        if (isfinite(st[vi].clean) && st[vi].clean < lo) lo = st[vi].clean;
        if (isfinite(st[vi].xhat) && st[vi].xhat < lo) lo = st[vi].xhat;
        if (isfinite(st[vi].delta) && fabs(st[vi].delta) > maxd) maxd = fabs(st[vi].delta);
        if (isfinite(st[vi].clean)) any = 1;
    }
    if (!any) {
        dw_put(v, y, x, w, "no results yet: bars appear as tasks finish");
        return;
    }
    /* axis from a round value below the lowest accuracy to 100 % */
    if (!isfinite(lo) || lo > 1) lo = 1;
    double axis = floor(lo * 200 - 1) / 200; /* 0.5-point steps */
    if (axis < 0) axis = 0;
    if (axis > 0.995) axis = 0.995;
    int bw = w - 12 - 8 - 8;
    if (bw < 10) bw = 10;
    dw_set_attr(v, A_BOLD, 0);
    dw_putf(v, y, x, w, "accuracy %%, axis %.1f..100   ", 100 * axis);
    dw_set_attr(v, A_NORMAL, C_BAR1);
    int two_lines = h >= 3 * nv + 4;
    dw_put(v, y, x + 31, 10, v->ascii ? "# clean" : two_lines ? "\xe2\x96\x88 clean" : "\xe2\x96\x92 clean");
    dw_set_attr(v, A_NORMAL, C_BAR2);
    dw_put(v, y, x + 41, 20, v->ascii ? "= x^ (transformed)" : "\xe2\x96\x88 x^ (transformed)");
    dw_set_attr(v, A_NORMAL, 0);
    int row = draw_fig3(v, y, x, h, bw, axis, st);
    if (row + 1 >= h) return;
    draw_fig4(v, y, x, w, h, row + 1, bw, maxd, st);
}

/* One digit image, area-averaged to iw x ih cells. UTF-8: half blocks, two
 * pixel rows per cell; ASCII: a ten-step shade ramp. */
static void draw_digit(const view *v, int y, int x, int iw, int ih, const unsigned char *img, int rows, int cols) {
    static const char ramp[] = " .:-=+*#%@";
    int subrows = v->ascii ? 1 : 2;
    for (int cy = 0; cy < ih; cy++)
        for (int cx = 0; cx < iw; cx++) {
            double lv[2] = {0, 0};
            for (int s = 0; s < subrows; s++) {
                int py0 = (cy * subrows + s) * rows / (ih * subrows), py1 = (cy * subrows + s + 1) * rows / (ih * subrows);
                int px0 = cx * cols / iw, px1 = (cx + 1) * cols / iw;
                if (py1 <= py0) py1 = py0 + 1;
                if (px1 <= px0) px1 = px0 + 1;
                double sum = 0;
                int n = 0;
                for (int py = py0; py < py1 && py < rows; py++)
                    for (int px = px0; px < px1 && px < cols; px++) { sum += img[py * cols + px]; n++; }
                lv[s] = n ? sum / n / 255.0 : 0;
            }
            if (v->ascii) {
                int k = (int)(lv[0] * 9 + 0.5);
                mvaddch(y + cy, x + cx, (chtype)(unsigned char)ramp[k < 0 ? 0 : k > 9 ? 9 : k]);
            } else {
                int top = lv[0] >= 0.3, bot = lv[1] >= 0.3;
                wchar_t g = top && bot ? L'\x2588' : top ? L'\x2580' : bot ? L'\x2584' : L' ';
                mvaddnwstr(y + cy, x + cx, &g, 1);
            }
        }
}

void dw_draw_inspect(const view *v, const dacc_rect *rc, int focused) {
    const dacc_rd_run *r = v->r;
    dw_frame(v, rc, "Inspector: a digit and its AlignMNIST transformations (Fig. 5)", focused);
    int x = rc->x + 2, w = rc->w - 4, y = rc->y + 1, h = rc->h - 2;
    if (!r->ndigits) {
        dw_put(v, y, x, w, "no inspect.json digits yet");
        return;
    }
    int di = v->digit < r->ndigits ? v->digit : r->ndigits - 1;
    const dacc_rd_digit *g = &r->digits[di];
    int nb = g->nblocks, nv = r->nvariants;
    int dis = dw_digit_disagrees(r, g);
    dw_set_attr(v, A_BOLD, 0);
    int used = dw_putf(v, y, x, w, "digit %d/%d  #%d (%s)  label %d", di + 1, r->ndigits, g->index, g->split, g->label);
    dw_set_attr(v, A_NORMAL, dis ? C_BAD : C_DIM);
    used += dw_put(v, y, x + used, w - used, dis ? "  variants disagree" : "  variants agree");
    dw_set_attr(v, A_NORMAL, C_DIM);
    static const char hint[] = "   n/p step  d next disagreement";
    if (w - used >= (int)sizeof hint - 1) dw_put(v, y, x + used, w - used, hint);
    dw_set_attr(v, A_NORMAL, 0);
    /* left column 12 for names, then nb images with one space between */
    /* Square pixels would need iw = 2*ih (a cell is twice as tall as wide,
     * half blocks give two pixel rows per cell); when short of width we
     * accept digits up to about 1.5x too tall rather than tiny ones. */
    int colw = (w - 12) / nb;
    if (colw > r->cols + 1) colw = r->cols + 1;
    if (colw < 2) colw = 2;
    int iw = colw - 1;
    int ih = h - 1 - 1 - nv;
    int ih_max = (iw * 3 + 3) / 4;
    if (ih > ih_max) ih = ih_max;
    if (ih > r->rows / (v->ascii ? 1 : 2)) ih = r->rows / (v->ascii ? 1 : 2);
    if (ih < 1) ih = 1;
    if (iw > 2 * ih) iw = 2 * ih;
    if (colw < 7 && 12 + nb * 7 <= w) colw = 7; /* room for "7 99%" */
    size_t px = (size_t)r->rows * (size_t)r->cols;
    for (int b = 0; b < nb; b++) draw_digit(v, y + 1, x + 12 + b * colw, iw, ih, g->img + b * px, r->rows, r->cols);
    int ly = y + 1 + ih;
    dw_set_attr(v, A_BOLD, 0);
    dw_put(v, ly, x, 12, "predicted");
    for (int b = 0; b < nb; b++) dw_putf(v, ly, x + 12 + b * colw, colw - 1, b == 0 ? "clean" : "y%d", b);
    dw_set_attr(v, A_NORMAL, 0);
    for (int vi = 0; vi < nv && ly + 1 + vi < y + h; vi++) {
        int row = ly + 1 + vi;
        dw_set_attr(v, vi == v->variant ? A_REVERSE : A_NORMAL, 0);
        dw_put(v, row, x, 11, r->variants[vi]);
        for (int b = 0; b < nb; b++) {
            int p = vi < DACC_RD_MAX_VARIANTS ? g->pred[vi][b] : -1;
            int cx = x + 12 + b * colw;
            if (p < 0) {
                dw_set_attr(v, A_NORMAL, C_DIM);
                dw_put(v, row, cx, colw - 1, "-");
                continue;
            }
            int right = p == g->label;
            dw_set_attr(v, right ? A_NORMAL : A_BOLD | (v->color ? 0 : A_REVERSE), right ? C_GOOD : C_BAD);
            float c = g->conf[vi][b];
            if (isfinite(c) && colw - 1 >= 6) dw_putf(v, row, cx, colw - 1, "%d %2.0f%%%s", p, 100.0 * c > 99 ? 99.0 : 100.0 * c, right ? "" : "!");
            else dw_putf(v, row, cx, colw - 1, "%d%s", p, right ? "" : "!");
        }
        dw_set_attr(v, A_NORMAL, 0);
    }
}

#endif

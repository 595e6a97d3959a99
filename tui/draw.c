/* The dashboard's drawing primitives (see draw.h). */
#include "internal.h"
#ifdef DACC_HAVE_TUI
#include "draw.h"
#include <curses.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

void dw_set_attr(const view *v, attr_t a, int pair) {
    attr_set(a, (short)(v->color ? pair : 0), NULL);
}

/* UTF-8 text at (y,x), at most w columns; returns columns used. Invalid or
 * (in ascii mode) non-ASCII characters become '?'. */
int dw_put(const view *v, int y, int x, int w, const char *s) {
    wchar_t buf[512];
    int n = 0, cols = 0;
    mbstate_t st;
    memset(&st, 0, sizeof st);
    size_t len = strlen(s);
    while (len && n < 511 && cols < w) {
        wchar_t wc;
        size_t k = v->ascii ? ((unsigned char)*s < 0x80 ? 1 : (size_t)-1) : mbrtowc(&wc, s, len, &st);
        if (v->ascii && k == 1) wc = (unsigned char)*s;
        if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
            wc = L'?';
            k = 1;
            memset(&st, 0, sizeof st);
        }
        int cw = wcwidth(wc);
        if (cw < 0) { wc = L'?'; cw = 1; }
        if (cols + cw > w) break;
        buf[n++] = wc;
        cols += cw;
        s += k;
        len -= k;
    }
    if (n) mvaddnwstr(y, x, buf, n);
    return cols;
}

int dw_putf(const view *v, int y, int x, int w, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return dw_put(v, y, x, w, buf);
}

void dw_glyph(const view *v, int y, int x, wchar_t g, char fallback) {
    if (v->ascii) mvaddch(y, x, (chtype)(unsigned char)fallback);
    else mvaddnwstr(y, x, &g, 1);
}

void dw_fill(const view *v, int y, int x, int w, int h) {
    dw_set_attr(v, A_NORMAL, 0);
    for (int i = 0; i < h; i++) mvhline(y + i, x, ' ', w);
}

/* Border with the title in it; the focused panel's title is reversed. */
void dw_frame(const view *v, const dacc_rect *rc, const char *title, int focused) {
    int x0 = rc->x, y0 = rc->y, x1 = rc->x + rc->w - 1, y1 = rc->y + rc->h - 1;
    dw_fill(v, rc->y, rc->x, rc->w, rc->h);
    dw_set_attr(v, focused ? A_BOLD : A_NORMAL, focused ? C_TITLE : C_DIM);
    for (int x = x0 + 1; x < x1; x++) {
        dw_glyph(v, y0, x, L'\x2500', '-');
        dw_glyph(v, y1, x, L'\x2500', '-');
    }
    for (int y = y0 + 1; y < y1; y++) {
        dw_glyph(v, y, x0, L'\x2502', '|');
        dw_glyph(v, y, x1, L'\x2502', '|');
    }
    dw_glyph(v, y0, x0, L'\x250c', '+');
    dw_glyph(v, y0, x1, L'\x2510', '+');
    dw_glyph(v, y1, x0, L'\x2514', '+');
    dw_glyph(v, y1, x1, L'\x2518', '+');
    dw_set_attr(v, focused ? A_REVERSE | A_BOLD : A_BOLD, C_TITLE);
    dw_putf(v, y0, x0 + 2, rc->w - 4, " %s ", title);
    dw_set_attr(v, A_NORMAL, 0);
}

/* Horizontal bar of `cells` columns filled to fraction f (eighths in UTF-8). */
void dw_hbar(const view *v, int y, int x, int cells, double f, int pair, int track) {
    if (cells <= 0) return;
    if (!(f >= 0)) f = 0;
    if (f > 1) f = 1;
    int eighths = (int)(f * cells * 8 + 0.5);
    static const wchar_t part[8] = {L' ', L'\x258f', L'\x258e', L'\x258d', L'\x258c', L'\x258b', L'\x258a', L'\x2589'};
    for (int i = 0; i < cells; i++) {
        int e = eighths - i * 8;
        if (e >= 8) {
            dw_set_attr(v, v->color ? A_NORMAL : A_NORMAL, pair);
            dw_glyph(v, y, x + i, L'\x2588', '#');
        } else if (e > 0 && !v->ascii) {
            dw_set_attr(v, A_NORMAL, pair);
            dw_glyph(v, y, x + i, part[e], '#');
        } else {
            dw_set_attr(v, A_NORMAL, C_DIM);
            if (track) dw_glyph(v, y, x + i, L'\x2591', '.');
            else mvaddch(y, x + i, ' ');
        }
    }
    dw_set_attr(v, A_NORMAL, 0);
}

/* ---- data helpers ---- */

int dw_has_proto(const dacc_rd_run *r, int proto) {
    for (int i = 0; i < r->ntasks; i++)
        if (r->tasks[i].has_results && r->tasks[i].proto[proto].has) return 1;
    return 0;
}

int dw_digit_disagrees(const dacc_rd_run *r, const dacc_rd_digit *g) {
    for (int b = 0; b < g->nblocks; b++) {
        int first = -1;
        for (int vi = 0; vi < r->nvariants && vi < DACC_RD_MAX_VARIANTS; vi++) {
            int p = g->pred[vi][b];
            if (p < 0) continue;
            if (first < 0) first = p;
            else if (p != first) return 1;
        }
    }
    return 0;
}

/* ---- panels ---- */

#endif

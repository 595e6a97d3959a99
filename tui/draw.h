/* The dashboard's drawing state and primitives, shared by its panels
 * (dash.c: the frame, progress, training and system panels and the key
 * loop; dash_results.c: the results table, the Fig. 3/4 bars and the digit
 * inspector). Only built with the curses front end. */
#ifndef DACC_TUI_DRAW_H
#define DACC_TUI_DRAW_H
#include "internal.h"
#include "layout.h"
#include <curses.h>
#include <wchar.h>

enum { C_GOOD = 1, C_BAD, C_TITLE, C_ACCENT, C_BAR1, C_BAR2, C_DIM };

typedef struct view {
    dacc_rd_run *r;
    int ascii, color;
    int focus;    /* content panel with the keyboard */
    int variant;  /* selected variant */
    int digit;    /* inspector: current digit */
    int proto;    /* DACC_RD_HELDOUT or DACC_RD_PAPER */
    int help;     /* help overlay shown */
    int scales;   /* robustness panel: delta against deformation scale instead of the bars */
} view;

void dw_set_attr(const view *v, attr_t a, int pair);
/* UTF-8 text at (y,x), at most w columns; returns columns used. */
int dw_put(const view *v, int y, int x, int w, const char *s);
int dw_putf(const view *v, int y, int x, int w, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void dw_glyph(const view *v, int y, int x, wchar_t g, char fallback);
void dw_fill(const view *v, int y, int x, int w, int h);
void dw_frame(const view *v, const dacc_rect *rc, const char *title, int focused);
void dw_hbar(const view *v, int y, int x, int cells, double f, int pair, int track);
int dw_has_proto(const dacc_rd_run *r, int proto);
int dw_digit_disagrees(const dacc_rd_run *r, const dacc_rd_digit *g);

/* The results panels (dash_results.c). */
void dw_draw_table(const view *v, const dacc_rect *rc, int focused);
void dw_draw_bars(const view *v, const dacc_rect *rc, int focused);
void dw_draw_inspect(const view *v, const dacc_rect *rc, int focused);

#endif

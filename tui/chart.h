/* A line chart drawn into a grid of characters, for the dashboard's
 * training page: y labels on the left, an x axis with the first, middle and
 * last x below, lines in braille dots (2 x 4 per cell) or, in ASCII, one
 * marker character per series and cell. Pure: no curses, unit-tested. */
#ifndef DACC_TUI_CHART_H
#define DACC_TUI_CHART_H
#include <wchar.h>

typedef struct dacc_chart_series {
    const double *y; /* y[i] is the value at x = i + 1; NaN: no point */
    int n;
} dacc_chart_series;

typedef struct dacc_chart_opts {
    int ascii;        /* markers "*+ox#@%&" (the last series '*') instead of braille */
    double scale;     /* labels show scale * value (100 for percent) */
    const char *fmt;  /* printf format of a y label, e.g. "%.2f" */
    const double *x;  /* NULL: y[i] is at x = i + 1; else at x[i] (ascending, as many
                       * as the longest series), and the axis shows these x ("%g") */
} dacc_chart_opts;

/* Fills CELLS[h][w] (characters) and OWNER[h][w] (0 axis/label/blank,
 * s + 1 the series s drawn last in the cell; later series draw over earlier
 * ones). Returns 0, or -1 when w < 16 or h < 4 (the grid is then blank). */
int dacc_chart_render(const dacc_chart_series *s, int ns, const dacc_chart_opts *o, int w, int h,
                      wchar_t *cells, unsigned char *owner);

#endif

/* Three arrangements: a full grid from 160x44 on; from 38 rows the results
 * table plus one page; otherwise header, progress, one page for the focused
 * content panel, and footer. Rectangles tile the
 * screen, so drawing each one completely never needs an erase. */
#include "layout.h"

static const int min_w[DACC_P_COUNT] = {80, 80, 60, 78, 60, 60, 40, 80};
static const int min_h[DACC_P_COUNT] = {1, 5, 9, 10, 12, 14, 5, 1};

void dacc_tui_panel_min(int panel, int *w, int *h) {
    if (panel < 0 || panel >= DACC_P_COUNT) { *w = *h = 0; return; }
    *w = min_w[panel];
    *h = min_h[panel];
}

const char *dacc_tui_panel_name(int panel) {
    static const char *names[DACC_P_COUNT] = {"header", "progress", "training", "results",
                                              "robustness", "inspector", "system", "footer"};
    return panel >= 0 && panel < DACC_P_COUNT ? names[panel] : "?";
}

static int put(dacc_rect out[], int *n, int max, int panel, int x, int y, int w, int h) {
    if (*n >= max) return -1;
    out[*n] = (dacc_rect){x, y, w, h, panel};
    (*n)++;
    return 0;
}

int dacc_tui_layout(int cols, int rows, int focus, dacc_rect out[], int max) {
    int n = 0;
    if (cols < DACC_MIN_COLS || rows < DACC_MIN_ROWS) return 0;
    if (focus < DACC_FIRST_CONTENT || focus > DACC_LAST_CONTENT) focus = DACC_P_TABLE;
    if (put(out, &n, max, DACC_P_HEADER, 0, 0, cols, 1)) return -1;
    if (cols >= DACC_FULL_COLS && rows >= DACC_FULL_ROWS) {
        /* left column a little wider: the results table and bars need it */
        int lw = cols / 2, rw = cols - lw;
        int body = rows - 2;              /* between header and footer */
        int top = 6;                      /* progress | system */
        int mid = 11;                     /* training | results */
        int bot = body - top - mid;       /* robustness | inspector: >= 25 */
        /* extra rows: a few to the top row (more kernels visible), then
         * split between the middle and bottom rows */
        if (bot > 30) { int extra = bot - 30 > 3 ? 3 : bot - 30; top += extra; bot -= extra; }
        if (bot > 34) { int extra = (bot - 34) / 2; mid += extra; bot -= extra; }
        if (put(out, &n, max, DACC_P_PROGRESS, 0, 1, lw, top) ||
            put(out, &n, max, DACC_P_SYSTEM, lw, 1, rw, top) ||
            put(out, &n, max, DACC_P_TRAIN, 0, 1 + top, lw, mid) ||
            put(out, &n, max, DACC_P_TABLE, lw, 1 + top, rw, mid) ||
            put(out, &n, max, DACC_P_BARS, 0, 1 + top + mid, lw, bot) ||
            put(out, &n, max, DACC_P_INSPECT, lw, 1 + top + mid, rw, bot))
            return -1;
    } else if (rows >= DACC_STACK_ROWS) {
        /* tall but not wide: the results table stays, the page below it
         * shows the focused panel (the bars when the table has focus) */
        int top = 5, table = 10;
        int page = focus == DACC_P_TABLE ? DACC_P_BARS : focus;
        if (put(out, &n, max, DACC_P_PROGRESS, 0, 1, cols, top) ||
            put(out, &n, max, DACC_P_TABLE, 0, 1 + top, cols, table) ||
            put(out, &n, max, page, 0, 1 + top + table, cols, rows - 2 - top - table))
            return -1;
    } else {
        int top = 5;
        if (put(out, &n, max, DACC_P_PROGRESS, 0, 1, cols, top) ||
            put(out, &n, max, focus, 0, 1 + top, cols, rows - 2 - top))
            return -1;
    }
    if (put(out, &n, max, DACC_P_FOOTER, 0, rows - 1, cols, 1)) return -1;
    return n;
}

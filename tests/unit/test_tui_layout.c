/* The dashboard's pure layout: for every terminal size from 80x24 to 250x80
 * (and beyond) and every focused panel, rectangles stay in bounds, do not
 * overlap, tile the screen, respect each panel's minimum size, and include
 * the panels that must always be there; below 80x24 the layout is empty. */
#include "harness.h"
#include "../../tui/layout.h"
#include <string.h>

static int overlap(const dacc_rect *a, const dacc_rect *b) {
    return a->x < b->x + b->w && b->x < a->x + a->w && a->y < b->y + b->h && b->y < a->y + a->h;
}

/* Checks one size; returns the number of failed properties (CHECKs are
 * counted once per property over all sizes to keep the output readable). */
static int check_size(int cols, int rows, int focus, char *why, size_t n) {
    dacc_rect r[DACC_P_COUNT + 4];
    memset(r, 0x55, sizeof r);
    int k = dacc_tui_layout(cols, rows, focus, r, DACC_P_COUNT + 4);
    if (k <= 0) { snprintf(why, n, "%dx%d: layout returned %d", cols, rows, k); return 1; }
    long area = 0;
    int seen[DACC_P_COUNT] = {0};
    for (int i = 0; i < k; i++) {
        int mw, mh;
        if (r[i].panel < 0 || r[i].panel >= DACC_P_COUNT) { snprintf(why, n, "%dx%d: bad panel id", cols, rows); return 1; }
        if (seen[r[i].panel]++) { snprintf(why, n, "%dx%d: panel %d twice", cols, rows, r[i].panel); return 1; }
        if (r[i].x < 0 || r[i].y < 0 || r[i].x + r[i].w > cols || r[i].y + r[i].h > rows) {
            snprintf(why, n, "%dx%d: %s out of bounds (%d,%d %dx%d)", cols, rows, dacc_tui_panel_name(r[i].panel),
                     r[i].x, r[i].y, r[i].w, r[i].h);
            return 1;
        }
        dacc_tui_panel_min(r[i].panel, &mw, &mh);
        if (r[i].w < mw || r[i].h < mh) {
            snprintf(why, n, "%dx%d: %s %dx%d below its minimum %dx%d", cols, rows,
                     dacc_tui_panel_name(r[i].panel), r[i].w, r[i].h, mw, mh);
            return 1;
        }
        for (int j = 0; j < i; j++)
            if (overlap(&r[i], &r[j])) {
                snprintf(why, n, "%dx%d: %s overlaps %s", cols, rows, dacc_tui_panel_name(r[i].panel),
                         dacc_tui_panel_name(r[j].panel));
                return 1;
            }
        area += (long)r[i].w * r[i].h;
    }
    /* no overlap + same area = the rectangles tile the screen (no erase needed) */
    if (area != (long)cols * rows) { snprintf(why, n, "%dx%d: panels cover %ld of %ld cells", cols, rows, area, (long)cols * rows); return 1; }
    if (!seen[DACC_P_HEADER] || !seen[DACC_P_FOOTER] || !seen[DACC_P_PROGRESS]) {
        snprintf(why, n, "%dx%d: header, footer or progress missing", cols, rows);
        return 1;
    }
    if (!seen[focus]) { snprintf(why, n, "%dx%d: focused %s not shown", cols, rows, dacc_tui_panel_name(focus)); return 1; }
    int full = cols >= DACC_FULL_COLS && rows >= DACC_FULL_ROWS;
    for (int p = DACC_FIRST_CONTENT; p <= DACC_LAST_CONTENT; p++)
        if (full && !seen[p]) { snprintf(why, n, "%dx%d: %s missing in the full layout", cols, rows, dacc_tui_panel_name(p)); return 1; }
    if (!full && rows >= DACC_STACK_ROWS) {
        if (k != 5 || !seen[DACC_P_TABLE]) { snprintf(why, n, "%dx%d: stacked layout has %d panels", cols, rows, k); return 1; }
    } else if (!full && k != 4) {
        snprintf(why, n, "%dx%d: page layout has %d panels", cols, rows, k);
        return 1;
    }
    return 0;
}

int main(void) {
    char why[256] = "";
    int bad = 0, sizes = 0;
    for (int cols = 80; cols <= 250; cols++)
        for (int rows = 24; rows <= 80; rows++)
            for (int f = DACC_FIRST_CONTENT; f <= DACC_LAST_CONTENT; f++) {
                sizes++;
                if (check_size(cols, rows, f, why, sizeof why) && bad++ < 5) fprintf(stderr, "FAIL %s\n", why);
            }
    CHECK(bad == 0, "%d of %d size/focus combinations broke the layout (first: %s)", bad, sizes, why);

    /* very large terminals too */
    static const int big[][2] = {{400, 120}, {1000, 300}, {160, 44}, {159, 44}, {160, 43}, {80, 200}, {600, 24}};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        int b = check_size(big[i][0], big[i][1], DACC_P_INSPECT, why, sizeof why);
        CHECK(!b, "%s", why);
    }

    /* too small: nothing laid out, whatever the other side */
    int small_bad = 0;
    for (int cols = 0; cols <= 250; cols++)
        for (int rows = 0; rows <= 80; rows++) {
            if (cols >= 80 && rows >= 24) continue;
            dacc_rect r[DACC_P_COUNT];
            if (dacc_tui_layout(cols, rows, DACC_P_TABLE, r, DACC_P_COUNT) != 0) small_bad++;
        }
    CHECK(small_bad == 0, "%d sizes below 80x24 got a layout", small_bad);
    dacc_rect r[DACC_P_COUNT];
    CHECK(dacc_tui_layout(79, 24, DACC_P_TABLE, r, DACC_P_COUNT) == 0, "79x24 is too small");
    CHECK(dacc_tui_layout(80, 23, DACC_P_TABLE, r, DACC_P_COUNT) == 0, "80x23 is too small");
    CHECK(dacc_tui_layout(-5, -5, DACC_P_TABLE, r, DACC_P_COUNT) == 0, "negative size");
    CHECK(dacc_tui_layout(80, 24, DACC_P_TABLE, r, DACC_P_COUNT) == 4, "80x24: header, progress, page, footer");

    /* the page shows the focused panel; a bad focus falls back to results */
    CHECK(dacc_tui_layout(80, 24, DACC_P_INSPECT, r, DACC_P_COUNT) == 4 && r[2].panel == DACC_P_INSPECT,
          "80x24 page shows the inspector when focused");
    CHECK(dacc_tui_layout(120, 30, 999, r, DACC_P_COUNT) == 4 && r[2].panel == DACC_P_TABLE,
          "unknown focus -> results table");
    /* tall: table plus a page; with the table focused the page shows the bars */
    CHECK(dacc_tui_layout(120, 40, DACC_P_TABLE, r, DACC_P_COUNT) == 5 && r[2].panel == DACC_P_TABLE &&
          r[3].panel == DACC_P_BARS, "120x40: table and bars");
    CHECK(dacc_tui_layout(120, 40, DACC_P_INSPECT, r, DACC_P_COUNT) == 5 && r[3].panel == DACC_P_INSPECT,
          "120x40: table and the focused inspector");
    /* the full layout at 200x60 shows every panel */
    int k = dacc_tui_layout(200, 60, DACC_P_TRAIN, r, DACC_P_COUNT);
    CHECK(k == DACC_P_COUNT, "200x60 shows all %d panels, got %d", DACC_P_COUNT, k);

    /* an output array that is too small is an error, not an overflow */
    dacc_rect two[2];
    CHECK(dacc_tui_layout(200, 60, DACC_P_TABLE, two, 2) == -1, "max=2 -> -1");
    CHECK(dacc_tui_layout(80, 24, DACC_P_TABLE, two, 2) == -1, "max=2 page -> -1");

    CHECK(!strcmp(dacc_tui_panel_name(DACC_P_INSPECT), "inspector"), "panel names");
    CHECK(!strcmp(dacc_tui_panel_name(-1), "?"), "bad panel name");
    return test_finish();
}

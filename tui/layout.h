/* Pure layout: terminal size -> rectangles for the dashboard's panels. No
 * curses here, so it is unit-tested for every size (tests/test_tui_layout.c). */
#ifndef DACC_TUI_LAYOUT_H
#define DACC_TUI_LAYOUT_H

enum {
    DACC_P_HEADER,   /* title line: run, state, clock */
    DACC_P_PROGRESS, /* task, epoch, batch, images/s, ETA, bars */
    DACC_P_TRAIN,    /* per-epoch loss and accuracy per variant */
    DACC_P_TABLE,    /* clean, y1..y5, x^, delta per variant */
    DACC_P_BARS,     /* Fig. 3 and Fig. 4 as horizontal bars */
    DACC_P_INSPECT,  /* digit inspector (Fig. 5) */
    DACC_P_SYSTEM,   /* ISA and kernels */
    DACC_P_FOOTER,   /* key hints */
    DACC_P_COUNT
};

/* The panels Tab cycles through, in order. */
#define DACC_FIRST_CONTENT DACC_P_TRAIN
#define DACC_LAST_CONTENT DACC_P_SYSTEM

#define DACC_MIN_COLS 80
#define DACC_MIN_ROWS 24
/* From this size on every panel is shown at once; below it the content
 * panels share one "page" that shows the focused one. */
#define DACC_FULL_COLS 160
#define DACC_FULL_ROWS 44
/* Below the full size but at least this tall: the results table stays and
 * one page below it shows the focused panel. */
#define DACC_STACK_ROWS 38

typedef struct dacc_rect {
    int x, y, w, h; /* top-left corner, size in cells */
    int panel;      /* DACC_P_* */
} dacc_rect;

/* Minimum width and height the layout guarantees for a panel it returns. */
void dacc_tui_panel_min(int panel, int *w, int *h);

/* Fills out[] with non-overlapping rectangles inside cols x rows and returns
 * how many; 0 when the terminal is smaller than 80x24 (the caller shows the
 * "enlarge the terminal" message), -1 when max is too small. focus is the
 * content panel shown in the page when not everything fits. */
int dacc_tui_layout(int cols, int rows, int focus, dacc_rect out[], int max);

/* Name of a panel for titles and help ("progress", "training", ...). */
const char *dacc_tui_panel_name(int panel);

#endif

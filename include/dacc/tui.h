/* The dashboard's public API, used by `dacc watch` and `dacc run`. It reads
 * only the files of a run directory (docs/RUNDIR.md), never the engine's
 * memory, so it can attach to a running or finished study. */
#ifndef DACC_TUI_H
#define DACC_TUI_H
#include <stdio.h>
#include "dacc/err.h"

typedef struct dacc_tui_options {
    int no_color;       /* no colour at all (also when NO_COLOR is set) */
    int plain;          /* line-oriented output without curses */
    int ascii;          /* no UTF-8 block/line characters */
    int exit_when_done; /* return when progress.json says done/failed/interrupted */
    int refresh_ms;     /* poll interval; <= 0 means the default (500 ms) */
} dacc_tui_options;

/* Dashboard over a run directory, until the user quits (q) or, with
 * exit_when_done, the run's progress.json state is done/failed/interrupted.
 * Returns 0, or -1 with e filled. When plain or stdout is not a terminal: no
 * curses; throttled (>= 10 s apart unless state changes), timestamped lines
 * of progress, one line per new epoch metric, and at the end the final tables
 * as text. NO_COLOR env or no_color: no colour at all. ascii: no UTF-8
 * block/line characters (also automatically when the locale's codeset is not
 * UTF-8). */
int dacc_tui_watch(const char *run_dir, const dacc_tui_options *opt, dacc_err *e);

/* The final tables as text (per-variant clean, y1..y5, x^, Δ; per-epoch
 * summary), for logs and for `dacc run` at the end. */
int dacc_tui_print_summary(const char *run_dir, FILE *out, dacc_err *e);

#endif

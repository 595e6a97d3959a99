/* Shared between the pieces of the TUI library (not part of the public API). */
#ifndef DACC_TUI_INTERNAL_H
#define DACC_TUI_INTERNAL_H
#include <signal.h>
#include <stdio.h>
#include "dacc/tui.h"
#include "dacc/rundir.h"

/* Set by the signal handlers (which do nothing else). */
extern volatile sig_atomic_t tui_stop_flag;

/* The final tables of a loaded run. */
void tt_print_summary(const dacc_rd_run *r, FILE *out);
/* Line-oriented watching, no curses. */
int tt_plain_watch(dacc_rd_run *r, const dacc_tui_options *opt, FILE *out, dacc_err *e);
/* The curses dashboard; ascii/color already resolved in opt. */
int td_dashboard(dacc_rd_run *r, const dacc_tui_options *opt, dacc_err *e);

#endif

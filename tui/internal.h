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
/* For exit_when_done: 1 when the run has ended (progress.json says done,
 * failed or interrupted); -1 with e set when progress.json has stayed
 * unreadable for TW_UNREADABLE_S seconds (a live run replaces it whole, by
 * rename, so a torn file is not its doing and will not be repaired by
 * waiting; a read racing a replace is retried at the next change); 0 to keep
 * watching.
 * *bad_since holds when it became unreadable (start at a negative value). */
#define TW_UNREADABLE_S 10.0
int tw_run_ended(const dacc_rd_run *r, double now, double *bad_since, dacc_err *e);
/* Line-oriented watching, no curses. */
int tt_plain_watch(dacc_rd_run *r, const dacc_tui_options *opt, FILE *out, dacc_err *e);
/* The curses dashboard; ascii/color already resolved in opt. */
int td_dashboard(dacc_rd_run *r, const dacc_tui_options *opt, dacc_err *e);

#endif

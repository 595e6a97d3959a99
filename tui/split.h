/* The training's time per step split by layer (a task's layer_ms, read by
 * engine/study/rundir_view.c) as lines of text, for the system page. */
#ifndef DACC_TUI_SPLIT_H
#define DACC_TUI_SPLIT_H
#include "dacc/rundir.h"
#include <stddef.h>

/* The task whose split to show: the running one if it has one, else the
 * last task that has one; NULL when none has. */
const dacc_rd_task *ts_split_task(const dacc_rd_run *r);
/* Line k of the split in at most `rows` lines (a title, the column header,
 * the layers in network order or, when not all fit, the ones with the most
 * time, a line counting those left out, the rest of the step); "" past the
 * last line. Returns the number of lines. */
int ts_split_line(const dacc_rd_task *t, int rows, int k, char *buf, size_t n);

#endif

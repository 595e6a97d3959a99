/* The run directory's owner, internal part: the writers the study runner
 * uses and the readers `dacc report` uses. The public part (what the TUI,
 * CLI and tests use) is include/dacc/rundir.h; the format is docs/RUNDIR.md.
 * Files: rundir_pred.c (predictions), rundir_write.c (the JSON, metrics,
 * inspect and DONE writers), rundir_read.c (results/config/study.json,
 * metrics lines), rundir_view.c (the live view of the dashboard). */
#ifndef DACC_STUDY_RUNDIR_H
#define DACC_STUDY_RUNDIR_H
#include "dacc/rundir.h"
#include "core/json.h"
#include <stdint.h>

/* predictions.bin: blocks x n predictions and the n labels, atomically. */
int dacc_pred_write(const char *path, const uint8_t *pred, const uint8_t *labels, int blocks, int64_t n,
                    dacc_err *e);

/* Reads a run-directory JSON file (regular, at most max bytes) and parses
 * it; returns the document or NULL with e naming the file and the problem. */
dacc_jdoc *dacc_rd_load_json(const char *path, size_t max, dacc_err *e);
#define DACC_RD_MAX_JSON (16u << 20) /* results/config/study.json are small */

#endif

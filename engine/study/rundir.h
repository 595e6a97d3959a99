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
#include "dacc/robustness.h"
#include "dacc/study.h"
#include <stdint.h>

/* Every writer below writes its whole file atomically (unique temp name,
 * rename) or appends whole lines, and names the file in its error. */

/* study.json: the plan (settings, kernels, variants, seeds, tasks). */
int dacc_rd_write_study(const char *dir, const dacc_study_config *c, const dacc_task *tasks, int n, dacc_err *e);

/* progress.json: where the run is now. */
typedef struct dacc_rd_progress_rec {
    const char *state, *task, *variant; /* state: starting, training, evaluating, done, failed, interrupted */
    int task_index, tasks, epoch, epochs, batch, batches;
    uint64_t seed;
    double images_per_s, eta_s;         /* null in the file when not finite */
    double elapsed_s, updated;          /* updated: Unix time */
    double scale;                       /* evaluating another deformation scale: which, */
    int scale_index, scales;            /* and which of how many (scales 0: none, fields omitted) */
} dacc_rd_progress_rec;
int dacc_rd_write_progress(const char *dir, const dacc_rd_progress_rec *p, dacc_err *e);

/* tasks/<id>/config.json: every setting of the task; KEY (the settings its
 * results depend on) first, so dacc_rd_config_has_key can tell whether a
 * folder was written with the same settings. */
int dacc_rd_write_config(const char *task_dir, const char *key, const dacc_task *t, const dacc_study_config *c,
                         dacc_err *e);
int dacc_rd_config_has_key(const char *task_dir, const char *key);

/* The DONE marker: written last, when everything else of the task is. */
int dacc_rd_mark_done(const char *task_dir, dacc_err *e);
int dacc_rd_is_done(const char *task_dir);

/* One finished epoch: a line of metrics.jsonl and of metrics.csv (with its
 * header when the file is new); with m, the line's "layer_ms" object holds
 * m's per-layer timers of the epoch (m->times; docs/RUNDIR.md). */
int dacc_rd_append_metrics(const char *task_dir, const dacc_task *t, const dacc_epoch_stats *s,
                           const dacc_model *m, dacc_err *e);
/* Keeps the lines of epochs <= upto (a resumed task redoes the rest). */
int dacc_rd_trim_metrics(const char *task_dir, int upto, dacc_err *e);

/* results.json: both protocols' accuracies. */
int dacc_rd_write_results(const char *task_dir, const dacc_task *t, const dacc_robustness *paper,
                          const dacc_robustness *heldout, dacc_err *e);

/* The inspector digits: n digits, each with nb + 1 images of 28 x 28. */
typedef struct dacc_rd_inspect {
    int n, nb;
    const int64_t *index;  /* [n] position in the test set */
    const uint8_t *labels; /* [n] */
    const uint8_t *images; /* [n][nb + 1][784] */
} dacc_rd_inspect;
/* tasks/<id>/inspect.txt: "digit block pred conf" per line ([n][nb + 1]). */
int dacc_rd_write_task_inspect(const char *task_dir, int n, int nb, const uint8_t *pred, const float *conf,
                               dacc_err *e);
/* inspect.json from every task folder with a complete inspect.txt (also
 * other shards'), the lowest seed per variant. */
int dacc_rd_write_inspect_json(const char *dir, const dacc_task *tasks, int nt, const dacc_rd_inspect *in,
                               dacc_err *e);

/* predictions.bin: blocks x n predictions and the n labels, atomically. */
int dacc_pred_write(const char *path, const uint8_t *pred, const uint8_t *labels, int blocks, int64_t n,
                    dacc_err *e);

/* Reads a run-directory JSON file (regular, at most max bytes) and parses
 * it; returns the document or NULL with e naming the file and the problem. */
dacc_jdoc *dacc_rd_load_json(const char *path, size_t max, dacc_err *e);
#define DACC_RD_MAX_JSON (16u << 20) /* results/config/study.json are small */

/* The tasks of a parsed study.json, in order: fn(u, id, variant, seed) for
 * each valid entry (an id usable as a folder name, a variant, an integer
 * seed >= 0); fn returning non-zero stops. Returns the entries skipped. */
typedef int (*dacc_rd_task_fn)(void *u, const char *id, const char *variant, uint64_t seed);
int dacc_rd_study_tasks(const dacc_jv *study, dacc_rd_task_fn fn, void *u);

/* buf parsed as JSON whose root must be an object (*root); NULL, err filled,
 * otherwise. The caller frees the document. */
dacc_jdoc *dacc_rd_parse_object(const char *buf, size_t n, const dacc_jv **root, char *err, size_t errn);

/* One protocol object of results.json (or of a scales.json entry), parsed
 * as dacc_rd_parse_results does; and its strict check (0 or -1 with why). */
void dacc_rd_parse_proto(const dacc_jv *o, dacc_rd_proto *p);
int dacc_rd_check_proto(const dacc_rd_proto *p, char *why, size_t whyn);

/* tasks/<id>/scales.json, written whole (atomically) from s. */
int dacc_rd_write_scales(const char *task_dir, const dacc_task *t, const dacc_rd_scales *s, dacc_err *e);

/* The settings of tasks/<id>/config.json that a merge of tasks must share,
 * as one "key=value,..." string ("" when unreadable). */
void dacc_rd_read_settings(const char *task_dir, char *out, size_t n);

#endif

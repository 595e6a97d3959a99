/* The study flags shared by dacc run and dacc plan: --variants, --seeds,
 * --shard and the Slurm array environment, parsed the same way in both so
 * the plan shows exactly the tasks (and shards) the run will have. */
#ifndef DACC_CLI_STUDY_FLAGS_H
#define DACC_CLI_STUDY_FLAGS_H
#include "dacc/study.h"
#include "flags.h"

/* The defaults of dacc run: the six presets, seed 1, one shard, then the
 * shard from SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT when both are set
 * (an unparsable Slurm variable is an error naming it). */
int study_flags_defaults(dacc_study_config *c, dacc_err *e);
/* The defaults, then --variants, --seeds and --shard of v where given. */
int study_flags_apply(const flag_values *v, dacc_study_config *c, dacc_err *e);
/* ';'-separated variant specs; names must be distinct. */
int study_flags_variants(const char *list, dacc_study_config *c, dacc_err *e);
/* "N" (seeds 1..N) or a comma list. */
int study_flags_seeds(const char *v, dacc_study_config *c, dacc_err *e);
/* --scales: a comma list of 1..DACC_MAX_SCALES distinct numbers in
 * [0, 10] (the --scale range), stored ascending. */
int study_flags_scales(const char *list, double *out, int *n, dacc_err *e);
/* "I/N" with 0 <= I < N <= 2^31-1. */
int study_flags_shard(const char *v, int *i, int *n, dacc_err *e);
/* The shard of a Slurm array task: array ids run MIN, MIN+STEP, ... and the
 * shard is the task's position in that list, modulo COUNT. min and step may
 * be NULL (0 and 1). Computed in 64 bits: any 32-bit id is fine. */
int study_flags_slurm(const char *id, const char *count, const char *min, const char *step, int *i,
                      int *n, dacc_err *e);

#endif

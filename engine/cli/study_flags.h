/* The study flags shared by dacc run and dacc plan: --variants, --seeds,
 * --shard and the Slurm array environment, parsed the same way in both so
 * the plan shows exactly the tasks (and shards) the run will have. */
#ifndef DACC_CLI_STUDY_FLAGS_H
#define DACC_CLI_STUDY_FLAGS_H
#include "dacc/study.h"

/* The defaults of dacc run: the six presets, seed 1, one shard, then the
 * shard from SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT when both are set. */
void study_flags_defaults(dacc_study_config *c);
/* ';'-separated variant specs; names must be distinct. */
int study_flags_variants(const char *list, dacc_study_config *c, dacc_err *e);
/* "N" (seeds 1..N) or a comma list. */
int study_flags_seeds(const char *v, dacc_study_config *c, dacc_err *e);
/* "I/N" with 0 <= I < N. */
int study_flags_shard(const char *v, int *i, int *n, dacc_err *e);

#endif

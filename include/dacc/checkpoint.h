/* Checkpoints: the training configuration, progress, weights, batch-norm
 * buffers and Adam state, under explicit PyTorch names, with a CRC32.
 * Format: docs/FORMATS.md ("Checkpoint"). */
#ifndef DACC_CHECKPOINT_H
#define DACC_CHECKPOINT_H
#include "dacc/fileio.h"
#include "dacc/train.h"

/* Version 2 adds the augmentation (variant switch, scale, class model hash);
 * it is written only for augmented training, version 1 otherwise. */
#define DACC_CKPT_VERSION 2
/* What the reader accepts (the CLI's ranges; 0 epochs: imported weights,
 * 0 threads: automatic). Threads: --threads takes 1..256, but the automatic
 * count (cores, or SLURM_CPUS_PER_TASK) is saved too and may be larger. */
#define DACC_CKPT_MAX_EPOCHS 1000
#define DACC_CKPT_MAX_BATCH 4096
#define DACC_CKPT_MAX_THREADS 4096

typedef struct dacc_ckpt_tensor {
    char name[64];     /* e.g. conv32_1.weight, BN32_1.running_mean, conv32_1.weight#adam_m */
    int kind;          /* 0 f32 data, 1 i64 data */
    int ndim;
    int64_t shape[4];
    uint64_t count;
    void *data;
} dacc_ckpt_tensor;

typedef struct dacc_checkpoint {
    dacc_train_config cfg;
    int epochs_done;
    int64_t adam_step;
    int n_tensors;
    dacc_ckpt_tensor *tensors;
} dacc_checkpoint;

/* Writes path.tmp, fsyncs, renames over path. */
int dacc_checkpoint_save(const char *path, dacc_model *m, const dacc_train_config *cfg,
                         int epochs_done, dacc_err *e);
/* Reads and validates (regular file, magic, version, size, CRC, every header
 * field's range, structure). */
int dacc_checkpoint_read(const char *path, dacc_checkpoint *c, dacc_err *e);
/* Copies every tensor into a model built for c->cfg.variant; every model
 * tensor must be present with the same shape. with_optimizer=0 skips Adam. */
int dacc_checkpoint_apply(const dacc_checkpoint *c, dacc_model *m, int with_optimizer,
                          const char *path, dacc_err *e);
void dacc_checkpoint_free(dacc_checkpoint *c);


#endif

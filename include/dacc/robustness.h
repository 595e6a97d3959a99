/* Robustness of a trained model on an AlignMNIST-layout file (STUDY.md eq. 1
 * and 2): x = accuracy on block 0, y_n on block n, x^ = mean of y_1..y_5
 * (or of the blocks there are, if fewer), delta = x^ - x. */
#ifndef DACC_ROBUSTNESS_H
#define DACC_ROBUSTNESS_H
#include "dacc/data.h"
#include "dacc/model.h"

#define DACC_MAX_BLOCKS 76

typedef struct dacc_robustness {
    int blocks;                    /* transformed blocks evaluated (<= 75) */
    int64_t n;                     /* images per block */
    double acc[DACC_MAX_BLOCKS];   /* acc[0] = clean x, acc[b] = y_b */
    double xhat, delta;
    int64_t class_n[DACC_CLASSES];
    double class_clean[DACC_CLASSES], class_xhat[DACC_CLASSES];
} dacc_robustness;

/* x^ and delta from acc[] (the first min(5, blocks) transformed blocks). */
void dacc_robustness_finish(dacc_robustness *r);

/* Evaluates blocks 0..max_blocks of path (checked against base when given:
 * block 0 must equal base), on the first `limit` images of each block
 * (0 = all). pred/conf (may be NULL) receive (blocks+1) * n entries,
 * block-major. */
int dacc_eval_alignmnist(dacc_model *m, const char *path, const dacc_images *base,
                         int max_blocks, int64_t limit, dacc_robustness *r, uint8_t *pred,
                         float *conf, dacc_err *e);
/* Clean-only evaluation of images (no transformed blocks). */
void dacc_eval_clean(dacc_model *m, const dacc_images *d, dacc_robustness *r, uint8_t *pred,
                     float *conf);

#endif

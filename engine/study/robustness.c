/* Accuracy per AlignMNIST block, streamed in chunks so the 3.6 GB real file
 * is never held in memory. */
#include "dacc/robustness.h"
#include "dacc/alignmnist.h"
#include "dacc/train.h"
#include <stdlib.h>
#include <string.h>

void dacc_robustness_finish(dacc_robustness *r) {
    int nb = r->blocks < 5 ? r->blocks : 5;
    r->xhat = 0;
    for (int b = 1; b <= nb; b++) r->xhat += r->acc[b];
    r->xhat = nb ? r->xhat / nb : 0;
    r->delta = nb ? r->xhat - r->acc[0] : 0;
}

/* Adds one block's chunk to the per-class counts. */
static void tally(dacc_robustness *r, int block, const uint8_t *pred, const uint8_t *labels,
                  int64_t n, int64_t *correct, int64_t class_ok[][DACC_CLASSES]) {
    int nb = r->blocks < 5 ? r->blocks : 5;
    for (int64_t i = 0; i < n; i++) {
        int ok = pred[i] == labels[i], y = labels[i] < DACC_CLASSES ? labels[i] : 0;
        *correct += ok;
        if (block == 0) {
            r->class_n[y]++;
            class_ok[0][y] += ok;
        } else if (block <= nb) {
            class_ok[1][y] += ok;
        }
    }
}

static void finish_classes(dacc_robustness *r, int64_t class_ok[][DACC_CLASSES]) {
    int nb = r->blocks < 5 ? r->blocks : 5;
    for (int c = 0; c < DACC_CLASSES; c++) {
        double n = (double)r->class_n[c];
        r->class_clean[c] = n ? class_ok[0][c] / n : 0;
        r->class_xhat[c] = n && nb ? class_ok[1][c] / (n * nb) : 0;
    }
    dacc_robustness_finish(r);
}

void dacc_eval_clean(dacc_model *m, const dacc_images *d, dacc_robustness *r, uint8_t *pred,
                     float *conf) {
    memset(r, 0, sizeof *r);
    r->n = d->n;
    uint8_t *p = pred ? pred : malloc((size_t)d->n);
    int64_t correct = 0, class_ok[2][DACC_CLASSES] = {{0}};
    dacc_evaluate(m, d->pixels, NULL, d->n, p, conf);
    tally(r, 0, p, d->labels, d->n, &correct, class_ok);
    r->acc[0] = d->n ? (double)correct / d->n : 0;
    finish_classes(r, class_ok);
    if (!pred) free(p);
}

/* Images go through dacc_evaluate in runs of EVAL_RUN (its batches start
 * afresh at each run), each run read from the file in pieces of whole
 * batches, about EVAL_PIECE_BYTES: the batches, and so the predictions, do
 * not depend on the piece size, and an evaluating job holds ~1 MB of
 * images instead of a run's 7.8 MB. */
#define EVAL_RUN 10000
#define EVAL_PIECE_BYTES (1 << 20)

typedef struct eval_bufs {
    int64_t piece;
    uint8_t *px, *lb, *pr;
} eval_bufs;

/* Block b's images [0, r->n): predictions into pred (or bufs->pr) and the
 * counts; *correct its right answers. */
static int eval_block(dacc_model *m, dacc_alignmnist *a, int b, dacc_robustness *r, eval_bufs *bf,
                      uint8_t *pred, float *conf, int64_t *correct, int64_t class_ok[][DACC_CLASSES],
                      dacc_err *e) {
    for (int64_t r0 = 0; r0 < r->n; r0 += EVAL_RUN) {
        const int64_t rn = r->n - r0 < EVAL_RUN ? r->n - r0 : EVAL_RUN;
        for (int64_t p0 = 0; p0 < rn; p0 += bf->piece) {
            const int64_t n = rn - p0 < bf->piece ? rn - p0 : bf->piece, i0 = r0 + p0;
            if (dacc_alignmnist_read(a, b, i0, n, bf->px, bf->lb, e)) return -1;
            uint8_t *dst = pred ? pred + (size_t)b * r->n + i0 : bf->pr;
            dacc_evaluate(m, bf->px, NULL, n, dst, conf ? conf + (size_t)b * r->n + i0 : NULL);
            tally(r, b, dst, bf->lb, n, correct, class_ok);
        }
    }
    return 0;
}

int dacc_eval_alignmnist(dacc_model *m, const char *path, const dacc_images *base,
                         int max_blocks, int64_t limit, dacc_robustness *r, uint8_t *pred,
                         float *conf, dacc_err *e) {
    memset(r, 0, sizeof *r);
    dacc_alignmnist *a;
    if (dacc_alignmnist_open(path, base, &a, e)) return -1;
    int have = dacc_alignmnist_blocks(a) - 1;
    r->blocks = have < max_blocks ? have : max_blocks;
    if (r->blocks > DACC_MAX_BLOCKS - 1) r->blocks = DACC_MAX_BLOCKS - 1;
    r->n = dacc_alignmnist_base(a);
    if (limit > 0 && limit < r->n) r->n = limit;
    const int64_t mb = dacc_model_max_batch(m), batches = EVAL_PIECE_BYTES / 784 / mb;
    eval_bufs bf = {(batches > 0 ? batches : 1) * mb, NULL, NULL, NULL};
    bf.px = malloc((size_t)bf.piece * 784);
    bf.lb = malloc((size_t)bf.piece);
    bf.pr = malloc((size_t)bf.piece);
    int rc = 0;
    int64_t class_ok[2][DACC_CLASSES] = {{0}};
    if (!bf.px || !bf.lb || !bf.pr) rc = dacc_fail(e, "out of memory");
    for (int b = 0; b <= r->blocks && !rc; b++) {
        int64_t correct = 0;
        rc = eval_block(m, a, b, r, &bf, pred, conf, &correct, class_ok, e);
        r->acc[b] = r->n ? (double)correct / r->n : 0;
    }
    finish_classes(r, class_ok);
    free(bf.px); free(bf.lb); free(bf.pr);
    dacc_alignmnist_close(a);
    return rc;
}

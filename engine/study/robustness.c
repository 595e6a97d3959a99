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
    const int64_t chunk = 10000;
    uint8_t *px = malloc((size_t)chunk * 784), *lb = malloc((size_t)chunk), *pr = malloc((size_t)chunk);
    int rc = 0;
    int64_t class_ok[2][DACC_CLASSES] = {{0}};
    if (!px || !lb || !pr) rc = dacc_fail(e, "out of memory");
    for (int b = 0; b <= r->blocks && !rc; b++) {
        int64_t correct = 0;
        for (int64_t i0 = 0; i0 < r->n && !rc; i0 += chunk) {
            int64_t n = r->n - i0 < chunk ? r->n - i0 : chunk;
            if (dacc_alignmnist_read(a, b, i0, n, px, lb, e)) {
                rc = -1;
                break;
            }
            uint8_t *dst = pred ? pred + (size_t)b * r->n + i0 : pr;
            dacc_evaluate(m, px, NULL, n, dst, conf ? conf + (size_t)b * r->n + i0 : NULL);
            tally(r, b, dst, lb, n, &correct, class_ok);
        }
        r->acc[b] = r->n ? (double)correct / r->n : 0;
    }
    finish_classes(r, class_ok);
    free(px); free(lb); free(pr);
    dacc_alignmnist_close(a);
    return rc;
}

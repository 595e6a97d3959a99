/* AlignMNIST (Hauberg et al. 2016) on top of the npz reader: x (N,28,28)
 * images as |u1, <f4 or <f8 (floats must hold integers 0..255), y (N labels,
 * any integer or float dtype). N = blocks * base: block 0 is the base MNIST
 * set in file order, block b >= 1 one deformation of every base image, so
 * y[k] == y[k mod base].
 *
 * Open checks the shapes, N, every label (cheap), and when the MNIST images
 * are given, that block 0 equals them (streamed, never the whole file in
 * memory). The pixels of the other blocks are checked lazily, as they are
 * read. Every error says what is wrong and where (block, index). */
#ifndef DACC_ALIGNMNIST_H
#define DACC_ALIGNMNIST_H

#include <stdint.h>

#include "dacc/data.h"
#include "dacc/err.h"

typedef struct dacc_alignmnist dacc_alignmnist;

/* base: the MNIST set block 0 must equal (its n is the base count: 60000 for
 * a training-set file, 10000 for a test-set file). NULL: base count 60000,
 * block 0 not compared. base may be freed after open returns. */
int dacc_alignmnist_open(const char *path, const dacc_images *base, dacc_alignmnist **out,
                         dacc_err *e);
int dacc_alignmnist_blocks(const dacc_alignmnist *a); /* including block 0 */
int64_t dacc_alignmnist_base(const dacc_alignmnist *a);
int dacc_alignmnist_rows(const dacc_alignmnist *a);
int dacc_alignmnist_cols(const dacc_alignmnist *a);
/* Images [first, first+count) of block b as uint8 (count*rows*cols bytes,
 * row-major) and their labels (count bytes; either pointer may be NULL). */
int dacc_alignmnist_read(dacc_alignmnist *a, int block, int64_t first, int64_t count,
                         uint8_t *pixels, uint8_t *labels, dacc_err *e);
void dacc_alignmnist_close(dacc_alignmnist *a);

/* Displacement statistics of a set's deformations, in pixels: over the ink
 * pixels u (value >= DACC_DISP_INK) of every transformed image, the length
 * of T(u) - u (the warp reads the original at T(u)). Row k < 10 is class k,
 * row 10 all classes. dacc-generated files carry them as the member
 * "displacement": <f8, shape (11, 5), columns count, mean, median, p95, max;
 * median and p95 from 0.01 px bins. */
#define DACC_DISP_ROWS 11
#define DACC_DISP_INK 128
#define DACC_DISP_MEMBER "displacement"
typedef struct dacc_disp_stats {
    double count[DACC_DISP_ROWS], mean[DACC_DISP_ROWS], median[DACC_DISP_ROWS],
        p95[DACC_DISP_ROWS], max[DACC_DISP_ROWS];
} dacc_disp_stats;

/* The file's recorded statistics: 0 and *s filled, 1 when the file has none
 * (e.g. the released alignmnist.npz), -1 on a malformed member. */
int dacc_alignmnist_displacement(dacc_alignmnist *a, dacc_disp_stats *s, dacc_err *e);
/* As the member's 11 x 5 row-major values (the writer's half). */
void dacc_disp_stats_pack(const dacc_disp_stats *s, double *v);
/* Prints the table (one line per class with pixels, then "all"). */
void dacc_disp_stats_print(const dacc_disp_stats *s, const char *indent);

#endif

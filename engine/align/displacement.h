/* Accumulating displacement statistics (dacc_disp_stats, dacc/alignmnist.h)
 * over many images: integer histograms (0.01 px bins) and fixed-point sums,
 * so merging partial accumulators in any order gives identical results and
 * the statistics never depend on the thread count. */
#ifndef DACC_ALIGN_DISPLACEMENT_H
#define DACC_ALIGN_DISPLACEMENT_H

#include <stdint.h>

#include "dacc/alignmnist.h"

typedef struct dacc_disp_acc dacc_disp_acc;

dacc_disp_acc *dacc_disp_acc_new(void); /* NULL when out of memory */
void dacc_disp_acc_free(dacc_disp_acc *a);
/* The ink pixels (>= DACC_DISP_INK) of `img` (rows x cols), the transformed
 * image, with pts the transformation of every pixel centre in [0,1]
 * coordinates (dacc_cpab_transform_grid order). Labels outside 0..9 count
 * in the "all" row only. */
void dacc_disp_acc_add(dacc_disp_acc *a, int cls, const uint8_t *img, int rows, int cols,
                       const double *pts);
void dacc_disp_acc_merge(dacc_disp_acc *dst, const dacc_disp_acc *src);
void dacc_disp_acc_stats(const dacc_disp_acc *a, dacc_disp_stats *s);

#endif

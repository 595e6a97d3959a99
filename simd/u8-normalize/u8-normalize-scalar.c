/* Reference input normalisation: uint8 pixels to (x/255 - mean)/std folded
 * into one multiply-add. */
#include "dacc/kernels.h"

void dacc_u8_normalize__scalar(size_t n, const uint8_t *x, float scale, float shift,
                               float *y) {
    for (size_t i = 0; i < n; i++) y[i] = (float)x[i] * scale + shift;
}

/* Forward convolution, AVX2+FMA: 8 output channels per vector, register
 * tiles of 8x1, 6x2, 4x3 and 3x4 pixels x vectors (see f32-conv-igemm.h). */
#define DACC_CONV_AVX2 1
#define CONV_ISA avx2
#include "f32-conv-fwd/f32-conv-fwd-tmpl.h"

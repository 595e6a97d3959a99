/* Forward convolution, AVX2+FMA: 8 output channels per vector, register
 * tiles up to 8 pixels x 1 vector or 6 pixels x 2 vectors (see
 * f32-conv-igemm.h). */
#define DACC_CONV_AVX2 1
#define CONV_ISA avx2
#include "f32-conv-fwd/f32-conv-fwd-tmpl.h"

/* Forward convolution, AVX-512: 16 output channels per vector, register
 * tiles up to 12 pixels x 2 vectors or 6 pixels x 4 vectors (see
 * f32-conv-igemm.h). */
#define DACC_CONV_AVX512 1
#define CONV_ISA avx512
#include "f32-conv-fwd/f32-conv-fwd-tmpl.h"

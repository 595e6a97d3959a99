/* Backward-weights convolution, AVX2+FMA (GEMM over pixels per kernel row;
 * see f32-conv-bwd-filter-tmpl.h). */
#define DACC_CONV_AVX2 1
#define CONV_ISA avx2
#include "f32-conv-bwd-filter/f32-conv-bwd-filter-tmpl.h"

/* Backward-weights convolution, AVX-512 (GEMM over pixels per kernel row;
 * see f32-conv-bwd-filter-tmpl.h). */
#define DACC_CONV_AVX512 1
#define CONV_ISA avx512
#include "f32-conv-bwd-filter/f32-conv-bwd-filter-tmpl.h"

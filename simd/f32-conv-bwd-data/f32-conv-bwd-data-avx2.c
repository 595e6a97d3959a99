/* Backward-data convolution, AVX2+FMA (scatter form over the indirect GEMM
 * engine; see f32-conv-bwd-data-tmpl.h). */
#define DACC_CONV_AVX2 1
#define CONV_ISA avx2
#include "f32-conv-bwd-data/f32-conv-bwd-data-tmpl.h"

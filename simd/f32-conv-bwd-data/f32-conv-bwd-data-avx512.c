/* Backward-data convolution, AVX-512 (scatter form over the indirect GEMM
 * engine; see f32-conv-bwd-data-tmpl.h). */
#define DACC_CONV_AVX512 1
#define CONV_ISA avx512
#include "f32-conv-bwd-data/f32-conv-bwd-data-tmpl.h"

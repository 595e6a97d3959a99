/* Backward-weights convolution, AVX-512 (GEMM over pixels per kernel row;
 * see f32-conv-bwd-filter-tmpl.h). */
#define DACC_CONV_AVX512 1
#define CONV_BWD_FILTER_NAME dacc_f32_conv_bwd_filter__avx512
#include "f32-conv-bwd-filter/f32-conv-bwd-filter-tmpl.h"

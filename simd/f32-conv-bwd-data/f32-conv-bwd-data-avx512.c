/* Backward-data convolution, AVX-512 (scatter form over the indirect GEMM
 * engine; see f32-conv-bwd-data-tmpl.h). */
#define DACC_CONV_AVX512 1
#define CONV_BWD_DATA_NAME dacc_f32_conv_bwd_data__avx512
#define CONV_FWD_SAME_ISA dacc_f32_conv_fwd__avx512
#include "f32-conv-bwd-data/f32-conv-bwd-data-tmpl.h"

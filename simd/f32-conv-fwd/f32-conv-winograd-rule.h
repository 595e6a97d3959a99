/* When the x86 forward kernels take the Winograd F(2x2,3x3) path; shared
 * with backward-data, which routes stride-1 3x3 layers through the forward
 * kernel when the equivalent forward shape qualifies. Needs VL
 * (f32-conv-vec.h). */
#ifndef DACC_F32_CONV_WINOGRAD_RULE_H
#define DACC_F32_CONV_WINOGRAD_RULE_H
#include "dacc/kernels.h"

#ifndef WINO_MIN_IC
#define WINO_MIN_IC 16
#endif
/* Where Winograd measured faster than the direct engine (bench_conv and
 * A/B runs over channel counts and output sizes, docs/PERFORMANCE.md):
 * - ic >= 16: with fewer input channels the GEMMs are too short to pay for
 *   the transforms (ic 8, oc 32: no gain with AVX-512);
 * - oc > one vector: a one-vector column block (AVX-512 oc 16) only tied;
 * - tiles covering at most 1.25x the output pixels: odd outputs compute
 *   whole 2x2 tiles and need a padded copy of the input; 5x5 and 3x3
 *   outputs (1.44x, 1.78x) were slower than direct, 1x1 (4x) 2.5x slower,
 *   7x7 (1.31x) even at 32 channels, even sizes and 9x9 and up faster. */
static inline int conv_fwd_use_winograd(const dacc_conv_shape *s) {
    if (s->kh != 3 || s->kw != 3 || s->stride != 1 || s->ic < WINO_MIN_IC || s->oc <= VL)
        return 0;
    const size_t th = (size_t)(s->oh + 1) / 2, tw = (size_t)(s->ow + 1) / 2;
    return 16 * th * tw <= 5 * (size_t)s->oh * s->ow;
}

#endif

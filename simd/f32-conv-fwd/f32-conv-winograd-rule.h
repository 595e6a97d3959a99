/* When the x86 forward kernels take a Winograd path, and which tile size;
 * shared with backward-data, which routes stride-1 3x3 layers through the
 * forward kernel when the equivalent forward shape qualifies. Needs VL
 * (f32-conv-vec.h). */
#ifndef DACC_F32_CONV_WINOGRAD_RULE_H
#define DACC_F32_CONV_WINOGRAD_RULE_H
#include "dacc/kernels.h"

#ifndef WINO_MIN_IC
#define WINO_MIN_IC 16
#endif
/* F(4x4) when its tiles cover at most WINO4_MAX_COVER / 16 of the output
 * pixels (partial tiles pay for whole ones). */
#ifndef WINO4_MAX_COVER
#define WINO4_MAX_COVER 19
#endif

/* Output tile size for a shape: 4 for F(4x4,3x3), 2 for F(2x2,3x3), 0 for
 * the direct engine. Where Winograd measured faster than the direct engine
 * (bench_conv and A/B runs over channel counts and output sizes,
 * docs/PERFORMANCE.md):
 * - ic >= 16: with fewer input channels the GEMMs are too short to pay for
 *   the transforms (ic 8, oc 32: no gain with AVX-512);
 * - oc > one vector: a one-vector column block (AVX-512 oc 16) only tied;
 * - F(2x2): tiles covering at most 1.25x the output pixels: odd outputs
 *   compute whole 2x2 tiles and need a padded copy of the input; 5x5 and
 *   3x3 outputs (1.44x, 1.78x) were slower than direct, 1x1 (4x) 2.5x
 *   slower, 7x7 (1.31x) even at 32 channels, even sizes and 9x9 and up
 *   faster;
 * - F(4x4): where its 4x4 tiles cover the output almost exactly (24x24,
 *   8x8, 12x12 and 26x26 in the network), unless the caller asked for
 *   precise rounding (kernels.h). */
static inline int conv_fwd_winograd_tile(const dacc_conv_shape *s) {
    if (s->kh != 3 || s->kw != 3 || s->stride != 1 || s->ic < WINO_MIN_IC || s->oc <= VL)
        return 0;
    const size_t px = (size_t)s->oh * s->ow;
    const size_t th4 = (size_t)(s->oh + 3) / 4, tw4 = (size_t)(s->ow + 3) / 4;
    if (!s->precise && 16 * 16 * th4 * tw4 <= WINO4_MAX_COVER * px) return 4;
    const size_t th = (size_t)(s->oh + 1) / 2, tw = (size_t)(s->ow + 1) / 2;
    return 16 * th * tw <= 5 * px ? 2 : 0;
}

#endif
